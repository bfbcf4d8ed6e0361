import { RunningMeanStd, type RunningMeanStdState } from "../wrappers/runningMeanStd.js";
import type { VectorEnv, VectorResetOptions, VectorResetResult, VectorStepResult } from "./vectorEnv.js";
import { VectorWrapper } from "./vectorWrapper.js";

/**
 * Scale a vector env's rewards by the running standard deviation of each env's discounted return
 * (Gymnasium's vector `NormalizeReward`; SB3's `VecNormalize` reward part): the return
 * `G_i = G_i * gamma * (1 - terminated_i) + r_i` feeds the statistics, the reward becomes
 * `r_i / sqrt(var + epsilon)`, optionally clipped to `[-clipReward, clipReward]`.
 * `freeze()` for evaluation; `getState()`/`setState()` for checkpoints.
 */
export class VectorNormalizeReward extends VectorWrapper {
  readonly statistics = new RunningMeanStd(1);
  updateStatistics = true;
  private readonly gamma: number;
  private readonly epsilon: number;
  private readonly clip: number;
  private readonly discountedReturns: Float64Array;
  private readonly rewards: Float32Array;

  /** @param options.gamma discount of the return. @defaultValue 0.99 (Gymnasium, SB3) */
  constructor(env: VectorEnv, options: { gamma?: number; epsilon?: number; clipReward?: number } = {}) {
    super(env);
    this.gamma = options.gamma ?? 0.99;
    this.epsilon = options.epsilon ?? 1e-8;
    this.clip = options.clipReward ?? Number.POSITIVE_INFINITY;
    this.discountedReturns = new Float64Array(env.numEnvs);
    this.rewards = new Float32Array(env.numEnvs);
  }

  /** Stop updating the statistics (for evaluation). */
  freeze(): void {
    this.updateStatistics = false;
  }

  /** Update the statistics again (after `freeze()`). */
  unfreeze(): void {
    this.updateStatistics = true;
  }

  /** The running return statistics (mean, variance, count), to save with a model. */
  getStatistics(): RunningMeanStdState {
    return this.statistics.getState();
  }

  /** Replace the running return statistics, e.g. with saved ones before evaluation. */
  setStatistics(state: RunningMeanStdState): void {
    this.statistics.setState(state);
  }

  override reset(opts?: VectorResetOptions): VectorResetResult {
    const mask = opts?.options?.resetMask;
    for (let i = 0; i < this.numEnvs; i++) if (mask === undefined || mask[i]) this.discountedReturns[i] = 0;
    return super.reset(opts);
  }

  override step(actions: Int32Array | Float32Array): VectorStepResult {
    const result = super.step(actions);
    const n = this.numEnvs;
    for (let i = 0; i < n; i++) {
      this.discountedReturns[i] =
        this.discountedReturns[i] * this.gamma * (1 - result.terminated[i]) + result.rewards[i];
    }
    if (this.updateStatistics) this.statistics.update(this.discountedReturns, n);
    const scale = 1 / Math.sqrt(this.statistics.var[0] + this.epsilon);
    for (let i = 0; i < n; i++) {
      const r = result.rewards[i] * scale;
      this.rewards[i] = r > this.clip ? this.clip : r < -this.clip ? -this.clip : r;
    }
    return { ...result, rewards: this.rewards };
  }

  protected override wrapperState(): unknown {
    return {
      statistics: this.statistics.getState(),
      updateStatistics: this.updateStatistics,
      discountedReturns: Array.from(this.discountedReturns),
    };
  }

  protected override restoreWrapperState(state: unknown): void {
    const s = state as {
      statistics: RunningMeanStdState;
      updateStatistics: boolean;
      discountedReturns: number[];
    };
    this.statistics.setState(s.statistics);
    this.updateStatistics = s.updateStatistics;
    this.discountedReturns.set(s.discountedReturns);
  }
}
