/**
 * Asynchronous Advantage Actor-Critic (Mnih et al. 2016, https://arxiv.org/abs/1602.01783,
 * Algorithm S3): several workers, each with its own envs and its own
 * copy of the network, collect n-step rollouts, compute the {@link A2C} loss gradient on them
 * (`a2cLoss`: `-log π(a|s)·A + vfCoef·(R - V)² - entCoef·H`, clipped to `maxGradNorm`) and push it
 * to the shared parameters, which are updated without waiting for the other workers.
 *
 * How it runs here (Node, `worker_threads`; elsewhere, e.g. in a browser, `learn` warns once and trains
 * synchronously as {@link A2C} on the model's own envs):
 * - The shared parameters live in a `SharedArrayBuffer`. The main thread (the "master") owns the
 *   optimizer: it takes each worker's gradient from that worker's shared slot, applies one RMSprop
 *   (or Adam) step with the statistics kept on the master, and publishes the new parameters. One
 *   writer means the optimizer statistics need no atomics and updates are never torn; a seqlock
 *   (an even/odd version counter) lets workers copy a consistent snapshot without locking. The
 *   paper's Hogwild-style lock-free writes by every thread (with shared RMSprop statistics) are
 *   not used: with few cores, the master's step costs microseconds next to a rollout.
 * - Staleness is bounded by construction: a worker posts one gradient, waits for the master's
 *   verdict (applied or rejected), then refreshes its copy from the shared parameters before its
 *   next rollout (Algorithm S3: "synchronize thread-specific parameters θ' = θ"). So a gradient
 *   is computed on parameters at most one rollout (of this worker) old: its lag, the number of
 *   updates applied between its snapshot and its own application, counts only the other workers'
 *   gradients that arrived meanwhile (about `numWorkers - 1` when the workers run at equal speed).
 *   `maxStaleness` additionally rejects gradients lagging by more than K updates.
 * - Not deterministic per seed: the order in which gradients arrive depends on thread scheduling
 *   (the paper's algorithm is not either). Each worker's envs and sampling are seeded
 *   (`seed + 7919·(w + 1)`), so only the interleaving varies.
 * - A worker that throws makes `learn` reject with `WORKER_FAILED` and the worker's message; every
 *   worker is terminated when `learn` ends, by completion, callback, or error.
 *
 * Workers make their envs by id inside the thread (functions cannot cross threads), so the env must
 * be a registered id. `A3C` extends {@link A2C}: options, defaults, `predict`, `save` and `load`
 * are A2C's; this file adds only the worker orchestration (the worker loop is `a3cWorker.ts`).
 */
