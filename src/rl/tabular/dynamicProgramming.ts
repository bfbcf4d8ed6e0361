/**
 * Dynamic programming on a known finite MDP (Sutton & Barto 2018, chapter 4): policy evaluation
 * (§4.1), policy iteration (§4.3) and value iteration (§4.4), over Gymnasium's transition table
 * `P[s][a] = [[probability, nextState, reward, terminated], ...]` (`env.unwrapped.P` of FrozenLake,
 * CliffWalking and Taxi). These are the reference solvers the tabular learners are tested against.
 *
 * A transition with `terminated` ends the episode, so it contributes its reward only: the value of
 * its next state is not added (Gymnasium's goal and hole states still have outgoing rows in `P`;
 * they are never used from a terminal transition). Sweeps update V in place, as S&B's boxes do.
 */
import type { TransitionTable } from "../../envs/toyText/transitionTableEnv.js";
import { ProximalError } from "../../errors.js";

/** Options of the dynamic-programming solvers. */
export interface DynamicProgrammingOptions {
  /** Discount factor γ. @defaultValue 0.99 */
  gamma?: number;
  /** Stop when a sweep changes no value by more than θ (S&B's "small threshold θ > 0"). @defaultValue 1e-10 */
  theta?: number;
  /** Sweeps before giving up (value iteration, and each policy evaluation). @defaultValue 100000 */
  maxIterations?: number;
}

/** What {@link valueIteration} and {@link policyIteration} return. */
export interface DynamicProgrammingResult {
  /** State values `[numStates]`. */
  V: Float64Array;
  /** Action values `Q(s, a) = Σ p [r + γ V(s')]` at `Q[s * numActions + a]`. */
  Q: Float64Array;
  /** A greedy action of every state (lowest index among exact ties) `[numStates]`. */
  policy: Int32Array;
  /** Sweeps (value iteration) or improvement steps (policy iteration) until convergence. */
  iterations: number;
}

function resolve(options: DynamicProgrammingOptions) {
  const gamma = options.gamma ?? 0.99;
  const theta = options.theta ?? 1e-10;
  const maxIterations = options.maxIterations ?? 100_000;
  if (!(gamma >= 0 && gamma <= 1)) {
    throw new ProximalError("INVALID_OPTION", `gamma must be in [0, 1], got ${gamma}.`);
  }
  if (!(theta > 0)) throw new ProximalError("INVALID_OPTION", `theta must be > 0, got ${theta}.`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new ProximalError(
      "INVALID_OPTION",
      `maxIterations must be a positive integer, got ${maxIterations}.`,
    );
  }
  return { gamma, theta, maxIterations };
}

/** `Σ_{s', r} p(s', r | s, a) [r + γ V(s')]`, without V(s') on terminating transitions. */
export function actionValue(
  P: TransitionTable,
  V: Float64Array,
  s: number,
  a: number,
  gamma: number,
): number {
  let total = 0;
  for (const [probability, next, reward, terminated] of P[s][a]) {
    total += probability * (reward + (terminated ? 0 : gamma * V[next]));
  }
  return total;
}

/** Q of every state-action pair from V (one backup), `[numStates * numActions]`. */
export function actionValues(P: TransitionTable, V: Float64Array, gamma: number): Float64Array {
  const numActions = P[0].length;
  const Q = new Float64Array(P.length * numActions);
  for (let s = 0; s < P.length; s++) {
    for (let a = 0; a < numActions; a++) Q[s * numActions + a] = actionValue(P, V, s, a, gamma);
  }
  return Q;
}

function greedyPolicy(Q: Float64Array, numStates: number, numActions: number): Int32Array {
  const policy = new Int32Array(numStates);
  for (let s = 0; s < numStates; s++) {
    let best = 0;
    for (let a = 1; a < numActions; a++) if (Q[s * numActions + a] > Q[s * numActions + best]) best = a;
    policy[s] = best;
  }
  return policy;
}

/**
 * Iterative policy evaluation (S&B §4.1): V^π of a deterministic `policy` (`policy[s]` = action).
 * @throws ProximalError `NUMERICAL_ERROR` when it does not converge within `maxIterations` sweeps,
 *   which with γ = 1 means the policy never terminates from some state.
 */
