import { createRequire } from "node:module";
import { Rng } from "../random/rng.js";
import type { Backend, BackendName } from "../tensor/backend.js";
import { loadNativeBackend } from "../tensor/nativeBackend.js";
import * as ops from "../tensor/ops.js";
import type { Tensor } from "../tensor/tensor.js";
import { getBackend, tensor, withBackend } from "../tensor/tensor.js";
import { loadWasmBuild, wasmBuildInfo } from "../tensor/wasmBackend.js";
import type { WasmBuild } from "../tensor/wasmBuild.js";
import { WASM_BUILDS, wasmBuildLabel } from "../tensor/wasmBuild.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** One matmul through the kernel interface: C[m,n] = op(A)·op(B), op = transpose when the flag is set. */
interface MatmulShape {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** Where the shape comes from. */
  use: string;
  /** Whether the (slow) TypeScript backend is measured too. */
  cpu: boolean;
}

const F = false;
const T = true;
/**
 * The foundation issue's four sizes, then the shapes issue 16 names: DQN's forward (x·Wᵀ, a linear
 * layer) and backward products (dW = gᵀ·x, dX = g·W) of its 4-256-256 net, and an LM-sized 512³.
 */
const MATMUL_SHAPES: MatmulShape[] = [
  { m: 64, k: 64, n: 64, transA: F, transB: F, use: "PPO batch 64, 64-wide", cpu: T },
  { m: 2048, k: 64, n: 64, transA: F, transB: F, use: "PPO batch 2048, 64-wide", cpu: T },
  { m: 256, k: 256, n: 256, transA: F, transB: F, use: "256³", cpu: T },
  { m: 64, k: 4, n: 64, transA: F, transB: F, use: "PPO first layer", cpu: T },
  { m: 64, k: 4, n: 256, transA: F, transB: T, use: "DQN layer 1 forward (x·Wᵀ)", cpu: F },
  { m: 64, k: 256, n: 256, transA: F, transB: T, use: "DQN layer 2 forward (x·Wᵀ)", cpu: F },
  { m: 256, k: 64, n: 256, transA: T, transB: F, use: "DQN layer 2 dW (gᵀ·x)", cpu: F },
  { m: 64, k: 256, n: 256, transA: F, transB: F, use: "DQN layer 2 dX (g·W)", cpu: F },
  { m: 512, k: 512, n: 512, transA: F, transB: F, use: "LM-sized 512³", cpu: F },
];

interface MatmulRow {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** Threads the kernel ran on: 1, and for native also its default count (every core) where above 1. */
  threads: number;
  backend: BackendName;
  /** The native kernels' instruction-set path; absent for the other backends. */
  isa?: string;
  /** The wasm kernels' build (every build this runtime loads is measured); absent for the other backends. */
  wasmBuild?: WasmBuild;
  /** Whether that wasm build's multiply-adds ran fused (relaxed SIMD on a CPU with FMA). */
  fma?: boolean;
  gflops: number;
}

interface TrainStepRow {
  batch: number;
  /** Untimed calls each implementation gets before it is timed (the same for all). */
  warmupSteps: number;
  /** Timed calls per round of proximal wasm, proximal native and TensorFlow.js wasm (the same for all). */
  timedSteps: number;
  /** Timed calls of proximal cpu and TensorFlow.js cpu (the same for both). */
  timedStepsCpu: number;
  proximalMs: number;
  /** The wasm build `proximalMs` ran on (`PROXIMAL_WASM_RELAXED=0` picks SIMD128), e.g. `"relaxed-simd fma"`. */
  proximalWasmBuild: string;
  /** proximal on the native backend; null where the addon is not built. */
  proximalNativeMs: number | null;
  proximalCpuMs: number;
  tfjsWasmMs: number | null;
  tfjsCpuMs: number | null;
  /** Median over alternating rounds of (TensorFlow.js wasm time / proximal wasm time). */
  tfjsWasmOverProximal: number | null;
  /** Median over alternating rounds of (TensorFlow.js wasm time / proximal native time). */
  tfjsWasmOverProximalNative: number | null;
}

