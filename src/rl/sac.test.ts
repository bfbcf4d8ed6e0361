import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { evaluatePolicy } from "./common/evaluation.js";
import type { SACOptions } from "./sac.js";
import { parseEntCoef, SAC } from "./sac.js";

const SMALL: SACOptions = {
  learningStarts: 64,
  bufferSize: 2000,
  batchSize: 16,
  policy: { netArch: [16] },
};

const snapshot = (module: { stateDict(): Record<string, { values: Float32Array }> }) =>
  Object.values(module.stateDict()).map((t) => Float32Array.from(t.values));

describe("SAC", () => {
  test("has SB3's defaults", () => {
    const model = new SAC("Pendulum-v1");
    assert.equal(model.learningStarts, 100);
    assert.equal(model.batchSize, 256);
    assert.equal(model.bufferSize, 1_000_000);
    assert.equal(model.tau, 0.005);
    assert.equal(model.gamma, 0.99);
    assert.equal(model.trainFreq, 1);
    assert.equal(model.gradientSteps, 1);
    assert.equal(model.targetUpdateInterval, 1);
    assert.deepEqual(model.policy.options, { netArch: [256, 256], activation: "relu" });
    // entCoef "auto": log α starts at log 1 = 0, target entropy −dim(A) = −1 on Pendulum
    assert.equal(model.policy.logEntCoef!.values[0], 0);
    assert.equal(model.entCoef, 1);
    assert.equal(model.targetEntropy, -1);
    assert.equal(model.policy.critic.qNets.length, 2);
    const names = Object.keys(model.policy.stateDict());
    assert.ok(!names.some((n) => n.startsWith("actorTarget")), "SAC has no target actor");
  });

  test('entCoef: "auto", "auto_0.1" (initial α) or a fixed number', () => {
    assert.deepEqual(parseEntCoef("auto"), { learned: true, value: 1 });
    assert.deepEqual(parseEntCoef("auto_0.1"), { learned: true, value: 0.1 });
    assert.deepEqual(parseEntCoef(0.05), { learned: false, value: 0.05 });
    const fixed = new SAC("Pendulum-v1", { ...SMALL, entCoef: 0.2 });
    assert.equal(fixed.policy.logEntCoef, null);
    assert.equal(fixed.entCoef, 0.2);
    const learned = new SAC("Pendulum-v1", { ...SMALL, entCoef: "auto_0.1" });
    assert.ok(Math.abs(learned.entCoef - 0.1) < 1e-7);
  });

  test("a short run trains the actor, the critics, the targets and α; α falls while the policy is broad", async () => {
    const model = new SAC("Pendulum-v1", { ...SMALL, seed: 1 });
    const actor = snapshot(model.policy.actor);
    const target = snapshot(model.policy.criticTarget);
    let last: Record<string, number> = {};
    await model.learn({ totalTimesteps: 300, onUpdate: (s) => void (last = s) });
    assert.equal(model.nUpdates, 300 - 64);
    assert.notDeepEqual(snapshot(model.policy.actor), actor);
    assert.notDeepEqual(snapshot(model.policy.criticTarget), target);
    // the young policy is broad: its entropy −log π exceeds H̄ = −1, so ∂J/∂log α = −(log π + H̄) > 0 and α falls
    assert.ok(model.entCoef < 1, `α ${model.entCoef}`);
    for (const key of ["train/criticLoss", "train/actorLoss", "train/entCoef", "train/entCoefLoss"])
      assert.ok(Number.isFinite(last[key]), key);
  });

  test("predict: deterministic is tanh(μ) in the env's units; stochastic samples stay within the bounds", () => {
    const model = new SAC("Pendulum-v1", SMALL);
    const obs = new Float32Array([1, 0, 0.5, 0, 1, -3]);
    const a = model.predict(obs, { deterministic: true });
    assert.deepEqual(model.predict(obs, { deterministic: true }), a);
    const head = noGrad(() => model.policy.actor.forward(new Tensor(obs, [2, 3])));
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(a[i] - 2 * Math.tanh(head.mean.values[i])) < 1e-5);
    for (let t = 0; t < 20; t++) for (const v of model.predict(obs)) assert.ok(v >= -2 && v <= 2);
  });

  test("learn stopped, saved and resumed gives bit-identical weights and α (replay saved)", async () => {
    const options: SACOptions = { ...SMALL, saveReplayBuffer: true, gradientSteps: 2, seed: 3 };
    const total = 300;
    const straight = new SAC("Pendulum-v1", options);
    await straight.learn({ totalTimesteps: total });
    const first = new SAC("Pendulum-v1", options);
    await first.learn({ totalTimesteps: total, onUpdate: (s) => s["time/timesteps"] < 150 });
    const dir = await mkdtemp(join(tmpdir(), "proximal-sac-"));
    try {
      await first.save(dir);
      const resumed = await SAC.load(dir, { restoreEnv: true });
      await resumed.learn({ totalTimesteps: total, resetNumTimesteps: false });
      assert.equal(resumed.nUpdates, straight.nUpdates);
      assert.equal(resumed.entCoef, straight.entCoef);
      const a = snapshot(straight.policy);
      const b = snapshot(resumed.policy);
      for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i]);
      const again = await SAC.load(dir);
      const obs = new Float32Array([0.3, 0.9, -1]);
      assert.deepEqual(
        again.predict(obs, { deterministic: true }),
        first.predict(obs, { deterministic: true }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("rejects bad options and spaces with the fix", () => {
    assert.throws(() => new SAC("CartPole-v1", SMALL), { code: "UNSUPPORTED_SPACE" });
    assert.throws(() => new SAC("Pendulum-v1", { ...SMALL, entCoef: "autox" as never }), {
      code: "INVALID_OPTION",
    });
    assert.throws(() => new SAC("Pendulum-v1", { ...SMALL, entCoef: "auto_0" }), { code: "INVALID_OPTION" });
    assert.throws(() => new SAC("Pendulum-v1", { ...SMALL, entCoef: -1 }), { code: "INVALID_OPTION" });
    assert.throws(() => new SAC("Pendulum-v1", { ...SMALL, targetEntropy: "x" as never }), {
      code: "INVALID_OPTION",
    });
    assert.throws(() => new SAC("Pendulum-v1", { ...SMALL, targetUpdateInterval: 0 }), {
      code: "INVALID_OPTION",
    });
    assert.throws(() => new SAC("Pendulum-v1", { ...SMALL, prioritized: true }), /prioritized/);
  });
});

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

describe("SAC learning (slow)", () => {
  test("Pendulum-v1: a small SAC clearly beats a random policy within 5k steps", {
    skip: quick,
  }, async () => {
    // RL Zoo's Pendulum config (SB3 defaults, lr 1e-3) with a [64, 64] network, batch 64 and
    // learningStarts 500 to fit the test's time. Measured (seed 0): deterministic eval mean −99.9
    // over 10 episodes (eval seed 1), about 40 s on a 2-core machine under load 14. A uniformly random
    // policy averages about −1200 on Pendulum; threshold −600.
    const model = new SAC("Pendulum-v1", {
      seed: 0,
      learningRate: 1e-3,
      learningStarts: 500,
      batchSize: 64,
      policy: { netArch: [64, 64] },
    });
    await model.learn({ totalTimesteps: 5000 });
    const { meanReturn } = await evaluatePolicy(model, "Pendulum-v1", { episodes: 10, seed: 1 });
    assert.ok(meanReturn > -600, `mean return ${meanReturn}`);
  });
});
