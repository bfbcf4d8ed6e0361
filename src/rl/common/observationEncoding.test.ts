import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Box } from "../../envs/spaces/box.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { Tensor } from "../../tensor/tensor.js";
import { QCriticPolicy } from "../actorCritic.js";
import { DQN } from "../dqn.js";
import { Discriminator } from "../imitation/discriminator.js";
import type { ICM } from "../intrinsic/icm.js";
import { PPO } from "../ppo.js";
import { encodeObservations, networkInputSize } from "./observationEncoding.js";
import { ActorCriticPolicy } from "./policies.js";
import { QPolicy } from "./qPolicy.js";

describe("observation encoding", () => {
  test("a Discrete observation is one-hot (start subtracted); a Box one is read as stored", () => {
    assert.equal(networkInputSize(new Discrete(4)), 4);
    assert.deepEqual(
      Array.from(encodeObservations(new Discrete(4), Float32Array.of(2, 0, 3), 3)),
      [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1],
    );
    assert.deepEqual(
      Array.from(encodeObservations(new Discrete(3, -1), Float32Array.of(-1, 1), 2)),
      [1, 0, 0, 0, 0, 1],
    );
    const box = new Box(-1, 1, [2]);
    const stored = Float32Array.of(0.5, -0.5);
    assert.equal(networkInputSize(box), 2);
    assert.equal(encodeObservations(box, stored, 1), stored);
  });

  test("an index outside the space is INVALID_ARGUMENT naming the range", () => {
    for (const bad of [4, -1, 1.5]) {
      assert.throws(
        () => encodeObservations(new Discrete(4), Float32Array.of(bad), 1),
        (e: unknown) =>
          e instanceof ProximalError && e.code === "INVALID_ARGUMENT" && /0\.\.3/.test(e.message),
      );
    }
  });

  test("a Q-network over Discrete observations reads them one-hot: one weight column per state", () => {
    const policy = new QPolicy(new Discrete(64), new Discrete(4), new Rng(0), { netArch: [8] });
    assert.equal(policy.observationSize, 1);
    assert.equal(policy.inputSize, 64);
    const weight = policy.qNet.stateDict()["mlp.layers.0.weight"];
    assert.deepEqual(weight.shape, [8, 64]);
    // state 17's Q-values come from column 17 alone: zero it and only that state's values change
    const before = policy.qValues(Float32Array.of(16, 17, 18), 3);
    const w = weight.values;
    for (let row = 0; row < 8; row++) w[row * 64 + 17] = 0;
    const after = policy.qValues(Float32Array.of(16, 17, 18), 3);
    assert.deepEqual(Array.from(after.subarray(0, 4)), Array.from(before.subarray(0, 4)));
    assert.deepEqual(Array.from(after.subarray(8, 12)), Array.from(before.subarray(8, 12)));
    assert.notDeepEqual(Array.from(after.subarray(4, 8)), Array.from(before.subarray(4, 8)));
  });

  test("actor-critic policies read Discrete observations one-hot too (actor, critic and ActorCritic's Q-critic)", () => {
    const policy = new ActorCriticPolicy(new Discrete(16), new Discrete(4), new Rng(0), { netArch: [8] });
    assert.equal(policy.observationSize, 1);
    assert.equal(policy.inputSize, 16);
    assert.deepEqual(policy.stateDict()["actor.layers.0.weight"].shape, [8, 16]);
    assert.deepEqual(policy.stateDict()["critic.layers.0.weight"].shape, [8, 16]);
    const qCritic = new QCriticPolicy(new Discrete(16), new Discrete(4), new Rng(0), { netArch: [8] });
    assert.deepEqual(qCritic.stateDict()["qCritic.layers.0.weight"].shape, [8, 16]);
    // state 5's outputs come from column 5 alone: zero it and only that row changes
    const rows = new Tensor(Float32Array.of(4, 5, 6), [3, 1]);
    const values = () => Array.from(policy.predictValues(rows).values);
    const before = values();
    const w = policy.stateDict()["critic.layers.0.weight"].values;
    for (let r = 0; r < 8; r++) w[r * 16 + 5] = 0;
    const after = values();
    assert.equal(after[0], before[0]);
    assert.equal(after[2], before[2]);
    assert.notEqual(after[1], before[1]);
  });

  test("PPO on FrozenLake-v1 trains and acts through the one-hot input", async () => {
    const model = new PPO("FrozenLake-v1", { nSteps: 32, batchSize: 32, nEpochs: 1, seed: 1 });
    await model.learn({ totalTimesteps: 64 });
    const actions = model.predict(
      Float32Array.from({ length: 16 }, (_, s) => s),
      { deterministic: true },
    );
    assert.equal(actions.length, 16);
    assert.ok(actions.every((a) => a >= 0 && a < 4));
  });

  test("ICM's encoder, RND's intrinsic critic and GAIL's discriminator read Discrete observations one-hot too", async () => {
    const icm = new PPO("FrozenLake-v1", {
      nSteps: 32,
      batchSize: 32,
      nEpochs: 1,
      seed: 1,
      intrinsicReward: { type: "icm", coef: 1 },
    });
    assert.ok(icm.intrinsic !== null);
    const networks = (icm.intrinsic.module as ICM).networks;
    assert.deepEqual(networks.encoder.stateDict()["layers.0.weight"].shape.at(-1), 16);
    const rnd = new PPO("FrozenLake-v1", {
      nSteps: 32,
      batchSize: 32,
      nEpochs: 1,
      seed: 1,
      intrinsicReward: { type: "rnd", coef: 1 },
    });
    assert.equal(rnd.intrinsic?.critic?.stateDict()["layers.0.weight"].shape.at(-1), 16);
    await icm.learn({ totalTimesteps: 64 });
    await rnd.learn({ totalTimesteps: 64 });
    const discriminator = new Discriminator(new Discrete(16), new Discrete(4), new Rng(0));
    const row = Array.from(discriminator.inputs(Float32Array.of(3), Int32Array.of(1), 1).values);
    assert.equal(row.length, 20);
    assert.deepEqual(
      row.flatMap((v, i) => (v === 1 ? [i] : [])),
      [3, 17],
    );
  });

  test("DQN on FrozenLake-v1 trains and acts through the one-hot input", async () => {
    const model = new DQN("FrozenLake-v1", {
      learningStarts: 50,
      batchSize: 16,
      policy: { netArch: [16] },
      seed: 1,
    });
    await model.learn({ totalTimesteps: 200 });
    const actions = model.predict(
      Float32Array.from({ length: 16 }, (_, s) => s),
      { deterministic: true },
    );
    assert.equal(actions.length, 16);
    assert.ok(actions.every((a) => a >= 0 && a < 4));
  });
});
