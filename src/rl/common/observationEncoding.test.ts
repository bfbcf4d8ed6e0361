import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Box } from "../../envs/spaces/box.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { DQN } from "../dqn.js";
import { encodeObservations, networkInputSize } from "./observationEncoding.js";
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
