/**
 * The GRPO family as options of one trainer, for verifiable (programmatic) rewards:
 * - GRPO: Shao et al. 2024, DeepSeekMath, arXiv:2402.03300, §4.1 (eq. 3 objective, eq. 4 KL, Algorithm 1);
 * - Dr. GRPO: Liu et al. 2025, arXiv:2503.20783, §3;
 * - DAPO: Yu et al. 2025, arXiv:2503.14476, §3 (clip-higher, dynamic sampling, token-level loss,
 *   overlong filtering and soft punishment);
 * - GSPO: Zheng et al. 2025, arXiv:2507.18071, §4 (sequence ratio s_i and the GSPO-token variant);
 * - DCPO: Yang et al. 2025, arXiv:2509.02333, §3 (dynamic clipping, smooth advantage standardisation);
 * - RLOO: Ahmadian et al. 2024, arXiv:2402.14740; REINFORCE++: Hu et al. 2025, arXiv:2501.03262.
 *
 * Each differs from PPO in a few places, and each place is one option of {@link GRPOConfig}:
 * advantage estimator, importance ratio, clipping bounds, loss aggregation, KL placement, sampling.
 * The objective, per token of completion i of a group (loss = minus it, plus `β·KL_t` with KL in the loss):
 * ```
 * min(r_it · A_it, clip(r_it, low_it, high_it) · A_it)      (and ≥ c·A_it for A < 0 with dual-clip)
 * ```
 * then summed up by {@link aggregateLoss}.
 *
 * Follows TRL's `GRPOTrainer` (config names, reward functions, `num_iterations`, `steps_per_generation`,
 * `importance_sampling_level`, `mask_truncated_completions`) and verl's `core_algos.py` (estimators,
 * dual-clip, `loss_agg_mode`, DAPO's `filter_groups` and overlong buffer). Differs from TRL: the old
 * log-probs are always those {@link generate} returned (TRL recomputes them with a forward pass);
 * rewards are computed before the KL, so dynamic sampling filters on task rewards only.
 *
 * Reuses {@link generate} (sampling), {@link logProbsFromLogits} (via `responseLogProbs`),
 * {@link maskedWhiten}, AdamW, {@link warmupThenCosine}, {@link clipGradNorm} and the checkpoint
 * files of `io/checkpoint.ts` (`saveCheckpoint`).
 */
import { ProximalError } from "../errors.js";
import { addPrefix, loadCheckpoint, saveCheckpoint, withPrefix } from "../io/checkpoint.js";
import { AdamW } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import type { OptimizerStateJson } from "../optim/optimizer.js";
import { warmupThenCosine } from "../optim/schedules.js";
import { Rng, type RngState } from "../random/rng.js";
import {
  clamp,
  div,
  exp,
  expand,
  lt,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  square,
  sub,
  sum,
  unsqueeze,
  where,
} from "../tensor/ops.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { generate } from "./generate.js";
import { GPT, type GPTConfig } from "./gpt.js";
import {
  type DcpoPromptStatistics,
  dcpoAdvantages,
  drGrpoAdvantages,
  equalRewardGroups,
  grpoAdvantages,
  reinforcePlusPlusAdvantages,
  rlooAdvantages,
} from "./grpo/advantages.js";
import { fillDynamicBatch, overlongPenalty } from "./grpo/sampling.js";
import {
  type ClipMode,
  type GRPOConfig,
  type GRPOKlEstimator,
  type GRPORewardFunction,
  type GRPORow,
  type ImportanceSamplingLevel,
  type LossAggregation,
  type ResolvedGRPOConfig,
  resolveGRPOConfig,
} from "./grpoConfig.js";
import { responseLogProbs, type SequenceBatch, subBatch, takeRows } from "./ppoTrainer.js";
import type { Tokenizer } from "./tokenizer.js";
import { checkSameConfig, checkTrainerName, frozenCopy, type OnStep } from "./trainer.js";

// ============================================================================================
// ALGO LOGIC: the objective, pure and exported for the tests (fixtures/torch/grpo.json)

/**
 * Per-token KL estimate between the policy and the reference on the policy's own tokens, with
 * `logr = refLogp - logp` (Schulman 2020, http://joschu.net/blog/kl-approx.html): k1 `-logr`,
 * k2 `logr²/2`, k3 `exp(logr) - 1 - logr` (GRPO eq. 4). Differentiable w.r.t. `logProbs`.
 *
 * @param logProbs [batch, T], refLogProbs [batch, T]
 * @example
 * // by hand: logp -1, ref -1.5 → logr -0.5: k1 0.5, k2 0.125, k3 e^-0.5 - 0.5 = 0.1065
 */
export function klEstimate(logProbs: Tensor, refLogProbs: Tensor, estimator: GRPOKlEstimator): Tensor {
  const logr = sub(refLogProbs.detach(), logProbs);
  switch (estimator) {
    case "k1":
      return neg(logr);
    case "k2":
      return mul(0.5, square(logr));
    case "k3":
      return sub(sub(exp(logr), 1), logr);
    default:
      throw new ProximalError(
        "INVALID_OPTION",
        `klEstimate: unknown estimator ${JSON.stringify(estimator)}.`,
      );
  }
}

/** {@link klEstimate} of one token, as a number. */
export function klEstimateValue(logProb: number, refLogProb: number, estimator: GRPOKlEstimator): number {
  const logr = refLogProb - logProb;
  if (estimator === "k1") return -logr;
  if (estimator === "k2") return 0.5 * logr * logr;
  return Math.expm1(logr) - logr;
}

/**
 * The importance ratio of every response token, [batch, T], differentiable w.r.t. `logProbs`:
 * - `"token"`: `r_t = exp(logp_t - oldLogp_t)`;
 * - `"sequence"`: GSPO's `s_i = exp((1/|y_i|) Σ_t (logp_t - oldLogp_t))` (arXiv:2507.18071, §4),
 *   broadcast over the response (an empty response counts as length 1, as TRL's `clamp(min=1)`);
 * - `"sequence-token"`: GSPO-token's `s_it = sg[s_i] · exp(logp_t - sg[logp_t])` (same §4): the value of
 *   `s_i`, the gradient of token t alone.
 * Positions outside `mask` hold 1 (token) or the sequence ratio; the aggregation masks them out.
 *
 * @example
 * // by hand: log-ratios [0.2, -0.4] on a 2-token response → sequence ratio exp(-0.1) = 0.9048
 */
