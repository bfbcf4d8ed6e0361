import { ProximalError } from "../errors.js";
import { AdamW } from "../optim/adam.js";
import { Rng } from "../random/rng.js";
import { generate } from "../rlhf/generate.js";
import { GPT, type GPTConfig } from "../rlhf/gpt.js";
import { crossEntropy, narrow, reshape } from "../tensor/ops.js";
import { getBackend, setNumThreads, Tensor } from "../tensor/tensor.js";
import { runLlamaLmBench } from "./lmLlamaBench.js";
import { type Rate, rate, runTorchScript, torchNote } from "./lmMeasure.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** What the suite measures, shared with scripts/bench/lmTorch.py (passed to it as JSON). */
interface LmWorkload extends GPTConfig {
  trainBatch: number;
  trainSteps: number;
  genBatch: number;
  promptLength: number;
  genRepeats: number;
  threads: number;
}

interface LmFigures {
  backend: string;
  trainTokensPerSecond: number;
  generateTokensPerSecond: number;
  /** Per CPU second of the whole Node process (its GC and compiler threads count against it). */
  trainTokensPerCpuSecond: number;
  generateTokensPerCpuSecond: number;
  torch: {
    trainTokensPerSecond: number;
    generateTokensPerSecond: number;
    trainTokensPerCpuSecond: number;
    generateTokensPerCpuSecond: number;
    threads: number;
    version: string;
    /** The BLAS library torch's matmuls ran on (Debian's torch uses whatever libblas.so.3 resolves to). */
    blas: string;
    blasLibrary: string | null;
    /** OpenBLAS's own thread count (null for other BLASes). */
    blasThreads: number | null;
    /** Process CPU seconds per wall second over torch's timed work: about 1 on one core. */
    cpuPerWall: number;
  } | null;
  torchNote: string | null;
  workload: LmWorkload;
}

/**
 * `proximal bench lm`: tokens per second of a 4-layer, 256-wide, 4-head GPT (vocabulary 4096,
 * context 128) for training (forward, next-token cross-entropy, backward, AdamW step on batches of
 * 4 x 128 tokens) and for cached sampling (8 prompts of 16 tokens extended to 128 positions, one
 * token per sequence per step), on one thread (`PROXIMAL_THREADS=n` sets n on the native backend). The
 * same model and work in PyTorch (scripts/bench/lmTorch.py, on the same thread count) runs as a subprocess when /usr/bin/python3 has torch, and the ratio
 * is printed; otherwise the torch columns are skipped with a note.
 *
 * `--arch llama --size <size>` measures a Llama-family model at a real model's size instead
 * (src/bench/lmLlamaBench.ts, e.g. SmolLM2-135M's shape with random weights).
 */
export async function run(options: BenchOptions): Promise<void> {
  if (options.arch !== undefined && options.arch !== "gpt") {
    await runLlamaLmBench(options);
    return;
  }
  if (options.size !== undefined) {
    throw new ProximalError(
      "INVALID_OPTION",
      `bench lm: --size applies to --arch llama (the GPT workload has one size), got --size ${options.size}. Add --arch llama, or drop --size.`,
    );
  }
  const workload: LmWorkload = {
    vocabSize: 4096,
    nPositions: 128,
    nEmbd: 256,
    nLayer: 4,
    nHead: 4,
    trainBatch: 4,
    trainSteps: options.quick ? 1 : 4,
    genBatch: 8,
    promptLength: 16,
    genRepeats: options.quick ? 1 : 2,
    threads: benchThreads(getBackend().name),
  };
  // the same thread count as torch's side: the native backend's default is every core
  if (getBackend().name === "native") setNumThreads(workload.threads);
  const gpt = new GPT(workload, { rng: new Rng(0) });
  const train = measureTraining(gpt, workload);
  const generation = measureGeneration(gpt, workload);
  const { torch, note } = runTorchReference(workload);
  const figures: LmFigures = {
    backend: getBackend().name,
    trainTokensPerSecond: train.perSecond,
    generateTokensPerSecond: generation.perSecond,
    trainTokensPerCpuSecond: train.perCpuSecond,
    generateTokensPerCpuSecond: generation.perCpuSecond,
    torch,
    torchNote: note,
    workload,
  };
  if (options.json) {
    console.log(JSON.stringify(figures));
    return;
  }
  const ratio = (ours: number, theirs: number | undefined) =>
    theirs === undefined ? "n/a" : `${(ours / theirs).toFixed(2)}x`;
  printTable([
    {
      work: "train (fwd+bwd+AdamW)",
      "proximal tokens/s": Math.round(train.perSecond),
      "torch tokens/s": torch === null ? "n/a" : Math.round(torch.trainTokensPerSecond),
      "proximal / torch": ratio(train.perSecond, torch?.trainTokensPerSecond),
      "proximal tokens/CPU s": Math.round(train.perCpuSecond),
      "torch tokens/CPU s": torch === null ? "n/a" : Math.round(torch.trainTokensPerCpuSecond),
      "proximal / torch (CPU)": ratio(train.perCpuSecond, torch?.trainTokensPerCpuSecond),
    },
    {
      work: "generate (KV cache)",
      "proximal tokens/s": Math.round(generation.perSecond),
      "torch tokens/s": torch === null ? "n/a" : Math.round(torch.generateTokensPerSecond),
      "proximal / torch": ratio(generation.perSecond, torch?.generateTokensPerSecond),
      "proximal tokens/CPU s": Math.round(generation.perCpuSecond),
      "torch tokens/CPU s": torch === null ? "n/a" : Math.round(torch.generateTokensPerCpuSecond),
      "proximal / torch (CPU)": ratio(generation.perCpuSecond, torch?.generateTokensPerCpuSecond),
    },
  ]);
  if (note !== null) console.log(note);
}

