import type * as WorkerThreads from "node:worker_threads";
import { ProximalError } from "../../errors.js";
import { nodeBuiltin } from "../../nodeBuiltin.js";
import { startWorker } from "../../workerThread.js";
import { lookup } from "../registry.js";
import { Discrete } from "../spaces/discrete.js";
import { flatSize, isIntegerSpace } from "../spaces/flatten.js";
import type { Space } from "../spaces/space.js";
import { command, slot, status, type WorkerError, type WorkerSetup } from "./asyncProtocol.js";
import { batchSpace } from "./batchSpace.js";
import type {
  AutoresetMode,
  VectorEnv,
  VectorInfos,
  VectorResetOptions,
  VectorResetResult,
  VectorStepResult,
} from "./vectorEnv.js";

/** Options of {@link AsyncVectorEnv}. */
export interface AsyncVectorOptions {
  numEnvs: number;
  /** Worker threads; each runs a contiguous slice of the envs. @defaultValue min(numEnvs, 2) */
  numWorkers?: number;
  /** @defaultValue "next-step" (Gymnasium 1.x) */
  autoresetMode?: AutoresetMode;
  /** Seed of the first reset without one (env i gets seed + i). @defaultValue 0 */
  seed?: number;
  /** Options each worker passes to `make(id, ...)` for its single envs (env kwargs, maxEpisodeSteps...). */
  makeOptions?: Record<string, unknown>;
  /** Module each worker imports first, to register a custom env (see `EnvRegistration.moduleUrl`). */
  moduleUrl?: string;
  /** Give up on a worker that does not answer a command within this many ms. @defaultValue 60000 */
  timeoutMs?: number;
}

interface WorkerHandle {
  worker: WorkerThreads.Worker;
  control: Int32Array;
  port: WorkerThreads.MessagePort;
  start: number;
  count: number;
}

/**
 * Steps envs in worker threads (Gymnasium's `AsyncVectorEnv`), Node only. Envs are created inside
 * the workers by id (`make(id, makeOptions)`), since functions cannot cross threads. Observations,
 * actions, rewards and flags travel through `SharedArrayBuffer`s and the calls block with
 * `Atomics.wait`, so `step()` is synchronous like the other {@link VectorEnv}s; `stepAsync()` and
 * `stepWait()` split it to overlap the workers with your own work.
 *
 * A worker that throws (or exits) makes the call throw `WORKER_FAILED` with the worker's message;
 * all workers are then terminated. Workers are `unref`'d, so a forgotten `close()` does not keep the
 * process alive. Node's worker_threads are loaded only when this class is constructed, so importing
 * it is safe in browsers.
 *
 * The returned typed arrays are reused on every call: copy what you keep.
 */
export class AsyncVectorEnv implements VectorEnv {
  readonly numEnvs: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  private readonly workers: WorkerHandle[] = [];
  private readonly threads: typeof WorkerThreads;
  private readonly obsSize: number;
  private readonly actionSize: number;
  private readonly actions: Float64Array;
  private readonly observations: Float32Array;
  private readonly finalObservations: Float32Array;
  private readonly rewards: Float32Array;
  private readonly terminated: Uint8Array;
  private readonly truncated: Uint8Array;
  private readonly timeoutMs: number;
  private closed = false;
  private waiting = false;

