import { categoricalCrossEntropy } from "../../distributions/categoricalReturns.js";
import { ProximalError } from "../../errors.js";
import { Adam } from "../../optim/adam.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import type { Schedule } from "../../optim/schedules.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { PrioritizedReplayBuffer } from "../replay/prioritizedReplayBuffer.js";
import {
  categoricalTargets,
  huberLoss,
  quantileHuberLoss,
  quantileTargets,
  tdTargets,
} from "./deepQLosses.js";
import type { OffPolicyDefaults, OffPolicyOptions } from "./offPolicyAlgorithm.js";
import { OffPolicyAlgorithm, randomAllowed } from "./offPolicyAlgorithm.js";
import type { EnvInput, UpdateStats } from "./onPolicyAlgorithm.js";
import { checkRange } from "./onPolicyAlgorithm.js";
import type { QPolicyOptions } from "./qPolicy.js";
import { QPolicy } from "./qPolicy.js";
import { scopedGradientStep } from "./scopedGradientStep.js";

/**
 * The categorical return distribution of C51 (Bellemare et al. 2017, arXiv:1707.06887): `atoms`
 * equally spaced values on `[vMin, vMax]`.
 */
export interface DistributionalOptions {
  /** Number of atoms N. @defaultValue 51 (Bellemare et al. 2017, §5; Hessel et al. 2018, Table 1) */
  atoms?: number;
  /** Smallest return of the support. @defaultValue -10 (Bellemare et al. 2017; Hessel et al. 2018) */
  vMin?: number;
  /** Largest return of the support. @defaultValue 10 (Bellemare et al. 2017; Hessel et al. 2018) */
  vMax?: number;
}

/**
 * The quantile return distribution of QR-DQN (Dabney et al. 2018, "Distributional Reinforcement
 * Learning with Quantile Regression", arXiv:1710.10044): N quantile values per action at the
 * midpoints τ̂_i = (2i + 1)/(2N), trained with the quantile Huber loss.
 */
export interface QuantileOptions {
  /** Number of quantiles N. @defaultValue 50 (SB3-contrib's QR-DQN `n_quantiles`; Dabney et al. 2018 use 200 on Atari) */
  quantiles?: number;
  /** Threshold κ of the quantile Huber loss (0: the plain quantile loss). @defaultValue 1 (Dabney et al. 2018, QR-DQN-1; SB3-contrib) */
  kappa?: number;
}

/**
 * Options of the deep Q-network family ({@link DeepQAlgorithm}: DQN and Rainbow); the shared replay
 * and loop options are in {@link OffPolicyOptions}. Each algorithm documents its own defaults.
 */
