/**
 * The shared machinery of the tabular TD-control algorithms ({@link QLearning}, {@link Sarsa},
 * {@link ExpectedSarsa}): a `Float64Array` action-value table over a Discrete observation space and
 * a Discrete action space, ε-greedy behaviour with SB3 DQN's linear exploration schedule, the
 * episode loop of Sutton & Barto's boxed algorithms (§6.4-6.6) with Gymnasium's
 * terminated/truncated split, per-episode statistics, `predict`, and exact save/resume. Each
 * subclass adds only its update rule, which lives (pure and exported) in the subclass's own file.
 *
 * The loop steps one env (a tabular update is sequential; a vector env would only reorder it):
 * - choose A from S (ε-greedy), step, observe R, S', terminated, truncated;
 * - Sarsa chooses A' from S' before its update (its target needs it; S&B §6.4 box), Q-learning and
 *   Expected Sarsa choose after the update (S&B §6.5 box), which matters when S' = S;
 * - `terminated`: S' is terminal, the target is R alone; `truncated` (a time limit, outside the
 *   MDP): S' is an ordinary state, so the target bootstraps from it (Pardo et al. 2018,
 *   arXiv:1712.00378; Gymnasium `core.py`), then the env is reset.
 */
import type { Env, Info } from "../../envs/env.js";
import { make } from "../../envs/make.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import type { Space } from "../../envs/spaces/space.js";
import { isVectorEnv } from "../../envs/vector/vectorEnv.js";
import { ProximalError } from "../../errors.js";
import type { Checkpoint } from "../../io/checkpoint.js";
import { loadCheckpoint, saveCheckpoint } from "../../io/checkpoint.js";
import type { ModelSource, ModelTarget } from "../../io/modelFiles.js";
import { modelFiles } from "../../io/modelFiles.js";
import type { Schedule } from "../../optim/schedules.js";
import { Rng, type RngState } from "../../random/rng.js";
import { Tensor } from "../../tensor/tensor.js";
import { VERSION } from "../../version.js";
import { actionMaskFromInfo } from "../common/actionMasks.js";
import type { Algorithm } from "../common/algorithm.js";
import { EpisodeWindow } from "../common/episodeWindow.js";
import type { EpisodeSummary, UpdateStats } from "../common/onPolicyAlgorithm.js";
import { yieldToEventLoop } from "../common/onPolicyAlgorithm.js";
import { checkSavedModel, optionsFromJSON, optionsToJSON, savedEnvId } from "../common/savedModel.js";
import type { ScheduleLike } from "../common/scheduleSpec.js";
import { resolveSchedule } from "../common/scheduleSpec.js";
import type { ActionMask } from "./epsilonGreedy.js";
import { epsilonGreedyAction, greedyAction } from "./epsilonGreedy.js";

/**
 * Options every tabular TD-control algorithm shares.
 *
 * Exploration is ε-greedy with SB3 DQN's schedule (`dqn.py`, `get_linear_fn`): ε goes linearly from
 * `explorationInitialEps` to `explorationFinalEps` over the first `explorationFraction` of the
 * training budget (timesteps, or episodes with `learn({ totalEpisodes })`), then stays. A constant ε,
 * as in Sutton & Barto's examples, is `explorationInitialEps = explorationFinalEps = ε`.
 */
export interface TabularOptions {
  /**
   * Step size α, or a schedule of progress remaining (1 → 0).
   * @defaultValue 0.1 (ours: no reference library has a tabular default; S&B's examples use 0.1-0.5)
   */
  learningRate?: ScheduleLike;
  /** Discount factor γ. @defaultValue 0.99 (SB3) */
  gamma?: number;
  /** ε at the start of training. @defaultValue 1.0 (SB3 DQN `exploration_initial_eps`) */
  explorationInitialEps?: number;
  /** ε after the anneal. @defaultValue 0.05 (SB3 DQN `exploration_final_eps`) */
  explorationFinalEps?: number;
  /** Fraction of the budget over which ε is annealed. @defaultValue 0.1 (SB3 DQN `exploration_fraction`) */
  explorationFraction?: number;
  /**
   * Initial value of every Q(s, a) (S&B: "arbitrarily", terminal states 0; optimistic values
   * encourage exploration, §2.6). @defaultValue 0
   */
  initialQ?: number;
  /** Seed of exploration, tie-breaking and the env's first reset. @defaultValue 0 */
  seed?: number;
  /** Episodes in the moving window of `rollout/episodeReturn`. @defaultValue 100 (SB3's `stats_window_size`) */
  statsWindowSize?: number;
}

