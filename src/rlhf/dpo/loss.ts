/**
 * The losses of the DPO family, pure and exported for the tests (fixtures/torch/rlhf.json): DPO and
 * IPO on paired preferences ({@link dpoLoss}) and KTO on unpaired ones ({@link ktoLoss}), each from
 * sequence log-probs under the policy and the frozen reference.
 */
import { ProximalError } from "../../errors.js";
import { add, mean, mul, neg, sigmoid, softplus, square, sub, where } from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import type { DPOLossType } from "./dpoConfig.js";

/** Log-probs of a batch of preference pairs, each [batch]. */
export interface PreferenceLogProbs {
  policyChosen: Tensor;
  policyRejected: Tensor;
  referenceChosen: Tensor;
  referenceRejected: Tensor;
}

/** What {@link dpoLoss} returns. */
export interface DPOLossOutput {
  /** Scalar: the batch mean. */
  loss: Tensor;
  /** [batch] implicit rewards `β (log π(y_w) - log π_ref(y_w))`, detached. */
  chosenRewards: Tensor;
  /** [batch] `β (log π(y_l) - log π_ref(y_l))`, detached. */
  rejectedRewards: Tensor;
}

/**
 * DPO and IPO losses from sequence log-probs, as TRL's `DPOTrainer.dpo_loss`, with
 * `h = (π_c - ref_c) - (π_r - ref_r)`:
 * - `"dpo"`: `mean(-(1-ε) log σ(βh) - ε log σ(-βh))` (Rafailov et al. 2023, arXiv:2305.18290 eq. 7;
 *   ε is label smoothing, cDPO), computed as `(1-ε) softplus(-βh) + ε softplus(βh)`;
 * - `"ipo"`: `mean((h - 1/(2β))²)` (Azar et al. 2023, arXiv:2310.12036 eq. 17); pass length-averaged log-probs.
 *
 * @example
 * // equal log-ratios: h = 0, loss = ln 2 (by hand: -log σ(0))
 * dpoLoss({ policyChosen: tensor([-5]), policyRejected: tensor([-7]), referenceChosen: tensor([-5]), referenceRejected: tensor([-7]) }).loss.item(); // 0.6931
 */
export function dpoLoss(
  logProbs: PreferenceLogProbs,
  options: { loss?: DPOLossType; beta?: number; labelSmoothing?: number } = {},
): DPOLossOutput {
  const lossType = options.loss ?? "dpo";
  const beta = options.beta ?? 0.1;
  const epsilon = options.labelSmoothing ?? 0;
  const chosenLogRatios = sub(logProbs.policyChosen, logProbs.referenceChosen);
  const rejectedLogRatios = sub(logProbs.policyRejected, logProbs.referenceRejected);
  const h = sub(chosenLogRatios, rejectedLogRatios);
  let losses: Tensor;
  switch (lossType) {
    case "dpo": {
      const z = mul(h, beta);
      losses = softplus(neg(z));
      if (epsilon !== 0) losses = add(mul(losses, 1 - epsilon), mul(softplus(z), epsilon));
      break;
    }
    case "ipo":
      losses = square(sub(h, 1 / (2 * beta)));
      break;
    default:
      lossType satisfies never;
      throw new ProximalError(
        "INVALID_OPTION",
        `dpoLoss: unknown loss ${JSON.stringify(lossType)}; use "dpo" or "ipo".`,
      );
  }
  return {
    loss: mean(losses),
    chosenRewards: mul(chosenLogRatios, beta).detach(),
    rejectedRewards: mul(rejectedLogRatios, beta).detach(),
  };
}

/** Inputs of {@link ktoLoss}: summed response log-probs, each [batch]. */
export interface KTOLogProbs {
  /** log π(y_i | x_i) */
  policy: Tensor;
  /** log π_ref(y_i | x_i) */
  reference: Tensor;
  /** log π(y_j | x_i) of mismatched pairs (another row's completion), for the KL estimate; no gradient flows. */
  policyKl: Tensor;
  /** log π_ref(y_j | x_i) of the same mismatched pairs. */
  referenceKl: Tensor;
}

/** What {@link ktoLoss} returns. */
export interface KTOLossOutput {
  /** Scalar: the mean weighted loss over all rows. */
  loss: Tensor;
  /** The reference point z₀ = max(0, mean(policyKl - referenceKl)). */
  kl: number;
  /** [batch] implicit rewards `β (log π - log π_ref)`, detached. */
  rewards: Tensor;
}

/**
 * The KTO loss (Ethayarajh et al. 2024, arXiv:2402.01306 eq. 8), as TRL's `KTOTrainer.kto_loss`:
 * with `r = log π(y|x) - log π_ref(y|x)` and the reference point
 * `z₀ = max(0, mean_batch(log π(y'|x) - log π_ref(y'|x)))` over mismatched pairs (detached),
 * desirable rows lose `λ_D (1 - σ(β (r - z₀)))` and undesirable ones `λ_U (1 - σ(β (z₀ - r)))`; the loss
 * is the mean over all rows.
 *
 * @param labels true for desirable rows
 * @example
 * // r = z₀ = 0: every row loses λ (1 - σ(0)) = λ/2 (by hand)
 */
export function ktoLoss(
  logProbs: KTOLogProbs,
  labels: ArrayLike<boolean>,
  options: { beta?: number; desirableWeight?: number; undesirableWeight?: number } = {},
): KTOLossOutput {
  const beta = options.beta ?? 0.1;
  const desirableWeight = options.desirableWeight ?? 1;
  const undesirableWeight = options.undesirableWeight ?? 1;
  const n = logProbs.policy.size;
  if (labels.length !== n) {
    throw new ProximalError("SHAPE_MISMATCH", `ktoLoss: ${labels.length} labels for ${n} rows.`);
  }
  const kl = Math.max(0, mean(sub(logProbs.policyKl.detach(), logProbs.referenceKl.detach())).item());
  const logRatios = sub(logProbs.policy, logProbs.reference);
  const desirable = mul(sub(1, sigmoid(mul(sub(logRatios, kl), beta))), desirableWeight);
  const undesirable = mul(sub(1, sigmoid(mul(sub(kl, logRatios), beta))), undesirableWeight);
  const isDesirable = new Tensor(
    Float32Array.from(labels, (l) => (l ? 1 : 0)),
    logProbs.policy.shape.slice(),
  );
  return {
    loss: mean(where(isDesirable, desirable, undesirable)),
    kl,
    rewards: mul(logRatios, beta).detach(),
  };
}