export function importanceRatio(
  logProbs: Tensor,
  oldLogProbs: Tensor,
  mask: Tensor,
  level: ImportanceSamplingLevel,
): Tensor {
  const logRatio = mul(sub(logProbs, oldLogProbs.detach()), mask); // [B, T]
  if (level === "token") return exp(logRatio);
  const [batch, time] = mask.shape;
  const counts = rowCounts(mask);
  const sequenceLogRatio = unsqueeze(div(sum(logRatio, -1), counts), 1); // [B, 1]
  if (level === "sequence") return expand(exp(sequenceLogRatio), [batch, time]);
  if (level === "sequence-token") return exp(sub(logProbs, logProbs.detach()).add(sequenceLogRatio.detach()));
  throw new ProximalError("INVALID_OPTION", `importanceRatio: unknown level ${JSON.stringify(level)}.`);
}

/**
 * DCPO's dynamic clipping bounds for a token whose old probability is `q` (Yang et al. 2025,
 * arXiv:2509.02333, §3): `low = 0.5 + 0.5·sqrt(max(1 - 4·εlow/q, 0))`,
 * `high = min(0.5 + 0.5·sqrt(1 + 4·εhigh/q), maxRatio)`. They come from bounding the change of
 * probability `|(r - 1)·q|` by `ε·q`-like terms, so a rare token (small q) may move by a larger ratio:
 * at q = 1 they are `[0.724, 1.228]` for ε 0.2/0.28; below q = 4·εlow the lower bound is 0.5.
 *
 * @param maxRatio cap on the upper bound (the authors' code: 10) @defaultValue Infinity
 * @example
 * dcpoClipBounds(0.5, 0.2, 0.28); // { low: 0.5, high: 1.4 }
 */
export function dcpoClipBounds(
  q: number,
  epsilonLow: number,
  epsilonHigh: number,
  maxRatio = Number.POSITIVE_INFINITY,
): { low: number; high: number } {
  if (!(q > 0 && q <= 1)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `dcpoClipBounds: q must be a probability in (0, 1], got ${q}.`,
    );
  }
  const low = 0.5 + 0.5 * Math.sqrt(Math.max(1 - (4 * epsilonLow) / q, 0));
  const high = Math.min(0.5 + 0.5 * Math.sqrt(1 + (4 * epsilonHigh) / q), maxRatio);
  return { low, high };
}

/** Clipping options, the fields of {@link GRPOConfig} they come from. */
export type ClipOptions = Pick<ResolvedGRPOConfig, "clipMode" | "epsilon" | "epsilonHigh" | "dcpoMaxRatio">;

/**
 * The ratio bounds of every token: `1 - epsilon` and `1 + epsilonHigh` with `clipMode` "fixed"
 * (numbers), or {@link dcpoClipBounds} of `q = exp(oldLogp)` with "dcpo" ([batch, T] tensors).
 */
export function clipBounds(
  oldLogProbs: Tensor,
  options: ClipOptions,
): { low: Tensor | number; high: Tensor | number } {
  const mode: ClipMode = options.clipMode;
  if (mode === "fixed") return { low: 1 - options.epsilon, high: 1 + options.epsilonHigh };
  const old = oldLogProbs.values;
  const low = new Float32Array(old.length);
  const high = new Float32Array(old.length);
  for (let i = 0; i < old.length; i++) {
    // exp(oldLogp) of a masked position is exp(0) = 1, a harmless placeholder
    const bounds = dcpoClipBounds(
      Math.min(Math.exp(old[i]), 1),
      options.epsilon,
      options.epsilonHigh,
      options.dcpoMaxRatio,
    );
    low[i] = bounds.low;
    high[i] = bounds.high;
  }
  return {
    low: new Tensor(low, oldLogProbs.shape.slice()),
    high: new Tensor(high, oldLogProbs.shape.slice()),
  };
}

/**
 * The clipped surrogate as a loss per token (PPO, arXiv:1707.06347, eq. 7, with per-token bounds):
 * `L = max(-A·r, -A·clip(r, low, high))`; with dual-clip c (Ye et al. 2020, arXiv:1912.09729),
 * where `A < 0` also `L = min(L, -c·A)`, so a token whose ratio ran far above 1 with a negative
 * advantage cannot contribute an unbounded loss. Differentiable w.r.t. `ratio`.
 *
 * @param ratio [batch, T] from {@link importanceRatio}
 * @param advantages [batch, T] (no gradient)
 * @param low lower bounds, a number or [batch, T] (see {@link clipBounds})
 * @param high upper bounds, a number or [batch, T]
 * @param dualClip c > 1, or null for none
 * @example
 * // by hand (STYLE.md): ratio 1.5, ε 0.2, A +1 → max(-1.5, -1.2) = -1.2; A -1 → max(1.5, 1.2) = 1.5,
 * // and with dual-clip c = 3 still min(1.5, 3) = 1.5; at ratio 4, A -1: min(4, 3) = 3
 */
export function clippedTokenLoss(
  ratio: Tensor,
  advantages: Tensor,
  low: Tensor | number,
  high: Tensor | number,
  dualClip: number | null = null,
): Tensor {
  const a = advantages.detach();
  const clipped =
    typeof low === "number" && typeof high === "number"
      ? clamp(ratio, low, high)
      : minimum(maximum(ratio, low), high);
  const loss = maximum(mul(neg(a), ratio), mul(neg(a), clipped));
  if (dualClip === null) return loss;
  return where(lt(a, 0), minimum(loss, mul(-dualClip, a)), loss);
}

/**
 * Sum up per-token losses `L` [batch, T] over the response tokens `mask` ([batch, T], 1/0); see
 * {@link LossAggregation} for the four modes and their papers. `maxCompletionLength` is the constant
 * of `"seq-mean-token-sum-norm"`. An empty mask gives 0, not NaN.
 */
export function aggregateLoss(
  loss: Tensor,
  mask: Tensor,
  mode: LossAggregation,
  maxCompletionLength: number,
): Tensor {
  const masked = mul(loss, mask);
  switch (mode) {
    case "token-mean": {
      let tokens = 0;
      for (const m of mask.values) tokens += m;
      return div(sum(masked), Math.max(tokens, 1));
    }
    case "seq-mean-token-mean":
      return mean(div(sum(masked, -1), rowCounts(mask)));
    case "seq-mean-token-sum-norm":
      return div(sum(masked), mask.shape[0] * maxCompletionLength);
    case "seq-sum":
      return sum(masked);
    default:
      throw new ProximalError("INVALID_OPTION", `aggregateLoss: unknown mode ${JSON.stringify(mode)}.`);
  }
}

/** The fields of {@link GRPOConfig} {@link grpoPolicyLoss} reads. */
export type PolicyLossOptions = ClipOptions &
  Pick<
    ResolvedGRPOConfig,
    | "importanceSamplingLevel"
    | "dualClip"
    | "lossAggregation"
    | "maxCompletionLength"
    | "beta"
    | "klEstimator"
    | "klPlacement"
  >;

