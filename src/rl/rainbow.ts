/**
 * Rainbow (Hessel et al. 2018, "Rainbow: Combining Improvements in Deep Reinforcement Learning",
 * arXiv:1710.02298): DQN with all six of its extensions at once —
 * - Double Q-learning (van Hasselt et al. 2016): the online network picks the bootstrap action `a*`;
 * - prioritised replay (Schaul et al. 2016), priorities from the per-sample loss (§"Prioritized
 *   replay"), α 0.5, β annealed 0.4 → 1;
 * - dueling networks (Wang et al. 2016), combined per atom logit;
 * - multi-step returns, n = 3 (eq. 2);
 * - distributional RL, C51 (Bellemare et al. 2017): 51 atoms on [−10, 10]; the loss is
 *   `D_KL(Φ d_t^(n) ‖ d_t)` (eq. 3), minimised as the cross-entropy of the projected target
 *   `Φ d_t^(n)`, with `d_t^(n) = (R_t^(n) + γ^n z, p_θ̄(S_{t+n}, a*))` (target network, Double `a*`);
 * - noisy nets (Fortunato et al. 2018): every layer a factorised-Gaussian `NoisyLinear`, σ₀ 0.5,
 *   new noise before every acting and gradient step, no ε-greedy.
 *
 * The defaults are Hessel et al. 2018, Table 1 (Atari), in agent steps (4 frames per step):
 * learningRate 6.25e-5, Adam eps 1.5e-4, bufferSize 1_000_000, learningStarts 20_000 (80k frames),
 * targetUpdateInterval 8_000 (32k frames), batchSize 32, trainFreq 4, gamma 0.99. Departures:
 * the network is an MLP (`policy.netArch`, default [64, 64], for vector observations) rather than
 * the Atari convolutional torso; no gradient clipping (maxGradNorm Infinity: Table 1 lists none, as
 * Dopamine's Rainbow). For small environments use a preset (`presets/rainbow/`), which documents
 * its changes.
 *
 * Everything but the defaults is the shared deep Q-network core ({@link DeepQAlgorithm}, also
 * behind DQN); the objective is `categoricalProjection` and `categoricalCrossEntropy`
 * (`distributions/categoricalReturns.ts`). Compared with Dopamine's `RainbowAgent` (JAX "full
 * rainbow"): the same components; Dopamine's priorities are `sqrt(loss)` and its importance weights
 * `1/sqrt(p)`, while here they are the loss (as CleanRL's `rainbow_atari.py`) and `(N·P(i))^(−β)`
 * normalised by the maximum (Schaul et al. 2016).
 */

import type { ModelSource } from "../io/modelFiles.js";
import type { DeepQOptions } from "./common/deepQAlgorithm.js";
import { DeepQAlgorithm } from "./common/deepQAlgorithm.js";
import { loadOffPolicyAlgorithm } from "./common/offPolicyAlgorithm.js";
import type { EnvInput, LoadOptions } from "./common/onPolicyAlgorithm.js";

/**
 * Options of {@link Rainbow}: the deep Q-network options ({@link DeepQOptions}) with Rainbow's
 * defaults (Hessel et al. 2018, Table 1): double, dueling, noisy (σ₀ 0.5), prioritized (α 0.5,
 * β 0.4 → 1), nStep 3, distributional { atoms 51, vMin −10, vMax 10 }, learningRate 6.25e-5,
 * adamEps 1.5e-4, bufferSize 1_000_000, learningStarts 20_000, targetUpdateInterval 8_000,
 * batchSize 32, trainFreq 4, gradientSteps 1, gamma 0.99, tau 1, explorationInitialEps and
 * explorationFinalEps 0 (noisy nets explore), maxGradNorm Infinity. Any switch can be turned off
 * (e.g. `noisy: false` with an ε schedule), as in the paper's ablations.
 */
export interface RainbowOptions extends DeepQOptions {}

/**
 * Rainbow DQN with Hessel et al. 2018's components and defaults.
 *
 * @example
 * const model = new Rainbow("CartPole-v1", { learningStarts: 1000, targetUpdateInterval: 100,
 *   learningRate: 1e-3, distributional: { atoms: 51, vMin: 0, vMax: 100 }, seed: 0 });
 * await model.learn({ totalTimesteps: 20_000 });
 * const actions = model.predict(observations, { deterministic: true });
 */
export class Rainbow extends DeepQAlgorithm {
  readonly algorithmName = "Rainbow";
  readonly options: RainbowOptions;

  constructor(env: EnvInput, options: RainbowOptions = {}) {
    super(
      env,
      {
        ...options,
        nStep: options.nStep ?? 3,
        prioritized: options.prioritized ?? true,
        priorityAlpha: options.priorityAlpha ?? 0.5,
        priorityBeta: options.priorityBeta ?? 0.4,
        noisySigma0: options.noisySigma0 ?? 0.5,
      },
      {
        learningRate: 6.25e-5,
        bufferSize: 1_000_000,
        learningStarts: 20_000,
        batchSize: 32,
        tau: 1,
        gamma: 0.99,
        trainFreq: 4,
        gradientSteps: 1,
        targetUpdateInterval: 8_000,
        explorationFraction: 0.1,
        explorationInitialEps: 0,
        explorationFinalEps: 0,
        maxGradNorm: Number.POSITIVE_INFINITY,
        double: true,
        dueling: true,
        noisy: true,
        distributional: { atoms: 51, vMin: -10, vMax: 10 },
        adamEps: 1.5e-4,
      },
    );
    this.options = options;
  }

  /** Rebuild a Rainbow model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB) (with its replay buffer when `saveReplayBuffer` was set). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<Rainbow> {
    return loadOffPolicyAlgorithm((env, opts) => new Rainbow(env, opts as RainbowOptions), source, options);
  }
}
