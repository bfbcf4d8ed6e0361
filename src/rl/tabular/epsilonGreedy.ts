/**
 * Greedy and ε-greedy action choice over one row of a tabular action-value function (Sutton & Barto
 * 2018, §2.2 and §5.4). A row is `q[state * numActions .. (state + 1) * numActions)`.
 *
 * Ties: S&B choose among equal maxima "arbitrarily, perhaps randomly" (§2.2); with a zero-initialised
 * table every row starts as one big tie, and a lowest-index rule would make early training walk in
 * one direction only. So while learning, ties are broken uniformly by the seeded {@link Rng}; with
 * `rng` null (deterministic `predict`) the lowest allowed index wins, so evaluation draws nothing.
 *
 * Masks (`[numActions]`, 1 = allowed, as `info.actionMask`) restrict both the greedy and the random
 * choice; a mask allowing nothing is an error (Gymnasium's `Discrete.sample` would silently return
 * `start`).
 */
import { ProximalError } from "../../errors.js";
import type { Rng } from "../../random/rng.js";

/** A per-state action mask (1 = allowed), or null when every action is allowed. */
export type ActionMask = ArrayLike<number> | null | undefined;

function allowed(mask: ActionMask, a: number): boolean {
  return mask === null || mask === undefined || mask[a] !== 0;
}

function countAllowed(mask: ActionMask, numActions: number, state: number): number {
  if (mask === null || mask === undefined) return numActions;
  if (mask.length !== numActions) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `The action mask of state ${state} has ${mask.length} entries, but there are ${numActions} actions: pass one entry per action (1 = allowed).`,
    );
  }
  let count = 0;
  for (let a = 0; a < numActions; a++) if (mask[a] !== 0) count++;
  if (count === 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `The action mask of state ${state} allows no action. A mask must allow at least one action.`,
    );
  }
  return count;
}

/** The largest `q[state, a]` over allowed actions `a`. */
export function maxActionValue(
  q: Float64Array,
  numActions: number,
  state: number,
  mask?: ActionMask,
): number {
  countAllowed(mask, numActions, state);
  const offset = state * numActions;
  let best = Number.NEGATIVE_INFINITY;
  for (let a = 0; a < numActions; a++) {
    if (allowed(mask, a) && q[offset + a] > best) best = q[offset + a];
  }
  return best;
}

/**
 * `argmax_a q[state, a]` over allowed actions; ties broken uniformly with `rng` (one draw, only when
 * there are at least two maxima) or, with `rng` null, by the lowest index.
 */
export function greedyAction(
  q: Float64Array,
  numActions: number,
  state: number,
  mask: ActionMask,
  rng: Rng | null,
): number {
  const best = maxActionValue(q, numActions, state, mask);
  const offset = state * numActions;
  let ties = 0;
  for (let a = 0; a < numActions; a++) if (allowed(mask, a) && q[offset + a] === best) ties++;
  let k = rng === null || ties === 1 ? 0 : rng.integer(ties);
  for (let a = 0; a < numActions; a++) {
    if (allowed(mask, a) && q[offset + a] === best && k-- === 0) return a;
  }
  throw new ProximalError("INTERNAL", "greedyAction found no maximal action; please report this bug.");
}

/**
 * An ε-greedy action: with probability ε a uniform allowed action, otherwise {@link greedyAction}
 * with random tie-breaking. Draw order (fixed, so runs reproduce): one uniform for the coin, then
 * one integer for the random action or for the tie-break.
 */
export function epsilonGreedyAction(
  q: Float64Array,
  numActions: number,
  state: number,
  mask: ActionMask,
  epsilon: number,
  rng: Rng,
): number {
  const count = countAllowed(mask, numActions, state);
  if (rng.uniform() < epsilon) {
    let k = rng.integer(count);
    for (let a = 0; a < numActions; a++) if (allowed(mask, a) && k-- === 0) return a;
  }
  return greedyAction(q, numActions, state, mask, rng);
}

/**
 * The probabilities `π(a | state)` of {@link epsilonGreedyAction}, written into `out`: `ε / m` for
 * each of the `m` allowed actions, plus `(1 − ε) / k` for each of the `k` maximal ones (ties share
 * the greedy mass, as random tie-breaking does). Masked actions get 0.
 */
export function epsilonGreedyProbabilities(
  q: Float64Array,
  numActions: number,
  state: number,
  mask: ActionMask,
  epsilon: number,
  out: Float64Array = new Float64Array(numActions),
): Float64Array {
  const count = countAllowed(mask, numActions, state);
  const best = maxActionValue(q, numActions, state, mask);
  const offset = state * numActions;
  let ties = 0;
  for (let a = 0; a < numActions; a++) if (allowed(mask, a) && q[offset + a] === best) ties++;
  for (let a = 0; a < numActions; a++) {
    if (!allowed(mask, a)) out[a] = 0;
    else out[a] = epsilon / count + (q[offset + a] === best ? (1 - epsilon) / ties : 0);
  }
  return out;
}