/**
 * `proximal bench engine`: matmul GFLOP/s through the kernel interface on every backend (native
 * where its addon is built), and one PPO-clip training step (forward, backward, Adam) of an MLP
 * 4-64-64-2 tanh at batch 64 and 2048, for proximal (wasm, native, cpu) and for TensorFlow.js (cpu and
 * wasm backends, dev dependencies) side by side in the same process.
 */
export async function run(options: BenchOptions): Promise<void> {
  if (loadTf() === null) {
    // an installed package has no devDependencies: say why the TensorFlow.js columns will be empty
    console.error(
      "bench engine: TensorFlow.js is not installed, so its columns show n/a. To compare with it, install the versions proximal is developed with: npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0",
    );
  }
  const native = loadNativeBackend();
  const defaultThreads = native?.threads ?? 1;
  // both wasm builds where the runtime loads both, so relaxed SIMD is compared with SIMD128 in one run
  const wasmBuilds = WASM_BUILDS.flatMap((build) => {
    const backend = loadWasmBuild(build);
    return backend === null ? [] : [backend];
  });
  const matmul: MatmulRow[] = [];
  for (const shape of MATMUL_SHAPES) {
    const { m, k, n, transA, transB } = shape;
    const wasmGflops = measureMatmulAlternating(wasmBuilds, shape, options.quick);
    wasmBuilds.forEach((wasm, i) => {
      matmul.push({
        m,
        k,
        n,
        transA,
        transB,
        threads: 1,
        backend: "wasm",
        wasmBuild: wasm.build,
        fma: wasm.fma,
        gflops: wasmGflops[i],
      });
    });
    const runs: [BackendName, number][] = [];
    if (native !== null) {
      runs.push(["native", 1]);
      if (defaultThreads > 1) runs.push(["native", defaultThreads]);
    }
    if (shape.cpu) runs.push(["cpu", 1]);
    for (const [backend, threads] of runs) {
      native?.setThreads(threads);
      try {
        matmul.push({
          m,
          k,
          n,
          transA,
          transB,
          threads,
          backend,
          ...(backend === "native" && native !== null ? { isa: native.isa } : {}),
          gflops: withBackend(backend, () => measureMatmul(getBackend(), shape, options.quick)),
        });
      } finally {
        native?.setThreads(defaultThreads);
      }
    }
  }
  const trainStep: TrainStepRow[] = [];
  for (const batch of [64, 2048])
    trainStep.push(await measureTrainStep(batch, options.quick, native !== null));
  const result = { matmul, trainStep };
  if (options.json) {
    console.log(JSON.stringify(result));
    return;
  }
  printTable(
    matmul.map((r) => ({
      backend:
        r.isa !== undefined
          ? `${r.backend} (${r.isa})`
          : r.wasmBuild !== undefined
            ? `${r.backend} (${wasmBuildLabel(r.wasmBuild, r.fma === true)})`
            : r.backend,
      m: r.m,
      k: r.k,
      n: r.n,
      op: `${r.transA ? "Aᵀ" : "A"}·${r.transB ? "Bᵀ" : "B"}`,
      threads: r.threads,
      "GFLOP/s": r.gflops,
    })),
  );
  console.log("");
  printTable(
    trainStep.map((r) => ({
      batch: r.batch,
      "warm-up": r.warmupSteps,
      "proximal wasm ms": r.proximalMs,
      "wasm build": r.proximalWasmBuild,
      "proximal native ms": r.proximalNativeMs ?? "n/a",
      "proximal cpu ms": r.proximalCpuMs,
      "tfjs wasm ms": r.tfjsWasmMs ?? "n/a",
      "tfjs cpu ms": r.tfjsCpuMs ?? "n/a",
      "tfjs wasm / proximal wasm": r.tfjsWasmOverProximal ?? "n/a",
      "tfjs wasm / proximal native": r.tfjsWasmOverProximalNative ?? "n/a",
    })),
  );
}

