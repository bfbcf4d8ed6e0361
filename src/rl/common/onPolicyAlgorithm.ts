import type { Env } from "../../envs/env.js";
import { make } from "../../envs/make.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { SyncVectorEnv } from "../../envs/vector/syncVectorEnv.js";
import type { VectorEnv } from "../../envs/vector/vectorEnv.js";
import { isVectorEnv } from "../../envs/vector/vectorEnv.js";
import { VectorNormalizeObservation } from "../../envs/vector/vectorNormalizeObservation.js";
import { VectorRecordEpisodeStatistics } from "../../envs/vector/vectorRecordEpisodeStatistics.js";
import { VectorWrapper } from "../../envs/vector/vectorWrapper.js";
import { ProximalError } from "../../errors.js";
import type { Checkpoint } from "../../io/checkpoint.js";
import { addPrefix, loadCheckpoint, withPrefix } from "../../io/checkpoint.js";
import type { ModelSource, ModelTarget } from "../../io/modelFiles.js";
import { modelFiles } from "../../io/modelFiles.js";
import type { BaseOptimizerOptions, Optimizer } from "../../optim/optimizer.js";
import type { Schedule } from "../../optim/schedules.js";
import { Rng } from "../../random/rng.js";
import type { Tensor } from "../../tensor/tensor.js";
import { noGrad } from "../../tensor/tensor.js";
import type { IntrinsicRewardOptions, IntrinsicState } from "../intrinsic/intrinsicReward.js";
import { resolveIntrinsicOptions } from "../intrinsic/intrinsicReward.js";
import { IntrinsicRollout } from "../intrinsic/intrinsicRollout.js";
import { actionMasksFromInfos } from "./actionMasks.js";
import { EpisodeWindow } from "./episodeWindow.js";
import type { PolicyOptions } from "./policies.js";
import { ActorCriticPolicy } from "./policies.js";
import { RolloutBuffer } from "./rolloutBuffer.js";
import {
  checkSavedModel,
  optionsFromJSON,
  restoreNetworkCheckpoint,
  type SavedNormalization,
  savedEnvId,
  saveNetworkCheckpoint,
} from "./savedModel.js";
import type { ScheduleLike } from "./scheduleSpec.js";
import { resolveSchedule } from "./scheduleSpec.js";
import { transitionNextObservations } from "./transitionNext.js";

/**
 * Options every on-policy algorithm shares (SB3's `OnPolicyAlgorithm` arguments, camelCased).
 * Each algorithm documents its own defaults for these.
 */
export interface OnPolicyOptions {
  /** Optimizer learning rate, or a schedule of progress remaining (1 → 0). */
  learningRate?: ScheduleLike;
  /** Steps per env per rollout; the rollout holds `nSteps * numEnvs` transitions. */
  nSteps?: number;
  /** Discount factor γ. @defaultValue 0.99 */
  gamma?: number;
  /** GAE λ (1 = Monte-Carlo returns minus the baseline, 0 = one-step TD). */
  gaeLambda?: number;
  /**
   * Entropy bonus coefficient c2, or a schedule of progress remaining (1 → 0), e.g.
   * `{ schedule: "linear", initial: 0.01 }` anneals it to 0 over the run. @defaultValue 0
   */
  entCoef?: ScheduleLike;
  /** Value loss coefficient c1. @defaultValue 0.5 */
  vfCoef?: number;
  /** Global gradient-norm clip (`clip_grad_norm_`); Infinity disables it. @defaultValue 0.5 */
  maxGradNorm?: number;
  /** Normalise advantages (to zero mean, unit std) before the policy loss. */
  normalizeAdvantage?: boolean;
  /** Network architecture and initialisation. */
  policy?: PolicyOptions;
  /** Seed of every random draw: network init, action sampling, minibatch order, env resets. @defaultValue 0 */
  seed?: number;
  /** Number of parallel envs when the env is given by id. @defaultValue 1 */
  numEnvs?: number;
  /** Episodes in the moving window of `rollout/episodeReturn`. @defaultValue 100 (SB3's `stats_window_size`) */
  statsWindowSize?: number;
  /**
   * An exploration bonus: ICM (Pathak et al. 2017) or RND (Burda et al. 2018), see
   * {@link IntrinsicRewardOptions}. @defaultValue { type: "none" } (no bonus; nothing changes)
   */
  intrinsicReward?: IntrinsicRewardOptions;
}

