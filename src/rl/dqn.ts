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
 * Huber loss, priorities `|δ|`), `nStep` returns, and from Rainbow's components `noisy` (NoisyNet,
 * Fortunato et al. 2018) and `distributional` (C51, Bellemare et al. 2017), and `quantile`
 * (QR-DQN, Dabney et al. 2018, arXiv:1710.10044, as SB3-contrib's `QRDQN`). The collection loop,
 * replay and checkpoints come from {@link OffPolicyAlgorithm}; acting, target updates and the
 * gradient step, shared with Rainbow, from {@link DeepQAlgorithm}; the targets and losses are
 * `tdTargets`/`huberLoss` and `quantileTargets`/`quantileHuberLoss` (`common/deepQLosses.ts`) and
 * `categoricalProjection`/`categoricalCrossEntropy` (`distributions/categoricalReturns.ts`).
 *
 * Action masks (`info.actionMask`, e.g. Taxi-v4's) restrict both the greedy and the random choices,
 * and the replay buffer stores each transition's next-state mask, so the bootstrap `max_a'` (Double's
 * argmax, C51's greedy next action) ranges over the next state's allowed actions only (see
 * `tdTargets`; Huang & Ontañón 2020, arXiv:2006.14171). Envs without masks are unaffected.
 */

import type { ModelSource } from "../io/modelFiles.js";
import type { DeepQOptions } from "./common/deepQAlgorithm.js";
import { DeepQAlgorithm } from "./common/deepQAlgorithm.js";
import { loadOffPolicyAlgorithm } from "./common/offPolicyAlgorithm.js";
import type { EnvInput, LoadOptions } from "./common/onPolicyAlgorithm.js";

export { linearExplorationSchedule } from "./common/deepQAlgorithm.js";
export type { QuantileTargetInputs, TdTargetInputs } from "./common/deepQLosses.js";
export { huberLoss, quantileHuberLoss, quantileTargets, tdTargets } from "./common/deepQLosses.js";

/**
 * Options of {@link DQN}; the shared options are in {@link DeepQOptions} and
 * {@link OffPolicyOptions}. Defaults are SB3's `DQN` (≥ 2.3): learningRate 1e-4, bufferSize
 * 1_000_000, learningStarts 100, batchSize 32, tau 1, gamma 0.99, trainFreq 4, gradientSteps 1,
 * targetUpdateInterval 10000, explorationFraction 0.1, explorationInitialEps 1 (0 with `noisy`),
 * explorationFinalEps 0.05 (0 with `noisy`), maxGradNorm 10, Adam eps 1e-8; double, dueling,
 * noisy, prioritized off, nStep 1, distributional null, quantile null.
 */
export interface DQNOptions extends DeepQOptions {}

/**
 * DQN with SB3's defaults, and the Double, Dueling, prioritised-replay, n-step, NoisyNet, C51 and
 * QR-DQN switches.
 *
 * @example
 * const model = new DQN("CartPole-v1", { learningStarts: 1000, targetUpdateInterval: 10, seed: 0 });
 * await model.learn({ totalTimesteps: 50_000 });
 * const actions = model.predict(observations, { deterministic: true });
 */
export class DQN extends DeepQAlgorithm {
  readonly algorithmName = "DQN";
  readonly options: DQNOptions;

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
      targetUpdateInterval: 10_000,
      explorationFraction: 0.1,
      explorationInitialEps: 1,
      explorationFinalEps: 0.05,
      maxGradNorm: 10,
      double: false,
      dueling: false,
      noisy: false,
      distributional: null,
      quantile: null,
      adamEps: 1e-8,
    });
    this.options = options;
  }

  /** Rebuild a DQN model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB) (with its replay buffer when `saveReplayBuffer` was set). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<DQN> {
    return loadOffPolicyAlgorithm((env, opts) => new DQN(env, opts as DQNOptions), source, options);
  }
}
