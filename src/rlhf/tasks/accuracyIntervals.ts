/**
 * 95% intervals for the reasoning demo's figures: an accuracy on `n` prompts (Wilson score interval,
 * Wilson 1927; Brown, Cai & DasGupta 2001, "Interval Estimation for a Binomial Proportion", §4.1.1)
 * and the gain of one policy over another on the same prompts (a paired difference, normal
 * approximation over the per-prompt differences `after_i - before_i` in {-1, 0, 1}).
 */
import { ProximalError } from "../../errors.js";

/** A point estimate with its interval. */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** z for a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/**
 * Wilson score interval of a proportion with `successes` out of `n`:
 * `(p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n)`. Unlike `p ± z·sqrt(p(1−p)/n)` it stays in
 * [0, 1] and is not empty at p = 0 or 1.
 *
 * @example
 * wilsonInterval(20, 100); // { estimate: 0.2, low: 0.1334, high: 0.2888 } (rounded)
 */
export function wilsonInterval(successes: number, n: number, z = Z_95): Interval {
  if (!Number.isInteger(n) || n < 1 || successes < 0 || successes > n) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `wilsonInterval: need 0 <= successes <= n and n >= 1, got ${successes} of ${n}.`,
    );
  }
  const p = successes / n;
  const z2 = z * z;
  const center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { estimate: p, low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/**
 * Interval of the mean paired difference `after − before` of per-prompt outcomes (0 or 1) on the same
 * prompts: `d̄ ± z·s_d/sqrt(n)` with `s_d` the sample standard deviation of `d_i = after_i − before_i`
 * (normal approximation; pairing removes the prompt-difficulty variance both policies share).
 *
 * @example
 * pairedDifferenceInterval([0, 0, 1, 1], [1, 1, 1, 0]); // estimate 0.25
 */
export function pairedDifferenceInterval(
  before: readonly number[],
  after: readonly number[],
  z = Z_95,
): Interval {
  const n = before.length;
  if (n < 2 || after.length !== n) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `pairedDifferenceInterval: needs two equally long outcome lists of at least 2 prompts, got ${before.length} and ${after.length}.`,
    );
  }
  const differences = before.map((b, i) => after[i] - b);
  const mean = differences.reduce((sum, d) => sum + d, 0) / n;
  const variance = differences.reduce((sum, d) => sum + (d - mean) ** 2, 0) / (n - 1);
  const half = z * Math.sqrt(variance / n);
  return { estimate: mean, low: mean - half, high: mean + half };
}
