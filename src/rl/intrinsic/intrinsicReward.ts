/**
 * The intrinsic-reward interface PPO, A2C (through {@link OnPolicyAlgorithm}) and DQN (through
 * {@link OffPolicyAlgorithm}) accept as `intrinsicReward: { type, coef, ... }`: a module that scores
 * transitions `(s, a, s')` with a novelty bonus and trains itself on them. Two methods ship:
 * - `"icm"`, the Intrinsic Curiosity Module (Pathak et al. 2017, arXiv:1705.05363, §2.1-2.2);
 * - `"rnd"`, Random Network Distillation (Burda et al. 2018, arXiv:1810.12894, §2.2-2.4).
 * `"none"` (the default) builds nothing: the algorithms run exactly as without the option.
 */
import type { Space } from "../../envs/spaces/space.js";
import { RunningMeanStd, type RunningMeanStdState } from "../../envs/wrappers/runningMeanStd.js";
import { ProximalError } from "../../errors.js";
import type { Rng } from "../../random/rng.js";
import type { Tensor } from "../../tensor/tensor.js";

/**
 * Options of the intrinsic reward (one flat object for both methods; each field says which method
 * reads it). Defaults are the papers' unless marked otherwise.
 */
export interface IntrinsicRewardOptions {
  /**
   * `"none"`: no intrinsic reward (the algorithm is unchanged). `"icm"`: the Intrinsic Curiosity
   * Module (Pathak et al. 2017), its bonus added to the extrinsic reward. `"rnd"`: Random Network
   * Distillation (Burda et al. 2018), its bonus in a separate non-episodic stream with its own value
   * function (on-policy algorithms). @defaultValue "none"
   */
  type?: "icm" | "rnd" | "none";
  /**
   * Weight of the intrinsic reward. RND: the intrinsic advantage coefficient c_int of
   * `A = c_ext·A_ext + c_int·A_int` (Burda et al. 2018, §2.3: 1). ICM: the reward scale η of
   * `r_i = η/2·‖φ̂(s') − φ(s')‖²` (Pathak et al. 2017, eq. 6). 0 keeps the module training but gives
   * the agent no bonus (an ablation). @defaultValue 1
   */
  coef?: number;
  /** Adam learning rate of the module's networks (and of RND's intrinsic critic). @defaultValue 1e-4 (Burda et al. 2018, Table 5); ICM: 1e-3 (Pathak et al. 2017, §4) */
  learningRate?: number;
  /** Hidden layer sizes of RND's target and predictor, and of ICM's encoder φ. @defaultValue [64, 64] (not from the papers, whose inputs are images: a small MLP for vector observations) */
  hiddenSizes?: number[];
  /** Size of the embedding (RND: target output; ICM: φ(s)). @defaultValue 64 (not from the papers: 512 in RND, 288 in ICM for 42×42 images) */
  featureSize?: number;
  /** Passes over each rollout when training the module (on-policy). @defaultValue 4 (Burda et al. 2018, Table 5, the PPO epochs) */
  epochs?: number;
  /** Minibatches per pass (on-policy). @defaultValue 4 (Burda et al. 2018, Table 5) */
  minibatches?: number;
  /**
   * RND: probability that each transition of a minibatch trains the predictor (Burda et al. 2018,
   * appendix A.4: 0.25, to keep the predictor from outpacing the policy with many envs).
   * @defaultValue 0.25
   */
  updateProportion?: number;
  /** RND: discount γ_int of the intrinsic return. @defaultValue 0.99 (Burda et al. 2018, Table 5) */
  gammaIntrinsic?: number;
  /** Extrinsic advantage coefficient c_ext of the two-stream combination (RND; ICM with `episodic: false`). @defaultValue 2 (Burda et al. 2018, §2.3) */
  extrinsicCoef?: number;
  /**
   * Whether the bonus's return stops where an episode ends. ICM: true by default, the paper's use
   * (the bonus is added to the episodic extrinsic reward, Pathak et al. 2017, §2); false moves it
   * to RND's separate non-episodic stream (its own critic and `A = c_ext·A_ext + coef·A_int`
   * on-policy, an intrinsic Q-function in DQN), which the ICM paper does not do: an episodic bonus
   * larger than the step reward makes ending an episode, reaching MountainCar's flag included, a
   * loss of future bonus, and the authors' large-scale curiosity study (Burda et al. 2018,
   * arXiv:1808.04355) trains curiosity without episode ends. RND: false, the only implemented
   * (and the paper's) choice. @defaultValue true for ICM, false for RND
   */
  episodic?: boolean;
  /** RND: clip of the normalised observations fed to target and predictor. @defaultValue 5 (Burda et al. 2018, §2.4: [−5, 5]) */
  clipObservation?: number;
  /** ICM: weight β of the forward loss against the inverse loss, `(1 − β)L_I + βL_F`. @defaultValue 0.2 (Pathak et al. 2017, §4) */
  beta?: number;
  /** ICM: weight λ of the policy-gradient loss against the ICM loss (eq. 7); the ICM loss is divided by it. @defaultValue 0.1 (Pathak et al. 2017, §4) */
  policyWeight?: number;
  /** ICM: hidden units of the inverse and forward models. @defaultValue 256 (Pathak et al. 2017, §4) */
  headHiddenSize?: number;
}

