/**
 * Q-learning: off-policy TD control (Watkins 1989; Sutton & Barto 2018, §6.5, eq. 6.8).
 *
 * `Q(S, A) ← Q(S, A) + α [R + γ max_a Q(S', a) − Q(S, A)]`
 *
 * The target bootstraps from the greedy action in S' whatever the behaviour policy does next, so
 * Q approaches q* while the agent explores ε-greedily. The loop, exploration schedule, statistics
 * and save/load come from {@link TabularAlgorithm}; the update rule is all here.
 */

import type { Env } from "../../envs/env.js";
import type { ModelSource } from "../../io/modelFiles.js";
import { maxActionValue } from "./epsilonGreedy.js";
import type { TabularLoadOptions, TabularOptions, TabularTransition } from "./tabularAlgorithm.js";
import { loadTabular, TabularAlgorithm } from "./tabularAlgorithm.js";

/** Options of {@link QLearning}: the shared {@link TabularOptions}; Q-learning adds none. */
export interface QLearningOptions extends TabularOptions {}

/**
 * One Q-learning update (S&B 2018, eq. 6.8) on `q` (`[numStates * numActions]`, in place); returns
 * the TD error `δ = R + γ max_a Q(S', a) − Q(S, A)`.
 *
 * - `terminated`: S' is terminal, Q(S', ·) = 0 by definition, so `δ = R − Q(S, A)`.
 * - A truncated episode (time limit) passes `terminated: false` with S' = the final state: S' is an
 *   ordinary state whose value the time limit does not change, so the target bootstraps from it
 *   (Pardo et al. 2018, arXiv:1712.00378).
 * - The max runs over the actions `nextActionMask` allows in S' (an action never taken keeps its
 *   initial value and would bias the max).
 *
 * @example
 * const q = new Float64Array([0, 0, 2, 4]); // 2 states × 2 actions
 * qLearningUpdate(q, 2, { state: 0, action: 0, reward: 1, nextState: 1, terminated: false }, 0.5, 0.9);
 * // δ = 1 + 0.9·4 − 0 = 4.6; q[0] = 0 + 0.5·4.6 = 2.3
 */
export function qLearningUpdate(
  q: Float64Array,
  numActions: number,
  transition: TabularTransition,
  learningRate: number,
  gamma: number,
): number {
  const { state, action, reward, nextState, terminated, nextActionMask } = transition;
  const bootstrap = terminated ? 0 : maxActionValue(q, numActions, nextState, nextActionMask);
  const index = state * numActions + action;
  const tdError = reward + gamma * bootstrap - q[index];
  q[index] += learningRate * tdError;
  return tdError;
}

/**
 * Tabular Q-learning over Discrete observations and actions, with ε-greedy exploration.
 *
 * Follows the boxed algorithm of Sutton & Barto 2018, §6.5 (choose A from S ε-greedily, step,
 * update, S ← S'), with SB3 DQN's exploration schedule and option names.
 *
 * @example
 * const model = new QLearning("CliffWalking-v1", { learningRate: 0.5, gamma: 1, seed: 0 });
 * await model.learn({ totalEpisodes: 500 });
 * model.predict(new Float32Array([36]), { deterministic: true }); // Int32Array [0]: up, away from the cliff
 */
export class QLearning extends TabularAlgorithm {
  readonly algorithmName = "QLearning";

  constructor(env: Env | string, options: QLearningOptions = {}) {
    super(env, options, "QLearning");
  }

  protected update(transition: TabularTransition, _nextAction: number | null, learningRate: number): number {
    return qLearningUpdate(this.qTable, this.numActions, transition, learningRate, this.gamma);
  }

  /** Rebuild a saved model (`restoreEnv: true` resumes training exactly). */
  static load(source: ModelSource, options: TabularLoadOptions = {}): Promise<QLearning> {
    return loadTabular((env, opts) => new QLearning(env, opts as QLearningOptions), source, options);
  }
}