/** One transition as the update rules see it. */
export interface TabularTransition {
  /** S, as a row index of the table (observation minus the space's `start`). */
  state: number;
  /** A, as a column index (action minus the space's `start`). */
  action: number;
  reward: number;
  /** S' (for a truncated episode: the final state, which is not terminal). */
  nextState: number;
  /** S' is terminal (Gymnasium's `terminated`): Q(S', ·) is 0 by definition, the target is R. */
  terminated: boolean;
  /** The actions allowed in S' (1 = allowed), for the max or the expectation; null = all. */
  nextActionMask?: ActionMask;
}

/** Arguments of a tabular `learn`: give exactly one budget. */
export interface TabularLearnOptions {
  /** Environment steps to train for. */
  totalTimesteps?: number;
  /** Episodes to train for (S&B's examples count episodes). */
  totalEpisodes?: number;
  /** Called after every finished episode with its statistics; returning `false` stops training. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback that returns nothing must type-check
  onUpdate?: (stats: UpdateStats) => void | boolean | Promise<void | boolean>;
  /**
   * Count from zero and start from a freshly seeded reset (true), or continue the counts, the
   * episode in progress and the schedules of an earlier `learn` or a loaded checkpoint (false, for
   * resuming to a planned total). @defaultValue true
   */
  resetNumTimesteps?: boolean;
}

/** Arguments of a tabular algorithm's static `load`. */
export interface TabularLoadOptions {
  /** The env to attach (default: `make(savedEnvId)`). */
  env?: Env | string;
  /** Options to change (e.g. schedules given as functions, which cannot be saved). */
  options?: Record<string, unknown>;
  /** Also restore the env's saved state and the episode in progress (exact resume). @defaultValue false */
  restoreEnv?: boolean;
}

const defaults = {
  learningRate: 0.1,
  gamma: 0.99,
  explorationInitialEps: 1.0,
  explorationFinalEps: 0.05,
  explorationFraction: 0.1,
  initialQ: 0,
  seed: 0,
  statsWindowSize: 100,
} as const;

/** SB3's `get_linear_fn(start, end, endFraction)` at `progressRemaining` (1 → 0). */
export function linearExploration(
  start: number,
  end: number,
  endFraction: number,
  progressRemaining: number,
): number {
  const progress = 1 - progressRemaining;
  if (endFraction <= 0 || progress >= endFraction) return end;
  return start + (progress * (end - start)) / endFraction;
}

function discreteSpace(space: Space, what: string, algorithm: string): Discrete {
  if (space instanceof Discrete) return space;
  throw new ProximalError(
    "UNSUPPORTED_SPACE",
    `${algorithm} needs a Discrete ${what} space (a table has one row per state and one column per action), got ${space}. Use a toy-text env such as FrozenLake-v1, CliffWalking-v1 or Taxi-v4, or a function-approximation method (DQN, PPO) for this env.`,
  );
}

function probability(value: number, name: string): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new ProximalError("INVALID_OPTION", `${name} must be in [0, 1], got ${value}.`);
  }
  return value;
}

/**
 * The base class of {@link QLearning}, {@link Sarsa} and {@link ExpectedSarsa}. It is an
 * {@link Algorithm} (the CLI trains, checkpoints, resumes and evaluates it like any other) with no
 * `policy` network and an extra episode budget, `learn({ totalEpisodes })`.
 */
