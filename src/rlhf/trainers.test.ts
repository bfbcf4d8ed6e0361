/**
 * Checkpoint and resume of every RLHF trainer on the shared core (SFT, reward, DPO, KTO) and of
 * PPO: a run stopped part-way, saved, and loaded into a freshly built trainer ends with weights
 * bit-identical to an uninterrupted run's; a checkpoint of another config, other rows or another
 * trainer is refused naming the field. A 1-layer width-16 GPT on a 5-letter alphabet, a few steps.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import type { Module } from "../nn/module.js";
import { Rng } from "../random/rng.js";
import { GPTRewardModel } from "./common/rewardHead.js";
import type { OnStep, Trainer, TrainerLog } from "./common/trainer.js";
import type { ResolvedTrainingConfig } from "./common/trainingConfig.js";
import { DPOTrainer } from "./dpo/dpoTrainer.js";
import { KTOTrainer } from "./dpo/ktoTrainer.js";
import { GPT } from "./gpt.js";
import { GRPOTrainer } from "./grpo/grpoTrainer.js";
import { PPOTrainer } from "./ppo/ppoTrainer.js";
import { RewardTrainer } from "./reward/rewardTrainer.js";
import { SFTTrainer } from "./sft/sftTrainer.js";
import {
  gptConfig,
  newGpt,
  preferenceRows,
  sftRows,
  tokenizer,
  unpairedRows,
  words,
} from "./trainerRows.test.util.js";

// 12 rows, batches of 4: 3 steps an epoch, 2 epochs = 6 steps, with warmup so the schedule matters
const config = {
  learningRate: 3e-3,
  warmupRatio: 0.2,
  perDeviceTrainBatchSize: 4,
  numTrainEpochs: 2,
  loggingSteps: 2,
};

const root = mkdtempSync(join(tmpdir(), "proximal-trainer-resume-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Every tensor of a module's state dict, by name. */
function weights(model: Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.values)]));
}

type AnyTrainer = Trainer<unknown, ResolvedTrainingConfig>;
const cases: Record<string, (overrides?: object) => AnyTrainer> = {
  SFTTrainer: (overrides = {}) =>
    new SFTTrainer({
      model: newGpt(),
      tokenizer,
      trainDataset: sftRows,
      config: { ...config, ...overrides },
    }) as unknown as AnyTrainer,
  RewardTrainer: (overrides = {}) =>
    new RewardTrainer({
      model: new GPTRewardModel(newGpt(), { rng: new Rng(2) }),
      tokenizer,
      trainDataset: preferenceRows,
      config: { ...config, ...overrides },
    }) as unknown as AnyTrainer,
  DPOTrainer: (overrides = {}) =>
    new DPOTrainer({
      model: newGpt(),
      tokenizer,
      trainDataset: preferenceRows,
      config: { ...config, ...overrides },
    }) as unknown as AnyTrainer,
  KTOTrainer: (overrides = {}) =>
    new KTOTrainer({
      model: newGpt(),
      tokenizer,
      trainDataset: unpairedRows,
      config: { ...config, ...overrides },
    }) as unknown as AnyTrainer,
};