/** What {@link grpoPolicyLoss} returns. */
export interface PolicyLossResult {
  /** The scalar to minimise. */
  loss: Tensor;
  /** The clipped-surrogate part alone (same aggregation), as a number. */
  policyLoss: number;
  /** Mean per-token KL to the reference (NaN without KL in the loss). */
  klToRef: number;
  /** Fraction of response tokens where the clipped term was the active one (verl `pg_clipfrac`). */
  clipFraction: number;
  /** Fraction of response tokens with A < 0 where the dual clip was active (verl `pg_clipfrac_lower`). */
  dualClipFraction: number;
  /** Mean `(r - 1) - log r` of the token ratio against the old policy (Schulman's k3). */
  approxKl: number;
}

/**
 * The whole policy loss of one minibatch: {@link importanceRatio} → {@link clipBounds} →
 * {@link clippedTokenLoss} → `+ β·KL_t` ({@link klEstimate}) when the KL is in the loss →
 * {@link aggregateLoss}. The KL term is aggregated with the same mode, as in TRL.
 *
 * @param inputs - `logProbs` `[batch, T]` of the current policy (differentiable), `oldLogProbs`
 *   `[batch, T]` at generation time, `refLogProbs` `[batch, T]` or null, `advantages` `[batch, T]`,
 *   and `mask` `[batch, T]`: the response tokens that count in the loss
 * @param options - Clipping, KL and aggregation settings
 */
export function grpoPolicyLoss(
  inputs: {
    logProbs: Tensor;
    oldLogProbs: Tensor;
    refLogProbs: Tensor | null;
    advantages: Tensor;
    mask: Tensor;
  },
  options: PolicyLossOptions,
): PolicyLossResult {
  const { logProbs, oldLogProbs, refLogProbs, advantages, mask } = inputs;
  const ratio = importanceRatio(logProbs, oldLogProbs, mask, options.importanceSamplingLevel);
  const { low, high } = clipBounds(oldLogProbs, options);
  const perToken = clippedTokenLoss(ratio, advantages, low, high, options.dualClip);
  const policy = aggregateLoss(perToken, mask, options.lossAggregation, options.maxCompletionLength);
  let loss = policy;
  let klToRef = Number.NaN;
  if (options.beta > 0 && options.klPlacement === "loss" && refLogProbs !== null) {
    const kl = klEstimate(logProbs, refLogProbs, options.klEstimator);
    loss = policy.add(
      mul(options.beta, aggregateLoss(kl, mask, options.lossAggregation, options.maxCompletionLength)),
    );
    klToRef = maskedMean(kl.values, mask.values);
  }
  // statistics, from values only
  const r = ratio.values;
  const a = advantages.values;
  const m = mask.values;
  const lp = logProbs.values;
  const old = oldLogProbs.values;
  const lows = typeof low === "number" ? null : low.values;
  const highs = typeof high === "number" ? null : high.values;
  let tokens = 0;
  let clipped = 0;
  let dual = 0;
  let approxKl = 0;
  for (let i = 0; i < m.length; i++) {
    if (m[i] === 0) continue;
    tokens++;
    const lo = lows === null ? (low as number) : lows[i];
    const hi = highs === null ? (high as number) : highs[i];
    const unclipped = -a[i] * r[i];
    const clippedLoss = -a[i] * Math.min(Math.max(r[i], lo), hi);
    if (clippedLoss > unclipped) clipped++;
    if (options.dualClip !== null && a[i] < 0 && Math.max(unclipped, clippedLoss) > -options.dualClip * a[i])
      dual++;
    const logRatio = lp[i] - old[i];
    approxKl += Math.expm1(logRatio) - logRatio;
  }
  const n = Math.max(tokens, 1);
  return {
    loss,
    policyLoss: policy.item(),
    klToRef,
    clipFraction: clipped / n,
    dualClipFraction: dual / n,
    approxKl: approxKl / n,
  };
}

/** Response tokens per row, at least 1, as a [batch] tensor. */
function rowCounts(mask: Tensor): Tensor {
  const [batch, time] = mask.shape;
  const counts = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    let n = 0;
    for (let t = 0; t < time; t++) n += mask.values[b * time + t];
    counts[b] = Math.max(n, 1);
  }
  return new Tensor(counts, [batch]);
}

function maskedMean(values: Float32Array, mask: Float32Array): number {
  let total = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    total += values[i];
    n++;
  }
  return n === 0 ? Number.NaN : total / n;
}

// ============================================================================================
// the trainer

/** Arguments of {@link GRPOTrainer}. */
export interface GRPOTrainerArgs {
  /** The policy, usually an SFT model; trained in place. */
  model: GPT;
  /**
   * The frozen reference of the KL term. {@link GRPOTrainer.load} replaces it with the reference saved
   * in the checkpoint (a new frozen copy; the model passed here is not modified).
   * @defaultValue a frozen copy of `model` taken at construction when `beta > 0` and `klPlacement` is
   * not "none"; otherwise none is built
   */
  refModel?: GPT;
  tokenizer: Tokenizer;
  /** Prompt rows (`{prompt}` plus any fields the reward functions read). */
  trainDataset: GRPORow[];
  /** One reward function or several, summed with `rewardWeights` (TRL `reward_funcs`). */
  rewardFunctions: GRPORewardFunction | GRPORewardFunction[];
  config?: GRPOConfig;
  /**
   * Called after the generation batch that crosses each `loggingSteps` optimizer steps (and after the
   * last) with the metrics averaged since the previous call; return false to stop.
   */
  onStep?: OnStep;
}

/** One sampled completion with its rewards. */
interface Completion {
  /** Index of the prompt row in the dataset. */
  row: number;
  promptIds: number[];
  /** Generated ids, the stop token included. */
  responseIds: number[];
  /** Log-probs of `responseIds` at generation time (the old policy). */
  logProbs: number[];
  /** Ran into `maxCompletionLength` without a stop token. */
  truncated: boolean;
  /** Each reward function's value. */
  rewards: number[];
  /** Weighted sum of `rewards` plus the overlong penalty: what the advantages see (before any KL). */
  reward: number;
}

/** Metrics of one {@link GRPOTrainer.step} (one generation batch), keyed `group/name`. */
export interface GRPOStepStats {
  /** Mean reward (weighted sum plus overlong penalty) over every completion drawn this step. */
  "rollout/reward": number;
  /** Mean number of completion tokens (stop token included) over every completion drawn. */
  "rollout/completionLength": number;
  /** Fraction of drawn completions cut off at `maxCompletionLength`. */
  "rollout/truncatedFraction": number;
  /** Fraction of drawn groups whose rewards were all equal (TRL `frac_reward_zero_std`). */
  "rollout/zeroStdFraction": number;
  /** Sampling rounds run (more than 1 only with dynamic sampling). */
  "rollout/generationRounds": number;
  /** Completions generated this step, over all rounds. */
  "rollout/samplesDrawn": number;
  /** Completions trained on. */
  "rollout/samplesUsed": number;
  /** Mean per-token KL of the sampled tokens to the reference (NaN without a reference). */
  "rollout/klToRef": number;
  /** Mean of the policy loss over the updates (NaN when there was nothing to train on). */
  "train/policyLoss": number;
  "train/loss": number;
  "train/clipFraction": number;
  "train/dualClipFraction": number;
  /** k3 estimate of KL(old ‖ new) over response tokens, mean over updates. */
  "train/approxKl": number;
  /** Mean entropy (nats) of the policy's next-token distribution over response tokens. */
  "train/entropy": number;
  "train/gradNorm": number;
  "train/learningRate": number;
  /** Optimizer steps taken so far. */
  "train/globalStep": number;
  /** Each reward function's mean, keyed by the function's name (`rollout/rewards/<name>`). */
  [key: `rollout/rewards/${string}`]: number;
}

