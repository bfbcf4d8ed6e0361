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
 * Reuses `computeGae` from `rl/common` (GAE is written once); sampling is {@link generate}.
 *
 * Checkpoints: {@link PPOTrainer.save} writes everything a run carries from one update to the next
 * (actor, critic, reference, both Adam states, both generators, the prompt order and position, the
 * update counter and β of the adaptive KL controller), and {@link PPOTrainer.load} continues it
 * bit-identically.
 */
import { ProximalError } from "../errors.js";
import { addPrefix, loadCheckpoint, saveCheckpoint, withPrefix } from "../io/checkpoint.js";
import { Adam } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import type { OptimizerStateJson } from "../optim/optimizer.js";
import { Rng, type RngState } from "../random/rng.js";
import { computeGae } from "../rl/common/gae.js";
import {
  clamp,
  div,
  exp,
  logSoftmax,
  maximum,
  minimum,
  mul,
  narrow,
  neg,
  square,
  sub,
  sum,
} from "../tensor/ops.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { generate } from "./generate.js";
import { cloneGPT, GPT, type GPTConfig } from "./gpt.js";
import { logProbsFromLogits } from "./logProbs.js";
import { type KlEstimator, type PPOConfig, type ResolvedPPOConfig, resolvePPOConfig } from "./ppoConfig.js";
import type { GPTRewardModel } from "./rewardHead.js";
import {
  checkSameConfig,
  checkTrainerName,
  fingerprint,
  frozenCopy,
  isRecord,
  modelTensors,
  tensorsFingerprint,
} from "./trainer.js";
import { GPTWithValueHead } from "./valueHead.js";

// ============================================================================================
// ALGO LOGIC: the four formulas of DeepSpeed-Chat's step 3, pure and exported for the tests

/**
 * Per-token KL estimate between actor and reference on the actor's own tokens, `logr = refLogp - logp`:
 * k1 `-logr`, k3 `exp(logr) - 1 - logr` (Schulman 2020, http://joschu.net/blog/kl-approx.html).
 */
export function klPerToken(logProb: number, refLogProb: number, estimator: KlEstimator): number {
  const logr = refLogProb - logProb;
  return estimator === "k1" ? -logr : Math.expm1(logr) - logr;
}

/**
 * The per-token reward of DeepSpeed-Chat's `compute_rewards` (Ziegler et al. 2019, arXiv:1909.08593, §2):
 * `R_t = -klCoef · (logp_t - refLogp_t)` on every response token, plus `clip(score, ±clipRewardValue)`
 * on the last real response token (the last column where `responseMask` is 1, so responses of
 * different lengths each get their score on their own last token). Positions outside the mask are 0,
 * as DeepSpeed-Chat zeroes `old_rewards[i, ends[i]:]`.
 *
 * @param logProbs [batch, time] actor log-probs of the sampled tokens
 * @param refLogProbs [batch, time] reference log-probs of the same tokens
 * @param rewardScores [batch] reward-model scores
 * @param responseMask [batch, time] 1 for response tokens (up to and including EOS)
 * @param klEstimator `"k1"` is the seed's `logp - refLogp`; `"k3"` replaces it (TRL `kl_estimator`)
 * @returns rewards [batch, time]
 * @example
 * // by hand: one token, logp -1, ref -1.5, score 7 → -0.1·0.5 + 5 = 4.95
 * computeTokenRewards(tensor([[-1]]), tensor([[-1.5]]), tensor([7]), tensor([[1]]), 0.1, 5);
 */
export function computeTokenRewards(
  logProbs: Tensor,
  refLogProbs: Tensor,
  rewardScores: Tensor,
  responseMask: Tensor,
  klCoef: number,
  clipRewardValue: number,
  klEstimator: KlEstimator = "k1",
): Tensor {
  const [batch, time] = checkBatchTime("computeTokenRewards", logProbs, refLogProbs, responseMask);
  if (rewardScores.size !== batch) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `computeTokenRewards: rewardScores has ${rewardScores.size} entries for a batch of ${batch}.`,
    );
  }
  const lp = logProbs.values;
  const ref = refLogProbs.values;
  const mask = responseMask.values;
  const scores = rewardScores.values;
  const rewards = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    let last = -1;
    for (let t = 0; t < time; t++) {
      const i = b * time + t;
      if (mask[i] === 0) continue;
      rewards[i] = -klCoef * klPerToken(lp[i], ref[i], klEstimator);
      last = i;
    }
    if (last < 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `computeTokenRewards: response ${b} has no token in responseMask, so it has nowhere to put its score. Drop empty responses.`,
      );
    }
    rewards[last] += Math.min(Math.max(scores[b], -clipRewardValue), clipRewardValue);
  }
  return new Tensor(rewards, [batch, time]);
}

