/**
 * LoRA through every RLHF trainer (SFT, reward, PPO, DPO, KTO, GRPO): after a couple of steps only the
 * adapters (and a reward or value head left trainable) have moved, the frozen base is bit-identical,
 * and the reference of the KL-regularised trainers is the policy's own base with the adapters off:
 * no weights of its own, and its log-probs are the base model's. A 1-layer width-16 GPT (trainerRows.test.util.ts), two steps.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { applyLora, loraAdapters } from "../nn/lora.js";
import type { Module } from "../nn/module.js";
import { Rng } from "../random/rng.js";
import { noGrad, type Tensor } from "../tensor/tensor.js";
import { tokenLogProbs } from "./common/logProbs.js";
import type { PolicyModel } from "./common/policyModel.js";
import { LoraBaseReference, type ReferencePolicy } from "./common/referenceModel.js";
import { GPTRewardModel } from "./common/rewardHead.js";
import { collatePairs, tokenizePair } from "./common/sequenceBatch.js";
import { GPTWithValueHead } from "./common/valueHead.js";
import { DPOTrainer } from "./dpo/dpoTrainer.js";
import { KTOTrainer } from "./dpo/ktoTrainer.js";
import type { GPT } from "./gpt.js";
import { GRPOTrainer } from "./grpo/grpoTrainer.js";
import { PPOTrainer } from "./ppo/ppoTrainer.js";
import { RewardTrainer } from "./reward/rewardTrainer.js";
import { SFTTrainer } from "./sft/sftTrainer.js";
import { newGpt, preferenceRows, sftRows, tokenizer, unpairedRows, words } from "./trainerRows.test.util.js";

const lora = { rank: 2, alpha: 4, targetModules: ["c_attn", "c_fc"] };
const loraGpt = () => {
  const model = newGpt();
  applyLora(model, lora);
  return model;
};
const trainerConfig = { learningRate: 1e-2, perDeviceTrainBatchSize: 4, maxSteps: 2, loggingSteps: 1 };

const root = mkdtempSync(join(tmpdir(), "proximal-lora-trainers-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Copies of every tensor of `model`, by name. */
function snapshot(model: Module): Map<string, Float32Array> {
  return new Map(model.namedParameters().map(([name, p]) => [name, (p.data as Float32Array).slice()]));
}

/** Names of `model`'s tensors that differ from `before`. */
function changed(model: Module, before: Map<string, Float32Array>): string[] {
  return model
    .namedParameters()
    .filter(([name, p]) => {
      const old = before.get(name) as Float32Array;
      return p.data.some((v, i) => v !== old[i]);
    })
    .map(([name]) => name);
}

/** Parameter names of the adapters of `model` (under `prefix`). */
function adapterNames(model: Module, prefix = ""): string[] {
  return [...loraAdapters(model).keys()].flatMap((n) => [
    `${prefix}${n}.lora_A.weight`,
    `${prefix}${n}.lora_B.weight`,
  ]);
}

/** Response log-probs of the preference rows under `model`. */
function logProbsOf(model: GPT | ReferencePolicy): number[] {
  const pairs = preferenceRows.map((r) => tokenizePair(tokenizer, r.prompt, r.chosen, 16));
  const { inputIds, attentionMask, responseMask } = collatePairs(pairs, tokenizer.padTokenId);
  return Array.from(
    noGrad(() => tokenLogProbs(model, inputIds, attentionMask, responseMask) as Tensor).values,
  );
}

/** The reference shares the policy's base arrays (no copy) and computes what the untouched base computes. */
function assertReferenceIsBase(reference: ReferencePolicy | null, policy: PolicyModel): void {
  assert.ok(reference instanceof LoraBaseReference);
  assert.equal(reference.policy, policy);
  const policyArrays = new Set(policy.parameters().map((p) => p.data));
  const referenceTensors = reference.parameters();
  assert.equal(referenceTensors.length, newGpt().parameters().length);
  assert.ok(referenceTensors.every((p) => policyArrays.has(p.data) && !p.requiresGrad));
  assert.deepEqual(logProbsOf(reference), logProbsOf(newGpt()));
}

/** After training: the adapters all moved, nothing else did but `alsoTrained`. */
function assertOnlyAdaptersMoved(
  model: Module,
  before: Map<string, Float32Array>,
  alsoTrained: string[] = [],
): void {
  const moved = changed(model, before);
  assert.deepEqual(moved.sort(), [...adapterNames(model), ...alsoTrained].sort());
}

