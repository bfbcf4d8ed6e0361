import { crossEntropy, narrow } from "../../tensor/ops.js";
import type { Tensor } from "../../tensor/tensor.js";

/**
 * The supervised fine-tuning loss on responses only: the mean next-token cross-entropy over the
 * response tokens of the batch, `L = -Σ_t m_t log π(y_t | x, y_<t) / Σ_t m_t`, with the prompt in
 * context but masked out (Ouyang et al. 2022, arXiv:2203.02155 §3.5; TRL `completion_only_loss=True`:
 * every response token of the batch weighs the same, not every sequence).
 *
 * @param logits [batch, T, vocab] of one forward pass over `inputIds`
 * @param inputIds int32 [batch, T]
 * @param responseMask 1/0 [batch, T]: the tokens scored (never column 0, which nothing predicts)
 * @returns scalar
 */
export function sftLoss(logits: Tensor, inputIds: Tensor, responseMask: Tensor): Tensor {
  const time = inputIds.shape[1];
  // logits at t predict token t + 1: score columns 1..T-1 with the response mask
  return crossEntropy(narrow(logits, 1, 0, time - 1), narrow(inputIds, 1, 1, time - 1), {
    mask: narrow(responseMask, 1, 1, time - 1),
  });
}
