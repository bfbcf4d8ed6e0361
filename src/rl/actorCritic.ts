/**
 * Actor-Critic with a Q critic (Sutton & Barto 2018, §13.5 with the
 * action-value critic of Konda & Tsitsiklis 2000, https://papers.nips.cc/paper/1786). The critic
 * learns Q(s, a) by SARSA and the actor follows it:
 * ```
 * actor loss  = -log π(A_t|S_t) · Q(S_t, A_t)                       (Q is a constant here)
 * critic loss = [R_t + γ Q(S_{t+1}, A_{t+1}) - Q(S_t, A_t)]²        (target constant; A_{t+1} is the
 *                                                                    action actually taken next)
 * ```
 * The target's `γ Q(S', A')` is 0 after a terminal state; a time-limit truncation bootstraps from
 * `Q(final observation, a')` with `a' ~ π(·|final observation)` (the episode did not end in the MDP).
 *
 * Departures from the one-step algorithm of Sutton & Barto §13.5, which updates after every step: like {@link A2C}, one gradient
 * step per rollout of `nSteps × numEnvs` transitions, with SB3's A2C defaults and optimizer (RMSprop
 * α 0.99, eps 1e-5), an optional entropy bonus and gradient-norm clipping. Discrete actions only:
 * the critic outputs Q(s, ·) for every action. Collection is this file's own (it must carry the next
 * action A' across rollouts); env handling, the learn loop, `predict` and checkpoints are
 * {@link OnPolicyAlgorithm}'s.
 *
 * Switches (all off by default, which is the algorithm above): an expected-Q baseline for the actor
 * (`baseline`), n-step SARSA targets (`sarsaSteps`), a target network for the critic
 * (`targetUpdateInterval`, `tau`), the critic's own learning rate (`criticLearningRate`) and several
 * critic steps per actor step (`criticUpdates`); see {@link ActorCriticOptions}. The preset
 * `presets/actorcritic/tuned.yaml` turns them on for CartPole-v1.
 */

