/**
 * The learner of D4PG (Barth-Maron et al. 2018, ICLR, arXiv:1804.08617), shared by the
 * single-machine `D4PG` (`rl/d4pg.ts`, actors in worker threads) and the Ape-X-style `ApexD4PG`
 * (`rl/distributed/apexD4pg.ts`, actors across machines): the networks
 * ({@link DistributionalActorCriticPolicy}), one gradient step of the distributional critic
 * (cross-entropy to the projected n-step target, §3 eq. 4) and of the actor (ascending the critic's
 * mean, §3 eq. 5), hard or soft target updates every `targetUpdateInterval` steps, and exploration
 * `clip(μ(s) + noise, −1, 1)` in the scaled action space. The losses are
 * `distributionalLosses.ts`; the replay and its priorities (the per-sample critic loss, Rainbow's
 * choice) {@link OffPolicyAlgorithm}'s.
 */
import type { Box } from "../../envs/spaces/box.js";
import { Adam } from "../../optim/adam.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { PrioritizedReplayBuffer } from "../replay/prioritizedReplayBuffer.js";
import type { ActionNoiseOptions } from "./actionNoise.js";
import { ActionNoise } from "./actionNoise.js";
import { clipUnit, noisyEnvActions, predictDeterministic, scaleAction } from "./actionScaling.js";
import type { ContinuousPolicyOptions } from "./continuousPolicies.js";
import { rowsTensor, updateTargetModule } from "./continuousPolicies.js";
import { continuousActionSpace } from "./deterministicActorCritic.js";
import { DistributionalActorCriticPolicy } from "./distributionalActorCritic.js";
import {
  categoricalMeans,
  distributionalActorLoss,
  distributionalCriticLoss,
} from "./distributionalLosses.js";
import type { OffPolicyDefaults, OffPolicyOptions } from "./offPolicyAlgorithm.js";
import { OffPolicyAlgorithm } from "./offPolicyAlgorithm.js";
import type { EnvInput, UpdateStats } from "./onPolicyAlgorithm.js";
import { checkInteger } from "./onPolicyAlgorithm.js";
import { scopedGradientStep } from "./scopedGradientStep.js";

/**
 * Options of every D4PG learner (besides {@link OffPolicyOptions}). Defaults: the paper's where it
 * states them (Barth-Maron et al. 2018, §4 and App. C), Acme's `d4pg` (agents/jax/d4pg) where it
 * does not.
 */
export interface D4PGLearnerOptions extends OffPolicyOptions {
  /** Atoms of the critic's categorical support. @defaultValue 51 (paper §4, Acme, C51) */
  atoms?: number;
  /**
   * Smallest return of the support. @defaultValue -150 (Acme's D4PG control-suite examples, rewards in
   * [0, 1]); pick it from your env's reward range: see `presets/d4pg/paper.yaml` for Pendulum.
   */
  vMin?: number;
  /** Largest return of the support. @defaultValue 150 (Acme, as vMin) */
  vMax?: number;
  /**
   * Exploration noise added to `μ(s)` in the scaled space [−1, 1] before clipping, the same σ for every
   * actor (Acme's D4PG: Gaussian, σ = 0.3; the paper's actors add Gaussian noise too, App. C; Ape-X's
   * per-actor ε ladder is not used). null turns exploration off after `learningStarts`.
   * @defaultValue { type: "normal", sigma: 0.3 }
   */
  actionNoise?: ActionNoiseOptions | null;
  /** Actor and critic hidden layers. @defaultValue netArch [400, 300] (paper App. C), ReLU */
  policy?: ContinuousPolicyOptions;
  /**
   * Gradient steps between target-network updates `θ' ← τθ + (1−τ)θ'`.
   * @defaultValue 100 with tau 1: hard copies every 100 steps (paper App. C, Acme `target_update_period`)
   */
  targetUpdateInterval?: number;
}

/** The paper's defaults of the shared off-policy options (Barth-Maron et al. 2018, App. C). */
export const D4PG_DEFAULTS: OffPolicyDefaults = {
  learningRate: 1e-4, // paper App. C: Adam, 1e-4 for actor and critic
  bufferSize: 1_000_000, // paper App. C
  learningStarts: 100, // SB3's off-policy default (the paper starts once the buffer has a batch)
  batchSize: 256, // paper App. C
  tau: 1, // hard target copies every targetUpdateInterval steps (paper App. C, Acme)
  gamma: 0.99,
  trainFreq: 1,
  gradientSteps: 1,
};

/** The paper's n = 5 (§4) and prioritised sampling (Algorithm 1), unless the options switch them off. */
export function d4pgReplayOptions<T extends OffPolicyOptions>(options: T): T {
  return { ...options, nStep: options.nStep ?? 5, prioritized: options.prioritized ?? true };
}

/** The exploration noise the options ask for: Gaussian σ = 0.3 unless given (null: none). */
export function d4pgActionNoise(options: D4PGLearnerOptions): ActionNoiseOptions | null {
  return options.actionNoise === undefined ? { type: "normal", sigma: 0.3 } : options.actionNoise;
}

