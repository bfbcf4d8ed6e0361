/**
 * PPO for RLHF with four models (Ouyang et al. 2022, arXiv:2203.02155, §3.5; Ziegler et al. 2019,
 * arXiv:1909.08593), written after DeepSpeed-Chat's `step3_rlhf_finetuning/ppo_trainer.py`
 * (Yao et al. 2023, arXiv:2308.01320):
 * - actor: the policy, initialised from the SFT model and trained;
 * - reference: a frozen copy of the SFT model, for the per-token KL penalty;
 * - reward model: frozen, scores the whole prompt + response at its last real token;
 * - critic: per-token values, initialised from the reward model (trunk and head, as DeepSpeed-Chat
 *   loads the reward checkpoint into its critic) and trained.
 *
 * One {@link PPOTrainer.step}: sample responses → score them with the four models →
 * {@link computeTokenRewards} → {@link gaeOverTokens} → `ppoEpochs` passes of minibatches, each one
 * actor step on {@link actorLoss} and one critic step on {@link criticLoss} → adaptive KL update.
 *
 * The formulas are in `loss.ts`. Reuses `computeGae` from `rl/common` (GAE is written once), and from
 * `rlhf/common` the sequence batches, `responseLogProbs`/`responseValues`, the KL estimator, the
 * clipped surrogate, `maskedWhiten` and the checkpoint checks; sampling is {@link generate}.
 *
 * Checkpoints: {@link PPOTrainer.save} writes everything a run carries from one update to the next
 * (actor, critic, reference, both Adam states, both generators, the prompt order and position, the
 * update counter and β of the adaptive KL controller), and {@link PPOTrainer.load} continues it
 * bit-identically.
 */
import { ProximalError } from "../../errors.js";
import { addPrefix, loadCheckpoint, saveCheckpoint, withPrefix } from "../../io/checkpoint.js";
import { Adam } from "../../optim/adam.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import { Rng } from "../../random/rng.js";
import { noGrad, type Tensor } from "../../tensor/tensor.js";
import { approxKl } from "../common/clippedSurrogate.js";
import { klEstimateValue } from "../common/kl.js";
import { responseLogProbs, responseValues } from "../common/logProbs.js";
import { MetricWindow } from "../common/metricWindow.js";
import {
  defaultReference,
  type ReferencePolicy,
  referenceTensors,
  restoredReference,
} from "../common/referenceModel.js";
import type { GPTRewardModel } from "../common/rewardHead.js";
import { type SequenceBatch, subBatch, takeColumns, takeRows } from "../common/sequenceBatch.js";
import type { OnStep, TrainOptions } from "../common/trainer.js";
import {
  checkPromptOrder,
  checkSameConfig,
  checkSamePrompts,
  checkTrainerName,
  isRecord,
  loadSavedGpt,
  modelTensors,
  tensorsFingerprint,
} from "../common/trainerCheckpoint.js";
import { GPTWithValueHead } from "../common/valueHead.js";
import { maskedWhiten } from "../common/whiten.js";
import { generate } from "../generate.js";
import { cloneGPT, type GPT, type GPTConfig } from "../gpt.js";
import {
  PPO_TRAINER_NAME,
  type PPOCheckpointJson,
  parsePPOCheckpointJson,
  promptsFingerprint,
} from "./checkpointJson.js";
import { actorLoss, adaptiveKlCoef, computeTokenRewards, criticLoss, gaeOverTokens } from "./loss.js";
import { type PPOConfig, type ResolvedPPOConfig, resolvePPOConfig } from "./ppoConfig.js";

// ============================================================================================
// the trainer