/** GFLOP/s of one product on `kernels`, timed over ~0.3 s (0.03 s quick) of repeated calls. */
function measureMatmul(kernels: Backend, shape: MatmulShape, quick: boolean): number {
  const run = matmulCall(kernels, shape);
  for (let i = 0; i < 3; i++) run();
  return timeMatmul(run, shape, quick ? 0.03 : 0.3);
}

/**
 * GFLOP/s of one product on each of `backends` (the wasm builds), measured in alternating rounds:
 * 7 rounds of ~0.06 s each (one of 0.03 s quick), the median per backend, so that load from other
 * processes slows every build alike and the builds compare within the same minutes.
 */
function measureMatmulAlternating(backends: Backend[], shape: MatmulShape, quick: boolean): number[] {
  const runs = backends.map((kernels) => matmulCall(kernels, shape));
  for (const run of runs) for (let i = 0; i < 3; i++) run();
  const rounds = quick ? 1 : 7;
  const samples: number[][] = runs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    runs.forEach((run, i) => {
      samples[i].push(timeMatmul(run, shape, quick ? 0.03 : 0.06));
    });
  }
  return samples.map(median);
}

/** A closure running the product of `shape` on `kernels`, on seeded inputs. */
function matmulCall(kernels: Backend, shape: MatmulShape): () => void {
  const { m, k, n, transA, transB } = shape;
  const rng = new Rng(0);
  const a = Float32Array.from({ length: m * k }, () => rng.normal());
  const b = Float32Array.from({ length: k * n }, () => rng.normal());
  const c = new Float32Array(m * n);
  return () => kernels.matmul(a, b, c, 1, m, k, n, transA, transB, 0, 0, false);
}

/** GFLOP/s of `run` repeated until `seconds` of work, so tiny products are timed over many calls. */
function timeMatmul(run: () => void, shape: MatmulShape, seconds: number): number {
  let reps = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    run();
    reps++;
    elapsed = performance.now() - start;
  }
  return (2 * shape.m * shape.k * shape.n * reps) / (elapsed / 1000) / 1e9;
}

/** Inputs shared by both implementations: observations, actions, advantages, old log-probs. */
function makeBatch(batch: number) {
  const rng = new Rng(1);
  return {
    obs: Float32Array.from({ length: batch * 4 }, () => rng.normal()),
    actions: Int32Array.from({ length: batch }, () => rng.integer(2)),
    advantages: Float32Array.from({ length: batch }, () => rng.normal()),
    oldLogProbs: Float32Array.from({ length: batch }, () => Math.log(0.5) + 0.1 * rng.normal()),
  };
}

const SIZES = [4, 64, 64, 2];