/** The resolved options of a module (the ones both methods read). */
export interface ResolvedIntrinsicOptions {
  type: "icm" | "rnd";
  coef: number;
  learningRate: number;
  hiddenSizes: number[];
  featureSize: number;
  epochs: number;
  minibatches: number;
  updateProportion: number;
  gammaIntrinsic: number;
  extrinsicCoef: number;
  episodic: boolean;
  clipObservation: number;
  beta: number;
  policyWeight: number;
  headHiddenSize: number;
}

/** The state of a module to checkpoint: tensors (weights, optimizer moments) and JSON (statistics). */
export interface IntrinsicState {
  tensors: Record<string, Tensor>;
  json: Record<string, unknown>;
}

/**
 * A module that scores transitions with an intrinsic reward and learns from them. Observations are
 * flat (`[batch * obsSize]`), actions as the algorithm stores them.
 */
export interface IntrinsicRewardModule {
  readonly options: ResolvedIntrinsicOptions;
  /**
   * true: the bonus is its own non-episodic return stream with its own critic (RND, Burda et al.
   * 2018, §2.3); false: it is added to the extrinsic reward (ICM, Pathak et al. 2017, §2).
   */
  readonly separateStream: boolean;
  /** Update statistics that depend on the observations alone (RND: the observation normaliser). */
  observe(nextObservations: Float32Array, batch: number): void;
  /**
   * The bonus of each transition before `coef` and before any return normalisation (no gradient):
   * RND's prediction error, ICM's `½‖φ̂(s') − φ(s')‖²`.
   */
  rewards(
    observations: Float32Array,
    actions: Int32Array | Float32Array,
    nextObservations: Float32Array,
    batch: number,
  ): Float32Array;
  /** Update the return normaliser with step-major rewards `[steps * numEnvs]` (RND), no-op for ICM. */
  updateRewardStatistics(rewards: Float32Array, numEnvs: number): void;
  /** Divide by the running std of the intrinsic returns (RND, §2.4); the identity for ICM. */
  scaleRewards(rewards: Float32Array): Float32Array;
  /** One gradient step on a minibatch of transitions; returns its `intrinsic/...` diagnostics. */
  update(
    observations: Float32Array,
    actions: Int32Array | Float32Array,
    nextObservations: Float32Array,
    batch: number,
    rng: Rng,
  ): Record<string, number>;
  /** Weights, optimizer and statistics for a checkpoint. */
  state(): IntrinsicState;
  /** Restore {@link state}. */
  loadState(state: IntrinsicState): void;
}

/** Builds a module for an env's spaces; registered per type by `createIntrinsicReward`'s caller. */
export type IntrinsicFactory = (
  options: ResolvedIntrinsicOptions,
  observationSpace: Space,
  actionSpace: Space,
  rng: Rng,
) => IntrinsicRewardModule;

/**
 * Resolve and check `intrinsicReward` options; null for `"none"` or no options (nothing is built,
 * no random number is drawn).
 */
export function resolveIntrinsicOptions(
  options: IntrinsicRewardOptions | null | undefined,
): ResolvedIntrinsicOptions | null {
  if (options === undefined || options === null) return null;
  const type = options.type ?? "none";
  if (type === "none") return null;
  if (type !== "icm" && type !== "rnd") {
    throw new ProximalError(
      "INVALID_OPTION",
      `intrinsicReward.type must be "icm", "rnd" or "none", got "${String(type)}".`,
    );
  }
  const resolved: ResolvedIntrinsicOptions = {
    type,
    coef: options.coef ?? 1,
    learningRate: options.learningRate ?? (type === "icm" ? 1e-3 : 1e-4),
    hiddenSizes: options.hiddenSizes ?? [64, 64],
    featureSize: options.featureSize ?? 64,
    epochs: options.epochs ?? 4,
    minibatches: options.minibatches ?? 4,
    updateProportion: options.updateProportion ?? 0.25,
    gammaIntrinsic: options.gammaIntrinsic ?? 0.99,
    extrinsicCoef: options.extrinsicCoef ?? 2,
    episodic: options.episodic ?? type === "icm",
    clipObservation: options.clipObservation ?? 5,
    beta: options.beta ?? 0.2,
    policyWeight: options.policyWeight ?? 0.1,
    headHiddenSize: options.headHiddenSize ?? 256,
  };
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new ProximalError("INVALID_OPTION", `intrinsicReward.${message}`);
  };
  check(
    resolved.coef >= 0 && Number.isFinite(resolved.coef),
    `coef must be a finite number >= 0, got ${resolved.coef}.`,
  );
  check(
    resolved.learningRate > 0,
    `learningRate must be > 0, got ${resolved.learningRate}. The papers use 1e-4 (RND) and 1e-3 (ICM).`,
  );
  check(
    Array.isArray(resolved.hiddenSizes) && resolved.hiddenSizes.every((h) => Number.isInteger(h) && h > 0),
    `hiddenSizes must be a list of positive integers, got ${JSON.stringify(resolved.hiddenSizes)}.`,
  );
  for (const key of ["featureSize", "epochs", "minibatches", "headHiddenSize"] as const) {
    check(
      Number.isInteger(resolved[key]) && resolved[key] >= 1,
      `${key} must be an integer >= 1, got ${resolved[key]}.`,
    );
  }
  check(
    resolved.updateProportion > 0 && resolved.updateProportion <= 1,
    `updateProportion must be in (0, 1], got ${resolved.updateProportion}. The RND paper uses 0.25.`,
  );
  check(
    resolved.gammaIntrinsic >= 0 && resolved.gammaIntrinsic <= 1,
    `gammaIntrinsic must be in [0, 1], got ${resolved.gammaIntrinsic}.`,
  );
  check(resolved.extrinsicCoef >= 0, `extrinsicCoef must be >= 0, got ${resolved.extrinsicCoef}.`);
  check(
    typeof resolved.episodic === "boolean",
    `episodic must be true or false, got ${JSON.stringify(resolved.episodic)}.`,
  );
  check(
    !(type === "rnd" && resolved.episodic),
    'episodic: true is not implemented for RND, whose intrinsic return is non-episodic (Burda et al. 2018, §2.3). Remove the option, or use type: "icm" for an episodic bonus.',
  );
  check(resolved.clipObservation > 0, `clipObservation must be > 0, got ${resolved.clipObservation}.`);
  check(
    resolved.beta >= 0 && resolved.beta <= 1,
    `beta must be in [0, 1], got ${resolved.beta}. The ICM paper uses 0.2.`,
  );
  check(
    resolved.policyWeight > 0,
    `policyWeight must be > 0, got ${resolved.policyWeight}. The ICM paper uses 0.1.`,
  );
  return resolved;
}

