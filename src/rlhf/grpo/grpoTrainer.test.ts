import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { sum } from "../../tensor/ops.js";
import { noGrad, type Tensor, tensor } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import { CharTokenizer } from "../charTokenizer.js";
import { clippedTokenLoss } from "../common/clippedSurrogate.js";
import { klEstimate, klEstimateValue } from "../common/kl.js";
import { tokenLogProbs } from "../common/logProbs.js";
import type { PolicyModel } from "../common/policyModel.js";
import { collatePairs, tokenizePair } from "../common/sequenceBatch.js";
import type { OnStep } from "../common/trainer.js";
import { GPT } from "../gpt.js";
import { SFTTrainer } from "../sft/sftTrainer.js";
import { type GRPOConfig, type GRPORewardFunction, type GRPORow, resolveGRPOConfig } from "./grpoConfig.js";
import { grpoFixture, matrix } from "./grpoFixture.test.util.js";
import { type GRPOStepStats, GRPOTrainer } from "./grpoTrainer.js";
import { aggregateLoss, clipBounds, dcpoClipBounds, grpoPolicyLoss, importanceRatio } from "./loss.js";
import { loadGRPOPreset } from "./presets.js";

// reference values: fixtures/torch/grpo.json (scripts/fixtures/makeGrpoFixtures.py, torch 1.13,
// float64 from float32 inputs); [4, 6] batches with response lengths 6, 2, 4, 1
const ROWS = 4;
const leaf = (values: number[]): Tensor => matrix(values, ROWS).requireGrad();
const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void =>
  assertClose(actual, expected, { rtol: 1e-5, atol: 1e-6, label });

describe("klEstimate()", () => {
  const c = grpoFixture.kl;
  for (const estimator of ["k1", "k2", "k3"] as const) {
    test(`${estimator}: values and gradient w.r.t. the policy log-probs match torch`, () => {
      const logp = leaf(c.logProbs);
      const mask = matrix(c.mask, ROWS);
      const kl = klEstimate(logp, matrix(c.refLogProbs, ROWS), estimator).mul(mask);
      sum(kl).backward();
      close(kl.values, c[estimator].values, `${estimator} values`);
      close(logp.grad!.values, c[estimator].gradLogProbs, `${estimator} grad`);
    });
  }

  test("the number form agrees (by hand: logp -1, ref -1.5)", () => {
    assert.equal(klEstimateValue(-1, -1.5, "k1"), 0.5);
    assert.equal(klEstimateValue(-1, -1.5, "k2"), 0.125);
    assertClose([klEstimateValue(-1, -1.5, "k3")], [Math.exp(-0.5) - 0.5], { rtol: 1e-12 });
  });
});

describe("importanceRatio()", () => {
  const c = grpoFixture.ratios;
  for (const level of ["token", "sequence", "sequence-token"] as const) {
    test(`${level}: values and gradients match torch (GSPO eq. 7 / eq. 13)`, () => {
      const logp = leaf(c.logProbs);
      const mask = matrix(c.mask, ROWS);
      const ratio = importanceRatio(logp, matrix(c.oldLogProbs, ROWS), mask, level);
      sum(ratio.mul(matrix(c.weights, ROWS)).mul(mask)).backward();
      close(ratio.values, c[level].ratio, `${level} ratio`);
      close(logp.grad!.values, c[level].gradLogProbs, `${level} grad`);
    });
  }

  test("the sequence ratio is exp of the mean token log-ratio (by hand)", () => {
    const ratio = importanceRatio(
      tensor([[0.2, -0.4, 0]]),
      tensor([[0, 0, 0]]),
      tensor([[1, 1, 0]]),
      "sequence",
    );
    assertClose(ratio.values, [Math.exp(-0.1), Math.exp(-0.1), Math.exp(-0.1)], { rtol: 1e-6 });
  });
});

