/**
 * The machinery DDPG and TD3 share (SB3's `TD3` class, of which `DDPG` is the special case
 * `policyDelay` 1, `targetPolicyNoise` 0, one critic): a deterministic actor `μ(s)` and `nCritics`
 * Q-networks with target copies ({@link TD3Policy}), exploration by adding {@link ActionNoise} to
 * `μ(s)` in the scaled space and clipping to [−1, 1], actions rescaled to the env's bounds, and the
 * gradient step: critics regress on {@link clippedDoubleQTargets} at the (smoothed) target action;
 * every `policyDelay`-th gradient step the actor ascends `Q_1(s, μ(s))` and both targets move by
 * Polyak averaging. Each algorithm file states its objective and its defaults.
 */
import { Box } from "../../envs/spaces/box.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import { Module } from "../../nn/module.js";
import { Adam } from "../../optim/adam.js";
import type { Rng } from "../../random/rng.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import type { ActionNoiseOptions } from "./actionNoise.js";
import { ActionNoise } from "./actionNoise.js";
import {
  checkBoundedBox,
  clipUnit,
  noisyEnvActions,
  predictDeterministic,
  scaleAction,
} from "./actionScaling.js";
import {
  clippedDoubleQTargets,
  continuousCriticLoss,
  deterministicActorLoss,
  smoothTargetActions,
} from "./continuousLosses.js";
import type { ContinuousPolicyOptions } from "./continuousPolicies.js";
import {
  ContinuousCritic,
  continuousSizes,
  DeterministicActor,
  resolvePolicyOptions,
  rowsTensor,
  targetCopy,
  updateTargetModule,
} from "./continuousPolicies.js";
import type { OffPolicyDefaults, OffPolicyOptions } from "./offPolicyAlgorithm.js";
import { OffPolicyAlgorithm } from "./offPolicyAlgorithm.js";
import type { EnvInput, UpdateStats } from "./onPolicyAlgorithm.js";
import { checkInteger } from "./onPolicyAlgorithm.js";
import { scopedGradientStep } from "./scopedGradientStep.js";

/** Options DDPG and TD3 share (besides {@link OffPolicyOptions}). */
export interface DeterministicActorCriticOptions extends OffPolicyOptions {
  /**
   * Exploration noise added to `μ(s)` in the scaled space [−1, 1] before clipping (SB3's
   * `action_noise`); null or omitted: none (SB3's default, which then explores only through the
   * random actions before `learningStarts`).
   */
  actionNoise?: ActionNoiseOptions | null;
  /** Actor and critic architecture. */
  policy?: ContinuousPolicyOptions;
}

/** The TD3-specific knobs, fixed for DDPG. */
export interface TD3Knobs {
  policyDelay: number;
  targetPolicyNoise: number;
  targetNoiseClip: number;
  nCritics: number;
}

/**
 * The networks of DDPG and TD3 (SB3 `TD3Policy`): `actor`, `actorTarget`, `critic` (`nCritics`
 * Q-networks) and `criticTarget`; targets start equal to their online networks. State dict:
 * `actor.*`, `actorTarget.*`, `critic.*`, `criticTarget.*`.
 */
export class TD3Policy extends Module {
  readonly observationSize: number;
  readonly actionDim: number;
  readonly options: Required<ContinuousPolicyOptions> & { nCritics: number };
  readonly actor: DeterministicActor;
  readonly actorTarget: DeterministicActor;
  readonly critic: ContinuousCritic;
  readonly criticTarget: ContinuousCritic;

  constructor(
    observationSpace: Space,
    actionSpace: Box,
    rng: Rng,
    options: ContinuousPolicyOptions | undefined,
    nCritics: number,
  ) {
    super();
    const resolved = resolvePolicyOptions(options, [400, 300]);
    this.options = { ...resolved, nCritics };
    const { observationSize, actionDim } = continuousSizes(observationSpace, actionSpace);
    this.observationSize = observationSize;
    this.actionDim = actionDim;
    this.actor = this.registerModule(
      "actor",
      new DeterministicActor(observationSize, actionDim, rng, resolved),
    );
    this.actorTarget = this.registerModule(
      "actorTarget",
      targetCopy(this.actor, () => new DeterministicActor(observationSize, actionDim, rng.spawn(), resolved)),
    );
    this.critic = this.registerModule(
      "critic",
      new ContinuousCritic(observationSize, actionDim, nCritics, rng, resolved),
    );
    this.criticTarget = this.registerModule(
      "criticTarget",
      targetCopy(
        this.critic,
        () => new ContinuousCritic(observationSize, actionDim, nCritics, rng.spawn(), resolved),
      ),
    );
  }