  constructor(
    readonly id: string,
    options: AsyncVectorOptions,
  ) {
    const threads = nodeBuiltin<typeof WorkerThreads>("node:worker_threads");
    if (threads === undefined) {
      throw new ProximalError(
        "BACKEND_UNAVAILABLE",
        "AsyncVectorEnv needs Node's worker_threads (Node >= 20.16). Use SyncVectorEnv in browsers.",
      );
    }
    this.threads = threads;
    const n = options.numEnvs;
    if (!Number.isInteger(n) || n <= 0)
      throw new ProximalError(
        "INVALID_OPTION",
        `AsyncVectorEnv: numEnvs must be a positive integer, got ${n}.`,
      );
    const numWorkers = options.numWorkers ?? Math.min(n, 2);
    if (!Number.isInteger(numWorkers) || numWorkers <= 0 || numWorkers > n) {
      throw new ProximalError(
        "INVALID_OPTION",
        `AsyncVectorEnv: numWorkers must be an integer from 1 to numEnvs (${n}), got ${numWorkers}.`,
      );
    }
    this.numEnvs = n;
    this.autoresetMode = options.autoresetMode ?? "next-step";
    this.timeoutMs = options.timeoutMs ?? 60_000;
    const makeOptions = options.makeOptions ?? {};
    // Read the spaces from one env made here (the registry knows the id in this thread too).
    const registration = lookup(id);
    const { maxEpisodeSteps: _limit, ...kwargs } = makeOptions;
    const probe = registration.entryPoint({ ...registration.kwargs, ...kwargs });
    this.singleObservationSpace = probe.observationSpace;
    this.singleActionSpace = probe.actionSpace;
    probe.close();
    this.observationSpace = batchSpace(this.singleObservationSpace, n);
    this.actionSpace = batchSpace(this.singleActionSpace, n);
    this.obsSize = flatSize(this.singleObservationSpace);
    this.actionSize = flatSize(this.singleActionSpace);
    const shared = (bytes: number) => new SharedArrayBuffer(Math.max(bytes, 8));
    const buffers = {
      actions: shared(n * this.actionSize * 8),
      observations: shared(n * this.obsSize * 4),
      finalObservations: shared(n * this.obsSize * 4),
      rewards: shared(n * 4),
      terminated: shared(n),
      truncated: shared(n),
    };
    this.actions = new Float64Array(buffers.actions, 0, n * this.actionSize);
    this.observations = new Float32Array(buffers.observations, 0, n * this.obsSize);
    this.finalObservations = new Float32Array(buffers.finalObservations, 0, n * this.obsSize);
    this.rewards = new Float32Array(buffers.rewards, 0, n);
    this.terminated = new Uint8Array(buffers.terminated, 0, n);
    this.truncated = new Uint8Array(buffers.truncated, 0, n);
    const workerUrl = new URL("./asyncWorker.js", import.meta.url);
    let start = 0;
    for (let w = 0; w < numWorkers; w++) {
      const count = Math.floor(n / numWorkers) + (w < n % numWorkers ? 1 : 0);
      const controlBuffer = new SharedArrayBuffer(16);
      const control = new Int32Array(controlBuffer);
      const channel = new threads.MessageChannel();
      const setup: WorkerSetup = {
        id,
        start,
        count,
        numEnvs: n,
        makeOptions,
        moduleUrl: options.moduleUrl,
        autoresetMode: this.autoresetMode,
        seed: options.seed ?? 0,
        obsSize: this.obsSize,
        actionSize: this.actionSize,
        integerActions: isIntegerSpace(this.singleActionSpace),
        control: controlBuffer,
        ...buffers,
      };
      const worker = startWorker(threads, workerUrl, {
        workerData: { setup, port: channel.port2 },
        transferList: [channel.port2],
      });
      worker.unref();
      // Errors are reported through shared memory; keep the 'error' event from crashing the process.
      worker.on("error", () => {});
      this.workers.push({ worker, control, port: channel.port1, start, count });
      start += count;
    }
    this.waitAll("start-up");
  }

