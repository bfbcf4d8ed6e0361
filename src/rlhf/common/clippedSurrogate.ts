/**
 * The clipped surrogate of PPO (Schulman et al. 2017, arXiv:1707.06347, eq. 7), written once for the
 * two trainers that optimise it over response tokens: PPO's actor loss and GRPO's policy loss (which
 * adds per-token bounds and dual-clip). Each trainer builds its ratio and sums the per-token losses
 * its own way; the clipping itself and the token mean are here.
 */
import { clamp, div, exp, lt, maximum, minimum, mul, neg, sub, sum, where } from "../../tensor/ops.js";
import type { Tensor } from "../../tensor/tensor.js";
import { klEstimateValue } from "./kl.js";

/**
 * The per-token importance ratio `r_t = exp((logp_t - oldLogp_t) · mask_t)` [batch, T], differentiable
 * w.r.t. `logProbs` (the old log-probs are detached); 1 outside the mask.
 */
export function tokenRatio(logProbs: Tensor, oldLogProbs: Tensor, mask: Tensor): Tensor {
  return exp(maskedLogRatio(logProbs, oldLogProbs, mask));
}

/** `(logp - sg[oldLogp]) · mask` [batch, T]: the log of {@link tokenRatio}. */
export function maskedLogRatio(logProbs: Tensor, oldLogProbs: Tensor, mask: Tensor): Tensor {
  return mul(sub(logProbs, oldLogProbs.detach()), mask);
}

/**
 * The clipped surrogate as a loss per token (PPO, arXiv:1707.06347, eq. 7, with per-token bounds):
 * `L = max(-A·r, -A·clip(r, low, high))`; with dual-clip c (Ye et al. 2020, arXiv:1912.09729),
 * where `A < 0` also `L = min(L, -c·A)`, so a token whose ratio ran far above 1 with a negative
 * advantage cannot contribute an unbounded loss. Differentiable w.r.t. `ratio`.
 *
 * @param ratio [batch, T], e.g. {@link tokenRatio}
 * @param advantages [batch, T] (no gradient)
 * @param low lower bounds, a number (PPO's `1 - ε`) or [batch, T]
 * @param high upper bounds, a number (PPO's `1 + ε`) or [batch, T]
 * @param dualClip c > 1, or null for none
 * @example
 * // by hand (STYLE.md): ratio 1.5, ε 0.2, A +1 → max(-1.5, -1.2) = -1.2; A -1 → max(1.5, 1.2) = 1.5,
 * // and with dual-clip c = 3 still min(1.5, 3) = 1.5; at ratio 4, A -1: min(4, 3) = 3
 */
export function clippedTokenLoss(
  ratio: Tensor,
  advantages: Tensor,
  low: Tensor | number,
  high: Tensor | number,
  dualClip: number | null = null,
): Tensor {
  const a = advantages.detach();
  const clipped =
    typeof low === "number" && typeof high === "number"
      ? clamp(ratio, low, high)
      : minimum(maximum(ratio, low), high);
  const loss = maximum(mul(neg(a), ratio), mul(neg(a), clipped));
  if (dualClip === null) return loss;
  return where(lt(a, 0), minimum(loss, mul(-dualClip, a)), loss);
}

/**
 * The mean of per-token values over the tokens of `mask`, `Σ x·mask / Σ mask` (every token of the
 * batch weighs the same: DeepSpeed-Chat's actor and critic losses, verl's `token-mean`). An empty
 * mask gives 0, not NaN.
 */
export function maskedTokenMean(x: Tensor, mask: Tensor): Tensor {
  let tokens = 0;
  for (const m of mask.values) tokens += m;
  return div(sum(mul(x, mask)), Math.max(tokens, 1));
}

/**
 * Schulman's k3 estimate of KL(old ‖ new) over the tokens of `mask`, `mean((r - 1) - log r)` with
 * `log r = logp - oldLogp` (http://joschu.net/blog/kl-approx.html; CleanRL's `approx_kl`): how far an
 * update moved the policy. A number (no gradient); 0 for an empty mask.
 */
export function approxKl(logProbs: Tensor, oldLogProbs: Tensor, mask: Tensor): number {
  const lp = logProbs.values;
  const old = oldLogProbs.values;
  const m = mask.values;
  let total = 0;
  let n = 0;
  for (let i = 0; i < m.length; i++) {
    if (m[i] === 0) continue;
    total += klEstimateValue(old[i], lp[i], "k3"); // logr = logp - oldLogp
    n++;
  }
  return total / Math.max(n, 1);
}
