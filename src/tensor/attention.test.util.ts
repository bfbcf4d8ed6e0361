/**
 * The references the attention tests compare against: HF's additive padding mask, and attention
 * composed of separate differentiable ops (so its gradient is the chain of their rules).
 */
import { add, causalMask, expand, matmul, matmulT, mul, reshape, softmax } from "./ops.js";
import { Tensor } from "./tensor.js";

/** float32's lowest: the padding value the models add. */
export const PAD = -3.4028234663852886e38;

/** HF's additive padding mask [B, 1, 1, S] from a 0/1 mask [B, S]. */
export function paddingMask(keep: ArrayLike<number>, batch: number, keys: number): Tensor {
  return new Tensor(
    Float32Array.from(keep, (x) => (x === 0 ? PAD : 0)),
    [batch, 1, 1, keys],
  );
}

/** The composed reference: softmax(q·kᵀ/√d + causal + mask)·v with k, v repeated to every query head. */
export function composedAttention(q: Tensor, k: Tensor, v: Tensor, causal: boolean, mask?: Tensor): Tensor {
  const [batch, heads, t, d] = q.shape;
  const [, kvHeads, s] = k.shape;
  const repeat = (x: Tensor) =>
    reshape(expand(reshape(x, [batch, kvHeads, 1, s, d]), [batch, kvHeads, heads / kvHeads, s, d]), [
      batch,
      heads,
      s,
      d,
    ]);
  let scores = mul(matmulT(q, repeat(k), false, true), 1 / Math.sqrt(d));
  if (causal) scores = add(scores, causalMask(t, s));
  if (mask !== undefined) scores = add(scores, mask);
  return matmul(softmax(scores, -1), repeat(v));
}
