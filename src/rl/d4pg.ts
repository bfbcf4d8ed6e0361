/**
 * Distributed Distributional Deterministic Policy Gradients (Barth-Maron et al. 2018, ICLR,
 * arXiv:1804.08617): DDPG with
 * - a categorical distributional critic `Z_w(s, a)` on `atoms` fixed returns in [vMin, vMax], trained
 *   by the cross-entropy to the projected target `Φ(r + γ^n z, p_{w'}(s', μ_{θ'}(s')))` (§3, eq. 4;
 *   the projection is C51's, `distributions/categoricalReturns.ts`, shared with DQN/Rainbow);
 * - the actor ascending the critic's mean `Q(s, μ(s)) = Σ_i z_i p_i(s, μ(s))` (§3, eq. 5);
 * - n-step returns (`nStep`, §3 eq. 7) and prioritised replay (`prioritized`, Algorithm 1);
 * - `numActors` actor workers (§3, "K independent actors") that step their own envs with the latest
 *   actor weights and exploration noise and feed one replay buffer owned by the learner.
 * The losses are `common/distributionalLosses.ts`, the networks `common/distributionalActorCritic.ts`,
 * the gradient step and exploration `common/d4pgLearner.ts` (shared with the Ape-X-style
 * `ApexD4PG` across machines), the loop and checkpoints `OffPolicyAlgorithm`'s, the actor workers
 * `d4pgActor.ts`.
 *
 * Two modes:
 * - `numActors: 0` (the default): one process, the ordinary off-policy loop (collect `trainFreq`
 *   steps with `μ(s) + N(0, σ²)`, train `gradientSteps`). Deterministic per seed, and resumes
 *   bit-identically from a checkpoint saved with `saveReplayBuffer`.
 * - `numActors: K >= 1`: K worker threads, each with `numEnvs` envs of its own (seed `seed + 7919 (k+1)`),
 *   its own n-step adder and noise; they post finished n-step transitions to the learner, which writes
 *   them into its replay buffer and takes `gradientSteps` gradient steps per `trainFreq` env steps
 *   received (SB3's replay ratio, counted over all actors). Actors refresh their weights every
 *   `actorUpdateInterval` learner steps, and may run at most {@link ACTOR_LEAD_STEPS} env steps ahead
 *   of what the learner has consumed (a rate limiter, as Acme's `samples_per_insert`), so the replay
 *   ratio holds whatever the threads' speeds. Thread scheduling decides the interleaving: this mode
 *   is not deterministic. An actor that throws or exits makes `learn` reject with `WORKER_FAILED`
 *   naming the actor and the cause (the A3C rule); every worker is terminated when `learn` ends.
 *   Limits of this mode: the learner counts env steps per actor message, so a run can end up to one
 *   message (`trainFreq × numEnvs` steps) past `totalTimesteps` (later messages are dropped); actors
 *   see no training progress, so a `finalSigma` noise schedule does not anneal in them; the warm-up
 *   `learningStarts` is split evenly among the actors; a checkpoint restores the learner (weights,
 *   optimizer, counters, replay on request) and resuming starts fresh actors, so resume is exact in
 *   the synchronous mode only.
 */