import type * as WorkerThreads from "node:worker_threads";
import { ProximalError } from "../errors.js";
import type { ModelSource } from "../io/modelFiles.js";
import { nodeBuiltin } from "../nodeBuiltin.js";
import type { Tensor } from "../tensor/tensor.js";
import { zeros } from "../tensor/tensor.js";
import { warnOnce } from "../warnOnce.js";
import { startWorker } from "../workerThread.js";
import type { A2COptions } from "./a2c.js";
import { A2C } from "./a2c.js";
import type { EnvInput, LearnOptions, LoadOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { checkInteger, loadAlgorithm, yieldToEventLoop } from "./common/onPolicyAlgorithm.js";
import { optionsToJSON } from "./common/savedModel.js";

/** Options specific to {@link A3C}; the rest are {@link A2COptions} (with A2C's defaults). */
export interface A3COptions extends A2COptions {
  /** Worker threads, each with `numEnvs` envs of its own. @defaultValue 2 */
  numWorkers?: number;
  /**
   * Reject a gradient whose parameter snapshot lags the shared parameters by more than this many
   * updates (its samples still count as timesteps). null keeps every gradient, as the paper.
   * @defaultValue null
   */
  maxStaleness?: number | null;
}

/** Layout of the shared control array (Int32). */
export const control = {
  /** Seqlock: odd while the master writes the parameters; `version / 2` = updates applied. */
  version: 0,
  /** 1 once the master wants the workers to stop. */
  stop: 1,
  /** Bumped by a worker after filling its slot (the master waits on it). */
  inbox: 2,
  /** First per-worker field; worker w uses `slots + w * slotFields + field`. */
  slots: 4,
  slotFields: 4,
  /** 1 while the slot holds a gradient for the master, 0 once the master has taken it. */
  slotFull: 0,
  /** Update count (version / 2) of the parameters the gradient was computed on. */
  slotVersion: 1,
  /** Environment steps behind the gradient. */
  slotSteps: 2,
  /** Episodes finished during the rollout. */
  slotEpisodes: 3,
} as const;

/** Per-worker float64 statistics: these keys, then (return, length) of each finished episode. */
export const slotStatKeys = [
  "train/policyLoss",
  "train/valueLoss",
  "train/entropy",
  "train/loss",
  "train/explainedVariance",
  "train/gradNorm",
] as const;

/** What a worker thread receives (everything structured-cloneable). */
export interface A3CWorkerSetup {
  envId: string;
  /** A2C options for the worker's model (no learning rate: workers never step an optimizer). */
  options: Record<string, unknown>;
  index: number;
  paramCount: number;
  maxEpisodes: number;
  control: SharedArrayBuffer;
  params: SharedArrayBuffer;
  gradients: SharedArrayBuffer;
  stats: SharedArrayBuffer;
}

/**
 * Whether a gradient lagging the shared parameters by `lag` updates may be applied: always when
 * `maxStaleness` is null (the paper keeps every gradient), otherwise when `lag <= maxStaleness`.
 *
 * @example
 * isGradientFresh(2, 1); // false: two updates landed since the worker's snapshot
 */
export function isGradientFresh(lag: number, maxStaleness: number | null): boolean {
  return maxStaleness === null || lag <= maxStaleness;
}

/** Wait at most this long for workers to exit by themselves before terminating them. */
const EXIT_TIMEOUT_MS = 5000;

/**
 * A3C over worker threads, with A2C's losses and defaults.
 *
 * @example
 * const model = new A3C("CartPole-v1", { numWorkers: 2, numEnvs: 4, seed: 1 });
 * await model.learn({ totalTimesteps: 200_000 });
 */
export class A3C extends A2C {
  override readonly algorithmName: string = "A3C";
  override readonly options: A3COptions;
  readonly numWorkers: number;
  readonly maxStaleness: number | null;
  private readonly envId: string;

  constructor(env: EnvInput, options: A3COptions = {}) {
    if (typeof env !== "string") {
      throw new ProximalError(
        "INVALID_OPTION",
        'A3C makes its envs inside worker threads by id; pass a registered id such as "CartPole-v1" instead of an env object.',
      );
    }
    if ((options.intrinsicReward?.type ?? "none") !== "none") {
      throw new ProximalError(
        "INVALID_OPTION",
        "A3C does not support intrinsicReward: each worker thread would train its own module on its own states. Use A2C or PPO (same options) instead.",
      );
    }
    super(env, options);
    this.options = options;
    this.envId = env;
    this.numWorkers = options.numWorkers ?? 2;
    checkInteger(this.numWorkers, "numWorkers", 1);
    this.maxStaleness = options.maxStaleness ?? null;
    if (this.maxStaleness !== null) checkInteger(this.maxStaleness, "maxStaleness", 0);
  }

  /**
   * Train with `numWorkers` threads until `totalTimesteps` environment steps (over all workers)
   * have been collected. One update = one worker gradient applied (or rejected); `onUpdate` gets
   * A2C's `train/...` keys plus `train/staleness` (lag in updates) and `train/rejectedGradients`.
   */
  override async learn(options: LearnOptions): Promise<this> {
    const { totalTimesteps } = options;
    checkInteger(totalTimesteps, "totalTimesteps", 1);
    if (options.resetNumTimesteps ?? true) {
      this.numTimesteps = 0;
      this.iteration = 0;
    }
    const threads = nodeBuiltin<typeof WorkerThreads>("node:worker_threads");
    if (threads === undefined) {
      // a browser (Atomics.wait, which the workers' hand-off relies on, is not allowed on a page's
      // main thread) or Node < 20.16: train synchronously, as A2C, on this model's own envs
      warnOnce(
        "proximal: A3C needs Node's worker_threads, which this runtime lacks; training synchronously (A2C updates on the model's envs) instead.",
        "PROXIMAL_A3C_SYNC",
      );
      return super.learn(options);
    }
    const params = this.policy.parameters();
    const paramCount = params.reduce((n, p) => n + p.size, 0);
    const maxEpisodes = this.rolloutSize; // each env step ends at most one episode per env
    const statsStride = slotStatKeys.length + 2 * maxEpisodes;
    const shared = {
      control: new SharedArrayBuffer(4 * (control.slots + control.slotFields * this.numWorkers)),
      params: new SharedArrayBuffer(4 * paramCount),
      gradients: new SharedArrayBuffer(4 * paramCount * this.numWorkers),
      stats: new SharedArrayBuffer(8 * statsStride * this.numWorkers),
    };
    const ctl = new Int32Array(shared.control);
    const sharedParams = new Float32Array(shared.params);
    const gradients = new Float32Array(shared.gradients);
    const stats = new Float64Array(shared.stats);
    this.publish(ctl, sharedParams, params);

    const workerOptions = optionsToJSON({ ...this.options, learningRate: 0 });
    delete workerOptions.numWorkers;
    delete workerOptions.maxStaleness;
    const workerUrl = new URL("./a3cWorker.js", import.meta.url);
    const workers: WorkerThreads.Worker[] = [];
    let failure: ProximalError | null = null;
    let stopping = false;
    const exited: Promise<void>[] = [];
    const wake = () => {
      Atomics.add(ctl, control.inbox, 1);
      Atomics.notify(ctl, control.inbox);
    };
    for (let w = 0; w < this.numWorkers; w++) {
      const setup: A3CWorkerSetup = {
        envId: this.envId,
        options: { ...workerOptions, seed: this.seed + 7919 * (w + 1) },
        index: w,
        paramCount,
        maxEpisodes,
        ...shared,
      };
      const worker = startWorker(threads, workerUrl, { workerData: setup });
      worker.on("error", (error: Error) => {
        failure ??= new ProximalError("WORKER_FAILED", `A3C worker ${w} failed: ${error.message}`, {
          cause: error,
        });
        wake();
      });
      exited.push(
        new Promise((resolve) => {
          worker.once("exit", (code) => {
            if (!stopping) {
              failure ??= new ProximalError(
                "WORKER_FAILED",
                `A3C worker ${w} exited (code ${code}) before training finished.`,
              );
              wake();
            }
            resolve();
          });
        }),
      );
      workers.push(worker);
    }

    const start = performance.now();
    const startTimesteps = this.numTimesteps;
    let rejected = 0;
    try {
      let done = this.numTimesteps >= totalTimesteps;
      while (!done) {
        if (failure !== null) throw failure;
        const seen = Atomics.load(ctl, control.inbox);
        let handled = false;
        for (let w = 0; w < this.numWorkers && !done; w++) {
          const slot = control.slots + w * control.slotFields;
          if (Atomics.load(ctl, slot + control.slotFull) !== 1) continue;
          handled = true;
          const lag = Atomics.load(ctl, control.version) / 2 - Atomics.load(ctl, slot + control.slotVersion);
          this.numTimesteps += Atomics.load(ctl, slot + control.slotSteps);
          const statsOffset = w * statsStride;
          const episodes = Atomics.load(ctl, slot + control.slotEpisodes);
          for (let e = 0; e < episodes; e++) {
            const at = statsOffset + slotStatKeys.length + 2 * e;
            this.recordEpisode({ return: stats[at], length: stats[at + 1] });
          }
          this.progressRemaining = Math.max(0, 1 - this.numTimesteps / totalTimesteps);
          const lr = this.updateLearningRate();
          if (this.offerGradient(params, gradients.subarray(w * paramCount, (w + 1) * paramCount), lag)) {
            this.publish(ctl, sharedParams, params);
          } else {
            rejected++;
          }
          // hand the slot back: the worker refreshes its copy and starts its next rollout
          Atomics.store(ctl, slot + control.slotFull, 0);
          Atomics.notify(ctl, slot + control.slotFull);
          this.iteration++;
          const elapsed = (performance.now() - start) / 1000;
          const update: UpdateStats = {
            "time/iteration": this.iteration,
            "time/timesteps": this.numTimesteps,
            "time/elapsedSeconds": elapsed,
            "time/stepsPerSecond": (this.numTimesteps - startTimesteps) / Math.max(elapsed, 1e-9),
            ...this.episodeStats(),
            "train/learningRate": lr,
            "train/staleness": lag,
            "train/rejectedGradients": rejected,
            "train/worker": w,
          };
          slotStatKeys.forEach((key, k) => {
            update[key] = stats[statsOffset + k];
          });
          if (!Number.isFinite(update["train/loss"])) {
            throw new ProximalError(
              "NUMERICAL_ERROR",
              `A3C: worker ${w}'s loss became ${update["train/loss"]} at update ${this.iteration} (timestep ${this.numTimesteps}). Lower learningRate or keep maxGradNorm finite.`,
            );
          }
          if (options.onUpdate !== undefined && (await options.onUpdate(update)) === false) done = true;
          if (this.numTimesteps >= totalTimesteps) done = true;
        }
        if (!handled && !done) await waitForChange(ctl, control.inbox, seen, 1000);
        else await yieldToEventLoop();
      }
      if (failure !== null) throw failure;
    } finally {
      stopping = true;
      Atomics.store(ctl, control.stop, 1);
      for (let w = 0; w < this.numWorkers; w++) {
        const slot = control.slots + w * control.slotFields;
        Atomics.store(ctl, slot + control.slotFull, 0);
        Atomics.notify(ctl, slot + control.slotFull);
      }
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

  /**
   * The master's verdict on one worker gradient that lags the shared parameters by `lag` updates:
   * applied (one optimizer step, returns true) when `isGradientFresh`, otherwise rejected
   * (returns false) without touching the parameters, their `.grad` or the optimizer's statistics.
   */
  protected offerGradient(params: Tensor[], gradient: Float32Array, lag: number): boolean {
    if (!isGradientFresh(lag, this.maxStaleness)) return false;
    this.applyGradient(params, gradient);
    return true;
  }

  /** Put a worker's flat gradient into the parameters' `.grad` and take one optimizer step. */
  private applyGradient(params: Tensor[], flat: Float32Array): void {
    let offset = 0;
    for (const p of params) {
      p.grad ??= zeros(p.shape);
      p.grad.values.set(flat.subarray(offset, offset + p.size));
      offset += p.size;
    }
    this.optimizer.step();
  }

  /** Write the parameters into shared memory under the seqlock (odd version while writing). */
  private publish(ctl: Int32Array, shared: Float32Array, params: Tensor[]): void {
    Atomics.add(ctl, control.version, 1);
    let offset = 0;
    for (const p of params) {
      shared.set(p.values, offset);
      offset += p.size;
    }
    Atomics.add(ctl, control.version, 1);
  }

  /**
   * Rebuild an A3C model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes
   * or IndexedDB); it resumes training with new workers.
   */
  static override load(source: ModelSource, options: LoadOptions = {}): Promise<A3C> {
    return loadAlgorithm((env, opts) => new A3C(env, opts as A3COptions), source, options);
  }
}

/** Resolve once `array[index]` differs from `value` (or after `timeoutMs`), without blocking the event loop. */
async function waitForChange(
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
): Promise<void> {
  const waitAsync = (
    Atomics as unknown as {
      waitAsync?: (
        a: Int32Array,
        i: number,
        v: number,
        t: number,
      ) => { async: boolean; value: Promise<string> | string };
    }
  ).waitAsync;
  if (waitAsync === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return;
  }
  const result = waitAsync(array, index, value, timeoutMs);
  if (result.async) await result.value;
}
