/**
 * Deep Q-Network (Mnih et al. 2015, "Human-level control through deep reinforcement learning",
 * Nature 518, https://www.nature.com/articles/nature14236; arXiv:1312.5602 for the 2013 version).
 *
 * One gradient step on a minibatch of replayed transitions minimises the Huber loss of the TD error
 * `δ = Q(s, a) − y`, `y = r + γ^k (1 − terminated) max_a' Q_target(s', a')` (Methods, eq. 3 with the
 * error clipped to [−1, 1], i.e. the Huber loss), where `Q_target` is a periodically copied target
 * network and k is 1 (or n with `nStep`). Actions are ε-greedy, ε annealed linearly from
 * `explorationInitialEps` to `explorationFinalEps` over the first `explorationFraction` of training.
 *
 * Follows Stable-Baselines3's `DQN` (`dqn/dqn.py`, SB3 ≥ 2.3): the same defaults, the target update
 * every `targetUpdateInterval` timesteps counted as `_n_calls % max(targetUpdateInterval // numEnvs, 1)`,
 * Polyak averaging with `tau`, gradient-norm clipping, Adam, uniformly random actions before
 * `learningStarts`, one ε draw per `predict` call for the whole batch. Switches beyond SB3 (CleanRL's
 * `dqn.py` is the plain variant too): `double` (van Hasselt et al. 2016), `dueling` (Wang et al.
 * 2016), `prioritized` replay (Schaul et al. 2016, as SB3's later PER branch: importance-weighted
 * Huber loss, priorities `|δ|`), `nStep` returns. The collection loop, replay and checkpoints come
 * from {@link OffPolicyAlgorithm}; the objective is all here.
 *
 * Action masks (`info.actionMask`) restrict both the greedy and the random choices; the bootstrap
 * `max_a'` ranges over all actions, since the buffer does not store the next state's mask.
 */
import { ProximalError } from "../errors.js";
import { Adam } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import type { Schedule } from "../optim/schedules.js";
import * as ops from "../tensor/ops.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import type { OffPolicyOptions } from "./common/offPolicyAlgorithm.js";
import { loadOffPolicyAlgorithm, OffPolicyAlgorithm, randomAllowed } from "./common/offPolicyAlgorithm.js";
import type { EnvInput, LoadOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { checkRange } from "./common/onPolicyAlgorithm.js";
import type { QPolicyOptions } from "./common/qPolicy.js";
import { QPolicy } from "./common/qPolicy.js";
import { PrioritizedReplayBuffer } from "./replay/prioritizedReplayBuffer.js";

/**
 * Options of {@link DQN}; the shared replay and loop options are in {@link OffPolicyOptions}. Their
 * defaults here are SB3's `DQN` (≥ 2.3): learningRate 1e-4, bufferSize 1_000_000, learningStarts 100,
 * batchSize 32, tau 1, gamma 0.99, trainFreq 4, gradientSteps 1.
 */
export interface DQNOptions extends OffPolicyOptions {
  /**
   * Update the target network every `targetUpdateInterval` timesteps (over all envs; with n envs,
   * every `max(targetUpdateInterval // n, 1)` vector steps, as SB3). @defaultValue 10000 (SB3)
   */
  targetUpdateInterval?: number;
  /** Fraction of training over which ε falls from its initial to its final value. @defaultValue 0.1 (SB3) */
  explorationFraction?: number;
  /** ε at the start of training. @defaultValue 1 (SB3) */
  explorationInitialEps?: number;
  /** ε after `explorationFraction` of training. @defaultValue 0.05 (SB3) */
  explorationFinalEps?: number;
  /** Global gradient-norm clip (`clip_grad_norm_`); Infinity disables it. @defaultValue 10 (SB3) */
  maxGradNorm?: number;
  /**
   * Double DQN: the online network picks the bootstrap action, the target network values it,
   * `y = r + γ Q_target(s', argmax_a Q(s', a))` (van Hasselt et al. 2016, arXiv:1509.06461, eq. 4).
   * @defaultValue false (SB3)
   */
  double?: boolean;
  /**
   * Dueling network: `Q(s, a) = V(s) + A(s, a) − mean_a' A(s, a')` (Wang et al. 2016,
   * arXiv:1511.06581, eq. 9). @defaultValue false (SB3)
   */
  dueling?: boolean;
  /** Q-network architecture. */
  policy?: QPolicyOptions;
}

/** Inputs of {@link tdTargets}: flat arrays of one minibatch of B transitions and A actions. */
export interface TdTargetInputs {
  /** r (or the n-step sum `Σ_{k<n} γ^k r_{t+k}`), [B]. */
  rewards: ArrayLike<number>;
  /** 1 where the transition reached a terminal state (terminated only, never truncated), [B]. */
  dones: ArrayLike<number>;
  /** k of `γ^k` per row (1 for one-step transitions); omitted means all 1. */
  steps?: ArrayLike<number>;
  /** Target-network values `Q_target(s', ·)`, [B * A]. */
  nextQTarget: ArrayLike<number>;
  /** Online-network values `Q(s', ·)` for Double DQN's action choice, [B * A]; omitted for plain DQN. */
  nextQOnline?: ArrayLike<number> | null;
  /** A, the number of actions. */
  nActions: number;
  gamma: number;
}

/**
 * TD targets of DQN and Double DQN, computed in float64:
 * - DQN (Mnih et al. 2015, Methods, eq. 3): `y = r + γ^k (1 − done) max_a Q_target(s', a)`;
 * - Double DQN (van Hasselt et al. 2016, arXiv:1509.06461, eq. 4):
 *   `y = r + γ^k (1 − done) Q_target(s', argmax_a Q(s', a))`.
 * k is the number of rewards summed into r (n-step returns; Sutton & Barto 2018, §7.1).
 *
 * @example
 * // by hand: 1 + 0.9·max(2, 3) = 3.7, and a terminal row gives its reward
 * tdTargets({ rewards: [1, 1], dones: [0, 1], nextQTarget: [2, 3, 2, 3], nActions: 2, gamma: 0.9 });
 * // Float32Array [3.7, 1]
 */
export function tdTargets(inputs: TdTargetInputs): Float32Array {
  const { rewards, dones, steps, nextQTarget, nextQOnline, nActions: a, gamma } = inputs;
  const batch = rewards.length;
  if (nextQTarget.length !== batch * a || (nextQOnline && nextQOnline.length !== batch * a)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `tdTargets: next Q-values must hold ${batch} rows of ${a} actions (${batch * a} values), got ${nextQTarget.length}${nextQOnline ? ` and ${nextQOnline.length}` : ""}.`,
    );
  }
  const out = new Float32Array(batch);
  for (let i = 0; i < batch; i++) {
    let next: number;
    if (nextQOnline) {
      // Double DQN: choose with the online network, evaluate with the target network
      let best = 0;
      for (let j = 1; j < a; j++) if (nextQOnline[i * a + j] > nextQOnline[i * a + best]) best = j;
      next = nextQTarget[i * a + best];
    } else {
      next = nextQTarget[i * a];
      for (let j = 1; j < a; j++) next = Math.max(next, nextQTarget[i * a + j]);
    }
    const k = steps === undefined ? 1 : steps[i];
    out[i] = rewards[i] + gamma ** k * (1 - dones[i]) * next;
  }
  return out;
}

