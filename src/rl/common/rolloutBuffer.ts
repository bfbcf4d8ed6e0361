import { ProximalError } from "../../errors.js";
import type { Rng } from "../../random/rng.js";
import { allocFloat32 } from "../../tensor/storage.js";
import { Tensor } from "../../tensor/tensor.js";
import { computeGae } from "./gae.js";

/** One minibatch of a {@link RolloutBuffer} (SB3's `RolloutBufferSamples`), as tensors. */
export interface RolloutMinibatch {
  observations: Tensor; // [size, obsSize]
  actions: Tensor; // [size] int32, [size, k] int32 or [size, dim] float32
  oldValues: Tensor; // [size]
  oldLogProbs: Tensor; // [size]
  advantages: Tensor; // [size]
  returns: Tensor; // [size]
  /** Action masks [size * n] (1 = allowed) when the env reported them, else null. */
  actionMasks: Uint8Array | null;
  size: number;
}

/**
 * Storage for one on-policy rollout of `nSteps` steps of `numEnvs` envs, step-major
 * (`[nSteps, numEnvs, ...]` flattened), with GAE computed once at the end (SB3's `RolloutBuffer`).
 */
export class RolloutBuffer {
  readonly observations: Float32Array; // [nSteps, numEnvs, obsSize]
  readonly actions: Int32Array | Float32Array; // [nSteps, numEnvs, actionWidth]
  readonly rewards: Float32Array; // [nSteps, numEnvs]
  readonly dones: Uint8Array; // [nSteps, numEnvs], 1 where the episode ended at this step
  readonly values: Float32Array; // [nSteps, numEnvs]
  readonly logProbs: Float32Array; // [nSteps, numEnvs]
  advantages: Float32Array; // [nSteps, numEnvs]
  returns: Float32Array; // [nSteps, numEnvs]
  /** [nSteps, numEnvs, n] action masks, allocated when the first masked step arrives. */
  actionMasks: Uint8Array | null = null;
  private maskWidth = 0;
  private pos = 0;

  constructor(
    readonly nSteps: number,
    readonly numEnvs: number,
    readonly obsSize: number,
    readonly actionWidth: number,
    readonly actionDtype: "int32" | "float32",
  ) {
    const size = nSteps * numEnvs;
    this.observations = new Float32Array(size * obsSize);
    this.actions =
      actionDtype === "int32" ? new Int32Array(size * actionWidth) : new Float32Array(size * actionWidth);
    this.rewards = new Float32Array(size);
    this.dones = new Uint8Array(size);
    this.values = new Float32Array(size);
    this.logProbs = new Float32Array(size);
    this.advantages = new Float32Array(size);
    this.returns = new Float32Array(size);
  }

  get size(): number {
    return this.nSteps * this.numEnvs;
  }

  get full(): boolean {
    return this.pos === this.nSteps;
  }

  /** Start filling from the first step again (the stored values are overwritten). */
  reset(): void {
    this.pos = 0;
  }

  /** Store one step of every env. `rewards` should already include truncation bootstraps. */
  add(
    observations: Float32Array,
    actions: Int32Array | Float32Array,
    rewards: Float32Array,
    dones: Uint8Array,
    values: Float32Array,
    logProbs: Float32Array,
    actionMasks: Uint8Array | null = null,
  ): void {
    if (this.pos >= this.nSteps) {
      throw new ProximalError(
        "INTERNAL",
        "RolloutBuffer.add past nSteps. This is a bug in proximal; please report it.",
      );
    }
    const n = this.numEnvs;
    const t = this.pos;
    this.observations.set(observations.subarray(0, n * this.obsSize), t * n * this.obsSize);
    this.actions.set(actions.subarray(0, n * this.actionWidth), t * n * this.actionWidth);
    this.rewards.set(rewards.subarray(0, n), t * n);
    this.dones.set(dones.subarray(0, n), t * n);
    this.values.set(values.subarray(0, n), t * n);
    this.logProbs.set(logProbs.subarray(0, n), t * n);
    if (actionMasks !== null) {
      if (this.actionMasks === null) {
        // masks appear mid-rollout only if the env starts reporting them: earlier rows allow every action
        this.maskWidth = actionMasks.length / n;
        this.actionMasks = new Uint8Array(this.size * this.maskWidth).fill(1);
      }
      this.actionMasks.set(actionMasks, t * n * this.maskWidth);
    } else if (this.actionMasks !== null) {
      this.actionMasks.fill(1, t * n * this.maskWidth, (t + 1) * n * this.maskWidth);
    }
    this.pos++;
  }

