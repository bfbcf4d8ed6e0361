import { ProximalError } from "../../errors.js";
import type { KlEstimator } from "../common/kl.js";

/**
 * The estimators PPO's per-token penalty takes: the shared {@link KlEstimator} but k2, which is biased
 * as a penalty in the reward (DeepSpeed-Chat uses k1; TRL's `kl_estimator` offers k1 and k3):
 * - `"k1"` (default): `logp - refLogp`, unbiased, can be negative per token (DeepSpeed-Chat);
 * - `"k3"`: `exp(logr) - 1 - logr`, unbiased and never negative, lower variance (TRL).
 */
export type PPOKlEstimator = Exclude<KlEstimator, "k2">;

/**
 * Options of {@link PPOTrainer} (RLHF PPO with four models: actor, critic, reward, reference).
 * Names follow TRL's `PPOConfig` / OpenRLHF's arguments in camelCase; defaults are DeepSpeed-Chat's
 * (`step3_rlhf_finetuning`; Yao et al. 2023, arXiv:2308.01320) unless a field says otherwise. Every field is optional.
 *
 * Groups: generation (how responses are sampled), reward (how the per-token reward is assembled),
 * training (epochs, minibatches, losses, optimizers).
 */
export interface PPOConfig {
  // > generation

  /** Tokens sampled per response at most. @defaultValue 32 (TRL `response_length` is 53) */
  maxNewTokens?: number;
  /** Sampling temperature; log-probs are taken under `softmax(logits / temperature)`. @defaultValue 1 (DeepSpeed-Chat samples at 1) */
  temperature?: number;
  /** Top-k truncation while sampling; 0 is off. @defaultValue 0 (TRL: 0.0 → off) */
  topK?: number;
  /** Nucleus truncation while sampling. @defaultValue 1 (off) */
  topP?: number;

  // > reward

  /**
   * Initial KL coefficient β of the per-token reward `-β·KL_t` (DeepSpeed-Chat
   * `kl_ctl`; Ziegler et al. 2019, arXiv:1909.08593, §2). @defaultValue 0.1 (DeepSpeed-Chat; TRL's old `init_kl_coef` was 0.2, new `kl_coef` 0.05)
   */
  klCoef?: number;
  /**
   * Target KL (nats per sequence) of the adaptive controller of Ziegler et al. 2019 (arXiv:1909.08593,
   * §2.2): after each batch `β *= 1 + clip(KL/target - 1, -0.2, 0.2) · batchSize / klHorizon`.
   * `null` keeps β fixed. @defaultValue null (fixed, as DeepSpeed-Chat; TRL's adaptive default was 6)
   */
  klTarget?: number | null;
  /** Horizon of the adaptive controller (OpenRLHF `kl_horizon`, TRL `horizon`). No effect when `klTarget` is null. @defaultValue 10000 */
  klHorizon?: number;
  /** KL estimator of the penalty; see {@link PPOKlEstimator}. @defaultValue "k1" */
  klEstimator?: PPOKlEstimator;
  /** The reward-model score is clipped to ±this before it is added (DeepSpeed-Chat `clip_reward_value`). @defaultValue 5 */
  clipRewardValue?: number;
  /**
   * Replace the reward-model score of responses that never produced the EOS token with
   * {@link PPOConfig.penaltyRewardValue} (TRL `non_eos_penalty`). @defaultValue false
   */
  nonEosPenalty?: boolean;
  /** The score given to a response without EOS when `nonEosPenalty` is on (TRL `penalty_reward_value`). @defaultValue -1 */
  penaltyRewardValue?: number;

  // > training

