import type { Env, ResetOptions, ResetResult, StepResult } from "../env.js";
import { Box } from "../spaces/box.js";
import type { Space } from "../spaces/space.js";
import { RunningMeanStd, type RunningMeanStdState } from "./runningMeanStd.js";
import { Wrapper } from "./wrapper.js";

/**
 * Normalise Box observations to roughly zero mean and unit variance with running statistics
 * (Gymnasium's `NormalizeObservation`): `(obs - mean) / sqrt(var + epsilon)`.
 *
 * Evaluate with the *training* statistics: copy them over with `getStatistics()`/`setStatistics()`
 * (or `getState()`) and call `freeze()` so evaluation episodes do not change them.
 */
export class NormalizeObservation<Act = unknown> extends Wrapper<Float32Array, Act> {
  readonly statistics: RunningMeanStd;
  /** Whether observations still update the statistics. */
  updateStatistics = true;
  private readonly epsilon: number;
  private readonly space: Box;

  constructor(env: Env<Float32Array, Act>, options: { epsilon?: number } = {}) {
    super(env);
    if (!(env.observationSpace instanceof Box)) {
      throw new Error(`NormalizeObservation needs a Box observation space, got ${env.observationSpace}.`);
    }
    this.statistics = new RunningMeanStd(env.observationSpace.size);
    this.epsilon = options.epsilon ?? 1e-8;
    this.space = new Box(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, env.observationSpace.shape);
  }

  override get observationSpace(): Space {
    return this.space;
  }

  /** Stop updating the statistics (for evaluation). */
  freeze(): void {
    this.updateStatistics = false;
  }

  /** Update the statistics again (after `freeze()`). */
  unfreeze(): void {
    this.updateStatistics = true;
  }

  /** The running observation statistics (mean, variance, count), to save with a model. */
  getStatistics(): RunningMeanStdState {
    return this.statistics.getState();
  }

  /** Replace the running observation statistics, e.g. with saved ones before evaluation. */
  setStatistics(state: RunningMeanStdState): void {
    this.statistics.setState(state);
  }

  override reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const result = super.reset(opts);
    return { ...result, observation: this.normalize(result.observation) };
  }

  override step(action: Act): StepResult<Float32Array> {
    const result = super.step(action);
    return { ...result, observation: this.normalize(result.observation) };
  }

  private normalize(observation: Float32Array): Float32Array {
    if (this.updateStatistics) this.statistics.update(observation, 1);
    const out = new Float32Array(observation.length);
    const { mean, var: variance } = this.statistics;
    for (let k = 0; k < out.length; k++)
      out[k] = (observation[k] - mean[k]) / Math.sqrt(variance[k] + this.epsilon);
    return out;
  }

  protected override wrapperState(): unknown {
    return { statistics: this.statistics.getState(), updateStatistics: this.updateStatistics };
  }

  protected override restoreWrapperState(state: unknown): void {
    const s = state as { statistics: RunningMeanStdState; updateStatistics: boolean };
    this.statistics.setState(s.statistics);
    this.updateStatistics = s.updateStatistics;
  }
}
