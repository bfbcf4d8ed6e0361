import { ProximalError } from "../../errors.js";
import type { Env, ResetOptions, ResetResult, StepResult } from "../env.js";
import { Wrapper } from "./wrapper.js";

/** How a finished episode is judged by {@link CurriculumSchedule}. */
export interface EpisodeOutcome {
  /** Sum of the env's rewards over the episode. */
  return: number;
  length: number;
  /** The episode ended in a terminal state of the MDP (not a time limit). */
  terminated: boolean;
  /** The info of the last step. */
  info: Record<string, unknown>;
}

/** Options of {@link CurriculumSchedule}. */
export interface CurriculumOptions {
  /**
   * Reset options of each stage, easiest first; the last stage should be the task itself (e.g.
   * MountainCar's `{ low: -0.6, high: -0.4 }`, its default start range). At least one.
   */
  stages: Record<string, unknown>[];
  /** Success rate over the last `window` episodes of a stage that moves to the next. @defaultValue 0.8 */
  threshold?: number;
  /** Episodes the success rate is measured over (all must belong to the current stage). @defaultValue 50 */
  window?: number;
  /**
   * Whether an episode succeeded. @defaultValue `terminated` (MountainCar terminates at the flag
   * only; give your own for envs that also terminate on failure, e.g. `(e) => e.return > 0` for
   * FrozenLake)
   */
  isSuccess?: (episode: EpisodeOutcome) => boolean;
}

/** Checkpoint of a {@link CurriculumSchedule}. */
export interface CurriculumState {
  stage: number;
  recent: number[];
  episodes: number;
}

/**
 * A curriculum over env options (Bengio et al. 2009, "Curriculum learning", ICML; for start states
 * in RL, Florensa et al. 2017, "Reverse curriculum generation", arXiv:1707.05300): train on the
 * first (easiest) stage's reset options and move to the next stage once the success rate over the
 * last `window` episodes of the current stage reaches `threshold`. One schedule is shared by the
 * {@link Curriculum} wrappers of every env of a vector env, so they move together on the pooled
 * success rate. Stages only move forward.
 */
export class CurriculumSchedule {
  readonly stages: Record<string, unknown>[];
  readonly threshold: number;
  readonly window: number;
  readonly isSuccess: (episode: EpisodeOutcome) => boolean;
  /** Index of the current stage. */
  stage = 0;
  /** Episodes finished over all stages. */
  episodes = 0;
  /** Successes (1) and failures (0) of the current stage's last `window` episodes. */
  private recent: number[] = [];

  constructor(options: CurriculumOptions) {
    if (!Array.isArray(options?.stages) || options.stages.length === 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        "CurriculumSchedule needs stages: a non-empty list of reset options, easiest first, e.g. [{ low: 0, high: 0.4 }, { low: -0.6, high: -0.4 }].",
      );
    }
    this.stages = options.stages;
    this.threshold = options.threshold ?? 0.8;
    this.window = options.window ?? 50;
    this.isSuccess = options.isSuccess ?? ((episode) => episode.terminated);
    if (!(this.threshold > 0 && this.threshold <= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `CurriculumSchedule: threshold must be in (0, 1], got ${this.threshold}.`,
      );
    }
    if (!Number.isInteger(this.window) || this.window < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `CurriculumSchedule: window must be an integer >= 1, got ${this.window}.`,
      );
    }
  }

  /** The reset options of the current stage. */
  get options(): Record<string, unknown> {
    return this.stages[this.stage];
  }

  /** Success rate over the current stage's recent episodes (0 before any). */
  get successRate(): number {
    return this.recent.length === 0 ? 0 : this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
  }

  /** True on the last stage once its window of episodes is full (its success rate is then measured). */
  get onLastStageWithFullWindow(): boolean {
    return this.stage === this.stages.length - 1 && this.recent.length === this.window;
  }

  /** Record a finished episode; moves to the next stage when the window is full and its rate reaches the threshold. */
  record(episode: EpisodeOutcome): void {
    this.episodes++;
    this.recent.push(this.isSuccess(episode) ? 1 : 0);
    if (this.recent.length > this.window) this.recent.shift();
    if (
      this.stage < this.stages.length - 1 &&
      this.recent.length === this.window &&
      this.successRate >= this.threshold
    ) {
      this.stage++;
      this.recent = [];
    }
  }

  getState(): CurriculumState {
    return { stage: this.stage, recent: this.recent.slice(), episodes: this.episodes };
  }

  setState(state: CurriculumState): void {
    this.stage = state.stage;
    this.recent = state.recent.slice();
    this.episodes = state.episodes;
  }
}

/**
 * Resets its env with the current stage's options of a {@link CurriculumSchedule} and reports each
 * finished episode to it. Options passed to `reset` explicitly win over the stage's. `info`
 * carries `curriculumStage`. Wrap it inside any time limit's view of the episode: place it outside
 * `TimeLimit` (as `make` returns envs) so it sees truncations.
 *
 * @example
 * const schedule = new CurriculumSchedule({ stages: [{ low: 0, high: 0.4 }, { low: -0.6, high: -0.4 }] });
 * const env = new SyncVectorEnv(
 *   Array.from({ length: 8 }, () => () => new Curriculum(make("MountainCar-v0"), schedule)),
 *   { autoresetMode: "same-step" },
 * );
 */
export class Curriculum<Obs = unknown, Act = unknown> extends Wrapper<Obs, Act> {
  private episodeReturn = 0;
  private episodeLength = 0;

  constructor(
    env: Env<Obs, Act>,
    readonly schedule: CurriculumSchedule,
  ) {
    super(env);
  }

  override reset(opts: ResetOptions = {}): ResetResult<Obs> {
    this.episodeReturn = 0;
    this.episodeLength = 0;
    const result = super.reset({ ...opts, options: { ...this.schedule.options, ...(opts.options ?? {}) } });
    return { ...result, info: { ...result.info, curriculumStage: this.schedule.stage } };
  }

  override step(action: Act): StepResult<Obs> {
    const result = super.step(action);
    this.episodeReturn += result.reward;
    this.episodeLength++;
    const stage = this.schedule.stage;
    if (result.terminated || result.truncated) {
      this.schedule.record({
        return: this.episodeReturn,
        length: this.episodeLength,
        terminated: result.terminated,
        info: result.info,
      });
    }
    return { ...result, info: { ...result.info, curriculumStage: stage } };
  }

  protected override wrapperState(): unknown {
    return { episodeReturn: this.episodeReturn, episodeLength: this.episodeLength };
  }

  protected override restoreWrapperState(state: unknown): void {
    const s = state as { episodeReturn: number; episodeLength: number };
    this.episodeReturn = s.episodeReturn;
    this.episodeLength = s.episodeLength;
  }
}
