import { Box } from "../../envs/spaces/box.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import type { VectorNormalizeObservation } from "../../envs/vector/vectorNormalizeObservation.js";
import type { VectorRecordEpisodeStatistics } from "../../envs/vector/vectorRecordEpisodeStatistics.js";
import { ProximalError } from "../../errors.js";
import type { Checkpoint } from "../../io/checkpoint.js";
import type { ModelSource, ModelTarget } from "../../io/modelFiles.js";
import { modelFiles } from "../../io/modelFiles.js";
import type { SafetensorEntry } from "../../io/safetensors.js";
import { readSafetensors, writeSafetensors } from "../../io/safetensors.js";
import type { Module } from "../../nn/module.js";
import type { BaseOptimizerOptions, Optimizer } from "../../optim/optimizer.js";
import type { Schedule } from "../../optim/schedules.js";
import { Rng } from "../../random/rng.js";
import { IntrinsicReplay } from "../intrinsic/intrinsicReplay.js";
import type { IntrinsicRewardOptions } from "../intrinsic/intrinsicReward.js";
import { resolveIntrinsicOptions } from "../intrinsic/intrinsicReward.js";
import { NStepAdder } from "../replay/nStepAdder.js";
import { betaSchedule, PrioritizedReplayBuffer } from "../replay/prioritizedReplayBuffer.js";
import type { ReplaySample, ReplayState, TransitionBatch } from "../replay/replayBuffer.js";
import { ReplayBuffer } from "../replay/replayBuffer.js";
import { actionMasksFromInfos, transitionActionMasks } from "./actionMasks.js";
import type { Algorithm } from "./algorithm.js";
import { EpisodeWindow } from "./episodeWindow.js";
import type {
  EnvInput,
  EpisodeSummary,
  LearnOptions,
  LoadOptions,
  UpdateStats,
} from "./onPolicyAlgorithm.js";
import {
  checkInteger,
  checkRange,
  findObservationNormalizer,
  innermostEpisodeStatistics,
  intrinsicTensors,
  loadAlgorithm,
  prepareEnv,
  restoreIntrinsic,
  safeEnvState,
  yieldToEventLoop,
} from "./onPolicyAlgorithm.js";
import { checkSavedModel, restoreNetworkCheckpoint, saveNetworkCheckpoint } from "./savedModel.js";
import type { ScheduleLike } from "./scheduleSpec.js";
import { resolveSchedule } from "./scheduleSpec.js";
import { transitionNextObservations } from "./transitionNext.js";

/**
 * Options every off-policy algorithm shares (SB3's `OffPolicyAlgorithm` arguments, camelCased, plus
 * the replay variants of `rl/replay/`). Each algorithm documents its own defaults for these.
 */
