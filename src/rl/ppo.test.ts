import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Env, ResetResult, StepResult } from "../envs/env.js";
import { make } from "../envs/make.js";
import { register } from "../envs/registry.js";
import { Box } from "../envs/spaces/box.js";
import { Discrete } from "../envs/spaces/discrete.js";
import { VectorNormalizeReward } from "../envs/vector/vectorNormalizeReward.js";
import { VectorRecordEpisodeStatistics } from "../envs/vector/vectorRecordEpisodeStatistics.js";
import type { Adam } from "../optim/adam.js";
import { Rng } from "../random/rng.js";
import * as ops from "../tensor/ops.js";
import { noGrad, tensor } from "../tensor/tensor.js";
import { assertClose } from "../tensor/testing.js";
import { evaluatePolicy } from "./common/evaluation.js";
import type { RolloutBuffer } from "./common/rolloutBuffer.js";
import { adaptKlCoef, clippedSurrogateLoss, klPenaltyLoss, PPO, type PPOOptions, valueLoss } from "./ppo.js";

// fixtures/torch/rl.json "ppo": scripts/fixtures/makeRlFixtures.py, torch 1.13 autograd in float64
// from float32 inputs (seed 0): SB3/CleanRL's clipped surrogate, SB3's value loss, the k3 KL penalty.
const c = (
  JSON.parse(readFileSync(new URL("../../fixtures/torch/rl.json", import.meta.url), "utf8")) as {
    ppo: Record<string, number & number[]>;
  }
).ppo;

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

/** Pays 1 every step and never terminates; only the registered time limit (5 steps) truncates. */
class InfiniteHorizonEnv implements Env<Float32Array, number> {
  readonly observationSpace = new Box(-1, 1, [1]);
  readonly actionSpace = new Discrete(2);
  readonly metadata = { renderModes: [], renderFps: 1 };
  reset(): ResetResult<Float32Array> {
    return { observation: Float32Array.of(0.5), info: {} };
  }
  step(): StepResult<Float32Array> {
    return { observation: Float32Array.of(0.5), reward: 1, terminated: false, truncated: false, info: {} };
  }
  render(): string {
    return "";
  }
  close(): void {}
  getState(): unknown {
    return {};
  }
  setState(): void {}
}
register(
  { id: "InfiniteHorizon-v0", entryPoint: () => new InfiniteHorizonEnv(), maxEpisodeSteps: 5 },
  { override: true },
);

/** A tiny, fast PPO on CartPole for the behaviour tests. */
const small: PPOOptions = { numEnvs: 2, nSteps: 32, batchSize: 16, nEpochs: 2, seed: 7 };

/** The protected rollout buffer, for inspection. */
const bufferOf = (model: PPO) => (model as unknown as { buffer: RolloutBuffer }).buffer;
const optimizerOf = (model: PPO) => (model as unknown as { optimizer: Adam }).optimizer;

describe("clippedSurrogateLoss()", () => {
  test("STYLE.md's worked cases: ratio 1.5, ε 0.2 → objective 1.2 for A = +1 and -1.5 for A = -1", () => {
    // by hand: min(1.5·1, clip(1.5, 0.8, 1.2)·1) = 1.2; min(1.5·(-1), 1.2·(-1)) = -1.5 (loss = -objective)
    assertClose([clippedSurrogateLoss(tensor([1.5]), tensor([1]), 0.2).item()], [-1.2]);
    assertClose([clippedSurrogateLoss(tensor([1.5]), tensor([-1]), 0.2).item()], [1.5]);
    // and below the range: ratio 0.5 → min(0.5, 0.8) = 0.5 for A = +1; min(-0.5, -0.8) = -0.8 for A = -1
    assertClose([clippedSurrogateLoss(tensor([0.5]), tensor([1]), 0.2).item()], [-0.5]);
    assertClose([clippedSurrogateLoss(tensor([0.5]), tensor([-1]), 0.2).item()], [0.8]);
  });

  test("value and gradient w.r.t. the log-probabilities and the ratio match torch", () => {
    const logProbs = tensor(c.logProbs, [c.logProbs.length], { requiresGrad: true });
    const ratio = ops.exp(ops.sub(logProbs, tensor(c.oldLogProbs)));
    const loss = clippedSurrogateLoss(ratio, tensor(c.advantages), c.clipRange);
    assertClose([loss.item()], [c.clippedSurrogateLoss], { label: "loss" });
    loss.backward();
    assertClose(logProbs.grad!.values, c.gradLogProbs, { scale: 1e-2, label: "d/dlogp" });

    const ratioLeaf = tensor(c.ratio, [c.ratio.length], { requiresGrad: true });
    clippedSurrogateLoss(ratioLeaf, tensor(c.advantages), c.clipRange).backward();
    assertClose(ratioLeaf.grad!.values, c.gradRatio, { scale: 1e-2, label: "d/dratio" });
  });
});

