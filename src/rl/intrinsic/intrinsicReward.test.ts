/**
 * The `intrinsicReward` option through the shared cores: "none" changes nothing, diagnostics reach
 * `onUpdate`, checkpoints resume bit-exactly, RND's intrinsic stream ignores episode ends, and the
 * modules do what their papers say (novel states pay more; the forward model learns).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Box } from "../../envs/spaces/box.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { Rng } from "../../random/rng.js";
import { Tensor } from "../../tensor/tensor.js";
import { A2C } from "../a2c.js";
import { A3C } from "../a3c.js";
import { computeGae } from "../common/gae.js";
import { RolloutBuffer } from "../common/rolloutBuffer.js";
import type { DQNOptions } from "../dqn.js";
import { DQN } from "../dqn.js";
import type { PPOOptions } from "../ppo.js";
import { PPO } from "../ppo.js";
import { ICM } from "./icm.js";
import { intrinsicQTargets } from "./intrinsicReplay.js";
import type { IntrinsicRewardOptions } from "./intrinsicReward.js";
import { resolveIntrinsicOptions } from "./intrinsicReward.js";
import { IntrinsicRollout } from "./intrinsicRollout.js";
import { RND } from "./rnd.js";

const PPO_SMALL: PPOOptions = {
  numEnvs: 2,
  nSteps: 32,
  batchSize: 32,
  nEpochs: 2,
  policy: { netArch: [16] },
};
const DQN_SMALL: DQNOptions = {
  numEnvs: 2,
  learningStarts: 32,
  bufferSize: 500,
  batchSize: 16,
  trainFreq: 4,
  gradientSteps: 1,
  targetUpdateInterval: 40,
  learningRate: 1e-3,
  policy: { netArch: [16] },
};
const SMALL_MODULE: IntrinsicRewardOptions = { hiddenSizes: [16], featureSize: 8, headHiddenSize: 16 };

function weights(model: { policy: { stateDict(): Record<string, { values: Float32Array }> } }): number[][] {
  return Object.values(model.policy.stateDict()).map((t) => Array.from(t.values));
}

function intrinsicWeights(model: PPO | DQN): number[][] {
  const state = model.intrinsic!.state();
  return Object.keys(state.tensors)
    .sort()
    .map((k) => Array.from(state.tensors[k].values));
}

describe('intrinsicReward "none"', () => {
  test("PPO and DQN are bit-identical to runs without the option", async () => {
    const a = new PPO("CartPole-v1", { ...PPO_SMALL, seed: 3 });
    const b = new PPO("CartPole-v1", { ...PPO_SMALL, seed: 3, intrinsicReward: { type: "none", coef: 5 } });
    await a.learn({ totalTimesteps: 128 });
    await b.learn({ totalTimesteps: 128 });
    assert.deepEqual(weights(b), weights(a));
    assert.equal(b.intrinsic, null);
    const c = new DQN("CartPole-v1", { ...DQN_SMALL, seed: 3 });
    const d = new DQN("CartPole-v1", { ...DQN_SMALL, seed: 3, intrinsicReward: { type: "none" } });
    await c.learn({ totalTimesteps: 120 });
    await d.learn({ totalTimesteps: 120 });
    assert.deepEqual(weights(d), weights(c));
  });
});

describe("intrinsicReward diagnostics", () => {
  const cases: [string, () => Promise<Record<string, number>>, string[]][] = [
    [
      "PPO + RND",
      () =>
        lastStats(
          new PPO("MountainCar-v0", { ...PPO_SMALL, intrinsicReward: { type: "rnd", ...SMALL_MODULE } }),
        ),
      ["intrinsic/rewardMean", "intrinsic/predictorLoss", "intrinsic/valueLoss", "intrinsic/returnStd"],
    ],
    [
      "A2C + ICM",
      () =>
        lastStats(
          new A2C("MountainCar-v0", {
            numEnvs: 2,
            nSteps: 16,
            intrinsicReward: { type: "icm", ...SMALL_MODULE },
          }),
        ),
      ["intrinsic/rewardMean", "intrinsic/forwardLoss", "intrinsic/inverseLoss"],
    ],
    [
      "DQN + RND",
      () =>
        lastStats(
          new DQN("FrozenLake-v1", { ...DQN_SMALL, intrinsicReward: { type: "rnd", ...SMALL_MODULE } }),
        ),
      ["intrinsic/rewardMean", "intrinsic/predictorLoss"],
    ],
  ];
  for (const [name, run, keys] of cases) {
    test(`${name} reports ${keys.join(", ")} in onUpdate`, async () => {
      const stats = await run();
      for (const key of keys) assert.ok(Number.isFinite(stats[key]), `${key} = ${stats[key]}`);
    });
  }

  async function lastStats(model: PPO | A2C | DQN): Promise<Record<string, number>> {
    let last: Record<string, number> = {};
    await model.learn({ totalTimesteps: 160, onUpdate: (s) => void (last = s) });
    return last;
  }
});

describe("intrinsicReward checkpoints", () => {
  for (const type of ["rnd", "icm"] as const) {
    test(`PPO + ${type}: stopped, saved and resumed gives bit-identical policy and module`, async () => {
      const options: PPOOptions = { ...PPO_SMALL, seed: 4, intrinsicReward: { type, ...SMALL_MODULE } };
      const total = 256;
      const straight = new PPO("MountainCar-v0", options);
      await straight.learn({ totalTimesteps: total });
      const first = new PPO("MountainCar-v0", options);
      await first.learn({ totalTimesteps: total, onUpdate: (s) => s["time/timesteps"] < 128 });
      const dir = await mkdtemp(join(tmpdir(), "proximal-intrinsic-"));
      try {
        await first.save(dir);
        const resumed = await PPO.load(dir, { restoreEnv: true });
        await resumed.learn({ totalTimesteps: total, resetNumTimesteps: false });
        assert.deepEqual(weights(resumed), weights(straight));
        assert.deepEqual(intrinsicWeights(resumed), intrinsicWeights(straight));
        assert.deepEqual(resumed.intrinsic!.state().json, straight.intrinsic!.state().json);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test("DQN + RND with its replay buffer: resumed bit-identically", async () => {
    const options: DQNOptions = {
      ...DQN_SMALL,
      seed: 6,
      saveReplayBuffer: true,
      intrinsicReward: { type: "rnd", ...SMALL_MODULE },
    };
    const total = 200;
    const straight = new DQN("FrozenLake-v1", options);
    await straight.learn({ totalTimesteps: total });
    const first = new DQN("FrozenLake-v1", options);
    await first.learn({ totalTimesteps: total, onUpdate: (s) => s["time/timesteps"] < 100 });
    const dir = await mkdtemp(join(tmpdir(), "proximal-intrinsic-"));
    try {
      await first.save(dir);
      const resumed = await DQN.load(dir, { restoreEnv: true });
      await resumed.learn({ totalTimesteps: total, resetNumTimesteps: false });
      assert.deepEqual(weights(resumed), weights(straight));
      assert.deepEqual(intrinsicWeights(resumed), intrinsicWeights(straight));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("intrinsicReward validation", () => {
  test("DQN refuses nStep > 1, A3C refuses the option", () => {
    assert.throws(() => new DQN("CartPole-v1", { nStep: 3, intrinsicReward: { type: "rnd" } }), {
      code: "INVALID_OPTION",
    });
    assert.throws(() => new A3C("CartPole-v1", { intrinsicReward: { type: "icm" } }), {
      code: "INVALID_OPTION",
    });
  });

  test("ICM refuses MultiBinary-like spaces it cannot invert", async () => {
    const { MultiBinary } = await import("../../envs/spaces/multiBinary.js");
    const options = resolveIntrinsicOptions({ type: "icm" })!;
    assert.throws(() => new ICM(options, new Box(-1, 1, [2]), new MultiBinary(3), new Rng(0)), {
      code: "UNSUPPORTED_SPACE",
    });
  });
});

describe("the episodic option", () => {
  test("defaults: ICM episodic (one stream), RND non-episodic; RND refuses episodic: true", () => {
    assert.equal(resolveIntrinsicOptions({ type: "icm" })!.episodic, true);
    assert.equal(resolveIntrinsicOptions({ type: "rnd" })!.episodic, false);
    const box = new Box(-1, 1, [2]);
    const icm = (episodic?: boolean) =>
      new ICM(
        resolveIntrinsicOptions({ type: "icm", episodic, ...SMALL_MODULE })!,
        box,
        new Discrete(2),
        new Rng(0),
      );
    assert.equal(icm().separateStream, false);
    assert.equal(icm(false).separateStream, true);
    assert.throws(() => resolveIntrinsicOptions({ type: "rnd", episodic: true }), {
      code: "INVALID_OPTION",
      message: /episodic: true is not implemented for RND/,
    });
  });
});

const NON_EPISODIC: [string, IntrinsicRewardOptions][] = [
  ["RND's intrinsic stream", { type: "rnd" }],
  ["ICM with episodic: false", { type: "icm", episodic: false }],
];
for (const [name, method] of NON_EPISODIC)
  describe(name, () => {
    test("is non-episodic: episode ends do not stop the intrinsic return, and A = c_ext·A_ext + c_int·A_int", () => {
      const space = new Box(-1, 1, [2]);
      const options = resolveIntrinsicOptions({ ...method, coef: 0.5, extrinsicCoef: 2, ...SMALL_MODULE })!;
      const nSteps = 4;
      const numEnvs = 2;
      const rollout = new IntrinsicRollout(options, space, new Discrete(2), new Rng(1), nSteps, numEnvs, [8]);
      const buffer = new RolloutBuffer(nSteps, numEnvs, 2, 1, "int32");
      const rng = new Rng(2);
      const obs = () => Float32Array.from({ length: numEnvs * 2 }, () => rng.normal());
      for (let t = 0; t < nSteps; t++) {
        // every step ends an episode: an episodic stream would never bootstrap
        buffer.add(
          obs(),
          Int32Array.of(0, 1),
          Float32Array.of(-1, -1),
          Uint8Array.of(1, 1),
          Float32Array.of(0, 0),
          new Float32Array(2),
        );
        rollout.recordStep(t, obs());
      }
      const last = obs();
      rollout.computeReturnsAndAdvantage(buffer, last, Float32Array.of(0, 0), 0.99, 0.95);
      // rebuild the intrinsic stream by hand from the module and critic as they are after the rollout
      const module = rollout.module;
      const bonus = module.scaleRewards(
        module.rewards(buffer.observations, buffer.actions, rollout.nextObservations, 8),
      );
      const values = (x: Float32Array, n: number) =>
        Float32Array.from(rollout.critic!.forward(new Tensor(x.slice(0, n * 2), [n, 2])).values);
      const intrinsic = computeGae({
        rewards: bonus,
        values: values(buffer.observations, 8),
        dones: new Uint8Array(8),
        lastValues: values(last, 2),
        numEnvs,
        gamma: 0.99,
        gaeLambda: 0.95,
      });
      const extrinsic = Float32Array.from(buffer.rewards); // dones everywhere, values 0: A_ext = r
      for (let i = 0; i < 8; i++) {
        assert.ok(Math.abs(buffer.advantages[i] - (2 * extrinsic[i] + 0.5 * intrinsic.advantages[i])) < 1e-5);
      }
      // and the non-episodic advantages differ from episodic ones (the bootstrap matters)
      assert.ok(
        intrinsic.advantages.some(
          (a, i) => Math.abs(a - (bonus[i] - values(buffer.observations, 8)[i])) > 1e-6,
        ),
      );
    });
  });

describe("RND's intrinsic stream in DQN", () => {
  test("targets are r_int + γ_int·max_a Q_int_target(s', a) on every row, with no done mask", () => {
    const targets = intrinsicQTargets(
      Float32Array.of(0.5, 0, 1),
      Float32Array.of(1, 2, -1, -3, 0, 0),
      2,
      0.9,
    );
    assert.deepEqual(Array.from(targets), [0.5 + 0.9 * 2, 0.9 * -1, 1].map(Math.fround));
  });

  test("Q_int learns from the bonus while replayed rewards stay extrinsic; exploring acts on Q_ext + coef·Q_int, the greedy policy on Q_ext", async () => {
    const coef = 5;
    const model = new DQN("FrozenLake-v1", {
      ...DQN_SMALL,
      seed: 4,
      intrinsicReward: { type: "rnd", coef, ...SMALL_MODULE },
    });
    const intrinsic = model.intrinsic!;
    assert.equal(intrinsic.separateStream, true);
    const before = intrinsicWeights(model);
    await model.learn({ totalTimesteps: 200 });
    const stats = intrinsic.state();
    assert.ok(Object.keys(stats.tensors).some((k) => k.startsWith("intrinsicQ.qNet.")));
    assert.notDeepEqual(intrinsicWeights(model), before, "Q_int and the predictor trained");
    const batch = model.replayBuffer.sample(8, new Rng(9));
    const augmented = intrinsic.augment(batch, new Rng(10));
    assert.deepEqual(Array.from(augmented.rewards), Array.from(batch.rewards));
    // all 16 states (Discrete observations; the networks one-hot them): exploration follows the
    // combined values, evaluation Q_ext alone
    const observations = Float32Array.from({ length: 16 }, (_, s) => s);
    const qExt = model.policy.qValues(observations, 16);
    const combined = intrinsic.actingValues(qExt, observations, 16);
    const argmax = (q: Float32Array, s: number) => {
      let best = 0;
      for (let a = 1; a < 4; a++) if (q[s * 4 + a] > q[s * 4 + best]) best = a;
      return best;
    };
    model.explorationRate = 0;
    const explore = model.predict(observations);
    const greedy = model.predict(observations, { deterministic: true });
    for (let s = 0; s < 16; s++) {
      assert.equal(explore[s], argmax(combined, s));
      assert.equal(greedy[s], argmax(qExt, s));
    }
    assert.ok(
      Array.from(explore).some((a, s) => a !== greedy[s]),
      "with coef 5 the bonus changes some exploring action",
    );
  });

  test("ICM, and RND under C51 (distributional Q-values), keep the one-stream bonus", () => {
    const icm = new DQN("FrozenLake-v1", { ...DQN_SMALL, intrinsicReward: { type: "icm", ...SMALL_MODULE } });
    assert.equal(icm.intrinsic!.separateStream, false);
    const c51 = new DQN("FrozenLake-v1", {
      ...DQN_SMALL,
      distributional: { atoms: 11 },
      intrinsicReward: { type: "rnd", ...SMALL_MODULE },
    });
    assert.equal(c51.intrinsic!.separateStream, false);
  });
});

describe("the modules", () => {
  test("RND pays more for novel states than for the states it trained on", () => {
    const options = resolveIntrinsicOptions({
      type: "rnd",
      learningRate: 1e-3,
      updateProportion: 1,
      ...SMALL_MODULE,
    })!;
    const rnd = new RND(options, new Box(-10, 10, [2]), new Discrete(2), new Rng(0));
    const rng = new Rng(1);
    const seen = Float32Array.from({ length: 64 * 2 }, () => rng.normal(0, 0.3));
    const novel = Float32Array.from({ length: 64 * 2 }, () => rng.normal(4, 0.3));
    rnd.observe(seen, 64);
    rnd.observe(novel, 64); // statistics cover both, so only the predictor tells them apart
    for (let i = 0; i < 300; i++) rnd.update(seen, new Int32Array(64), seen, 64, rng);
    const mean = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / x.length;
    const onSeen = mean(rnd.rewards(seen, new Int32Array(64), seen, 64));
    const onNovel = mean(rnd.rewards(novel, new Int32Array(64), novel, 64));
    assert.ok(onNovel > 5 * onSeen, `novel ${onNovel} vs seen ${onSeen}`);
  });

  test("ICM's forward and inverse losses fall on a fixed batch", () => {
    const options = resolveIntrinsicOptions({ type: "icm", ...SMALL_MODULE })!;
    const icm = new ICM(options, new Box(-1, 1, [3]), new Discrete(2), new Rng(0));
    const rng = new Rng(1);
    const obs = Float32Array.from({ length: 32 * 3 }, () => rng.normal());
    const actions = Int32Array.from({ length: 32 }, () => rng.integer(2));
    // the next state reveals the action: s' = s + (a ? +1 : -1) on the first component
    const next = obs.slice();
    for (let b = 0; b < 32; b++) next[b * 3] += actions[b] === 1 ? 1 : -1;
    const first = icm.update(obs, actions, next, 32, rng);
    let last = first;
    for (let i = 0; i < 200; i++) last = icm.update(obs, actions, next, 32, rng);
    assert.ok(
      last["intrinsic/inverseLoss"] < 0.5 * first["intrinsic/inverseLoss"],
      JSON.stringify([first, last]),
    );
    assert.ok(last["intrinsic/forwardLoss"] < first["intrinsic/forwardLoss"], JSON.stringify([first, last]));
  });
});