describe("LoRA in every RLHF trainer: only adapters train, the reference is the shared base", () => {
  test("SFTTrainer", () => {
    const model = loraGpt();
    const before = snapshot(model);
    const trainer = new SFTTrainer({ model, tokenizer, trainDataset: sftRows, config: trainerConfig });
    assert.equal(trainer.optimizer.paramGroups[0].params.length, adapterNames(model).length);
    trainer.train();
    assertOnlyAdaptersMoved(model, before);
  });

  test("RewardTrainer: the backbone's adapters and the score head", () => {
    const model = new GPTRewardModel(newGpt(), { rng: new Rng(2) });
    applyLora(model.transformer, lora);
    const before = snapshot(model);
    new RewardTrainer({ model, tokenizer, trainDataset: preferenceRows, config: trainerConfig }).train();
    const heads = model.namedParameters().filter(([n]) => n.startsWith("score."));
    assert.ok(heads.length > 0);
    assertOnlyAdaptersMoved(
      model,
      before,
      heads.map(([n]) => n),
    );
  });

  for (const [name, build] of [
    [
      "DPOTrainer",
      (model: GPT) =>
        new DPOTrainer({ model, tokenizer, trainDataset: preferenceRows, config: trainerConfig }),
    ],
    [
      "KTOTrainer",
      (model: GPT) => new KTOTrainer({ model, tokenizer, trainDataset: unpairedRows, config: trainerConfig }),
    ],
  ] as const) {
    test(`${name}: reference = base with the adapters off, kept across save and load`, async () => {
      const model = loraGpt();
      const before = snapshot(model);
      const trainer = build(model);
      assertReferenceIsBase(trainer.refModel, model);
      trainer.train({ untilStep: 1 });
      const dir = join(root, name);
      await trainer.save(dir);
      trainer.train();
      assertOnlyAdaptersMoved(model, before);
      assertReferenceIsBase(trainer.refModel, model);
      assert.notDeepEqual(logProbsOf(model), logProbsOf(trainer.refModel)); // the policy moved away from it
      const resumed = build(loraGpt());
      await resumed.load(dir);
      resumed.train();
      assert.deepEqual(snapshot(resumed.model), snapshot(model));
      assertReferenceIsBase(resumed.refModel, resumed.model as GPT);
    });
  }

  test("PPOTrainer: actor adapters; a critic with its own adapter trains it and its value head; resumes", async () => {
    const build = () => {
      const actor = loraGpt();
      const critic = new GPTWithValueHead(newGpt(), { rng: new Rng(4) });
      applyLora(critic.transformer, lora);
      const trainer = new PPOTrainer(
        { actor, critic, rewardModel: new GPTRewardModel(newGpt(3), { rng: new Rng(3) }) },
        { maxNewTokens: 3, miniBatchSize: 2, ppoEpochs: 1, learningRate: 1e-2, criticLearningRate: 1e-2 },
        tokenizer,
        { trainDataset: words.map((w) => [tokenizer.bosTokenId, ...tokenizer.encode(`${w}=`)]) },
      );
      return { actor, critic, trainer };
    };
    const { actor, critic, trainer } = build();
    const actorBefore = snapshot(actor);
    const criticBefore = snapshot(critic);
    assertReferenceIsBase(trainer.reference, actor);
    trainer.trainStep(4);
    const dir = join(root, "PPOTrainer");
    await trainer.save(dir);
    trainer.trainStep(4);
    assertOnlyAdaptersMoved(actor, actorBefore);
    assertOnlyAdaptersMoved(
      critic,
      criticBefore,
      critic.namedParameters().flatMap(([n]) => (n.startsWith("v_head.") ? [n] : [])),
    );
    assertReferenceIsBase(trainer.reference, actor);
    const resumed = build();
    await resumed.trainer.load(dir);
    resumed.trainer.trainStep(4);
    assert.deepEqual(snapshot(resumed.actor), snapshot(actor));
    assert.deepEqual(snapshot(resumed.critic), snapshot(critic));
  });

  test("GRPOTrainer (beta > 0, so the KL uses the reference), resumed bit-identically", async () => {
    const build = (model: GPT) =>
      new GRPOTrainer({
        model,
        tokenizer,
        trainDataset: words.map((w) => ({ prompt: `${w}=` })),
        // varies within a group from the first step on, so both steps move the adapters
        rewardFunctions: (_prompt: string, completion: string) =>
          completion.length + completion.split("a").length,
        config: {
          numGenerations: 4,
          perDeviceTrainBatchSize: 8,
          maxCompletionLength: 3,
          maxSteps: 2,
          beta: 0.1,
          learningRate: 1e-2,
        },
      });
    const model = loraGpt();
    const before = snapshot(model);
    const trainer = build(model);
    assertReferenceIsBase(trainer.refModel, model);
    trainer.step();
    const dir = join(root, "GRPOTrainer");
    await trainer.save(dir);
    trainer.step();
    assertOnlyAdaptersMoved(model, before);
    assertReferenceIsBase(trainer.refModel, model);
    const resumed = build(loraGpt());
    await resumed.load(dir);
    resumed.step();
    assert.deepEqual(snapshot(resumed.model), snapshot(model));
    assertReferenceIsBase(resumed.refModel, resumed.model);
  });
});