/**
 * GAE over response tokens from the end (Schulman et al. 2016, arXiv:1506.02438, eq. 16; DeepSpeed-Chat
 * `get_advantages_and_returns` after trlx): `δ_t = R_t + γ V_{t+1} - V_t`, `A_t = δ_t + γλ A_{t+1}`,
 * with `V` and `R` zeroed outside `mask` (so the value after the last real token is 0), and
 * `returns = advantages + values`. The recursion is {@link computeGae} of `rl/common`, with the
 * response tokens as steps, the sequences as envs and no episode ends inside a response.
 *
 * @param rewards [batch, time], values [batch, time], mask [batch, time]
 * @returns advantages and returns, [batch, time] each, 0 outside the mask
 */
export function gaeOverTokens(
  rewards: Tensor,
  values: Tensor,
  mask: Tensor,
  gamma: number,
  lam: number,
): { advantages: Tensor; returns: Tensor } {
  const [batch, time] = checkBatchTime("gaeOverTokens", rewards, values, mask);
  const m = mask.values;
  // step-major [time * batch], as computeGae stores rollouts
  const stepRewards = new Float32Array(batch * time);
  const stepValues = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      const i = b * time + t;
      stepRewards[t * batch + b] = m[i] === 0 ? 0 : rewards.values[i];
      stepValues[t * batch + b] = m[i] === 0 ? 0 : values.values[i];
    }
  }
  const gae = computeGae({
    rewards: stepRewards,
    values: stepValues,
    dones: new Uint8Array(batch * time),
    lastValues: new Float32Array(batch),
    numEnvs: batch,
    gamma,
    gaeLambda: lam,
  });
  const advantages = new Float32Array(batch * time);
  const returns = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      advantages[b * time + t] = gae.advantages[t * batch + b];
      returns[b * time + t] = gae.returns[t * batch + b];
    }
  }
  return { advantages: new Tensor(advantages, [batch, time]), returns: new Tensor(returns, [batch, time]) };
}

/**
 * The clipped actor loss of DeepSpeed-Chat's `actor_loss_fn` (Schulman et al.
 * 2017, arXiv:1707.06347, eq. 7): with `ratio = exp((logp - oldLogp) · mask)`,
 * `loss = Σ max(-A·ratio, -A·clip(ratio, 1-ε, 1+ε)) · mask / Σ mask`.
 *
 * @example
 * // by hand: ratio 1.5, ε 0.2, A +1 → max(-1.5, -1.2) = -1.2 (objective 1.2)
 */
export function actorLoss(
  logProbs: Tensor,
  oldLogProbs: Tensor,
  advantages: Tensor,
  mask: Tensor,
  cliprange: number,
): Tensor {
  const ratio = exp(mul(sub(logProbs, oldLogProbs), mask));
  const loss1 = mul(neg(advantages), ratio);
  const loss2 = mul(neg(advantages), clamp(ratio, 1 - cliprange, 1 + cliprange));
  return div(sum(mul(maximum(loss1, loss2), mask)), maskCount(mask));
}

/**
 * The clipped critic loss of DeepSpeed-Chat's `critic_loss_fn` (value clipping as in OpenAI's PPO2, Engstrom et al. 2020, arXiv:2005.12729, §3):
 * `V_clip = clip(V, V_old - c, V_old + c)`, `loss = 0.5 · Σ max((V - R)², (V_clip - R)²) · mask / Σ mask`.
 */