describe("valueLoss()", () => {
  test("plain and SB3-clipped value losses and their gradients match torch", () => {
    const values = tensor(c.values, [c.values.length], { requiresGrad: true });
    const plain = valueLoss(values, tensor(c.oldValues), tensor(c.returns), null);
    assertClose([plain.item()], [c.valueLoss]);
    plain.backward();
    assertClose(values.grad!.values, c.valueLossGrad, { scale: 1e-2 });
    const values2 = tensor(c.values, [c.values.length], { requiresGrad: true });
    const clipped = valueLoss(values2, tensor(c.oldValues), tensor(c.returns), c.clipRangeVf);
    assertClose([clipped.item()], [c.clippedValueLoss]);
    clipped.backward();
    assertClose(values2.grad!.values, c.clippedValueLossGrad, { scale: 1e-2 });
  });
});

describe("klPenaltyLoss()", () => {
  test("value and gradient w.r.t. the log-probabilities match torch", () => {
    const logProbs = tensor(c.logProbs, [c.logProbs.length], { requiresGrad: true });
    const logRatio = ops.sub(logProbs, tensor(c.oldLogProbs));
    const loss = klPenaltyLoss(ops.exp(logRatio), logRatio, tensor(c.advantages), c.klCoef);
    assertClose([loss.item()], [c.klPenaltyLoss]);
    loss.backward();
    assertClose(logProbs.grad!.values, c.klPenaltyGradLogProbs, { scale: 1e-2 });
  });

  test("adaptKlCoef halves β below d/1.5, doubles it above 1.5·d, keeps it between", () => {
    assert.equal(adaptKlCoef(1, 0.001, 0.01), 0.5);
    assert.equal(adaptKlCoef(1, 0.1, 0.01), 2);
    assert.equal(adaptKlCoef(1, 0.01, 0.01), 1);
  });
});

describe("PPO options", () => {
  const invalid: [string, PPOOptions][] = [
    ["negative learning rate", { learningRate: -1e-3 }],
    ["batchSize larger than the rollout", { numEnvs: 2, nSteps: 8, batchSize: 32 }],
    ["batchSize 1 with normalizeAdvantage", { nSteps: 8, batchSize: 1 }],
    ["unknown objective", { nSteps: 8, batchSize: 8, objective: "trust" as never }],
    ["nEpochs 0", { nSteps: 8, batchSize: 8, nEpochs: 0 }],
    ["gamma above 1", { nSteps: 8, batchSize: 8, gamma: 1.5 }],
    ["clipRange 0", { nSteps: 8, batchSize: 8, clipRange: 0 }],
  ];
  for (const [name, options] of invalid) {
    test(`${name} throws INVALID_OPTION in the constructor`, () => {
      assert.throws(() => new PPO("CartPole-v1", options), { name: "ProximalError", code: "INVALID_OPTION" });
    });
  }

  test("batchSize 1 is fine without advantage normalisation", () => {
    assert.doesNotThrow(() => new PPO("CartPole-v1", { nSteps: 8, batchSize: 1, normalizeAdvantage: false }));
  });
});

