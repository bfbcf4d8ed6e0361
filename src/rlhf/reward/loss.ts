/** The loss of reward modelling, pure and exported for the tests (fixtures/torch/rlhf.json). */
import { add, mean, mul, neg, softplus, square, sub } from "../../tensor/ops.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { RewardConfig } from "./rewardConfig.js";

/** Options of {@link bradleyTerryLoss}. */
export interface BradleyTerryLossOptions {
  /**
   * Per-pair margin `m` subtracted inside the sigmoid, `-log σ(r_c - r_r - m)` (Touvron et al. 2023,
   * Llama 2, arXiv:2307.09288 eq. 2; TRL's `margin` column). @defaultValue no margin
   */
  margin?: Tensor | null;
  /** `c` of the centering term `+ c · mean((r_c + r_r)²)`, see {@link RewardConfig}. @defaultValue 0 */
  centerRewardsCoefficient?: number;
}

/**
 * The Bradley-Terry loss of a reward model on preference pairs (Ouyang et al. 2022,
 * arXiv:2203.02155 eq. 1), as TRL's `RewardTrainer.compute_loss`:
 * `mean(-log σ(r_chosen - r_rejected - margin)) + c · mean((r_chosen + r_rejected)²)`.
 * `-log σ(z)` is computed as `softplus(-z)`, which stays finite for large |z|.
 *
 * @param chosenRewards [batch]
 * @param rejectedRewards [batch]
 * @returns scalar
 * @example
 * bradleyTerryLoss(tensor([1]), tensor([1])).item(); // ln 2 ≈ 0.6931 (by hand: -log σ(0))
 */
export function bradleyTerryLoss(
  chosenRewards: Tensor,
  rejectedRewards: Tensor,
  options: BradleyTerryLossOptions = {},
): Tensor {
  let logits = sub(chosenRewards, rejectedRewards);
  if (options.margin) logits = sub(logits, options.margin);
  let loss = mean(softplus(neg(logits)));
  const c = options.centerRewardsCoefficient ?? 0;
  if (c !== 0) loss = add(loss, mul(mean(square(add(chosenRewards, rejectedRewards))), c));
  return loss;
}