import type { Categorical } from "../distributions/categorical.js";
import { Discrete } from "../envs/spaces/discrete.js";
import type { Space } from "../envs/spaces/space.js";
import { ProximalError } from "../errors.js";
import type { ModelSource } from "../io/modelFiles.js";
import { MLP } from "../nn/mlp.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import { RMSprop } from "../optim/rmsprop.js";
import type { Schedule } from "../optim/schedules.js";
import type { Rng } from "../random/rng.js";
import * as ops from "../tensor/ops.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { polyakUpdate } from "./common/continuousLosses.js";
import { explainedVariance } from "./common/gae.js";
import type { EnvInput, LoadOptions, OnPolicyOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { checkInteger, checkRange, loadAlgorithm, OnPolicyAlgorithm } from "./common/onPolicyAlgorithm.js";
import type { NetArch, PolicyOptions } from "./common/policies.js";
import { ActorCriticPolicy } from "./common/policies.js";
import type { ScheduleLike } from "./common/scheduleSpec.js";
import { resolveSchedule } from "./common/scheduleSpec.js";

/**
 * Options of {@link ActorCritic}. Of the shared fields, `gaeLambda` and `normalizeAdvantage` do not
 * apply (SARSA targets, Q weights). Defaults as {@link A2C} (`learningRate` 7e-4, `nSteps` 5,
 * `gamma` 0.99, `vfCoef` 0.5, `maxGradNorm` 0.5) except `entCoef` 0.01: on CartPole-v1 (8 envs, 50k
 * steps) entCoef 0 gave deterministic eval returns 64 / 52 / 36 for seeds 0-2 and 0.01 gave
 * 87 / 120 / 66, as all-positive Q weights push up every sampled action and the policy's entropy
 * collapses early. The switches below default to the seed's algorithm (one-step SARSA from the
 * online critic, no baseline, one shared learning rate, one critic step per actor step).
 */
export interface ActorCriticOptions extends Omit<OnPolicyOptions, "gaeLambda" | "normalizeAdvantage"> {
  /**
   * Entropy bonus coefficient. Not A2C's 0: without a baseline the Q-weighted actor's entropy
   * collapses (see the class doc). @defaultValue 0.01
   */
  entCoef?: number;
  /**
   * What the actor's Q weight is measured against. `"none"`: `-log π(A|S) · Q(S, A)` (Konda &
   * Tsitsiklis 2000). `"expectedQ"`: `-log π(A|S) · (Q(S, A) - V(S))` with `V(S) = Σ_a π(a|S) Q(S, a)`,
   * a baseline that does not depend on the action taken, so the gradient's expectation is unchanged
   * (Sutton & Barto 2018, §13.4, eq. 13.11) while its variance drops: with rewards of +1 per step
   * every Q is positive and, without it, every sampled action is pushed up. @defaultValue "none"
   */
  baseline?: "none" | "expectedQ";
  /**
   * n of the critic's n-step SARSA target (Sutton & Barto 2018, §7.2, eq. 7.4):
   * `G = R_t + γ R_{t+1} + … + γ^{n-1} R_{t+n-1} + γ^n Q(S_{t+n}, A_{t+n})`, cut at an episode end
   * (no bootstrap after termination; a truncated step's reward already holds `γ Q(final, a')`) and
   * at the end of the rollout (like A2C's returns, the last steps of a rollout look fewer steps
   * ahead). An integer in [1, nSteps]. @defaultValue 1
   */
  sarsaSteps?: number;
  /**
   * Copy the critic into a target network every this many updates (rollouts), and bootstrap the
   * SARSA targets (and truncated episodes) from the target network, as DQN does (Mnih et al. 2015,
   * Nature 518:529). 0: no target network, bootstrap from the critic itself. @defaultValue 0
   */
  targetUpdateInterval?: number;
  /**
   * Polyak coefficient of the target update, `θ' ← τ θ + (1 − τ) θ'` (Lillicrap et al. 2016,
   * arXiv:1509.02971, §7); 1 is the hard copy of Mnih et al. 2015. In (0, 1]; only with
   * `targetUpdateInterval` > 0. @defaultValue 1
   */
  tau?: number;
  /**
   * The critic's learning rate (or a schedule of progress remaining), in its own optimizer group;
   * unset, the critic uses `learningRate` (a critic on a faster timescale than the actor is the
   * setting of Konda & Tsitsiklis 2000's convergence proof).
   */
  criticLearningRate?: ScheduleLike;
  /**
   * Critic gradient steps per rollout (the critic-to-actor update ratio): `criticUpdates - 1`
   * critic-only steps on the rollout's fixed targets, then the joint actor-and-critic step, whose
   * actor weights use the critic as updated. An integer >= 1. @defaultValue 1
   */
  criticUpdates?: number;
}

/** `-mean(log π(a|s) · Q(s, a))` with Q constant (Konda & Tsitsiklis 2000; Sutton & Barto 2018, §13.5). */
export function qActorLoss(logProb: Tensor, qValues: Tensor): Tensor {
  return ops.neg(ops.mean(ops.mul(logProb, qValues)));
}

/**
 * SARSA targets `R_t + γ (1 - done_t) Q(S_{t+1}, A_{t+1})` (Sutton & Barto 2018, §6.4, SARSA). A truncated
 * step's bootstrap is already in its reward and its `done` is 1, as in `computeGae`.
 */
export function sarsaTargets(
  rewards: Float32Array,
  dones: Uint8Array,
  nextQ: Float32Array,
  gamma: number,
): Float32Array {
  const targets = new Float32Array(rewards.length);
  for (let i = 0; i < rewards.length; i++) targets[i] = rewards[i] + (dones[i] ? 0 : gamma * nextQ[i]);
  return targets;
}

/**
 * n-step SARSA targets (Sutton & Barto 2018, §7.2, eq. 7.4) over a rollout whose rows are
 * `t * numEnvs + env`: `G_t = Σ_{k<m} γ^k R_{t+k} + γ^m Q(S_{t+m}, A_{t+m})`, with
 * `m = min(n, nSteps - t)` (the rollout's end cuts the lookahead) and `nextQ[row] = Q(S_{t+1}, A_{t+1})`
 * of the same row, so the bootstrap of row t is `nextQ` of row t + m - 1. An episode end inside the
 * window stops the sum there without a bootstrap; a truncated step's reward already holds its
 * `γ Q(final observation, a')`, as in {@link sarsaTargets}. `n = 1` is {@link sarsaTargets}.
 */
export function nStepSarsaTargets(
  rewards: Float32Array,
  dones: Uint8Array,
  nextQ: Float32Array,
  gamma: number,
  n: number,
  numEnvs: number,
): Float32Array {
  const size = rewards.length;
  const steps = size / numEnvs;
  if (!Number.isInteger(steps) || dones.length !== size || nextQ.length !== size) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `nStepSarsaTargets: rewards (${size}), dones (${dones.length}) and nextQ (${nextQ.length}) must have the same length, a multiple of numEnvs (${numEnvs}).`,
    );
  }
  const targets = new Float32Array(size);
  for (let t = 0; t < steps; t++) {
    const m = Math.min(n, steps - t);
    for (let e = 0; e < numEnvs; e++) {
      let g = 0;
      let discount = 1;
      let ended = false;
      for (let k = 0; k < m; k++) {
        const row = (t + k) * numEnvs + e;
        g += discount * rewards[row];
        discount *= gamma;
        if (dones[row]) {
          ended = true;
          break;
        }
      }
      if (!ended) g += discount * nextQ[(t + m - 1) * numEnvs + e];
      targets[t * numEnvs + e] = g;
    }
  }
  return targets;
}

