import { ProximalError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import { mul } from "../tensor/ops.js";
import { Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

/**
 * Dropout (Srivastava et al. 2014, JMLR 15(56)): in training mode each element is zeroed with
 * probability `p` and the survivors are scaled by `1/(1-p)` ("inverted" dropout, as torch.nn.Dropout),
 * so evaluation mode is the identity and expectations match. The mask is a constant tensor
 * multiplied in, so the gradient is the same mask times the incoming gradient.
 *
 * @example
 * const drop = new Dropout(0.1, { rng: new Rng(0) });
 * drop.forward(x);          // training: about 10% zeros, the rest x / 0.9
 * drop.eval().forward(x);   // x itself
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly rng: Rng;

  constructor(p: number, options: { rng: Rng }) {
    super();
    if (!(p >= 0 && p <= 1)) {
      throw new ProximalError("INVALID_ARGUMENT", `Dropout probability must be in [0, 1], got ${p}.`);
    }
    this.p = p;
    this.rng = options.rng;
  }

  /** Zero each value with probability p and scale the rest by 1/(1 − p) while training; identity in eval mode. */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const mask = new Float32Array(x.size);
    // p = 1 drops everything (torch gives zeros, not NaN from 1/0)
    const scale = this.p === 1 ? 0 : 1 / (1 - this.p);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.uniform() < this.p ? 0 : scale;
    return mul(x, new Tensor(mask, x.shape));
  }
}