/** An env for an algorithm: a vector env, a single env (wrapped in a one-env vector), or a registered id. */
export type EnvInput = VectorEnv | Env | string;

/** Diagnostics of one update, keyed `group/name` (the same keys mean the same thing in every algorithm). */
export type UpdateStats = Record<string, number>;

/** Arguments of `learn`. */
export interface LearnOptions {
  /** Environment steps to train for (counted over all envs). */
  totalTimesteps: number;
  /** Called after every update with its diagnostics; returning `false` stops training. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback that returns nothing must type-check
  onUpdate?: (stats: UpdateStats) => void | boolean | Promise<void | boolean>;
  /**
   * Count timesteps from zero (true) or continue the count of an earlier `learn` call or a loaded
   * checkpoint (false, for resuming to a planned total). @defaultValue true
   */
  resetNumTimesteps?: boolean;
}

/** Builds an algorithm's policy (an {@link ActorCriticPolicy} or a subclass such as a Q-critic policy). */
export type PolicyFactory = (
  observationSpace: Space,
  actionSpace: Space,
  rng: Rng,
  options: PolicyOptions | undefined,
) => ActorCriticPolicy;

/** A finished episode as the statistics wrapper reports it. */
export interface EpisodeSummary {
  return: number;
  length: number;
}

/**
 * Give the event loop a turn (progress output, signals, a page's rendering) between updates, in Node
 * and browsers. Browsers have no `setImmediate`, and clamp a nested `setTimeout(0)` to 4 ms (HTML
 * spec, "timer initialisation steps"): an off-policy learner yielding after every env step would
 * sleep 4 ms a step. A `MessageChannel` message runs as soon as the loop is free, with no clamp.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === "function") setImmediate(resolve);
    else if (typeof MessageChannel === "function") {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    } else setTimeout(resolve, 0);
  });
}

/** Turn an {@link EnvInput} into a same-step-resetting vector env with episode statistics. */
export function prepareEnv(env: EnvInput, numEnvs: number, seed: number): VectorRecordEpisodeStatistics {
  let vector: VectorEnv;
  if (typeof env === "string") {
    vector = make(env, { numEnvs, seed, autoresetMode: "same-step" });
  } else if (isVectorEnv(env)) {
    vector = env;
  } else {
    vector = new SyncVectorEnv([() => env], { autoresetMode: "same-step" });
  }
  return vector instanceof VectorRecordEpisodeStatistics ? vector : new VectorRecordEpisodeStatistics(vector);
}

/**
 * The innermost {@link VectorRecordEpisodeStatistics} in a wrapper chain. A caller who wraps
 * `RecordEpisodeStatistics(env)` in `VectorNormalizeReward` (RL Zoo's `normalize`) gets episode
 * returns in the env's own reward units there, not the normalised ones the outer wrapper sees.
 */
export function innermostEpisodeStatistics(
  env: VectorRecordEpisodeStatistics,
): VectorRecordEpisodeStatistics {
  let found = env;
  let current: VectorEnv = env;
  while (current instanceof VectorWrapper) {
    current = current.env;
    if (current instanceof VectorRecordEpisodeStatistics) found = current;
  }
  return found;
}

/**
 * The {@link VectorNormalizeObservation} in an env's wrapper chain, if any: the observation
 * normaliser whose statistics the on-policy and off-policy families save with the model.
 */
export function findObservationNormalizer(env: VectorEnv): VectorNormalizeObservation | null {
  let current: VectorEnv = env;
  for (;;) {
    if (current instanceof VectorNormalizeObservation) return current;
    if (!(current instanceof VectorWrapper)) return null;
    current = current.env;
  }
}

/**
 * The shared machinery of on-policy algorithms, after SB3's `OnPolicyAlgorithm`: rollout
 * collection over a vector env into a {@link RolloutBuffer} (bootstrapping truncated episodes from
 * their final observation), GAE, the `learn` loop with schedules and callbacks, episode statistics,
 * `predict`, and checkpoint state. A subclass provides its optimizer and `train()`, the update that
 * reads the buffer: the algorithm's objective lives there, in the subclass's own file.
 */
