import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CartPoleEnv } from "../envs/classic/cartPole.js";
import { register } from "../envs/registry.js";
import type { BaseOptimizerOptions, Optimizer } from "../optim/optimizer.js";
import { Rng } from "../random/rng.js";
import { A3C, isGradientFresh } from "./a3c.js";
import { evaluatePolicy } from "./common/evaluation.js";

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** A3C with the master's per-gradient step exposed, to drive it without worker threads. */
class MasterProbe extends A3C {
  offer(gradient: Float32Array, lag: number): boolean {
    return this.offerGradient(this.policy.parameters(), gradient, lag);
  }
  get optimizerState() {
    const { json, tensors } = (
      this as unknown as { optimizer: Optimizer<BaseOptimizerOptions> }
    ).optimizer.getState();
    return {
      json,
      tensors: Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, bitsOf(t.values)])),
    };
  }
  /** Parameter and gradient bits, so -0 vs 0 or a NaN payload would count as a change. */
  get snapshot() {
    return this.policy.parameters().map((p) => ({
      values: bitsOf(p.values),
      grad: p.grad === null ? null : bitsOf(p.grad.values),
    }));
  }
}

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.slice().buffer));
}

describe("isGradientFresh()", () => {
  test("accepts lag <= maxStaleness, rejects beyond it, and accepts everything when maxStaleness is null", () => {
    assert.equal(isGradientFresh(0, 0), true);
    assert.equal(isGradientFresh(1, 0), false);
    assert.equal(isGradientFresh(3, 3), true);
    assert.equal(isGradientFresh(4, 3), false);
    assert.equal(isGradientFresh(1_000_000, null), true);
  });
});

describe("A3C", () => {
  test("rejects bad options with INVALID_OPTION", () => {
    assert.equal(
      codeOf(() => new A3C("CartPole-v1", { numWorkers: 0 })),
      "INVALID_OPTION",
    );
    assert.equal(
      codeOf(() => new A3C("CartPole-v1", { maxStaleness: -1 })),
      "INVALID_OPTION",
    );
    assert.equal(
      codeOf(() => new A3C(new CartPoleEnv())),
      "INVALID_OPTION",
    );
  });

  test("applies worker gradients to the shared parameters and stops at totalTimesteps", async () => {
    const model = new A3C("CartPole-v1", { numWorkers: 2, numEnvs: 2, seed: 1 });
    const before = model.policy.parameters().map((p) => p.values.slice());
    const workers = new Set<number>();
    let updates = 0;
    await model.learn({
      totalTimesteps: 400,
      onUpdate: (s) => {
        updates++;
        workers.add(s["train/worker"]);
        assert.ok(Number.isFinite(s["train/loss"]));
      },
    });
    assert.ok(model.numTimesteps >= 400);
    assert.equal(updates, model.numTimesteps / 10); // one update per 5 steps × 2 envs
    assert.ok(workers.size >= 1);
    const after = model.policy.parameters().map((p) => p.values);
    assert.ok(
      after.some((values, i) => values.some((v, k) => v !== before[i][k])),
      "parameters unchanged",
    );
  });

  test("never applies a gradient staler than maxStaleness", async () => {
    const model = new A3C("CartPole-v1", { numWorkers: 2, seed: 2, maxStaleness: 0 });
    let rejected = 0;
    await model.learn({
      totalTimesteps: 2000,
      onUpdate: (s) => {
        // a gradient lagging by more than 0 updates must be counted as rejected, never applied
        if (s["train/staleness"] > 0) assert.equal(s["train/rejectedGradients"], rejected + 1);
        rejected = s["train/rejectedGradients"];
      },
    });
  });

  test("a gradient staler than maxStaleness leaves parameters, gradients and optimizer state bit-identical", () => {
    const model = new MasterProbe("CartPole-v1", { numWorkers: 2, seed: 4, maxStaleness: 1 });
    const size = model.policy.parameters().reduce((n, p) => n + p.size, 0);
    const rng = new Rng(4);
    const gradient = Float32Array.from({ length: size }, () => rng.normal());
    // one accepted step first, so the optimizer has statistics (RMSprop's square averages) to keep
    assert.equal(model.offer(gradient, 0), true);
    const params = model.snapshot;
    const optimizer = model.optimizerState;
    assert.equal(
      model.offer(
        gradient.map((g) => 100 * g),
        2,
      ),
      false,
    ); // lag 2 > maxStaleness 1
    assert.deepEqual(model.snapshot, params);
    assert.deepEqual(model.optimizerState, optimizer);
    // the boundary is accepted, and an accepted gradient does move the parameters
    assert.equal(model.offer(gradient, 1), true);
    assert.notDeepEqual(
      model.snapshot.map((p) => p.values),
      params.map((p) => p.values),
    );
  });

  test("stops its workers when onUpdate returns false", async () => {
    const model = new A3C("CartPole-v1", { numWorkers: 2, seed: 3 });
    let updates = 0;
    await model.learn({ totalTimesteps: 1_000_000, onUpdate: () => ++updates < 5 });
    assert.equal(updates, 5);
  });

  test("surfaces a worker's error as WORKER_FAILED and ends all workers", async () => {
    // registered in this thread only: the workers cannot make it and throw UNKNOWN_ENV
    register({ id: "MainThreadOnlyCartPole-v0", entryPoint: () => new CartPoleEnv(), maxEpisodeSteps: 500 });
    const model = new A3C("MainThreadOnlyCartPole-v0", { numWorkers: 2 });
    await assert.rejects(
      model.learn({ totalTimesteps: 1000 }),
      (error: { code?: string; message: string }) => {
        assert.equal(error.code, "WORKER_FAILED");
        assert.match(error.message, /MainThreadOnlyCartPole-v0/);
        return true;
      },
    );
  });

  test("learns CartPole-v1 with 2 workers in 30k steps", { skip: quick }, async () => {
    // not deterministic (gradient order depends on thread scheduling). Measured (2 workers × 4 envs):
    // deterministic eval after 25k steps 187 / 260 / 202 for seeds 0 / 1 / 2; random play ≈ 22.
    const model = new A3C("CartPole-v1", { numWorkers: 2, numEnvs: 4, seed: 0 });
    await model.learn({ totalTimesteps: 30_000 });
    const { meanReturn } = await evaluatePolicy(model, "CartPole-v1", { episodes: 10, seed: 100 });
    assert.ok(meanReturn > 60, `mean return ${meanReturn}`);
  });
});