  /** GAE(γ, λ) advantages and λ-returns from the stored rollout and V(s_T) per env. */
  computeReturnsAndAdvantage(lastValues: Float32Array, gamma: number, gaeLambda: number): void {
    const { advantages, returns } = computeGae({
      rewards: this.rewards,
      values: this.values,
      dones: this.dones,
      lastValues,
      numEnvs: this.numEnvs,
      gamma,
      gaeLambda,
    });
    this.advantages = advantages;
    this.returns = returns;
  }

  /**
   * Shuffled minibatches covering the whole buffer once (the last one smaller when `size` does not
   * divide the buffer). One permutation per call, drawn from `rng`.
   */
  *minibatches(size: number, rng: Rng): Generator<RolloutMinibatch> {
    const total = this.size;
    const order = rng.permutation(total);
    for (let start = 0; start < total; start += size) {
      yield this.gather(order.subarray(start, Math.min(start + size, total)));
    }
  }

  /** The rows at `indices`, copied into tensors. */
  gather(indices: Int32Array): RolloutMinibatch {
    const m = indices.length;
    const obsSize = this.obsSize;
    const width = this.actionWidth;
    // tensor storage (slabs and the pool) rather than a fresh buffer per array, and rows copied
    // element by element: a subarray view per row was the largest allocation of a PPO update
    const obs = allocFloat32(m * obsSize);
    const actions = this.actionDtype === "int32" ? new Int32Array(m * width) : allocFloat32(m * width);
    const oldValues = allocFloat32(m);
    const oldLogProbs = allocFloat32(m);
    const advantages = allocFloat32(m);
    const returns = allocFloat32(m);
    const source = this.observations;
    for (let j = 0; j < m; j++) {
      const i = indices[j];
      for (let k = 0, from = i * obsSize, to = j * obsSize; k < obsSize; k++) obs[to + k] = source[from + k];
      for (let k = 0; k < width; k++) actions[j * width + k] = this.actions[i * width + k];
      oldValues[j] = this.values[i];
      oldLogProbs[j] = this.logProbs[i];
      advantages[j] = this.advantages[i];
      returns[j] = this.returns[i];
    }
    let masks: Uint8Array | null = null;
    if (this.actionMasks !== null) {
      const w = this.maskWidth;
      masks = new Uint8Array(m * w);
      for (let j = 0; j < m; j++)
        masks.set(this.actionMasks.subarray(indices[j] * w, (indices[j] + 1) * w), j * w);
    }
    const actionShape = this.actionDtype === "int32" && width === 1 ? [m] : [m, width];
    return {
      observations: new Tensor(obs, [m, obsSize]),
      actions: new Tensor(actions, actionShape),
      oldValues: new Tensor(oldValues, [m]),
      oldLogProbs: new Tensor(oldLogProbs, [m]),
      advantages: new Tensor(advantages, [m]),
      returns: new Tensor(returns, [m]),
      actionMasks: masks,
      size: m,
    };
  }

  /** Every row in storage order (for full-batch algorithms such as A2C and TRPO). */
  all(): RolloutMinibatch {
    const indices = new Int32Array(this.size);
    for (let i = 0; i < indices.length; i++) indices[i] = i;
    return this.gather(indices);
  }
}