export abstract class OnPolicyAlgorithm {
  /** Name used in saved models and logs ("PPO", "A2C", ...). */
  abstract readonly algorithmName: string;
  /** The options as given to the constructor (saved with the model). */
  abstract readonly options: OnPolicyOptions;
  readonly env: VectorRecordEpisodeStatistics;
  readonly policy: ActorCriticPolicy;
  readonly rng: Rng;
  readonly nSteps: number;
  readonly gamma: number;
  readonly gaeLambda: number;
  /** The entropy coefficient's schedule; {@link entCoef} reads it at the current progress. */
  protected readonly entCoefSchedule: Schedule;
  readonly vfCoef: number;
  readonly maxGradNorm: number;
  readonly normalizeAdvantage: boolean;
  readonly seed: number;
  protected readonly learningRate: Schedule;
  protected readonly buffer: RolloutBuffer;
  /** Environment steps so far (over all envs). */
  numTimesteps = 0;
  /** Updates so far. */
  iteration = 0;
  /** Fraction of the planned timesteps still ahead (1 at the start, 0 at the end), for schedules. */
  protected progressRemaining = 1;
  protected abstract readonly optimizer: Optimizer<BaseOptimizerOptions>;
  /** The observations the next rollout starts from (`[numEnvs * obsSize]`; null before `learn`). */
  protected lastObservations: Float32Array | null = null;
  /** Action masks of `lastObservations` ([numEnvs * n], 1 = allowed), when the env reports `info.actionMask`. */
  protected lastActionMasks: Uint8Array | null = null;
  /** The last `statsWindowSize` finished episodes, behind `rollout/episodeReturn` and `rollout/episodeLength`. */
  private readonly episodeWindow: EpisodeWindow;
  /** Where episode returns are read: the innermost statistics wrapper, below any reward normalisation. */
  private readonly episodeStatistics: VectorRecordEpisodeStatistics;
  private episodesSeen = 0;
  /** The intrinsic reward (`intrinsicReward`), or null when there is none. */
  readonly intrinsic: IntrinsicRollout | null;

  protected constructor(
    env: EnvInput,
    options: OnPolicyOptions,
    defaults: Required<
      Omit<OnPolicyOptions, "policy" | "numEnvs" | "seed" | "statsWindowSize" | "intrinsicReward">
    >,
    createPolicy: PolicyFactory = (observationSpace, actionSpace, rng, policyOptions) =>
      new ActorCriticPolicy(observationSpace, actionSpace, rng, policyOptions),
  ) {
    this.seed = options.seed ?? 0;
    checkInteger(this.seed, "seed", -Number.MAX_SAFE_INTEGER);
    this.rng = new Rng(this.seed);
    const numEnvs = options.numEnvs ?? 1;
    checkInteger(numEnvs, "numEnvs", 1);
    this.env = prepareEnv(env, numEnvs, this.seed);
    this.episodeStatistics = innermostEpisodeStatistics(this.env);
    this.nSteps = options.nSteps ?? defaults.nSteps;
    checkInteger(this.nSteps, "nSteps", 1);
    this.gamma = checkRange(options.gamma ?? defaults.gamma, "gamma", 0, 1);
    this.gaeLambda = checkRange(options.gaeLambda ?? defaults.gaeLambda, "gaeLambda", 0, 1);
    this.entCoefSchedule = resolveSchedule(options.entCoef ?? defaults.entCoef, "entCoef");
    // a schedule is checked where it starts and ends (linear and cosine ones stay between the two)
    checkRange(this.entCoefSchedule(1), "entCoef", 0, Number.POSITIVE_INFINITY);
    checkRange(this.entCoefSchedule(0), "entCoef (at the end of its schedule)", 0, Number.POSITIVE_INFINITY);
    this.vfCoef = checkRange(options.vfCoef ?? defaults.vfCoef, "vfCoef", 0, Number.POSITIVE_INFINITY);
    this.maxGradNorm = options.maxGradNorm ?? defaults.maxGradNorm;
    if (!(this.maxGradNorm > 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `maxGradNorm must be > 0 (Infinity disables clipping), got ${this.maxGradNorm}.`,
      );
    }
    this.normalizeAdvantage = options.normalizeAdvantage ?? defaults.normalizeAdvantage;
    this.learningRate = resolveSchedule(options.learningRate ?? defaults.learningRate, "learningRate");
    const lr0 = this.learningRate(1);
    if (!(lr0 >= 0) || !Number.isFinite(lr0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `learningRate must be a non-negative number, got ${lr0}. Try 3e-4.`,
      );
    }
    this.episodeWindow = new EpisodeWindow(options.statsWindowSize ?? 100);
    this.policy = createPolicy(
      this.env.singleObservationSpace,
      this.env.singleActionSpace,
      this.rng.spawn(),
      options.policy,
    );
    this.buffer = new RolloutBuffer(
      this.nSteps,
      this.env.numEnvs,
      this.policy.observationSize,
      this.policy.actionWidth,
      this.policy.action.kind === "box" ? "float32" : "int32",
    );
    const intrinsic = resolveIntrinsicOptions(options.intrinsicReward);
    // built last, so that without it every generator draw is what it was before the option existed
    this.intrinsic =
      intrinsic === null
        ? null
        : new IntrinsicRollout(
            intrinsic,
            this.env.singleObservationSpace,
            this.env.singleActionSpace,
            this.rng.spawn(),
            this.nSteps,
            this.env.numEnvs,
            this.policy.options.netArch.vf,
          );
  }

