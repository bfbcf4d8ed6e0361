import type { Env } from "../envs/env.js";
import { make } from "../envs/make.js";
import { registry } from "../envs/registry.js";
import { Box } from "../envs/spaces/box.js";
import { Discrete } from "../envs/spaces/discrete.js";
import type { VectorEnv } from "../envs/vector/vectorEnv.js";
import { Rng } from "../random/rng.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** One row of the envs suite. */
interface EnvRow {
  id: string;
  /** "single": make(id) with TimeLimit; "batched": make(id, { numEnvs }); "async": AsyncVectorEnv, 2 workers. */
  kind: "single" | "batched" | "async";
  numEnvs: number;
  stepsPerSecond: number;
}

const builtinIds = [
  "CartPole-v1",
  "Acrobot-v1",
  "MountainCar-v0",
  "MountainCarContinuous-v0",
  "Pendulum-v1",
  "LunarLander-v3",
  "LunarLanderContinuous-v3",
  "BipedalWalker-v3",
];

/** Fill `out` with random actions for `space` (uniform over Discrete / the Box bounds). */
function randomFill(rng: Rng, space: Discrete | Box, out: Int32Array | Float32Array): void {
  if (space instanceof Discrete) {
    const n = space.n;
    if ((n & (n - 1)) === 0 && n <= 256) {
      // n a power of two: each action takes log2(n) fresh bits of a 32-bit draw (exactly uniform),
      // so drawing the actions costs a fraction of the env step the benchmark measures
      const bits = Math.log2(n);
      const perDraw = Math.floor(32 / Math.max(bits, 1));
      let word = 0;
      let left = 0;
      for (let i = 0; i < out.length; i++) {
        if (left === 0) {
          word = rng.nextUint32();
          left = perDraw;
        }
        out[i] = word & (n - 1);
        word >>>= bits;
        left--;
      }
      return;
    }
    // otherwise one 32-bit draw per action, scaled (bias < n / 2^32): Rng.integer's rejection loop
    // would cost more than a CartPole step
    for (let i = 0; i < out.length; i++) out[i] = Math.floor((rng.nextUint32() * n) / 4294967296);
  } else {
    const size = space.size;
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(space.low[i % size], space.high[i % size]);
  }
}

/** Run `chunk` until `seconds` have passed; returns chunk calls per second. */
function timed(seconds: number, chunk: () => void): number {
  chunk(); // warm-up
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    chunk();
    calls++;
    elapsed = performance.now() - start;
  }
  return (calls * 1000) / elapsed;
}

function benchSingle(id: string, seconds: number): number {
  const env = make(id) as Env<Float32Array, number | Float32Array>;
  const space = env.actionSpace as Discrete | Box;
  const rng = new Rng(0);
  const buffer = space instanceof Box ? new Float32Array(space.size) : new Int32Array(1);
  env.reset({ seed: 0 });
  const chunkSteps = 1000;
  const perSecond = timed(seconds, () => {
    for (let t = 0; t < chunkSteps; t++) {
      randomFill(rng, space, buffer);
      const r = env.step(space instanceof Box ? (buffer as Float32Array) : buffer[0]);
      if (r.terminated || r.truncated) env.reset();
    }
  });
  env.close();
  return perSecond * chunkSteps;
}

function benchVector(env: VectorEnv, seconds: number, chunkSteps: number): number {
  const space = env.singleActionSpace as Discrete | Box;
  const rng = new Rng(0);
  const actions =
    space instanceof Box ? new Float32Array(env.numEnvs * space.size) : new Int32Array(env.numEnvs);
  env.reset({ seed: 0 });
  const perSecond = timed(seconds, () => {
    for (let t = 0; t < chunkSteps; t++) {
      randomFill(rng, space, actions);
      env.step(actions);
    }
  });
  env.close();
  return perSecond * chunkSteps * env.numEnvs;
}

/**
 * Environment steps per second with random actions: each built-in env as a single env (`make(id)`,
 * TimeLimit and order checks included), batched with 64 envs (`make(id, { numEnvs: 64 })`: the
 * structure-of-arrays kernel for classic control, SyncVectorEnv for LunarLander), and through
 * AsyncVectorEnv with 2 worker threads (8 envs).
 */
export async function run(options: BenchOptions): Promise<void> {
  const seconds = options.quick ? 0.1 : 1.5;
  const rows: EnvRow[] = [];
  for (const id of builtinIds.filter((i) => registry.has(i))) {
    const box2d = id.startsWith("LunarLander") || id.startsWith("BipedalWalker");
    rows.push({ id, kind: "single", numEnvs: 1, stepsPerSecond: Math.round(benchSingle(id, seconds)) });
    rows.push({
      id,
      kind: "batched",
      numEnvs: 64,
      stepsPerSecond: Math.round(
        benchVector(make(id, { numEnvs: 64, autoresetMode: "same-step" }), seconds, box2d ? 2 : 200),
      ),
    });
    rows.push({
      id,
      kind: "async",
      numEnvs: 8,
      stepsPerSecond: Math.round(
        benchVector(
          make(id, { numEnvs: 8, asynchronous: true, numWorkers: 2, autoresetMode: "same-step" }),
          seconds,
          box2d ? 5 : 100,
        ),
      ),
    });
  }
  if (options.json) console.log(JSON.stringify({ envs: rows }));
  else
    printTable(
      rows.map((r) => ({ id: r.id, kind: r.kind, numEnvs: r.numEnvs, stepsPerSecond: r.stepsPerSecond })),
    );
}
