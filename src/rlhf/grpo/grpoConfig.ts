import { didYouMean, ProximalError } from "../../errors.js";
import { KL_ESTIMATORS, type KlEstimator } from "../common/kl.js";
import {
  type ResolvedTrainingConfig,
  resolveTrainingConfig,
  TRAINING_DEFAULTS,
  type TrainingConfig,
} from "../common/trainingConfig.js";
import { type AdvantageEstimator, GROUP_ESTIMATORS } from "./advantages.js";

export type { AdvantageEstimator } from "./advantages.js";

/**
 * Which probability ratio the clipped objective uses:
 * - `"token"` (default): `r_t = π(y_t)/π_old(y_t)` per token (PPO; GRPO, Shao et al. 2024, arXiv:2402.03300, eq. 3).
 * - `"sequence"`: GSPO's length-normalised sequence ratio `s_i = exp(mean_t log r_t)`, the same for
 *   every token of the response (Zheng et al. 2025, arXiv:2507.18071, §4; TRL
 *   `importance_sampling_level="sequence"`).
 * - `"sequence-token"`: GSPO-token, `s_it = sg[s_i] · π(y_t)/sg[π(y_t)]`: the value of `s_i` with a
 *   per-token gradient, for per-token advantages (same paper, §4).
 */
export type ImportanceSamplingLevel = "token" | "sequence" | "sequence-token";

/**
 * How the clipping bounds of the ratio are set:
 * - `"fixed"` (default): `1 - epsilon ≤ r ≤ 1 + epsilonHigh` (PPO, Schulman et al. 2017,
 *   arXiv:1707.06347, eq. 7 when the two are equal; DAPO's clip-higher, Yu et al. 2025,
 *   arXiv:2503.14476, §3.1, when `epsilonHigh` is larger).
 * - `"dcpo"`: DCPO's dynamic bounds from the old token probability q,
 *   `0.5 + 0.5·sqrt(max(1 - 4·epsilon/q, 0)) ≤ r ≤ 0.5 + 0.5·sqrt(1 + 4·epsilonHigh/q)`, the upper one
 *   capped at `dcpoMaxRatio` (Yang et al. 2025, arXiv:2509.02333, §3): rare tokens may move further.
 */
export type ClipMode = "fixed" | "dcpo";

/**
 * How per-token losses `L_it` (mask `m_it`, B responses in the minibatch) become one number:
 * - `"seq-mean-token-mean"` (default): `(1/B) Σ_i (Σ_t m L / Σ_t m)`, GRPO eq. 3 (arXiv:2402.03300; TRL `loss_type="grpo"`).
 * - `"token-mean"`: `Σ m L / Σ m`, every token weighs the same, DAPO §3.3 (arXiv:2503.14476; TRL `"dapo"`).
 * - `"seq-mean-token-sum-norm"`: `Σ m L / (B · maxCompletionLength)`, a constant normaliser so length
 *   brings no bias, Dr. GRPO §3 (arXiv:2503.20783; TRL `"dr_grpo"`).
 * - `"seq-sum"`: `Σ_i Σ_t m L`, each response's token sum, summed: DCPO's "only token mean" (OTM) loss as
 *   the authors' verl code computes it (`masked_sum(...).sum()`, arXiv:2509.02333 §3). Its scale grows
 *   with the batch; with AdamW that only matters through `maxGradNorm`.
 */
export type LossAggregation = "seq-mean-token-mean" | "token-mean" | "seq-mean-token-sum-norm" | "seq-sum";

/**
 * Where the KL to the frozen reference goes (no effect when `beta` is 0):
 * - `"loss"` (default): `+ β·KL_t` on each token's loss, GRPO eq. 3-4 (arXiv:2402.03300).
 * - `"reward"`: `- β·KL_t` in the reward (InstructGPT, arXiv:2203.02155; REINFORCE++ eq. 8,
 *   arXiv:2501.03262; RLOO). The token-level estimators get it per token; the group estimators get
 *   `r_i - β Σ_t KL_t` before comparing rewards (as verl's `apply_kl_penalty` then summing).
 * - `"none"`: no KL and no reference model, whatever `beta` says.
 */
export type KlPlacement = "loss" | "reward" | "none";

/**
 * A reward function: the prompt text, the completion text (special tokens removed) and the dataset
 * row the prompt came from; returns a finite number. Several are summed with `rewardWeights`.
 * @example
 * const exactMatch: GRPORewardFunction = (prompt, completion) => (completion === answerOf(prompt) ? 1 : 0);
 */
export type GRPORewardFunction = (prompt: string, completion: string, row: GRPORow) => number;

/** A prompt row of {@link GRPOTrainer}'s dataset; extra fields reach the reward functions. */
export interface GRPORow {
  prompt: string;
  [field: string]: unknown;
}