  /** μ(s) in [−1, 1] for observations `[batch * obsSize]`, without a graph. */
  actions(observations: Float32Array, batch: number): Float32Array {
    return noGrad(
      () => this.actor.forward(rowsTensor(observations, batch, this.observationSize, "actor")).values,
    );
  }
}

/** Check that the env's actions are a bounded Box (continuous control) and return it. */
export function continuousActionSpace(space: Space, algorithm: string): Box {
  if (!(space instanceof Box)) {
    throw new ProximalError(
      "UNSUPPORTED_SPACE",
      `${algorithm} needs a Box (continuous) action space, got ${JSON.stringify(space.toJSON())}. For Discrete actions use DQN, Rainbow, PPO or A2C.`,
    );
  }
  checkBoundedBox(space, algorithm);
  return space;
}

/** Refuse replay options that this family does not implement (rather than ignoring them). */
export function refusePrioritized(options: OffPolicyOptions, algorithm: string): void {
  if (options.prioritized) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${algorithm} does not support prioritized replay (SB3's ${algorithm} has none). Drop prioritized, or use DQN/Rainbow for prioritised replay.`,
    );
  }
}

/** Base of {@link DDPG}-style algorithms: SB3's `TD3` training loop. */
export abstract class DeterministicActorCriticAlgorithm extends OffPolicyAlgorithm {
  readonly policy: TD3Policy;
  readonly policyDelay: number;
  readonly targetPolicyNoise: number;
  readonly targetNoiseClip: number;
  /** The exploration noise, or null without `actionNoise`. */
  readonly actionNoise: ActionNoise | null;
  /** One Adam over two parameter groups (0: actor, 1: critics), stepped one module at a time. */
  protected readonly optimizer: Adam;
  protected readonly boxSpace: Box;

  protected constructor(
    env: EnvInput,
    options: DeterministicActorCriticOptions,
    defaults: OffPolicyDefaults,
    knobs: TD3Knobs,
    algorithm: string,
  ) {
    super(env, options, defaults);
    this.boxSpace = continuousActionSpace(this.actionSpace, algorithm);
    refusePrioritized(options, algorithm);
    this.policyDelay = knobs.policyDelay;
    checkInteger(this.policyDelay, "policyDelay", 1);
    this.targetPolicyNoise = knobs.targetPolicyNoise;
    this.targetNoiseClip = knobs.targetNoiseClip;
    if (!(this.targetPolicyNoise >= 0) || !(this.targetNoiseClip >= 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `targetPolicyNoise and targetNoiseClip must be >= 0, got ${this.targetPolicyNoise} and ${this.targetNoiseClip}. TD3 uses 0.2 and 0.5.`,
      );
    }
    checkInteger(knobs.nCritics, "nCritics", 1);
    this.actionNoise =
      options.actionNoise == null
        ? null
        : new ActionNoise(options.actionNoise, this.env.numEnvs, this.boxSpace.size);
    this.policy = new TD3Policy(
      this.env.singleObservationSpace,
      this.boxSpace,
      this.rng.spawn(),
      options.policy,
      knobs.nCritics,
    );
    // SB3 gives actor and critic their own Adam; one Adam with a group each keeps per-parameter state
    // identical, as long as only one module holds gradients when it steps (see train)
    this.optimizer = new Adam(
      [{ params: this.policy.actor.parameters() }, { params: this.policy.critic.parameters() }],
      { lr: this.learningRate(1) },
    );
  }

  /** `clip(μ(s) + noise, −1, 1)`, rescaled to the env's bounds (SB3 `_sample_action`). */
  protected explore(observations: Float32Array): Float32Array {
    const batch = observations.length / this.policy.observationSize;
    const scaled = this.policy.actions(observations, batch);
    const noise = this.actionNoise?.sample(this.rng, this.progressRemaining) ?? null;
    return noisyEnvActions(scaled, noise, this.boxSpace);
  }

  /**
   * Before `learningStarts`: uniform actions, with the exploration noise added in the scaled space
   * and clipped as after it (SB3's `_sample_action` adds `action_noise` to the warm-up samples too,
   * so an Ornstein-Uhlenbeck process is already running when the actor takes over).
   */
  protected override randomActions(n: number, masks: Uint8Array | null): Float32Array {
    const uniform = super.randomActions(n, masks) as Float32Array;
    if (this.actionNoise === null) return uniform;
    const noise = this.actionNoise.sample(this.rng, this.progressRemaining);
    return noisyEnvActions(scaleAction(uniform, this.boxSpace), noise, this.boxSpace);
  }