/** Metrics of one {@link PPOTrainer.step}, keyed `group/name`. */
export interface PPOStepStats {
  /** Mean reward-model score of the batch (before clipping and the EOS penalty). */
  "rollout/score": number;
  /** KL to the reference per sequence (Σ over response tokens of the configured estimator), batch mean. */
  "rollout/klToRef": number;
  /** Σ_t -β·KL_t per sequence, batch mean (TRL `objective/non_score_reward`). */
  "rollout/nonScoreReward": number;
  /** Mean number of response tokens (EOS included). */
  "rollout/responseLength": number;
  /** Fraction of responses that ended with EOS. */
  "rollout/eosFraction": number;
  "train/policyLoss": number;
  "train/valueLoss": number;
  /** Fraction of response tokens whose ratio left [1-ε, 1+ε] (mean over minibatches). */
  "train/clipFraction": number;
  /** Mean entropy (nats) of the actor's next-token distribution over response tokens. */
  "train/entropy": number;
  /** `mean((ratio - 1) - log ratio)` between the updated and the sampling actor (Schulman's k3). */
  "train/approxKl": number;
  /** β used for this batch's rewards. */
  "train/klCoef": number;
}

/** The models of {@link PPOTrainer}. */
export interface PPOModels {
  /** The SFT model; trained in place as the actor. */
  actor: GPT;
  /** Frozen reward model. */
  rewardModel: GPTRewardModel;
  /**
   * Frozen reference. @defaultValue a frozen copy of `actor` taken at construction, or, when `actor`
   * has LoRA adapters, `actor` itself with the adapters off (no copy; `LoraBaseReference`)
   */
  reference?: GPT;
  /** Critic. @defaultValue a copy of the reward model's trunk with its score head as value head */
  critic?: GPTWithValueHead;
}

/**
 * Arguments of {@link PPOTrainer} as one object, the shape of the other trainers' arguments: its
 * models, the tokenizer (only its `eosTokenId` and `padTokenId` are read), the config and the options.
 */
export interface PPOTrainerArgs extends PPOModels, PPOTrainerOptions {
  tokenizer: { eosTokenId: number; padTokenId: number };
  config?: PPOConfig;
}

/** Options of {@link PPOTrainer} beyond its models, config and special tokens. */
export interface PPOTrainerOptions {
  /**
   * Tokenized prompts (bos + prompt ids, no padding) that {@link PPOTrainer.train},
   * {@link PPOTrainer.trainStep} and `step()` without prompts draw batches from in a seeded order,
   * reshuffled after each pass. `step(prompts)` needs none. @defaultValue none
   */
  trainDataset?: number[][];
  /**
   * Prompts per PPO iteration when the trainer draws them ({@link PPOTrainer.train}, `step()`); a
   * multiple of `miniBatchSize`. @defaultValue `miniBatchSize`
   */
  batchSize?: number;
  /** PPO iterations of a full {@link PPOTrainer.train} run. @defaultValue one pass over `trainDataset`: `ceil(prompts / batchSize)` */
  maxSteps?: number;
  /** Call `onStep` every this many PPO iterations (and after the last). @defaultValue 1 */
  loggingSteps?: number;
  /** Called by {@link PPOTrainer.train} with the metrics averaged since its last call; return false to stop. */
  onStep?: OnStep;
}

/**
 * RLHF PPO with actor, critic, reward and reference models; see the file header.
 * Matches DeepSpeed-Chat's step-3 loop (`generate_experience`, `compute_rewards`,
 * `get_advantages_and_returns`, `actor_loss_fn`, `critic_loss_fn`) and adds what TRL and OpenRLHF
 * users expect: the adaptive KL controller, the k3 estimator, advantage whitening and the missing-EOS
 * penalty ({@link PPOConfig}). Differs from DeepSpeed-Chat: log-probs are indexed in response
 * coordinates (so no `start`/`ends` arithmetic) and the last real token is read off the response mask.
 *
 * @example
 * const trainer = new PPOTrainer({ actor: sft, rewardModel }, { klCoef: 0.1, miniBatchSize: 8 }, { eosTokenId: 2, padTokenId: 0 });
 * for (let i = 0; i < 50; i++) console.log(trainer.step(promptBatch(i))["rollout/score"]);
 */