/**
 * Options of {@link GRPOTrainer}, after TRL's `GRPOConfig`: only the GRPO-family fields; the loop's
 * fields are the shared {@link TrainingConfig}. Every choice is independent, so GRPO, Dr. GRPO, DAPO,
 * GSPO, DCPO, RLOO and REINFORCE++ are settings of one trainer (named presets in `presets/grpo/`).
 * Changed shared defaults:
 * - `learningRate`: `1e-6` instead of `5e-5` (TRL `GRPOConfig`; DeepSeekMath, DAPO and DCPO use 1e-6).
 * - `perDeviceTrainBatchSize` counts completions per optimizer step (TRL). A generation batch holds
 *   `perDeviceTrainBatchSize · stepsPerGeneration` completions, `numGenerations` per prompt, so that
 *   product must be a multiple of `numGenerations`.
 * - `numTrainEpochs` counts passes over the prompts; `maxLength` has no effect (prompt length plus
 *   `maxCompletionLength` is checked against the model's `nPositions`).
 */
export interface GRPOConfig extends TrainingConfig {
  // > reference model and KL

  /**
   * KL coefficient β. 0 loads no reference model. @defaultValue 0 (TRL; DeepSeekMath used 0.04,
   * DeepSeek-R1 0.001, DAPO/Dr. GRPO/GSPO/DCPO none)
   */
  beta?: number;
  /** Where the KL goes; see {@link KlPlacement}. @defaultValue "loss" */
  klPlacement?: KlPlacement;
  /** Which KL estimator; see {@link KlEstimator}. @defaultValue "k3" (GRPO eq. 4) */
  klEstimator?: KlEstimator;

  // > generation

  /** G: completions sampled per prompt (TRL `num_generations`). @defaultValue 8 (TRL; DeepSeekMath 64, DAPO 16) */
  numGenerations?: number;
  /** Most tokens per completion, the stop token included (TRL `max_completion_length`). @defaultValue 256 (TRL) */
  maxCompletionLength?: number;
  /** Sampling temperature; log-probs are taken under `softmax(logits / temperature)`. @defaultValue 1 */
  temperature?: number;
  /** Top-k truncation while sampling; 0 is off. @defaultValue 0 */
  topK?: number;
  /** Nucleus truncation while sampling. @defaultValue 1 (off) */
  topP?: number;
  /**
   * Optimizer steps per generation batch: a generation batch holds `perDeviceTrainBatchSize ·
   * stepsPerGeneration` completions, split into that many minibatches (TRL `steps_per_generation`;
   * DAPO: 512 prompts · 16 completions in minibatches of 512 → 16). @defaultValue 1
   */
  stepsPerGeneration?: number;
  /**
   * μ: passes over each generation batch (GRPO Algorithm 1; TRL `num_iterations`). The old-policy
   * log-probs stay those of generation time, so passes after the first are off-policy and the
   * clipping acts. @defaultValue 1
   */
  numIterations?: number;

  // > rewards and advantages

  /** Weight of each reward function in their sum; null weighs each 1 (TRL `reward_weights`). @defaultValue null */
  rewardWeights?: number[] | null;
  /** How rewards become advantages; see {@link AdvantageEstimator}. @defaultValue "grpo" */
  advantageEstimator?: AdvantageEstimator;
  /** ε added to the group std of `"grpo"`. @defaultValue 1e-4 (TRL; verl uses 1e-6) */
  advantageEpsilon?: number;
  /** Discount of the return-to-go of `"reinforce++"` and `"reinforce++_baseline"`. @defaultValue 1 (REINFORCE++) */
  gamma?: number;

  // > sampling filters and length shaping (DAPO)

  /**
   * DAPO's dynamic sampling (arXiv:2503.14476, §3.2): drop groups whose rewards are all equal and
   * sample more prompts until the generation batch is full, at most `maxGenerationRounds` rounds.
   * @defaultValue false
   */
  dynamicSampling?: boolean;
  /**
   * Most sampling rounds per generation batch with `dynamicSampling` (verl `max_num_gen_batches`);
   * when they run out the batch trains short and `rollout/generationRounds` says so. @defaultValue 10
   */
  maxGenerationRounds?: number;
  /**
   * Overlong filtering: completions cut off at `maxCompletionLength` without a stop token are masked
   * out of the loss (DAPO §3.4; TRL `mask_truncated_completions`). Their rewards still count in the
   * group statistics. @defaultValue false
   */
  maskTruncatedCompletions?: boolean;
  /**
   * DAPO's soft overlong punishment (§3.4, eq. 13): completions longer than `maxCompletionLength -
   * overlongBuffer` tokens lose up to `overlongPenaltyFactor` linearly; 0 is off. @defaultValue 0 (DAPO: 4096 of 20480)
   */
  overlongBuffer?: number;
  /** Size of the overlong penalty at `maxCompletionLength` (verl `overlong_penalty_factor`). @defaultValue 1 */
  overlongPenaltyFactor?: number;

