/**
 * The one KL estimator of the RLHF trainers: the KL of the policy from the frozen reference,
 * estimated per token on tokens the policy sampled (Schulman 2020, "Approximating KL Divergence",
 * http://joschu.net/blog/kl-approx.html). PPO puts it in the per-token reward, GRPO in the loss or the
 * reward, and both report it as `rollout/klToRef`.
 */
import { ProximalError } from "../../errors.js";
import { exp, mul, neg, square, sub } from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";

/**
 * Which estimator of KL(π ‖ π_ref), with `logr = refLogp - logp` on a token sampled from π
 * (Schulman 2020):
 * - `"k1"`: `-logr = logp - refLogp`, unbiased, can be negative per token (DeepSpeed-Chat's PPO
 *   penalty; REINFORCE++ and RLOO put it in the reward).
 * - `"k2"`: `logr² / 2`, biased but low variance; its gradient is that of the reverse KL.
 * - `"k3"`: `exp(logr) - 1 - logr`, unbiased and never negative, lower variance (GRPO eq. 4,
 *   Shao et al. 2024, arXiv:2402.03300; TRL `kl_estimator="k3"`).
 */
export type KlEstimator = "k1" | "k2" | "k3";

/** The estimators, in order (for option checks and `--help`). */
export const KL_ESTIMATORS: readonly KlEstimator[] = ["k1", "k2", "k3"];

/**
 * Per-token KL estimate between the policy and the reference on the policy's own tokens,
 * `logr = refLogp - logp`: k1 `-logr`, k2 `logr²/2`, k3 `exp(logr) - 1 - logr` (Schulman 2020;
 * GRPO eq. 4 is k3). Differentiable w.r.t. `logProbs` (the reference is detached).
 *
 * @param logProbs [batch, T], refLogProbs [batch, T]
 * @example
 * // by hand: logp -1, ref -1.5 → logr -0.5: k1 0.5, k2 0.125, k3 e^-0.5 - 0.5 = 0.1065
 */
export function klEstimate(logProbs: Tensor, refLogProbs: Tensor, estimator: KlEstimator): Tensor {
  const logr = sub(refLogProbs.detach(), logProbs);
  switch (estimator) {
    case "k1":
      return neg(logr);
    case "k2":
      return mul(0.5, square(logr));
    case "k3":
      return sub(sub(exp(logr), 1), logr);
    default:
      estimator satisfies never;
      throw new ProximalError(
        "INVALID_OPTION",
        `klEstimate: unknown estimator ${JSON.stringify(estimator)}; use one of ${KL_ESTIMATORS.join(", ")}.`,
      );
  }
}

/** {@link klEstimate} of one token, as a number (`expm1` keeps k3 accurate for small `logr`). */
export function klEstimateValue(logProb: number, refLogProb: number, estimator: KlEstimator): number {
  const logr = refLogProb - logProb;
  if (estimator === "k1") return -logr;
  if (estimator === "k2") return 0.5 * logr * logr;
  return Math.expm1(logr) - logr;
}

/**
 * {@link klEstimateValue} of every token where `mask` is nonzero, 0 elsewhere, as a new
 * [batch, T] tensor without gradient (the KL of a sampled batch, for rewards and statistics).
 */
export function tokenKl(logProbs: Tensor, refLogProbs: Tensor, mask: Tensor, estimator: KlEstimator): Tensor {
  const lp = logProbs.values;
  const ref = refLogProbs.values;
  const m = mask.values;
  const out = new Float32Array(m.length);
  for (let i = 0; i < m.length; i++) if (m[i] !== 0) out[i] = klEstimateValue(lp[i], ref[i], estimator);
  return new Tensor(out, mask.shape.slice());
}
