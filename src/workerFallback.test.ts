import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { make } from "./envs/make.js";
import { AsyncVectorEnv } from "./envs/vector/asyncVectorEnv.js";
import type { VectorEnv } from "./envs/vector/vectorEnv.js";
import { A3C } from "./rl/a3c.js";
import { D4PG } from "./rl/d4pg.js";
import { getBackend } from "./tensor/tensor.js";

// choose the default backend now, with worker_threads and the native addon visible, so that its choice
// (and any notice about it) is not part of what the tests below see
getBackend();

/**
 * Run `body` as a browser would see it: no `process.getBuiltinModule`, so no worker_threads. Returns
 * the warnings emitted meanwhile (warnOnce goes through process.emitWarning on Node).
 */
async function withoutWorkerThreads(body: () => Promise<void>): Promise<string[]> {
  const runtime = process as { getBuiltinModule?: unknown };
  const original = runtime.getBuiltinModule;
  const warnings: string[] = [];
  const originalEmit = process.emitWarning;
  process.emitWarning = ((warning: string | Error) => {
    warnings.push(String(warning));
  }) as typeof process.emitWarning;
  runtime.getBuiltinModule = undefined;
  try {
    await body();
  } finally {
    runtime.getBuiltinModule = original;
    process.emitWarning = originalEmit;
  }
  return warnings;
}

describe("without worker_threads (browsers): synchronous fallbacks with one notice", () => {
  test("make(id, { asynchronous: true }) steps in this thread with the same results, and warns once", async () => {
    let vector: unknown;
    const warnings = await withoutWorkerThreads(async () => {
      vector = make("CartPole-v1", { numEnvs: 3, asynchronous: true, seed: 4, autoresetMode: "same-step" });
      make("CartPole-v1", { numEnvs: 2, asynchronous: true });
    });
    assert.ok(!(vector instanceof AsyncVectorEnv));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /synchronously/);
    const reference = make("CartPole-v1", { numEnvs: 3, seed: 4, autoresetMode: "same-step" });
    const env = vector as VectorEnv;
    assert.deepEqual(
      Array.from(env.reset({ seed: 4 }).observations),
      Array.from(reference.reset({ seed: 4 }).observations),
    );
    const actions = Int32Array.of(0, 1, 1);
    assert.deepEqual(
      Array.from(env.step(actions).observations),
      Array.from(reference.step(actions).observations),
    );
  });

  test("A3C.learn trains synchronously (as A2C) and warns once", async () => {
    const model = new A3C("CartPole-v1", { numEnvs: 2, numWorkers: 2, nSteps: 5, seed: 1 });
    const warnings = await withoutWorkerThreads(async () => {
      await model.learn({ totalTimesteps: 100 });
    });
    assert.equal(model.numTimesteps, 100);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /A3C needs Node's worker_threads/);
  });

  test("D4PG with numActors > 0 runs the actor in the learner's thread and warns once", async () => {
    const model = new D4PG("Pendulum-v1", {
      numActors: 2,
      learningStarts: 20,
      batchSize: 8,
      bufferSize: 200,
      vMin: -1630,
      vMax: 0,
      seed: 0,
    });
    const warnings = await withoutWorkerThreads(async () => {
      await model.learn({ totalTimesteps: 60 });
    });
    assert.equal(model.numTimesteps, 60);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /actor in the learner's thread/);
  });
});
