/**
 * Expected Sarsa (van Seijen et al. 2009; Sutton & Barto 2018, §6.6, eq. 6.9).
 *
 * `Q(S, A) ← Q(S, A) + α [R + γ Σ_a π(a | S') Q(S', a) − Q(S, A)]`
 *
 * The target averages over the ε-greedy policy's next action instead of sampling it, which removes
 * Sarsa's variance from the choice of A' (S&B §6.6: it can take α = 1 on deterministic tasks such
 * as CliffWalking). π here is the behaviour policy at the current ε, so this is the on-policy form;
 * with ε = 0 it is Q-learning. The loop, exploration schedule, statistics and save/load come from
 * {@link TabularAlgorithm}; the update rule is all here.
 */

import type { Env } from "../../envs/env.js";
import type { ModelSource } from "../../io/modelFiles.js";
import { epsilonGreedyProbabilities } from "./epsilonGreedy.js";
import type { TabularLoadOptions, TabularOptions, TabularTransition } from "./tabularAlgorithm.js";
import { loadTabular, TabularAlgorithm } from "./tabularAlgorithm.js";

/** Options of {@link ExpectedSarsa}: the shared {@link TabularOptions}; Expected Sarsa adds none. */
export interface ExpectedSarsaOptions extends TabularOptions {}

/**
 * One Expected Sarsa update (S&B 2018, eq. 6.9) on `q` (in place) under the ε-greedy policy of `q`
 * in S' (ties share the greedy mass, masked actions get none); returns the TD error
 * `δ = R + γ Σ_a π(a|S') Q(S', a) − Q(S, A)`.
 *
 * - `terminated`: `δ = R − Q(S, A)`.
 * - A truncated episode passes `terminated: false` with S' = the final state: bootstrap from it.
 *
 * @example
 * const q = new Float64Array([0, 0, 2, 4]);
 * expectedSarsaUpdate(q, 2, { state: 0, action: 0, reward: 1, nextState: 1, terminated: false }, 0.5, 0.9, 0.2);
 * // π(·|1) = [0.1, 0.9]: E = 0.1·2 + 0.9·4 = 3.8; δ = 1 + 0.9·3.8 = 4.42; q[0] = 2.21
 */
export function expectedSarsaUpdate(
  q: Float64Array,
  numActions: number,
  transition: TabularTransition,
  learningRate: number,
  gamma: number,
  epsilon: number,
): number {
  const { state, action, reward, nextState, terminated, nextActionMask } = transition;
  let bootstrap = 0;
  if (!terminated) {
    const probabilities = epsilonGreedyProbabilities(q, numActions, nextState, nextActionMask, epsilon);
    const offset = nextState * numActions;
    for (let a = 0; a < numActions; a++) {
      if (probabilities[a] > 0) bootstrap += probabilities[a] * q[offset + a];
    }
  }
  const index = state * numActions + action;
  const tdError = reward + gamma * bootstrap - q[index];
  q[index] += learningRate * tdError;
  return tdError;
}

/**
 * Tabular Expected Sarsa over Discrete observations and actions, with ε-greedy exploration; the
 * expectation uses the ε of the current step.
 *
 * @example
 * const model = new ExpectedSarsa("CliffWalking-v1", { learningRate: 1, gamma: 1, seed: 0 });
 * await model.learn({ totalEpisodes: 200 });
 */
export class ExpectedSarsa extends TabularAlgorithm {
  readonly algorithmName = "ExpectedSarsa";

  constructor(env: Env | string, options: ExpectedSarsaOptions = {}) {
    super(env, options, "ExpectedSarsa");
  }

  protected update(
    transition: TabularTransition,
    _nextAction: number | null,
    learningRate: number,
    epsilon: number,
  ): number {
    return expectedSarsaUpdate(this.qTable, this.numActions, transition, learningRate, this.gamma, epsilon);
  }

  /** Rebuild a saved model (`restoreEnv: true` resumes training exactly). */
  static load(source: ModelSource, options: TabularLoadOptions = {}): Promise<ExpectedSarsa> {
    return loadTabular((env, opts) => new ExpectedSarsa(env, opts as ExpectedSarsaOptions), source, options);
  }
}