  /**
   * The observation normaliser in the training env's wrapper chain, if any: its statistics are saved
   * with the model, and `evaluatePolicy` applies them on envs that do not normalise themselves.
   */
  get observationNormalizer(): VectorNormalizeObservation | null {
    return findObservationNormalizer(this.env);
  }

  /** Transitions per rollout: `nSteps * numEnvs`. */
  get rolloutSize(): number {
    return this.nSteps * this.env.numEnvs;
  }

  /** The entropy coefficient now: its schedule at the current progress remaining. */
  get entCoef(): number {
    return this.entCoefSchedule(this.progressRemaining);
  }

  /** One update from the filled buffer; returns its diagnostics (`train/...` keys). */
  protected abstract train(): UpdateStats;

  /** Set the optimizer's learning rate from the schedule at the current progress. */
  protected updateLearningRate(): number {
    const lr = this.learningRate(this.progressRemaining);
    this.optimizer.learningRate = lr;
    return lr;
  }

  /**
   * Train for `totalTimesteps` environment steps: collect a rollout, update, report, repeat.
   * Resolves when done or when `onUpdate` returns false.
   */
  async learn(options: LearnOptions): Promise<this> {
    const { totalTimesteps } = options;
    checkInteger(totalTimesteps, "totalTimesteps", 1);
    if (options.resetNumTimesteps ?? true) {
      this.numTimesteps = 0;
      this.iteration = 0;
      this.lastObservations = null;
    }
    if (this.lastObservations === null) {
      const first = this.env.reset({ seed: this.seed });
      this.lastObservations = first.observations.slice();
      this.lastActionMasks = this.actionMasksFrom(first.infos, null);
    }
    const start = performance.now();
    const startTimesteps = this.numTimesteps;
    while (this.numTimesteps < totalTimesteps) {
      const rolloutStart = performance.now();
      this.collectRollout();
      const rolloutSeconds = (performance.now() - rolloutStart) / 1000;
      this.progressRemaining = Math.max(0, 1 - this.numTimesteps / totalTimesteps);
      const trainStart = performance.now();
      const trainStats = this.train();
      if (this.intrinsic !== null) Object.assign(trainStats, this.intrinsic.train(this.buffer, this.rng));
      const trainSeconds = (performance.now() - trainStart) / 1000;
      this.iteration++;
      const stats: UpdateStats = {
        ...this.timeStats(start, startTimesteps),
        "time/rolloutSeconds": rolloutSeconds,
        "time/trainSeconds": trainSeconds,
        ...this.episodeStats(),
        ...trainStats,
      };
      this.checkFiniteLoss(trainStats);
      if (options.onUpdate !== undefined) {
        const verdict = await options.onUpdate(stats);
        if (verdict === false) break;
      }
      await yieldToEventLoop();
    }
    return this;
  }

