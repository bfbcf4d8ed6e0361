import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { make } from "../envs/make.js";
import { evaluatePolicy } from "./common/evaluation.js";
import type { D4PGOptions } from "./d4pg.js";
import { D4PG } from "./d4pg.js";
import "./d4pgTestEnvs.js";
import { PrioritizedReplayBuffer } from "./replay/prioritizedReplayBuffer.js";
import { ReplayBuffer } from "./replay/replayBuffer.js";

/** Small, fast settings on Pendulum: learning after 64 steps, a small network, a Pendulum support. */
const SMALL: D4PGOptions = {
  learningStarts: 64,
  bufferSize: 2000,
  batchSize: 16,
  atoms: 21,
  vMin: -1630,
  vMax: 0,
  policy: { netArch: [16] },
};
const TEST_ENVS = new URL("./d4pgTestEnvs.js", import.meta.url).href;

const snapshot = (module: { stateDict(): Record<string, { values: Float32Array }> }) =>
  Object.values(module.stateDict()).map((t) => Float32Array.from(t.values));

describe("D4PG options", () => {
  test("defaults: the paper's n = 5, prioritised replay, 51 atoms on Acme's [-150, 150], sync mode", () => {
    const model = new D4PG("Pendulum-v1");
    assert.equal(model.nStep, 5);
    assert.ok(model.nStepAdder !== null);
    assert.ok(model.replayBuffer instanceof PrioritizedReplayBuffer);
    assert.deepEqual(
      { atoms: model.policy.options.atoms, vMin: model.policy.options.vMin, vMax: model.policy.options.vMax },
      { atoms: 51, vMin: -150, vMax: 150 },
    );
    assert.deepEqual(model.policy.options.netArch, [400, 300]);
    assert.equal(model.numActors, 0);
    assert.equal(model.actorUpdateInterval, 100);
    assert.equal(model.targetUpdateInterval, 100);
    assert.equal(model.tau, 1);
    assert.equal(model.batchSize, 256);
    assert.equal(model.actionNoise?.sigma, 0.3);
  });

  test("the switches turn n-step and prioritised replay off", () => {
    const model = new D4PG("Pendulum-v1", { ...SMALL, nStep: 1, prioritized: false });
    assert.equal(model.nStepAdder, null);
    assert.ok(!(model.replayBuffer instanceof PrioritizedReplayBuffer));
    assert.ok(model.replayBuffer instanceof ReplayBuffer);
  });

  test("rejects bad options and spaces with the fix", () => {
    assert.throws(() => new D4PG("CartPole-v1", SMALL), { code: "UNSUPPORTED_SPACE" });
    assert.throws(() => new D4PG("Pendulum-v1", { ...SMALL, atoms: 1 }), /atoms >= 2/);
    assert.throws(() => new D4PG("Pendulum-v1", { ...SMALL, vMin: 0, vMax: 0 }), /vMin < vMax/);
    assert.throws(() => new D4PG("Pendulum-v1", { ...SMALL, numActors: -1 }), /numActors/);
    assert.throws(() => new D4PG("Pendulum-v1", { ...SMALL, numActors: 1.5 }), /numActors/);
    assert.throws(() => new D4PG("Pendulum-v1", { ...SMALL, actorUpdateInterval: 0 }), /actorUpdateInterval/);
    assert.throws(
      () => new D4PG("Pendulum-v1", { ...SMALL, targetUpdateInterval: 0 }),
      /targetUpdateInterval/,
    );
    assert.throws(() => new D4PG("Pendulum-v1", { ...SMALL, nStep: 0 }), /nStep/);
    assert.throws(() => new D4PG(make("Pendulum-v1"), { ...SMALL, numActors: 2 }), /env id/);
    assert.throws(() => new D4PG("Pendulum-v1", { ...SMALL, policy: { netArch: [0] } }), {
      code: "INVALID_OPTION",
    });
  });
});