export function criticLoss(
  values: Tensor,
  oldValues: Tensor,
  returns: Tensor,
  mask: Tensor,
  cliprangeValue: number,
): Tensor {
  const old = oldValues.detach();
  // torch.clamp(values, old - c, old + c) = min(max(values, old - c), old + c)
  const clipped = minimum(maximum(values, sub(old, cliprangeValue)), old.add(cliprangeValue));
  const loss1 = square(sub(values, returns));
  const loss2 = square(sub(clipped, returns));
  return mul(0.5, div(sum(mul(maximum(loss1, loss2), mask)), maskCount(mask)));
}

/**
 * Normalise `x` to zero mean and unit variance over the entries where `mask` is 1, as TRL's
 * `masked_whiten` (unbiased variance, `eps` 1e-8 inside the square root); 0 outside the mask.
 */
export function maskedWhiten(x: Tensor, mask: Tensor): Tensor {
  const v = x.values;
  const m = mask.values;
  let n = 0;
  let total = 0;
  for (let i = 0; i < v.length; i++) {
    if (m[i] === 0) continue;
    n++;
    total += v[i];
  }
  const mean = total / Math.max(n, 1);
  let squares = 0;
  for (let i = 0; i < v.length; i++) if (m[i] !== 0) squares += (v[i] - mean) ** 2;
  // a single token has no variance (NaN in torch); leave it centred but unscaled
  const variance = n > 1 ? squares / (n - 1) : 1;
  const scale = 1 / Math.sqrt(variance + 1e-8);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = m[i] === 0 ? 0 : (v[i] - mean) * scale;
  return new Tensor(out, x.shape);
}

/**
 * The adaptive KL controller of Ziegler et al. 2019 (arXiv:1909.08593, §2.2; TRL `AdaptiveKLController`):
 * `β ← β · (1 + clip(KL / target - 1, -0.2, 0.2) · nSteps / horizon)`.
 */
export function adaptiveKlCoef(
  klCoef: number,
  kl: number,
  target: number,
  nSteps: number,
  horizon: number,
): number {
  const proportionalError = Math.min(Math.max(kl / target - 1, -0.2), 0.2);
  return klCoef * (1 + (proportionalError * nSteps) / horizon);
}

function maskCount(mask: Tensor): number {
  let n = 0;
  for (const v of mask.values) n += v;
  return Math.max(n, 1);
}