/**
 * The actor's weights for `-log π(A|S) · w`: `Q(S, A)` with `baseline` "none", `Q(S, A) - Σ_a π(a|S) Q(S, a)`
 * with "expectedQ" (see {@link ActorCriticOptions.baseline}). `qAll` and `probs` are `[batch * numActions]`.
 */
export function actorWeights(
  qAll: Float32Array,
  probs: Float32Array,
  actions: Int32Array,
  numActions: number,
  baseline: "none" | "expectedQ",
): Float32Array {
  const batch = actions.length;
  const out = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    const q = qAll[b * numActions + actions[b]];
    if (baseline === "none") {
      out[b] = q;
      continue;
    }
    let v = 0;
    for (let a = 0; a < numActions; a++) v += probs[b * numActions + a] * qAll[b * numActions + a];
    out[b] = q - v;
  }
  return out;
}

/** `mean((target - Q(s, a))²)` (Sutton & Barto 2018, §6.4; targets constant). */
export function sarsaCriticLoss(qValues: Tensor, targets: Tensor): Tensor {
  return ops.mean(ops.square(ops.sub(targets, qValues)));
}

/**
 * Actor MLP → Categorical, critic MLP → Q(s, ·) for every discrete action (a critic Q(s, a)
 * with all actions' outputs at once, as a DQN head). Parameter names `actor.*` and
 * `qCritic.*`. It extends {@link ActorCriticPolicy} so {@link OnPolicyAlgorithm} can drive it
 * (`act`, `predict`, state dicts); the inherited V head (`critic.*`, one linear layer) is unused,
 * and `predictValues` returns `V(s) = Σ_a π(a|s) Q(s, a)` instead. With `targetNetwork`, a copy of
 * the critic, `qCriticTarget.*`, is kept for bootstrapping: it is in the state dict (so it is saved
 * and loaded) but not in {@link QCriticPolicy.trainableParameters}.
 */
export class QCriticPolicy extends ActorCriticPolicy {
  readonly qCritic: MLP;
  /** The critic's target network (Mnih et al. 2015), or null when the critic bootstraps from itself. */
  readonly qCriticTarget: MLP | null;
  readonly numActions: number;

