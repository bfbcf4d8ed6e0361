import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { GRPO_CONFIG_KEYS, type GRPOConfig, resolveGRPOConfig } from "./grpoConfig.js";

const rejects = (config: GRPOConfig, pattern: RegExp): void => {
  assert.throws(
    () => resolveGRPOConfig(config),
    (e: unknown) => {
      assert.ok(e instanceof ProximalError && e.code === "INVALID_OPTION", String(e));
      assert.match(e.message, pattern);
      return true;
    },
  );
};

describe("resolveGRPOConfig()", () => {
  test("defaults are TRL's GRPOConfig ones (lr 1e-6, G 8, ε 0.2, β 0) with the GRPO paper's loss", () => {
    const c = resolveGRPOConfig();
    assert.equal(c.learningRate, 1e-6);
    assert.equal(c.numGenerations, 8);
    assert.equal(c.epsilon, 0.2);
    assert.equal(c.epsilonHigh, 0.2); // null resolves to epsilon: symmetric
    assert.equal(c.beta, 0);
    assert.equal(c.advantageEstimator, "grpo");
    assert.equal(c.lossAggregation, "seq-mean-token-mean");
    assert.equal(c.importanceSamplingLevel, "token");
    assert.equal(c.dualClip, null);
    assert.equal(c.perDeviceTrainBatchSize, 8);
  });

  test("epsilonHigh set apart from epsilon gives DAPO's clip-higher", () => {
    const c = resolveGRPOConfig({ epsilon: 0.2, epsilonHigh: 0.28 });
    assert.equal(c.epsilonHigh, 0.28);
  });

  test("every option name is listed", () => {
    for (const key of ["numGenerations", "epsilonHigh", "dualClip", "overlongBuffer", "learningRate"])
      assert.ok(GRPO_CONFIG_KEYS.includes(key), key);
  });

  test("an unknown option suggests the closest name", () => {
    rejects(
      { numGeneration: 4 } as GRPOConfig,
      /unknown option "numGeneration"\. Did you mean "numGenerations"\?/,
    );
  });

  test("an unknown choice lists the valid ones and suggests the closest", () => {
    rejects({ lossAggregation: "token_mean" } as unknown as GRPOConfig, /Did you mean "token-mean"\?/);
    rejects({ advantageEstimator: "reinforce" } as unknown as GRPOConfig, /"reinforce\+\+"/);
  });

  test("group estimators need numGenerations >= 2; reinforce++ does not", () => {
    for (const advantageEstimator of ["grpo", "drgrpo", "rloo", "reinforce++_baseline", "dcpo"] as const)
      rejects({ advantageEstimator, numGenerations: 1 }, /needs at least 2/);
    assert.equal(
      resolveGRPOConfig({ advantageEstimator: "reinforce++", numGenerations: 1 }).numGenerations,
      1,
    );
  });

  test("dynamic sampling needs groups of at least 2", () => {
    rejects(
      { advantageEstimator: "reinforce++", numGenerations: 1, dynamicSampling: true },
      /dynamicSampling/,
    );
  });

  test("the generation batch must split into groups", () => {
    rejects({ numGenerations: 3, perDeviceTrainBatchSize: 8 }, /multiple of 3/);
    assert.equal(
      resolveGRPOConfig({ numGenerations: 16, perDeviceTrainBatchSize: 8, stepsPerGeneration: 2 })
        .numGenerations,
      16,
    );
  });

  test("DCPO bounds need a per-token ratio", () => {
    rejects({ clipMode: "dcpo", importanceSamplingLevel: "sequence" }, /sequence-token/);
    assert.equal(
      resolveGRPOConfig({ clipMode: "dcpo", importanceSamplingLevel: "sequence-token" }).clipMode,
      "dcpo",
    );
  });

  test("ranges: ε in [0, 1), dual-clip c > 1, overlong buffer within the completion budget", () => {
    rejects({ epsilon: 1 }, /epsilon must be in \[0, 1\)/);
    rejects({ dualClip: 1 }, /dualClip must be > 1/);
    rejects({ maxCompletionLength: 16, overlongBuffer: 20 }, /overlongBuffer/);
    rejects({ topP: 0 }, /topP/);
    rejects({ rewardWeights: [1, Number.NaN] }, /rewardWeights/);
  });
});
