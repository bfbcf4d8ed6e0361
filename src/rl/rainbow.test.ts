import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type NoisyLinear, noisyLayers } from "../nn/noisyLinear.js";
import { Rng } from "../random/rng.js";
import { Tensor } from "../tensor/tensor.js";
import { evaluatePolicy } from "./common/evaluation.js";
import { QNetwork } from "./common/qPolicy.js";
import { DQN } from "./dqn.js";
import type { RainbowOptions } from "./rainbow.js";
import { Rainbow } from "./rainbow.js";
import type { PrioritizedReplayBuffer } from "./replay/prioritizedReplayBuffer.js";

/** presets/rainbow/hessel.yaml's CartPole-v1 options (without totalTimesteps). */
const PRESET: RainbowOptions = {
  learningRate: 1e-3,
  batchSize: 32,
  bufferSize: 20_000,
  learningStarts: 500,
  targetUpdateInterval: 200,
  trainFreq: 1,
  gradientSteps: 1,
  distributional: { atoms: 51, vMin: 0, vMax: 100 },
  policy: { netArch: [64, 64] },
};

/** Small and fast: 2 envs, learning after 64 steps. */
const SMALL: RainbowOptions = {
  numEnvs: 2,
  learningStarts: 64,
  bufferSize: 1000,
  batchSize: 16,
  trainFreq: 4,
  gradientSteps: 2,
  targetUpdateInterval: 40,
  learningRate: 1e-3,
  distributional: { atoms: 11, vMin: 0, vMax: 20 },
  policy: { netArch: [16] },
};

function weights(model: { policy: { stateDict(): Record<string, Tensor> } }): Float32Array[] {
  return Object.values(model.policy.stateDict()).map((t) => Float32Array.from(t.values));
}

describe("QNetwork (Rainbow variants)", () => {
  test("distributional dueling combines the streams per atom logit: v_i + a_i − mean_a a_i", () => {
    const net = new QNetwork(3, 2, new Rng(0), {
      netArch: [4],
      activation: "relu",
      dueling: true,
      atoms: 3,
      vMin: -1,
      vMax: 1,
    });
    const obs = new Tensor(new Float32Array([0.5, -0.2, 0.1]), [1, 3]);
    const named = new Map(net.namedParameters());
    // an advantage stream that is the same for both actions cancels: every action's logits are v
    (named.get("advantageHead.weight")!.data as Float32Array).fill(0);
    const bias = named.get("advantageHead.bias")!.data as Float32Array;
    bias.set([1, 2, 3, 1, 2, 3]);
    const logits = net.forwardLogits(obs);
    assert.deepEqual(logits.shape, [1, 2, 3]);
    const v = logits.values;
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(v[i] - v[3 + i]) < 1e-6);
    // and Q = Σ z_i softmax_i is the same for both actions
    const q = net.forward(obs).values;
    assert.ok(Math.abs(q[0] - q[1]) < 1e-6);
    // different advantages per action shift each action's atom logits by a − mean_a a
    bias.set([1, 0, 0, 0, 0, 0]);
    const shifted = net.forwardLogits(obs).values;
    assert.ok(Math.abs(shifted[0] - v[0] - 0.5) < 1e-6);
    assert.ok(Math.abs(shifted[3] - v[3] + 0.5) < 1e-6);
  });

  test("noisy: every layer is NoisyLinear; Q = Σ z_i p_i lies inside the support", () => {
    const net = new QNetwork(4, 2, new Rng(0), {
      netArch: [8, 8],
      activation: "relu",
      dueling: true,
      noisySigma0: 0.5,
      atoms: 5,
      vMin: 0,
      vMax: 10,
    });
    assert.equal(noisyLayers(net).length, 4); // trunk 2, value 1, advantage 1
    assert.ok(net.namedParameters().every(([name]) => /Mu$|Sigma$/.test(name)));
    net.resetNoise(new Rng(1));
    const q = net.forward(new Tensor(new Float32Array(8).fill(0.3), [2, 4])).values;
    for (const value of q) assert.ok(value >= 0 && value <= 10);
  });
});

describe("DQN noisy switch", () => {
  test("turns ε-greedy off unless exploration is set, and deterministic predict uses μ only", () => {
    const model = new DQN("CartPole-v1", { noisy: true, policy: { netArch: [8] } });
    assert.equal(model.explorationRate, 0);
    assert.ok(noisyLayers(model.policy.qNet).length > 0);
    const withEps = new DQN("CartPole-v1", {
      noisy: true,
      explorationInitialEps: 0.5,
      policy: { netArch: [8] },
    });
    assert.equal(withEps.explorationRate, 0.5);
    const obs = new Float32Array([0.01, -0.02, 0.03, 0.04, 0.2, 0.1, -0.1, 0.3]);
    const before = model.predict(obs, { deterministic: true });
    const means = model.policy.qValues(obs, 2);
    for (const layer of noisyLayers(model.policy.qNet)) layer.noise = false;
    const muOnly = model.policy.qValues(obs, 2);
    for (const layer of noisyLayers(model.policy.qNet)) layer.noise = true;
    model.policy.qNet.resetNoise(new Rng(9));
    assert.deepEqual(model.predict(obs, { deterministic: true }), before);
    // the noise is on again after a deterministic predict
    assert.ok(noisyLayers(model.policy.qNet).every((layer: NoisyLinear) => layer.noise));
    assert.notDeepEqual(Array.from(means), Array.from(muOnly));
  });

  test("resamples noise at every acting step and every gradient step", async () => {
    const model = new DQN("CartPole-v1", {
      noisy: true,
      learningStarts: 0,
      batchSize: 4,
      bufferSize: 100,
      trainFreq: 1,
      gradientSteps: 1,
      policy: { netArch: [8] },
    });
    const first = noisyLayers(model.policy.qNet)[0];
    const target = noisyLayers(model.policy.qNetTarget)[0];
    const seen = new Set<number>();
    const seenTarget = new Set<number>();
    await model.learn({
      totalTimesteps: 12,
      onUpdate: () => {
        seen.add(first.epsilonIn.values[0]);
        seenTarget.add(target.epsilonIn.values[0]);
      },
    });
    assert.equal(seen.size, 12);
    assert.ok(seenTarget.size >= 8, `target noise samples: ${seenTarget.size}`);
  });
});

