import { ProximalError } from "../errors.js";
import { getBackend, type Tensor } from "../tensor/tensor.js";

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /**
   * Throw `NUMERICAL_ERROR` when the total norm is NaN or infinite, leaving the gradients untouched.
   * Off by default, as in torch: then NaN/Inf spread into every gradient (the scale is NaN or 0), which
   * the next step writes into the parameters, so turn it on to catch divergence early.
   * @defaultValue false
   */
  errorIfNonfinite?: boolean;
}

/**
 * Rescale the gradients of `params` in place so that their joint norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_ (the "max_grad_norm" of PPO, Schulman et al. 2017 / SB3): the total
 * norm is the `normType`-norm of the per-parameter gradient norms (`Infinity` for the max-norm), and
 * every gradient is multiplied by `maxNorm / (total + 1e-6)` when that is below 1. Parameters without
 * a gradient are ignored. Returns the total norm before clipping.
 *
 * @example
 * loss.backward();
 * const gradNorm = clipGradNorm(model.parameters(), 0.5);   // SB3 PPO's maxGradNorm
 * optimizer.step();
 */
export function clipGradNorm(
  params: Tensor[],
  maxNorm: number,
  normType = 2,
  options: ClipGradNormOptions = {},
): number {
  if (!(maxNorm >= 0)) {
    throw new ProximalError("INVALID_ARGUMENT", `clipGradNorm: maxNorm must be >= 0, got ${maxNorm}.`);
  }
  if (!(normType > 0)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `clipGradNorm: normType must be > 0 (or Infinity), got ${normType}. Use 2 for the Euclidean norm.`,
    );
  }
  const grads = params.flatMap((p) => (p.grad === null ? [] : [p.grad.values]));
  if (grads.length === 0) return 0;
  let total = 0;
  if (normType === Number.POSITIVE_INFINITY) {
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) {
        const a = Math.abs(g[i]);
        if (a > total || Number.isNaN(a)) total = a;
      }
    }
  } else {
    // Σ_p ‖g_p‖^q equals Σ_i |g_i|^q, so the norm of the per-parameter norms is one pass over all grads
    if (normType === 2) {
      // the common case, in one backend call without a pow per element (Math.pow dominated small
      // PPO updates); the kernel adds the squares in this same order, in float64
      total = getBackend().sumOfSquares(grads);
    } else {
      for (const g of grads) for (let i = 0; i < g.length; i++) total += Math.abs(g[i]) ** normType;
    }
    total = total ** (1 / normType);
  }
  if (!Number.isFinite(total) && options.errorIfNonfinite) {
    throw new ProximalError(
      "NUMERICAL_ERROR",
      `clipGradNorm: the total gradient norm is ${total}; the loss or the gradients have diverged. Lower the learning rate, check the loss for log(0) or division by 0, or pass errorIfNonfinite: false to clip anyway.`,
    );
  }
  const scale = Math.min(maxNorm / (total + 1e-6), 1);
  if (scale < 1 || Number.isNaN(scale)) {
    getBackend().scaleInPlace(grads, scale);
  }
  return total;
}
