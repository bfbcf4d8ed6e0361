import type { Tensor } from "../../tensor/tensor.js";

/** Fraction of pairs whose chosen reward is strictly above the rejected one (TRL's `accuracy`). */
export function preferenceAccuracy(chosenRewards: Tensor, rejectedRewards: Tensor): number {
  let correct = 0;
  for (let i = 0; i < chosenRewards.size; i++) if (chosenRewards.data[i] > rejectedRewards.data[i]) correct++;
  return correct / Math.max(chosenRewards.size, 1);
}
