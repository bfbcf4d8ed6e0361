import { Tensor } from "../../tensor/tensor.js";

/**
 * Normalise `x` to zero mean and unit variance over the entries where `mask` is 1, as TRL's
 * `masked_whiten` (unbiased variance, `eps` 1e-8 inside the square root); 0 outside the mask.
 */
export function maskedWhiten(x: Tensor, mask: Tensor): Tensor {
  const v = x.values;
  const m = mask.values;
  let n = 0;
  let total = 0;
  for (let i = 0; i < v.length; i++) {
    if (m[i] === 0) continue;
    n++;
    total += v[i];
  }
  const mean = total / Math.max(n, 1);
  let squares = 0;
  for (let i = 0; i < v.length; i++) if (m[i] !== 0) squares += (v[i] - mean) ** 2;
  // a single token has no variance (NaN in torch); leave it centred but unscaled
  const variance = n > 1 ? squares / (n - 1) : 1;
  const scale = 1 / Math.sqrt(variance + 1e-8);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = m[i] === 0 ? 0 : (v[i] - mean) * scale;
  return new Tensor(out, x.shape);
}