  reset(opts: VectorResetOptions = {}): VectorResetResult {
    this.checkOpen();
    const mask = opts.options?.resetMask;
    if (mask !== undefined && mask.length !== this.numEnvs) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `${this.name}: resetMask has ${mask.length} entries, expected ${this.numEnvs}.`,
      );
    }
    const options =
      opts.options === undefined
        ? undefined
        : { ...opts.options, ...(mask === undefined ? {} : { resetMask: Array.from(mask, Number) }) };
    for (const handle of this.workers) handle.port.postMessage({ seed: opts.seed, options });
    this.sendAll(command.reset);
    const infos = this.waitAll("reset");
    return { observations: this.observations, infos };
  }

  step(actions: Int32Array | Float32Array): VectorStepResult {
    this.stepAsync(actions);
    return this.stepWait();
  }

  /** Hand the actions to the workers and return at once; collect the result with {@link stepWait}. */
  stepAsync(actions: Int32Array | Float32Array): void {
    this.checkOpen();
    if (this.waiting)
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: stepAsync() called twice; call stepWait() first.`,
      );
    this.checkActions(actions);
    this.actions.set(actions);
    this.sendAll(command.step);
    this.waiting = true;
  }

  /** Block until the step started by {@link stepAsync} is done. */
  stepWait(): VectorStepResult {
    if (!this.waiting)
      throw new ProximalError("INVALID_ARGUMENT", `${this.name}: stepWait() without a pending stepAsync().`);
    this.waiting = false;
    const infos = this.waitAll("step");
    return {
      observations: this.observations,
      rewards: this.rewards,
      terminated: this.terminated,
      truncated: this.truncated,
      finalObservations: this.autoresetMode === "same-step" ? this.finalObservations : null,
      infos,
    };
  }

  getState(): unknown {
    this.checkOpen();
    this.sendAll(command.getState);
    const states: unknown[] = [];
    this.waitAll("getState", states);
    return { workers: states };
  }

  setState(state: unknown): void {
    this.checkOpen();
    const s = state as { workers?: unknown[] };
    if (!Array.isArray(s?.workers) || s.workers.length !== this.workers.length) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: setState() needs a getState() checkpoint with ${this.workers.length} workers.`,
      );
    }
    this.workers.forEach((handle, w) => {
      handle.port.postMessage({ state: s.workers![w] });
    });
    this.sendAll(command.setState);
    this.waitAll("setState");
  }

  /** Stop the workers. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const handle of this.workers) {
      Atomics.store(handle.control, slot.status, status.busy);
      Atomics.store(handle.control, slot.command, command.close);
      Atomics.notify(handle.control, slot.command);
    }
    for (const handle of this.workers) {
      Atomics.wait(handle.control, slot.status, status.busy, 1000);
      void handle.worker.terminate();
      handle.port.close();
    }
  }

  private get name(): string {
    return `${this.id} (AsyncVectorEnv, numEnvs=${this.numEnvs})`;
  }

  private checkOpen(): void {
    if (this.closed)
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: the vector env is closed (a worker failed or close() was called).`,
      );
  }

  private checkActions(actions: Int32Array | Float32Array): void {
    const expected = this.numEnvs * this.actionSize;
    if (actions === null || typeof actions !== "object" || actions.length !== expected) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `${this.name}: actions must hold numEnvs x ${this.actionSize} = ${expected} values for ${this.actionSpace}, got ${actions?.length ?? typeof actions}.`,
      );
    }
    const space = this.singleActionSpace;
    for (let k = 0; k < expected; k++) {
      const a = actions[k];
      const bad = space instanceof Discrete ? !space.contains(a) : Number.isNaN(a);
      if (bad) {
        throw new ProximalError(
          "INVALID_ACTION",
          `${this.name}: action ${a} for env ${Math.floor(k / this.actionSize)} is not valid in the action space ${space}.`,
        );
      }
    }
  }

  private sendAll(cmd: number): void {
    for (const handle of this.workers) {
      Atomics.store(handle.control, slot.status, status.busy);
      Atomics.store(handle.control, slot.command, cmd);
      Atomics.notify(handle.control, slot.command);
    }
  }

  /** Wait for every worker; merge infos (or collect states); throw WORKER_FAILED on an error or time-out. */
  private waitAll(what: string, states?: unknown[]): VectorInfos {
    const infos: VectorInfos = {};
    let failure: ProximalError | undefined;
    for (const [w, handle] of this.workers.entries()) {
      const deadline = performance.now() + this.timeoutMs;
      while (Atomics.load(handle.control, slot.status) === status.busy) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        Atomics.wait(handle.control, slot.status, status.busy, Math.min(left, 1000));
      }
      const state = Atomics.load(handle.control, slot.status);
      const message = Atomics.load(handle.control, slot.hasMessage) === 1 ? this.receive(handle) : undefined;
      if (state === status.busy) {
        failure ??= new ProximalError(
          "WORKER_FAILED",
          `${this.name}: worker ${w} (envs ${handle.start}..${handle.start + handle.count - 1}) did not answer ${what} within ${this.timeoutMs} ms.`,
        );
      } else if (state === status.failed) {
        const error = (message as { error?: WorkerError } | undefined)?.error;
        const inner = error?.code ? `[${error.code}] ` : "";
        failure ??= new ProximalError(
          "WORKER_FAILED",
          `${this.name}: worker ${w} (envs ${handle.start}..${handle.start + handle.count - 1}) failed during ${what}: ${inner}${error?.message ?? "unknown error"}`,
          { cause: error },
        );
      } else if (message !== undefined) {
        const m = message as { infos?: VectorInfos; state?: unknown };
        if (m.infos !== undefined) mergeInfos(infos, m.infos, handle.start, this.numEnvs);
        if (states !== undefined) states[w] = m.state;
      }
    }
    if (failure !== undefined) {
      this.terminateAll();
      throw failure;
    }
    return infos;
  }

  private receive(handle: WorkerHandle): unknown {
    Atomics.store(handle.control, slot.hasMessage, 0);
    return this.threads.receiveMessageOnPort(handle.port)?.message;
  }

  private terminateAll(): void {
    this.closed = true;
    for (const handle of this.workers) {
      void handle.worker.terminate();
      handle.port.close();
    }
  }
}

/** Copy a worker's Gymnasium-style infos (for its slice) into the global ones at `start`. */
function mergeInfos(into: VectorInfos, from: VectorInfos, start: number, numEnvs: number): void {
  for (const [key, value] of Object.entries(from)) {
    if (key.startsWith("_")) continue;
    const values = value as unknown[];
    const mask = from[`_${key}`] as Uint8Array;
    let target = into[key] as unknown[] | undefined;
    if (target === undefined) {
      target = new Array(numEnvs).fill(undefined);
      into[key] = target;
      into[`_${key}`] = new Uint8Array(numEnvs);
    }
    for (let j = 0; j < values.length; j++) {
      if (mask?.[j]) {
        target[start + j] = values[j];
        (into[`_${key}`] as Uint8Array)[start + j] = 1;
      }
    }
  }
}