  constructor(
    observationSpace: Space,
    actionSpace: Space,
    rng: Rng,
    options: PolicyOptions = {},
    targetNetwork = false,
  ) {
    if (!(actionSpace instanceof Discrete)) {
      throw new ProximalError(
        "UNSUPPORTED_SPACE",
        `QCriticPolicy needs Discrete actions (its critic outputs one Q-value per action), got ${JSON.stringify(actionSpace.toJSON())}. Use A2C or PPO for other action spaces.`,
      );
    }
    if (options.shareTrunk) {
      throw new ProximalError(
        "INVALID_OPTION",
        "QCriticPolicy has separate actor and critic networks; drop shareTrunk.",
      );
    }
    const arch = options.netArch ?? [64, 64];
    const netArch: NetArch = Array.isArray(arch) ? { pi: arch, vf: arch } : arch;
    super(observationSpace, actionSpace, rng, { ...options, netArch: { pi: netArch.pi, vf: [] } });
    this.numActions = actionSpace.n;
    const orthogonal = this.options.orthoInit;
    this.qCritic = this.registerModule(
      "qCritic",
      new MLP([this.inputSize, ...netArch.vf, this.numActions], {
        rng,
        activation: this.options.activation,
        init: orthogonal ? "orthogonal" : "pytorch",
        ...(orthogonal ? { gain: Math.SQRT2, outputGain: 1 } : {}),
      }),
    );
    this.qCriticTarget = null;
    if (targetNetwork) {
      // built after everything else so the other networks' initialisation does not depend on it;
      // its own initialisation is overwritten by the copy
      this.qCriticTarget = this.registerModule(
        "qCriticTarget",
        new MLP([this.inputSize, ...netArch.vf, this.numActions], {
          rng: rng.spawn(),
          activation: this.options.activation,
        }),
      );
      this.updateTarget(1);
    }
  }

  /** The parameters the optimizer updates: all but the target network's. */
  override trainableParameters(): Tensor[] {
    const frozen = new Set(this.qCriticTarget?.parameters() ?? []);
    return this.parameters().filter((p) => !frozen.has(p));
  }

  /**
   * `θ' ← τ θ + (1 − τ) θ'` for the target network (Lillicrap et al. 2016, §7); τ = 1 is the hard
   * copy of Mnih et al. 2015. A no-op without a target network.
   */
  updateTarget(tau: number): void {
    if (this.qCriticTarget === null) return;
    polyakUpdate(this.qCritic.namedParameters(), this.qCriticTarget.namedParameters(), tau);
  }

  /** Q(s, a) for bootstrapping, from the target network when there is one: [batch], no graph. */
  bootstrapQ(obs: Tensor, actions: Tensor): Float32Array {
    const net = this.qCriticTarget ?? this.qCritic;
    return noGrad(() => ops.takeAlongLastAxis(net.forward(this.networkInput(obs)), actions).values);
  }

  /** Q(s, ·) for observations [batch, obsSize] → [batch, numActions]. */
  qValues(obs: Tensor): Tensor {
    return this.qCritic.forward(this.networkInput(obs));
  }

  /** Q(s, a) of the given actions (int32 [batch]) → [batch]. */
  qOfActions(obs: Tensor, actions: Tensor): Tensor {
    return ops.takeAlongLastAxis(this.qValues(obs), actions);
  }

  /** `V(s) = Σ_a π(a|s) Q(s, a)` → [batch]. */
  override predictValues(obs: Tensor): Tensor {
    const probs = (this.distribution(obs) as Categorical).probs();
    return ops.sum(ops.mul(probs, this.qValues(obs)), -1);
  }
}

/**
 * The Q-critic actor-critic (Konda & Tsitsiklis 2000), batched over rollouts like A2C.
 *
 * @example
 * const model = new ActorCritic("CartPole-v1", { numEnvs: 8, seed: 1 });
 * await model.learn({ totalTimesteps: 200_000 });
 */
