import { ProximalError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import { embedding } from "../tensor/ops.js";
import { type Tensor, zeros } from "../tensor/tensor.js";
import { normal_ } from "./init.js";
import { Module } from "./module.js";

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** Generator for the initial table. */
  rng: Rng;
  /**
   * Standard deviation of the initial `N(0, std²)` table. @defaultValue 1 (torch.nn.Embedding; GPT-2
   * uses 0.02)
   */
  std?: number;
  /** `"none"` leaves the table at zeros without drawing, for a table loaded right after. @defaultValue "normal" */
  init?: "normal" | "none";
}

/**
 * A lookup table of `numEmbeddings` learned vectors of size `embeddingDim` (torch.nn.Embedding):
 * int32 indices [...] -> [..., embeddingDim]. The gradient adds into the rows that were used.
 *
 * @example
 * const tokens = new Embedding(50, 16, { rng: new Rng(0) });
 * tokens.forward(tensor([[1, 2, 3]], undefined, { dtype: "int32" })).shape; // [1, 3, 16]
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** [numEmbeddings, embeddingDim] */
  readonly weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions) {
    super();
    if (
      !Number.isInteger(numEmbeddings) ||
      numEmbeddings < 1 ||
      !Number.isInteger(embeddingDim) ||
      embeddingDim < 1
    ) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `Embedding sizes must be positive integers, got numEmbeddings ${numEmbeddings} and embeddingDim ${embeddingDim}.`,
      );
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.weight = this.registerParameter("weight", zeros([numEmbeddings, embeddingDim]));
    if (options.init !== "none") normal_(this.weight, 0, options.std ?? 1, options.rng);
  }

  /** int32 indices [...] -> [..., embeddingDim] */
  forward(indices: Tensor): Tensor {
    if (indices.dtype !== "int32") {
      throw new ProximalError(
        "DTYPE_MISMATCH",
        `Embedding.forward needs int32 indices, got ${indices.dtype}. Build them with { dtype: "int32" }.`,
      );
    }
    const data = indices.data;
    for (let i = 0; i < data.length; i++) {
      if (data[i] < 0 || data[i] >= this.numEmbeddings) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `Embedding index ${data[i]} (at flat position ${i}) is outside [0, ${this.numEmbeddings}). Check the vocabulary size.`,
        );
      }
    }
    return embedding(this.weight, indices);
  }
}