/**
 * Huber loss with threshold 1 (PyTorch's `smooth_l1_loss` with β = 1, SB3's DQN loss), optionally
 * importance-weighted (Schaul et al. 2016, Algorithm 1, line 11):
 * `L = mean_i w_i h(q_i − y_i)`, `h(δ) = δ²/2 if |δ| < 1 else |δ| − 1/2`. Mnih et al. 2015 (Methods,
 * "Training algorithm") clip the TD error's gradient to [−1, 1], which is this loss's gradient.
 * Written as `h = c²/2 + |δ| − c` with `c = min(|δ|, 1)`, which is both branches at once.
 *
 * @example
 * // by hand: δ = 0.5 → 0.125, δ = −3 → 2.5; mean 1.3125
 * huberLoss(new Tensor(new Float32Array([0.5, -3]), [2]), new Tensor(new Float32Array([0, 0]), [2])).item();
 */
export function huberLoss(predicted: Tensor, target: Tensor, weights?: Tensor | null): Tensor {
  const absDelta = ops.abs(ops.sub(predicted, target));
  const clipped = ops.clamp(absDelta, 0, 1);
  const h = ops.add(ops.mul(ops.square(clipped), 0.5), ops.sub(absDelta, clipped));
  return ops.mean(weights ? ops.mul(h, weights) : h);
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
 * DQN with SB3's defaults, and the Double, Dueling, prioritised-replay and n-step switches.
 *
 * @example
 * const model = new DQN("CartPole-v1", { learningStarts: 1000, targetUpdateInterval: 10, seed: 0 });
 * await model.learn({ totalTimesteps: 50_000 });
 * const actions = model.predict(observations, { deterministic: true });
 */
export class DQN extends OffPolicyAlgorithm {
  readonly algorithmName = "DQN";
  readonly options: DQNOptions;
  readonly policy: QPolicy;
  readonly targetUpdateInterval: number;
  readonly explorationFraction: number;
  readonly explorationInitialEps: number;
  readonly explorationFinalEps: number;
  readonly maxGradNorm: number;
  readonly double: boolean;
  readonly dueling: boolean;
  /** Current ε of ε-greedy exploration (SB3's `exploration_rate`). */
  explorationRate: number;
  protected readonly optimizer: Adam;
  private readonly explorationSchedule: Schedule;

  constructor(env: EnvInput, options: DQNOptions = {}) {
    super(env, options, {
      learningRate: 1e-4,
      bufferSize: 1_000_000,
      learningStarts: 100,
      batchSize: 32,
      tau: 1,
      gamma: 0.99,
      trainFreq: 4,
      gradientSteps: 1,
    });
    this.options = options;
    this.targetUpdateInterval = options.targetUpdateInterval ?? 10_000;
    if (!Number.isInteger(this.targetUpdateInterval) || this.targetUpdateInterval < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `targetUpdateInterval must be an integer >= 1, got ${this.targetUpdateInterval}. SB3 uses 10000; RL Zoo's CartPole uses 10.`,
      );
    }
    this.explorationFraction = checkRange(options.explorationFraction ?? 0.1, "explorationFraction", 0, 1);
    if (this.explorationFraction === 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        "explorationFraction must be in (0, 1]; for no annealing set explorationInitialEps equal to explorationFinalEps.",
      );
    }
    this.explorationInitialEps = checkRange(
      options.explorationInitialEps ?? 1,
      "explorationInitialEps",
      0,
      1,
    );
    this.explorationFinalEps = checkRange(options.explorationFinalEps ?? 0.05, "explorationFinalEps", 0, 1);
    this.maxGradNorm = options.maxGradNorm ?? 10;
    if (!(this.maxGradNorm > 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `maxGradNorm must be > 0 (Infinity disables clipping), got ${this.maxGradNorm}.`,
      );
    }
    this.double = options.double ?? false;
    this.dueling = options.dueling ?? false;
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
      this.dueling,
    );
    // Adam with PyTorch's defaults (eps 1e-8), as SB3's DQNPolicy
    this.optimizer = new Adam(this.policy.qNet.parameters(), { lr: this.learningRate(1) });
  }

  /** ε-greedy for the vector env's observations (SB3 `predict` with `deterministic=False`). */
  protected explore(observations: Float32Array, masks: Uint8Array | null): Int32Array {
    return this.predict(observations, { deterministic: false, actionMask: masks ?? undefined }) as Int32Array;
  }

  /** SB3 `DQN._on_step`: target update every `max(targetUpdateInterval // numEnvs, 1)` steps, then ε. */
  protected onStep(): void {
    const every = Math.max(Math.floor(this.targetUpdateInterval / this.env.numEnvs), 1);
    if (this.nCalls % every === 0) this.policy.updateTarget(this.tau);
    this.explorationRate = this.explorationSchedule(this.progressRemaining);
  }

  protected override rolloutStats(): UpdateStats {
    return { "rollout/explorationRate": this.explorationRate };
  }

  protected train(gradientSteps: number): UpdateStats {
    const lr = this.updateLearningRate();
    const policy = this.policy;
    const a = policy.nActions;
    const params = policy.qNet.parameters();
    let lossSum = 0;
    let gradNormSum = 0;
    let qSum = 0;
    for (let step = 0; step < gradientSteps; step++) {
      const batch = this.sampleReplay();
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
        nActions: a,
        gamma: this.gamma,
      });
      const q = policy.qNet.forward(policy.observationTensor(batch.observations, b));
      const qTaken = ops.takeAlongLastAxis(q, new Tensor(batch.actions as Int32Array, [b]));
      const weights = batch.weights === undefined ? null : new Tensor(batch.weights, [b]);
      const loss = huberLoss(qTaken, new Tensor(targets, [b]), weights);
      if (this.replayBuffer instanceof PrioritizedReplayBuffer) {
        // new priorities p_i = |δ_i| (+ ε inside the buffer), Schaul et al. 2016, Algorithm 1, line 12
        const taken = qTaken.values;
        const errors = new Float64Array(b);
        for (let i = 0; i < b; i++) errors[i] = Math.abs(taken[i] - targets[i]);
        this.replayBuffer.updatePriorities(batch.indices, errors);
      }
      this.optimizer.zeroGrad();
      loss.backward();
      gradNormSum += clipGradNorm(params, this.maxGradNorm);
      this.optimizer.step();
      lossSum += loss.item();
      const taken = qTaken.values;
      let s = 0;
      for (let i = 0; i < b; i++) s += taken[i];
      qSum += s / b;
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
   * Actions for observations `[batch * obsSize]`: greedy `argmax_a Q(s, a)` when `deterministic`;
   * otherwise, with probability ε (one draw for the whole batch, as SB3), uniformly random actions.
   * Both choices keep to the actions `actionMask` allows (`[batch * n]`, 1 = allowed).
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
    if (!(options.deterministic ?? false) && this.rng.uniform() < this.explorationRate) {
      const out = new Int32Array(batch);
      for (let i = 0; i < batch; i++) out[i] = randomAllowed(policy.nActions, mask, i, this.rng);
      return out;
    }
    return policy.greedyActions(policy.qValues(observations, batch), batch, mask);
  }

  override trainingState(): Record<string, unknown> {
    return { ...super.trainingState(), explorationRate: this.explorationRate };
  }

  override restoreTrainingState(state: Record<string, unknown>): void {
    super.restoreTrainingState(state);
    if (typeof state.explorationRate === "number") this.explorationRate = state.explorationRate;
  }

  /** Rebuild a DQN model saved with `save(dir)` (with its replay buffer when `saveReplayBuffer` was set). */
  static load(dir: string, options: LoadOptions = {}): Promise<DQN> {
    return loadOffPolicyAlgorithm((env, opts) => new DQN(env, opts as DQNOptions), dir, options);
  }
}
