/**
 * Twin Delayed DDPG (Fujimoto, van Hoof & Meger 2018, "Addressing Function Approximation Error in
 * Actor-Critic Methods", ICML, arXiv:1802.09477).
 *
 * DDPG with three changes against overestimation (Algorithm 1):
 * - clipped double Q-learning: two critics, both regressing on
 *   `y = r + γ^k (1 − terminated) min_{j=1,2} Q'_j(s', ã)` (eq. 10);
 * - target policy smoothing: `ã = clip(μ'(s') + clip(ε, −c, c), −1, 1)`, `ε ~ N(0, σ²)` (eq. 14);
 * - delayed policy updates: the actor (`−mean Q_1(s, μ(s))`) and the Polyak-averaged targets move
 *   every `policyDelay`-th gradient step (§5.2).
 *
 * Follows Stable-Baselines3's `TD3` (`td3/td3.py`, SB3 2.x): the same defaults, actions scaled to
 * [−1, 1] (actor output through tanh) and back to the env's bounds, exploration noise added in the
 * scaled space and clipped (`_sample_action`), scaled actions in the replay buffer, the delay counted
 * on all gradient steps so far (`_n_updates % policy_delay`). The loop, replay and checkpoints come
 * from {@link OffPolicyAlgorithm}; the training step from {@link DeterministicActorCriticAlgorithm};
 * the losses are in `common/continuousLosses.ts`.
 */
import type { ModelSource } from "../io/modelFiles.js";
import type { DeterministicActorCriticOptions } from "./common/deterministicActorCritic.js";
import { DeterministicActorCriticAlgorithm } from "./common/deterministicActorCritic.js";
import { loadOffPolicyAlgorithm } from "./common/offPolicyAlgorithm.js";
import type { EnvInput, LoadOptions } from "./common/onPolicyAlgorithm.js";
import { checkRange } from "./common/onPolicyAlgorithm.js";

export type { ActionNoiseOptions } from "./common/actionNoise.js";
export type { ContinuousPolicyOptions } from "./common/continuousPolicies.js";

/**
 * Options of {@link TD3}; the shared options are in {@link DeterministicActorCriticOptions} and
 * {@link OffPolicyOptions}. Defaults are SB3's `TD3`: learningRate 1e-3, bufferSize 1_000_000,
 * learningStarts 100, batchSize 256, tau 0.005, gamma 0.99, trainFreq 1, gradientSteps 1,
 * policyDelay 2, targetPolicyNoise 0.2, targetNoiseClip 0.5, no actionNoise, netArch [400, 300],
 * ReLU, Adam with PyTorch's defaults.
 */
export interface TD3Options extends DeterministicActorCriticOptions {
  /** Update the actor and the targets every `policyDelay` gradient steps. @defaultValue 2 (Fujimoto et al. 2018, SB3) */
  policyDelay?: number;
  /** σ of the target policy smoothing noise, in the scaled action space. @defaultValue 0.2 (Fujimoto et al. 2018, SB3) */
  targetPolicyNoise?: number;
  /** Clip c of the target policy smoothing noise. @defaultValue 0.5 (Fujimoto et al. 2018, SB3) */
  targetNoiseClip?: number;
}

/**
 * TD3 with SB3's defaults.
 *
 * @example
 * const model = new TD3("Pendulum-v1", { actionNoise: { type: "normal", sigma: 0.1 }, seed: 0 });
 * await model.learn({ totalTimesteps: 20_000 });
 * const actions = model.predict(observations); // in the env's units
 */
export class TD3 extends DeterministicActorCriticAlgorithm {
  readonly algorithmName = "TD3";
  readonly options: TD3Options;

  constructor(env: EnvInput, options: TD3Options = {}) {
    super(
      env,
      options,
      {
        learningRate: 1e-3,
        bufferSize: 1_000_000,
        learningStarts: 100,
        batchSize: 256,
        tau: 0.005,
        gamma: 0.99,
        trainFreq: 1,
        gradientSteps: 1,
      },
      {
        policyDelay: options.policyDelay ?? 2,
        targetPolicyNoise: checkRange(
          options.targetPolicyNoise ?? 0.2,
          "targetPolicyNoise",
          0,
          Number.MAX_VALUE,
        ),
        targetNoiseClip: checkRange(options.targetNoiseClip ?? 0.5, "targetNoiseClip", 0, Number.MAX_VALUE),
        nCritics: 2,
      },
      "TD3",
    );
    this.options = options;
  }

  /** Rebuild a TD3 model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB) (with its replay buffer when `saveReplayBuffer` was set). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<TD3> {
    return loadOffPolicyAlgorithm((env, opts) => new TD3(env, opts as TD3Options), source, options);
  }
}
