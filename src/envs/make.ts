import { ProximalError } from "../errors.js";
import { nodeBuiltin } from "../nodeBuiltin.js";
import { warnOnce } from "../warnOnce.js";
import type { Env, RenderMode } from "./env.js";
import { lookup } from "./registry.js";
import { AsyncVectorEnv } from "./vector/asyncVectorEnv.js";
import { SyncVectorEnv } from "./vector/syncVectorEnv.js";
import type { AutoresetMode, VectorEnv } from "./vector/vectorEnv.js";
import { OrderEnforcing } from "./wrappers/orderEnforcing.js";
import { TimeLimit } from "./wrappers/timeLimit.js";

/** Options of {@link make}; any other key is passed to the env as a keyword option. */
export interface MakeOptions {
  /** Make a {@link VectorEnv} of this many envs instead of a single env. */
  numEnvs?: number;
  /** Seed of the first `reset()` without a seed (vector envs: env i gets seed + i). @defaultValue 0 */
  seed?: number;
  /** Vector envs only. @defaultValue "next-step" (Gymnasium 1.x) */
  autoresetMode?: AutoresetMode;
  /** Override the registered time limit. */
  maxEpisodeSteps?: number;
  /** What `render()` returns. @defaultValue "rgb_array" */
  renderMode?: RenderMode;
  /** Vector envs only: step the envs in worker threads ({@link AsyncVectorEnv}, Node only). @defaultValue false */
  asynchronous?: boolean;
  /** AsyncVectorEnv only: number of worker threads. @defaultValue min(numEnvs, 2) */
  numWorkers?: number;
  [kwarg: string]: unknown;
}

/**
 * Create a registered env by id (Gymnasium's `make`/`make_vec`).
 *
 * Without `numEnvs`: a single env wrapped in {@link TimeLimit} (registered `maxEpisodeSteps`) and
 * {@link OrderEnforcing}. With `numEnvs`: a {@link VectorEnv}: the natively batched path for the
 * classic-control tasks, {@link SyncVectorEnv} otherwise, {@link AsyncVectorEnv} with
 * `asynchronous: true` (where Node's worker_threads are missing, as in browsers, a one-time warning and
 * {@link SyncVectorEnv}). An unknown id throws `UNKNOWN_ENV` with the known ids and the closest one.
 *
 * @example
 * const env = make("CartPole-v1");
 * const { observation } = env.reset({ seed: 0 });
 * const envs = make("CartPole-v1", { numEnvs: 8, seed: 1, autoresetMode: "same-step" });
 */
export function make(id: string, options: MakeOptions & { numEnvs: number }): VectorEnv;
export function make<Obs = Float32Array, Act = number | Float32Array | number[]>(
  id: string,
  options?: MakeOptions,
): Env<Obs, Act>;
export function make(id: string, options: MakeOptions = {}): Env | VectorEnv {
  const { numEnvs, seed, autoresetMode, maxEpisodeSteps, renderMode, asynchronous, numWorkers, ...kwargs } =
    options;
  const registration = lookup(id);
  const limit = maxEpisodeSteps ?? registration.maxEpisodeSteps;
  const envKwargs = {
    ...registration.kwargs,
    ...kwargs,
    ...(renderMode === undefined ? {} : { renderMode }),
  };
  if (numEnvs === undefined) {
    if (autoresetMode !== undefined || asynchronous !== undefined || numWorkers !== undefined) {
      throw new ProximalError(
        "INVALID_OPTION",
        `make("${id}"): autoresetMode, asynchronous and numWorkers need numEnvs (a vector env).`,
      );
    }
    return makeSingle(id, envKwargs, limit, seed);
  }
  if (!Number.isInteger(numEnvs) || numEnvs <= 0) {
    throw new ProximalError(
      "INVALID_OPTION",
      `make("${id}"): numEnvs must be a positive integer, got ${numEnvs}.`,
    );
  }
  let vector: VectorEnv;
  if (asynchronous && !workerThreadsAvailable()) {
    // a browser (or Node < 20.16): same envs, same results, stepped in this thread
    warnOnce(
      `proximal: make("${id}", { asynchronous: true }) needs Node's worker_threads, which this runtime lacks; stepping the ${numEnvs} envs synchronously in this thread instead.`,
      "PROXIMAL_SYNC_VECTOR_ENV",
    );
  }
  if (asynchronous && workerThreadsAvailable()) {
    vector = new AsyncVectorEnv(id, {
      numEnvs,
      numWorkers,
      seed,
      autoresetMode,
      makeOptions: {
        ...kwargs,
        ...(renderMode === undefined ? {} : { renderMode }),
        ...(maxEpisodeSteps === undefined ? {} : { maxEpisodeSteps }),
      },
      moduleUrl: registration.moduleUrl,
    });
  } else if (registration.vectorEntryPoint !== undefined && renderMode === undefined) {
    vector = registration.vectorEntryPoint(
      { ...registration.kwargs, ...kwargs },
      { numEnvs, autoresetMode, maxEpisodeSteps: limit, seed },
    );
  } else {
    vector = new SyncVectorEnv(
      Array.from({ length: numEnvs }, () => () => makeSingle(id, envKwargs, limit, undefined)),
      { autoresetMode, seed },
    );
  }
  (vector as { id?: string }).id = id;
  return vector;
}

function makeSingle(
  id: string,
  kwargs: Record<string, unknown>,
  limit: number | undefined,
  seed: number | undefined,
): Env {
  const registration = lookup(id);
  const env = registration.entryPoint(kwargs);
  env.spec = { id, maxEpisodeSteps: limit, rewardThreshold: registration.rewardThreshold, kwargs };
  const limited = limit === undefined ? env : new TimeLimit(env, limit);
  return new OrderEnforcing(limited, { seed });
}

/** Whether {@link AsyncVectorEnv} can start its workers here (Node >= 20.16, not a browser). */
function workerThreadsAvailable(): boolean {
  return nodeBuiltin("node:worker_threads") !== undefined;
}