  /** `time/...` of the update just finished, for a `learn` that started at `start` (performance.now()) and `startTimesteps`. */
  protected timeStats(start: number, startTimesteps: number): UpdateStats {
    const elapsed = (performance.now() - start) / 1000;
    return {
      "time/iteration": this.iteration,
      "time/timesteps": this.numTimesteps,
      "time/elapsedSeconds": elapsed,
      "time/stepsPerSecond": (this.numTimesteps - startTimesteps) / Math.max(elapsed, 1e-9),
    };
  }

  /** Stop with `NUMERICAL_ERROR` once the loss is not finite (training would only spread NaN). */
  protected checkFiniteLoss(trainStats: UpdateStats): void {
    const loss = trainStats["train/loss"];
    if (loss !== undefined && !Number.isFinite(loss)) {
      throw new ProximalError(
        "NUMERICAL_ERROR",
        `${this.algorithmName}: the loss became ${loss} at update ${this.iteration} (timestep ${this.numTimesteps}). Lower learningRate, keep maxGradNorm finite, or normalise observations/rewards.`,
      );
    }
  }

  /** Moving-window episode statistics (`rollout/...`), empty before the first episode ends. */
  episodeStats(): UpdateStats {
    return this.episodeWindow.stats(this.episodesSeen);
  }

  /**
   * Fill the buffer with `nSteps` steps of every env, then compute GAE. Truncated episodes are
   * bootstrapped: `r += γ·V(final observation)` on their last step.
   */
  protected collectRollout(): void {
    const env = this.env;
    const n = env.numEnvs;
    const obsSize = this.policy.observationSize;
    this.buffer.reset();
    this.policy.eval();
    let observations = this.lastObservations!;
    const rewards = new Float32Array(n);
    const dones = new Uint8Array(n);
    for (let step = 0; step < this.nSteps; step++) {
      const masks = this.lastActionMasks;
      const { actions, envActions, values, logProbs } = this.policy.act(
        observations,
        n,
        this.rng,
        false,
        masks,
      );
      const result = env.step(envActions);
      this.numTimesteps += n;
      rewards.set(result.rewards);
      let anyDone = false;
      let anyTruncated = false;
      for (let i = 0; i < n; i++) {
        const done = result.terminated[i] === 1 || result.truncated[i] === 1;
        dones[i] = done ? 1 : 0;
        if (done) anyDone = true;
        if (result.truncated[i] === 1 && result.terminated[i] === 0) anyTruncated = true;
      }
      if (this.intrinsic !== null) {
        this.intrinsic.recordStep(step, transitionNextObservations(result, dones, obsSize));
      }
      let nextObservations = result.observations;
      let nextMasks = this.actionMasksFrom(result.infos, null);
      if (anyDone) {
        // the observation each finished episode ended on: same-step mode reports it separately;
        // otherwise it is in `observations`, and we reset those envs now (same-step semantics)
        const finals = result.finalObservations ?? result.observations.slice();
        if (anyTruncated) this.bootstrapTruncated(finals, result.terminated, result.truncated, rewards);
        if (result.finalObservations === null) {
          const reset = env.reset({ options: { resetMask: dones } });
          nextObservations = reset.observations;
          nextMasks = this.actionMasksFrom(reset.infos, nextMasks);
        }
        for (const episode of this.episodeStatistics.drainEpisodes()) this.recordEpisode(episode);
        // the outer wrapper saw normalised rewards; empty it so it does not grow
        if (this.episodeStatistics !== env) env.drainEpisodes();
      }
      this.buffer.add(observations, actions, rewards, dones, values, logProbs, masks);
      observations = nextObservations.slice(0, n * obsSize);
      this.lastActionMasks = nextMasks;
    }
    this.lastObservations = observations;
    const lastValues = noGrad(
      () => this.policy.predictValues(this.policy.observationTensor(observations, n)).values,
    );
    if (this.intrinsic === null)
      this.buffer.computeReturnsAndAdvantage(lastValues, this.gamma, this.gaeLambda);
    else
      this.intrinsic.computeReturnsAndAdvantage(
        this.buffer,
        observations,
        lastValues,
        this.gamma,
        this.gaeLambda,
      );
    this.policy.train();
  }

  /**
   * Action masks from vector infos (`infos.actionMask[i]`, present where `infos._actionMask[i]`),
   * written over `base` (a copy is made); null when the env reports none or actions are not Discrete.
   */
  protected actionMasksFrom(infos: Record<string, unknown>, base: Uint8Array | null): Uint8Array | null {
    if (this.policy.action.kind !== "discrete") return base;
    return actionMasksFromInfos(infos, this.env.numEnvs, this.policy.action.n, base);
  }