describe("dcpoClipBounds()", () => {
  const c = grpoFixture.dcpoBounds;
  test("match the DCPO formula at q from 0.001 to 1", () => {
    const bounds = c.q.map((q) => dcpoClipBounds(q, c.epsilonLow, c.epsilonHigh));
    assertClose(
      bounds.map((b) => b.low),
      c.low,
      { rtol: 1e-5, label: "low" },
    );
    assertClose(
      bounds.map((b) => b.high),
      c.high,
      { rtol: 1e-5, label: "high" },
    );
  });

  test("cap the upper bound at maxRatio", () => {
    const bounds = c.q.map((q) => dcpoClipBounds(q, c.epsilonLow, c.epsilonHigh, c.maxRatio));
    assertClose(
      bounds.map((b) => b.high),
      c.highCapped,
      { rtol: 1e-5, label: "high capped" },
    );
  });

  test("by hand: q = 0.5 gives [0.5, 1.4]; a rare token may move further than a likely one", () => {
    const { low, high } = dcpoClipBounds(0.5, 0.2, 0.28);
    assert.equal(low, 0.5);
    assertClose([high], [1.4], { rtol: 1e-12 });
    assert.ok(dcpoClipBounds(0.01, 0.2, 0.28).high > dcpoClipBounds(0.9, 0.2, 0.28).high);
  });

  test("reject q outside (0, 1]", () => {
    assert.throws(
      () => dcpoClipBounds(0, 0.2, 0.2),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});

describe("clippedTokenLoss()", () => {
  const c = grpoFixture.clipped;
  for (const k of c.cases) {
    test(`${k.name}: per-token loss and gradient match torch`, () => {
      const logp = leaf(c.logProbs);
      const old = matrix(c.oldLogProbs, ROWS);
      const ratio = importanceRatio(logp, old, matrix(new Array(c.logProbs.length).fill(1), ROWS), "token");
      const { low, high } = clipBounds(old, {
        clipMode: k.clipMode,
        epsilon: k.epsilon,
        epsilonHigh: k.epsilonHigh,
        dcpoMaxRatio: k.dcpoMaxRatio,
      });
      const loss = clippedTokenLoss(ratio, matrix(c.advantages, ROWS), low, high, k.dualClip);
      sum(loss).backward();
      close(loss.values, k.loss, `${k.name} loss`);
      close(logp.grad!.values, k.gradLogProbs, `${k.name} grad`);
    });
  }

  test("by hand (STYLE.md): ratio 1.5, ε 0.2 → A +1 gives -1.2, A -1 gives 1.5; dual clip 3 caps ratio 4 at 3", () => {
    const ratio = tensor([[1.5, 1.5, 4]]);
    const loss = clippedTokenLoss(ratio, tensor([[1, -1, -1]]), 0.8, 1.2, 3);
    assertClose(loss.values, [-1.2, 1.5, 3], { rtol: 1e-6 });
  });
});

describe("aggregateLoss()", () => {
  const c = grpoFixture.aggregation;
  for (const [mode, expected] of Object.entries(c.modes)) {
    test(`${mode}: value and gradient on ragged lengths (one empty response) match torch`, () => {
      const loss = leaf(c.loss);
      const value = aggregateLoss(loss, matrix(c.mask, ROWS), mode as "token-mean", c.maxLength);
      value.backward();
      close([value.item()], [expected.value], `${mode} value`);
      close(loss.grad!.values, expected.grad, `${mode} grad`);
    });
  }

  test("an all-masked minibatch gives 0, not NaN", () => {
    for (const mode of ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm", "seq-sum"] as const)
      assert.equal(aggregateLoss(tensor([[1, 2]]), tensor([[0, 0]]), mode, 4).item(), 0);
  });
});

describe("grpoPolicyLoss()", () => {
  const c = grpoFixture.policyLoss;
  for (const k of c.cases) {
    test(`${k.name}: the whole loss and its gradient match torch`, () => {
      const logp = leaf(c.logProbs);
      const options = resolveGRPOConfig({
        importanceSamplingLevel: k.importanceSamplingLevel,
        clipMode: k.clipMode,
        epsilon: k.epsilon,
        epsilonHigh: k.epsilonHigh,
        dualClip: k.dualClip,
        lossAggregation: k.lossAggregation,
        beta: k.beta,
        klEstimator: k.klEstimator,
        maxCompletionLength: c.maxLength,
      });
      const out = grpoPolicyLoss(
        {
          logProbs: logp,
          oldLogProbs: matrix(c.oldLogProbs, ROWS),
          refLogProbs: matrix(c.refLogProbs, ROWS),
          advantages: matrix(c.advantages, ROWS),
          mask: matrix(c.mask, ROWS),
        },
        options,
      );
      out.loss.backward();
      close([out.loss.item()], [k.loss], `${k.name} loss`);
      close(logp.grad!.values, k.gradLogProbs, `${k.name} grad`);
      assert.ok(out.clipFraction >= 0 && out.clipFraction <= 1);
      assert.equal(Number.isNaN(out.klToRef), k.beta === 0);
    });
  }
});

// ============================================================================================
// the trainer, on single-digit additions "a+b=" → "c" (a char-level 1-layer GPT)

const additionPrompts = Array.from({ length: 100 }, (_, i) => `${Math.floor(i / 10)}+${i % 10}=`);
const additionAnswer = (prompt: string): string => String(Number(prompt[0]) + Number(prompt[2]));
const exactMatch: GRPORewardFunction = (prompt, completion) =>
  completion === additionAnswer(prompt) ? 1 : 0;
const additionTokenizer = new CharTokenizer("0123456789+=");

/** A 1-layer GPT fine-tuned for `sftSteps` on every addition (seed 0). */
function additionModel(sftSteps: number): GPT {
  const model = new GPT(
    { vocabSize: additionTokenizer.vocabSize, nPositions: 12, nEmbd: 32, nLayer: 1, nHead: 4 },
    { rng: new Rng(0) },
  );
  if (sftSteps > 0) {
    new SFTTrainer({
      model,
      tokenizer: additionTokenizer,
      trainDataset: additionPrompts.map((prompt) => ({ prompt, response: additionAnswer(prompt) })),
      config: {
        maxSteps: sftSteps,
        perDeviceTrainBatchSize: 32,
        learningRate: 3e-3,
        seed: 0,
        loggingSteps: 1000,
      },
    }).train();
  }
  return model;
}

/** Expected exact-match reward under the sampling policy: mean over prompts of π(answer + eos | prompt). */
function expectedReward(model: GPT): number {
  const pairs = additionPrompts.map((p) => tokenizePair(additionTokenizer, p, additionAnswer(p), 12));
  const batch = collatePairs(pairs, additionTokenizer.padTokenId);
  const logp = noGrad(() => tokenLogProbs(model, batch.inputIds, batch.attentionMask, batch.responseMask));
  const [rows, width] = logp.shape;
  let total = 0;
  for (let b = 0; b < rows; b++) {
    let sequence = 0;
    for (let t = 0; t < width; t++) sequence += logp.values[b * width + t];
    total += Math.exp(sequence);
  }
  return total / rows;
}

const rows: GRPORow[] = additionPrompts.map((prompt) => ({ prompt }));
/** A small, fast configuration for behaviour tests. */
const tiny: GRPOConfig = {
  numGenerations: 4,
  perDeviceTrainBatchSize: 16,
  maxCompletionLength: 3,
  learningRate: 1e-3,
  maxSteps: 2,
  seed: 0,
};

describe("GRPOTrainer", () => {
  test("raises the expected training reward on single-digit additions (seed 0, ~3 s)", () => {
    // measured (seed 0): E[reward] 0.109 → 0.174; rollout reward, mean of the first and last 10 steps,
    // 0.104 → 0.166; greedy accuracy 0.21 → 0.28
    const model = additionModel(100);
    const before = expectedReward(model);
    const rollout: number[] = [];
    const trainer = new GRPOTrainer({
      model,
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: exactMatch,
      config: {
        numGenerations: 8,
        perDeviceTrainBatchSize: 256,
        maxCompletionLength: 3,
        learningRate: 2e-3,
        warmupRatio: 0.2,
        maxSteps: 40,
        loggingSteps: 1,
        seed: 0,
      },
      onStep: (log) => {
        rollout.push(log.metrics["rollout/reward"]);
        return true;
      },
    });
    trainer.train();
    const after = expectedReward(model);
    assert.equal(rollout.length, 40);
    assert.ok(after > before + 0.03, `E[reward] ${before.toFixed(4)} → ${after.toFixed(4)}`);
    const first = rollout.slice(0, 10).reduce((a, b) => a + b) / 10;
    const last = rollout.slice(-10).reduce((a, b) => a + b) / 10;
    assert.ok(last > first, `rollout reward ${first.toFixed(3)} → ${last.toFixed(3)}`);
  });

  test("the same seed gives the same rollouts and losses", () => {
    const run = (): GRPOStepStats[] => {
      const trainer = new GRPOTrainer({
        model: additionModel(0),
        tokenizer: additionTokenizer,
        trainDataset: rows,
        rewardFunctions: exactMatch,
        config: tiny,
      });
      return [trainer.step(), trainer.step()];
    };
    assert.deepEqual(run(), run());
  });

  test("numGenerations 1 with a group estimator fails in the constructor with a clear message", () => {
    assert.throws(
      () =>
        new GRPOTrainer({
          model: additionModel(0),
          tokenizer: additionTokenizer,
          trainDataset: rows,
          rewardFunctions: exactMatch,
          config: { ...tiny, numGenerations: 1 },
        }),
      (e: unknown) => {
        assert.ok(e instanceof ProximalError && e.code === "INVALID_OPTION");
        assert.match(e.message, /numGenerations is 1/);
        assert.match(e.message, /"reinforce\+\+", which needs no group/);
        return true;
      },
    );
  });

  test("REINFORCE++ trains with one completion per prompt and the KL in the reward", () => {
    const trainer = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: exactMatch,
      config: {
        ...tiny,
        numGenerations: 1,
        advantageEstimator: "reinforce++",
        beta: 0.01,
        klPlacement: "reward",
        klEstimator: "k1",
      },
    });
    assert.ok(trainer.refModel !== null);
    const stats = trainer.step();
    assert.equal(stats["rollout/samplesUsed"], 16);
    // policy and reference are equal before the first update (up to KV-cache vs full-forward rounding)
    assert.ok(Math.abs(stats["rollout/klToRef"]) < 1e-6, `KL ${stats["rollout/klToRef"]}`);
    assert.ok(Number.isFinite(stats["train/loss"]));
  });

  test("no reference model is built when beta is 0", () => {
    const trainer = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: exactMatch,
      config: tiny,
    });
    assert.equal(trainer.refModel, null);
    assert.ok(Number.isNaN(trainer.step()["rollout/klToRef"]));
  });

  test("dynamic sampling drops equal-reward groups and samples more prompts until the batch is full", () => {
    // only prompts "0+b=" get a length-dependent reward; every other group's rewards are all 0
    const reward: GRPORewardFunction = (prompt, completion) => (prompt[0] === "0" ? completion.length : 0);
    const trainer = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: reward,
      config: { ...tiny, dynamicSampling: true, maxGenerationRounds: 50 },
    });
    const stats = trainer.step();
    assert.equal(stats["rollout/samplesUsed"], 16);
    assert.ok(stats["rollout/generationRounds"] > 1, `rounds ${stats["rollout/generationRounds"]}`);
    assert.equal(stats["rollout/samplesDrawn"], stats["rollout/generationRounds"] * 16);
    assert.ok(stats["rollout/zeroStdFraction"] > 0.5);
  });

  test("dynamic sampling that finds nothing takes no optimizer step but keeps the schedule", () => {
    const model = additionModel(0);
    const weights = model.parameters()[0].values.slice();
    const trainer = new GRPOTrainer({
      model,
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: () => 1,
      config: { ...tiny, dynamicSampling: true, maxGenerationRounds: 3 },
    });
    const stats = trainer.step();
    assert.equal(stats["rollout/generationRounds"], 3);
    assert.equal(stats["rollout/samplesUsed"], 0);
    assert.ok(Number.isNaN(stats["train/loss"]));
    assert.equal(trainer.globalStep, 1);
    assert.deepEqual(model.parameters()[0].values, weights);
  });

  test("overlong filtering masks truncated completions out of the loss", () => {
    // maxCompletionLength 1: a completion is a lone stop token ("", kept) or one cut-off token (reward 1).
    // GRPO advantages sum to 0 in each group, so at ratio 1 the unmasked loss is 0; masking the
    // truncated (positive-advantage) rows leaves only the negative advantages: a positive loss.
    const lossWith = (maskTruncatedCompletions: boolean): GRPOStepStats =>
      new GRPOTrainer({
        model: additionModel(0),
        tokenizer: additionTokenizer,
        trainDataset: rows,
        rewardFunctions: (_p, completion) => completion.length,
        config: { ...tiny, maxCompletionLength: 1, maskTruncatedCompletions, maxSteps: 1 },
      }).step();
    const masked = lossWith(true);
    const unmasked = lossWith(false);
    assert.ok(masked["rollout/truncatedFraction"] > 0.5 && masked["rollout/truncatedFraction"] < 1);
    assert.ok(Math.abs(unmasked["train/loss"]) < 1e-6, `unmasked loss ${unmasked["train/loss"]}`);
    assert.ok(masked["train/loss"] > 0.05, `masked loss ${masked["train/loss"]}`);
  });

  test("the soft overlong penalty is added to the rewards (DAPO eq. 13)", () => {
    // reward 0, maxCompletionLength 3, buffer 2: length 1 → 0, 2 → -0.5, 3 → -1
    const trainer = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: () => 0,
      config: { ...tiny, overlongBuffer: 2 },
    });
    const stats = trainer.step();
    const expected = -Math.max(0, stats["rollout/completionLength"] - 1) / 2;
    assertClose([stats["rollout/reward"]], [expected], { rtol: 1e-9, atol: 1e-12 });
  });

  test("reward functions are weighted and summed, and each is reported by name", () => {
    const one: GRPORewardFunction = function one() {
      return 1;
    };
    const two: GRPORewardFunction = function two() {
      return 2;
    };
    const trainer = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: [one, two],
      config: { ...tiny, rewardWeights: [0.5, -1] },
    });
    const stats = trainer.step();
    assert.equal(stats["rollout/reward"], -1.5);
    assert.equal(stats["rollout/rewards/one"], 1);
    assert.equal(stats["rollout/rewards/two"], 2);
  });

  test("a reward function returning NaN is an error naming it", () => {
    const broken: GRPORewardFunction = function broken() {
      return Number.NaN;
    };
    const trainer = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: broken,
      config: tiny,
    });
    assert.throws(
      () => trainer.step(),
      (e: unknown) =>
        e instanceof ProximalError && e.code === "INVALID_ARGUMENT" && /"broken"/.test(e.message),
    );
  });

  test("rewardWeights must match the reward functions", () => {
    assert.throws(
      () =>
        new GRPOTrainer({
          model: additionModel(0),
          tokenizer: additionTokenizer,
          trainDataset: rows,
          rewardFunctions: exactMatch,
          config: { ...tiny, rewardWeights: [1, 2] },
        }),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION",
    );
  });

  test("numIterations and stepsPerGeneration take that many optimizer steps per generation batch", () => {
    const trainer = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: exactMatch,
      config: { ...tiny, numIterations: 2, stepsPerGeneration: 2, maxSteps: 8 },
    });
    const stats = trainer.step();
    assert.equal(trainer.globalStep, 4);
    assert.equal(stats["rollout/samplesUsed"], 32);
    // passes after the first are off-policy: the ratio moved away from 1
    assert.ok(stats["train/approxKl"] > 0);
  });

  test("evaluate() decodes greedily and reports each reward", () => {
    const trainer = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows,
      rewardFunctions: exactMatch,
      config: tiny,
    });
    const a = trainer.evaluate(rows.slice(0, 10));
    assert.deepEqual(trainer.evaluate(rows.slice(0, 10)), a);
    assert.ok(a["eval/reward"] >= 0 && a["eval/reward"] <= 1);
    assert.equal(a["eval/rewards/exactMatch"], a["eval/reward"]);
  });
});

