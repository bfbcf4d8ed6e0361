import { ProximalError } from "../errors.js";
import { type BaseOptimizerOptions, Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";

/** Options of {@link SGD} (torch.optim.SGD's, camelCased). */
export interface SGDOptions extends BaseOptimizerOptions {
  /** @defaultValue 1e-3 (torch >= 2.0) */
  lr: number;
  /** Momentum factor μ. @defaultValue 0 */
  momentum: number;
  /** Dampening τ of the momentum's gradient term (not applied on the first step). @defaultValue 0 */
  dampening: number;
  /** L2 penalty λ added to the gradient: `g += λ p`. @defaultValue 0 */
  weightDecay: number;
  /** Nesterov momentum (Sutskever et al. 2013); needs momentum > 0 and dampening 0. @defaultValue false */
  nesterov: boolean;
}

/**
 * Stochastic gradient descent with momentum, following torch.optim.SGD exactly:
 * ```
 * g = grad + λ p
 * b = g on the first step, else μ b + (1 - τ) g
 * g = nesterov ? g + μ b : b
 * p = p - lr g
 * ```
 * @see https://pytorch.org/docs/1.13/generated/torch.optim.SGD.html
 *
 * @example
 * const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * loss.backward(); optimizer.step(); optimizer.zeroGrad();
 */
export class SGD extends Optimizer<SGDOptions> {
  override get optimizerName(): string {
    return "SGD";
  }

  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(params, {
      lr: options.lr ?? 1e-3,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
    });
  }

  protected validateOptions(o: SGDOptions): void {
    for (const key of ["lr", "momentum", "weightDecay"] as const) {
      if (!(o[key] >= 0))
        throw new ProximalError("INVALID_OPTION", `SGD: ${key} must be >= 0, got ${o[key]}.`);
    }
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `SGD: nesterov needs momentum > 0 and dampening 0, got momentum ${o.momentum} and dampening ${o.dampening}.`,
      );
    }
  }

  protected initialBuffers(o: SGDOptions): Record<string, number> {
    return o.momentum !== 0 ? { momentumBuffer: 0 } : {};
  }

  protected updateParameter(p: Float32Array, grad: Float32Array, state: ParamState, o: SGDOptions): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = o;
    const buffer = state.buffers.momentumBuffer;
    const first = state.step === 1;
    for (let i = 0; i < p.length; i++) {
      let g = grad[i];
      if (weightDecay !== 0) g = Math.fround(g + weightDecay * p[i]);
      if (momentum !== 0) {
        buffer[i] = first ? g : momentum * buffer[i] + (1 - dampening) * g;
        g = nesterov ? Math.fround(g + momentum * buffer[i]) : buffer[i];
      }
      p[i] -= lr * g;
    }
  }
}