  private bootstrapTruncated(
    finals: Float32Array,
    terminated: Uint8Array,
    truncated: Uint8Array,
    rewards: Float32Array,
  ): void {
    const n = this.env.numEnvs;
    const obsSize = this.policy.observationSize;
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (truncated[i] === 1 && terminated[i] === 0) rows.push(i);
    const batch = new Float32Array(rows.length * obsSize);
    rows.forEach((i, j) => {
      batch.set(finals.subarray(i * obsSize, (i + 1) * obsSize), j * obsSize);
    });
    const values = noGrad(
      () => this.policy.predictValues(this.policy.observationTensor(batch, rows.length)).values,
    );
    rows.forEach((i, j) => {
      rewards[i] += this.gamma * values[j];
    });
  }

  /** Add a finished episode to the moving window of `rollout/...` statistics. */
  protected recordEpisode(episode: EpisodeSummary): void {
    this.episodesSeen++;
    this.episodeWindow.record({ return: episode.return, length: episode.length });
  }

  /**
   * Actions for observations `[batch * obsSize]` (SB3's `predict`): the distribution's mode when
   * `deterministic`, else a sample from the model's generator. Box actions come back clipped into
   * the action space.
   */
  predict(
    observations: Float32Array,
    options: { deterministic?: boolean; actionMask?: Uint8Array } = {},
  ): Int32Array | Float32Array {
    return this.policy.predict(observations, this.rng, options);
  }

  /** The spaces of one env, for saving and loading. */
  get spaces(): { observationSpace: Space; actionSpace: Space } {
    return { observationSpace: this.env.singleObservationSpace, actionSpace: this.env.singleActionSpace };
  }

  /** Observation size of one env. */
  get observationSize(): number {
    return flatSize(this.env.singleObservationSpace);
  }

  /**
   * Save weights (safetensors), options, spaces, optimizer state, generator and counters into `target`,
   * so that `load` evaluates exactly as this model and training can resume. `target` is a directory
   * path (Node), a `ModelArchive` (then `toBlob()`) or an `IndexedDBModelFiles`.
   */
  async save(target: ModelTarget): Promise<void> {
    await saveNetworkCheckpoint(target, this, this.optimizer, {}, intrinsicTensors(this.intrinsic));
  }

  /** Load weights, optimizer state and training state from a checkpoint of the same algorithm. */
  loadCheckpointState(checkpoint: Checkpoint, options: { restoreEnv?: boolean } = {}): void {
    checkSavedModel(checkpoint.json, this.algorithmName, this.spaces);
    this.restoreTrainingState(
      restoreNetworkCheckpoint(checkpoint, this.policy, this.optimizer, options.restoreEnv),
    );
    restoreIntrinsic(this.intrinsic, checkpoint);
  }

  /** Checkpoint state besides the weights: counters, generator, last observations, episode window. */
  trainingState(): Record<string, unknown> {
    return {
      numTimesteps: this.numTimesteps,
      iteration: this.iteration,
      rng: this.rng.getState(),
      lastObservations: this.lastObservations === null ? null : Array.from(this.lastObservations),
      lastActionMasks: this.lastActionMasks === null ? null : Array.from(this.lastActionMasks),
      recentEpisodes: this.episodeWindow.toJSON(),
      episodesSeen: this.episodesSeen,
      env: safeEnvState(this.env),
      ...(this.intrinsic === null ? {} : { intrinsic: this.intrinsic.state().json }),
    };
  }

  /** Restore {@link trainingState} (used by `load` and `--resume`). */
  restoreTrainingState(state: Record<string, unknown>): void {
    this.numTimesteps = Number(state.numTimesteps ?? 0);
    this.iteration = Number(state.iteration ?? 0);
    if (state.rng) this.rng.setState(state.rng as never);
    const last = state.lastObservations as number[] | null | undefined;
    // the last observations are only valid for an env restored to the same state; otherwise the
    // next learn() must reset the env first (stepping a fresh env would fail with RESET_NEEDED)
    const envRestored = state.env !== undefined && state.env !== null;
    this.lastObservations = last && envRestored ? Float32Array.from(last) : null;
    const masks = state.lastActionMasks as number[] | null | undefined;
    this.lastActionMasks = masks && envRestored ? Uint8Array.from(masks) : null;
    this.episodeWindow.restore(state.recentEpisodes as EpisodeSummary[] | undefined);
    this.episodesSeen = Number(state.episodesSeen ?? 0);
    if (state.env !== undefined && state.env !== null) this.env.setState(state.env);
  }
}