for (const [name, build] of Object.entries(cases)) {
  describe(`${name} checkpoint`, () => {
    test("a run stopped at step 4, saved and loaded into a new trainer ends bit-identical, logging the same means", async () => {
      const straightLogs: unknown[] = [];
      const straight = build();
      (straight as unknown as { onStep: unknown }).onStep = (log: {
        step: number;
        metrics: Record<string, number>;
      }) => {
        const { "time/tokensPerSecond": _t, ...metrics } = log.metrics;
        straightLogs.push({ step: log.step, ...metrics });
      };
      straight.train();
      assert.equal(straight.globalStep, 6);

      // step 3 is mid-window (loggingSteps 2) and an epoch boundary; stop there, then at 4 from a resume
      const first = build();
      first.train({ untilStep: 3 });
      assert.equal(first.globalStep, 3);
      const dir = join(root, `${name}-3`);
      await first.save(dir);
      const resumedLogs: unknown[] = [];
      const resumed = build();
      (resumed as unknown as { onStep: unknown }).onStep = (log: {
        step: number;
        metrics: Record<string, number>;
      }) => {
        const { "time/tokensPerSecond": _t, ...metrics } = log.metrics;
        resumedLogs.push({ step: log.step, ...metrics });
      };
      await resumed.load(dir);
      assert.equal(resumed.globalStep, 3);
      assert.deepEqual(weights(resumed.model), weights(first.model));
      resumed.train();
      assert.equal(resumed.globalStep, 6);
      assert.deepEqual(weights(resumed.model), weights(straight.model));
      assert.notDeepEqual(weights(resumed.model), weights(build().model)); // it trained
      // logs from step 4 on: the window of step 3 was carried over in the checkpoint
      assert.deepEqual(resumedLogs, straightLogs.slice(1));
    });

    test("a checkpoint of another config or other rows is refused naming the field, and changes nothing", async () => {
      const trainer = build();
      trainer.train({ untilStep: 2 });
      const dir = join(root, `${name}-refuse`);
      await trainer.save(dir);

      const other = build({ learningRate: 1e-3 });
      const before = weights(other.model);
      await assert.rejects(other.load(dir), (e: unknown) => {
        assert.ok(e instanceof ProximalError);
        assert.equal(e.code, "INVALID_OPTION");
        assert.match(e.message, /learningRate \(checkpoint 0\.003, this trainer 0\.001\)/);
        return true;
      });
      assert.deepEqual(weights(other.model), before);
      assert.equal(other.globalStep, 0);
      // loggingSteps does not change the maths: a resumed run may log more or less often
      await build({ loggingSteps: 5 }).load(dir);
    });
  });
}

describe("Trainer checkpoint refusals", () => {
  test("other rows are refused naming the row count and fingerprint", async () => {
    const dir = join(root, "rows");
    await cases.SFTTrainer().save(dir);
    const fewer = new SFTTrainer({ model: newGpt(), tokenizer, trainDataset: sftRows.slice(1), config });
    await assert.rejects(
      fewer.load(dir),
      /saved from a run over 12 rows \(fingerprint [0-9a-f]{8}\), but this trainer has 11/,
    );
  });

  test("another trainer's checkpoint is refused naming both trainers", async () => {
    const dir = join(root, "dpo");
    await cases.DPOTrainer().save(dir);
    await assert.rejects(cases.KTOTrainer().load(dir), /saved by DPOTrainer, not KTOTrainer/);
  });

  test("a model of another architecture (same shapes, other nHead) is refused naming gptConfig", async () => {
    const dir = join(root, "heads");
    await cases.SFTTrainer().save(dir);
    const fourHeads = new SFTTrainer({
      model: new GPT({ ...gptConfig, nHead: 4 }, { rng: new Rng(1) }),
      tokenizer,
      trainDataset: sftRows,
      config,
    });
    await assert.rejects(fourHeads.load(dir), /gptConfig\.nHead \(checkpoint 2, this trainer 4\)/);
  });

  test("DPO saves its reference: a trainer built over another policy resumes against the saved one", async () => {
    const dir = join(root, "dpo-ref");
    const first = cases.DPOTrainer() as unknown as DPOTrainer;
    first.train({ untilStep: 2 });
    await first.save(dir);
    const elsewhere = new DPOTrainer({
      model: new GPT(gptConfig, { rng: new Rng(9) }),
      tokenizer,
      trainDataset: preferenceRows,
      config,
    });
    await elsewhere.load(dir);
    assert.deepEqual(weights(elsewhere.refModel as GPT), weights(first.refModel as GPT));
    assert.notDeepEqual(weights(elsewhere.refModel as GPT), weights(elsewhere.model));
  });
});