export interface DeepQOptions extends OffPolicyOptions {
  /**
   * Update the target network every `targetUpdateInterval` timesteps (over all envs; with n envs,
   * every `max(targetUpdateInterval // n, 1)` vector steps, as SB3).
   */
  targetUpdateInterval?: number;
  /** Fraction of training over which ε falls from its initial to its final value. */
  explorationFraction?: number;
  /** ε at the start of training (0 by default with `noisy`, as Rainbow). */
  explorationInitialEps?: number;
  /** ε after `explorationFraction` of training (0 by default with `noisy`, as Rainbow). */
  explorationFinalEps?: number;
  /** Global gradient-norm clip (`clip_grad_norm_`); Infinity disables it. */
  maxGradNorm?: number;
  /**
   * Double DQN: the online network picks the bootstrap action, the target network values it,
   * `y = r + γ Q_target(s', argmax_a Q(s', a))` (van Hasselt et al. 2016, arXiv:1509.06461, eq. 4);
   * with `distributional`, the target distribution is `p(s', argmax_a Q(s', a))` of the target
   * network (Hessel et al. 2018, arXiv:1710.02298, §"Double Q-learning").
   */
  double?: boolean;
  /**
   * Dueling network: `Q(s, a) = V(s) + A(s, a) − mean_a' A(s, a')` (Wang et al. 2016,
   * arXiv:1511.06581, eq. 9); per atom logit with `distributional` (Hessel et al. 2018).
   */
  dueling?: boolean;
  /**
   * NoisyNet exploration (Fortunato et al. 2018, arXiv:1706.10295): every layer of the Q-network is a
   * factorised-Gaussian `NoisyLinear`; new noise is drawn before every acting step and every gradient
   * step (online and target networks independently), and ε defaults to 0. Deterministic `predict`
   * (evaluation) uses the mean weights μ only.
   */
  noisy?: boolean;
  /** σ₀ of the NoisyLinear initialisation `σ = σ₀/√p` (with `noisy`). @defaultValue 0.5 (Fortunato et al. 2018) */
  noisySigma0?: number;
  /**
   * C51: learn a categorical return distribution per action on a fixed support with the projected
   * distributional Bellman target and a cross-entropy loss (Bellemare et al. 2017,
   * arXiv:1707.06887, Algorithm 1); greedy actions maximise its mean. With `prioritized`, priorities
   * are the per-sample loss (Hessel et al. 2018). `null` or omitted: scalar Q-values, Huber loss.
   * Exclusive with `quantile`.
   */
  distributional?: DistributionalOptions | null;
  /**
   * QR-DQN: learn N quantiles of the return per action with the quantile Huber loss (Dabney et al.
   * 2018, arXiv:1710.10044, Algorithm 1); greedy actions maximise their mean; the target quantiles
   * are `r + γ^n (1 − done) θ_j^target(s', a*)` (Double: `a*` from the online network). Works with
   * `dueling` (per quantile), `noisy`, `double`, `prioritized` (priorities: the per-sample loss) and
   * `nStep`. `null` or omitted: off. Exclusive with `distributional`. @defaultValue null
   */
  quantile?: QuantileOptions | null;
  /** ε of Adam (numerical stability term). @defaultValue 1e-8 (PyTorch, SB3's DQN) */
  adamEps?: number;
  /** Q-network architecture. */
  policy?: QPolicyOptions;
}

/** Defaults a Q-learning algorithm gives for its own options (besides {@link OffPolicyDefaults}). */
export interface DeepQDefaults extends OffPolicyDefaults {
  targetUpdateInterval: number;
  explorationFraction: number;
  explorationInitialEps: number;
  explorationFinalEps: number;
  maxGradNorm: number;
  double: boolean;
  dueling: boolean;
  noisy: boolean;
  distributional: DistributionalOptions | null;
  /** QR-DQN's quantile head, off (null) unless an algorithm turns it on. */
  quantile?: QuantileOptions | null;
  adamEps: number;
}

/**
 * SB3's `get_linear_fn` for ε: from `initial` to `final` over the first `fraction` of training
 * (progress remaining 1 → 1 − fraction), then constant at `final`.
 */
export function linearExplorationSchedule(initial: number, final: number, fraction: number): Schedule {
  return (progressRemaining) => {
    const progress = 1 - progressRemaining;
    if (progress > fraction) return final;
    return initial + (progress * (final - initial)) / fraction;
  };
}

/**
 * The machinery DQN and Rainbow share (after SB3's `DQN`): ε-greedy (or NoisyNet) acting, target
 * updates every `targetUpdateInterval` timesteps, and the gradient step, which is either scalar
 * (Huber loss on {@link tdTargets}), categorical (C51: cross-entropy on {@link categoricalProjection})
 * or quantile (QR-DQN: {@link quantileHuberLoss} on {@link quantileTargets}),
 * with Double, dueling, prioritised and n-step variants. Each algorithm file states the objective
 * and its defaults; the math lives in `deepQLosses.ts` and `distributions/categoricalReturns.ts`.
 */
export abstract class DeepQAlgorithm extends OffPolicyAlgorithm {
  abstract override readonly options: DeepQOptions;
  readonly policy: QPolicy;
  readonly targetUpdateInterval: number;
  readonly explorationFraction: number;
  readonly explorationInitialEps: number;
  readonly explorationFinalEps: number;
  readonly maxGradNorm: number;
  readonly double: boolean;
  readonly dueling: boolean;
  readonly noisy: boolean;
  /** The resolved C51 support, or null for scalar Q-values. */
  readonly distributional: Required<DistributionalOptions> | null;
  /** The resolved QR-DQN quantile head, or null. */
  readonly quantile: Required<QuantileOptions> | null;
  /** Current ε of ε-greedy exploration (SB3's `exploration_rate`). */
  explorationRate: number;
  protected readonly optimizer: Adam;
  private readonly explorationSchedule: Schedule;