export interface OffPolicyOptions {
  /** Optimizer learning rate, or a schedule of progress remaining (1 → 0). */
  learningRate?: ScheduleLike;
  /** Transitions the replay buffer keeps (SB3's `buffer_size`). */
  bufferSize?: number;
  /**
   * Timesteps (over all envs) of uniformly random actions collected before the first gradient step
   * (SB3's `learning_starts`).
   */
  learningStarts?: number;
  /** Minibatch size of each gradient step. */
  batchSize?: number;
  /** Target-network update coefficient τ: 1 copies the weights (hard update), < 1 is Polyak averaging. */
  tau?: number;
  /** Discount factor γ. @defaultValue 0.99 */
  gamma?: number;
  /**
   * Vector-env steps between training phases (SB3's `train_freq` in "step" units: each step of the
   * vector env counts once, whatever `numEnvs` is).
   */
  trainFreq?: number;
  /**
   * Gradient steps per training phase; -1 does as many as timesteps were collected in the phase
   * (`trainFreq * numEnvs`, SB3's `gradient_steps=-1`).
   */
  gradientSteps?: number;
  /**
   * Multi-step returns: store `(s_t, a_t, Σ_{k<n} γ^k r_{t+k}, s_{t+n})` and bootstrap with γ^n
   * (Sutton & Barto 2018, §7.1; Hessel et al. 2018, arXiv:1710.02298, eq. 2), via {@link NStepAdder}.
   * @defaultValue 1 (one-step TD, as SB3 and Mnih et al. 2015)
   */
  nStep?: number;
  /**
   * Prioritised experience replay (Schaul et al. 2016, arXiv:1511.05952): sample transitions by
   * priority `|δ|^α`, weight their losses by `(N·P(i))^(−β)`, β annealed to 1.
   * @defaultValue false (uniform replay, as SB3's DQN)
   */
  prioritized?: boolean;
  /** Priority exponent α of `prioritized`. @defaultValue 0.6 (Schaul et al. 2016, Table 3, proportional) */
  priorityAlpha?: number;
  /**
   * Initial importance-sampling exponent β₀ of `prioritized`, annealed linearly to 1 over training.
   * @defaultValue 0.4 (Schaul et al. 2016, Table 3, proportional)
   */
  priorityBeta?: number;
  /**
   * Save the replay buffer (and pending n-step windows) with the model (`replay.safetensors`), so that
   * a resumed `learn` continues bit-identically. Without it a loaded model starts with an empty buffer.
   * @defaultValue false (SB3 saves it only on `save_replay_buffer`)
   */
  saveReplayBuffer?: boolean;
  /** Seed of every random draw: network init, exploration, minibatches, env resets. @defaultValue 0 */
  seed?: number;
  /** Number of parallel envs when the env is given by id. @defaultValue 1 */
  numEnvs?: number;
  /** Episodes in the moving window of `rollout/episodeReturn`. @defaultValue 100 (SB3's `stats_window_size`) */
  statsWindowSize?: number;
  /**
   * An exploration bonus: ICM (Pathak et al. 2017) or RND (Burda et al. 2018), computed when a
   * minibatch is sampled and added to the replayed rewards, except RND with DQN's scalar Q-values,
   * which learns its non-episodic intrinsic return in a separate Q-function that steers exploration
   * (see `rl/intrinsic/intrinsicReplay.ts`); needs `nStep` 1.
   * @defaultValue { type: "none" } (no bonus; nothing changes)
   */
  intrinsicReward?: IntrinsicRewardOptions;
}

/** Defaults an off-policy algorithm must give for the shared options. */
export type OffPolicyDefaults = Required<
  Pick<
    OffPolicyOptions,
    | "learningRate"
    | "bufferSize"
    | "learningStarts"
    | "batchSize"
    | "tau"
    | "gamma"
    | "trainFreq"
    | "gradientSteps"
  >
>;

/** The replay file written beside `model.safetensors` when `saveReplayBuffer` is set. */
export const REPLAY_FILE = "replay.safetensors";

/** The network an off-policy algorithm trains: a module with resolved options and a flat input size. */
export interface OffPolicyNetwork extends Module {
  readonly options: unknown;
  readonly observationSize: number;
}

/**
 * The shared machinery of off-policy algorithms, after SB3's `OffPolicyAlgorithm`: the `learn` loop
 * alternates collecting `trainFreq` vector-env steps into a replay buffer with `gradientSteps`
 * gradient steps (once more than `learningStarts` timesteps have been collected; before that, actions
 * are uniformly random); transitions are stored with the observation they really led to (the final
 * observation where an episode ended) and `done = terminated`, so truncated episodes bootstrap
 * (Gymnasium core.py; SB3 `handle_timeout_termination`); optional n-step returns and prioritised
 * replay; episode statistics; checkpoint state (weights, optimizer, generator, counters, env and, on
 * request, the replay buffer). A subclass provides the network, the optimizer, `explore` (how
 * actions are chosen while training), `onStep` (per-step bookkeeping such as target updates) and
 * `train` (the gradient steps), in its own file.
 *
 * Differences from SB3: `onUpdate` is called after every collect-and-train phase (SB3 logs every
 * `log_interval` episodes); training waits until the buffer holds `batchSize` transitions
 * (SB3 samples with replacement from fewer); `trainFreq` counts steps only (no episode unit).
 */