/** One PPO-clip training step of proximal's MLP on the current backend, as a closure. */
export function makeProximalStep(batch: number): () => void {
  const rng = new Rng(2);
  const params: Tensor[] = [];
  for (let l = 0; l + 1 < SIZES.length; l++) {
    const bound = 1 / Math.sqrt(SIZES[l]);
    params.push(
      tensor(
        Float32Array.from({ length: SIZES[l + 1] * SIZES[l] }, () => rng.uniform(-bound, bound)),
        [SIZES[l + 1], SIZES[l]],
      ).requireGrad(),
    );
    params.push(tensor(new Float32Array(SIZES[l + 1]), [SIZES[l + 1]]).requireGrad());
  }
  const moments = params.map((p) => ({ m: new Float32Array(p.size), v: new Float32Array(p.size) }));
  const data = makeBatch(batch);
  const obs = tensor(data.obs, [batch, 4]);
  const actions = tensor(data.actions, [batch]);
  const advantages = tensor(data.advantages, [batch]);
  const oldLogProbs = tensor(data.oldLogProbs, [batch]);
  let t = 0;
  const step = () => {
    let h = obs;
    // hidden layers as the MLP runs them: linear + tanh fused (ops.linearAct)
    for (let l = 0; l < 3; l++) {
      h =
        l < 2
          ? ops.linearAct(h, params[2 * l], params[2 * l + 1], "tanh")
          : ops.linear(h, params[2 * l], params[2 * l + 1]);
    }
    const logProbs = ops.takeAlongLastAxis(ops.logSoftmax(h), actions);
    const ratio = ops.exp(ops.sub(logProbs, oldLogProbs));
    const surrogate = ops.minimum(
      ops.mul(ratio, advantages),
      ops.mul(ops.clamp(ratio, 0.8, 1.2), advantages),
    );
    const loss = ops.neg(ops.mean(surrogate));
    for (const p of params) p.zeroGrad();
    loss.backward();
    t++;
    // every parameter in one kernel call, as the Adam optimizer does
    getBackend().adamSteps(
      params.map((p) => p.values),
      params.map((p) => p.grad!.values),
      moments.map((s) => s.m),
      moments.map((s) => s.v),
      {
        lr: 3e-4,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0,
        decoupled: false,
        biasCorrection1: 1 - 0.9 ** t,
        biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** t),
      },
    );
  };
  return step;
}

type Tf = typeof import("@tensorflow/tfjs");

let tfCached: Tf | null | undefined;

/**
 * TensorFlow.js (a dev dependency, absent from production installs) through its CommonJS bundle:
 * the ESM build's gradient registry has extension-less imports that Node cannot resolve.
 */
function loadTf(): Tf | null {
  if (tfCached === undefined) {
    try {
      const require = createRequire(import.meta.url);
      tfCached = require("@tensorflow/tfjs") as Tf;
      require("@tensorflow/tfjs-backend-wasm");
    } catch {
      tfCached = null;
    }
  }
  return tfCached;
}

/** The same step in TensorFlow.js on `backend` (null when TensorFlow.js is not installed), and its clean-up. */
async function makeTfjsStep(
  backend: "cpu" | "wasm",
  batch: number,
): Promise<{ step: () => void; dispose: () => void } | null> {
  const tf = loadTf();
  if (tf === null) return null;
  const ok = await tf.setBackend(backend);
  if (!ok) return null;
  await tf.ready();
  const rng = new Rng(2);
  const vars: import("@tensorflow/tfjs").Variable[] = [];
  for (let l = 0; l + 1 < SIZES.length; l++) {
    const bound = 1 / Math.sqrt(SIZES[l]);
    const w = Float32Array.from({ length: SIZES[l] * SIZES[l + 1] }, () => rng.uniform(-bound, bound));
    vars.push(tf.variable(tf.tensor2d(w, [SIZES[l], SIZES[l + 1]])));
    vars.push(tf.variable(tf.zeros([SIZES[l + 1]])));
  }
  const data = makeBatch(batch);
  const obs = tf.tensor2d(data.obs, [batch, 4]);
  const actionsOneHot = tf.oneHot(tf.tensor1d(data.actions, "int32"), 2);
  const advantages = tf.tensor1d(data.advantages);
  const oldLogProbs = tf.tensor1d(data.oldLogProbs);
  const optimizer = tf.train.adam(3e-4);
  const lossFn = () => {
    let h: import("@tensorflow/tfjs").Tensor = obs;
    for (let l = 0; l < 3; l++) {
      h = tf.add(tf.matMul(h, vars[2 * l]), vars[2 * l + 1]);
      if (l < 2) h = tf.tanh(h);
    }
    const logProbs = tf.sum(tf.mul(tf.logSoftmax(h), actionsOneHot), 1);
    const ratio = tf.exp(tf.sub(logProbs, oldLogProbs));
    const surrogate = tf.minimum(
      tf.mul(ratio, advantages),
      tf.mul(tf.clipByValue(ratio, 0.8, 1.2), advantages),
    );
    return tf.neg(tf.mean(surrogate)) as import("@tensorflow/tfjs").Scalar;
  };
  const step = () => {
    const cost = optimizer.minimize(lossFn, true, vars);
    cost?.dataSync();
    cost?.dispose();
  };
  const dispose = () => {
    tf.disposeVariables();
    optimizer.dispose();
  };
  return { step, dispose };
}

