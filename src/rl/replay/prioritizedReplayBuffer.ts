import { ProximalError } from "../../errors.js";
import type { Schedule } from "../../optim/schedules.js";
import type { Rng } from "../../random/rng.js";
import type { ReplayBufferOptions, ReplaySample, ReplayState } from "./replayBuffer.js";
import { ReplayBuffer } from "./replayBuffer.js";
import { MinTree, SumTree } from "./sumTree.js";

/** Options of {@link PrioritizedReplayBuffer}. */
export interface PrioritizedReplayBufferOptions extends ReplayBufferOptions {
  /**
   * Priority exponent α in `P(i) = p_i^α / Σ_k p_k^α`, in [0, 1]: 0 is uniform sampling, 1 fully
   * proportional (Schaul et al. 2016, arXiv:1511.05952, eq. 1).
   * @defaultValue 0.6 (the paper's proportional variant, Table 3; Rainbow uses 0.5)
   */
  alpha?: number;
  /**
   * ε in `p_i = |δ_i| + ε`, which keeps a transition with zero TD error sampleable (§3.3).
   * @defaultValue 1e-6 (OpenAI baselines' `prioritized_replay_eps`; the paper gives no value)
   */
  epsilon?: number;
}

/** A {@link ReplaySample} with importance-sampling weights. */
export interface PrioritizedReplaySample extends ReplaySample {
  /** `w_i = (N · P(i))^(−β) / max_j w_j`, in (0, 1]; multiply each row's TD loss by it. */
  weights: Float32Array; // [batchSize]
}

/**
 * Proportional prioritised experience replay (Schaul et al. 2016, "Prioritized Experience Replay",
 * arXiv:1511.05952, §3.3–3.4, Algorithm 1): transition i is sampled with probability
 * `P(i) = p_i^α / Σ_k p_k^α` where `p_i = |δ_i| + ε` is its last absolute TD error, and its loss is
 * weighted by `w_i = (N · P(i))^(−β) / max_j w_j` to correct the bias of non-uniform sampling
 * (β annealed to 1 over training with {@link betaSchedule}).
 *
 * The stored value per slot is `p_i^α`, kept in a {@link SumTree} (sampling) and a {@link MinTree}
 * (`max_j w_j = (N · min_j P(j))^(−β)`). New transitions get the largest `p^α` seen so far (initially
 * 1), so each is replayed at least once soon after it arrives (Algorithm 1, line 6). Sampling is
 * stratified: the total mass is cut into `batchSize` equal segments and one index is drawn from each
 * (Appendix B.2.1), which lowers the variance of the batch's composition.
 *
 * Follows the paper and OpenAI baselines' `PrioritizedReplayBuffer`; stored priorities are rounded to
 * float32 so that a saved state (safetensors F32) restores the trees bit for bit.
 *
 * @example
 * const buffer = new PrioritizedReplayBuffer({ capacity: 100_000, obsSize: 4, alpha: 0.6 });
 * const beta = betaSchedule(0.4);
 * buffer.add(transitions);
 * const batch = buffer.sample(32, rng, beta(progressRemaining));
 * // ... loss = mean(batch.weights · δ²) ...
 * buffer.updatePriorities(batch.indices, tdErrors);
 */
export class PrioritizedReplayBuffer extends ReplayBuffer {
  readonly alpha: number;
  readonly epsilon: number;
  private readonly sumTree: SumTree;
  private readonly minTree: MinTree;
  /** max_i p_i^α over every priority set so far; new transitions get it. */
  private maxPriority = 1;