// ============================================================================================
// checkpoints: save → load into a fresh trainer → the same steps as the run that kept going

describe("GRPOTrainer checkpoints", () => {
  const root = mkdtempSync(join(tmpdir(), "proximal-grpo-checkpoint-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  let dirs = 0;
  const freshDir = (): string => join(root, `run${dirs++}`);

  // 6 prompts, 4 per generation batch: a pass ends inside the second batch, so the saved state sits
  // mid-pass and prompts come back (DCPO's cumulative statistics see them again)
  const resumeRows = rows.slice(0, 6);
  // varies with the sampled length even for an untrained model, so every step moves the weights
  const lengthReward: GRPORewardFunction = function length(_prompt, completion) {
    return completion.length;
  };
  /** A trainer on `resumeRows`; `modelSeed` other than 0 starts from other weights than the saved run. */
  const makeTrainer = (config: GRPOConfig, modelSeed = 0, onStep?: OnStep): GRPOTrainer =>
    new GRPOTrainer({
      model: new GPT(
        { vocabSize: additionTokenizer.vocabSize, nPositions: 12, nEmbd: 32, nLayer: 1, nHead: 4 },
        { rng: new Rng(modelSeed) },
      ),
      tokenizer: additionTokenizer,
      trainDataset: resumeRows,
      rewardFunctions: [exactMatch, lengthReward],
      config,
      onStep,
    });
  const values = (tensors: Record<string, Tensor>): Record<string, Float32Array> =>
    Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.values.slice()]));
  const weights = (model: PolicyModel): Record<string, Float32Array> => values(model.stateDict());
  /** The AdamW moments, step counts and options (tensor values, not tensor objects). */
  const optimizerState = (trainer: GRPOTrainer): unknown => {
    const { tensors, json } = trainer.optimizer.getState();
    return { tensors: values(tensors), json };
  };

  /**
   * Run `before` steps, save, run `afterwards` more; load the save into a trainer built from other
   * weights (seed 1) and run `afterwards` steps: stats, weights and optimizer state must be identical.
   */
  async function assertResumesExactly(
    config: GRPOConfig,
    before: number,
    afterwards: number,
  ): Promise<string> {
    const dir = freshDir();
    const original = makeTrainer(config);
    for (let i = 0; i < before; i++) original.step();
    await original.save(dir);
    const expected = Array.from({ length: afterwards }, () => original.step());

    const resumed = makeTrainer(config, 1);
    assert.notDeepEqual(weights(resumed.model), weights(original.model));
    await resumed.load(dir);
    const actual = Array.from({ length: afterwards }, () => resumed.step());

    assert.deepEqual(actual, expected);
    assert.ok(
      expected.every((stats) => Number.isFinite(stats["train/loss"])),
      "every step after the save trains",
    );
    assert.deepEqual(weights(resumed.model), weights(original.model));
    assert.deepEqual(optimizerState(resumed), optimizerState(original));
    assert.equal(resumed.globalStep, original.globalStep);
    assert.equal(resumed.generationStep, original.generationStep);
    return dir;
  }

  test("default config: the steps after load, the final weights and AdamW state match the uninterrupted run", async () => {
    const config = { ...tiny, maxSteps: 8 };
    const dir = await assertResumesExactly(config, 2, 4);
    // the policy is saved under its own names: loadModel (loadStateDict) gives the weights at the save
    const atSave = makeTrainer(config);
    for (let i = 0; i < 2; i++) atSave.step();
    assert.deepEqual(weights(await GRPOTrainer.loadModel(dir)), weights(atSave.model));
  });

  test("dcpo preset: DCPO's cumulative per-prompt statistics resume with the run", async () => {
    const dcpo = await loadGRPOPreset("dcpo");
    const dir = await assertResumesExactly({ ...tiny, ...dcpo.algorithm, maxSteps: 8 }, 2, 4);
    // 2 batches of 4 over 6 prompts: 2 prompts were seen twice before the save
    const saved = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as {
      dcpoHistory: [string, { steps: number }][];
    };
    assert.equal(saved.dcpoHistory.length, 6);
    assert.ok(saved.dcpoHistory.some(([, statistics]) => statistics.steps >= 2));
  });

  test("grpo preset (beta 0.04): the reference is restored from the checkpoint, not rebuilt from the new model", async () => {
    const grpo = await loadGRPOPreset("grpo");
    const config = { ...tiny, ...grpo.algorithm, maxSteps: 8 };
    assert.ok((config.beta ?? 0) > 0);
    const dir = freshDir();
    const original = makeTrainer(config);
    for (let i = 0; i < 3; i++) original.step();
    await original.save(dir);
    const expected = [original.step(), original.step()];
    // built from seed-1 weights, so its own reference is a copy of those until load replaces it
    const resumed = makeTrainer(config, 1);
    const reference = resumed.refModel;
    assert.ok(reference !== null && original.refModel !== null);
    await resumed.load(dir);
    assert.notEqual(
      resumed.refModel,
      reference,
      "a new frozen copy, the reference built before is untouched",
    );
    assert.deepEqual(weights(resumed.refModel as GPT), weights(original.refModel as GPT));
    assert.ok(resumed.refModel?.parameters().every((p) => !p.requiresGrad));
    const actual = [resumed.step(), resumed.step()];
    assert.deepEqual(actual, expected);
    assert.ok(expected.every((stats) => stats["rollout/klToRef"] > 0));
    assert.deepEqual(weights(resumed.model), weights(original.model));
  });

  test("train() stopped by onStep, saved and resumed logs what one uninterrupted train() logs", async () => {
    const config: GRPOConfig = { ...tiny, maxSteps: 6, loggingSteps: 1, warmupRatio: 0.3 };
    /** An onStep that keeps the metrics (without the wall-clock rate) and stops after step `stopAt`. */
    const recorder = (out: Record<string, number>[], stopAt = Number.POSITIVE_INFINITY): OnStep => {
      return (log) => {
        const { "time/samplesPerSecond": _rate, ...metrics } = log.metrics;
        out.push(metrics);
        return log.step < stopAt;
      };
    };
    const uninterrupted: Record<string, number>[] = [];
    makeTrainer(config, 0, recorder(uninterrupted)).train();
    const interrupted: Record<string, number>[] = [];
    const first = makeTrainer(config, 0, recorder(interrupted, 2));
    first.train();
    assert.equal(first.globalStep, 2);
    const dir = freshDir();
    await first.save(dir);
    const resumed = makeTrainer(config, 1, recorder(interrupted));
    await resumed.load(dir);
    resumed.train();
    assert.equal(uninterrupted.length, 6);
    assert.deepEqual(interrupted, uninterrupted);
  });

  test("a checkpoint saved with another config is refused, naming the field and the fix", async () => {
    const dir = freshDir();
    const trainer = makeTrainer(tiny);
    trainer.step();
    await trainer.save(dir);
    const other = makeTrainer({ ...tiny, beta: 0.04, epsilon: 0.3 });
    const before = weights(other.model);
    await assert.rejects(other.load(dir), (e: unknown) => {
      assert.ok(e instanceof ProximalError && e.code === "INVALID_OPTION");
      assert.match(e.message, /beta \(checkpoint 0, this trainer 0\.04\)/);
      assert.match(e.message, /epsilon \(checkpoint 0\.2, this trainer 0\.3\)/);
      assert.match(e.message, /Build the trainer with the checkpoint's values/);
      return true;
    });
    assert.deepEqual(weights(other.model), before, "a refused checkpoint changes nothing");
    assert.equal(other.globalStep, 0);
    // loggingSteps does not change the maths, so it may differ
    const relogged = makeTrainer({ ...tiny, loggingSteps: 1 });
    await relogged.load(dir);
    assert.equal(relogged.globalStep, 1);
  });

  test("a checkpoint over other prompts is refused", async () => {
    const dir = freshDir();
    await makeTrainer(tiny).save(dir);
    const other = new GRPOTrainer({
      model: additionModel(0),
      tokenizer: additionTokenizer,
      trainDataset: rows.slice(6, 12),
      rewardFunctions: [exactMatch, lengthReward],
      config: tiny,
    });
    await assert.rejects(
      other.load(dir),
      (e: unknown) =>
        e instanceof ProximalError && e.code === "INVALID_ARGUMENT" && /same trainDataset/.test(e.message),
    );
  });

  test("a missing directory, another trainer's checkpoint and a malformed model.json fail clearly", async () => {
    const trainer = makeTrainer(tiny);
    const isMalformed =
      (pattern: RegExp) =>
      (e: unknown): boolean => {
        assert.ok(e instanceof ProximalError, String(e));
        assert.equal(e.code, "MALFORMED_FILE");
        assert.match(e.message, pattern);
        return true;
      };
    await assert.rejects(
      trainer.load(join(root, "does-not-exist")),
      isMalformed(/No saved model in .*model\.json/),
    );
    await assert.rejects(GRPOTrainer.loadModel(join(root, "does-not-exist")), isMalformed(/No saved model/));

    const dir = freshDir();
    await makeTrainer(tiny).save(dir);
    const metadata = join(dir, "model.json");
    const json = JSON.parse(readFileSync(metadata, "utf8")) as Record<string, unknown>;

    writeFileSync(metadata, JSON.stringify({ ...json, trainer: "SFTTrainer" }));
    await assert.rejects(trainer.load(dir), isMalformed(/saved by SFTTrainer, not GRPOTrainer/));

    const { rng: _rng, ...withoutRng } = json;
    writeFileSync(metadata, JSON.stringify(withoutRng));
    await assert.rejects(trainer.load(dir), isMalformed(/"rng" in model\.json must be a generator state/));

    writeFileSync(metadata, JSON.stringify({ ...json, order: [0, 0, 1, 2, 3, 4] }));
    await assert.rejects(trainer.load(dir), isMalformed(/"order" must be a permutation/));

    writeFileSync(metadata, "{ not json");
    await assert.rejects(trainer.load(dir), isMalformed(/not valid JSON/));
    assert.equal(trainer.globalStep, 0);
  });
});
