/**
 * Deep Deterministic Policy Gradient (Lillicrap et al. 2016, "Continuous control with deep
 * reinforcement learning", ICLR, arXiv:1509.02971).
 *
 * An actor `μ(s)` and a critic `Q(s, a)` learned off-policy from replay (Algorithm 1): the critic
 * regresses on `y = r + γ^k (1 − terminated) Q'(s', μ'(s'))`, the actor follows the deterministic
 * policy gradient by minimising `−mean Q(s, μ(s))` (Silver et al. 2014), and the target networks
 * `Q'`, `μ'` track the online ones by Polyak averaging `θ' ← τ θ + (1 − τ) θ'`. Exploration adds
 * Gaussian or Ornstein-Uhlenbeck noise to `μ(s)` (`actionNoise`).
 *
 * Follows Stable-Baselines3's `DDPG` (`ddpg/ddpg.py`), which is its `TD3` with one critic,
 * `policy_delay` 1 and no target policy smoothing: the same defaults (learningRate 1e-3, batchSize
 * 256, tau 0.005, [400, 300] networks; Lillicrap et al. used 64-unit batches, 1e-4/1e-3 learning
 * rates, L2 weight decay on the critic and batch normalisation, which SB3 drops), the same action
 * scaling and noise handling as {@link TD3}. The shared training step is
 * {@link DeterministicActorCriticAlgorithm}'s.
 */
import type { ModelSource } from "../io/modelFiles.js";
import type { DeterministicActorCriticOptions } from "./common/deterministicActorCritic.js";
import { DeterministicActorCriticAlgorithm } from "./common/deterministicActorCritic.js";
import { loadOffPolicyAlgorithm } from "./common/offPolicyAlgorithm.js";
import type { EnvInput, LoadOptions } from "./common/onPolicyAlgorithm.js";

export type { ActionNoiseOptions } from "./common/actionNoise.js";
export type { ContinuousPolicyOptions } from "./common/continuousPolicies.js";

/**
 * Options of {@link DDPG} (see {@link DeterministicActorCriticOptions} and {@link OffPolicyOptions}).
 * Defaults are SB3's `DDPG`: learningRate 1e-3, bufferSize 1_000_000, learningStarts 100,
 * batchSize 256, tau 0.005, gamma 0.99, trainFreq 1, gradientSteps 1, no actionNoise,
 * netArch [400, 300], ReLU.
 */
export interface DDPGOptions extends DeterministicActorCriticOptions {}

/**
 * DDPG with SB3's defaults.
 *
 * @example
 * const model = new DDPG("Pendulum-v1", { actionNoise: { type: "ornstein-uhlenbeck", sigma: 0.5 } });
 * await model.learn({ totalTimesteps: 20_000 });
 */
export class DDPG extends DeterministicActorCriticAlgorithm {
  readonly algorithmName = "DDPG";
  readonly options: DDPGOptions;

  constructor(env: EnvInput, options: DDPGOptions = {}) {
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
      // SB3 ddpg.py: policy_delay=1, target_policy_noise=0.0, target_noise_clip=0.0, n_critics=1
      { policyDelay: 1, targetPolicyNoise: 0, targetNoiseClip: 0, nCritics: 1 },
      "DDPG",
    );
    this.options = options;
  }

  /** Rebuild a DDPG model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB) (with its replay buffer when `saveReplayBuffer` was set). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<DDPG> {
    return loadOffPolicyAlgorithm((env, opts) => new DDPG(env, opts as DDPGOptions), source, options);
  }
}