export abstract class OffPolicyAlgorithm implements Algorithm {
  abstract readonly algorithmName: string;
  abstract readonly options: OffPolicyOptions;
  abstract readonly policy: OffPolicyNetwork;
  protected abstract readonly optimizer: Optimizer<BaseOptimizerOptions>;
  readonly env: VectorRecordEpisodeStatistics;
  readonly rng: Rng;
  readonly seed: number;
  readonly bufferSize: number;
  readonly learningStarts: number;
  readonly batchSize: number;
  readonly tau: number;
  readonly gamma: number;
  readonly trainFreq: number;
  readonly gradientSteps: number;
  readonly nStep: number;
  readonly prioritized: boolean;
  readonly saveReplayBuffer: boolean;
  readonly replayBuffer: ReplayBuffer;
  /** Turns 1-step transitions into n-step ones (null when `nStep` is 1). */
  readonly nStepAdder: NStepAdder | null;
  protected readonly learningRate: Schedule;
  /** β of prioritised replay as a function of progress remaining (null without `prioritized`). */
  protected readonly priorityBeta: Schedule | null;
  /** Environment steps so far (over all envs). */
  numTimesteps = 0;
  /** Collect-and-train phases so far. */
  iteration = 0;
  /** Gradient steps so far (SB3's `_n_updates`). */
  nUpdates = 0;
  /** Vector-env steps so far (SB3's `_n_calls`, which counts target-update intervals). */
  nCalls = 0;
  /** Fraction of the planned timesteps still ahead (1 at the start, 0 at the end), for schedules. */
  protected progressRemaining = 1;
  /** The observations the next step starts from (`[numEnvs * obsSize]`; null before `learn`). */
  protected lastObservations: Float32Array | null = null;
  /** Action masks of `lastObservations` ([numEnvs * n], 1 = allowed), when the env reports them. */
  protected lastActionMasks: Uint8Array | null = null;
  protected readonly actionSpace: Space;
  /** The last `statsWindowSize` finished episodes, behind `rollout/episodeReturn` and `rollout/episodeLength`. */
  private readonly episodeWindow: EpisodeWindow;
  private readonly episodeStatistics: VectorRecordEpisodeStatistics;
  private episodesSeen = 0;
  /** True once the env reported an action mask for a transition's next state (see transitionMasks). */
  private masksSeen = false;
  /** The intrinsic reward (`intrinsicReward`), or null when there is none. */
  readonly intrinsic: IntrinsicReplay | null;