export class ActorCritic extends OnPolicyAlgorithm {
  readonly algorithmName = "ActorCritic";
  readonly options: ActorCriticOptions;
  declare readonly policy: QCriticPolicy;
  protected readonly optimizer: RMSprop;
  readonly baseline: "none" | "expectedQ";
  readonly sarsaSteps: number;
  readonly targetUpdateInterval: number;
  readonly tau: number;
  readonly criticUpdates: number;
  /** The critic group's schedule, or null when the critic shares the actor's learning rate (one group). */
  private readonly criticLearningRate: Schedule | null;
  /** A_t for `lastObservations`, sampled at the end of the previous rollout (null: sample afresh). */
  private nextActions: Int32Array | null = null;
  /** The observations `nextActions` belongs to (learn() may have reset the envs since). */
  private nextActionsFor: Float32Array | null = null;

  constructor(env: EnvInput, options: ActorCriticOptions = {}) {
    for (const key of ["gaeLambda", "normalizeAdvantage"]) {
      if ((options as Record<string, unknown>)[key] !== undefined) {
        throw new ProximalError(
          "INVALID_OPTION",
          `ActorCritic has no ${key}: its critic learns SARSA targets (see sarsaSteps) and the actor is weighted by Q (see baseline).`,
        );
      }
    }
    // checked before super() builds the envs and networks, which need targetUpdateInterval
    const targetUpdateInterval = options.targetUpdateInterval ?? 0;
    checkInteger(targetUpdateInterval, "targetUpdateInterval", 0);
    super(
      env,
      options,
      {
        learningRate: 7e-4,
        nSteps: 5,
        gamma: 0.99,
        gaeLambda: 1,
        entCoef: 0.01, // not A2C's 0: without a baseline the Q-weighted actor's entropy collapses
        vfCoef: 0.5,
        maxGradNorm: 0.5,
        normalizeAdvantage: false,
      },
      (observationSpace, actionSpace, rng, policyOptions) =>
        new QCriticPolicy(observationSpace, actionSpace, rng, policyOptions, targetUpdateInterval > 0),
    );
    this.options = options;
    this.targetUpdateInterval = targetUpdateInterval;
    this.baseline = options.baseline ?? "none";
    if (this.baseline !== "none" && this.baseline !== "expectedQ") {
      throw new ProximalError(
        "INVALID_OPTION",
        `baseline must be "none" or "expectedQ", got ${JSON.stringify(this.baseline)}.`,
      );
    }
    this.sarsaSteps = options.sarsaSteps ?? 1;
    checkInteger(this.sarsaSteps, "sarsaSteps", 1);
    if (this.sarsaSteps > this.nSteps) {
      throw new ProximalError(
        "INVALID_OPTION",
        `sarsaSteps (${this.sarsaSteps}) must be <= nSteps (${this.nSteps}): the targets look ahead within one rollout. Raise nSteps or lower sarsaSteps.`,
      );
    }
    this.tau = options.tau ?? 1;
    if (!(this.tau > 0 && this.tau <= 1)) {
      throw new ProximalError("INVALID_OPTION", `tau must be in (0, 1], got ${this.tau}.`);
    }
    if (options.tau !== undefined && targetUpdateInterval === 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        "tau needs a target network: set targetUpdateInterval (updates between target updates) > 0.",
      );
    }
    this.criticUpdates = options.criticUpdates ?? 1;
    checkInteger(this.criticUpdates, "criticUpdates", 1);
    this.criticLearningRate =
      options.criticLearningRate === undefined
        ? null
        : resolveSchedule(options.criticLearningRate, "criticLearningRate");
    if (this.criticLearningRate !== null) {
      checkRange(this.criticLearningRate(1), "criticLearningRate", 0, Number.POSITIVE_INFINITY);
    }
    const critic = new Set(this.policy.qCritic.parameters());
    const trainable = this.policy.trainableParameters();
    // one group unless the critic has its own learning rate, so the default keeps the seed's layout
    this.optimizer = new RMSprop(
      this.criticLearningRate === null
        ? trainable
        : [
            { params: trainable.filter((p) => !critic.has(p)) },
            { params: trainable.filter((p) => critic.has(p)), lr: this.criticLearningRate(1) },
          ],
      { lr: this.learningRate(1), alpha: 0.99, eps: 1e-5 },
    );
  }

  /** The actor's learning rate for every group, then the critic's for its own group when it has one. */
  protected override updateLearningRate(): number {
    const lr = super.updateLearningRate();
    if (this.criticLearningRate !== null) {
      this.optimizer.paramGroups[1].options.lr = this.criticLearningRate(this.progressRemaining);
    }
    return lr;
  }

  /** Sampled actions for `observations` (no graph). */
  private sampleActions(observations: Float32Array, batch: number): Int32Array {
    return this.policy.act(observations, batch, this.rng).actions as Int32Array;
  }

  /**
   * `nSteps` steps of every env into the buffer. Rewards of truncated steps include
   * `γ·Q(final observation, a')`, a' ~ π; the action for the observation after the last step is
   * sampled now and taken first in the next rollout, so it is the A' of the last targets.
   */
  protected override collectRollout(): void {
    const env = this.env;
    const n = env.numEnvs;
    const obsSize = this.policy.observationSize;
    this.buffer.reset();
    this.policy.eval();
    let observations = this.lastObservations!;
    let actions =
      this.nextActions !== null && this.nextActionsFor === observations
        ? this.nextActions
        : this.sampleActions(observations, n);
    const rewards = new Float32Array(n);
    const dones = new Uint8Array(n);
    const unused = new Float32Array(n);
    for (let step = 0; step < this.nSteps; step++) {
      const result = env.step(actions);
      this.numTimesteps += n;
      rewards.set(result.rewards);
      let anyDone = false;
      const truncatedRows: number[] = [];
      for (let i = 0; i < n; i++) {
        dones[i] = result.terminated[i] === 1 || result.truncated[i] === 1 ? 1 : 0;
        anyDone ||= dones[i] === 1;
        if (result.truncated[i] === 1 && result.terminated[i] === 0) truncatedRows.push(i);
      }
      let next = result.observations;
      if (anyDone) {
        const finals = result.finalObservations ?? result.observations.slice();
        if (truncatedRows.length > 0) {
          // truncated ≠ terminated: bootstrap from Q(final observation, a'), a' ~ π (Gymnasium core.py)
          const batch = new Float32Array(truncatedRows.length * obsSize);
          truncatedRows.forEach((i, j) => {
            batch.set(finals.subarray(i * obsSize, (i + 1) * obsSize), j * obsSize);
          });
          const finalActions = this.sampleActions(batch, truncatedRows.length);
          const q = this.policy.bootstrapQ(
            this.policy.observationTensor(batch, truncatedRows.length),
            new Tensor(finalActions, [truncatedRows.length]),
          );
          truncatedRows.forEach((i, j) => {
            rewards[i] += this.gamma * q[j];
          });
        }
        if (result.finalObservations === null) {
          next = env.reset({ options: { resetMask: dones } }).observations;
        }
        for (const episode of env.drainEpisodes()) this.recordEpisode(episode);
      }
      this.buffer.add(observations, actions, rewards, dones, unused, unused);
      observations = next.slice(0, n * obsSize);
      actions = this.sampleActions(observations, n);
    }
    this.lastObservations = observations;
    this.nextActions = actions;
    this.nextActionsFor = observations;
    this.policy.train();
  }

  protected train(): UpdateStats {
    const lr = this.updateLearningRate();
    const n = this.env.numEnvs;
    const size = this.rolloutSize;
    const batch = this.buffer.all();
    // Q(S_{t+1}, A_{t+1}) as constants, from the target network when there is one: the next row of
    // the same env, and for the last step the observations and actions the next rollout starts from
    const bootstrap = this.policy.bootstrapQ(batch.observations, batch.actions);
    const lastQ = this.policy.bootstrapQ(
      this.policy.observationTensor(this.lastObservations!, n),
      new Tensor(this.nextActions!, [n]),
    );
    const nextQ = new Float32Array(size);
    nextQ.set(bootstrap.subarray(n), 0);
    nextQ.set(lastQ, size - n);
    const targets = nStepSarsaTargets(
      this.buffer.rewards,
      this.buffer.dones,
      nextQ,
      this.gamma,
      this.sarsaSteps,
      n,
    );
    const targetTensor = new Tensor(targets, [size]);

    // the extra critic steps first (semi-gradient on the fixed targets), so the actor's step below
    // is weighted by the critic as updated
    const criticParameters = this.policy.qCritic.parameters();
    for (let k = 1; k < this.criticUpdates; k++) {
      const extraLoss = ops.mul(
        sarsaCriticLoss(this.policy.qOfActions(batch.observations, batch.actions), targetTensor),
        this.vfCoef,
      );
      this.optimizer.zeroGrad();
      extraLoss.backward();
      clipGradNorm(criticParameters, this.maxGradNorm);
      this.optimizer.step(); // only the critic has gradients; the actor's state is untouched
    }

    const qAll = this.policy.qValues(batch.observations); // [size, numActions]
    const q = ops.takeAlongLastAxis(qAll, batch.actions);
    const distribution = this.policy.distribution(batch.observations);
    const weights =
      this.baseline === "none"
        ? q.detach()
        : new Tensor(
            actorWeights(
              qAll.values,
              (distribution as Categorical).probs().values,
              batch.actions.data as Int32Array, // int32: Discrete actions
              this.policy.numActions,
              this.baseline,
            ),
            [size],
          );
    const logProb = distribution.logProb(batch.actions);
    const actorLoss = qActorLoss(logProb, weights);
    const criticLoss = sarsaCriticLoss(q, targetTensor);
    const entropyLoss = ops.neg(ops.mean(distribution.entropy()));
    const loss = ops.add(
      ops.add(actorLoss, ops.mul(entropyLoss, this.entCoef)),
      ops.mul(criticLoss, this.vfCoef),
    );
    this.optimizer.zeroGrad();
    loss.backward();
    const gradNorm = clipGradNorm(this.policy.trainableParameters(), this.maxGradNorm);
    this.optimizer.step();
    // the target follows the critic every targetUpdateInterval updates (counted over the run, so a
    // resumed run updates it at the same updates as an uninterrupted one)
    if (this.targetUpdateInterval > 0 && (this.iteration + 1) % this.targetUpdateInterval === 0) {
      this.policy.updateTarget(this.tau);
    }
    return {
      "train/policyLoss": actorLoss.item(),
      "train/valueLoss": criticLoss.item(),
      "train/entropy": -entropyLoss.item(),
      "train/loss": loss.item(),
      "train/explainedVariance": explainedVariance(q.values, targets),
      "train/gradNorm": gradNorm,
      "train/learningRate": lr,
      ...(this.criticLearningRate === null
        ? {}
        : { "train/criticLearningRate": this.optimizer.paramGroups[1].options.lr }),
    };
  }

  /** {@link OnPolicyAlgorithm.trainingState} plus the next action A' of the last observations. */
  override trainingState(): Record<string, unknown> {
    const state = super.trainingState();
    const valid = this.nextActions !== null && this.nextActionsFor === this.lastObservations;
    return { ...state, nextActions: valid ? Array.from(this.nextActions!) : null };
  }

  /** Restore {@link ActorCritic.trainingState}: A' belongs to the restored last observations. */
  override restoreTrainingState(state: Record<string, unknown>): void {
    super.restoreTrainingState(state);
    const next = state.nextActions as number[] | null | undefined;
    if (next && this.lastObservations !== null) {
      this.nextActions = Int32Array.from(next);
      this.nextActionsFor = this.lastObservations;
    } else {
      this.nextActions = null;
      this.nextActionsFor = null;
    }
  }

  /** Rebuild an ActorCritic model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<ActorCritic> {
    return loadAlgorithm((env, opts) => new ActorCritic(env, opts as ActorCriticOptions), source, options);
  }
}