describe("Rainbow", () => {
  test("has Hessel et al. 2018's components and Table 1 defaults", () => {
    const model = new Rainbow("CartPole-v1", { bufferSize: 1000, learningStarts: 100 });
    assert.equal(model.double, true);
    assert.equal(model.dueling, true);
    assert.equal(model.noisy, true);
    assert.equal(model.prioritized, true);
    assert.equal(model.nStep, 3);
    assert.deepEqual(model.distributional, { atoms: 51, vMin: -10, vMax: 10 });
    assert.equal(model.explorationRate, 0);
    assert.equal(model.maxGradNorm, Number.POSITIVE_INFINITY);
    assert.equal(model.targetUpdateInterval, 8000);
    assert.equal((model.replayBuffer as PrioritizedReplayBuffer).alpha, 0.5);
    assert.equal(noisyLayers(model.policy.qNet)[0].sigma0, 0.5);
    const adam = (
      model as unknown as { optimizer: { paramGroups: { options: { eps: number; lr: number } }[] } }
    ).optimizer;
    assert.equal(adam.paramGroups[0].options.eps, 1.5e-4);
    assert.equal(adam.paramGroups[0].options.lr, 6.25e-5);
  });

  test("priorities come from the per-sample cross-entropy", async () => {
    const model = new Rainbow("CartPole-v1", { ...SMALL, seed: 5 });
    await model.learn({ totalTimesteps: 120 });
    const buffer = model.replayBuffer as PrioritizedReplayBuffer;
    const priorities = new Set<number>();
    for (let i = 0; i < buffer.size; i++) priorities.add(buffer.priority(i));
    assert.ok(priorities.size > 2, "priorities stayed at the initial value");
  });

  test("learn stopped, saved and resumed gives bit-identical weights and noise", async () => {
    const options: RainbowOptions = { ...SMALL, saveReplayBuffer: true, seed: 7 };
    const total = 400;
    const straight = new Rainbow("CartPole-v1", options);
    await straight.learn({ totalTimesteps: total });

    const first = new Rainbow("CartPole-v1", options);
    await first.learn({ totalTimesteps: total, onUpdate: (s) => s["time/timesteps"] < 200 });
    assert.equal(first.numTimesteps, 200);
    const dir = await mkdtemp(join(tmpdir(), "proximal-rainbow-"));
    try {
      await first.save(dir);
      const resumed = await Rainbow.load(dir, { restoreEnv: true });
      assert.equal(resumed.replayBuffer.size, first.replayBuffer.size);
      await resumed.learn({ totalTimesteps: total, resetNumTimesteps: false });
      assert.equal(resumed.nUpdates, straight.nUpdates);
      const a = weights(straight);
      const b = weights(resumed);
      for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i]);
      const again = await Rainbow.load(dir);
      const obs = new Float32Array([0.01, -0.02, 0.03, 0.04]);
      assert.deepEqual(
        again.predict(obs, { deterministic: true }),
        first.predict(obs, { deterministic: true }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("rejects a bad support and a non-positive noisySigma0 with the fix", () => {
    assert.throws(() => new Rainbow("CartPole-v1", { ...SMALL, distributional: { vMin: 5, vMax: 5 } }), {
      code: "INVALID_OPTION",
    });
    assert.throws(() => new Rainbow("CartPole-v1", { ...SMALL, noisySigma0: 0 }), { code: "INVALID_OPTION" });
  });
});

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

describe("Rainbow learning (slow)", () => {
  test("CartPole-v1 with presets/rainbow/hessel.yaml beats a random policy within 5k steps", {
    skip: quick,
  }, async () => {
    // the hessel preset with a 5k-step budget instead of 20k. Measured: deterministic eval mean
    // return over 10 episodes (eval seed 100) 234.1 with seed 0 and 131.7 with seed 1; a uniformly
    // random policy averages 22.8 and its best 10-episode mean is 27 (dqn.test.ts); threshold 100.
    const model = new Rainbow("CartPole-v1", { ...PRESET, seed: 0 });
    await model.learn({ totalTimesteps: 5000 });
    const { meanReturn } = await evaluatePolicy(model, "CartPole-v1", { episodes: 10, seed: 100 });
    assert.ok(meanReturn > 100, `mean return ${meanReturn}`);
  });
});