/** Mean milliseconds per call of `step` over `reps` calls, after `warmup` untimed calls. */
function timeSteps(step: () => void, reps: number, warmup: number): number {
  for (let i = 0; i < warmup; i++) step();
  const start = performance.now();
  for (let i = 0; i < reps; i++) step();
  return (performance.now() - start) / reps;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * proximal (wasm, and native where built) and TensorFlow.js (wasm) measured in alternating rounds, so that a noisy machine
 * slows both alike; the ratio is the median of the per-round ratios. The cpu columns get one round.
 * Every implementation gets the same untimed warm-up (`warmupSteps` calls right after it is built,
 * so JIT compilation, wasm tiering and allocator growth are paid on both sides) and the same number
 * of timed calls per round.
 */
async function measureTrainStep(batch: number, quick: boolean, withNative: boolean): Promise<TrainStepRow> {
  const reps = quick ? 5 : batch === 64 ? 1000 : 40;
  const cpuReps = Math.ceil(reps / 8);
  const warmupSteps = quick ? 2 : batch === 64 ? 300 : 20;
  const rounds = quick ? 1 : 5;
  const proximal = withBackend("wasm", () => makeProximalStep(batch));
  const proximalRun = () => withBackend("wasm", proximal);
  timeSteps(proximalRun, 0, warmupSteps);
  const nativeStep = withNative ? withBackend("native", () => makeProximalStep(batch)) : null;
  const nativeRun = nativeStep === null ? null : () => withBackend("native", nativeStep);
  if (nativeRun !== null) timeSteps(nativeRun, 0, warmupSteps);
  const tfWasm = await makeTfjsStep("wasm", batch);
  if (tfWasm) timeSteps(tfWasm.step, 0, warmupSteps);
  const proximalTimes: number[] = [];
  const nativeTimes: number[] = [];
  const tfTimes: number[] = [];
  const ratios: number[] = [];
  const nativeRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const p = timeSteps(proximalRun, reps, 0);
    proximalTimes.push(p);
    const nat = nativeRun === null ? null : timeSteps(nativeRun, reps, 0);
    if (nat !== null) nativeTimes.push(nat);
    if (tfWasm) {
      const t = timeSteps(tfWasm.step, reps, 0);
      tfTimes.push(t);
      ratios.push(t / p);
      if (nat !== null) nativeRatios.push(t / nat);
    }
  }
  tfWasm?.dispose();
  const cpuStep = withBackend("cpu", () => makeProximalStep(batch));
  const proximalCpuMs = withBackend("cpu", () => timeSteps(cpuStep, cpuReps, warmupSteps));
  const tfCpu = await makeTfjsStep("cpu", batch);
  const tfjsCpuMs = tfCpu ? timeSteps(tfCpu.step, cpuReps, warmupSteps) : null;
  tfCpu?.dispose();
  return {
    batch,
    warmupSteps,
    timedSteps: reps,
    timedStepsCpu: cpuReps,
    proximalMs: median(proximalTimes),
    proximalWasmBuild: wasmBuildInfo()?.label ?? "none",
    proximalNativeMs: nativeTimes.length > 0 ? median(nativeTimes) : null,
    proximalCpuMs,
    tfjsWasmMs: tfWasm ? median(tfTimes) : null,
    tfjsCpuMs,
    tfjsWasmOverProximal: tfWasm ? median(ratios) : null,
    tfjsWasmOverProximalNative: nativeRatios.length > 0 ? median(nativeRatios) : null,
  };
}