/**
 * Threads of both sides: `PROXIMAL_THREADS` on the native backend (the 1- and 2-thread rows),
 * else 1 (the default, and always on wasm, whose kernels run on one thread).
 */
function benchThreads(backend: string): number {
  const requested = process.env.PROXIMAL_THREADS;
  if (backend !== "native" || requested === undefined || requested === "") return 1;
  const threads = Number(requested);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ProximalError(
      "INVALID_OPTION",
      `bench lm: PROXIMAL_THREADS must be a positive integer, got "${requested}". Unset it for one thread.`,
    );
  }
  return threads;
}

function measureTraining(gpt: GPT, w: LmWorkload): Rate {
  const rng = new Rng(1);
  const ids = new Int32Array(w.trainBatch * w.nPositions);
  for (let i = 0; i < ids.length; i++) ids[i] = rng.integer(w.vocabSize);
  const batch = new Tensor(ids, [w.trainBatch, w.nPositions]);
  const optimizer = new AdamW(gpt.parameters(), { lr: 1e-4 });
  const step = () => {
    const { logits } = gpt.forward(batch);
    const inputs = narrow(logits!, 1, 0, w.nPositions - 1);
    const targets = narrow(batch, 1, 1, w.nPositions - 1);
    const loss = crossEntropy(reshape(inputs, [-1, w.vocabSize]), reshape(targets, [-1]));
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
  };
  step(); // warm-up
  return rate(w.trainSteps * w.trainBatch * w.nPositions, () => {
    for (let i = 0; i < w.trainSteps; i++) step();
  });
}

function measureGeneration(gpt: GPT, w: LmWorkload): Rate {
  const rng = new Rng(2);
  const prompts = Array.from({ length: w.genBatch }, () =>
    Array.from({ length: w.promptLength }, () => rng.integer(w.vocabSize)),
  );
  const maxNewTokens = w.nPositions - w.promptLength;
  const once = () => generate(gpt, prompts, { maxNewTokens, doSample: true, rng });
  once(); // warm-up
  return rate(w.genRepeats * w.genBatch * maxNewTokens, () => {
    for (let i = 0; i < w.genRepeats; i++) once();
  });
}

function runTorchReference(w: LmWorkload): { torch: LmFigures["torch"]; note: string | null } {
  const { parsed, note } = runTorchScript(w);
  if (parsed === null) return { torch: null, note };
  return {
    torch: {
      trainTokensPerSecond: parsed.trainTokensPerSecond as number,
      generateTokensPerSecond: parsed.generateTokensPerSecond as number,
      trainTokensPerCpuSecond: parsed.trainTokensPerCpuSecond as number,
      generateTokensPerCpuSecond: parsed.generateTokensPerCpuSecond as number,
      threads: parsed.threads as number,
      version: parsed.torch as string,
      blas: parsed.blas as string,
      blasLibrary: parsed.blasLibrary as string | null,
      blasThreads: parsed.blasThreads as number | null,
      cpuPerWall: parsed.cpuPerWall as number,
    },
    note: torchNote(parsed),
  };
}
