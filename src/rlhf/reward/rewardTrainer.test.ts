import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { tensor } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import { CharTokenizer } from "../charTokenizer.js";
import { preferenceAccuracy } from "../common/preferenceAccuracy.js";
import { GPTRewardModel } from "../common/rewardHead.js";
import { rlhfFixture } from "../rlhfFixture.test.util.js";
import { bradleyTerryLoss } from "./loss.js";
import { type RewardRow, RewardTrainer } from "./rewardTrainer.js";

const close = { rtol: 1e-5, atol: 1e-7 };

describe("bradleyTerryLoss()", () => {
  const f = rlhfFixture.bradleyTerry;
  for (const c of f.cases) {
    test(`matches torch with margin ${c.margin} and centering ${c.centerRewardsCoefficient} (value and gradients)`, () => {
      const chosen = tensor(f.chosen, undefined, { requiresGrad: true });
      const rejected = tensor(f.rejected, undefined, { requiresGrad: true });
      const loss = bradleyTerryLoss(chosen, rejected, {
        margin: c.margin ? tensor(f.margin) : null,
        centerRewardsCoefficient: c.centerRewardsCoefficient,
      });
      loss.backward();
      assertClose([loss.item()], [c.loss], close);
      assertClose(chosen.grad!.values, c.gradChosen, close);
      assertClose(rejected.grad!.values, c.gradRejected, close);
    });
  }

  test("equal rewards give ln 2 (by hand: -log σ(0))", () => {
    assertClose([bradleyTerryLoss(tensor([0.5, -2]), tensor([0.5, -2])).item()], [Math.LN2], close);
  });

  test("stays finite for a large reward gap", () => {
    const loss = bradleyTerryLoss(tensor([-100]), tensor([100])).item();
    assertClose([loss], [200], close); // softplus(200) = 200
  });

  test("accuracy counts strictly higher chosen rewards", () => {
    assert.equal(preferenceAccuracy(tensor(f.chosen), tensor(f.rejected)), f.accuracy);
    assert.equal(preferenceAccuracy(tensor([1, 2]), tensor([1, 1])), 0.5);
  });
});

describe("RewardTrainer", () => {
  // seed 0: a 1-layer, width-32 reward model on 48 pairs of 6-letter responses over {a, b}. The same
  // initial model is trained to prefer more 'a's and, separately, more 'b's: its initial accuracies on
  // the two tasks add up to about 1, so reaching 0.8 on both shows learning rather than a lucky init.
  for (const preferred of ["a", "b"] as const) {
    test(`learns to prefer more '${preferred}'s, above chance on held-out pairs`, () => {
      const tokenizer = new CharTokenizer("ab");
      const other = preferred === "a" ? "b" : "a";
      const rng = new Rng(0);
      const response = (count: number) =>
        rng.shuffle([...Array(count).fill(preferred), ...Array(6 - count).fill(other)]).join("");
      const pairs = (n: number): RewardRow[] =>
        Array.from({ length: n }, () => {
          const hi = 1 + rng.integer(6); // 1..6
          const lo = rng.integer(hi); // 0..hi-1
          return { prompt: "", chosen: response(hi), rejected: response(lo) };
        });
      const train = pairs(48);
      const heldOut = pairs(32);
      const model = new GPTRewardModel(
        { vocabSize: tokenizer.vocabSize, nPositions: 16, nEmbd: 32, nLayer: 1, nHead: 4 },
        { rng: new Rng(1) },
      );
      const losses: number[] = [];
      const trainer = new RewardTrainer({
        model,
        tokenizer,
        trainDataset: train,
        config: {
          learningRate: 3e-3,
          perDeviceTrainBatchSize: 8,
          numTrainEpochs: 4,
          loggingSteps: 6,
          seed: 0,
        },
        onStep: (log) => {
          losses.push(log.metrics["train/loss"]);
          return true;
        },
      });
      const before = trainer.evaluate(heldOut);
      trainer.train();
      const after = trainer.evaluate(heldOut);
      assert.equal(losses.length, 4);
      assert.ok(
        after["eval/accuracy"] >= 0.8,
        `held-out accuracy ${after["eval/accuracy"]} (before ${before["eval/accuracy"]})`,
      );
      assert.ok(after["eval/loss"] < before["eval/loss"]);
      assert.ok(after["rewards/margin"] > 0);
    });
  }

  test("uses per-row margins and rejects a dataset where only some rows have one", () => {
    const tokenizer = new CharTokenizer("ab");
    const model = new GPTRewardModel(
      { vocabSize: tokenizer.vocabSize, nPositions: 16, nEmbd: 32, nLayer: 1, nHead: 4 },
      { rng: new Rng(1) },
    );
    const row = { prompt: "a", chosen: "aa", rejected: "bb" };
    assert.throws(
      () => new RewardTrainer({ model, tokenizer, trainDataset: [{ ...row, margin: 1 }, row] }),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
    const plain = new RewardTrainer({ model, tokenizer, trainDataset: [row] }).evaluate([row])["eval/loss"];
    const withMargin = new RewardTrainer({
      model,
      tokenizer,
      trainDataset: [{ ...row, margin: 2 }],
    }).evaluate([{ ...row, margin: 2 } as RewardRow])["eval/loss"];
    assert.ok(withMargin > plain, `a margin raises the loss: ${plain} vs ${withMargin}`);
  });

  test("loadModel() rebuilds the saved reward model", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "proximal-rm-"));
    try {
      const tokenizer = new CharTokenizer("ab");
      const model = new GPTRewardModel(
        { vocabSize: tokenizer.vocabSize, nPositions: 16, nEmbd: 32, nLayer: 1, nHead: 4 },
        { rng: new Rng(2) },
      );
      const row = { prompt: "a", chosen: "aa", rejected: "bb" };
      const trainer = new RewardTrainer({ model, tokenizer, trainDataset: [row], config: { maxSteps: 1 } });
      trainer.train();
      await trainer.save(dir);
      const loaded = await RewardTrainer.loadModel(dir);
      assert.deepEqual(loaded.score.weight.values, model.score.weight.values);
      assert.deepEqual(loaded.transformer.config, model.transformer.config);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