describe("PPOTrainer checkpoint", () => {
  const prompts = words.map((w) => [tokenizer.bosTokenId, ...tokenizer.encode(`${w}=`)]);
  const rewardModel = () => new GPTRewardModel(newGpt(), { rng: new Rng(3) });
  const ppoConfig = {
    maxNewTokens: 3,
    miniBatchSize: 2,
    ppoEpochs: 2,
    klTarget: 1,
    learningRate: 1e-3,
    criticLearningRate: 1e-3,
  };
  const build = (overrides: object = {}, reward = rewardModel()) =>
    new PPOTrainer({ actor: newGpt(), rewardModel: reward }, { ...ppoConfig, ...overrides }, tokenizer, {
      trainDataset: prompts,
    });

  test("stopped after 2 of 4 updates (batch 8 of 12 prompts: crosses a pass), saved and loaded, it ends bit-identical", async () => {
    const straight = build();
    const straightStats = [1, 2, 3, 4].map(() => straight.trainStep(8));
    const first = build();
    first.trainStep(8);
    first.trainStep(8);
    const dir = join(root, "ppo");
    await first.save(dir);
    const resumed = build();
    await resumed.load(dir);
    assert.equal(resumed.globalStep, 2);
    assert.equal(resumed.klCoef, first.klCoef);
    assert.notEqual(resumed.klCoef, 0.1); // the adaptive controller moved it
    const resumedStats = [3, 4].map(() => resumed.trainStep(8));
    assert.deepEqual(resumedStats, straightStats.slice(2));
    assert.equal(resumed.globalStep, 4);
    assert.deepEqual(weights(resumed.actor), weights(straight.actor));
    assert.deepEqual(weights(resumed.critic), weights(straight.critic));
    assert.equal(resumed.klCoef, straight.klCoef);

    // the directory holds the actor (a policy) and the critic, each loadable on its own
    assert.deepEqual(weights(await PPOTrainer.loadModel(dir)), weights(first.actor));
    assert.deepEqual(weights(await PPOTrainer.loadCritic(dir)), weights(first.critic));
  });

  test("another config, other prompts or another reward model is refused naming the field", async () => {
    const dir = join(root, "ppo-refuse");
    const trainer = build();
    trainer.trainStep(4);
    await trainer.save(dir);
    await assert.rejects(build({ ppoEpochs: 1 }).load(dir), /ppoEpochs \(checkpoint 2, this trainer 1\)/);
    const fewer = new PPOTrainer({ actor: newGpt(), rewardModel: rewardModel() }, ppoConfig, tokenizer, {
      trainDataset: prompts.slice(1),
    });
    await assert.rejects(fewer.load(dir), /over 12 prompts .* this trainer has 11/);
    const otherReward = new GPTRewardModel(newGpt(), { rng: new Rng(4) });
    const refused = build({}, otherReward);
    const before = weights(refused.actor);
    await assert.rejects(
      refused.load(dir),
      /reward model with fingerprint [0-9a-f]{8}, this trainer's is [0-9a-f]{8}/,
    );
    assert.deepEqual(weights(refused.actor), before);
    assert.equal(refused.globalStep, 0);
  });
});

