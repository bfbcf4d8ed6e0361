import { ProximalError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import * as ops from "../tensor/ops.js";
import { Tensor } from "../tensor/tensor.js";
import type { Distribution } from "./distribution.js";

/** Logit given to masked-out actions: exp(-1e8 - max) is exactly 0 in float32 (SB3-contrib's MaskableCategorical uses the same). */
export const MASKED_LOGIT = -1e8;

/**
 * Categorical distributions over `n` actions from unnormalised logits [batch, n], with an optional
 * action mask (1 = allowed, 0 = forbidden; at least one allowed per row).
 *
 * @example
 * const d = new Categorical(tensor([[0, 0]]));   // uniform over 2 actions
 * d.entropy().item();                               // ln 2 ≈ 0.693
 */
export class Categorical implements Distribution {
  /** log π(·|s), [batch, n] */
  readonly logProbs: Tensor;
  readonly numActions: number;
  readonly batchSize: number;

  constructor(logits: Tensor, mask?: Tensor | Uint8Array | null) {
    if (logits.rank !== 2) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `Categorical needs logits of shape [batch, n], got [${logits.shape.join(", ")}].`,
      );
    }
    this.batchSize = logits.shape[0];
    this.numActions = logits.shape[1];
    let masked = logits;
    if (mask !== undefined && mask !== null) {
      const m = mask instanceof Tensor ? mask.data : mask;
      if (m.length !== logits.size) {
        throw new ProximalError(
          "SHAPE_MISMATCH",
          `Categorical: the action mask has ${m.length} entries but the logits have ${logits.size} ([batch, n] = [${logits.shape.join(", ")}]).`,
        );
      }
      for (let r = 0; r < this.batchSize; r++) {
        let any = false;
        for (let c = 0; c < this.numActions; c++) if (m[r * this.numActions + c]) any = true;
        if (!any)
          throw new ProximalError(
            "INVALID_ARGUMENT",
            `Categorical: the action mask of row ${r} allows no action.`,
          );
      }
      const maskTensor = new Tensor(
        Float32Array.from(m, (v) => (v ? 1 : 0)),
        logits.shape,
      );
      masked = ops.where(maskTensor, logits, MASKED_LOGIT);
    }
    this.logProbs = ops.logSoftmax(masked, -1);
  }

  /** π(·|s), [batch, n] */
  probs(): Tensor {
    return ops.exp(this.logProbs);
  }

  sample(rng: Rng): Int32Array {
    const lp = this.logProbs.values;
    const n = this.numActions;
    const out = new Int32Array(this.batchSize);
    for (let r = 0; r < this.batchSize; r++) {
      // inverse-CDF with one uniform draw per row (the same draw sequence on every backend)
      const u = rng.uniform();
      let cumulative = 0;
      let choice = -1;
      let last = 0;
      for (let c = 0; c < n; c++) {
        const p = Math.exp(lp[r * n + c]);
        if (p > 0) last = c;
        cumulative += p;
        if (u < cumulative) {
          choice = c;
          break;
        }
      }
      out[r] = choice >= 0 ? choice : last;
    }
    return out;
  }

  mode(): Int32Array {
    const lp = this.logProbs.values;
    const n = this.numActions;
    const out = new Int32Array(this.batchSize);
    for (let r = 0; r < this.batchSize; r++) {
      let best = 0;
      for (let c = 1; c < n; c++) if (lp[r * n + c] > lp[r * n + best]) best = c;
      out[r] = best;
    }
    return out;
  }

  logProb(actions: Tensor): Tensor {
    const ids =
      actions.dtype === "int32" ? actions : new Tensor(Int32Array.from(actions.data), actions.shape);
    if (ids.size !== this.batchSize) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `Categorical.logProb: ${ids.size} actions for a batch of ${this.batchSize}.`,
      );
    }
    return ops.takeAlongLastAxis(this.logProbs, ops.reshape(ids, [this.batchSize]));
  }

  /** `-Σ p log p`; masked actions (p = 0) contribute 0. */
  entropy(): Tensor {
    return ops.neg(ops.sum(ops.mul(this.probs(), this.logProbs), -1));
  }

  /** `Σ p (log p - log q)` */
  kl(other: Distribution): Tensor {
    if (!(other instanceof Categorical) || other.numActions !== this.numActions) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "Categorical.kl needs another Categorical over the same number of actions.",
      );
    }
    return ops.sum(ops.mul(this.probs(), ops.sub(this.logProbs, other.logProbs)), -1);
  }
}