  // > policy loss

  /** Ratio per token or per sequence; see {@link ImportanceSamplingLevel}. @defaultValue "token" */
  importanceSamplingLevel?: ImportanceSamplingLevel;
  /** Fixed or DCPO-dynamic clipping bounds; see {@link ClipMode}. @defaultValue "fixed" */
  clipMode?: ClipMode;
  /** ε (lower clip range, TRL `epsilon`). @defaultValue 0.2 (PPO/TRL; GSPO 3e-4) */
  epsilon?: number;
  /**
   * Upper clip range; null uses `epsilon` (symmetric). @defaultValue null (DAPO's clip-higher: 0.28;
   * GSPO: 4e-4; TRL `epsilon_high`)
   */
  epsilonHigh?: number | null;
  /** Cap on DCPO's upper bound (the authors' code caps it at 10). No effect unless `clipMode` is "dcpo". @defaultValue 10 */
  dcpoMaxRatio?: number;
  /**
   * Dual-clip constant c > 1: for negative advantages the loss is also bounded by `-c·A`, so a huge
   * ratio cannot blow up the update (Ye et al. 2020, arXiv:1912.09729; verl `clip_ratio_c`,
   * 3 there). null is off. @defaultValue null
   */
  dualClip?: number | null;
  /** How per-token losses are summed up; see {@link LossAggregation}. @defaultValue "seq-mean-token-mean" */
  lossAggregation?: LossAggregation;
}

/** {@link GRPOConfig} with every default filled in (`epsilonHigh` resolved to a number). */
export type ResolvedGRPOConfig = ResolvedTrainingConfig &
  Required<Omit<GRPOConfig, keyof TrainingConfig | "epsilonHigh" | "rewardWeights" | "dualClip">> & {
    epsilonHigh: number;
    rewardWeights: number[] | null;
    dualClip: number | null;
  };

/** Defaults of {@link GRPOConfig} (`epsilonHigh` null: take `epsilon`). */
export const GRPO_DEFAULTS: Omit<ResolvedGRPOConfig, "epsilonHigh"> & { epsilonHigh: number | null } = {
  ...TRAINING_DEFAULTS,
  learningRate: 1e-6,
  beta: 0,
  klPlacement: "loss",
  klEstimator: "k3",
  numGenerations: 8,
  maxCompletionLength: 256,
  temperature: 1,
  topK: 0,
  topP: 1,
  stepsPerGeneration: 1,
  numIterations: 1,
  rewardWeights: null,
  advantageEstimator: "grpo",
  advantageEpsilon: 1e-4,
  gamma: 1,
  dynamicSampling: false,
  maxGenerationRounds: 10,
  maskTruncatedCompletions: false,
  overlongBuffer: 0,
  overlongPenaltyFactor: 1,
  importanceSamplingLevel: "token",
  clipMode: "fixed",
  epsilon: 0.2,
  epsilonHigh: null,
  dcpoMaxRatio: 10,
  dualClip: null,
  lossAggregation: "seq-mean-token-mean",
};

/** The option names of {@link GRPOConfig} (for presets and the CLI). */
export const GRPO_CONFIG_KEYS: readonly string[] = Object.keys(GRPO_DEFAULTS);

const CHOICES = {
  klPlacement: ["loss", "reward", "none"],
  klEstimator: KL_ESTIMATORS,
  advantageEstimator: ["grpo", "drgrpo", "rloo", "reinforce++", "reinforce++_baseline", "dcpo"],
  importanceSamplingLevel: ["token", "sequence", "sequence-token"],
  clipMode: ["fixed", "dcpo"],
  lossAggregation: ["seq-mean-token-mean", "token-mean", "seq-mean-token-sum-norm", "seq-sum"],
} as const;