  constructor(options: PrioritizedReplayBufferOptions) {
    super(options);
    const alpha = options.alpha ?? 0.6;
    const epsilon = options.epsilon ?? 1e-6;
    if (!(alpha >= 0 && alpha <= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `PrioritizedReplayBuffer alpha must be in [0, 1], got ${alpha}. 0 samples uniformly, 1 fully by priority; the paper uses 0.6, Rainbow 0.5.`,
      );
    }
    if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `PrioritizedReplayBuffer epsilon must be a finite number > 0, got ${epsilon}. It keeps zero-error transitions sampleable; 1e-6 is usual.`,
      );
    }
    this.alpha = alpha;
    this.epsilon = epsilon;
    this.sumTree = new SumTree(this.capacity);
    this.minTree = new MinTree(this.capacity);
  }

  /** The stored `p_i^α` of slot `i`. */
  priority(i: number): number {
    return this.sumTree.get(i);
  }

  /** `Σ_i p_i^α` over the stored transitions. */
  get totalPriority(): number {
    return this.sumTree.total;
  }

  /**
   * `batchSize` transitions drawn with `P(i) = p_i^α / Σ_k p_k^α` by stratified sampling: for segment
   * j, `u_j = (j + U[0,1)) · Σ/batchSize` and `i_j = ` the index whose prefix-sum interval holds u_j.
   * Also returns the weights `w_i = (N · P(i))^(−β) / max_k w_k = (P(i) / min_k P(k))^(−β)` (§3.4).
   *
   * @param beta - Importance-sampling exponent in [0, 1]; 0 turns the correction off, 1 corrects it
   *   fully. Anneal it from β₀ to 1 with {@link betaSchedule}. @defaultValue 0.4 (β₀ of the paper's
   *   proportional variant; pass the annealed value every call)
   * @throws {@link ProximalError} `"INVALID_ARGUMENT"` for an empty buffer, a `batchSize` outside
   *   `1 … size`, or `beta` outside [0, 1].
   */
  override sample(batchSize: number, rng: Rng, beta = 0.4): PrioritizedReplaySample {
    this.checkBatchSize(batchSize);
    if (!(beta >= 0 && beta <= 1)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `PrioritizedReplayBuffer.sample: beta must be in [0, 1], got ${beta}. Anneal it from 0.4 to 1 with betaSchedule().`,
      );
    }
    const total = this.sumTree.total;
    const segment = total / batchSize;
    const indices = new Int32Array(batchSize);
    for (let j = 0; j < batchSize; j++) {
      indices[j] = this.sumTree.findPrefixSum((j + rng.uniform()) * segment);
    }
    const sample = this.gather(indices);
    // w_i / max_k w_k = (N·P(i))^(−β) / (N·P_min)^(−β) = (p_i / p_min)^(−β): N and Σ cancel
    const minPriority = this.minTree.min;
    const weights = new Float32Array(batchSize);
    for (let j = 0; j < batchSize; j++) {
      weights[j] = (this.sumTree.get(indices[j]) / minPriority) ** -beta;
    }
    return { ...sample, weights };
  }

  /**
   * Set the priorities of sampled transitions from their new TD errors:
   * `p_i^α = (|δ_i| + ε)^α` (Schaul et al. 2016, Algorithm 1, line 12), and raise the max priority
   * given to new transitions.
   * @throws {@link ProximalError} `"SHAPE_MISMATCH"` when the lengths differ, `"INVALID_ARGUMENT"` for
   *   an index outside the filled part, `"NUMERICAL_ERROR"` for a NaN or infinite TD error.
   */
  updatePriorities(indices: ArrayLike<number>, tdErrors: ArrayLike<number>): void {
    if (indices.length !== tdErrors.length) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `updatePriorities got ${indices.length} indices but ${tdErrors.length} TD errors. Pass one TD error per sampled index (batch.indices).`,
      );
    }
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j];
      if (!Number.isInteger(i) || i < 0 || i >= this.size) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `updatePriorities: index ${i} is outside the filled part 0…${this.size - 1}. Pass batch.indices from sample().`,
        );
      }
      if (!Number.isFinite(tdErrors[j])) {
        throw new ProximalError(
          "NUMERICAL_ERROR",
          `updatePriorities: TD error ${j} (index ${i}) is ${tdErrors[j]}. The Q-network diverged; lower the learning rate or clip gradients.`,
        );
      }
    }
    for (let j = 0; j < indices.length; j++) {
      const priority = Math.fround((Math.abs(tdErrors[j]) + this.epsilon) ** this.alpha);
      this.setPriority(indices[j], priority);
      if (priority > this.maxPriority) this.maxPriority = priority;
    }
  }

  override reset(): void {
    super.reset();
    this.sumTree.setLeaves(new Float64Array(this.capacity));
    this.minTree.setLeaves(new Float64Array(this.capacity).fill(Number.POSITIVE_INFINITY));
    this.maxPriority = 1;
  }

  /** The base state plus `priorities` (`p_i^α` of the filled slots) and the max priority. */
  override state(): ReplayState {
    const base = super.state();
    const n = this.size;
    const priorities = Float32Array.from(this.sumTree.leaves().subarray(0, n));
    return {
      tensors: { ...base.tensors, priorities: { dtype: "F32", shape: [n], data: priorities } },
      json: { ...base.json, alpha: this.alpha, epsilon: this.epsilon, maxPriority: this.maxPriority },
    };
  }

  override loadState(state: ReplayState): void {
    const { json, tensors } = state;
    for (const key of ["alpha", "epsilon"] as const) {
      if (json[key] !== this[key]) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `Cannot load this replay-buffer state: it has ${key} ${JSON.stringify(json[key])} but this buffer has ${this[key]}. Build the buffer with the options it was saved with.`,
        );
      }
    }
    const maxPriority = json.maxPriority;
    const entry = tensors.priorities;
    const size = json.size as number;
    if (
      typeof maxPriority !== "number" ||
      !(maxPriority > 0) ||
      entry?.dtype !== "F32" ||
      entry.data.length !== size
    ) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `Cannot load this replay-buffer state: it needs a positive maxPriority and an F32 "priorities" tensor of ${size} elements. Save it with PrioritizedReplayBuffer.state().`,
      );
    }
    super.loadState(state);
    const sums = new Float64Array(this.capacity);
    const mins = new Float64Array(this.capacity).fill(Number.POSITIVE_INFINITY);
    for (let i = 0; i < size; i++) sums[i] = mins[i] = entry.data[i];
    this.sumTree.setLeaves(sums);
    this.minTree.setLeaves(mins);
    this.maxPriority = maxPriority;
  }

  protected override get kind(): string {
    return "PrioritizedReplayBuffer";
  }

  /** A new or overwritten slot starts at the max priority (Algorithm 1, line 6). */
  protected override onAdd(slot: number): void {
    this.setPriority(slot, this.maxPriority);
  }

  private setPriority(i: number, priority: number): void {
    this.sumTree.set(i, priority);
    this.minTree.set(i, priority);
  }
}

/**
 * The importance-sampling exponent β annealed linearly from `initial` at the start of training to
 * `final` at the end, `β(progressRemaining) = final + progressRemaining · (initial − final)`, clamped
 * to [0, 1]; progress remaining goes from 1 to 0 as in every proximal schedule (Schaul et al. 2016,
 * arXiv:1511.05952, §3.4: "linearly anneal β from its initial value β₀ to 1").
 *
 * @param initial - β₀. @defaultValue 0.4 (the paper's proportional variant, Table 3; Rainbow: 0.4)
 * @param final - β at the end of training. @defaultValue 1
 * @example
 * const beta = betaSchedule(0.4);
 * beta(1);   // 0.4 at the start
 * beta(0);   // 1 at the end
 */
export function betaSchedule(initial = 0.4, final = 1): Schedule {
  for (const [name, value] of [
    ["initial", initial],
    ["final", final],
  ] as const) {
    if (!(value >= 0 && value <= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `betaSchedule ${name} must be in [0, 1], got ${value}. The paper anneals β from 0.4 to 1.`,
      );
    }
  }
  return (progressRemaining) => {
    const p = Math.min(1, Math.max(0, progressRemaining));
    return final + p * (initial - final);
  };
}
