import { ProximalError } from "../errors.js";
import { type BaseOptimizerOptions, Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";

/** Options of {@link RMSprop} (torch.optim.RMSprop's, camelCased, plus `tfLike`). */
export interface RMSpropOptions extends BaseOptimizerOptions {
  /** @defaultValue 1e-2 (torch; SB3's A2C uses 7e-4) */
  lr: number;
  /** Smoothing constant α of the squared-gradient average. @defaultValue 0.99 */
  alpha: number;
  /** Added to the denominator. @defaultValue 1e-8 (torch; SB3's A2C uses 1e-5) */
  eps: number;
  /** L2 penalty λ added to the gradient. @defaultValue 0 */
  weightDecay: number;
  /** Momentum factor μ applied to the normalised gradient. @defaultValue 0 */
  momentum: number;
  /** Normalise by the estimated variance (Graves 2013, arXiv:1308.0850, eq. 38-40). @defaultValue false */
  centered: boolean;
  /**
   * TensorFlow's variant, as SB3's `RMSpropTFLike` (used by A2C to reproduce stable-baselines):
   * eps goes inside the square root, `√(s + eps)`, and the squared average starts at 1 instead of 0.
   * @defaultValue false
   */
  tfLike: boolean;
}

/**
 * RMSprop (Hinton, Coursera lecture 6e) with torch.optim.RMSprop's arithmetic:
 * ```
 * g = grad + λ p
 * s = α s + (1 - α) g²
 * a = g_avg = α a + (1 - α) g          (centered only)
 * d = √(s - a²) + eps  (centered)  or  √s + eps
 * b = μ b + g / d;  p = p - lr b       (momentum > 0)
 * p = p - lr g / d                     (otherwise)
 * ```
 * With `tfLike`, `d = √(s - a² + eps)` or `√(s + eps)` and `s` starts at 1 (SB3 `RMSpropTFLike`).
 * @see https://pytorch.org/docs/1.13/generated/torch.optim.RMSprop.html
 * @see https://github.com/DLR-RM/stable-baselines3/blob/master/stable_baselines3/common/sb2_compat/rmsprop_tf_like.py
 *
 * @example
 * // SB3 A2C's optimizer: RMSpropTFLike with alpha 0.99, eps 1e-5
 * const optimizer = new RMSprop(policy.parameters(), { lr: 7e-4, alpha: 0.99, eps: 1e-5, tfLike: true });
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  override get optimizerName(): string {
    return "RMSprop";
  }

  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(params, {
      lr: options.lr ?? 1e-2,
      alpha: options.alpha ?? 0.99,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      momentum: options.momentum ?? 0,
      centered: options.centered ?? false,
      tfLike: options.tfLike ?? false,
    });
  }

  protected validateOptions(o: RMSpropOptions): void {
    for (const key of ["lr", "alpha", "eps", "weightDecay", "momentum"] as const) {
      if (!(o[key] >= 0))
        throw new ProximalError("INVALID_OPTION", `RMSprop: ${key} must be >= 0, got ${o[key]}.`);
    }
  }

  protected initialBuffers(o: RMSpropOptions): Record<string, number> {
    const buffers: Record<string, number> = { squareAvg: o.tfLike ? 1 : 0 };
    if (o.momentum > 0) buffers.momentumBuffer = 0;
    if (o.centered) buffers.gradAvg = 0;
    return buffers;
  }

  protected updateParameter(p: Float32Array, grad: Float32Array, state: ParamState, o: RMSpropOptions): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, tfLike } = o;
    const { squareAvg, gradAvg, momentumBuffer } = state.buffers;
    const f = Math.fround;
    for (let i = 0; i < p.length; i++) {
      let g = grad[i];
      if (weightDecay !== 0) g = f(g + weightDecay * p[i]);
      squareAvg[i] = alpha * squareAvg[i] + (1 - alpha) * g * g;
      let s = squareAvg[i];
      if (centered) {
        gradAvg[i] = alpha * gradAvg[i] + (1 - alpha) * g;
        s = f(s - gradAvg[i] * gradAvg[i]);
      }
      const denominator = tfLike ? Math.sqrt(f(s + eps)) : f(Math.sqrt(s)) + eps;
      if (momentum > 0) {
        momentumBuffer[i] = momentum * momentumBuffer[i] + g / f(denominator);
        p[i] -= lr * momentumBuffer[i];
      } else {
        p[i] -= (lr * g) / f(denominator);
      }
    }
  }
}