/** Fill in defaults and check the options and how they combine (fails before any model is touched). */
export function resolveGRPOConfig(config: GRPOConfig = {}): ResolvedGRPOConfig {
  for (const key of Object.keys(config)) {
    if (!GRPO_CONFIG_KEYS.includes(key)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `GRPOConfig: unknown option "${key}".${didYouMean(key, GRPO_CONFIG_KEYS)}`,
      );
    }
  }
  const resolved = resolveTrainingConfig("GRPOConfig", config, GRPO_DEFAULTS as Required<GRPOConfig>);
  const c = { ...resolved, epsilonHigh: resolved.epsilonHigh ?? resolved.epsilon } as ResolvedGRPOConfig;
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `GRPOConfig: ${message}`);
  };
  for (const [key, values] of Object.entries(CHOICES)) {
    const value = (c as unknown as Record<string, unknown>)[key];
    if (!(values as readonly unknown[]).includes(value)) {
      fail(
        `${key} must be one of ${values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(value)}.${typeof value === "string" ? didYouMean(value, values) : ""}`,
      );
    }
  }
  for (const key of [
    "numGenerations",
    "maxCompletionLength",
    "stepsPerGeneration",
    "numIterations",
    "maxGenerationRounds",
  ] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) fail(`${key} must be a positive integer, got ${c[key]}.`);
  }
  if (!(c.beta >= 0)) fail(`beta must be >= 0, got ${c.beta}.`);
  if (!(c.temperature > 0)) fail(`temperature must be > 0, got ${c.temperature}.`);
  if (!Number.isInteger(c.topK) || c.topK < 0) fail(`topK must be an integer >= 0, got ${c.topK}.`);
  if (!(c.topP > 0 && c.topP <= 1)) fail(`topP must be in (0, 1], got ${c.topP}.`);
  if (!(c.advantageEpsilon >= 0)) fail(`advantageEpsilon must be >= 0, got ${c.advantageEpsilon}.`);
  if (!(c.gamma >= 0 && c.gamma <= 1)) fail(`gamma must be in [0, 1], got ${c.gamma}.`);
  if (!(c.epsilon >= 0 && c.epsilon < 1))
    fail(`epsilon must be in [0, 1) so the lower bound 1 - epsilon stays positive, got ${c.epsilon}.`);
  if (!(c.epsilonHigh >= 0)) fail(`epsilonHigh must be >= 0 (or null for epsilon), got ${c.epsilonHigh}.`);
  if (!(c.dcpoMaxRatio > 1)) fail(`dcpoMaxRatio must be > 1, got ${c.dcpoMaxRatio}.`);
  if (c.dualClip !== null && !(c.dualClip > 1))
    fail(`dualClip must be > 1 (verl asserts clip_ratio_c > 1; 3 is usual) or null, got ${c.dualClip}.`);
  if (!Number.isInteger(c.overlongBuffer) || c.overlongBuffer < 0 || c.overlongBuffer > c.maxCompletionLength)
    fail(
      `overlongBuffer must be an integer in [0, maxCompletionLength = ${c.maxCompletionLength}], got ${c.overlongBuffer}. DAPO uses 4096 of 20480 (20%); lower it with maxCompletionLength.`,
    );
  if (!(c.overlongPenaltyFactor >= 0))
    fail(`overlongPenaltyFactor must be >= 0, got ${c.overlongPenaltyFactor}.`);
  if (c.rewardWeights !== null) {
    if (!Array.isArray(c.rewardWeights) || c.rewardWeights.some((w) => !Number.isFinite(w)))
      fail(
        `rewardWeights must be an array of finite numbers or null, got ${JSON.stringify(c.rewardWeights)}.`,
      );
  }

  // how the choices combine
  const groupEstimator = GROUP_ESTIMATORS.includes(c.advantageEstimator);
  if (groupEstimator && c.numGenerations < 2)
    fail(
      `numGenerations is ${c.numGenerations}, but advantageEstimator "${c.advantageEstimator}" compares each completion with the others sampled for its prompt, so it needs at least 2. Set numGenerations >= 2 (GRPO paper: 64, TRL: 8), or use advantageEstimator "reinforce++", which needs no group.`,
    );
  if (c.dynamicSampling && c.numGenerations < 2)
    fail(
      `dynamicSampling drops groups whose rewards are all equal, and a group of numGenerations = ${c.numGenerations} always is. Set numGenerations >= 2 or turn dynamicSampling off.`,
    );
  const generationBatch = c.perDeviceTrainBatchSize * c.stepsPerGeneration;
  if (generationBatch % c.numGenerations !== 0)
    fail(
      `a generation batch of perDeviceTrainBatchSize · stepsPerGeneration = ${c.perDeviceTrainBatchSize} · ${c.stepsPerGeneration} = ${generationBatch} completions does not split into groups of numGenerations = ${c.numGenerations}. Make it a multiple of ${c.numGenerations}.`,
    );
  if (c.clipMode === "dcpo" && c.importanceSamplingLevel === "sequence")
    fail(
      `clipMode "dcpo" bounds each token's ratio by that token's old probability, which a sequence ratio does not have. Use importanceSamplingLevel "token" or "sequence-token" with it, or clipMode "fixed".`,
    );
  return c;
}

/** @deprecated The one {@link KlEstimator} of `rlhf/common/kl.ts`; kept as a name for existing code. */
export type GRPOKlEstimator = KlEstimator;
