/**
 * Per-key means of the metrics logged since the last `onStep` call, as every RLHF trainer reports
 * them: a step may have no value for a key (NaN, e.g. KTO's `rewards/chosen` when no desirable row
 * was drawn, or GRPO's losses when a batch had nothing to train on), and that step is left out of
 * that key's mean. Plain JSON (`{ sums, counts }`), so a checkpoint can carry it and a resumed run
 * logs the same means.
 */
export class MetricWindow {
  sums: Record<string, number> = {};
  counts: Record<string, number> = {};

  /** Add one step's metrics (NaN values are skipped). */
  add(metrics: Record<string, number>): void {
    for (const [key, value] of Object.entries(metrics)) {
      if (Number.isNaN(value)) continue;
      this.sums[key] = (this.sums[key] ?? 0) + value;
      this.counts[key] = (this.counts[key] ?? 0) + 1;
    }
  }

  /** The mean of each key over the steps that had a value for it. */
  means(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.sums).map(([k, v]) => [k, v / this.counts[k]]));
  }

  /** Forget every step (after an `onStep` call). */
  clear(): void {
    this.sums = {};
    this.counts = {};
  }
}