/** Arguments of an algorithm's static `load`. */
export interface LoadOptions {
  /** The env to attach (default: `make(savedEnvId, { numEnvs: savedNumEnvs })`). */
  env?: EnvInput;
  /** Options to change (e.g. schedules given as functions, which cannot be saved). */
  options?: Record<string, unknown>;
  /** Also restore the env's saved state (exact resume); only with the same kind of env. @defaultValue false */
  restoreEnv?: boolean;
}

/** Rebuild an algorithm from its saved files (the body of each algorithm's static `load`). */
export async function loadAlgorithm<
  A extends { loadCheckpointState(checkpoint: Checkpoint, options: { restoreEnv?: boolean }): void },
>(
  construct: (env: EnvInput, options: Record<string, unknown>) => A,
  source: ModelSource,
  options: LoadOptions = {},
): Promise<A> {
  const files = await modelFiles(source);
  const checkpoint = await loadCheckpoint(files);
  const json = checkpoint.json;
  const savedOptions = optionsFromJSON((json.options as Record<string, unknown>) ?? {}, options.options);
  let env = options.env;
  if (env === undefined) {
    const envId = savedEnvId(json, files.description);
    const numEnvs = Number(json.numEnvs ?? 1);
    savedOptions.numEnvs = numEnvs;
    const normalization = json.observationNormalization as SavedNormalization | null | undefined;
    if (normalization) {
      // the model saw normalised observations: rebuild the normaliser with the saved statistics
      const normalizer = new VectorNormalizeObservation(
        make(envId, { numEnvs, autoresetMode: "same-step" }),
        {
          epsilon: normalization.epsilon,
          clipObservation: normalization.clip ?? Number.POSITIVE_INFINITY,
        },
      );
      normalizer.setStatistics(normalization.statistics as never);
      env = normalizer;
    } else {
      env = envId;
    }
  }
  const model = construct(env, savedOptions);
  model.loadCheckpointState(checkpoint, { restoreEnv: options.restoreEnv ?? false });
  return model;
}

/** The `intrinsic.*` tensors of a checkpoint (none without an intrinsic reward). */
export function intrinsicTensors(intrinsic: { state(): IntrinsicState } | null): Record<string, Tensor> {
  return intrinsic === null ? {} : addPrefix(intrinsic.state().tensors, "intrinsic");
}

/** Restore an intrinsic reward's weights, optimizer and statistics from a checkpoint (if there is one). */
export function restoreIntrinsic(
  intrinsic: { loadState(state: IntrinsicState): void } | null,
  checkpoint: Checkpoint,
): void {
  if (intrinsic === null) return;
  const json = (checkpoint.json.trainingState as Record<string, unknown> | undefined)?.intrinsic;
  if (json === undefined || json === null) {
    throw new ProximalError(
      "MALFORMED_FILE",
      "The checkpoint has no intrinsic-reward state, but the model's options ask for intrinsicReward. Load it with the options it was saved with.",
    );
  }
  intrinsic.loadState({
    tensors: withPrefix(checkpoint.tensors, "intrinsic"),
    json: json as Record<string, unknown>,
  });
}

export function safeEnvState(env: VectorEnv): unknown {
  try {
    return env.getState();
  } catch (error) {
    // envs that say their state cannot be captured (Box2D: INVALID_ARGUMENT, documented on the env)
    // resume from a fresh reset instead; any other failure is a bug and is raised
    if (error instanceof ProximalError && error.code === "INVALID_ARGUMENT") return null;
    throw error;
  }
}

function checkInteger(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new ProximalError("INVALID_OPTION", `${name} must be an integer >= ${min}, got ${value}.`);
  }
}

function checkRange(value: number, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    throw new ProximalError("INVALID_OPTION", `${name} must be in [${min}, ${max}], got ${value}.`);
  }
  return value;
}

export { checkInteger, checkRange };