/**
 * GRPO and its family (see the file header), critic-free RL on programmatic rewards. Each
 * {@link GRPOTrainer.step}: draw prompts → sample `numGenerations` completions each with
 * {@link generate} (keeping their log-probs as the old policy's) → score them with the reward
 * functions (+ DAPO's overlong penalty) → with dynamic sampling, drop equal-reward groups and sample
 * more ({@link fillDynamicBatch}) → reference log-probs if the KL is used → advantages
 * ({@link AdvantageEstimator}) → `numIterations` passes of `stepsPerGeneration` minibatches, each one
 * AdamW step on {@link grpoPolicyLoss}.
 *
 * Follows TRL's `GRPOTrainer` config and loop (generation batch = `perDeviceTrainBatchSize ·
 * stepsPerGeneration` completions, reused `numIterations` times) with verl's estimators and DAPO
 * recipe.
 *
 * Checkpoints: {@link GRPOTrainer.save} writes everything a run carries from one step to the next,
 * and {@link GRPOTrainer.load} into a trainer built with the same config and prompts continues it
 * bit-identically (same seed, same backend): the policy's state dict under its own names (so
 * {@link GRPOTrainer.loadModel} or `gpt.loadStateDict` reads it back), the AdamW moments and step
 * counts under `optimizer.*`, the reference under `refModel.*` (it is a copy of the policy at
 * construction, which a resumed trainer no longer has, so it is saved rather than rebuilt), and in
 * `model.json` the config, `globalStep`, `generationStep`, the sampling {@link Rng}'s state, the
 * prompt order and position in it, and DCPO's per-prompt statistics. Export the policy in HF GPT-2
 * layout with `trainer.model.toSafetensors()`.
 *
 * @example
 * const trainer = new GRPOTrainer({
 *   model: sft, tokenizer, trainDataset: prompts.map((prompt) => ({ prompt })),
 *   rewardFunctions: [exactMatch, formatReward], config: { numGenerations: 8, maxCompletionLength: 8, maxSteps: 100 },
 * });
 * trainer.train();
 */
export class GRPOTrainer {
  readonly model: GPT;
  readonly tokenizer: Tokenizer;
  readonly config: ResolvedGRPOConfig;
  readonly optimizer: AdamW;
  /** Optimizer steps taken (counting the planned steps of a batch that had nothing to train on). */
  globalStep = 0;
  /** Generation batches drawn. */
  generationStep = 0;
  private readonly trainDataset: GRPORow[];
  private readonly promptIds: number[][];
  private readonly rewardFunctions: GRPORewardFunction[];
  private readonly rewardNames: string[];
  private readonly rewardWeights: number[];
  private readonly onStep: OnStep | undefined;
  private readonly rng: Rng;
  /** Row order of the current pass over the prompts and the position in it. */
  private order: Int32Array;
  private cursor = 0;
  /** DCPO's per-prompt cumulative reward statistics, keyed by prompt text. */
  private readonly dcpoHistory = new Map<string, DcpoPromptStatistics>();
  /** The frozen reference (see {@link GRPOTrainer.refModel}); {@link GRPOTrainer.load} replaces it. */
  private reference: GPT | null;

