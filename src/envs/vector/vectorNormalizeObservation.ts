import { ProximalError } from "../../errors.js";
import { Box } from "../spaces/box.js";
import { RunningMeanStd, type RunningMeanStdState } from "../wrappers/runningMeanStd.js";
import type { VectorEnv, VectorResetOptions, VectorResetResult, VectorStepResult } from "./vectorEnv.js";
import { VectorWrapper } from "./vectorWrapper.js";

/**
 * Normalise a vector env's observations with running statistics over all envs (Gymnasium's vector
 * `NormalizeObservation`; SB3's `VecNormalize` observation part, used by RL Zoo for Pendulum and
 * MountainCarContinuous): `(obs - mean) / sqrt(var + epsilon)`, optionally clipped to
 * `[-clipObservation, clipObservation]` (VecNormalize's `clip_obs`). `finalObservations` are
 * normalised with the same statistics, so bootstrapping sees what the policy sees.
 *
 * Save the statistics with training checkpoints (`getState()` or `getStatistics()`) and load them,
 * frozen, for evaluation; evaluating with fresh statistics gives wrong results.
 */
export class VectorNormalizeObservation extends VectorWrapper {
  readonly statistics: RunningMeanStd;
  updateStatistics = true;
  readonly epsilon: number;
  /** Normalised observations are clipped to ±clip (Infinity: no clipping). */
  readonly clip: number;
  private readonly obsSize: number;
  private readonly observations: Float32Array;
  private readonly finalObservations: Float32Array;

  constructor(env: VectorEnv, options: { epsilon?: number; clipObservation?: number } = {}) {
    super(env);
    if (!(env.singleObservationSpace instanceof Box)) {
      throw new ProximalError(
        "UNSUPPORTED_SPACE",
        `VectorNormalizeObservation needs Box observations, got ${env.singleObservationSpace}.`,
      );
    }
    this.obsSize = env.singleObservationSpace.size;
    this.statistics = new RunningMeanStd(this.obsSize);
    this.epsilon = options.epsilon ?? 1e-8;
    this.clip = options.clipObservation ?? Number.POSITIVE_INFINITY;
    this.observations = new Float32Array(env.numEnvs * this.obsSize);
    this.finalObservations = new Float32Array(env.numEnvs * this.obsSize);
  }

  /** Stop updating the statistics (for evaluation). */
  freeze(): void {
    this.updateStatistics = false;
  }

  /**
   * Normalise raw observations (`[rows * obsSize]`) with the current statistics, without updating
   * them: what a model trained behind this wrapper needs at evaluation on an unwrapped env.
   */
  normalizeObservations(input: Float32Array): Float32Array {
    const out = new Float32Array(input.length);
    this.normalize(input, out);
    return out;
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

  override reset(opts?: VectorResetOptions): VectorResetResult {
    const result = super.reset(opts);
    if (this.updateStatistics) this.statistics.update(result.observations, this.numEnvs);
    this.normalize(result.observations, this.observations);
    return { ...result, observations: this.observations };
  }

  override step(actions: Int32Array | Float32Array): VectorStepResult {
    const result = super.step(actions);
    if (this.updateStatistics) this.statistics.update(result.observations, this.numEnvs);
    this.normalize(result.observations, this.observations);
    let finalObservations: Float32Array | null = null;
    if (result.finalObservations !== null) {
      this.normalize(result.finalObservations, this.finalObservations);
      finalObservations = this.finalObservations;
    }
    return { ...result, observations: this.observations, finalObservations };
  }

  private normalize(input: Float32Array, out: Float32Array): void {
    const { mean, var: variance } = this.statistics;
    const size = this.obsSize;
    const clip = this.clip;
    for (let k = 0; k < input.length; k++) {
      const j = k % size;
      const v = (input[k] - mean[j]) / Math.sqrt(variance[j] + this.epsilon);
      out[k] = v > clip ? clip : v < -clip ? -clip : v;
    }
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