export class PPOTrainer {
  readonly config: ResolvedPPOConfig;
  readonly actor: GPT;
  readonly rewardModel: GPTRewardModel;
  readonly critic: GPTWithValueHead;
  /** Current β (changes only with the adaptive controller). */
  klCoef: number;
  /** PPO iterations ({@link PPOTrainer.step} calls) taken; restored by {@link PPOTrainer.load}. */
  globalStep = 0;
  private referenceModel: ReferencePolicy;
  private readonly actorOptimizer: Adam;
  private readonly criticOptimizer: Adam;
  /** Sampling and minibatch order. */
  private readonly rng: Rng;
  /** Prompt order of {@link PPOTrainer.trainStep}, a stream of its own (same seed). */
  private readonly promptRng: Rng;
  private readonly trainDataset: number[][];
  /** Prompts per iteration of {@link PPOTrainer.train} and `step()`. */
  readonly batchSize: number;
  private readonly maxSteps: number | undefined;
  private readonly loggingSteps: number;
  private readonly onStep: OnStep | undefined;
  private order: Int32Array;
  private cursor = 0;
  private readonly eosTokenId: number;
  private readonly padTokenId: number;

  /** Build from one arguments object, as every other RLHF trainer is built. */
  constructor(args: PPOTrainerArgs);
  /** Build from the models, the config, the special tokens and the options (the original form). */
  constructor(
    models: PPOModels,
    config: PPOConfig,
    tokens: { eosTokenId: number; padTokenId: number },
    options?: PPOTrainerOptions,
  );
  constructor(
    modelsOrArgs: PPOModels | PPOTrainerArgs,
    configOrNothing?: PPOConfig,
    tokensOrNothing?: { eosTokenId: number; padTokenId: number },
    optionsOrNothing: PPOTrainerOptions = {},
  ) {
    const fromArgs = tokensOrNothing === undefined;
    const models = modelsOrArgs;
    const config = fromArgs ? ((modelsOrArgs as PPOTrainerArgs).config ?? {}) : (configOrNothing ?? {});
    const tokens = fromArgs ? (modelsOrArgs as PPOTrainerArgs).tokenizer : tokensOrNothing;
    const options: PPOTrainerOptions = fromArgs ? (modelsOrArgs as PPOTrainerArgs) : optionsOrNothing;
    if (tokens === undefined) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "PPOTrainer: pass { actor, rewardModel, tokenizer, config, ... }, or (models, config, tokens, options).",
      );
    }
    this.config = resolvePPOConfig(config);
    this.rng = new Rng(this.config.seed);
    this.actor = models.actor;
    this.referenceModel = models.reference ?? defaultReference(models.actor);
    this.rewardModel = models.rewardModel;
    this.critic = models.critic ?? criticFromRewardModel(models.rewardModel, this.rng);
    this.klCoef = this.config.klCoef;
    this.eosTokenId = tokens.eosTokenId;
    this.padTokenId = tokens.padTokenId;
    this.actorOptimizer = new Adam(this.actor.trainableParameters(), { lr: this.config.learningRate });
    this.criticOptimizer = new Adam(this.critic.trainableParameters(), {
      lr: this.config.criticLearningRate,
    });
    this.trainDataset = options.trainDataset ?? [];
    this.batchSize = options.batchSize ?? this.config.miniBatchSize;
    this.maxSteps = options.maxSteps;
    this.loggingSteps = options.loggingSteps ?? 1;
    this.onStep = options.onStep;
    for (const [key, value] of [
      ["batchSize", this.batchSize],
      ["maxSteps", this.maxSteps ?? 1],
      ["loggingSteps", this.loggingSteps],
    ] as const) {
      if (!Number.isInteger(value) || value < 1)
        throw new ProximalError(
          "INVALID_OPTION",
          `PPOTrainer: ${key} must be a positive integer, got ${value}.`,
        );
    }
    if (this.batchSize % this.config.miniBatchSize !== 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        `PPOTrainer: batchSize (${this.batchSize}) must be a multiple of miniBatchSize (${this.config.miniBatchSize}).`,
      );
    }
    this.promptRng = new Rng(this.config.seed);
    this.order = this.promptRng.permutation(this.trainDataset.length);
  }

  /** The frozen reference; {@link PPOTrainer.load} replaces it with the one saved in the checkpoint. */
  get reference(): ReferencePolicy {
    return this.referenceModel;
  }

  /** The next `batchSize` prompts of `trainDataset` in a seeded order, reshuffled after each pass. */
  nextPrompts(batchSize: number): number[][] {
    const n = this.trainDataset.length;
    if (n === 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "PPOTrainer.nextPrompts: the trainer has no trainDataset. Pass { trainDataset } to the constructor, or call step(prompts).",
      );
    }
    const batch: number[][] = [];
    while (batch.length < batchSize) {
      if (this.cursor === this.order.length) {
        this.order = this.promptRng.permutation(n);
        this.cursor = 0;
      }
      batch.push(this.trainDataset[this.order[this.cursor++]]);
    }
    return batch;
  }

  /**
   * PPO iterations of a full {@link PPOTrainer.train} run: `maxSteps`, or one pass over
   * `trainDataset` in batches of `batchSize` (0 without a `trainDataset`).
   */
  get totalSteps(): number {
    return this.maxSteps ?? Math.ceil(this.trainDataset.length / this.batchSize);
  }

  /**
   * Run {@link PPOTrainer.step} on batches of `batchSize` prompts drawn from `trainDataset` until
   * {@link PPOTrainer.totalSteps} iterations (continuing from `globalStep` after a
   * {@link PPOTrainer.load}), until `options.untilStep`, or until `onStep` returns false; `onStep`
   * gets the metrics averaged over the iterations since its last call every `loggingSteps`
   * iterations and after the last. Returns the last logged metrics.
   */
  train(options: TrainOptions = {}): Record<string, number> {
    const totalSteps = this.totalSteps;
    const untilStep = Math.min(options.untilStep ?? totalSteps, totalSteps);
    const window = new MetricWindow();
    let last: Record<string, number> = {};
    while (this.globalStep < untilStep) {
      window.add(this.step() as unknown as Record<string, number>);
      if (this.globalStep % this.loggingSteps === 0 || this.globalStep === totalSteps) {
        last = window.means();
        window.clear();
        if (this.onStep?.({ step: this.globalStep, totalSteps, metrics: last }) === false) break;
      }
    }
    return last;
  }

  /** {@link PPOTrainer.step} on the next `batchSize` prompts of `trainDataset` ({@link PPOTrainer.nextPrompts}). */
  trainStep(batchSize: number): PPOStepStats {
    return this.step(this.nextPrompts(batchSize));
  }

  /** Sample responses to `prompts` (token ids, no padding) and return them as a {@link SequenceBatch}. */
  sample(prompts: number[][], model: GPT = this.actor, rng: Rng = this.rng): SequenceBatch {
    const c = this.config;
    const out = generate(model, prompts, {
      maxNewTokens: c.maxNewTokens,
      doSample: true,
      temperature: c.temperature,
      topK: c.topK,
      topP: c.topP,
      eosTokenId: this.eosTokenId,
      padTokenId: this.padTokenId,
      rng,
    });
    // drop the columns after the longest response (generate stops when every sequence has)
    const responseLength = Math.max(...out.responseLengths);
    const promptLength = out.sequences.shape[1] - c.maxNewTokens;
    const trim = (x: Tensor, keep: number): Tensor => (keep === x.shape[1] ? x : takeColumns(x, keep));
    return {
      sequences: trim(out.sequences, promptLength + responseLength),
      attentionMask: trim(out.attentionMask, promptLength + responseLength),
      promptLength,
      responseIds: trim(out.responseIds, responseLength),
      responseMask: trim(out.responseMask, responseLength),
    };
  }

  /** One PPO iteration on a batch of prompts; returns its metrics. */
  step(prompts: number[][] = this.nextPrompts(this.batchSize)): PPOStepStats {
    const c = this.config;
    const batchSize = prompts.length;
    if (batchSize % c.miniBatchSize !== 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `PPOTrainer.step: ${batchSize} prompts do not split into minibatches of ${c.miniBatchSize}. Pass a multiple of miniBatchSize.`,
      );
    }

    // 1. experience: sample, then score with all four models (DeepSpeed-Chat generate_experience)
    const batch = this.sample(prompts);
    const mask = batch.responseMask; // [B, R]
    const { oldLogProbs, refLogProbs, oldValues, scores } = noGrad(() => ({
      oldLogProbs: responseLogProbs(this.actor, batch, c.temperature).logProbs,
      refLogProbs: responseLogProbs(this.reference, batch, c.temperature).logProbs,
      oldValues: responseValues(this.critic, batch),
      scores: this.rewardModel.forward(batch.sequences, { attentionMask: batch.attentionMask }),
    }));
    const rawScores = scores.values.slice();
    const endedWithEos = this.endedWithEos(batch);
    if (c.nonEosPenalty) {
      // TRL non_eos_penalty: a response that never stopped gets a fixed score instead of the model's
      for (let b = 0; b < batchSize; b++) if (!endedWithEos[b]) scores.values[b] = c.penaltyRewardValue;
    }

    // 2. rewards and advantages (compute_rewards, get_advantages_and_returns)
    const rewards = computeTokenRewards(
      oldLogProbs,
      refLogProbs,
      scores,
      mask,
      this.klCoef,
      c.clipRewardValue,
      c.klEstimator,
    );
    const gae = gaeOverTokens(rewards, oldValues, mask, c.gamma, c.lam);
    const advantages = c.whitenAdvantages ? maskedWhiten(gae.advantages, mask) : gae.advantages;
    const returns = gae.returns;

    // 3. ppoEpochs over minibatches: one actor step and one critic step each (DeepSpeed-Chat's train_rlhf)
    let policyLossSum = 0;
    let valueLossSum = 0;
    let clipFractionSum = 0;
    let approxKlSum = 0;
    let entropySum = 0;
    let updates = 0;
    for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
      const order = this.rng.permutation(batchSize);
      for (let start = 0; start < batchSize; start += c.miniBatchSize) {
        const rows = order.subarray(start, start + c.miniBatchSize);
        const minibatch = subBatch(batch, rows);
        const minibatchMask = minibatch.responseMask;
        const minibatchOldLogProbs = takeRows(oldLogProbs, rows);

        const { logProbs, entropy } = responseLogProbs(this.actor, minibatch, c.temperature);
        const policyLoss = actorLoss(
          logProbs,
          minibatchOldLogProbs,
          takeRows(advantages, rows),
          minibatchMask,
          c.cliprange,
        );
        this.actorOptimizer.zeroGrad();
        policyLoss.backward();
        clipGradNorm(this.actor.trainableParameters(), c.maxGradNorm);
        this.actorOptimizer.step();

        const values = responseValues(this.critic, minibatch);
        const valueLoss = criticLoss(
          values,
          takeRows(oldValues, rows),
          takeRows(returns, rows),
          minibatchMask,
          c.cliprangeValue,
        );
        this.criticOptimizer.zeroGrad();
        valueLoss.backward();
        clipGradNorm(this.critic.trainableParameters(), c.maxGradNorm);
        this.criticOptimizer.step();

        policyLossSum += policyLoss.item();
        valueLossSum += valueLoss.item();
        clipFractionSum += clipFraction(
          logProbs.values,
          minibatchOldLogProbs.values,
          minibatchMask.values,
          c.cliprange,
        );
        approxKlSum += approxKl(logProbs, minibatchOldLogProbs, minibatchMask);
        entropySum += entropy;
        updates++;
      }
    }

    // 4. statistics of the batch, then the adaptive KL controller (Ziegler et al. 2019)
    let klSum = 0;
    let nonScoreSum = 0;
    let lengthSum = 0;
    const R = mask.shape[1];
    for (let b = 0; b < batchSize; b++) {
      for (let t = 0; t < R; t++) {
        const i = b * R + t;
        if (mask.values[i] === 0) continue;
        const kl = klEstimateValue(oldLogProbs.values[i], refLogProbs.values[i], c.klEstimator);
        klSum += kl;
        nonScoreSum += -this.klCoef * kl;
        lengthSum++;
      }
    }
    const meanKl = klSum / batchSize;
    const stats: PPOStepStats = {
      "rollout/score": mean(rawScores),
      "rollout/klToRef": meanKl,
      "rollout/nonScoreReward": nonScoreSum / batchSize,
      "rollout/responseLength": lengthSum / batchSize,
      "rollout/eosFraction": endedWithEos.filter(Boolean).length / batchSize,
      "train/policyLoss": policyLossSum / updates,
      "train/valueLoss": valueLossSum / updates,
      "train/clipFraction": clipFractionSum / updates,
      "train/entropy": entropySum / updates,
      "train/approxKl": approxKlSum / updates,
      "train/klCoef": this.klCoef,
    };
    if (c.klTarget !== null)
      this.klCoef = adaptiveKlCoef(this.klCoef, meanKl, c.klTarget, batchSize, c.klHorizon);
    this.globalStep++;
    return stats;
  }

  /**
   * Write a checkpoint of the run to `dir` (see `saveCheckpoint`; each file atomically). The
   * actor is saved under its own names (so {@link PPOTrainer.loadModel}, or any policy loader that
   * skips the prefixed names, reads it), the critic under `critic.*` ({@link PPOTrainer.loadCritic}),
   * the reference under `refModel.*`, the Adam states under `optimizer.actor.*` and
   * `optimizer.critic.*`; `model.json` holds the config, the counters, β, both generators, the
   * prompt order and position, and fingerprints of the prompts and of the frozen reward model.
   */
  async save(dir: string): Promise<void> {
    const actorState = this.actorOptimizer.getState();
    const criticState = this.criticOptimizer.getState();
    const json: PPOCheckpointJson = {
      trainer: PPO_TRAINER_NAME,
      gptConfig: this.actor.config,
      criticGptConfig: this.critic.transformer.config,
      config: this.config,
      globalStep: this.globalStep,
      klCoef: this.klCoef,
      optimizers: { actor: actorState.json, critic: criticState.json },
      rng: this.rng.getState(),
      promptRng: this.promptRng.getState(),
      order: Array.from(this.order),
      cursor: this.cursor,
      dataset: { rows: this.trainDataset.length, fingerprint: promptsFingerprint(this.trainDataset) },
      rewardModel: tensorsFingerprint(this.rewardModel.stateDict()),
      tokens: { eosTokenId: this.eosTokenId, padTokenId: this.padTokenId },
    };
    await saveCheckpoint(dir, {
      tensors: {
        ...this.actor.stateDict(),
        ...addPrefix(this.critic.stateDict(), "critic"),
        ...referenceTensors(this.referenceModel),
        ...addPrefix(actorState.tensors, "optimizer.actor"),
        ...addPrefix(criticState.tensors, "optimizer.critic"),
      },
      json: json as unknown as Record<string, unknown>,
    });
  }

  /**
   * Restore a {@link PPOTrainer.save} into this trainer, which must have been built with the same
   * config (every field), the same reward model, the same `trainDataset` in the same order and models
   * of the same shapes; then {@link PPOTrainer.trainStep} continues the saved run bit-identically.
   * Actor and critic are loaded in place; the reference is replaced by a new frozen copy holding the
   * saved one. A refused checkpoint names the field and changes nothing.
   */
  async load(dir: string): Promise<void> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, PPO_TRAINER_NAME);
    const saved = parsePPOCheckpointJson(json, dir);
    checkSameConfig(PPO_TRAINER_NAME, saved.config, this.config, dir, []);
    for (const [field, value] of [
      ["gptConfig", this.actor.config],
      ["criticGptConfig", this.critic.transformer.config],
      ["tokens", { eosTokenId: this.eosTokenId, padTokenId: this.padTokenId }],
    ] as const) {
      if (JSON.stringify(saved[field]) !== JSON.stringify(value)) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `PPOTrainer.load: ${dir} has ${field} ${JSON.stringify(saved[field])}, this trainer ${JSON.stringify(value)}. Build the trainer over models and a tokenizer like the saved ones.`,
        );
      }
    }
    const n = this.trainDataset.length;
    checkSamePrompts(PPO_TRAINER_NAME, saved.dataset, n, promptsFingerprint(this.trainDataset), dir);
    const rewardModel = tensorsFingerprint(this.rewardModel.stateDict());
    if (saved.rewardModel !== rewardModel) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `PPOTrainer.load: ${dir} was trained against a reward model with fingerprint ${saved.rewardModel}, this trainer's is ${rewardModel}. Pass the reward model the run started with.`,
      );
    }
    checkPromptOrder(saved.order, saved.cursor, n, dir);
    // everything that can fail runs before the first change: throwaway optimizers check the states,
    // loadStateDict checks before it copies
    const actorState = { tensors: withPrefix(tensors, "optimizer.actor"), json: saved.optimizers.actor };
    const criticState = { tensors: withPrefix(tensors, "optimizer.critic"), json: saved.optimizers.critic };
    new Adam(this.actor.trainableParameters()).setState(actorState);
    new Adam(this.critic.trainableParameters()).setState(criticState);
    const reference = restoredReference(this.referenceModel, tensors, dir, PPO_TRAINER_NAME);
    this.critic.checkStateDict(withPrefix(tensors, "critic"));
    this.actor.loadStateDict(modelTensors(tensors));
    this.critic.loadStateDict(withPrefix(tensors, "critic"));
    this.actorOptimizer.setState(actorState);
    this.criticOptimizer.setState(criticState);
    this.referenceModel = reference;
    this.globalStep = saved.globalStep;
    this.klCoef = saved.klCoef;
    this.rng.setState(saved.rng);
    this.promptRng.setState(saved.promptRng);
    this.order = Int32Array.from(saved.order);
    this.cursor = saved.cursor;
  }

  /** The actor of a {@link PPOTrainer.save} directory as a new {@link GPT} (a policy, e.g. for SFT or evaluation). */
  static async loadModel(dir: string): Promise<GPT> {
    return loadSavedGpt(dir, PPO_TRAINER_NAME);
  }

  /** The critic (value model) of a {@link PPOTrainer.save} directory as a new {@link GPTWithValueHead}. */
  static async loadCritic(dir: string): Promise<GPTWithValueHead> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, PPO_TRAINER_NAME);
    if (!isRecord(json.criticGptConfig)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${dir}: model.json has no "criticGptConfig" object, so it holds no critic (it was written before PPOTrainer.save existed). Train the run again to get one.`,
      );
    }
    const critic = new GPTWithValueHead(json.criticGptConfig as unknown as GPTConfig, { rng: new Rng(0) });
    critic.loadStateDict(withPrefix(tensors, "critic"));
    return critic;
  }

  private endedWithEos(batch: SequenceBatch): boolean[] {
    const [rows, R] = batch.responseIds.shape;
    return Array.from({ length: rows }, (_, b) => {
      for (let t = 0; t < R; t++) {
        const i = b * R + t;
        if (batch.responseMask.values[i] !== 0 && batch.responseIds.data[i] === this.eosTokenId) return true;
      }
      return false;
    });
  }
}

/**
 * A critic initialised from the reward model, as DeepSpeed-Chat's `create_critic_model` loads the
 * reward checkpoint: a copy of its trunk, and its bias-free score row as the value head's weight
 * (bias 0), so `V_t` starts as the reward model's per-token score.
 */
export function criticFromRewardModel(rewardModel: GPTRewardModel, rng: Rng): GPTWithValueHead {
  const critic = new GPTWithValueHead(cloneGPT(rewardModel.transformer), { rng });
  critic.v_head.summary.weight.values.set(rewardModel.score.weight.values);
  critic.v_head.summary.bias?.values.fill(0);
  return critic;
}

/** Fraction of response tokens whose ratio left [1 - ε, 1 + ε] (CleanRL's `clipfrac`). */
function clipFraction(
  logProbs: Float32Array,
  oldLogProbs: Float32Array,
  mask: Float32Array,
  cliprange: number,
): number {
  let clipped = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    if (Math.abs(Math.exp(logProbs[i] - oldLogProbs[i]) - 1) > cliprange) clipped++;
    n++;
  }
  return clipped / Math.max(n, 1);
}

function mean(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total / Math.max(values.length, 1);
}
