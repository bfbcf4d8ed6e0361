import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { tensor } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import { CharTokenizer } from "../charTokenizer.js";
import type { UnpairedPreferenceRow } from "../common/data.js";
import { GPT } from "../gpt.js";
import { type KtoCase, rlhfFixture } from "../rlhfFixture.test.util.js";
import { resolveKTOConfig } from "./ktoConfig.js";
import { KTOTrainer } from "./ktoTrainer.js";
import { ktoLoss } from "./loss.js";

const close = { rtol: 1e-5, atol: 1e-7 };

function check(f: KtoCase): void {
  const policy = tensor(f.policy, undefined, { requiresGrad: true });
  const out = ktoLoss(
    {
      policy,
      reference: tensor(f.reference),
      policyKl: tensor(f.policyKl, undefined, { requiresGrad: true }),
      referenceKl: tensor(f.referenceKl),
    },
    f.labels,
    { beta: f.beta, desirableWeight: f.desirableWeight, undesirableWeight: f.undesirableWeight },
  );
  out.loss.backward();
  // z₀ is a mean of differences of float32 log-probs near -25: allow their rounding
  assertClose([out.kl], [f.kl], { rtol: 1e-5, atol: 0, scale: 25 });
  assertClose([out.loss.item()], [f.loss], close);
  assertClose(policy.grad!.values, f.gradPolicy, close);
  assertClose(out.rewards.values, f.rewards, { rtol: 1e-5, scale: 2 });
}

describe("ktoLoss()", () => {
  test("matches torch with a positive KL reference point (value, KL, gradients, rewards)", () => {
    check(rlhfFixture.kto);
  });

  test("clamps a negative KL estimate at 0, as TRL", () => {
    assert.equal(rlhfFixture.ktoNegativeKl.kl, 0);
    check(rlhfFixture.ktoNegativeKl);
  });

  test("r = z₀ = 0 gives λ/2 per row (by hand)", () => {
    const zero = tensor([0, 0]);
    const { loss } = ktoLoss(
      { policy: zero, reference: zero, policyKl: zero, referenceKl: zero },
      [true, false],
      {
        desirableWeight: 1,
        undesirableWeight: 2,
      },
    );
    assertClose([loss.item()], [(0.5 + 1) / 2], close);
  });

  test("the KL reference point passes no gradient", () => {
    const policyKl = tensor([-1, -2], undefined, { requiresGrad: true });
    const policy = tensor([-1, -2], undefined, { requiresGrad: true });
    const { loss } = ktoLoss(
      { policy, reference: tensor([-3, -1]), policyKl, referenceKl: tensor([-3, -3]) },
      [true, false],
    );
    loss.backward();
    assert.equal(policyKl.grad, null);
    assert.ok(policy.grad !== null);
  });
});

describe("KTOTrainer", () => {
  test("needs a batch of at least 2 for the KL estimate", () => {
    assert.throws(
      () => resolveKTOConfig({ perDeviceTrainBatchSize: 1 }),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION",
    );
  });

  test("raises the implicit reward of desirable completions above undesirable ones", () => {
    // seed 0: 1-layer width-32 GPT; desirable completions are 'a's, undesirable 'b's
    const tokenizer = new CharTokenizer("ab");
    const rng = new Rng(0);
    const rows: UnpairedPreferenceRow[] = Array.from({ length: 16 }, (_, i) => {
      const label = i % 2 === 0;
      return {
        prompt: rng.uniform() < 0.5 ? "a" : "b",
        completion: (label ? "a" : "b").repeat(2 + rng.integer(4)),
        label,
      };
    });
    const model = new GPT(
      { vocabSize: tokenizer.vocabSize, nPositions: 16, nEmbd: 32, nLayer: 1, nHead: 4 },
      { rng: new Rng(1) },
    );
    const logs: Record<string, number>[] = [];
    const trainer = new KTOTrainer({
      model,
      tokenizer,
      trainDataset: rows,
      config: { learningRate: 1e-3, perDeviceTrainBatchSize: 8, maxSteps: 30, loggingSteps: 10 },
      onStep: (log) => {
        logs.push(log.metrics);
      },
    });
    const before = trainer.evaluate(rows);
    trainer.train();
    const after = trainer.evaluate(rows);
    assert.ok(
      after["rewards/margin"] > before["rewards/margin"] + 0.3,
      `margin ${before["rewards/margin"]} → ${after["rewards/margin"]}`,
    );
    assert.ok(after["eval/loss"] < before["eval/loss"]);
    assert.equal(logs.length, 3);
    assert.ok(logs.every((m) => Number.isFinite(m["train/kl"]) && m["train/kl"] >= 0));
  });
});
