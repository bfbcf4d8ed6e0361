import { ProximalError } from "../errors.js";
import type { AdamStepArgs } from "../tensor/backend.js";
import { getBackend, type Tensor } from "../tensor/tensor.js";
import { type BaseOptimizerOptions, Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";

/** Options of {@link Adam} and {@link AdamW} (torch.optim.Adam's, camelCased; no amsgrad). */
export interface AdamOptions extends BaseOptimizerOptions {
  /** @defaultValue 1e-3 */
  lr: number;
  /** Decay rates (β1, β2) of the first and second moment estimates. @defaultValue [0.9, 0.999] */
  betas: [number, number];
  /** Added to `√v̂` (outside the square root, as torch and the paper). @defaultValue 1e-8 */
  eps: number;
  /**
   * Weight decay λ. Adam adds the L2 term `λ p` to the gradient; AdamW decays the weights directly,
   * `p *= 1 - lr λ`. @defaultValue 0 for Adam, 0.01 for AdamW (as torch)
   */
  weightDecay: number;
}

/**
 * Adam (Kingma & Ba 2015, arXiv:1412.6980, Algorithm 1) with torch.optim.Adam's arithmetic:
 * ```
 * g = grad + λ p                       (Adam's L2 decay; AdamW instead: p *= 1 - lr λ)
 * m = β1 m + (1 - β1) g
 * v = β2 v + (1 - β2) g²
 * p = p - (lr / (1 - β1^t)) · m / (√v / √(1 - β2^t) + eps)
 * ```
 * The step runs as one fused backend kernel (`Backend.adamStep`).
 * @see https://pytorch.org/docs/1.13/generated/torch.optim.Adam.html
 *
 * @example
 * const optimizer = new Adam(model.parameters(), { lr: 3e-4, eps: 1e-5 }); // CleanRL PPO
 */
export class Adam extends Optimizer<AdamOptions> {
  override get optimizerName(): string {
    return "Adam";
  }

  /** AdamW's decoupled decay (false for Adam's L2 term). */
  protected decoupled = false;

  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
    });
  }

  protected validateOptions(o: AdamOptions): void {
    const name = this.optimizerName;
    for (const key of ["lr", "eps", "weightDecay"] as const) {
      if (!(o[key] >= 0))
        throw new ProximalError("INVALID_OPTION", `${name}: ${key} must be >= 0, got ${o[key]}.`);
    }
    const [beta1, beta2] = o.betas;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${name}: betas must be in [0, 1), got [${beta1}, ${beta2}]. The usual values are [0.9, 0.999].`,
      );
    }
  }

  protected initialBuffers(): Record<string, number> {
    return { expAvg: 0, expAvgSq: 0 };
  }

  protected updateParameter(p: Float32Array, grad: Float32Array, state: ParamState, o: AdamOptions): void {
    getBackend().adamStep(
      p,
      grad,
      state.buffers.expAvg,
      state.buffers.expAvgSq,
      this.stepArgs(o, state.step),
    );
  }

  /**
   * Every parameter of a group in one backend call (`Backend.adamSteps`) instead of one per tensor:
   * the kernel crossing was a fixed cost per tensor that dominated small networks' steps. Parameters
   * whose step counts differ (one skipped an update for want of a gradient) have different bias
   * corrections, so each count gets its own call; in practice there is one. Bit-identical to the
   * per-tensor loop: the update is elementwise.
   */
  override step(): void {
    for (const group of this.paramGroups) {
      const o = group.options;
      // the parameters with a gradient, by step count (one count in practice)
      const byStep = new Map<number, Tensor[]>();
      for (const p of group.params) {
        if (p.grad === null) continue;
        const s = this.stateOf(p, o);
        s.step++;
        const same = byStep.get(s.step);
        if (same === undefined) byStep.set(s.step, [p]);
        else same.push(p);
      }
      for (const [step, params] of byStep) {
        const states = params.map((p) => this.state.get(p) as ParamState);
        getBackend().adamSteps(
          params.map((p) => p.values),
          params.map((p) => (p.grad as Tensor).values),
          states.map((s) => s.buffers.expAvg),
          states.map((s) => s.buffers.expAvgSq),
          this.stepArgs(o, step),
        );
      }
    }
  }

  private stepArgs(o: AdamOptions, step: number): AdamStepArgs {
    const [beta1, beta2] = o.betas;
    return {
      lr: o.lr,
      beta1,
      beta2,
      eps: o.eps,
      weightDecay: o.weightDecay,
      decoupled: this.decoupled,
      biasCorrection1: 1 - beta1 ** step,
      biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** step),
    };
  }
}

/**
 * AdamW (Loshchilov & Hutter 2019, arXiv:1711.05101, Algorithm 2): Adam with weight decay decoupled
 * from the gradient, `p *= 1 - lr λ` before the Adam update, as torch.optim.AdamW.
 * @see https://pytorch.org/docs/1.13/generated/torch.optim.AdamW.html
 *
 * @example
 * const optimizer = new AdamW(gpt.parameters(), { lr: 1e-5 }); // weightDecay 0.01
 */
export class AdamW extends Adam {
  override get optimizerName(): string {
    return "AdamW";
  }

  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 0.01 });
    this.decoupled = true;
  }
}