  protected override bufferActions(actions: Int32Array | Float32Array): Float32Array {
    // the buffer holds [−1, 1] actions (SB3's buffer_action); clipping guards round-off at the bounds
    return clipUnit(scaleAction(actions, this.boxSpace));
  }

  protected override onEpisodesDone(dones: Uint8Array): void {
    this.actionNoise?.reset(dones);
  }

  /** Targets move in `train` (with the actor), not per env step. */
  protected onStep(): void {}

  protected train(gradientSteps: number): UpdateStats {
    const lr = this.updateLearningRate();
    const policy = this.policy;
    const d = policy.actionDim;
    const obsSize = policy.observationSize;
    let criticLossSum = 0;
    let actorLossSum = 0;
    let actorUpdates = 0;
    let qSum = 0;
    for (let step = 0; step < gradientSteps; step++) {
      scopedGradientStep(this.optimizer, () => {
        this.nUpdates++;
        const batch = this.sampleReplay();
        const b = batch.size;
        const obs = rowsTensor(batch.observations, b, obsSize, "observations");
        const nextObs = rowsTensor(batch.nextObservations, b, obsSize, "next observations");
        const targets = noGrad(() => {
          let nextActions = policy.actorTarget.forward(nextObs).values;
          if (this.targetPolicyNoise > 0) {
            const normals = new Float32Array(b * d);
            for (let i = 0; i < normals.length; i++) normals[i] = this.rng.normal();
            nextActions = smoothTargetActions(
              nextActions,
              normals,
              this.targetPolicyNoise,
              this.targetNoiseClip,
            );
          }
          const nextQ = policy.criticTarget
            .forward(nextObs, new Tensor(nextActions, [b, d]))
            .map((q) => q.values);
          return clippedDoubleQTargets({
            rewards: batch.rewards,
            dones: batch.dones,
            steps: batch.steps,
            nextQ,
            gamma: this.gamma,
          });
        });
        const actions = rowsTensor(batch.actions as Float32Array, b, d, "actions");
        const q = policy.critic.forward(obs, actions);
        const lossQ = continuousCriticLoss(q, new Tensor(targets, [b]));
        this.optimizer.zeroGrad();
        lossQ.backward();
        this.optimizer.step();
        criticLossSum += lossQ.item();
        const q1 = q[0].values;
        for (let i = 0; i < b; i++) qSum += q1[i] / b;
        // delayed policy updates (Fujimoto et al. 2018, §5.2), counted on all updates as SB3's _n_updates
        if (this.nUpdates % this.policyDelay === 0) {
          const lossPi = deterministicActorLoss(policy.critic.q1(obs, policy.actor.forward(obs)));
          this.optimizer.zeroGrad();
          lossPi.backward();
          // the actor loss also reaches the critic's weights; only the actor steps on it
          policy.critic.zeroGrad();
          this.optimizer.step();
          actorLossSum += lossPi.item();
          actorUpdates++;
          updateTargetModule(policy.critic, policy.criticTarget, this.tau);
          updateTargetModule(policy.actor, policy.actorTarget, this.tau);
        }
      });
    }
    const stats: UpdateStats = {
      "train/loss": criticLossSum / gradientSteps,
      "train/criticLoss": criticLossSum / gradientSteps,
      "train/qValue": qSum / gradientSteps,
      "train/learningRate": lr,
      "train/nUpdates": this.nUpdates,
    };
    if (actorUpdates > 0) stats["train/actorLoss"] = actorLossSum / actorUpdates;
    return stats;
  }

  protected override rolloutStats(): UpdateStats {
    if (this.actionNoise === null) return {};
    return { "rollout/actionNoiseSigma": this.actionNoise.sigmaAt(this.progressRemaining) };
  }

  /** Actions in the env's units: `μ(s)` rescaled to the bounds (`predictDeterministic`). */
  predict(
    observations: Float32Array,
    _options: { deterministic?: boolean; actionMask?: Uint8Array } = {},
  ): Float32Array {
    return predictDeterministic(this.policy, observations, this.boxSpace);
  }

  override trainingState(): Record<string, unknown> {
    return { ...super.trainingState(), actionNoise: this.actionNoise?.state() ?? null };
  }

  override restoreTrainingState(state: Record<string, unknown>): void {
    super.restoreTrainingState(state);
    if (this.actionNoise !== null && state.actionNoise != null) this.actionNoise.loadState(state.actionNoise);
  }
}
