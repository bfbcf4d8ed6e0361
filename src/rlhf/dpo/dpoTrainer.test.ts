import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { tensor } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import { CharTokenizer } from "../charTokenizer.js";
import type { PreferenceRow } from "../common/data.js";
import { GPT } from "../gpt.js";
import { rlhfFixture } from "../rlhfFixture.test.util.js";
import { resolveDPOConfig } from "./dpoConfig.js";
import { DPOTrainer } from "./dpoTrainer.js";
import { dpoLoss } from "./loss.js";

const close = { rtol: 1e-5, atol: 1e-7 };

describe("dpoLoss()", () => {
  const f = rlhfFixture.dpo;
  for (const c of f.cases) {
    test(`"dpo" with label smoothing ${c.labelSmoothing} matches torch (value, gradients, implicit rewards)`, () => {
      const policyChosen = tensor(f.policyChosen, undefined, { requiresGrad: true });
      const policyRejected = tensor(f.policyRejected, undefined, { requiresGrad: true });
      const out = dpoLoss(
        {
          policyChosen,
          policyRejected,
          referenceChosen: tensor(f.referenceChosen),
          referenceRejected: tensor(f.referenceRejected),
        },
        { loss: "dpo", beta: f.beta, labelSmoothing: c.labelSmoothing },
      );
      out.loss.backward();
      assertClose([out.loss.item()], [c.loss], close);
      assertClose(policyChosen.grad!.values, c.gradPolicyChosen, close);
      assertClose(policyRejected.grad!.values, c.gradPolicyRejected, close);
      // rewards are β·(a - b) of float32 log-probs near -20: allow their rounding (scale 20·β)
      assertClose(out.chosenRewards.values, c.chosenRewards, { rtol: 1e-5, atol: 0, scale: 2 });
      assertClose(out.rejectedRewards.values, c.rejectedRewards, { rtol: 1e-5, atol: 0, scale: 2 });
    });
  }

  test('"ipo" matches torch (value and gradients)', () => {
    const f = rlhfFixture.ipo;
    const policyChosen = tensor(f.policyChosen, undefined, { requiresGrad: true });
    const policyRejected = tensor(f.policyRejected, undefined, { requiresGrad: true });
    const { loss } = dpoLoss(
      {
        policyChosen,
        policyRejected,
        referenceChosen: tensor(f.referenceChosen),
        referenceRejected: tensor(f.referenceRejected),
      },
      { loss: "ipo", beta: f.beta },
    );
    loss.backward();
    assertClose([loss.item()], [f.loss], close);
    assertClose(policyChosen.grad!.values, f.gradPolicyChosen, close);
    assertClose(policyRejected.grad!.values, f.gradPolicyRejected, close);
  });

  test("equal chosen and rejected log-ratios give ln 2 (by hand)", () => {
    const { loss } = dpoLoss({
      policyChosen: tensor([-5, -3]),
      policyRejected: tensor([-7, -9]),
      referenceChosen: tensor([-5, -4]),
      referenceRejected: tensor([-7, -10]),
    });
    assertClose([loss.item()], [Math.LN2], close);
  });

  test("IPO is zero when the log-ratio gap equals 1/(2β) (by hand: β 0.5, h 1)", () => {
    const { loss } = dpoLoss(
      {
        policyChosen: tensor([0]),
        policyRejected: tensor([-1]),
        referenceChosen: tensor([0]),
        referenceRejected: tensor([0]),
      },
      { loss: "ipo", beta: 0.5 },
    );
    assert.equal(loss.item(), 0);
  });
});

describe("resolveDPOConfig()", () => {
  test("rejects label smoothing with IPO and unknown losses", () => {
    const invalid = (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION";
    assert.throws(() => resolveDPOConfig({ loss: "ipo", labelSmoothing: 0.1 }), invalid);
    assert.throws(() => resolveDPOConfig({ loss: "kto" as never }), invalid);
    assert.throws(() => resolveDPOConfig({ beta: 0 }), invalid);
    assert.equal(resolveDPOConfig().learningRate, 1e-6);
  });
});

describe("DPOTrainer", () => {
  // seed 0: a 1-layer width-32 GPT; chosen responses are all 'a', rejected all 'b'
  const tokenizer = new CharTokenizer("ab");
  const rng = new Rng(0);
  const rows: PreferenceRow[] = Array.from({ length: 16 }, () => {
    const n = 2 + rng.integer(4);
    return { prompt: rng.uniform() < 0.5 ? "a" : "b", chosen: "a".repeat(n), rejected: "b".repeat(n) };
  });
  const newModel = () =>
    new GPT(
      { vocabSize: tokenizer.vocabSize, nPositions: 16, nEmbd: 32, nLayer: 1, nHead: 4 },
      { rng: new Rng(1) },
    );

  test("raises the chosen-vs-rejected margin and keeps the reference frozen", () => {
    const model = newModel();
    const trainer = new DPOTrainer({
      model,
      tokenizer,
      trainDataset: rows,
      config: { learningRate: 1e-3, beta: 0.1, perDeviceTrainBatchSize: 8, maxSteps: 30, loggingSteps: 10 },
    });
    const refBefore = (trainer.refModel as GPT).wte.weight.values.slice();
    const before = trainer.evaluate(rows);
    trainer.train();
    const after = trainer.evaluate(rows);
    assertClose([before["rewards/margin"]], [0], { atol: 1e-6 }); // policy = reference at the start
    assert.ok(after["rewards/margin"] > 0.5, `margin ${after["rewards/margin"]}`);
    assert.ok(after["eval/loss"] < before["eval/loss"]);
    assert.equal(after["rewards/accuracy"], 1);
    assert.deepEqual((trainer.refModel as GPT).wte.weight.values, refBefore);
  });

  test("IPO (length-averaged) and label-smoothed DPO also raise the margin", () => {
    for (const config of [
      { loss: "ipo" as const, beta: 0.5 },
      { loss: "dpo" as const, labelSmoothing: 0.1 },
    ]) {
      const trainer = new DPOTrainer({
        model: newModel(),
        tokenizer,
        trainDataset: rows,
        config: { ...config, learningRate: 1e-3, perDeviceTrainBatchSize: 8, maxSteps: 20, loggingSteps: 10 },
      });
      trainer.train();
      const m = trainer.evaluate(rows);
      assert.ok(
        m["rewards/margin"] > 0.05 && m["rewards/accuracy"] === 1,
        `${config.loss}: ${JSON.stringify(m)}`,
      );
    }
  });

  test("refuses the policy as its own reference", () => {
    const model = newModel();
    assert.throws(
      () => new DPOTrainer({ model, refModel: model, tokenizer, trainDataset: rows }),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});