  protected constructor(env: EnvInput, options: OffPolicyOptions, defaults: OffPolicyDefaults) {
    this.seed = options.seed ?? 0;
    checkInteger(this.seed, "seed", -Number.MAX_SAFE_INTEGER);
    this.rng = new Rng(this.seed);
    const numEnvs = options.numEnvs ?? 1;
    checkInteger(numEnvs, "numEnvs", 1);
    this.env = prepareEnv(env, numEnvs, this.seed);
    this.episodeStatistics = innermostEpisodeStatistics(this.env);
    this.actionSpace = this.env.singleActionSpace;
    this.bufferSize = options.bufferSize ?? defaults.bufferSize;
    checkInteger(this.bufferSize, "bufferSize", 1);
    this.learningStarts = options.learningStarts ?? defaults.learningStarts;
    checkInteger(this.learningStarts, "learningStarts", 0);
    this.batchSize = options.batchSize ?? defaults.batchSize;
    checkInteger(this.batchSize, "batchSize", 1);
    if (this.batchSize > this.bufferSize) {
      throw new ProximalError(
        "INVALID_OPTION",
        `batchSize (${this.batchSize}) is larger than bufferSize (${this.bufferSize}). Lower batchSize or raise bufferSize.`,
      );
    }
    this.tau = checkRange(options.tau ?? defaults.tau, "tau", 0, 1);
    if (this.tau === 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        "tau must be in (0, 1]: 0 never updates the target network. Try 1 (hard) or 0.005 (soft).",
      );
    }
    this.gamma = checkRange(options.gamma ?? defaults.gamma, "gamma", 0, 1);
    this.trainFreq = options.trainFreq ?? defaults.trainFreq;
    checkInteger(this.trainFreq, "trainFreq", 1);
    this.gradientSteps = options.gradientSteps ?? defaults.gradientSteps;
    checkInteger(this.gradientSteps, "gradientSteps", -1);
    this.nStep = options.nStep ?? 1;
    checkInteger(this.nStep, "nStep", 1);
    this.prioritized = options.prioritized ?? false;
    this.saveReplayBuffer = options.saveReplayBuffer ?? false;
    const statsWindowSize = options.statsWindowSize ?? 100;
    checkInteger(statsWindowSize, "statsWindowSize", 1);
    this.episodeWindow = new EpisodeWindow(statsWindowSize);
    this.learningRate = resolveSchedule(options.learningRate ?? defaults.learningRate, "learningRate");
    const lr0 = this.learningRate(1);
    if (!(lr0 >= 0) || !Number.isFinite(lr0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `learningRate must be a non-negative number, got ${lr0}. Try 1e-4.`,
      );
    }
    const obsSize = flatSize(this.env.singleObservationSpace);
    const { actionWidth, actionDtype } = actionLayout(this.actionSpace);
    const bufferOptions = { capacity: this.bufferSize, obsSize, actionWidth, actionDtype };
    if (this.prioritized) {
      this.replayBuffer = new PrioritizedReplayBuffer({
        ...bufferOptions,
        alpha: options.priorityAlpha ?? 0.6,
      });
      this.priorityBeta = betaSchedule(options.priorityBeta ?? 0.4, 1);
    } else {
      this.replayBuffer = new ReplayBuffer(bufferOptions);
      this.priorityBeta = null;
    }
    this.nStepAdder =
      this.nStep === 1
        ? null
        : new NStepAdder({
            nSteps: this.nStep,
            gamma: this.gamma,
            numEnvs,
            obsSize,
            actionWidth,
            actionDtype,
          });
    const intrinsic = resolveIntrinsicOptions(options.intrinsicReward);
    if (intrinsic !== null && this.nStep !== 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `intrinsicReward needs nStep 1, got nStep ${this.nStep}: the bonus of a replayed transition (s, a, s') is computed at sampling time, and an n-step row only keeps s_t and s_{t+n}. Set nStep: 1 or intrinsicReward.type: "none".`,
      );
    }
    this.intrinsic =
      intrinsic === null
        ? null
        : new IntrinsicReplay(intrinsic, this.env.singleObservationSpace, this.actionSpace, this.rng.spawn());
  }

  /**
   * Actions to take while training, for `observations [numEnvs * obsSize]` once `learningStarts`
   * has passed (DQN: ε-greedy). `masks` restricts Discrete choices (1 = allowed).
   */
  protected abstract explore(observations: Float32Array, masks: Uint8Array | null): Int32Array | Float32Array;

  /** Called after every vector-env step (SB3's `_on_step`: target updates, exploration schedule). */
  protected abstract onStep(): void;

  /** `gradientSteps` gradient steps from the replay buffer; returns their diagnostics (`train/...`). */
  protected abstract train(gradientSteps: number): UpdateStats;

  /** Actions for observations `[batch * obsSize]` in the env's units (SB3's `predict`); `deterministic` takes the greedy or mean action. */
  abstract predict(
    observations: Float32Array,
    options?: { deterministic?: boolean; actionMask?: Uint8Array },
  ): Int32Array | Float32Array;

  /** The observation normaliser in the training env's wrapper chain, if any (saved with the model). */
  get observationNormalizer(): VectorNormalizeObservation | null {
    return findObservationNormalizer(this.env);
  }

  /** Set the optimizer's learning rate from the schedule at the current progress. */
  protected updateLearningRate(): number {
    const lr = this.learningRate(this.progressRemaining);
    this.optimizer.learningRate = lr;
    return lr;
  }

  /** A minibatch from the replay buffer (with importance weights under `prioritized`). */
  protected sampleReplay(): ReplaySample & { weights?: Float32Array } {
    const batch =
      this.replayBuffer instanceof PrioritizedReplayBuffer
        ? this.replayBuffer.sample(this.batchSize, this.rng, this.priorityBeta!(this.progressRemaining))
        : this.replayBuffer.sample(this.batchSize, this.rng);
    return this.intrinsic === null ? batch : this.intrinsic.augment(batch, this.rng);
  }

  /**
   * Train for `totalTimesteps` environment steps: collect `trainFreq` steps, train, report, repeat.
   * Resolves when done or when `onUpdate` returns false.
   */
  async learn(options: LearnOptions): Promise<this> {
    const { totalTimesteps } = options;
    checkInteger(totalTimesteps, "totalTimesteps", 1);
    if (options.resetNumTimesteps ?? true) {
      this.numTimesteps = 0;
      this.iteration = 0;
      this.nCalls = 0;
      this.lastObservations = null;
    }
    if (this.lastObservations === null) {
      const first = this.env.reset({ seed: this.seed });
      this.lastObservations = first.observations.slice();
      this.lastActionMasks = this.actionMasksFrom(first.infos, null);
      this.nStepAdder?.reset();
    }
    const start = performance.now();
    const startTimesteps = this.numTimesteps;
    while (this.numTimesteps < totalTimesteps) {
      const rolloutStart = performance.now();
      const collected = this.collectSteps(totalTimesteps);
      const rolloutSeconds = (performance.now() - rolloutStart) / 1000;
      const trainStart = performance.now();
      let trainStats: UpdateStats = {};
      // SB3: train once more than learning_starts timesteps have been collected
      if (this.numTimesteps > this.learningStarts && this.replayBuffer.size >= this.batchSize) {
        const steps = this.gradientSteps >= 0 ? this.gradientSteps : collected;
        if (steps > 0) trainStats = this.train(steps);
      }
      const trainSeconds = (performance.now() - trainStart) / 1000;
      this.iteration++;
      const elapsed = (performance.now() - start) / 1000;
      const stats: UpdateStats = {
        "time/iteration": this.iteration,
        "time/timesteps": this.numTimesteps,
        "time/elapsedSeconds": elapsed,
        "time/stepsPerSecond": (this.numTimesteps - startTimesteps) / Math.max(elapsed, 1e-9),
        "time/rolloutSeconds": rolloutSeconds,
        "time/trainSeconds": trainSeconds,
        ...this.episodeStats(),
        ...this.rolloutStats(),
        "train/nUpdates": this.nUpdates,
        ...trainStats,
        ...(this.intrinsic === null ? {} : this.intrinsic.drainStats()),
      };
      const loss = trainStats["train/loss"];
      if (loss !== undefined && !Number.isFinite(loss)) {
        throw new ProximalError(
          "NUMERICAL_ERROR",
          `${this.algorithmName}: the loss became ${loss} at update ${this.iteration} (timestep ${this.numTimesteps}). Lower learningRate, keep maxGradNorm finite, or normalise observations/rewards.`,
        );
      }
      if (options.onUpdate !== undefined) {
        const verdict = await options.onUpdate(stats);
        if (verdict === false) break;
      }
      await yieldToEventLoop();
    }
    return this;
  }

  /**
   * The actions to store for the actions stepped (a copy): the same by default; the continuous
   * algorithms store them scaled to [−1, 1] as SB3 does (`buffer_action`), so critics never see env units.
   */
  protected bufferActions(actions: Int32Array | Float32Array): Int32Array | Float32Array {
    return actions.slice();
  }

  /** Called after a step where some envs' episodes ended (`dones[i] = 1`): e.g. reset their action noise. */
  protected onEpisodesDone(_dones: Uint8Array): void {}

  /** Extra `rollout/...` diagnostics of the subclass (DQN: the exploration rate). */
  protected rolloutStats(): UpdateStats {
    return {};
  }

  /**
   * Step the vector env `trainFreq` times (stopping early at `totalTimesteps`), storing every
   * transition; returns the timesteps collected.
   */
  protected collectSteps(totalTimesteps: number): number {
    const env = this.env;
    const n = env.numEnvs;
    const obsSize = this.policy.observationSize;
    const before = this.numTimesteps;
    this.policy.eval();
    let observations = this.lastObservations!;
    for (let step = 0; step < this.trainFreq && this.numTimesteps < totalTimesteps; step++) {
      const masks = this.lastActionMasks;
      const actions =
        this.numTimesteps < this.learningStarts
          ? this.randomActions(n, masks)
          : this.explore(observations, masks);
      const result = env.step(actions);
      this.numTimesteps += n;
      const terminated = result.terminated.slice();
      const truncated = result.truncated.slice();
      let anyDone = false;
      const dones = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        if (terminated[i] === 1 || truncated[i] === 1) {
          dones[i] = 1;
          anyDone = true;
        }
      }
      // the observation each transition led to: the final one where the episode ended (same-step
      // mode reports it separately; otherwise it is `observations`, and those envs are reset here)
      const transitionNext = transitionNextObservations(result, dones, obsSize);
      // their masks, read before any reset below replaces the infos
      const transitionMasks = this.transitionMasks(
        result.infos,
        dones,
        terminated,
        result.finalObservations !== null,
      );
      let nextObservations = result.observations;
      let nextMasks = this.actionMasksFrom(result.infos, null);
      if (anyDone) {
        if (result.finalObservations === null) {
          const reset = env.reset({ options: { resetMask: dones } });
          nextObservations = reset.observations;
          nextMasks = this.actionMasksFrom(reset.infos, nextMasks);
        }
        for (const episode of this.episodeStatistics.drainEpisodes()) this.recordEpisode(episode);
        if (this.episodeStatistics !== env) env.drainEpisodes();
        this.onEpisodesDone(dones);
      }
      if (this.intrinsic !== null) this.intrinsic.observeStep(observations, actions, transitionNext, n);
      this.storeTransitions({
        observations,
        actions: this.bufferActions(actions),
        rewards: result.rewards.slice(),
        nextObservations: transitionNext,
        terminated,
        truncated,
        ...(transitionMasks === null ? {} : { nextActionMasks: transitionMasks }),
      });
      observations = nextObservations.slice(0, n * obsSize);
      this.lastActionMasks = nextMasks;
      this.lastObservations = observations;
      this.nCalls++;
      this.progressRemaining = Math.max(0, 1 - this.numTimesteps / totalTimesteps);
      this.onStep();
    }
    this.policy.train();
    return this.numTimesteps - before;
  }

  /**
   * The next-state masks to store with one vector step, or null when the env reports none (then
   * nothing changes for unmasked envs: no mask array is stored or sampled). Once the replay buffer
   * stores masks, every non-terminal transition needs one: an env that stops reporting masks fails
   * here instead of having its targets bootstrap over actions that may be forbidden. Terminated
   * transitions bootstrap nothing, so a missing mask there is stored as all ones.
   */
  private transitionMasks(
    infos: Record<string, unknown>,
    dones: Uint8Array,
    terminated: Uint8Array,
    sameStep: boolean,
  ): Uint8Array | null {
    if (!(this.actionSpace instanceof Discrete)) return null;
    const n = this.actionSpace.n;
    const found = transitionActionMasks(infos, dones, sameStep, n);
    // the buffer's masks survive save/load; masksSeen covers steps still waiting in an n-step window
    const expected = this.masksSeen || this.replayBuffer.maskWidth !== null;
    if (found === null && !expected) return null;
    this.masksSeen = true;
    for (let i = 0; i < dones.length; i++) {
      if ((found === null || found.present[i] === 0) && terminated[i] === 0) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `${this.algorithmName}: env ${i} reported no info.actionMask at timestep ${this.numTimesteps}, but ${found === null ? "earlier steps" : "other envs or earlier steps"} did. The TD target takes its max over the next state's allowed actions, so every non-terminal step needs the mask of the state it reached. Report info.actionMask on every reset and step (e.g. wrap the env in ActionMasking), or on none.`,
        );
      }
    }
    return found === null ? new Uint8Array(dones.length * n).fill(1) : found.masks;
  }

  /** Add one vector step to the buffer, through the n-step adder when there is one. */
  private storeTransitions(step: Omit<TransitionBatch, "steps">): void {
    const batch = this.nStepAdder === null ? step : this.nStepAdder.add(step);
    if (batch.rewards.length > 0) this.addToReplay(batch);
  }

  /**
   * Write finished (n-step) transitions into the replay buffer. D4PG's actor workers override it to
   * send them to the learner, which owns the one shared buffer.
   */
  protected addToReplay(batch: TransitionBatch): void {
    this.replayBuffer.add(batch);
  }

  /** Uniformly random actions (SB3 samples the action space before `learning_starts`), masks respected. */
  protected randomActions(n: number, masks: Uint8Array | null): Int32Array | Float32Array {
    const space = this.actionSpace;
    if (space instanceof Discrete) {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = randomAllowed(space.n, masks, i, this.rng);
      return out;
    }
    if (space instanceof Box) {
      const d = space.size;
      const out = new Float32Array(n * d);
      for (let i = 0; i < n; i++)
        for (let k = 0; k < d; k++) out[i * d + k] = this.rng.uniform(space.low[k], space.high[k]);
      return out;
    }
    throw new ProximalError(
      "UNSUPPORTED_SPACE",
      `Off-policy algorithms support Discrete and Box actions, got ${JSON.stringify(space.toJSON())}.`,
    );
  }

  /** Action masks from vector infos, or null when the env reports none or actions are not Discrete. */
  protected actionMasksFrom(infos: Record<string, unknown>, base: Uint8Array | null): Uint8Array | null {
    if (!(this.actionSpace instanceof Discrete)) return base;
    return actionMasksFromInfos(infos, this.env.numEnvs, this.actionSpace.n, base);
  }

  /** Add a finished episode to the moving window of `rollout/...` statistics. */
  protected recordEpisode(episode: EpisodeSummary): void {
    this.episodesSeen++;
    this.episodeWindow.record({ return: episode.return, length: episode.length });
  }

  /** Moving-window episode statistics (`rollout/...`), as the on-policy family reports them. */
  episodeStats(): UpdateStats {
    return this.episodeWindow.stats(this.episodesSeen);
  }

  /** The spaces of one env, for saving and loading. */
  get spaces(): { observationSpace: Space; actionSpace: Space } {
    return { observationSpace: this.env.singleObservationSpace, actionSpace: this.env.singleActionSpace };
  }

  /**
   * Save weights, options, spaces, optimizer state, generator and counters into `target` (and the replay
   * buffer into `replay.safetensors` with `saveReplayBuffer`), so that `load` evaluates exactly as this
   * model and training can resume. `target` is a directory path (Node), a `ModelArchive` or an
   * `IndexedDBModelFiles`.
   */
  async save(target: ModelTarget): Promise<void> {
    const files = await modelFiles(target);
    await saveNetworkCheckpoint(
      files,
      this,
      this.optimizer,
      { replayBufferSaved: this.saveReplayBuffer },
      intrinsicTensors(this.intrinsic),
    );
    if (this.saveReplayBuffer) {
      const buffer = this.replayBuffer.state();
      const adder = this.nStepAdder?.state() ?? null;
      const tensors: Record<string, SafetensorEntry> = {};
      for (const [k, v] of Object.entries(buffer.tensors)) tensors[`buffer.${k}`] = v;
      if (adder !== null) for (const [k, v] of Object.entries(adder.tensors)) tensors[`adder.${k}`] = v;
      const metadata = { buffer: JSON.stringify(buffer.json), adder: JSON.stringify(adder?.json ?? null) };
      await files.write(REPLAY_FILE, writeSafetensors(tensors, metadata));
    }
  }

  /** Restore the replay buffer saved beside a model (`replay.safetensors`); false when there is none. */
  async loadReplayBuffer(source: ModelSource): Promise<boolean> {
    const bytes = await (await modelFiles(source)).read(REPLAY_FILE);
    if (bytes === undefined) return false;
    const { tensors, metadata } = readSafetensors(bytes);
    const part = (prefix: string, json: string | undefined): ReplayState => {
      const out: Record<string, SafetensorEntry> = {};
      for (const [k, v] of Object.entries(tensors))
        if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
      return { tensors: out, json: JSON.parse(json ?? "{}") as Record<string, unknown> };
    };
    this.replayBuffer.loadState(part("buffer", metadata.buffer));
    if (this.nStepAdder !== null) this.nStepAdder.loadState(part("adder", metadata.adder));
    return true;
  }

  /** Load weights, optimizer state and training state from a checkpoint of the same algorithm. */
  loadCheckpointState(checkpoint: Checkpoint, options: { restoreEnv?: boolean } = {}): void {
    checkSavedModel(checkpoint.json, this.algorithmName, this.spaces);
    this.restoreTrainingState(
      restoreNetworkCheckpoint(checkpoint, this.policy, this.optimizer, options.restoreEnv),
    );
    restoreIntrinsic(this.intrinsic, checkpoint);
  }

  /** Checkpoint state besides the weights and the buffer: counters, generator, last observations, episodes. */
  trainingState(): Record<string, unknown> {
    return {
      numTimesteps: this.numTimesteps,
      iteration: this.iteration,
      nUpdates: this.nUpdates,
      nCalls: this.nCalls,
      progressRemaining: this.progressRemaining,
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
    this.nUpdates = Number(state.nUpdates ?? 0);
    this.nCalls = Number(state.nCalls ?? 0);
    this.progressRemaining = Number(state.progressRemaining ?? 1);
    if (state.rng) this.rng.setState(state.rng as never);
    // the last observations only match an env restored to the same state; otherwise learn() resets
    const envRestored = state.env !== undefined && state.env !== null;
    const last = state.lastObservations as number[] | null | undefined;
    this.lastObservations = last && envRestored ? Float32Array.from(last) : null;
    const masks = state.lastActionMasks as number[] | null | undefined;
    this.lastActionMasks = masks && envRestored ? Uint8Array.from(masks) : null;
    this.episodeWindow.restore(state.recentEpisodes as EpisodeSummary[] | undefined);
    this.episodesSeen = Number(state.episodesSeen ?? 0);
    if (envRestored) this.env.setState(state.env);
  }
}