  /** Discount γ over response tokens (DeepSpeed-Chat: gamma). @defaultValue 1 */
  gamma?: number;
  /** GAE λ over response tokens (DeepSpeed-Chat: lam). @defaultValue 0.95 */
  lam?: number;
  /** Clip range ε of the ratio in the actor loss (DeepSpeed-Chat `cliprange`). @defaultValue 0.2 */
  cliprange?: number;
  /** Clip range of the new values around the old ones in the critic loss (`cliprange_value`). @defaultValue 0.2 */
  cliprangeValue?: number;
  /** Passes over each batch of experience (DeepSpeed-Chat `ppo_epochs`; TRL `num_ppo_epochs` is 4). @defaultValue 1 */
  ppoEpochs?: number;
  /** Sequences per gradient step; must divide the batch. @defaultValue 8 */
  miniBatchSize?: number;
  /**
   * Normalise the advantages to zero mean and unit variance over the batch's response tokens
   * (TRL `whiten(advantages)`). Not in DeepSpeed-Chat; on by default because TRL and OpenRLHF do it.
   * @defaultValue true
   */
  whitenAdvantages?: boolean;
  /** Adam learning rate of the actor. @defaultValue 9.65e-6 (DeepSpeed-Chat `actor_learning_rate`) */
  learningRate?: number;
  /** Adam learning rate of the critic. @defaultValue 5e-6 (DeepSpeed-Chat `critic_learning_rate`) */
  criticLearningRate?: number;
  /** Gradient-norm clip of each model's step. @defaultValue 1 (DeepSpeed `gradient_clipping`) */
  maxGradNorm?: number;
  /** Seed of sampling and minibatch order. @defaultValue 0 */
  seed?: number;
}

/** {@link PPOConfig} with every default filled in. */
export type ResolvedPPOConfig = Required<Omit<PPOConfig, "klTarget">> & { klTarget: number | null };

/** Fill in defaults and check the options (fails before any model is touched). */
export function resolvePPOConfig(config: PPOConfig = {}): ResolvedPPOConfig {
  const c: ResolvedPPOConfig = {
    maxNewTokens: 32,
    temperature: 1,
    topK: 0,
    topP: 1,
    klCoef: 0.1,
    klHorizon: 10000,
    klEstimator: "k1",
    clipRewardValue: 5,
    nonEosPenalty: false,
    penaltyRewardValue: -1,
    gamma: 1,
    lam: 0.95,
    cliprange: 0.2,
    cliprangeValue: 0.2,
    ppoEpochs: 1,
    miniBatchSize: 8,
    whitenAdvantages: true,
    learningRate: 9.65e-6,
    criticLearningRate: 5e-6,
    maxGradNorm: 1,
    seed: 0,
    ...stripUndefined(config),
    klTarget: config.klTarget ?? null,
  };
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `PPOConfig: ${message}`);
  };
  for (const key of ["maxNewTokens", "ppoEpochs", "miniBatchSize"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) fail(`${key} must be a positive integer, got ${c[key]}.`);
  }
  for (const key of ["klCoef", "clipRewardValue", "cliprange", "cliprangeValue", "learningRate"] as const) {
    if (!(c[key] >= 0)) fail(`${key} must be >= 0, got ${c[key]}.`);
  }
  if (!(c.criticLearningRate >= 0)) fail(`criticLearningRate must be >= 0, got ${c.criticLearningRate}.`);
  if (!(c.gamma >= 0 && c.gamma <= 1)) fail(`gamma must be in [0, 1], got ${c.gamma}.`);
  if (!(c.lam >= 0 && c.lam <= 1)) fail(`lam must be in [0, 1], got ${c.lam}.`);
  if (!(c.temperature > 0)) fail(`temperature must be > 0, got ${c.temperature}.`);
  if (!(c.maxGradNorm > 0)) fail(`maxGradNorm must be > 0, got ${c.maxGradNorm}.`);
  if (c.klTarget !== null && !(c.klTarget > 0))
    fail(`klTarget must be > 0 (or null for a fixed klCoef), got ${c.klTarget}.`);
  if (!(c.klHorizon > 0)) fail(`klHorizon must be > 0, got ${c.klHorizon}.`);
  if (c.klEstimator !== "k1" && c.klEstimator !== "k3")
    fail(`klEstimator must be "k1" or "k3", got ${JSON.stringify(c.klEstimator)}.`);
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