/**
 * Running std of the discounted intrinsic return, per env, without episode boundaries (Burda et al.
 * 2018, §2.4 "Reward normalization"; the paper's code calls the discounted sum a "reward forward
 * filter"): `R_e ← γ_int·R_e + r_e` at every step, and the rewards are divided by the std of the R's
 * seen so far. Without it the bonus's scale drifts with the predictor's error, and a fixed c_int
 * would mean different things over training and across envs.
 */
export class IntrinsicReturnNormalizer {
  private returns: Float64Array;
  private readonly statistics = new RunningMeanStd(1);

  constructor(readonly gamma: number) {
    this.returns = new Float64Array(0);
  }

  /** Fold step-major rewards `[steps * numEnvs]` into the per-env returns and their statistics. */
  update(rewards: Float32Array, numEnvs: number): void {
    if (this.returns.length !== numEnvs) this.returns = new Float64Array(numEnvs);
    const steps = rewards.length / numEnvs;
    const seen = new Float64Array(rewards.length);
    for (let t = 0; t < steps; t++) {
      for (let e = 0; e < numEnvs; e++) {
        this.returns[e] = this.gamma * this.returns[e] + rewards[t * numEnvs + e];
        seen[t * numEnvs + e] = this.returns[e];
      }
    }
    this.statistics.update(seen, seen.length);
  }

  /** The running std of the intrinsic returns (1 before any update). */
  get std(): number {
    return Math.sqrt(this.statistics.var[0]);
  }

  /** `r / std(R_int)` (a new array). */
  scale(rewards: Float32Array): Float32Array {
    const std = this.std;
    const out = new Float32Array(rewards.length);
    // RND's code divides by sqrt(var) with no epsilon; the count's 1e-4 prior keeps var > 0 at first
    for (let i = 0; i < rewards.length; i++) out[i] = rewards[i] / std;
    return out;
  }

  toJSON(): { returns: number[]; statistics: RunningMeanStdState } {
    return { returns: Array.from(this.returns), statistics: this.statistics.getState() };
  }

  restore(state: { returns: number[]; statistics: RunningMeanStdState }): void {
    this.returns = Float64Array.from(state.returns);
    this.statistics.setState(state.statistics);
  }
}

/**
 * Running per-component observation statistics with clipping, `clip((x − μ)/σ, −c, c)` (Burda et
 * al. 2018, §2.4 "Observation normalization"), owned by the module: the policy's own inputs are
 * not changed.
 */
export class IntrinsicObservationNormalizer {
  readonly statistics: RunningMeanStd;

  constructor(
    readonly size: number,
    readonly clip: number,
  ) {
    this.statistics = new RunningMeanStd(size);
  }

  update(observations: Float32Array, batch: number): void {
    this.statistics.update(observations, batch);
  }

  normalize(observations: Float32Array, batch: number): Float32Array {
    const size = this.size;
    const { mean, var: variance } = this.statistics;
    const out = new Float32Array(batch * size);
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < size; k++) {
        // eps 1e-8 as Gymnasium's NormalizeObservation: constant components (one-hot) stay finite
        const z = (observations[b * size + k] - mean[k]) / Math.sqrt(variance[k] + 1e-8);
        out[b * size + k] = Math.min(this.clip, Math.max(-this.clip, z));
      }
    }
    return out;
  }
}
