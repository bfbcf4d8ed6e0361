import { ProximalError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import { add, linear, mul } from "../tensor/ops.js";
import { Tensor, zeros } from "../tensor/tensor.js";
import { uniform_ } from "./init.js";
import { Module } from "./module.js";

/** Options of {@link NoisyLinear}. */
export interface NoisyLinearOptions {
  /** Generator for the initial μ (required: every random draw is seeded). */
  rng: Rng;
  /**
   * σ₀ of the factorised-noise initialisation `σ = σ₀/√p` (p = inFeatures).
   * @defaultValue 0.5 (Fortunato et al. 2018, arXiv:1706.10295, §3.2; Hessel et al. 2018, Table 1)
   */
  sigma0?: number;
}

/**
 * The noise-shaping function of factorised Gaussian noise, `f(x) = sgn(x)·√|x|`
 * (Fortunato et al. 2018, arXiv:1706.10295, §3(b)).
 */
export function scaleNoise(x: number): number {
  return Math.sign(x) * Math.sqrt(Math.abs(x));
}

/**
 * A linear layer with learnt parametric noise (NoisyNet, Fortunato et al. 2018, arXiv:1706.10295,
 * eq. 9 with factorised Gaussian noise, §3(b)):
 * `y = (μ_w + σ_w ⊙ ε_w) x + μ_b + σ_b ⊙ ε_b`, `ε_w = f(ε_out) f(ε_in)ᵀ`, `ε_b = f(ε_out)`,
 * `ε_in ~ N(0, I_p)`, `ε_out ~ N(0, I_q)`, `f(x) = sgn(x)√|x|`.
 * Initialisation (§3.2, factorised case): `μ ~ U(−1/√p, 1/√p)`, `σ = σ₀/√p`, p = inFeatures.
 *
 * The noise is a fixed sample until {@link NoisyLinear.resetNoise} draws a new one (the caller
 * decides when: Rainbow resamples before every action and every gradient step). The factors
 * `f(ε_in)`, `f(ε_out)` are buffers, so the state dict holds the current sample and a restored
 * layer computes exactly what the saved one did. With {@link NoisyLinear.noise} false the layer is
 * deterministic and uses μ only (evaluation).
 *
 * Parameter names: `weightMu`, `weightSigma` `[out, in]`, `biasMu`, `biasSigma` `[out]`; buffers
 * `epsilonIn` `[in]`, `epsilonOut` `[out]`. Matches PyTorch implementations of the paper's layer
 * (e.g. Dopamine's and CleanRL's `rainbow_atari.py`, which store ε_w itself).
 *
 * @example
 * const layer = new NoisyLinear(4, 2, { rng: new Rng(0) });
 * layer.resetNoise(new Rng(1));
 * layer.forward(zeros([3, 4])).shape; // [3, 2]
 */
export class NoisyLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly sigma0: number;
  /** [outFeatures, inFeatures] */
  readonly weightMu: Tensor;
  /** [outFeatures, inFeatures] */
  readonly weightSigma: Tensor;
  /** [outFeatures] */
  readonly biasMu: Tensor;
  /** [outFeatures] */
  readonly biasSigma: Tensor;
  /** f(ε_in), [inFeatures] */
  readonly epsilonIn: Tensor;
  /** f(ε_out), [outFeatures] */
  readonly epsilonOut: Tensor;
  /** Add the noise (true) or use μ only (false, deterministic evaluation). @defaultValue true */
  noise = true;

  constructor(inFeatures: number, outFeatures: number, options: NoisyLinearOptions) {
    super();
    for (const [name, value] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `NoisyLinear: ${name} must be a positive integer, got ${value}.`,
        );
      }
    }
    const sigma0 = options.sigma0 ?? 0.5;
    if (!(sigma0 >= 0) || !Number.isFinite(sigma0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `NoisyLinear: sigma0 must be a finite number >= 0, got ${sigma0}. The paper uses 0.5.`,
      );
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.sigma0 = sigma0;
    const bound = 1 / Math.sqrt(inFeatures);
    this.weightMu = this.registerParameter("weightMu", zeros([outFeatures, inFeatures]));
    this.weightSigma = this.registerParameter("weightSigma", zeros([outFeatures, inFeatures]));
    this.biasMu = this.registerParameter("biasMu", zeros([outFeatures]));
    this.biasSigma = this.registerParameter("biasSigma", zeros([outFeatures]));
    this.epsilonIn = this.registerBuffer("epsilonIn", zeros([inFeatures]));
    this.epsilonOut = this.registerBuffer("epsilonOut", zeros([outFeatures]));
    uniform_(this.weightMu, -bound, bound, options.rng);
    uniform_(this.biasMu, -bound, bound, options.rng);
    (this.weightSigma.data as Float32Array).fill(sigma0 * bound);
    (this.biasSigma.data as Float32Array).fill(sigma0 * bound);
  }

  /** Draw a new factorised noise sample: `ε_in` (p normals) first, then `ε_out` (q normals). */
  resetNoise(rng: Rng): void {
    const epsIn = this.epsilonIn.data as Float32Array;
    const epsOut = this.epsilonOut.data as Float32Array;
    for (let i = 0; i < epsIn.length; i++) epsIn[i] = scaleNoise(rng.normal());
    for (let i = 0; i < epsOut.length; i++) epsOut[i] = scaleNoise(rng.normal());
  }

  /** The current noise sample `ε_w = f(ε_out) f(ε_in)ᵀ` `[out, in]` and `ε_b = f(ε_out)` `[out]`. */
  noiseSample(): { weight: Tensor; bias: Tensor } {
    const p = this.inFeatures;
    const q = this.outFeatures;
    const epsIn = this.epsilonIn.values;
    const epsOut = this.epsilonOut.values;
    const w = new Float32Array(q * p);
    for (let o = 0; o < q; o++) for (let i = 0; i < p; i++) w[o * p + i] = epsOut[o] * epsIn[i];
    return { weight: new Tensor(w, [q, p]), bias: new Tensor(Float32Array.from(epsOut), [q]) };
  }

  /** x [..., inFeatures] -> [..., outFeatures] */
  forward(x: Tensor): Tensor {
    if (!this.noise) return linear(x, this.weightMu, this.biasMu);
    const eps = this.noiseSample();
    const weight = add(this.weightMu, mul(this.weightSigma, eps.weight));
    const bias = add(this.biasMu, mul(this.biasSigma, eps.bias));
    return linear(x, weight, bias);
  }
}

/** Every {@link NoisyLinear} inside `module` (itself included), in registration order. */
export function noisyLayers(module: Module): NoisyLinear[] {
  return module
    .namedModules()
    .map(([, m]) => m)
    .filter((m): m is NoisyLinear => m instanceof NoisyLinear);
}