export abstract class TabularAlgorithm implements Algorithm {
  /** Name used in saved models and logs ("QLearning", "Sarsa", "ExpectedSarsa"). */
  abstract readonly algorithmName: string;
  /** The options as given to the constructor (saved with the model). */
  readonly options: TabularOptions;
  readonly env: Env;
  readonly rng: Rng;
  readonly seed: number;
  readonly gamma: number;
  readonly explorationInitialEps: number;
  readonly explorationFinalEps: number;
  readonly explorationFraction: number;
  readonly initialQ: number;
  readonly statsWindowSize: number;
  readonly numStates: number;
  readonly numActions: number;
  /** Q(s, a) at `qTable[s * numActions + a]` (rows and columns count from the spaces' `start`). */
  readonly qTable: Float64Array; // [numStates * numActions]
  protected readonly learningRate: Schedule;
  private readonly observationStart: number;
  private readonly actionStart: number;
  /** Environment steps so far. */
  numTimesteps = 0;
  /** Finished episodes so far. */
  numEpisodes = 0;
  /** Fraction of the planned budget still ahead (1 → 0), for the schedules. */
  progressRemaining = 1;
  /** The state the next step starts from; null before the first reset. */
  private state: number | null = null;
  private stateMask: Uint8Array | null = null;
  /** Sarsa's A', chosen before the update and taken at the next step. */
  private pendingAction: number | null = null;
  private episodeReturn = 0;
  private episodeLength = 0;
  /** The last `statsWindowSize` finished episodes, behind `rollout/episodeReturn` and `rollout/episodeLength`. */
  private readonly episodeWindow: EpisodeWindow;

  /**
   * Sarsa chooses A' before its update (its target is Q(S', A')); Q-learning and Expected Sarsa
   * choose the next action after the update, as in S&B's boxes.
   */
  protected readonly choosesNextActionFirst: boolean = false;