import type * as WorkerThreads from "node:worker_threads";
import { ProximalError } from "../errors.js";
import type { ModelSource } from "../io/modelFiles.js";
import { nodeBuiltin } from "../nodeBuiltin.js";
import { warnOnce } from "../warnOnce.js";
import { startWorker } from "../workerThread.js";
import {
  D4PG_DEFAULTS,
  D4PGLearner,
  type D4PGLearnerOptions,
  d4pgReplayOptions,
} from "./common/d4pgLearner.js";
import { loadOffPolicyAlgorithm } from "./common/offPolicyAlgorithm.js";
import type { EnvInput, LearnOptions, LoadOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { checkInteger, yieldToEventLoop } from "./common/onPolicyAlgorithm.js";
import { optionsToJSON } from "./common/savedModel.js";
import type { TransitionBatch } from "./replay/replayBuffer.js";

export type { ActionNoiseOptions } from "./common/actionNoise.js";
export type { ContinuousPolicyOptions } from "./common/continuousPolicies.js";

/**
 * How many env steps (per actor) an actor may collect beyond what the learner has consumed, divided
 * among actors: large enough that actors never wait on a learner keeping pace, small enough that the
 * replay ratio (gradient steps per env step) stays the configured one.
 */
export const ACTOR_LEAD_STEPS = 256;

/** Wait at most this long for actors to exit by themselves before terminating them. */
const EXIT_TIMEOUT_MS = 2000;

/**
 * Options of {@link D4PG}: the learner's ({@link D4PGLearnerOptions}) and its actor threads'.
 */
export interface D4PGOptions extends D4PGLearnerOptions {
  /**
   * Actor worker threads. 0 runs the actor loop in the learner's thread (deterministic per seed).
   * Each actor steps `numEnvs` envs of its own; the env must then be given by id.
   * @defaultValue 0
   */
  numActors?: number;
  /**
   * Learner gradient steps between two refreshes of the actors' weights (threaded mode only; in the
   * synchronous mode the actor always uses the current weights).
   * @defaultValue 100 (the paper's actors "periodically" fetch weights; Acme's D4PG variable client
   * updates every 1000 actor steps; 100 learner steps keeps actors close to the learner on Pendulum)
   */
  actorUpdateInterval?: number;
  /**
   * A module (file URL or absolute path) every actor worker imports before making its env, so that
   * envs registered with `register(...)` in that module exist in the worker threads too.
   */
  actorEnvModule?: string;
}

/** What an actor worker receives (structured-cloneable). */
export interface D4PGActorSetup {
  envId: string;
  /** D4PG options of the actor's in-thread model (numActors 0, its own seed and warm-up). */
  options: Record<string, unknown>;
  index: number;
  /** Int32: [0] stop flag, [1] env steps the learner has consumed, [2] weights version. */
  control: SharedArrayBuffer;
  /** The actor's weights, written by the learner under an even/odd seqlock on control[2]. */
  weights: SharedArrayBuffer;
  numActors: number;
  actorEnvModule: string | null;
}

/** What an actor posts: n-step transitions of some env steps, and the episodes they finished. */
export interface D4PGActorMessage {
  actor: number;
  steps: number;
  batches: TransitionBatch[];
  episodes: { return: number; length: number }[];
}

/** Indices of the actors' control array. */
export const actorControl = { stop: 0, consumed: 1, version: 2, length: 3 } as const;

/**
 * D4PG.
 *
 * @example
 * const model = new D4PG("Pendulum-v1", { vMin: -1630, vMax: 0, numActors: 2 });
 * await model.learn({ totalTimesteps: 20_000 });
 */
export class D4PG extends D4PGLearner {
  readonly algorithmName = "D4PG";
  readonly options: D4PGOptions;
  readonly numActors: number;
  readonly actorUpdateInterval: number;
  private readonly envId: string | null;
  /** Env steps received from each actor in the last threaded `learn` (empty in the synchronous mode). */
  actorSteps: number[] = [];
  /** Actor threads started by `learn` that have not exited yet: 0 whenever `learn` has settled. */
  get runningActors(): number {
    return this.running;
  }
  private running = 0;

  constructor(env: EnvInput, options: D4PGOptions = {}) {
    super(env, d4pgReplayOptions(options), D4PG_DEFAULTS, "D4PG");
    this.options = options;
    this.envId = typeof env === "string" ? env : null;
    this.numActors = options.numActors ?? 0;
    checkInteger(this.numActors, "numActors", 0);
    if (this.numActors > 0 && this.envId === null) {
      throw new ProximalError(
        "INVALID_OPTION",
        `D4PG with numActors ${this.numActors} makes its envs inside worker threads by id; pass a registered env id such as "Pendulum-v1" (and actorEnvModule for your own envs), or use numActors 0.`,
      );
    }
    this.actorUpdateInterval = options.actorUpdateInterval ?? 100;
    checkInteger(this.actorUpdateInterval, "actorUpdateInterval", 1);
  }

  /** Train for `totalTimesteps` env steps (over all actors in the threaded mode). */
  override async learn(options: LearnOptions): Promise<this> {
    if (this.numActors === 0) return super.learn(options);
    return this.learnWithActors(options);
  }

  /** The threaded mode: see the file's header. */
  private async learnWithActors(options: LearnOptions): Promise<this> {
    const { totalTimesteps } = options;
    checkInteger(totalTimesteps, "totalTimesteps", 1);
    if (options.resetNumTimesteps ?? true) {
      this.numTimesteps = 0;
      this.iteration = 0;
    }
    const threads = nodeBuiltin<typeof WorkerThreads>("node:worker_threads");
    if (threads === undefined) {
      // a browser or Node < 20.16: the numActors 0 loop (actor in the learner's thread) instead
      warnOnce(
        `proximal: D4PG's ${this.numActors} actor workers need Node's worker_threads, which this runtime lacks; running the actor in the learner's thread (numActors 0) instead.`,
        "PROXIMAL_D4PG_SYNC",
      );
      return super.learn(options);
    }
    const weights = this.policy.actorWeights();
    const control = new Int32Array(new SharedArrayBuffer(4 * actorControl.length));
    const sharedWeights = new Float32Array(new SharedArrayBuffer(4 * weights.length));
    const publish = () => {
      Atomics.add(control, actorControl.version, 1); // odd: writing
      sharedWeights.set(this.policy.actorWeights());
      Atomics.add(control, actorControl.version, 1);
    };
    publish();
    Atomics.store(control, actorControl.consumed, 0);

    const actorOptions = optionsToJSON({
      ...this.options,
      numActors: 0,
      // the warm-up of uniform actions is shared among the actors
      learningStarts: Math.ceil(Math.max(0, this.learningStarts - this.numTimesteps) / this.numActors),
      // actors keep no replay of their own: the learner's buffer is the one buffer
      bufferSize: 1,
      batchSize: 1,
      prioritized: false,
      saveReplayBuffer: false,
      learningRate: 0,
    });
    delete actorOptions.actorEnvModule;
    const workerUrl = new URL("./d4pgActor.js", import.meta.url);
    const workers: WorkerThreads.Worker[] = [];
    const exited: Promise<void>[] = [];
    const inbox: D4PGActorMessage[] = [];
    this.actorSteps = new Array<number>(this.numActors).fill(0);
    let failure: ProximalError | null = null;
    let stopping = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    for (let k = 0; k < this.numActors; k++) {
      const setup: D4PGActorSetup = {
        envId: this.envId!,
        options: { ...actorOptions, seed: this.seed + 7919 * (k + 1) },
        index: k,
        control: control.buffer as SharedArrayBuffer,
        weights: sharedWeights.buffer as SharedArrayBuffer,
        numActors: this.numActors,
        actorEnvModule: this.options.actorEnvModule ?? null,
      };
      const worker = startWorker(threads, workerUrl, { workerData: setup });
      this.running++;
      worker.on("message", (message: D4PGActorMessage) => {
        inbox.push(message);
        notify();
      });
      worker.on("error", (error: Error) => {
        failure ??= new ProximalError("WORKER_FAILED", `D4PG actor ${k} failed: ${error.message}`, {
          cause: error,
        });
        notify();
      });
      exited.push(
        new Promise((resolve) => {
          worker.once("exit", (code) => {
            this.running--;
            if (!stopping) {
              failure ??= new ProximalError(
                "WORKER_FAILED",
                `D4PG actor ${k} exited (code ${code}) before training finished.`,
              );
              notify();
            }
            resolve();
          });
        }),
      );
      workers.push(worker);
    }

    const start = performance.now();
    const startTimesteps = this.numTimesteps;
    let owedGradientSteps = 0;
    let publishedAt = this.nUpdates;
    try {
      while (this.numTimesteps < totalTimesteps) {
        if (failure !== null) throw failure;
        if (inbox.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(notify, 1000);
          });
          continue;
        }
        const rolloutStart = performance.now();
        let collected = 0;
        const fromActors = new Set<number>();
        for (const message of inbox.splice(0, inbox.length)) {
          // the budget is spent: what arrived since is dropped, so a run ends at most one message
          // (trainFreq × numEnvs steps of one actor) past totalTimesteps
          if (this.numTimesteps + collected >= totalTimesteps) break;
          fromActors.add(message.actor);
          this.actorSteps[message.actor] += message.steps;
          for (const batch of message.batches) this.replayBuffer.add(batch);
          for (const episode of message.episodes) this.recordEpisode(episode);
          collected += message.steps;
        }
        this.numTimesteps += collected;
        this.progressRemaining = Math.max(0, 1 - this.numTimesteps / totalTimesteps);
        const rolloutSeconds = (performance.now() - rolloutStart) / 1000;
        const trainStart = performance.now();
        let trainStats: UpdateStats = {};
        if (this.numTimesteps > this.learningStarts) {
          owedGradientSteps +=
            this.gradientSteps >= 0 ? (collected * this.gradientSteps) / this.trainFreq : collected;
          if (this.replayBuffer.size >= this.batchSize) {
            const steps = Math.floor(owedGradientSteps);
            owedGradientSteps -= steps;
            if (steps > 0) trainStats = this.train(steps);
          }
        }
        if (this.nUpdates - publishedAt >= this.actorUpdateInterval) {
          publish();
          publishedAt = this.nUpdates;
        }
        // consumed: lets the actors run ACTOR_LEAD_STEPS ahead of the learner, no more
        Atomics.store(
          control,
          actorControl.consumed,
          Math.min(this.numTimesteps - startTimesteps, 2 ** 31 - 1),
        );
        Atomics.notify(control, actorControl.consumed);
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
          "rollout/actorsReporting": fromActors.size,
          ...trainStats,
        };
        const loss = trainStats["train/loss"];
        if (loss !== undefined && !Number.isFinite(loss)) {
          throw new ProximalError(
            "NUMERICAL_ERROR",
            `D4PG: the loss became ${loss} at update ${this.iteration} (timestep ${this.numTimesteps}). Lower learningRate, or widen [vMin, vMax] to cover the env's returns.`,
          );
        }
        if (options.onUpdate !== undefined && (await options.onUpdate(stats)) === false) break;
        await yieldToEventLoop();
      }
      if (failure !== null) throw failure;
    } finally {
      stopping = true;
      Atomics.store(control, actorControl.stop, 1);
      Atomics.notify(control, actorControl.consumed);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(exited),
        new Promise((resolve) => {
          timer = setTimeout(resolve, EXIT_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
    return this;
  }

  /** Rebuild a D4PG model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB) (with its replay buffer when `saveReplayBuffer` was set). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<D4PG> {
    return loadOffPolicyAlgorithm((env, opts) => new D4PG(env, opts as D4PGOptions), source, options);
  }
}
