import type { Env, ResetOptions, ResetResult, StepResult } from "../env.js";
import { RunningMeanStd, type RunningMeanStdState } from "./runningMeanStd.js";
import { Wrapper } from "./wrapper.js";

/**
 * Scale rewards by the running standard deviation of the discounted return (Gymnasium's
 * `NormalizeReward`, after Engstrom et al. 2020, arXiv:2005.12729): `reward / sqrt(var + epsilon)`,
 * where the return `G = G * gamma * (1 - terminated) + reward` feeds the statistics.
 * `freeze()` stops the updates; `getStatistics()`/`setStatistics()` move them between envs.
 */
export class NormalizeReward<Obs = unknown, Act = unknown> extends Wrapper<Obs, Act> {
  readonly statistics = new RunningMeanStd(1);
  updateStatistics = true;
  private discountedReturn = 0;
  private readonly gamma: number;
  private readonly epsilon: number;
  private readonly scratch = new Float64Array(1);

  /** @param options.gamma discount of the return. @defaultValue 0.99 (Gymnasium) */
  constructor(env: Env<Obs, Act>, options: { gamma?: number; epsilon?: number } = {}) {
    super(env);
    this.gamma = options.gamma ?? 0.99;
    this.epsilon = options.epsilon ?? 1e-8;
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

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    this.discountedReturn = 0;
    return super.reset(opts);
  }

  override step(action: Act): StepResult<Obs> {
    const result = super.step(action);
    this.discountedReturn = this.discountedReturn * this.gamma * (result.terminated ? 0 : 1) + result.reward;
    if (this.updateStatistics) {
      this.scratch[0] = this.discountedReturn;
      this.statistics.update(this.scratch, 1);
    }
    return { ...result, reward: result.reward / Math.sqrt(this.statistics.var[0] + this.epsilon) };
  }

  protected override wrapperState(): unknown {
    return {
      statistics: this.statistics.getState(),
      updateStatistics: this.updateStatistics,
      discountedReturn: this.discountedReturn,
    };
  }

  protected override restoreWrapperState(state: unknown): void {
    const s = state as {
      statistics: RunningMeanStdState;
      updateStatistics: boolean;
      discountedReturn: number;
    };
    this.statistics.setState(s.statistics);
    this.updateStatistics = s.updateStatistics;
    this.discountedReturn = s.discountedReturn;
  }
}
