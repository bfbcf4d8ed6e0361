import { ProximalError } from "../errors.js";
import { add, mean, mul, reciprocal, sqrt, square } from "../tensor/ops.js";
import { ones, type Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/**
 * Root-mean-square normalisation over the last axis (Zhang & Sennrich 2019, arXiv:1910.07467, eq. 4):
 * `x / √(mean(x²) + eps) · weight`, without LayerNorm's centring and bias. Built from primitive ops, so
 * autograd differentiates it with no rule of its own.
 *
 * @example
 * rmsNorm(tensor([[3, 4]]), ones([2]), 0).toArray(); // [0.8485, 1.1314] (rms 3.5355)
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const cols = x.shape[x.rank - 1];
  if (weight.rank !== 1 || weight.shape[0] !== cols) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `rmsNorm: weight [${weight.shape.join(", ")}] must be [${cols}], the last size of x [${x.shape.join(", ")}].`,
    );
  }
  const inverseRms = reciprocal(sqrt(add(mean(square(x), -1, true), eps)));
  return mul(mul(x, inverseRms), weight);
}

/**
 * RMSNorm as Hugging Face's `LlamaRMSNorm` (also Qwen2's and Qwen3's): one learned scale `weight`
 * (init 1), `eps` from the config's `rms_norm_eps`.
 *
 * @example
 * const norm = new RMSNorm(8, { eps: 1e-6 });
 * norm.forward(x); // x: [..., 8]
 */
export class RMSNorm extends Module {
  readonly size: number;
  readonly eps: number;
  /** [size] */
  readonly weight: Tensor;

  constructor(size: number, options: { eps?: number } = {}) {
    super();
    if (!Number.isInteger(size) || size < 1) {
      throw new ProximalError("INVALID_ARGUMENT", `RMSNorm: size must be a positive integer, got ${size}.`);
    }
    this.size = size;
    /** @defaultValue 1e-6 (HF LlamaRMSNorm) */
    this.eps = options.eps ?? 1e-6;
    this.weight = this.registerParameter("weight", ones([size]));
  }

  /** x [..., size] -> same shape */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