describe("one trainer shape", () => {
  const prompts = words.map((w) => [tokenizer.bosTokenId, ...tokenizer.encode(`${w}=`)]);
  const ppoConfig = { maxNewTokens: 3, miniBatchSize: 2, learningRate: 1e-3, criticLearningRate: 1e-3 };

  test("all six trainers have config, globalStep, totalSteps, step, train, save, load and loadModel", () => {
    const grpo = new GRPOTrainer({
      model: newGpt(),
      tokenizer,
      trainDataset: words.map((w) => ({ prompt: `${w}=` })),
      rewardFunctions: (_prompt: string, completion: string) => completion.length,
      config: { numGenerations: 2, perDeviceTrainBatchSize: 4, maxCompletionLength: 3, maxSteps: 2 },
    });
    const ppo = new PPOTrainer(
      { actor: newGpt(), rewardModel: new GPTRewardModel(newGpt(), { rng: new Rng(3) }) },
      ppoConfig,
      tokenizer,
      { trainDataset: prompts, batchSize: 4 },
    );
    const trainers: Record<string, object> = {
      ...Object.fromEntries(Object.entries(cases).map(([name, build]) => [name, build()])),
      PPOTrainer: ppo,
      GRPOTrainer: grpo,
    };
    const classes = [SFTTrainer, RewardTrainer, DPOTrainer, KTOTrainer, PPOTrainer, GRPOTrainer];
    assert.equal(Object.keys(trainers).length, 6);
    for (const [name, trainer] of Object.entries(trainers)) {
      const t = trainer as Record<string, unknown>;
      assert.equal(typeof t.config, "object", name);
      assert.equal(t.globalStep, 0, name);
      assert.ok(Number.isInteger(t.totalSteps) && (t.totalSteps as number) > 0, name);
      for (const method of ["step", "train", "save", "load"])
        assert.equal(typeof t[method], "function", `${name}.${method}`);
    }
    for (const cls of classes) assert.equal(typeof cls.loadModel, "function", `${cls.name}.loadModel`);
  });

  test("step() one call at a time takes the steps train() takes (SFT)", () => {
    const stepped = cases.SFTTrainer();
    while (stepped.globalStep < stepped.totalSteps) stepped.step();
    const trained = cases.SFTTrainer();
    trained.train();
    assert.deepEqual(weights(stepped.model), weights(trained.model));
    assert.throws(
      () => stepped.step(),
      (e) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });

  test("PPO's train() runs batchSize-prompt steps over one pass and calls onStep every loggingSteps", () => {
    const build = (onStep?: OnStep) =>
      new PPOTrainer(
        { actor: newGpt(), rewardModel: new GPTRewardModel(newGpt(), { rng: new Rng(3) }) },
        ppoConfig,
        tokenizer,
        { trainDataset: prompts, batchSize: 4, loggingSteps: 2, onStep },
      );
    const logs: TrainerLog[] = [];
    const trained = build((log) => {
      logs.push(log);
      return undefined;
    });
    assert.equal(trained.totalSteps, 3); // 12 prompts in batches of 4
    trained.train();
    assert.deepEqual(
      logs.map((l) => [l.step, l.totalSteps]),
      [
        [2, 3],
        [3, 3],
      ],
    );
    assert.ok(Number.isFinite(logs[0].metrics["rollout/score"]));
    const stepped = build();
    const stats = [1, 2, 3].map(() => stepped.trainStep(4));
    assert.deepEqual(weights(stepped.actor), weights(trained.actor));
    assert.equal(logs[1].metrics["rollout/score"], stats[2]["rollout/score"]);
    // onStep returning false stops the run
    const stopped = build(() => false);
    stopped.train();
    assert.equal(stopped.globalStep, 2);
  });

  test("PPO built from one arguments object trains as when built from the positional form", () => {
    const rewardModel = () => new GPTRewardModel(newGpt(), { rng: new Rng(3) });
    const positional = new PPOTrainer({ actor: newGpt(), rewardModel: rewardModel() }, ppoConfig, tokenizer, {
      trainDataset: prompts,
      batchSize: 4,
    });
    const fromArgs = new PPOTrainer({
      actor: newGpt(),
      rewardModel: rewardModel(),
      tokenizer,
      config: ppoConfig,
      trainDataset: prompts,
      batchSize: 4,
    });
    assert.equal(fromArgs.config.miniBatchSize, 2);
    assert.deepEqual(fromArgs.step(), positional.step());
    assert.deepEqual(weights(fromArgs.actor), weights(positional.actor));
  });
});