  constructor(args: GRPOTrainerArgs) {
    const c = resolveGRPOConfig(args.config);
    this.config = c;
    this.model = args.model;
    this.tokenizer = args.tokenizer;
    this.trainDataset = args.trainDataset;
    this.onStep = args.onStep;
    if (this.trainDataset.length === 0)
      throw new ProximalError("INVALID_ARGUMENT", "GRPOTrainer: the training dataset has no prompts.");
    this.rewardFunctions = Array.isArray(args.rewardFunctions)
      ? args.rewardFunctions
      : [args.rewardFunctions];
    if (this.rewardFunctions.length === 0)
      throw new ProximalError("INVALID_ARGUMENT", "GRPOTrainer: pass at least one reward function.");
    if (c.rewardWeights !== null && c.rewardWeights.length !== this.rewardFunctions.length) {
      throw new ProximalError(
        "INVALID_OPTION",
        `GRPOConfig: rewardWeights has ${c.rewardWeights.length} entries for ${this.rewardFunctions.length} reward functions. Give one weight per function, or null for 1 each.`,
      );
    }
    this.rewardWeights = c.rewardWeights ?? this.rewardFunctions.map(() => 1);
    this.rewardNames = this.rewardFunctions.map((f, i) => f.name || `reward${i}`);
    // prompts as every trainer here tokenizes them: bos + encode(prompt) (data.ts tokenizePair)
    const nPositions = this.model.config.nPositions;
    this.promptIds = this.trainDataset.map((row, i) => {
      if (typeof row?.prompt !== "string") {
        throw new ProximalError("INVALID_ARGUMENT", `GRPOTrainer: row ${i} has no string "prompt".`);
      }
      const ids = [this.tokenizer.bosTokenId, ...this.tokenizer.encode(row.prompt)];
      if (ids.length + c.maxCompletionLength > nPositions) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `GRPOTrainer: row ${i}'s prompt has ${ids.length} tokens; with maxCompletionLength ${c.maxCompletionLength} that exceeds the model's nPositions (${nPositions}). Shorten the prompt or lower maxCompletionLength.`,
        );
      }
      return ids;
    });
    const usesKl = c.beta > 0 && c.klPlacement !== "none";
    this.reference = usesKl ? (args.refModel ?? frozenCopy(args.model)) : null;
    this.rng = new Rng(c.seed);
    this.order = this.rng.permutation(this.trainDataset.length);
    this.optimizer = new AdamW(this.model.parameters(), {
      lr: c.learningRate,
      betas: c.adamBetas,
      eps: c.adamEpsilon,
      weightDecay: c.weightDecay,
    });
  }

  /** The frozen reference, or null when no KL is used. */
  get refModel(): GPT | null {
    return this.reference;
  }

  /** Prompts per generation batch: `perDeviceTrainBatchSize · stepsPerGeneration / numGenerations`. */
  get promptsPerGeneration(): number {
    const c = this.config;
    return (c.perDeviceTrainBatchSize * c.stepsPerGeneration) / c.numGenerations;
  }

  /** Optimizer steps per generation batch: `stepsPerGeneration · numIterations`. */
  get stepsPerBatch(): number {
    return this.config.stepsPerGeneration * this.config.numIterations;
  }

  /**
   * Optimizer steps of a full run: `maxSteps`, or `ceil(numTrainEpochs · prompts / promptsPerGeneration)`
   * generation batches of {@link GRPOTrainer.stepsPerBatch} steps.
   */
  get totalSteps(): number {
    const c = this.config;
    if (c.maxSteps > 0) return c.maxSteps;
    const batches = Math.ceil((c.numTrainEpochs * this.trainDataset.length) / this.promptsPerGeneration);
    return batches * this.stepsPerBatch;
  }

  /**
   * Train until {@link GRPOTrainer.totalSteps} optimizer steps or until `onStep` returns false.
   * Returns the last logged metrics.
   */
  train(): Record<string, number> {
    const c = this.config;
    const totalSteps = this.totalSteps;
    let sums: Record<string, number> = {};
    let counts: Record<string, number> = {};
    let samples = 0;
    let started = performance.now();
    let last: Record<string, number> = {};
    while (this.globalStep < totalSteps) {
      const before = this.globalStep;
      const stats = this.step() as unknown as Record<string, number>;
      samples += stats["rollout/samplesDrawn"];
      for (const [key, value] of Object.entries(stats)) {
        if (Number.isNaN(value)) continue;
        sums[key] = (sums[key] ?? 0) + value;
        counts[key] = (counts[key] ?? 0) + 1;
      }
      const crossed = Math.floor(this.globalStep / c.loggingSteps) > Math.floor(before / c.loggingSteps);
      if (crossed || this.globalStep >= totalSteps) {
        const seconds = (performance.now() - started) / 1000;
        last = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / counts[k]]));
        last["train/globalStep"] = this.globalStep;
        last["time/samplesPerSecond"] = samples / Math.max(seconds, 1e-9);
        const keepGoing = this.onStep?.({ step: this.globalStep, totalSteps, metrics: last });
        sums = {};
        counts = {};
        samples = 0;
        started = performance.now();
        if (keepGoing === false) break;
      }
    }
    return last;
  }

  /** One generation batch and its optimizer steps; returns its metrics. */
  step(): GRPOStepStats {
    const c = this.config;
    const G = c.numGenerations;
    const promptsWanted = this.promptsPerGeneration;

    // 1. sample and score, refilling with new prompts under dynamic sampling (DAPO §3.2)
    const drawn: Completion[] = [];
    const sampleRound = (): { groups: Completion[][]; rewards: number[][] } => {
      const completions = this.sampleCompletions(this.nextRows(promptsWanted));
      drawn.push(...completions);
      const groups = Array.from({ length: promptsWanted }, (_, g) => completions.slice(g * G, (g + 1) * G));
      return { groups, rewards: groups.map((group) => group.map((x) => x.reward)) };
    };
    let groups: Completion[][];
    let rounds = 1;
    if (c.dynamicSampling) {
      const filled = fillDynamicBatch(promptsWanted, c.maxGenerationRounds, sampleRound);
      groups = filled.groups;
      rounds = filled.rounds;
    } else {
      groups = sampleRound().groups;
    }
    this.generationStep++;
    const drawnRewards = drawn.map((x) => x.reward);
    const stats: GRPOStepStats = {
      "rollout/reward": mean1(drawnRewards),
      "rollout/completionLength": mean1(drawn.map((x) => x.responseIds.length)),
      "rollout/truncatedFraction": mean1(drawn.map((x) => (x.truncated ? 1 : 0))),
      "rollout/zeroStdFraction": mean1(equalRewardGroups(drawnRewards, G).map((e) => (e ? 1 : 0))),
      "rollout/generationRounds": rounds,
      "rollout/samplesDrawn": drawn.length,
      "rollout/samplesUsed": groups.length * G,
      "rollout/klToRef": Number.NaN,
      "train/policyLoss": Number.NaN,
      "train/loss": Number.NaN,
      "train/clipFraction": Number.NaN,
      "train/dualClipFraction": Number.NaN,
      "train/approxKl": Number.NaN,
      "train/entropy": Number.NaN,
      "train/gradNorm": Number.NaN,
      "train/learningRate": this.learningRateAt(this.globalStep),
      "train/globalStep": this.globalStep,
    };
    for (const [f, name] of this.rewardNames.entries())
      stats[`rollout/rewards/${name}`] = mean1(drawn.map((x) => x.rewards[f]));
    const completions = groups.flat();
    if (completions.length === 0) {
      // every group had equal rewards in every round: nothing to learn from; keep the schedule on plan
      this.globalStep = Math.min(this.globalStep + this.stepsPerBatch, this.totalSteps);
      stats["train/globalStep"] = this.globalStep;
      return stats;
    }

    // 2. the batch: left-padded prompts, right-padded completions, old log-probs from generation time
    const batch = this.collate(completions);
    const mask = batch.responseMask; // [N, R]
    const [N, R] = mask.shape;
    const oldLogProbs = new Tensor(
      padRows(
        completions.map((x) => x.logProbs),
        R,
      ),
      [N, R],
    );
    const reference = this.reference;
    const refLogProbs =
      reference === null ? null : noGrad(() => responseLogProbs(reference, batch, c.temperature).logProbs);
    let tokenKl: Tensor | null = null;
    if (refLogProbs !== null) {
      const kl = new Float32Array(N * R);
      for (let i = 0; i < kl.length; i++)
        if (mask.values[i] !== 0)
          kl[i] = klEstimateValue(oldLogProbs.values[i], refLogProbs.values[i], c.klEstimator);
      tokenKl = new Tensor(kl, [N, R]);
      stats["rollout/klToRef"] = maskedMean(kl, mask.values);
    }

    // 3. advantages [N, R]
    const advantages = this.advantages(completions, mask, c.klPlacement === "reward" ? tokenKl : null);

    // 4. the loss mask: overlong filtering drops truncated completions (DAPO §3.4)
    const lossMask =
      c.maskTruncatedCompletions && completions.some((x) => x.truncated)
        ? maskRows(
            mask,
            completions.map((x) => !x.truncated),
          )
        : mask;

    // 5. numIterations passes of stepsPerGeneration minibatches (GRPO Algorithm 1, μ iterations)
    const params = this.model.parameters();
    const totals = {
      policyLoss: 0,
      loss: 0,
      clipFraction: 0,
      dualClipFraction: 0,
      approxKl: 0,
      entropy: 0,
      gradNorm: 0,
    };
    let updates = 0;
    const end = Math.min(this.globalStep + this.stepsPerBatch, this.totalSteps);
    for (let iteration = 0; iteration < c.numIterations && this.globalStep < end; iteration++) {
      const order = this.rng.permutation(N);
      const size = Math.ceil(N / c.stepsPerGeneration);
      for (let start = 0; start < N && this.globalStep < end; start += size) {
        const rows = order.subarray(start, Math.min(N, start + size));
        const minibatch = subBatch(batch, rows);
        const { logProbs, entropy } = responseLogProbs(this.model, minibatch, c.temperature);
        const out = grpoPolicyLoss(
          {
            logProbs,
            oldLogProbs: takeRows(oldLogProbs, rows),
            refLogProbs: refLogProbs === null ? null : takeRows(refLogProbs, rows),
            advantages: takeRows(advantages, rows),
            mask: takeRows(lossMask, rows),
          },
          c,
        );
        this.optimizer.learningRate = this.learningRateAt(this.globalStep);
        this.optimizer.zeroGrad();
        out.loss.backward();
        totals.gradNorm += c.maxGradNorm > 0 ? clipGradNorm(params, c.maxGradNorm) : Number.NaN;
        this.optimizer.step();
        this.globalStep++;
        totals.policyLoss += out.policyLoss;
        totals.loss += out.loss.item();
        totals.clipFraction += out.clipFraction;
        totals.dualClipFraction += out.dualClipFraction;
        totals.approxKl += out.approxKl;
        totals.entropy += entropy;
        updates++;
      }
    }
    // a short batch (dynamic sampling ran out of rounds) may have fewer minibatches than planned
    this.globalStep = end;
    for (const [key, value] of Object.entries(totals))
      (stats as unknown as Record<string, number>)[`train/${key}`] = value / updates;
    stats["train/globalStep"] = this.globalStep;
    return stats;
  }

  /**
   * Mean reward (each function and their weighted sum, plus the overlong penalty) and completion
   * length over `rows`, decoding greedily (`doSample: false`) unless told otherwise; sampling draws
   * from its own generator (`seed`, default the config's), so evaluating never changes training.
   */
  evaluate(
    rows: GRPORow[],
    options: { doSample?: boolean; batchSize?: number; seed?: number } = {},
  ): Record<string, number> {
    if (rows.length === 0) throw new ProximalError("INVALID_ARGUMENT", "GRPOTrainer.evaluate: no rows.");
    const batchSize = options.batchSize ?? 256;
    const rng = new Rng(options.seed ?? this.config.seed);
    const completions: Completion[] = [];
    for (let start = 0; start < rows.length; start += batchSize) {
      const chunk = rows.slice(start, start + batchSize);
      const ids = chunk.map((row) => [this.tokenizer.bosTokenId, ...this.tokenizer.encode(row.prompt)]);
      completions.push(...this.generateAndScore(chunk, ids, options.doSample ?? false, rng));
    }
    const out: Record<string, number> = {
      "eval/reward": mean1(completions.map((x) => x.reward)),
      "eval/completionLength": mean1(completions.map((x) => x.responseIds.length)),
      "eval/truncatedFraction": mean1(completions.map((x) => (x.truncated ? 1 : 0))),
    };
    for (const [f, name] of this.rewardNames.entries())
      out[`eval/rewards/${name}`] = mean1(completions.map((x) => x.rewards[f]));
    return out;
  }

  /**
   * Write a checkpoint of the run to `dir` (created if missing; see `saveCheckpoint`): what
   * {@link GRPOTrainer.load} needs to continue it exactly (listed in the class doc).
   */
  async save(dir: string): Promise<void> {
    const optimizerState = this.optimizer.getState();
    const tensors: Record<string, Tensor> = {
      ...this.model.stateDict(),
      ...addPrefix(optimizerState.tensors, "optimizer"),
    };
    if (this.reference !== null) Object.assign(tensors, addPrefix(this.reference.stateDict(), "refModel"));
    const json: GRPOCheckpointJson = {
      trainer: GRPO_TRAINER_NAME,
      gptConfig: this.model.config,
      config: this.config,
      globalStep: this.globalStep,
      generationStep: this.generationStep,
      optimizer: optimizerState.json,
      rng: this.rng.getState(),
      order: Array.from(this.order),
      cursor: this.cursor,
      dcpoHistory: [...this.dcpoHistory.entries()],
      dataset: { rows: this.trainDataset.length, fingerprint: promptsFingerprint(this.trainDataset) },
      rewardFunctions: this.rewardNames,
      hasRefModel: this.reference !== null,
    };
    await saveCheckpoint(dir, { tensors, json: json as unknown as Record<string, unknown> });
  }

  /**
   * Restore a {@link GRPOTrainer.save} into this trainer, which must have been built with the same
   * config (every field but `loggingSteps`), the same prompts in the same order and a policy of the
   * same shape; then {@link GRPOTrainer.step} and {@link GRPOTrainer.train} continue the saved run
   * bit-identically. The policy is loaded in place; the reference is replaced by a new frozen copy
   * holding the saved one. A refused checkpoint (missing, malformed, another trainer's, another
   * config, prompts or architecture) changes nothing.
   */
  async load(dir: string): Promise<void> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, GRPO_TRAINER_NAME);
    const saved = parseCheckpointJson(json, dir);
    checkSameConfig(GRPO_TRAINER_NAME, saved.config, this.config, dir, RESUMABLE_CONFIG_FIELDS);
    const n = this.trainDataset.length;
    if (saved.dataset.rows !== n || saved.dataset.fingerprint !== promptsFingerprint(this.trainDataset)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `GRPOTrainer.load: ${dir} was saved from a run over ${saved.dataset.rows} prompts (fingerprint ${saved.dataset.fingerprint}), but this trainer has ${n} (fingerprint ${promptsFingerprint(this.trainDataset)}). The saved prompt order indexes the dataset, so pass the same trainDataset, in the same order.`,
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
    if (saved.rewardFunctions.length !== this.rewardFunctions.length) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `GRPOTrainer.load: ${dir} was saved with ${saved.rewardFunctions.length} reward functions (${saved.rewardFunctions.join(", ")}), this trainer has ${this.rewardFunctions.length} (${this.rewardNames.join(", ")}). Pass the same reward functions.`,
      );
    }
    if (saved.hasRefModel !== (this.reference !== null)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${dir}: hasRefModel is ${saved.hasRefModel}, but the config ${this.reference === null ? "uses no" : "uses a"} reference model.`,
      );
    }
    // everything that can fail runs before the first change to this trainer: a throwaway AdamW over
    // the same parameters checks the optimizer state, and loadStateDict checks before it copies
    let reference: GPT | null = null;
    if (this.reference !== null) {
      reference = frozenCopy(this.reference);
      reference.loadStateDict(withPrefix(tensors, "refModel"));
    }
    const optimizerState = { tensors: withPrefix(tensors, "optimizer"), json: saved.optimizer };
    new AdamW(this.model.parameters()).setState(optimizerState);
    this.model.loadStateDict(policyTensors(tensors));
    this.optimizer.setState(optimizerState);
    this.reference = reference;
    this.globalStep = saved.globalStep;
    this.generationStep = saved.generationStep;
    this.rng.setState(saved.rng);
    this.order = Int32Array.from(saved.order);
    this.cursor = saved.cursor;
    this.dcpoHistory.clear();
    for (const [prompt, statistics] of saved.dcpoHistory) this.dcpoHistory.set(prompt, statistics);
  }

  /**
   * The policy of a {@link GRPOTrainer.save} directory as a new {@link GPT} (its config and state dict;
   * the optimizer state and the reference are left out), as `SFTTrainer.loadModel` reads an SFT one.
   */
  static async loadModel(dir: string): Promise<GPT> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, GRPO_TRAINER_NAME);
    if (typeof json.gptConfig !== "object" || json.gptConfig === null) {
      throw new ProximalError("MALFORMED_FILE", `${dir}: model.json has no "gptConfig" object.`);
    }
    const gpt = new GPT(json.gptConfig as GPTConfig);
    gpt.loadStateDict(policyTensors(tensors));
    return gpt;
  }

  /** The next `count` row indices of the shuffled prompt order (reshuffled after each pass). */
  private nextRows(count: number): number[] {
    const rows: number[] = [];
    while (rows.length < count) {
      if (this.cursor >= this.order.length) {
        this.order = this.rng.permutation(this.trainDataset.length);
        this.cursor = 0;
      }
      rows.push(this.order[this.cursor++]);
    }
    return rows;
  }

  /** `numGenerations` sampled completions of each row, in contiguous groups, scored. */
  private sampleCompletions(rows: number[]): Completion[] {
    const G = this.config.numGenerations;
    const repeated = rows.flatMap((r) => new Array<number>(G).fill(r));
    return this.generateAndScore(
      repeated.map((r) => this.trainDataset[r]),
      repeated.map((r) => this.promptIds[r]),
      true,
      this.rng,
      repeated,
    );
  }

  /** Decode `promptIds` (of `rows`; dataset indices `rowIndices`) and score every completion. */
  private generateAndScore(
    rows: GRPORow[],
    promptIds: number[][],
    doSample: boolean,
    rng: Rng,
    rowIndices: number[] = rows.map(() => -1),
  ): Completion[] {
    const c = this.config;
    const out = generate(this.model, promptIds, {
      maxNewTokens: c.maxCompletionLength,
      doSample,
      temperature: c.temperature,
      topK: c.topK,
      topP: c.topP,
      eosTokenId: this.tokenizer.eosTokenId,
      padTokenId: this.tokenizer.padTokenId,
      rng,
    });
    const width = c.maxCompletionLength;
    return rows.map((row, b) => {
      const length = out.responseLengths[b];
      const responseIds = Array.from(out.responseIds.data.subarray(b * width, b * width + length));
      const logProbs = Array.from(out.logProbs.values.subarray(b * width, b * width + length));
      const truncated = responseIds[length - 1] !== this.tokenizer.eosTokenId;
      const text = this.tokenizer.decode(responseIds, { skipSpecialTokens: true });
      const rewards = this.rewardFunctions.map((f, i) => {
        const value = f(row.prompt, text, row);
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw new ProximalError(
            "INVALID_ARGUMENT",
            `GRPOTrainer: reward function "${this.rewardNames[i]}" returned ${String(value)} for prompt ${JSON.stringify(row.prompt)} and completion ${JSON.stringify(text)}. Reward functions must return finite numbers.`,
          );
        }
        return value;
      });
      let reward = 0;
      for (let i = 0; i < rewards.length; i++) reward += this.rewardWeights[i] * rewards[i];
      if (c.overlongBuffer > 0)
        reward += overlongPenalty(length, c.maxCompletionLength, c.overlongBuffer, c.overlongPenaltyFactor);
      return {
        row: rowIndices[b],
        promptIds: promptIds[b],
        responseIds,
        logProbs,
        truncated,
        rewards,
        reward,
      };
    });
  }

  /** Per-token advantages [N, R] of the configured estimator (KL in the reward already applied). */
  private advantages(completions: Completion[], mask: Tensor, rewardKl: Tensor | null): Tensor {
    const c = this.config;
    const G = c.numGenerations;
    const [N, R] = mask.shape;
    const beta = c.beta;
    if (c.advantageEstimator === "reinforce++" || c.advantageEstimator === "reinforce++_baseline") {
      return reinforcePlusPlusAdvantages(
        completions.map((x) => x.reward),
        mask,
        {
          tokenKl: rewardKl,
          klCoef: beta,
          gamma: c.gamma,
          groupSize: c.advantageEstimator === "reinforce++_baseline" ? G : null,
        },
      ).advantages;
    }
    // group estimators see r_i - β Σ_t KL_t with the KL in the reward (verl: per-token, then summed)
    const rewards = completions.map((x, b) => {
      if (rewardKl === null) return x.reward;
      let kl = 0;
      for (let t = 0; t < R; t++) kl += rewardKl.values[b * R + t];
      return x.reward - beta * kl;
    });
    let sequenceAdvantages: Float64Array;
    switch (c.advantageEstimator) {
      case "grpo":
        sequenceAdvantages = grpoAdvantages(rewards, G, c.advantageEpsilon);
        break;
      case "drgrpo":
        sequenceAdvantages = drGrpoAdvantages(rewards, G);
        break;
      case "rloo":
        sequenceAdvantages = rlooAdvantages(rewards, G);
        break;
      case "dcpo": {
        const keys = Array.from(
          { length: N / G },
          (_, g) => this.trainDataset[completions[g * G].row].prompt,
        );
        const out = dcpoAdvantages(
          rewards,
          G,
          keys.map((k) => this.dcpoHistory.get(k) ?? null),
        );
        for (const [g, key] of keys.entries()) this.dcpoHistory.set(key, out.statistics[g]);
        sequenceAdvantages = out.advantages;
        break;
      }
      default:
        throw new ProximalError(
          "INTERNAL",
          `GRPOTrainer: unhandled estimator ${c.advantageEstimator}. Please report a bug.`,
        );
    }
    const values = new Float32Array(N * R);
    for (let b = 0; b < N; b++)
      for (let t = 0; t < R; t++)
        values[b * R + t] = mask.values[b * R + t] === 0 ? 0 : sequenceAdvantages[b];
    return new Tensor(values, [N, R]);
  }

  /** Left-pad prompts and right-pad completions into one {@link SequenceBatch}. */
  private collate(completions: Completion[]): SequenceBatch {
    const pad = this.tokenizer.padTokenId;
    const N = completions.length;
    const P = Math.max(...completions.map((x) => x.promptIds.length));
    const R = Math.max(...completions.map((x) => x.responseIds.length));
    const T = P + R;
    const sequences = new Int32Array(N * T).fill(pad);
    const attention = new Int32Array(N * T);
    const responseIds = new Int32Array(N * R).fill(pad);
    const responseMask = new Float32Array(N * R);
    for (const [b, x] of completions.entries()) {
      const offset = P - x.promptIds.length;
      for (const [t, id] of x.promptIds.entries()) {
        sequences[b * T + offset + t] = id;
        attention[b * T + offset + t] = 1;
      }
      for (const [t, id] of x.responseIds.entries()) {
        sequences[b * T + P + t] = id;
        attention[b * T + P + t] = 1;
        responseIds[b * R + t] = id;
        responseMask[b * R + t] = 1;
      }
    }
    return {
      sequences: new Tensor(sequences, [N, T], "int32"),
      attentionMask: new Tensor(attention, [N, T], "int32"),
      promptLength: P,
      responseIds: new Tensor(responseIds, [N, R], "int32"),
      responseMask: new Tensor(responseMask, [N, R]),
    };
  }

  private learningRateAt(step: number): number {
    const c = this.config;
    const total = this.totalSteps;
    return warmupThenCosine(step, total, Math.ceil(c.warmupRatio * total), c.learningRate, c.minLearningRate);
  }
}

function mean1(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return values.length === 0 ? Number.NaN : total / values.length;
}

/** Rows of ragged number lists as one zero-padded [rows, width] Float32Array. */
function padRows(rows: number[][], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (const [b, row] of rows.entries()) out.set(row, b * width);
  return out;
}

/** `mask` with the rows where `keep` is false zeroed. */
function maskRows(mask: Tensor, keep: boolean[]): Tensor {
  const [N, R] = mask.shape;
  const out = Float32Array.from(mask.values);
  for (let b = 0; b < N; b++) if (!keep[b]) out.fill(0, b * R, (b + 1) * R);
  return new Tensor(out, [N, R]);
}

// ============================================================================================
// checkpoints

const GRPO_TRAINER_NAME = "GRPOTrainer";

/** Config fields a resumed run may change: they do not touch the maths. */
const RESUMABLE_CONFIG_FIELDS: readonly string[] = ["loggingSteps"];

/** `model.json` of a {@link GRPOTrainer.save} (the tensors are in `model.safetensors`). */
interface GRPOCheckpointJson {
  trainer: typeof GRPO_TRAINER_NAME;
  /** The policy's architecture, for {@link GRPOTrainer.loadModel}. */
  gptConfig: Required<GPTConfig>;
  config: ResolvedGRPOConfig;
  globalStep: number;
  generationStep: number;
  /** The JSON half of the AdamW state; the moments are the `optimizer.*` tensors. */
  optimizer: OptimizerStateJson;
  /** The sampling generator (prompt shuffles, sampling, minibatch order). */
  rng: RngState;
  /** Prompt indices of the current pass and the position in it. */
  order: number[];
  cursor: number;
  /** DCPO's per-prompt statistics as `[prompt, statistics]` entries (empty unless "dcpo"). */
  dcpoHistory: [string, DcpoPromptStatistics][];
  /** Size and {@link promptsFingerprint} of the prompts, checked on load (the order indexes them). */
  dataset: { rows: number; fingerprint: string };
  /** Names of the reward functions (their count is checked on load). */
  rewardFunctions: string[];
  /** Whether `refModel.*` tensors were saved. */
  hasRefModel: boolean;
}

/** Refuse a `model.json` that another trainer (or no trainer) wrote. */
/** The tensors of the policy: every name outside `optimizer.*` and `refModel.*`. */
function policyTensors(tensors: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(tensors).filter(
      ([name]) => !name.startsWith("optimizer.") && !name.startsWith("refModel."),
    ),
  );
}

/** FNV-1a (32-bit) of the prompts in order, as 8 hex digits: enough to notice another dataset. */
function promptsFingerprint(rows: GRPORow[]): string {
  let hash = 0x811c9dc5;
  for (const row of rows) {
    for (let i = 0; i < row.prompt.length; i++) hash = Math.imul(hash ^ row.prompt.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0xffff, 0x01000193); // separator, so ["ab", "c"] ≠ ["a", "bc"]
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** Check the fields of a GRPO `model.json` and return them typed (MALFORMED_FILE naming the field). */
function parseCheckpointJson(json: Record<string, unknown>, dir: string): GRPOCheckpointJson {
  const fail = (field: string, expected: string): never => {
    const got = JSON.stringify(json[field]) ?? "nothing";
    throw new ProximalError(
      "MALFORMED_FILE",
      `${dir}: "${field}" in model.json must be ${expected}, got ${got.length > 80 ? `${got.slice(0, 80)}…` : got}. The file was not written by GRPOTrainer.save, or was edited; save the run again.`,
    );
  };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  if (!isObject(json.config)) fail("config", "the trainer's config object");
  if (!isObject(json.gptConfig)) fail("gptConfig", "the policy's GPT config object");
  for (const field of ["globalStep", "generationStep", "cursor"]) {
    if (!isCount(json[field])) fail(field, "an integer >= 0");
  }
  const optimizer = json.optimizer;
  if (!isObject(optimizer) || !Array.isArray(optimizer.paramGroups) || !isObject(optimizer.steps))
    fail("optimizer", "an optimizer state ({ type, paramGroups, steps })");
  const rng = json.rng;
  if (
    !isObject(rng) ||
    !Array.isArray(rng.s) ||
    rng.s.length !== 4 ||
    !rng.s.every((v) => Number.isInteger(v)) ||
    !(rng.spareNormal === null || typeof rng.spareNormal === "number")
  )
    fail("rng", "a generator state { s: [4 integers], spareNormal }");
  if (!Array.isArray(json.order) || !json.order.every(isCount)) fail("order", "an array of prompt indices");
  const isStatistics = (v: unknown): boolean =>
    isObject(v) && isCount(v.steps) && isCount(v.count) && Number.isFinite(v.mean) && Number.isFinite(v.m2);
  if (
    !Array.isArray(json.dcpoHistory) ||
    !json.dcpoHistory.every(
      (e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && isStatistics(e[1]),
    )
  )
    fail("dcpoHistory", "an array of [prompt, { steps, count, mean, m2 }] entries");
  const dataset = json.dataset;
  if (!isObject(dataset) || !isCount(dataset.rows) || typeof dataset.fingerprint !== "string")
    fail("dataset", "{ rows, fingerprint }");
  if (!Array.isArray(json.rewardFunctions) || !json.rewardFunctions.every((v) => typeof v === "string"))
    fail("rewardFunctions", "an array of reward function names");
  if (typeof json.hasRefModel !== "boolean") fail("hasRefModel", "true or false");
  return json as unknown as GRPOCheckpointJson;
}
