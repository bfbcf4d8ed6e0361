import type { Rng } from "../../random/rng.js";

/**
 * One index drawn from `probabilities`, as Gymnasium's `categorical_sample`
 * (`gymnasium/envs/toy_text/utils.py`): the first index whose running sum exceeds one uniform draw
 * in [0, 1), and index 0 when none does (NumPy's `argmax` of an all-false array), which only rounding
 * can cause. The rule is Gymnasium's; the uniform draw comes from proximal's {@link Rng}, so the
 * sampled stream differs from NumPy's.
 *
 * @example
 * categoricalSample([0.25, 0.5, 0.25], new Rng(0)); // 0, 1 or 2
 */
export function categoricalSample(probabilities: ArrayLike<number>, rng: Rng): number {
  const u = rng.uniform();
  let cumulative = 0;
  for (let i = 0; i < probabilities.length; i++) {
    cumulative += probabilities[i];
    if (cumulative > u) return i;
  }
  return 0;
}