/** D4PG's networks, gradient step and exploration (see this file's header). */
export abstract class D4PGLearner extends OffPolicyAlgorithm {
  readonly policy: DistributionalActorCriticPolicy;
  readonly targetUpdateInterval: number;
  readonly actionNoise: ActionNoise | null;
  /** One Adam over two parameter groups (0: actor, 1: critic), stepped one module at a time. */
  protected readonly optimizer: Adam;
  protected readonly boxSpace: Box;

  protected constructor(
    env: EnvInput,
    options: D4PGLearnerOptions,
    defaults: OffPolicyDefaults,
    algorithm: string,
  ) {
    super(env, options, defaults);
    this.boxSpace = continuousActionSpace(this.actionSpace, algorithm);
    this.targetUpdateInterval = options.targetUpdateInterval ?? 100;
    checkInteger(this.targetUpdateInterval, "targetUpdateInterval", 1);
    const noise = d4pgActionNoise(options);
    this.actionNoise = noise === null ? null : new ActionNoise(noise, this.env.numEnvs, this.boxSpace.size);
    this.policy = new DistributionalActorCriticPolicy(
      this.env.singleObservationSpace,
      this.boxSpace,
      this.rng.spawn(),
      options.policy,
      { atoms: options.atoms ?? 51, vMin: options.vMin ?? -150, vMax: options.vMax ?? 150 },
      [400, 300],
    );
    this.optimizer = new Adam(
      [{ params: this.policy.actor.parameters() }, { params: this.policy.critic.parameters() }],
      { lr: this.learningRate(1) },
    );
  }

  /** `clip(μ(s) + noise, −1, 1)`, rescaled to the env's bounds. */
  protected explore(observations: Float32Array): Float32Array {
    const batch = observations.length / this.policy.observationSize;
    const scaled = this.policy.actions(observations, batch);
    const noise = this.actionNoise?.sample(this.rng, this.progressRemaining) ?? null;
    return noisyEnvActions(scaled, noise, this.boxSpace);
  }

  protected override bufferActions(actions: Int32Array | Float32Array): Float32Array {
    // the buffer holds [−1, 1] actions, as DDPG's (SB3's buffer_action)
    return clipUnit(scaleAction(actions, this.boxSpace));
  }

  protected override onEpisodesDone(dones: Uint8Array): void {
    this.actionNoise?.reset(dones);
  }

  protected onStep(): void {}

  protected train(gradientSteps: number): UpdateStats {
    const lr = this.updateLearningRate();
    const policy = this.policy;
    const { vMin, vMax } = policy.options;
    const d = policy.actionDim;
    const obsSize = policy.observationSize;
    let criticLossSum = 0;
    let actorLossSum = 0;
    let qSum = 0;
    for (let step = 0; step < gradientSteps; step++) {
      scopedGradientStep(this.optimizer, () => {
        this.nUpdates++;
        const batch = this.sampleReplay();
        const b = batch.size;
        const obs = rowsTensor(batch.observations, b, obsSize, "observations");
        const nextObs = rowsTensor(batch.nextObservations, b, obsSize, "next observations");
        const nextProbs = noGrad(() => {
          const nextActions = policy.actorTarget.forward(nextObs);
          return ops.softmax(policy.criticTarget.forward(nextObs, nextActions), -1).values;
        });
        const actions = rowsTensor(batch.actions as Float32Array, b, d, "actions");
        const logits = policy.critic.forward(obs, actions);
        const { loss: lossZ, perSample } = distributionalCriticLoss({
          logits,
          nextProbs,
          rewards: batch.rewards,
          dones: batch.dones,
          steps: batch.steps,
          gamma: this.gamma,
          vMin,
          vMax,
          weights: batch.weights === undefined ? null : new Tensor(batch.weights, [b]),
        });
        // Rainbow's priorities: the per-sample loss (Hessel et al. 2018, §"Prioritized replay")
        if (this.replayBuffer instanceof PrioritizedReplayBuffer) {
          this.replayBuffer.updatePriorities(batch.indices, perSample);
        }
        this.optimizer.zeroGrad();
        lossZ.backward();
        this.optimizer.step();
        criticLossSum += lossZ.item();
        const q = categoricalMeans(
          noGrad(() => ops.softmax(logits, -1).values),
          policy.support,
        );
        for (let i = 0; i < b; i++) qSum += q[i] / b;
        const lossPi = distributionalActorLoss(
          policy.critic.forward(obs, policy.actor.forward(obs)),
          policy.support,
        );
        this.optimizer.zeroGrad();
        lossPi.backward();
        // the actor loss also reaches the critic's weights; only the actor steps on it
        policy.critic.zeroGrad();
        this.optimizer.step();
        actorLossSum += lossPi.item();
        if (this.nUpdates % this.targetUpdateInterval === 0) {
          updateTargetModule(policy.critic, policy.criticTarget, this.tau);
          updateTargetModule(policy.actor, policy.actorTarget, this.tau);
        }
      });
    }
    return {
      "train/loss": criticLossSum / gradientSteps,
      "train/criticLoss": criticLossSum / gradientSteps,
      "train/actorLoss": actorLossSum / gradientSteps,
      "train/qValue": qSum / gradientSteps,
      "train/learningRate": lr,
      "train/nUpdates": this.nUpdates,
    };
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