/** Rebuild an off-policy algorithm from its saved files, with its replay buffer when one was saved. */
export async function loadOffPolicyAlgorithm<A extends OffPolicyAlgorithm>(
  construct: (env: EnvInput, options: Record<string, unknown>) => A,
  source: ModelSource,
  options: LoadOptions = {},
): Promise<A> {
  const files = await modelFiles(source);
  const model = await loadAlgorithm(construct, files, options);
  if (model.saveReplayBuffer) await model.loadReplayBuffer(files);
  return model;
}

/** A uniformly random allowed action of row `i` (`masks[i * n + a] = 1`), or of all n without masks. */
export function randomAllowed(n: number, masks: Uint8Array | null | undefined, i: number, rng: Rng): number {
  if (!masks) return rng.integer(n);
  let allowed = 0;
  for (let a = 0; a < n; a++) if (masks[i * n + a] !== 0) allowed++;
  if (allowed === 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `Action mask row ${i} allows no action. Every state needs at least one allowed action.`,
    );
  }
  let k = rng.integer(allowed);
  for (let a = 0; a < n; a++) {
    if (masks[i * n + a] === 0) continue;
    if (k === 0) return a;
    k--;
  }
  return n - 1;
}

function actionLayout(space: Space): { actionWidth: number; actionDtype: "int32" | "float32" } {
  if (space instanceof Discrete) return { actionWidth: 1, actionDtype: "int32" };
  if (space instanceof Box) return { actionWidth: space.size, actionDtype: "float32" };
  throw new ProximalError(
    "UNSUPPORTED_SPACE",
    `Off-policy algorithms support Discrete and Box actions, got ${JSON.stringify(space.toJSON())}.`,
  );
}