export function policyEvaluation(
  P: TransitionTable,
  policy: ArrayLike<number>,
  options: DynamicProgrammingOptions & { initialV?: Float64Array } = {},
): Float64Array {
  const { gamma, theta, maxIterations } = resolve(options);
  const V: Float64Array = options.initialV ? options.initialV.slice() : new Float64Array(P.length);
  for (let sweep = 0; sweep < maxIterations; sweep++) {
    let delta = 0;
    for (let s = 0; s < P.length; s++) {
      const v = actionValue(P, V, s, policy[s], gamma);
      delta = Math.max(delta, Math.abs(v - V[s]));
      V[s] = v;
    }
    if (delta < theta) return V;
  }
  throw new ProximalError(
    "NUMERICAL_ERROR",
    `policyEvaluation did not converge in ${maxIterations} sweeps (gamma ${gamma}). With gamma = 1 the policy must reach a terminal state from every state; use gamma < 1 or a policy that terminates.`,
  );
}

/**
 * Value iteration (S&B §4.4, eq. 4.10): `V(s) ← max_a Σ p(s', r | s, a) [r + γ V(s')]`, swept in
 * place until no value changes by more than θ; returns V, Q and a greedy policy.
 *
 * @example
 * const env = make("FrozenLake-v1", { isSlippery: false });
 * const { V } = valueIteration(env.unwrapped.P, { gamma: 0.99 });
 * V[0]; // 0.99 ** 5 = 0.95099...: six moves to the goal, reward 1 on the last
 */
export function valueIteration(
  P: TransitionTable,
  options: DynamicProgrammingOptions = {},
): DynamicProgrammingResult {
  const { gamma, theta, maxIterations } = resolve(options);
  const numActions = P[0].length;
  const V = new Float64Array(P.length);
  for (let sweep = 1; sweep <= maxIterations; sweep++) {
    let delta = 0;
    for (let s = 0; s < P.length; s++) {
      let best = Number.NEGATIVE_INFINITY;
      for (let a = 0; a < numActions; a++) best = Math.max(best, actionValue(P, V, s, a, gamma));
      delta = Math.max(delta, Math.abs(best - V[s]));
      V[s] = best;
    }
    if (delta < theta) {
      const Q = actionValues(P, V, gamma);
      return { V, Q, policy: greedyPolicy(Q, P.length, numActions), iterations: sweep };
    }
  }
  throw new ProximalError(
    "NUMERICAL_ERROR",
    `valueIteration did not converge in ${maxIterations} sweeps (gamma ${gamma}, theta ${theta}). Raise maxIterations or theta, or use gamma < 1.`,
  );
}

/**
 * Policy iteration (S&B §4.3): evaluate the policy, make it greedy, repeat until it is stable. An
 * action is only replaced by a strictly better one (beyond rounding), which fixes the box's
 * known flaw of switching forever between equally good actions (S&B Exercise 4.4).
 *
 * With γ = 1, every intermediate policy must terminate: pass an `initialPolicy` that does (the
 * default, action 0 everywhere, may not), or use γ < 1.
 */
export function policyIteration(
  P: TransitionTable,
  options: DynamicProgrammingOptions & { initialPolicy?: ArrayLike<number> } = {},
): DynamicProgrammingResult {
  const { gamma, maxIterations } = resolve(options);
  const numActions = P[0].length;
  const policy = new Int32Array(P.length);
  if (options.initialPolicy !== undefined) policy.set(options.initialPolicy);
  let V: Float64Array = new Float64Array(P.length);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    V = policyEvaluation(P, policy, { ...options, initialV: V });
    let stable = true;
    for (let s = 0; s < P.length; s++) {
      const old = policy[s];
      let best = old;
      let bestValue = actionValue(P, V, s, old, gamma);
      for (let a = 0; a < numActions; a++) {
        const value = actionValue(P, V, s, a, gamma);
        if (value > bestValue + 1e-12 * Math.max(1, Math.abs(bestValue))) {
          best = a;
          bestValue = value;
        }
      }
      if (best !== old) {
        policy[s] = best;
        stable = false;
      }
    }
    if (stable) return { V, Q: actionValues(P, V, gamma), policy, iterations: iteration };
  }
  throw new ProximalError(
    "NUMERICAL_ERROR",
    `policyIteration did not reach a stable policy in ${maxIterations} improvement steps; please report this bug with the MDP.`,
  );
}
