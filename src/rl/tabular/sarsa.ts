/**
 * Sarsa: on-policy TD control (Rummery & Niranjan 1994; Sutton & Barto 2018, §6.4, eq. 6.7).
 *
 * `Q(S, A) ← Q(S, A) + α [R + γ Q(S', A') − Q(S, A)]`
 *
 * A' is the action the ε-greedy behaviour policy picks in S' and then takes, so Q approaches the
 * value of the ε-greedy policy itself: on CliffWalking that makes Sarsa prefer a path away from the
 * edge (S&B Example 6.6). The loop, exploration schedule, statistics and save/load come from
 * {@link TabularAlgorithm}; the update rule is all here.
 */

import type { Env } from "../../envs/env.js";
import { ProximalError } from "../../errors.js";
import type { ModelSource } from "../../io/modelFiles.js";
import type { TabularLoadOptions, TabularOptions, TabularTransition } from "./tabularAlgorithm.js";
import { loadTabular, TabularAlgorithm } from "./tabularAlgorithm.js";

/** Options of {@link Sarsa}: the shared {@link TabularOptions}; Sarsa adds none. */
export interface SarsaOptions extends TabularOptions {}

/**
 * One Sarsa update (S&B 2018, eq. 6.7) on `q` (in place); returns the TD error
 * `δ = R + γ Q(S', A') − Q(S, A)`.
 *
 * - `terminated`: Q(S', ·) = 0, `δ = R − Q(S, A)`, and `nextAction` is ignored (pass null).
 * - A truncated episode passes `terminated: false`, S' = the final state and an A' drawn from the
 *   behaviour policy in S' (drawn for the target only; the env is reset, so it is never taken).
 *
 * @example
 * const q = new Float64Array([0, 0, 2, 4]);
 * sarsaUpdate(q, 2, { state: 0, action: 0, reward: 1, nextState: 1, terminated: false }, 0, 0.5, 0.9);
 * // A' = 0: δ = 1 + 0.9·2 − 0 = 2.8; q[0] = 1.4
 */
export function sarsaUpdate(
  q: Float64Array,
  numActions: number,
  transition: TabularTransition,
  nextAction: number | null,
  learningRate: number,
  gamma: number,
): number {
  const { state, action, reward, nextState, terminated } = transition;
  let bootstrap = 0;
  if (!terminated) {
    if (nextAction === null) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "sarsaUpdate: a non-terminal S' needs the next action A' (pass the action the policy picks in S').",
      );
    }
    bootstrap = q[nextState * numActions + nextAction];
  }
  const index = state * numActions + action;
  const tdError = reward + gamma * bootstrap - q[index];
  q[index] += learningRate * tdError;
  return tdError;
}

/**
 * Tabular Sarsa over Discrete observations and actions, with ε-greedy exploration.
 *
 * Follows the boxed algorithm of Sutton & Barto 2018, §6.4: A' is chosen from S' before the
 * update, and is the action taken next.
 *
 * @example
 * const model = new Sarsa("CliffWalking-v1", { learningRate: 0.5, gamma: 1, explorationInitialEps: 0.1, explorationFinalEps: 0.1, seed: 0 });
 * await model.learn({ totalEpisodes: 500 });
 */
export class Sarsa extends TabularAlgorithm {
  readonly algorithmName = "Sarsa";
  protected override readonly choosesNextActionFirst: boolean = true;

  constructor(env: Env | string, options: SarsaOptions = {}) {
    super(env, options, "Sarsa");
  }

  protected update(transition: TabularTransition, nextAction: number | null, learningRate: number): number {
    return sarsaUpdate(this.qTable, this.numActions, transition, nextAction, learningRate, this.gamma);
  }

  /** Rebuild a saved model (`restoreEnv: true` resumes training exactly). */
  static load(source: ModelSource, options: TabularLoadOptions = {}): Promise<Sarsa> {
    return loadTabular((env, opts) => new Sarsa(env, opts as SarsaOptions), source, options);
  }
}
