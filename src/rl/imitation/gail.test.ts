import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { make } from "../../envs/make.js";
import { tensor } from "../../tensor/tensor.js";
import { assertClose, finiteDifference } from "../../tensor/testing.js";
import type { UpdateStats } from "../common/onPolicyAlgorithm.js";
import { recordDemonstrations } from "./demonstrations.js";
import { discriminatorLoss, GAIL, gailReward, logitReward } from "./gail.js";
import { cartPoleExpert } from "./imitationTestUtil.test.util.js";

// fixtures/torch/imitation.json "discriminator": scripts/fixtures/makeImitationFixtures.py, torch 1.13
// in float64 from float32 logits (seed 0): binary_cross_entropy_with_logits over the concatenated
// batch (expert 1, policy 0), −log(1 − σ(l)) and log σ(l) − log(1 − σ(l))
const fx = (
  JSON.parse(readFileSync(new URL("../../../fixtures/torch/imitation.json", import.meta.url), "utf8")) as {
    discriminator: Record<string, number & number[]>;
  }
).discriminator;

describe("discriminatorLoss()", () => {
  test("value and gradients match PyTorch's binary_cross_entropy_with_logits", () => {
    const expert = tensor(Float32Array.from(fx.expertLogits)).requireGrad();
    const policy = tensor(Float32Array.from(fx.policyLogits)).requireGrad();
    const loss = discriminatorLoss(expert, policy);
    loss.backward();
    assertClose([loss.item()], [fx.loss], { rtol: 1e-5 });
    assertClose(expert.grad!.values, fx.gradExpert, { rtol: 1e-4, atol: 1e-7 });
    assertClose(policy.grad!.values, fx.gradPolicy, { rtol: 1e-4, atol: 1e-7 });
  });

  test("gradient matches central finite differences", () => {
    const logits = Float32Array.from([...fx.expertLogits, ...fx.policyLogits]);
    const n = fx.expertLogits.length;
    const f = (x: Float32Array) => discriminatorLoss(tensor(x.slice(0, n)), tensor(x.slice(n))).item();
    const expert = tensor(logits.slice(0, n)).requireGrad();
    const policy = tensor(logits.slice(n)).requireGrad();
    discriminatorLoss(expert, policy).backward();
    const numeric = finiteDifference(f, logits, 1e-2);
    assertClose([...expert.grad!.values, ...policy.grad!.values], numeric, { rtol: 2e-2, atol: 2e-4 });
  });

  test("by hand: all logits 0 (D = ½ everywhere) give ln 2", () => {
    assertClose([discriminatorLoss(tensor([0, 0]), tensor([0])).item()], [Math.LN2], { rtol: 1e-6 });
  });
});

describe("gailReward() and logitReward()", () => {
  test("match −log(1 − D) and log D − log(1 − D) from PyTorch", () => {
    const logits = tensor(Float32Array.from(fx.policyLogits));
    assertClose(gailReward(logits).values, fx.gailReward, { rtol: 1e-5, atol: 1e-7 });
    assertClose(logitReward(logits).values, fx.logitReward, { rtol: 1e-5, atol: 1e-6 });
  });
});

describe("GAIL", () => {
  test("its discriminator learns to tell the expert's pairs from a random policy's", async () => {
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 2, seed: 0 });
    // learning rate 0 freezes PPO's nearly uniform initial policy: only the discriminator learns
    const model = new GAIL("CartPole-v1", {
      demonstrations: demos,
      seed: 0,
      numEnvs: 4,
      nSteps: 64,
      batchSize: 64,
      nEpochs: 1,
      learningRate: 0,
      discriminatorUpdates: 10,
    });
    const history: UpdateStats[] = [];
    await model.learn({ totalTimesteps: 256 * 20, onUpdate: (stats) => void history.push(stats) });
    const first = history[0];
    const last = history[history.length - 1];
    assert.ok(first["discriminator/loss"] > 0.6, `starts near ln 2: ${first["discriminator/loss"]}`);
    assert.ok(last["discriminator/loss"] < 0.45, `separates: loss ${last["discriminator/loss"]}`);
    // seed 0: 0.95 of expert and 0.74 of policy pairs classified right in the last round (0.34 and
    // 0.94 in the first, where D called nearly everything "policy")
    const accuracy = (last["discriminator/expertAccuracy"] + last["discriminator/policyAccuracy"]) / 2;
    assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
    // the logs keep the env's own returns, not the discriminator's rewards (a random policy: ~20)
    assert.ok(last["rollout/episodeReturn"] < 60);
  });

  test("save and load give the same policy and discriminator", async () => {
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 1, seed: 0 });
    const model = new GAIL("CartPole-v1", {
      demonstrations: demos,
      seed: 1,
      numEnvs: 2,
      nSteps: 16,
      batchSize: 32,
      nEpochs: 1,
    });
    await model.learn({ totalTimesteps: 64 });
    const dir = await mkdtemp(join(tmpdir(), "proximal-gail-"));
    try {
      await model.save(dir);
      const loaded = await GAIL.load(dir);
      assert.equal(loaded.numTimesteps, model.numTimesteps);
      const observations = Float32Array.from([0.01, 0.2, -0.03, -0.1, 0.05, -0.3, 0.1, 0.4]);
      assert.deepEqual(
        loaded.predict(observations, { deterministic: true }),
        model.predict(observations, { deterministic: true }),
      );
      const actions = Int32Array.from([0, 1]);
      assert.deepEqual(
        loaded.discriminator.logits(observations, actions, 2).values,
        model.discriminator.logits(observations, actions, 2).values,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("refuses an unknown reward type", () => {
    assert.throws(() => new GAIL("CartPole-v1", { rewardType: "airl" as never }), { code: "INVALID_OPTION" });
  });
});
