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
 */
import type { Categorical } from "../distributions/categorical.js";
import { Discrete } from "../envs/spaces/discrete.js";
import type { Space } from "../envs/spaces/space.js";
import { ProximalError } from "../errors.js";
import { MLP } from "../nn/mlp.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import { RMSprop } from "../optim/rmsprop.js";
import type { Rng } from "../random/rng.js";
import * as ops from "../tensor/ops.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { explainedVariance } from "./common/gae.js";
import type { EnvInput, LoadOptions, OnPolicyOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { loadAlgorithm, OnPolicyAlgorithm } from "./common/onPolicyAlgorithm.js";
import type { NetArch, PolicyOptions } from "./common/policies.js";
import { ActorCriticPolicy } from "./common/policies.js";

/**
 * Options specific to {@link ActorCritic}. Of the shared fields, `gaeLambda` and
 * `normalizeAdvantage` do not apply (one-step SARSA targets, Q weights). Defaults as {@link A2C}
 * (`learningRate` 7e-4, `nSteps` 5, `gamma` 0.99, `vfCoef` 0.5, `maxGradNorm` 0.5) except
 * `entCoef` 0.01: on CartPole-v1 (8 envs, 50k steps) entCoef 0 gave deterministic eval returns
 * 64 / 52 / 36 for seeds 0-2 and 0.01 gave 87 / 120 / 66, as all-positive Q weights push up every
 * sampled action and the policy's entropy collapses early.
 */
export type ActorCriticOptions = Omit<OnPolicyOptions, "gaeLambda" | "normalizeAdvantage">;

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

/** `mean((target - Q(s, a))²)` (Sutton & Barto 2018, §6.4; targets constant). */
export function sarsaCriticLoss(qValues: Tensor, targets: Tensor): Tensor {
  return ops.mean(ops.square(ops.sub(targets, qValues)));
}

/**
 * Actor MLP → Categorical, critic MLP → Q(s, ·) for every discrete action (a critic Q(s, a)
 * with all actions' outputs at once, as a DQN head). Parameter names `actor.*` and
 * `qCritic.*`. It extends {@link ActorCriticPolicy} so {@link OnPolicyAlgorithm} can drive it
 * (`act`, `predict`, state dicts); the inherited V head (`critic.*`, one linear layer) is unused,
 * and `predictValues` returns `V(s) = Σ_a π(a|s) Q(s, a)` instead.
 */
export class QCriticPolicy extends ActorCriticPolicy {
  readonly qCritic: MLP;
  readonly numActions: number;

  constructor(observationSpace: Space, actionSpace: Space, rng: Rng, options: PolicyOptions = {}) {
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
      new MLP([this.observationSize, ...netArch.vf, this.numActions], {
        rng,
        activation: this.options.activation,
        init: orthogonal ? "orthogonal" : "pytorch",
        ...(orthogonal ? { gain: Math.SQRT2, outputGain: 1 } : {}),
      }),
    );
  }

  /** Q(s, ·) for observations [batch, obsSize] → [batch, numActions]. */
  qValues(obs: Tensor): Tensor {
    return this.qCritic.forward(obs);
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
  /** A_t for `lastObservations`, sampled at the end of the previous rollout (null: sample afresh). */
  private nextActions: Int32Array | null = null;
  /** The observations `nextActions` belongs to (learn() may have reset the envs since). */
  private nextActionsFor: Float32Array | null = null;

  constructor(env: EnvInput, options: ActorCriticOptions = {}) {
    for (const key of ["gaeLambda", "normalizeAdvantage"]) {
      if ((options as Record<string, unknown>)[key] !== undefined) {
        throw new ProximalError(
          "INVALID_OPTION",
          `ActorCritic has no ${key}: its critic learns one-step SARSA targets and the actor is weighted by Q.`,
        );
      }
    }
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
        new QCriticPolicy(observationSpace, actionSpace, rng, policyOptions),
    );
    this.options = options;
    this.optimizer = new RMSprop(this.policy.parameters(), {
      lr: this.learningRate(1),
      alpha: 0.99,
      eps: 1e-5,
    });
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
          const q = noGrad(
            () =>
              this.policy.qOfActions(
                this.policy.observationTensor(batch, truncatedRows.length),
                new Tensor(finalActions, [truncatedRows.length]),
              ).values,
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
    // Q(S_t, A_t) with gradient; Q(S_{t+1}, A_{t+1}) as constants: the next row of the same env,
    // and for the last step the observations and actions the next rollout starts from
    const q = this.policy.qOfActions(batch.observations, batch.actions); // [nSteps * numEnvs]
    const lastQ = noGrad(
      () =>
        this.policy.qOfActions(
          this.policy.observationTensor(this.lastObservations!, n),
          new Tensor(this.nextActions!, [n]),
        ).values,
    );
    const nextQ = new Float32Array(size);
    nextQ.set(q.values.subarray(n), 0);
    nextQ.set(lastQ, size - n);
    const targets = sarsaTargets(this.buffer.rewards, this.buffer.dones, nextQ, this.gamma);

    const distribution = this.policy.distribution(batch.observations);
    const logProb = distribution.logProb(batch.actions);
    const actorLoss = qActorLoss(logProb, q.detach());
    const criticLoss = sarsaCriticLoss(q, new Tensor(targets, [size]));
    const entropyLoss = ops.neg(ops.mean(distribution.entropy()));
    const loss = ops.add(
      ops.add(actorLoss, ops.mul(entropyLoss, this.entCoef)),
      ops.mul(criticLoss, this.vfCoef),
    );
    this.optimizer.zeroGrad();
    loss.backward();
    const gradNorm = clipGradNorm(this.policy.parameters(), this.maxGradNorm);
    this.optimizer.step();
    return {
      "train/policyLoss": actorLoss.item(),
      "train/valueLoss": criticLoss.item(),
      "train/entropy": -entropyLoss.item(),
      "train/loss": loss.item(),
      "train/explainedVariance": explainedVariance(q.values, targets),
      "train/gradNorm": gradNorm,
      "train/learningRate": lr,
    };
  }

  /** Rebuild an ActorCritic model saved with `save(dir)`. */
  static load(dir: string, options: LoadOptions = {}): Promise<ActorCritic> {
    return loadAlgorithm((env, opts) => new ActorCritic(env, opts as ActorCriticOptions), dir, options);
  }
}
