import { ProximalError } from "../../errors.js";

/** Serialisable running statistics, from {@link RunningMeanStd.getState}. */
export interface RunningMeanStdState {
  mean: number[];
  var: number[];
  count: number;
}

/**
 * Running mean and variance per component, merged batch by batch with Chan et al.'s parallel
 * algorithm (as Gymnasium's and SB3's `RunningMeanStd`; the count starts at 1e-4 like theirs).
 */
export class RunningMeanStd {
  readonly mean: Float64Array;
  readonly var: Float64Array;
  count = 1e-4;

  constructor(readonly size: number) {
    this.mean = new Float64Array(size);
    this.var = new Float64Array(size).fill(1);
  }

  /** Merge `batchSize` rows of `size` values from `data` (row-major). */
  update(data: ArrayLike<number>, batchSize: number): void {
    const size = this.size;
    for (let k = 0; k < size; k++) {
      let sum = 0;
      for (let b = 0; b < batchSize; b++) sum += data[b * size + k];
      const batchMean = sum / batchSize;
      let squares = 0;
      for (let b = 0; b < batchSize; b++) squares += (data[b * size + k] - batchMean) ** 2;
      const batchVar = squares / batchSize;
      const delta = batchMean - this.mean[k];
      const total = this.count + batchSize;
      const m2 =
        this.var[k] * this.count + batchVar * batchSize + (delta * delta * this.count * batchSize) / total;
      this.mean[k] += (delta * batchSize) / total;
      this.var[k] = m2 / total;
    }
    this.count += batchSize;
  }

  /** The statistics as plain numbers (JSON-serialisable). */
  getState(): RunningMeanStdState {
    return { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count };
  }

  /** Restore statistics from {@link RunningMeanStd.getState}. */
  setState(state: RunningMeanStdState): void {
    if (
      state?.mean?.length !== this.size ||
      state.var?.length !== this.size ||
      typeof state.count !== "number"
    ) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `RunningMeanStd.setState: expected { mean, var } of ${this.size} values and a count.`,
      );
    }
    this.mean.set(state.mean);
    this.var.set(state.var);
    this.count = state.count;
  }
}