describe("PPO", () => {
  test("training twice with the same seed gives identical actions, rewards and weights (SB3 test_deterministic)", async () => {
    const runs = [];
    for (let k = 0; k < 2; k++) {
      const model = new PPO("CartPole-v1", small);
      const losses: number[] = [];
      await model.learn({ totalTimesteps: 192, onUpdate: (s) => void losses.push(s["train/loss"]) });
      const buffer = bufferOf(model);
      runs.push({
        actions: Array.from(buffer.actions),
        rewards: Array.from(buffer.rewards),
        losses,
        weights: Object.values(model.policy.stateDict()).map((t) => Array.from(t.values)),
      });
    }
    assert.deepEqual(runs[0], runs[1]);
    const other = new PPO("CartPole-v1", { ...small, seed: 8 });
    await other.learn({ totalTimesteps: 64 });
    assert.notDeepEqual(Array.from(bufferOf(other).actions), runs[0].actions.slice(0, 64));
  });

  test("an entropy weighed by 0 leaves the graph: the same entropy values, and the same gradient bits as 0 · H in the loss", () => {
    const model = new PPO("CartPole-v1", small);
    const rng = new Rng(3);
    const obs = tensor(Array.from({ length: 6 }, () => Array.from({ length: 4 }, () => rng.normal())));
    const actions = tensor([0, 1, 1, 0, 1, 0]);
    const gradients = (entropyGradient: boolean) => {
      const { values, logProb, entropy } = model.policy.evaluateActions(obs, actions, null, entropyGradient);
      assert.equal(entropy.requiresGrad, entropyGradient);
      let loss = ops.add(ops.mean(logProb), ops.mean(ops.square(values)));
      if (entropyGradient) loss = ops.add(loss, ops.mul(ops.neg(ops.mean(entropy)), 0));
      for (const p of model.policy.parameters()) p.grad = null;
      loss.backward();
      return {
        entropy: Array.from(entropy.values),
        grads: model.policy.parameters().map((p) => Array.from(p.grad?.values ?? [])),
      };
    };
    const withGraph = gradients(true);
    const without = gradients(false);
    assert.ok(withGraph.grads.every((g) => g.length > 0));
    assert.deepEqual(without, withGraph);
  });

  test("a saved and loaded model predicts identically, with the same generator state and optimizer state", async () => {
    const dir = await mkdtemp(join(tmpdir(), "proximal-ppo-"));
    try {
      const model = new PPO("CartPole-v1", small);
      await model.learn({ totalTimesteps: 128 });
      await model.save(dir);
      const loaded = await PPO.load(dir);
      const obs = Float32Array.of(0.01, -0.2, 0.03, 0.1, -0.02, 0.5, 0.1, -0.3, 0, 0, 0, 0);
      assert.deepEqual(
        Array.from(loaded.predict(obs, { deterministic: true })),
        Array.from(model.predict(obs, { deterministic: true })),
      );
      // both generators are at the saved state, so sampling draws the same actions
      for (let k = 0; k < 5; k++)
        assert.deepEqual(Array.from(loaded.predict(obs)), Array.from(model.predict(obs)));
      const saved = optimizerOf(model).getState();
      const restored = optimizerOf(loaded).getState();
      assert.deepEqual(restored.json, saved.json);
      assert.deepEqual(
        Object.fromEntries(Object.entries(restored.tensors).map(([k, t]) => [k, Array.from(t.values)])),
        Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, Array.from(t.values)])),
      );
      assert.equal(loaded.numTimesteps, model.numTimesteps);
      // and it can keep training
      await loaded.learn({ totalTimesteps: 192, resetNumTimesteps: false });
      assert.equal(loaded.numTimesteps, 192);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("loading with an env of different spaces fails clearly", async () => {
    const dir = await mkdtemp(join(tmpdir(), "proximal-ppo-"));
    try {
      const model = new PPO("CartPole-v1", small);
      await model.save(dir);
      await assert.rejects(PPO.load(dir, { env: "Acrobot-v1" }), (e: Error & { code: string }) => {
        assert.equal(e.code, "UNSUPPORTED_SPACE");
        assert.match(e.message, /Use the env the model was trained on/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("truncation bootstraps: the critic learns V(start) within 1 of 1/(1-γ) on an env that only truncates (SB3 test_infinite_horizon)", async () => {
    // γ = 0.9: the true value of the never-ending reward stream is 1/(1 - 0.9) = 10. Without the
    // bootstrap the 5-step episodes would teach V ≈ Σ_{k<5} 0.9^k ≈ 4.1 at the start.
    const gamma = 0.9;
    const model = new PPO("InfiniteHorizon-v0", {
      gamma,
      nSteps: 64,
      batchSize: 64,
      nEpochs: 10,
      learningRate: 3e-3,
      maxGradNorm: Number.POSITIVE_INFINITY,
      seed: 0,
    });
    await model.learn({ totalTimesteps: 64 * 60 });
    const start = noGrad(() => model.policy.predictValues(tensor([0.5], [1, 1])).item());
    assert.ok(Math.abs(start - 1 / (1 - gamma)) < 1, `V(start) = ${start}, expected 10 ± 1`);
  });

  test("episode returns come from an inner statistics wrapper, below reward normalisation", async () => {
    // 5-step episodes paying 1 per step: the raw return is exactly 5; normalised rewards are not 1
    const raw = new VectorRecordEpisodeStatistics(
      make("InfiniteHorizon-v0", { numEnvs: 2, seed: 0, autoresetMode: "same-step" }),
    );
    const model = new PPO(new VectorNormalizeReward(raw, { gamma: 0.9 }), { nSteps: 16, batchSize: 32 });
    let stats: Record<string, number> = {};
    await model.learn({ totalTimesteps: 64, onUpdate: (s) => void (stats = s) });
    assert.equal(stats["rollout/episodeReturn"], 5);
    assert.equal(stats["rollout/episodes"], 12);
  });
});

/** About 7× uniform random play (≈ 21-22) and well below every measured run (lowest 240.6, seed 3). */
const CARTPOLE_THRESHOLD = 150;
const PENDULUM_STEPS = 40_960;
const PENDULUM_MARGIN = 500;
const PENDULUM_OPTIONS: PPOOptions = {
  numEnvs: 8,
  nSteps: 256,
  batchSize: 128,
  gamma: 0.9,
  gaeLambda: 0.95,
  nEpochs: 10,
  learningRate: 1e-3,
  seed: 0,
};

describe("PPO learning", () => {
  test("evaluatePolicy reports the trained model's CartPole-v1 return, far above a random policy's", {
    skip: quick,
  }, async () => {
    // RL Zoo's CartPole config (presets/ppo/rlzoo.yaml) for 16k instead of 100k steps, about 2 s.
    // Measured 2026-12-01, deterministic eval of 10 episodes from seed 100: 417.9 for seed 0, and
    // 400.8 / 396.4 / 240.6 / 500 for seeds 1-4, so the threshold holds for every seed tried, not only
    // for seed 0's trajectory (at 8k steps seed 1 reached only 133). Uniform random play: 20.9.
    const coin = new Rng(0);
    const random = await evaluatePolicy({ predict: () => Int32Array.of(coin.integer(2)) }, "CartPole-v1", {
      episodes: 10,
      seed: 100,
    });
    assert.ok(random.meanReturn < CARTPOLE_THRESHOLD / 3, `random policy ${random.meanReturn}`);
    const model = new PPO("CartPole-v1", {
      numEnvs: 8,
      nSteps: 32,
      batchSize: 256,
      gaeLambda: 0.8,
      gamma: 0.98,
      nEpochs: 20,
      entCoef: 0,
      learningRate: { schedule: "linear", initial: 1e-3 },
      clipRange: { schedule: "linear", initial: 0.2 },
      seed: 0,
    });
    await model.learn({ totalTimesteps: 16_000 });
    const result = await evaluatePolicy(model, "CartPole-v1", { episodes: 10, seed: 100 });
    assert.equal(result.episodes.length, 10);
    for (const episode of result.episodes) assert.equal(episode.return, episode.length); // +1 per step
    assert.ok(
      result.meanReturn >= CARTPOLE_THRESHOLD,
      `mean return ${result.meanReturn}, expected >= ${CARTPOLE_THRESHOLD} (random play: ${random.meanReturn})`,
    );
  });

  test("improves Pendulum-v1 over its untrained return", { skip: quick }, async () => {
    // RL Zoo's Pendulum values (γ 0.9, λ 0.95, lr 1e-3, 10 epochs) on 8 envs x 256 steps, batch 128,
    // without gSDE. Measured 2026-11-21, seed 0: -1402 untrained, -480 after 40,960 steps (+922),
    // about 4 s; the margin below leaves room for about half of that gain.
    const options: PPOOptions = PENDULUM_OPTIONS;
    const untrained = new PPO("Pendulum-v1", options);
    const before = await evaluatePolicy(untrained, "Pendulum-v1", { episodes: 10, seed: 100 });
    const model = new PPO("Pendulum-v1", options);
    await model.learn({ totalTimesteps: PENDULUM_STEPS });
    const after = await evaluatePolicy(model, "Pendulum-v1", { episodes: 10, seed: 100 });
    assert.ok(
      after.meanReturn > before.meanReturn + PENDULUM_MARGIN,
      `return ${after.meanReturn} after training vs ${before.meanReturn} before; expected +${PENDULUM_MARGIN}`,
    );
  });
});