describe("D4PG (synchronous mode)", () => {
  test("n-step transitions reach the prioritised buffer and the critic's cross-entropy sets the priorities", async () => {
    const model = new D4PG("Pendulum-v1", { ...SMALL, seed: 3 });
    await model.learn({ totalTimesteps: 150 });
    const buffer = model.replayBuffer as PrioritizedReplayBuffer;
    // the adder holds back the last n − 1 steps of each env (until the window fills or the episode ends)
    assert.equal(buffer.size, 150 - 4);
    const sample = buffer.sample(64, model.rng, 1);
    assert.ok(
      Array.from(sample.steps).every((k) => k === 5),
      "every 5-step window is full mid-episode",
    );
    // priorities: initial max 1 for new transitions, (ℓ + ε)^α ≠ 1 once trained on
    const priorities = Array.from({ length: buffer.size }, (_, i) => buffer.priority(i));
    assert.ok(model.nUpdates > 0);
    assert.ok(
      priorities.some((p) => Math.abs(p - priorities[buffer.size - 1]) > 1e-3),
      "some priorities moved",
    );
  });

  test("is deterministic per seed (and the seed matters)", async () => {
    const run = async (seed: number) => {
      const model = new D4PG("Pendulum-v1", { ...SMALL, seed });
      await model.learn({ totalTimesteps: 300 });
      return snapshot(model.policy);
    };
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i]);
    assert.ok(a.some((x, i) => x.some((v, j) => v !== c[i][j])));
  });

  test("learn stopped, saved and resumed gives bit-identical weights (replay, PER, n-step, noise saved)", async () => {
    const options: D4PGOptions = { ...SMALL, saveReplayBuffer: true, targetUpdateInterval: 7, seed: 5 };
    const total = 500; // crosses an episode end (200 steps)
    const straight = new D4PG("Pendulum-v1", options);
    await straight.learn({ totalTimesteps: total });
    const first = new D4PG("Pendulum-v1", options);
    await first.learn({ totalTimesteps: total, onUpdate: (s) => s["time/timesteps"] < 250 });
    assert.equal(first.numTimesteps, 250);
    const dir = await mkdtemp(join(tmpdir(), "proximal-d4pg-"));
    try {
      await first.save(dir);
      const resumed = await D4PG.load(dir, { restoreEnv: true });
      assert.ok(resumed.replayBuffer instanceof PrioritizedReplayBuffer);
      assert.equal(resumed.replayBuffer.size, first.replayBuffer.size);
      await resumed.learn({ totalTimesteps: total, resetNumTimesteps: false });
      assert.equal(resumed.nUpdates, straight.nUpdates);
      const a = snapshot(straight.policy);
      const b = snapshot(resumed.policy);
      for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i]);
      const again = await D4PG.load(dir);
      const obs = new Float32Array([0.3, 0.9, -1]);
      assert.deepEqual(again.predict(obs), first.predict(obs));
      // predict is in the env's units: Pendulum's torque in [-2, 2]
      const action = again.predict(obs)[0];
      assert.ok(action >= -2 && action <= 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("D4PG (actor threads)", () => {
  test("2 actors fill the learner's one buffer, and every thread has exited when learn resolves", async () => {
    const model = new D4PG("Pendulum-v1", { ...SMALL, numActors: 2, actorUpdateInterval: 10, seed: 1 });
    const actorsSeen = new Set<number>();
    await model.learn({
      totalTimesteps: 800,
      onUpdate: (s) => {
        if (s["rollout/actorsReporting"] !== undefined) actorsSeen.add(s["rollout/actorsReporting"]);
      },
    });
    assert.equal(model.runningActors, 0);
    assert.equal(model.actorSteps.length, 2);
    assert.ok(
      model.actorSteps.every((n) => n > 0),
      `steps per actor: ${model.actorSteps}`,
    );
    assert.ok(model.numTimesteps >= 800);
    // later messages are dropped once the budget is spent: at most one message (1 step here) over
    assert.ok(model.numTimesteps <= 801, `numTimesteps ${model.numTimesteps}`);
    assert.equal(
      model.actorSteps[0] + model.actorSteps[1],
      model.numTimesteps,
      "every env step counted came from an actor",
    );
    // n-step windows: each actor holds back at most n − 1 = 4 steps of its env
    assert.ok(model.replayBuffer.size >= model.numTimesteps - 2 * 4);
    assert.ok(model.nUpdates > 0, "the learner trained");
  });

  test("stopping from onUpdate ends the actor threads too", async () => {
    const model = new D4PG("Pendulum-v1", { ...SMALL, numActors: 2, seed: 2 });
    let updates = 0;
    await model.learn({ totalTimesteps: 100_000, onUpdate: () => ++updates < 3 });
    assert.equal(updates, 3);
    assert.equal(model.runningActors, 0);
  });

  test("an actor whose env throws makes learn reject with WORKER_FAILED naming the actor and the cause", async () => {
    const model = new D4PG("FailingPendulum-v0", {
      ...SMALL,
      numActors: 2,
      actorEnvModule: TEST_ENVS,
      seed: 4,
    });
    await assert.rejects(
      model.learn({ totalTimesteps: 100_000 }),
      (error: { code?: string; message: string }) => {
        assert.equal(error.code, "WORKER_FAILED");
        assert.match(error.message, /D4PG actor [01] failed: FailingPendulum: boom at step 150/);
        return true;
      },
    );
    assert.equal(model.runningActors, 0, "no orphan actor threads after the failure");
  });

  test("an actor thread that dies (exits) makes learn reject, naming the actor and the exit code", async () => {
    // only ever constructed inside the actor threads: the learner's copy of the env never steps
    const model = new D4PG("ExitingPendulum-v0", { ...SMALL, numActors: 2, actorEnvModule: TEST_ENVS });
    await assert.rejects(
      model.learn({ totalTimesteps: 100_000 }),
      (error: { code?: string; message: string }) => {
        assert.equal(error.code, "WORKER_FAILED");
        assert.match(error.message, /D4PG actor [01] exited \(code 7\) before training finished/);
        return true;
      },
    );
    assert.equal(model.runningActors, 0);
  });

  test("an env the actor threads cannot make surfaces as an error, not a hang", async () => {
    // FailingPendulum-v0 is registered in this thread only when actorEnvModule is not given
    const model = new D4PG("FailingPendulum-v0", { ...SMALL, numActors: 1 });
    await assert.rejects(model.learn({ totalTimesteps: 1000 }), /D4PG actor 0 failed: .*FailingPendulum-v0/);
    assert.equal(model.runningActors, 0);
  });
});

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

describe("D4PG learning (slow)", () => {
  test("Pendulum-v1: a small synchronous D4PG clearly beats a random policy within 5k steps", {
    skip: quick,
  }, async () => {
    // The Pendulum preset's support [-1630, 0] and n = 5, with a [64, 64] network, batch 64, lr 1e-3,
    // Polyak τ = 0.005 every step and uniform replay to fit the test's time. Measured (seed 0, this
    // machine under load): eval −138 over 10 deterministic episodes (eval seed 1), ~18 s of training.
    // With the paper's hard target copies every 100 steps: −163; with PER: −1446 on seed 0 but −136
    // on seed 1 (5k steps is a small budget for a 5-step distributional critic). Random: about −1200.
    const model = new D4PG("Pendulum-v1", {
      seed: 0,
      vMin: -1630,
      vMax: 0,
      learningRate: 1e-3,
      batchSize: 64,
      tau: 0.005,
      targetUpdateInterval: 1,
      prioritized: false,
      policy: { netArch: [64, 64] },
    });
    await model.learn({ totalTimesteps: 5000 });
    const { meanReturn } = await evaluatePolicy(model, "Pendulum-v1", { episodes: 10, seed: 1 });
    assert.ok(meanReturn > -600, `mean return ${meanReturn}`);
  });
});