function checkBatchTime(name: string, ...tensors: Tensor[]): [number, number] {
  const [first] = tensors;
  if (
    first.rank !== 2 ||
    tensors.some((t) => t.rank !== 2 || t.shape[0] !== first.shape[0] || t.shape[1] !== first.shape[1])
  ) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${name}: every input must be [batch, time] of the same shape, got ${tensors.map((t) => `[${t.shape.join(", ")}]`).join(", ")}.`,
    );
  }
  return [first.shape[0], first.shape[1]];
}

// ============================================================================================
// log-probs and values of response tokens under left padding

/** Sequences of one batch of experience: left-padded prompts of length `promptLength`, then responses. */
export interface SequenceBatch {
  /** int32 [batch, promptLength + responseLength] */
  sequences: Tensor;
  /** 1/0 [batch, promptLength + responseLength] */
  attentionMask: Tensor;
  promptLength: number;
  /** int32 [batch, responseLength] */
  responseIds: Tensor;
  /** 1/0 [batch, responseLength] */
  responseMask: Tensor;
}

/**
 * Log-probabilities of the response tokens, `log softmax(logits / temperature)[token]`, [batch, R]
 * (gathered by the shared {@link logProbsFromLogits}: the logits at position `promptLength - 1 + t`
 * predict response token `t`; 0 outside the response mask). Also returns the mean entropy of the
 * next-token distribution over response tokens (no gradient).
 */
export function responseLogProbs(
  model: GPT,
  batch: SequenceBatch,
  temperature = 1,
): { logProbs: Tensor; entropy: number } {
  const { sequences, attentionMask, promptLength, responseMask } = batch;
  const { logits } = model.forward(sequences, { attentionMask });
  if (logits === null)
    throw new ProximalError("INTERNAL", "responseLogProbs: the GPT returned no logits. Please report a bug.");
  const logProbs = logProbsFromLogits(logits, sequences, responseMask, { temperature });
  const entropy = noGrad(() =>
    meanEntropy(
      logSoftmax(div(narrow(logits, 1, promptLength - 1, responseMask.shape[1]), temperature), -1).values,
      responseMask,
    ),
  );
  return { logProbs, entropy };
}

/** Values of the states before each response token (positions `promptLength - 1 + t`), [batch, R]. */
export function responseValues(critic: GPTWithValueHead, batch: SequenceBatch): Tensor {
  const { values } = critic.forward(batch.sequences, {
    attentionMask: batch.attentionMask,
    computeLogits: false,
  });
  return narrow(values, 1, batch.promptLength - 1, batch.responseIds.shape[1]);
}

function meanEntropy(logp: Float32Array, mask: Tensor): number {
  const rows = mask.size;
  const vocab = logp.length / rows;
  let total = 0;
  let n = 0;
  for (let r = 0; r < rows; r++) {
    if (mask.values[r] === 0) continue;
    let h = 0;
    for (let j = r * vocab; j < (r + 1) * vocab; j++) h -= Math.exp(logp[j]) * logp[j];
    total += h;
    n++;
  }
  return total / Math.max(n, 1);
}

/** Rows `rows` of a [batch, ...] tensor, as a new tensor (same dtype). Shared with the GRPO trainer. */
export function takeRows(x: Tensor, rows: ArrayLike<number>): Tensor {
  const width = x.size / x.shape[0];
  const out = new (x.data.constructor as { new (n: number): Float32Array | Int32Array })(rows.length * width);
  for (let i = 0; i < rows.length; i++)
    out.set(x.data.subarray(rows[i] * width, (rows[i] + 1) * width), i * width);
  return new Tensor(out, [rows.length, ...x.shape.slice(1)], x.dtype);
}

/** The rows `rows` of a generated batch (minibatches of PPO and GRPO updates). */
export function subBatch(batch: SequenceBatch, rows: ArrayLike<number>): SequenceBatch {
  return {
    sequences: takeRows(batch.sequences, rows),
    attentionMask: takeRows(batch.attentionMask, rows),
    promptLength: batch.promptLength,
    responseIds: takeRows(batch.responseIds, rows),
    responseMask: takeRows(batch.responseMask, rows),
  };
}

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
  /** Frozen reference. @defaultValue a copy of `actor` taken at construction */
  reference?: GPT;
  /** Critic. @defaultValue a copy of the reward model's trunk with its score head as value head */
  critic?: GPTWithValueHead;
}

/** Options of {@link PPOTrainer} beyond its models, config and special tokens. */
export interface PPOTrainerOptions {
  /**
   * Tokenized prompts (bos + prompt ids, no padding) that {@link PPOTrainer.trainStep} draws batches
   * from in a seeded order, reshuffled after each pass. Needed only by `trainStep`; `step` takes its
   * prompts directly. @defaultValue none
   */
  trainDataset?: number[][];
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
  private referenceModel: GPT;
  private readonly actorOptimizer: Adam;
  private readonly criticOptimizer: Adam;
  /** Sampling and minibatch order. */
  private readonly rng: Rng;
  /** Prompt order of {@link PPOTrainer.trainStep}, a stream of its own (same seed). */
  private readonly promptRng: Rng;
  private readonly trainDataset: number[][];
  private order: Int32Array;
  private cursor = 0;
  private readonly eosTokenId: number;
  private readonly padTokenId: number;

  constructor(
    models: PPOModels,
    config: PPOConfig,
    tokens: { eosTokenId: number; padTokenId: number },
    options: PPOTrainerOptions = {},
  ) {
    this.config = resolvePPOConfig(config);
    this.rng = new Rng(this.config.seed);
    this.actor = models.actor;
    this.referenceModel = models.reference ?? cloneGPT(models.actor);
    this.rewardModel = models.rewardModel;
    this.critic = models.critic ?? criticFromRewardModel(models.rewardModel, this.rng);
    this.klCoef = this.config.klCoef;
    this.eosTokenId = tokens.eosTokenId;
    this.padTokenId = tokens.padTokenId;
    this.actorOptimizer = new Adam(this.actor.parameters(), { lr: this.config.learningRate });
    this.criticOptimizer = new Adam(this.critic.parameters(), { lr: this.config.criticLearningRate });
    this.trainDataset = options.trainDataset ?? [];
    this.promptRng = new Rng(this.config.seed);
    this.order = this.promptRng.permutation(this.trainDataset.length);
  }

  /** The frozen reference; {@link PPOTrainer.load} replaces it with the one saved in the checkpoint. */
  get reference(): GPT {
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
  step(prompts: number[][]): PPOStepStats {
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
        clipGradNorm(this.actor.parameters(), c.maxGradNorm);
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
        clipGradNorm(this.critic.parameters(), c.maxGradNorm);
        this.criticOptimizer.step();

        const ratioStats = ratioStatistics(
          logProbs.values,
          minibatchOldLogProbs.values,
          minibatchMask.values,
          c.cliprange,
        );
        policyLossSum += policyLoss.item();
        valueLossSum += valueLoss.item();
        clipFractionSum += ratioStats.clipFraction;
        approxKlSum += ratioStats.approxKl;
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
        const kl = klPerToken(oldLogProbs.values[i], refLogProbs.values[i], c.klEstimator);
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
        ...addPrefix(this.referenceModel.stateDict(), "refModel"),
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
    const prompts = promptsFingerprint(this.trainDataset);
    if (saved.dataset.rows !== n || saved.dataset.fingerprint !== prompts) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `PPOTrainer.load: ${dir} was saved from a run over ${saved.dataset.rows} prompts (fingerprint ${saved.dataset.fingerprint}), but this trainer has ${n} (fingerprint ${prompts}). The saved prompt order indexes them, so pass the same trainDataset, in the same order.`,
      );
    }
    const rewardModel = tensorsFingerprint(this.rewardModel.stateDict());
    if (saved.rewardModel !== rewardModel) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `PPOTrainer.load: ${dir} was trained against a reward model with fingerprint ${saved.rewardModel}, this trainer's is ${rewardModel}. Pass the reward model the run started with.`,
      );
    }
    const seen = new Uint8Array(n);
    for (const i of saved.order) if (i < n) seen[i] = 1;
    if (saved.order.length !== n || seen.includes(0) || saved.cursor > n) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${dir}: "order" must be a permutation of the ${n} prompt indices and "cursor" at most ${n}.`,
      );
    }
    // everything that can fail runs before the first change: throwaway optimizers check the states,
    // loadStateDict checks before it copies
    const actorState = { tensors: withPrefix(tensors, "optimizer.actor"), json: saved.optimizers.actor };
    const criticState = { tensors: withPrefix(tensors, "optimizer.critic"), json: saved.optimizers.critic };
    new Adam(this.actor.parameters()).setState(actorState);
    new Adam(this.critic.parameters()).setState(criticState);
    const reference = frozenCopy(this.referenceModel);
    reference.loadStateDict(withPrefix(tensors, "refModel"));
    const criticCopy = new GPTWithValueHead(saved.criticGptConfig, { rng: new Rng(0) });
    criticCopy.loadStateDict(withPrefix(tensors, "critic"));
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
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, PPO_TRAINER_NAME);
    if (!isRecord(json.gptConfig)) {
      throw new ProximalError("MALFORMED_FILE", `${dir}: model.json has no "gptConfig" object.`);
    }
    const gpt = new GPT(json.gptConfig as unknown as GPTConfig);
    gpt.loadStateDict(modelTensors(tensors));
    return gpt;
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

// ============================================================================================
// checkpoints

const PPO_TRAINER_NAME = "PPOTrainer";

/** `model.json` of a {@link PPOTrainer.save} (the tensors are in `model.safetensors`). */
interface PPOCheckpointJson {
  trainer: typeof PPO_TRAINER_NAME;
  /** The actor's architecture (a policy loader reads it). */
  gptConfig: Required<GPTConfig>;
  /** The critic trunk's architecture. */
  criticGptConfig: Required<GPTConfig>;
  config: ResolvedPPOConfig;
  globalStep: number;
  /** β after the last update (the adaptive controller's state). */
  klCoef: number;
  /** The JSON halves of the Adam states; the moments are the `optimizer.actor.*` / `optimizer.critic.*` tensors. */
  optimizers: { actor: OptimizerStateJson; critic: OptimizerStateJson };
  rng: RngState;
  promptRng: RngState;
  /** Prompt indices of the current pass and the position in it. */
  order: number[];
  cursor: number;
  dataset: { rows: number; fingerprint: string };
  /** {@link tensorsFingerprint} of the frozen reward model, checked on load. */
  rewardModel: string;
  tokens: { eosTokenId: number; padTokenId: number };
}

/** {@link fingerprint} of tokenized prompts, in order. */
function promptsFingerprint(prompts: number[][]): string {
  return fingerprint(prompts.map((ids) => ids.join(",")));
}

/** Check the fields of a PPO `model.json` and return them typed (MALFORMED_FILE naming the field). */
function parsePPOCheckpointJson(json: Record<string, unknown>, dir: string): PPOCheckpointJson {
  const fail = (field: string, expected: string): never => {
    const got = JSON.stringify(json[field]) ?? "nothing";
    throw new ProximalError(
      "MALFORMED_FILE",
      `${dir}: "${field}" in model.json must be ${expected}, got ${got.length > 80 ? `${got.slice(0, 80)}…` : got}. The file was not written by PPOTrainer.save (or by a version before resuming was supported), or was edited; save the run again.`,
    );
  };
  const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  const isRngState = (v: unknown): boolean =>
    isRecord(v) &&
    Array.isArray(v.s) &&
    v.s.length === 4 &&
    v.s.every((x) => Number.isInteger(x)) &&
    (v.spareNormal === null || typeof v.spareNormal === "number");
  const isOptimizer = (v: unknown): boolean =>
    isRecord(v) && Array.isArray(v.paramGroups) && isRecord(v.steps);
  if (!isRecord(json.config)) fail("config", "the trainer's config object");
  if (!isRecord(json.gptConfig)) fail("gptConfig", "the actor's GPT config object");
  if (!isRecord(json.criticGptConfig)) fail("criticGptConfig", "the critic's GPT config object");
  for (const field of ["globalStep", "cursor"]) if (!isCount(json[field])) fail(field, "an integer >= 0");
  if (typeof json.klCoef !== "number") fail("klCoef", "a number");
  const optimizers = json.optimizers;
  if (!isRecord(optimizers) || !isOptimizer(optimizers.actor) || !isOptimizer(optimizers.critic))
    fail("optimizers", "{ actor, critic } optimizer states");
  for (const field of ["rng", "promptRng"])
    if (!isRngState(json[field])) fail(field, "a generator state { s: [4 integers], spareNormal }");
  if (!Array.isArray(json.order) || !json.order.every(isCount)) fail("order", "an array of prompt indices");
  const dataset = json.dataset;
  if (!isRecord(dataset) || !isCount(dataset.rows) || typeof dataset.fingerprint !== "string")
    fail("dataset", "{ rows, fingerprint }");
  if (typeof json.rewardModel !== "string") fail("rewardModel", "the reward model's fingerprint");
  const tokens = json.tokens;
  if (!isRecord(tokens) || !Number.isInteger(tokens.eosTokenId) || !Number.isInteger(tokens.padTokenId))
    fail("tokens", "{ eosTokenId, padTokenId }");
  return json as unknown as PPOCheckpointJson;
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

function ratioStatistics(
  logProbs: Float32Array,
  oldLogProbs: Float32Array,
  mask: Float32Array,
  cliprange: number,
): { clipFraction: number; approxKl: number } {
  let clipped = 0;
  let kl = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    const logRatio = logProbs[i] - oldLogProbs[i];
    const ratio = Math.exp(logRatio);
    if (Math.abs(ratio - 1) > cliprange) clipped++;
    kl += ratio - 1 - logRatio; // http://joschu.net/blog/kl-approx.html, as CleanRL's approx_kl
    n++;
  }
  return { clipFraction: clipped / Math.max(n, 1), approxKl: kl / Math.max(n, 1) };
}

function takeColumns(x: Tensor, keep: number): Tensor {
  const [rows, width] = x.shape;
  const out = new (x.data.constructor as { new (n: number): Float32Array | Int32Array })(rows * keep);
  for (let r = 0; r < rows; r++) out.set(x.data.subarray(r * width, r * width + keep), r * keep);
  return new Tensor(out, [rows, keep], x.dtype);
}

function mean(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total / Math.max(values.length, 1);
}