  protected constructor(env: EnvInput, options: DeepQOptions, defaults: DeepQDefaults) {
    super(env, options, defaults);
    this.targetUpdateInterval = options.targetUpdateInterval ?? defaults.targetUpdateInterval;
    if (!Number.isInteger(this.targetUpdateInterval) || this.targetUpdateInterval < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `targetUpdateInterval must be an integer >= 1, got ${this.targetUpdateInterval}. SB3 uses 10000; RL Zoo's CartPole uses 10.`,
      );
    }
    this.noisy = options.noisy ?? defaults.noisy;
    this.explorationFraction = checkRange(
      options.explorationFraction ?? defaults.explorationFraction,
      "explorationFraction",
      0,
      1,
    );
    if (this.explorationFraction === 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        "explorationFraction must be in (0, 1]; for no annealing set explorationInitialEps equal to explorationFinalEps.",
      );
    }
    // NoisyNet replaces ε-greedy: ε = 0 unless the user asks for both (Hessel et al. 2018, §4)
    this.explorationInitialEps = checkRange(
      options.explorationInitialEps ?? (this.noisy ? 0 : defaults.explorationInitialEps),
      "explorationInitialEps",
      0,
      1,
    );
    this.explorationFinalEps = checkRange(
      options.explorationFinalEps ?? (this.noisy ? 0 : defaults.explorationFinalEps),
      "explorationFinalEps",
      0,
      1,
    );
    this.maxGradNorm = options.maxGradNorm ?? defaults.maxGradNorm;
    if (!(this.maxGradNorm > 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `maxGradNorm must be > 0 (Infinity disables clipping), got ${this.maxGradNorm}.`,
      );
    }
    this.double = options.double ?? defaults.double;
    this.dueling = options.dueling ?? defaults.dueling;
    const distributional =
      options.distributional === undefined ? defaults.distributional : options.distributional;
    this.distributional =
      distributional === null
        ? null
        : {
            atoms: distributional.atoms ?? 51,
            vMin: distributional.vMin ?? -10,
            vMax: distributional.vMax ?? 10,
          };
    const quantile = options.quantile === undefined ? (defaults.quantile ?? null) : options.quantile;
    this.quantile =
      quantile === null ? null : { quantiles: quantile.quantiles ?? 50, kappa: quantile.kappa ?? 1 };
    if (this.quantile !== null) {
      if (this.distributional !== null) {
        throw new ProximalError(
          "INVALID_OPTION",
          "distributional (C51) and quantile (QR-DQN) are two different return-distribution heads and cannot be combined. Keep one: set distributional: null to use quantile, or quantile: null to use distributional.",
        );
      }
      const { quantiles, kappa } = this.quantile;
      if (!Number.isInteger(quantiles) || quantiles < 1) {
        throw new ProximalError(
          "INVALID_OPTION",
          `quantile.quantiles must be an integer >= 1, got ${quantiles}. SB3-contrib uses 50, Dabney et al. 2018 use 200.`,
        );
      }
      if (!(kappa >= 0) || !Number.isFinite(kappa)) {
        throw new ProximalError(
          "INVALID_OPTION",
          `quantile.kappa must be a finite number >= 0, got ${kappa}. Dabney et al. 2018 and SB3-contrib use 1; 0 is the plain quantile loss.`,
        );
      }
    }
    const noisySigma0 = options.noisySigma0 ?? 0.5;
    if (this.noisy && !(noisySigma0 > 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `noisySigma0 must be > 0 with noisy, got ${noisySigma0}. The paper uses 0.5; to turn noise off set noisy: false.`,
      );
    }
    const adamEps = options.adamEps ?? defaults.adamEps;
    if (!(adamEps > 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `adamEps must be > 0, got ${adamEps}. PyTorch uses 1e-8, Rainbow 1.5e-4.`,
      );
    }
    this.explorationSchedule = linearExplorationSchedule(
      this.explorationInitialEps,
      this.explorationFinalEps,
      this.explorationFraction,
    );
    // SB3 starts at 0 until the first step; starting at the schedule's first value changes nothing
    // before learningStarts (actions are random then) and avoids a greedy first step with learningStarts 0
    this.explorationRate = this.explorationSchedule(1);
    this.policy = new QPolicy(
      this.env.singleObservationSpace,
      this.env.singleActionSpace,
      this.rng.spawn(),
      options.policy,
      {
        dueling: this.dueling,
        noisySigma0: this.noisy ? noisySigma0 : 0,
        ...(this.distributional ?? {}),
        quantiles: this.quantile?.quantiles ?? 0,
      },
    );
    if (this.noisy) {
      this.policy.qNet.resetNoise(this.rng);
      this.policy.qNetTarget.resetNoise(this.rng);
    }
    this.optimizer = new Adam(this.policy.qNet.parameters(), { lr: this.learningRate(1), eps: adamEps });
    // RND's non-episodic intrinsic stream needs scalar Q-values to add to (not C51's or QR-DQN's
    // distributions, which keep the one-stream bonus; see rl/intrinsic/intrinsicReplay.ts)
    const twoStreams = this.intrinsic?.module.separateStream === true;
    if (this.intrinsic !== null && twoStreams && this.distributional === null && this.quantile === null) {
      this.intrinsic.enableIntrinsicCritic(
        this.env.singleObservationSpace,
        this.env.singleActionSpace,
        this.rng.spawn(),
        options.policy,
        this.maxGradNorm,
      );
    }
  }

  /** ε-greedy for the vector env's observations (SB3 `predict` with `deterministic=False`). */
  protected explore(observations: Float32Array, masks: Uint8Array | null): Int32Array {
    // NoisyNet: a new noise sample for every acting step (Fortunato et al. 2018, Algorithm 1)
    if (this.noisy) this.policy.qNet.resetNoise(this.rng);
    return this.predict(observations, { deterministic: false, actionMask: masks ?? undefined }) as Int32Array;
  }

  /** SB3 `DQN._on_step`: target update every `max(targetUpdateInterval // numEnvs, 1)` steps, then ε. */
  protected onStep(): void {
    const every = Math.max(Math.floor(this.targetUpdateInterval / this.env.numEnvs), 1);
    if (this.nCalls % every === 0) {
      this.policy.updateTarget(this.tau);
      this.intrinsic?.updateTarget(this.tau);
    }
    this.explorationRate = this.explorationSchedule(this.progressRemaining);
  }

  protected override rolloutStats(): UpdateStats {
    return { "rollout/explorationRate": this.explorationRate };
  }

  protected train(gradientSteps: number): UpdateStats {
    const lr = this.updateLearningRate();
    const params = this.policy.qNet.parameters();
    let lossSum = 0;
    let gradNormSum = 0;
    let qSum = 0;
    for (let step = 0; step < gradientSteps; step++) {
      scopedGradientStep(this.optimizer, () => {
        if (this.noisy) {
          // independent noise for the online and target networks at every gradient step
          // (Fortunato et al. 2018, Algorithm 1: ε for the online, ε' for the target network)
          this.policy.qNet.resetNoise(this.rng);
          this.policy.qNetTarget.resetNoise(this.rng);
        }
        const batch = this.sampleReplay();
        const { loss, priorities, meanQ } =
          this.quantile !== null
            ? this.quantileLoss(batch)
            : this.distributional === null
              ? this.scalarLoss(batch)
              : this.distributionalLoss(batch);
        if (this.replayBuffer instanceof PrioritizedReplayBuffer) {
          this.replayBuffer.updatePriorities(batch.indices, priorities);
        }
        this.optimizer.zeroGrad();
        loss.backward();
        gradNormSum += clipGradNorm(params, this.maxGradNorm);
        this.optimizer.step();
        lossSum += loss.item();
        qSum += meanQ;
      });
    }
    this.nUpdates += gradientSteps;
    return {
      "train/loss": lossSum / gradientSteps,
      "train/gradNorm": gradNormSum / gradientSteps,
      "train/qValue": qSum / gradientSteps,
      "train/learningRate": lr,
      "train/nUpdates": this.nUpdates,
    };
  }

  /**
   * Huber loss of `Q(s, a) − y` with {@link tdTargets} (DQN / Double DQN); priorities `|δ|`
   * (Schaul et al. 2016, Algorithm 1, line 12).
   */
  private scalarLoss(batch: ReturnType<OffPolicyAlgorithm["sampleReplay"]>): StepLoss {
    const policy = this.policy;
    const b = batch.size;
    const nextObs = policy.observationTensor(batch.nextObservations, b);
    const nextQTarget = noGrad(() => policy.qNetTarget.forward(nextObs).values);
    const nextQOnline = this.double ? policy.qValues(batch.nextObservations, b) : null;
    const targets = tdTargets({
      rewards: batch.rewards,
      dones: batch.dones,
      steps: batch.steps,
      nextQTarget,
      nextQOnline,
      // the next states' masks when the env reports them: max/argmax over allowed actions only
      nextMasks: batch.nextActionMasks ?? null,
      nActions: policy.nActions,
      gamma: this.gamma,
    });
    const q = policy.qNet.forward(policy.observationTensor(batch.observations, b));
    const qTaken = ops.takeAlongLastAxis(q, new Tensor(batch.actions as Int32Array, [b]));
    const weights = batch.weights === undefined ? null : new Tensor(batch.weights, [b]);
    const loss = huberLoss(qTaken, new Tensor(targets, [b]), weights);
    const taken = qTaken.values;
    const priorities = new Float64Array(b);
    let s = 0;
    for (let i = 0; i < b; i++) {
      priorities[i] = Math.abs(taken[i] - targets[i]);
      s += taken[i];
    }
    return { loss, priorities, meanQ: s / b };
  }

  /**
   * C51's cross-entropy of the projected target (Bellemare et al. 2017, Algorithm 1): the bootstrap
   * action maximises the mean of the target network's distribution, or (Double) of the online
   * network's, whose target-network distribution is then used (Hessel et al. 2018); priorities are
   * the per-sample loss (Hessel et al. 2018, §"Prioritized replay"). With stored next-state masks,
   * that action is the best *allowed* one, `a* = argmax_{a ∈ A(s')} Σ_j z_j p_j(s', a)`, for the
   * same reason as in {@link tdTargets}: a forbidden action's distribution is never trained and must
   * not be bootstrapped from.
   */
  private distributionalLoss(batch: ReturnType<OffPolicyAlgorithm["sampleReplay"]>): StepLoss {
    const policy = this.policy;
    const { atoms, vMin, vMax } = this.distributional!;
    const a = policy.nActions;
    const b = batch.size;
    const nextObs = policy.observationTensor(batch.nextObservations, b);
    const nextProbsAll = noGrad(() => ops.softmax(policy.qNetTarget.forwardLogits(nextObs), -1).values); // [B, A, N]
    const target = categoricalTargets({
      nextProbs: nextProbsAll,
      nextQOnline: this.double ? policy.qValues(batch.nextObservations, b) : null,
      nextMasks: batch.nextActionMasks ?? null,
      support: policy.qNetTarget.support!,
      rewards: batch.rewards,
      dones: batch.dones,
      steps: batch.steps,
      nActions: a,
      gamma: this.gamma,
      vMin,
      vMax,
    });
    const logits = policy.qNet.forwardLogits(policy.observationTensor(batch.observations, b)); // [B, A, N]
    const rows = new Int32Array(b);
    const actions = batch.actions as Int32Array;
    for (let i = 0; i < b; i++) rows[i] = i * a + actions[i];
    const takenLogits = ops.embedding(ops.reshape(logits, [b * a, atoms]), new Tensor(rows, [b])); // [B, N]
    const weights = batch.weights === undefined ? null : new Tensor(batch.weights, [b]);
    const { loss, perSample } = categoricalCrossEntropy(takenLogits, target, weights);
    const probs = noGrad(() => ops.softmax(takenLogits, -1).values);
    const z = policy.qNet.support!;
    let s = 0;
    for (let i = 0; i < b; i++) for (let j = 0; j < atoms; j++) s += z[j] * probs[i * atoms + j];
    return { loss, priorities: perSample, meanQ: s / b };
  }

  /**
   * QR-DQN's quantile Huber loss (Dabney et al. 2018, Algorithm 1) between the online network's
   * quantiles of the taken action and {@link quantileTargets}: the bootstrap action maximises the
   * mean of the target network's quantiles (Double: of the online network's), over the next state's
   * allowed actions when masks are stored; priorities are the per-sample loss, as C51's.
   */
  private quantileLoss(batch: ReturnType<OffPolicyAlgorithm["sampleReplay"]>): StepLoss {
    const policy = this.policy;
    const { quantiles: n, kappa } = this.quantile!;
    const a = policy.nActions;
    const b = batch.size;
    const nextObs = policy.observationTensor(batch.nextObservations, b);
    const nextQuantiles = noGrad(() => policy.qNetTarget.forwardLogits(nextObs).values); // [B, A, N]
    const target = quantileTargets({
      nextQuantiles,
      nextQOnline: this.double ? policy.qValues(batch.nextObservations, b) : null,
      nextMasks: batch.nextActionMasks ?? null,
      rewards: batch.rewards,
      dones: batch.dones,
      steps: batch.steps,
      nActions: a,
      quantiles: n,
      gamma: this.gamma,
    });
    const all = policy.qNet.forwardLogits(policy.observationTensor(batch.observations, b)); // [B, A, N]
    const rows = new Int32Array(b);
    const actions = batch.actions as Int32Array;
    for (let i = 0; i < b; i++) rows[i] = i * a + actions[i];
    const taken = ops.embedding(ops.reshape(all, [b * a, n]), new Tensor(rows, [b])); // [B, N]
    const weights = batch.weights === undefined ? null : new Tensor(batch.weights, [b]);
    const { loss, perSample } = quantileHuberLoss(taken, target, kappa, weights);
    const values = taken.values;
    let s = 0;
    for (let i = 0; i < b * n; i++) s += values[i];
    return { loss, priorities: perSample, meanQ: s / (b * n) };
  }

  /**
   * Actions for observations `[batch * obsSize]`: greedy `argmax_a Q(s, a)` when `deterministic`
   * (noisy networks: with their mean weights μ); otherwise, with probability ε (one draw for the
   * whole batch, as SB3), uniformly random actions, else greedy under the current noise sample
   * (with RND's two streams, on `Q_ext + coef·Q_int`: the bonus steers exploration, not the greedy
   * policy). Both choices keep to the actions `actionMask` allows (`[batch * n]`, 1 = allowed).
   */
  predict(
    observations: Float32Array,
    options: { deterministic?: boolean; actionMask?: Uint8Array } = {},
  ): Int32Array {
    const policy = this.policy;
    const batch = observations.length / policy.observationSize;
    if (!Number.isInteger(batch)) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `predict: ${observations.length} values is not a whole number of observations of size ${policy.observationSize}. Pass the observation array itself, not Gymnasium's (obs, info) pair.`,
      );
    }
    const mask = options.actionMask ?? null;
    if (mask !== null && mask.length !== batch * policy.nActions) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `predict: actionMask has ${mask.length} values, expected ${batch} rows of ${policy.nActions}.`,
      );
    }
    const deterministic = options.deterministic ?? false;
    if (!deterministic && this.rng.uniform() < this.explorationRate) {
      const out = new Int32Array(batch);
      for (let i = 0; i < batch; i++) out[i] = randomAllowed(policy.nActions, mask, i, this.rng);
      return out;
    }
    if (!deterministic && this.intrinsic !== null) {
      // exploring with RND's two streams: greedy on Q_ext + coef·Q_int (identity for one stream)
      const q = this.intrinsic.actingValues(policy.qValues(observations, batch), observations, batch);
      return policy.greedyActions(q, batch, mask);
    }
    if (!(this.noisy && deterministic))
      return policy.greedyActions(policy.qValues(observations, batch), batch, mask);
    policy.qNet.setNoise(false);
    try {
      return policy.greedyActions(policy.qValues(observations, batch), batch, mask);
    } finally {
      policy.qNet.setNoise(true);
    }
  }

  override trainingState(): Record<string, unknown> {
    return { ...super.trainingState(), explorationRate: this.explorationRate };
  }

  override restoreTrainingState(state: Record<string, unknown>): void {
    super.restoreTrainingState(state);
    if (typeof state.explorationRate === "number") this.explorationRate = state.explorationRate;
  }
}

/** One gradient step's loss, the new replay priorities and the mean Q(s, a) of the batch. */
interface StepLoss {
  loss: Tensor;
  priorities: ArrayLike<number>;
  meanQ: number;
}
