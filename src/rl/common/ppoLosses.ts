/**
 * The pure losses of Proximal Policy Optimization (Schulman et al. 2017, arXiv:1707.06347), shared
 * by the single-process PPO (`rl/ppo.ts`) and the distributed PPO with a bound on policy lag
 * (`rl/distributed/distributedPpo.ts`), so that neither algorithm imports the other.
 */
import * as ops from "../../tensor/ops.js";
import type { Tensor } from "../../tensor/tensor.js";

/** `-E[min(r A, clip(r, 1-ε, 1+ε) A)]`: the negated clipped surrogate (eq. 7), averaged. */
export function clippedSurrogateLoss(ratio: Tensor, advantages: Tensor, clipRange: number): Tensor {
  const unclipped = ops.mul(ratio, advantages);
  const clipped = ops.mul(ops.clamp(ratio, 1 - clipRange, 1 + clipRange), advantages);
  return ops.neg(ops.mean(ops.minimum(unclipped, clipped)));
}

/** `-E[r A] + β E[(r - 1) - log r]`: the negated KL-penalised surrogate (eq. 8), k3 KL estimate. */
export function klPenaltyLoss(ratio: Tensor, logRatio: Tensor, advantages: Tensor, beta: number): Tensor {
  const surrogate = ops.mean(ops.mul(ratio, advantages));
  const kl = ops.mean(ops.sub(ops.sub(ratio, 1), logRatio));
  return ops.sub(ops.mul(kl, beta), surrogate);
}

/**
 * Mean squared error between returns and predicted values; with `clipRangeVf`, the prediction is
 * first kept within `±clipRangeVf` of the old value (SB3's form; OpenAI baselines' value clipping).
 */
export function valueLoss(
  values: Tensor,
  oldValues: Tensor,
  returns: Tensor,
  clipRangeVf: number | null,
): Tensor {
  const predicted =
    clipRangeVf === null
      ? values
      : ops.add(oldValues, ops.clamp(ops.sub(values, oldValues), -clipRangeVf, clipRangeVf));
  return ops.mean(ops.square(ops.sub(returns, predicted)));
}

/** β adaptation of PPO-Penalty (Schulman et al. 2017, arXiv:1707.06347, §4): halve below d/1.5, double above 1.5·d. */
export function adaptKlCoef(beta: number, kl: number, target: number): number {
  if (kl < target / 1.5) return beta / 2;
  if (kl > target * 1.5) return beta * 2;
  return beta;
}

/** `(A - mean) / (std + 1e-8)` with the unbiased std, as SB3 (constant: no gradient flows). */
export function normalizeAdvantages(x: Tensor): Tensor {
  const v = x.values;
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i];
  mean /= v.length;
  let variance = 0;
  for (let i = 0; i < v.length; i++) variance += (v[i] - mean) ** 2;
  const std = Math.sqrt(variance / (v.length - 1));
  return ops.div(ops.sub(x, mean), std + 1e-8);
}

/** k3 = E[(r-1) - log r], k1 = E[-log r] and the fraction of |r - 1| > ε. */
export function ratioDiagnostics(
  ratio: Float32Array,
  logRatio: Float32Array,
  clipRange: number,
): { kl: number; klK1: number; clipFraction: number } {
  let kl = 0;
  let klK1 = 0;
  let clipped = 0;
  for (let i = 0; i < ratio.length; i++) {
    kl += ratio[i] - 1 - logRatio[i];
    klK1 -= logRatio[i];
    if (Math.abs(ratio[i] - 1) > clipRange) clipped++;
  }
  const n = Math.max(ratio.length, 1);
  return { kl: kl / n, klK1: klK1 / n, clipFraction: clipped / n };
}