  constructor(env: Env | string, options: TabularOptions, algorithmName: string) {
    this.options = options;
    this.seed = options.seed ?? defaults.seed;
    if (!Number.isInteger(this.seed)) {
      throw new ProximalError("INVALID_OPTION", `seed must be an integer, got ${this.seed}.`);
    }
    this.rng = new Rng(this.seed);
    if (isVectorEnv(env)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${algorithmName} steps a single env (tabular updates are sequential); got a vector env of ${env.numEnvs} envs. Pass make(id) or the id itself.`,
      );
    }
    this.env = typeof env === "string" ? make<number, number>(env, { seed: this.seed }) : env;
    const observationSpace = discreteSpace(this.env.observationSpace, "observation", algorithmName);
    const actionSpace = discreteSpace(this.env.actionSpace, "action", algorithmName);
    this.numStates = observationSpace.n;
    this.numActions = actionSpace.n;
    this.observationStart = observationSpace.start;
    this.actionStart = actionSpace.start;
    this.gamma = probability(options.gamma ?? defaults.gamma, "gamma");
    this.explorationInitialEps = probability(
      options.explorationInitialEps ?? defaults.explorationInitialEps,
      "explorationInitialEps",
    );
    this.explorationFinalEps = probability(
      options.explorationFinalEps ?? defaults.explorationFinalEps,
      "explorationFinalEps",
    );
    this.explorationFraction = probability(
      options.explorationFraction ?? defaults.explorationFraction,
      "explorationFraction",
    );
    this.initialQ = options.initialQ ?? defaults.initialQ;
    if (!Number.isFinite(this.initialQ)) {
      throw new ProximalError("INVALID_OPTION", `initialQ must be a finite number, got ${this.initialQ}.`);
    }
    this.learningRate = resolveSchedule(options.learningRate ?? defaults.learningRate, "learningRate");
    const alpha0 = this.learningRate(1);
    if (!(alpha0 > 0 && alpha0 <= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `learningRate (the step size α) must be in (0, 1], got ${alpha0}. S&B's examples use 0.1 to 0.5.`,
      );
    }
    this.statsWindowSize = options.statsWindowSize ?? defaults.statsWindowSize;
    if (!Number.isInteger(this.statsWindowSize) || this.statsWindowSize < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `statsWindowSize must be a positive integer, got ${this.statsWindowSize}.`,
      );
    }
    this.episodeWindow = new EpisodeWindow(this.statsWindowSize);
    this.qTable = new Float64Array(this.numStates * this.numActions).fill(this.initialQ);
  }

  /**
   * The algorithm's TD update of `transition` on {@link qTable} (in place); returns the TD error δ.
   * `nextAction` is Sarsa's A' (null when S' is terminal or for the other algorithms).
   */
  protected abstract update(
    transition: TabularTransition,
    nextAction: number | null,
    learningRate: number,
    epsilon: number,
  ): number;

  /** ε at the current progress (SB3's `exploration_rate`). */
  get explorationRate(): number {
    return linearExploration(
      this.explorationInitialEps,
      this.explorationFinalEps,
      this.explorationFraction,
      this.progressRemaining,
    );
  }

  /** The greedy action of every state (lowest index among ties), as env actions. */
  greedyPolicy(): Int32Array {
    const policy = new Int32Array(this.numStates);
    for (let s = 0; s < this.numStates; s++) {
      policy[s] = this.actionStart + greedyAction(this.qTable, this.numActions, s, null, null);
    }
    return policy;
  }

  /** `max_a Q(s, a)` of every state. */
  stateValues(): Float64Array {
    const values = new Float64Array(this.numStates);
    for (let s = 0; s < this.numStates; s++) {
      let best = Number.NEGATIVE_INFINITY;
      for (let a = 0; a < this.numActions; a++) best = Math.max(best, this.qTable[s * this.numActions + a]);
      values[s] = best;
    }
    return values;
  }

  private stateIndex(observation: unknown): number {
    const s = (observation as number) - this.observationStart;
    if (!Number.isInteger(s) || s < 0 || s >= this.numStates) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `${this.algorithmName}: observation ${String(observation)} is not a state of Discrete(${this.numStates}${this.observationStart === 0 ? "" : `, start=${this.observationStart}`}).`,
      );
    }
    return s;
  }

  private maskOf(info: Info): Uint8Array | null {
    return actionMaskFromInfo(info, this.numActions);
  }

  private resetEnv(seeded: boolean): void {
    const first = this.env.reset(seeded ? { seed: this.seed } : {});
    this.state = this.stateIndex(first.observation);
    this.stateMask = this.maskOf(first.info);
    this.pendingAction = null;
    this.episodeReturn = 0;
    this.episodeLength = 0;
  }

  /**
   * Train for `totalTimesteps` steps or `totalEpisodes` episodes (exactly one), calling `onUpdate`
   * after each finished episode. Resolves when done or when `onUpdate` returns false.
   */
  async learn(options: TabularLearnOptions): Promise<this> {
    const { totalTimesteps, totalEpisodes } = options;
    if ((totalTimesteps === undefined) === (totalEpisodes === undefined)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${this.algorithmName}.learn needs exactly one budget: totalTimesteps or totalEpisodes (got ${JSON.stringify({ totalTimesteps, totalEpisodes })}).`,
      );
    }
    const budget = (totalTimesteps ?? totalEpisodes) as number;
    if (!Number.isInteger(budget) || budget < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${totalTimesteps === undefined ? "totalEpisodes" : "totalTimesteps"} must be a positive integer, got ${budget}.`,
      );
    }
    const byEpisodes = totalEpisodes !== undefined;
    const done = () => (byEpisodes ? this.numEpisodes : this.numTimesteps) >= budget;
    const updateProgress = () => {
      const used = byEpisodes ? this.numEpisodes : this.numTimesteps;
      this.progressRemaining = Math.max(0, 1 - used / budget);
    };
    if (options.resetNumTimesteps ?? true) {
      this.numTimesteps = 0;
      this.numEpisodes = 0;
      this.state = null;
    }
    if (this.state === null) this.resetEnv(true);
    const n = this.numActions;
    const start = performance.now();
    const startTimesteps = this.numTimesteps;
    let sumAbsTdError = 0;
    while (!done()) {
      updateProgress();
      const epsilon = this.explorationRate;
      const alpha = this.learningRate(this.progressRemaining);
      const state = this.state as number;
      const action =
        this.pendingAction ?? epsilonGreedyAction(this.qTable, n, state, this.stateMask, epsilon, this.rng);
      const result = this.env.step(action + this.actionStart);
      this.numTimesteps++;
      this.episodeReturn += result.reward;
      this.episodeLength++;
      const nextState = this.stateIndex(result.observation);
      const nextMask = this.maskOf(result.info);
      // Sarsa's A' (for a truncated episode it is drawn only for the target, never taken)
      const nextAction =
        this.choosesNextActionFirst && !result.terminated
          ? epsilonGreedyAction(this.qTable, n, nextState, nextMask, epsilon, this.rng)
          : null;
      const tdError = this.update(
        {
          state,
          action,
          reward: result.reward,
          nextState,
          terminated: result.terminated,
          nextActionMask: nextMask,
        },
        nextAction,
        alpha,
        epsilon,
      );
      if (!Number.isFinite(tdError)) {
        throw new ProximalError(
          "NUMERICAL_ERROR",
          `${this.algorithmName}: the TD error became ${tdError} at timestep ${this.numTimesteps} (state ${state}, action ${action}). Use gamma < 1 on tasks that may never terminate, or a smaller learningRate.`,
        );
      }
      sumAbsTdError += Math.abs(tdError);
      this.state = nextState;
      this.stateMask = nextMask;
      this.pendingAction = nextAction;
      if (!result.terminated && !result.truncated) continue;

      const episode = { return: this.episodeReturn, length: this.episodeLength };
      this.numEpisodes++;
      this.episodeWindow.record(episode);
      this.resetEnv(false);
      const elapsed = (performance.now() - start) / 1000;
      const stats: UpdateStats = {
        "time/episodes": this.numEpisodes,
        "time/timesteps": this.numTimesteps,
        "time/elapsedSeconds": elapsed,
        "time/stepsPerSecond": (this.numTimesteps - startTimesteps) / Math.max(elapsed, 1e-9),
        ...this.episodeStats(),
        "rollout/lastEpisodeReturn": episode.return,
        "rollout/lastEpisodeLength": episode.length,
        "rollout/explorationRate": epsilon,
        "train/learningRate": alpha,
        "train/meanAbsTdError": sumAbsTdError / episode.length,
      };
      sumAbsTdError = 0;
      if (options.onUpdate !== undefined) {
        const verdict = await options.onUpdate(stats);
        if (verdict === false) break;
      }
      // a long run stays responsive (progress output, signals) without yielding on every episode
      if (this.numEpisodes % 100 === 0) await yieldToEventLoop();
    }
    updateProgress();
    return this;
  }

  /** Moving-window episode statistics (`rollout/...`), as the other algorithms report them. */
  episodeStats(): UpdateStats {
    return this.episodeWindow.stats(this.numEpisodes);
  }

  /**
   * Actions for observations (one state index per entry, as a Discrete observation is flattened).
   * `deterministic`: the greedy action, lowest index among ties (draws nothing); otherwise
   * ε-greedy at the current {@link explorationRate} with random tie-breaking (SB3 DQN's `predict`).
   * `actionMask` (`[batch * numActions]`, 1 = allowed) restricts both.
   */
  predict(
    observations: Float32Array,
    options: { deterministic?: boolean; actionMask?: Uint8Array } = {},
  ): Int32Array {
    const n = this.numActions;
    const batch = observations.length;
    if (options.actionMask !== undefined && options.actionMask.length !== batch * n) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `predict: actionMask has ${options.actionMask.length} entries, expected ${batch} observations × ${n} actions = ${batch * n}.`,
      );
    }
    const epsilon = this.explorationRate;
    const actions = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const s = this.stateIndex(observations[i]);
      const mask = options.actionMask?.subarray(i * n, (i + 1) * n) ?? null;
      const a = options.deterministic
        ? greedyAction(this.qTable, n, s, mask, null)
        : epsilonGreedyAction(this.qTable, n, s, mask, epsilon, this.rng);
      actions[i] = a + this.actionStart;
    }
    return actions;
  }

  /** The spaces of the env, for saving and loading. */
  get spaces(): { observationSpace: Space; actionSpace: Space } {
    return { observationSpace: this.env.observationSpace, actionSpace: this.env.actionSpace };
  }

  /**
   * Save into `target` (a directory gets atomic writes): `model.json` holds the options, spaces, the exact Q table (JSON
   * numbers round-trip a float64 exactly), the generator, counters and the episode in progress;
   * `model.safetensors` holds a float32 copy `qTable` `[numStates, numActions]` for other tools
   * (safetensors here writes F32 only, which would round the table; `load` reads the JSON). `target`
   * is a directory path (Node), a `ModelArchive` or an `IndexedDBModelFiles`.
   */
  async save(target: ModelTarget): Promise<void> {
    const f32 = Float32Array.from(this.qTable);
    await saveCheckpoint(target, {
      tensors: { qTable: new Tensor(f32, [this.numStates, this.numActions]) },
      json: {
        format: "proximal-model",
        formatVersion: 1,
        proximalVersion: VERSION,
        algorithm: this.algorithmName,
        envId: this.env.spec?.id ?? null,
        // the keyword options and time limit the env was made with (e.g. FrozenLake's isSlippery)
        envKwargs: this.env.spec?.kwargs ?? null,
        maxEpisodeSteps: this.env.spec?.maxEpisodeSteps ?? null,
        observationSpace: this.env.observationSpace.toJSON(),
        actionSpace: this.env.actionSpace.toJSON(),
        options: optionsToJSON(this.options),
        qTable: Array.from(this.qTable),
        trainingState: this.trainingState(),
      },
    });
  }

  /** Counters, generator, schedules' progress, episode window and the episode in progress. */
  trainingState(): Record<string, unknown> {
    let env: unknown = null;
    try {
      env = this.env.getState?.() ?? null;
    } catch {
      env = null; // an env whose state cannot be captured resumes from a fresh reset
    }
    return {
      numTimesteps: this.numTimesteps,
      numEpisodes: this.numEpisodes,
      progressRemaining: this.progressRemaining,
      rng: this.rng.getState(),
      state: this.state,
      stateMask: this.stateMask === null ? null : Array.from(this.stateMask),
      pendingAction: this.pendingAction,
      episodeReturn: this.episodeReturn,
      episodeLength: this.episodeLength,
      recentEpisodes: this.episodeWindow.toJSON(),
      env,
    };
  }

  /** Restore {@link trainingState}; without `restoreEnv` the next `learn` starts a fresh episode. */
  restoreTrainingState(state: Record<string, unknown>, restoreEnv: boolean): void {
    this.numTimesteps = Number(state.numTimesteps ?? 0);
    this.numEpisodes = Number(state.numEpisodes ?? 0);
    this.progressRemaining = Number(state.progressRemaining ?? 1);
    if (state.rng) this.rng.setState(state.rng as RngState);
    this.episodeWindow.restore(state.recentEpisodes as EpisodeSummary[] | undefined);
    const envRestored = restoreEnv && state.env !== null && state.env !== undefined && this.env.setState;
    if (envRestored) {
      this.env.setState?.(state.env);
      this.state = state.state === null || state.state === undefined ? null : Number(state.state);
      const mask = state.stateMask as number[] | null | undefined;
      this.stateMask = mask ? Uint8Array.from(mask) : null;
      this.pendingAction =
        state.pendingAction === null || state.pendingAction === undefined
          ? null
          : Number(state.pendingAction);
      this.episodeReturn = Number(state.episodeReturn ?? 0);
      this.episodeLength = Number(state.episodeLength ?? 0);
    } else {
      this.state = null;
      this.stateMask = null;
      this.pendingAction = null;
    }
  }

  /** Load the Q table and training state from a checkpoint of the same algorithm and spaces. */
  loadCheckpointState(checkpoint: Checkpoint, options: { restoreEnv?: boolean } = {}): void {
    const json = checkpoint.json;
    checkSavedModel(json, this.algorithmName, this.spaces);
    const table = json.qTable as unknown;
    if (!Array.isArray(table) || table.length !== this.qTable.length || !table.every(Number.isFinite)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `model.json's qTable must hold ${this.qTable.length} finite numbers (${this.numStates} states × ${this.numActions} actions).`,
      );
    }
    this.qTable.set(table as number[]);
    this.restoreTrainingState(
      (json.trainingState as Record<string, unknown>) ?? {},
      options.restoreEnv ?? false,
    );
  }
}

/** Rebuild a tabular algorithm from a saved directory (the body of each static `load`). */
export async function loadTabular<A extends TabularAlgorithm>(
  construct: (env: Env | string, options: Record<string, unknown>) => A,
  source: ModelSource,
  options: TabularLoadOptions = {},
): Promise<A> {
  const files = await modelFiles(source);
  const checkpoint = await loadCheckpoint(files);
  const json = checkpoint.json;
  const savedOptions = optionsFromJSON((json.options as Record<string, unknown>) ?? {}, options.options);
  let env = options.env;
  if (env === undefined) {
    const envId = savedEnvId(json, files.description);
    const kwargs = (json.envKwargs as Record<string, unknown> | null | undefined) ?? {};
    const limit = json.maxEpisodeSteps;
    env = make(envId, { ...kwargs, ...(typeof limit === "number" ? { maxEpisodeSteps: limit } : {}) });
  }
  const model = construct(env, savedOptions);
  model.loadCheckpointState(checkpoint, { restoreEnv: options.restoreEnv ?? false });
  return model;
}
