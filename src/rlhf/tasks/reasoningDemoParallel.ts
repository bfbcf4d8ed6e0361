/**
 * The reasoning demo with its presets spread over worker threads (Node only): the SFT base is trained
 * once here, then each worker trains whole presets from a copy of it. A preset's run depends only on
 * the base, its config and the seed, so the result equals {@link runReasoningDemo}'s, in less time on
 * a machine with more than one core. Where worker threads are missing (browsers) it runs in this thread.
 */
import type * as WorkerThreads from "node:worker_threads";
import { ProximalError } from "../../errors.js";
import { nodeBuiltin } from "../../nodeBuiltin.js";
import { startWorker } from "../../workerThread.js";
import type { GPTConfig } from "../gpt.js";
import type { GRPOConfig } from "../grpo/grpoConfig.js";
import {
  type PresetRun,
  prepareReasoningDemo,
  type ReasoningDemoOptions,
  type ReasoningDemoProgress,
  type ReasoningDemoResult,
  runReasoningDemo,
} from "./reasoningDemo.js";

/** What a worker needs to rebuild the demo's shared state without retraining the base. */
export interface ReasoningWorkerSetup {
  /** Int32Array(1) over a SharedArrayBuffer: 1 asks busy workers to give up their preset. */
  abort?: SharedArrayBuffer;
  options: Omit<ReasoningDemoOptions, "presets" | "onProgress">;
  /** The demo's result so far: task, seed, splits and the SFT base's figures (no presets). */
  result: ReasoningDemoResult;
  gptConfig: Required<GPTConfig>;
  /** The base's state dict as plain arrays (each its own buffer, so posting copies only it). */
  baseWeights: { name: string; shape: number[]; data: Float32Array }[];
}

/** A preset to train, posted to a worker. */
export interface ReasoningWorkerJob {
  name: string;
  preset: GRPOConfig;
}

/** A worker's messages. */
export type ReasoningWorkerMessage =
  | { kind: "progress"; event: ReasoningDemoProgress }
  | { kind: "done"; name: string; run: PresetRun }
  | { kind: "error"; name: string; message: string };

/** Options of {@link runReasoningDemoInParallel}. */
export interface ParallelReasoningDemoOptions extends ReasoningDemoOptions {
  /** Worker threads; 1 runs everything in this thread. @defaultValue min(presets, available cores) */
  workers?: number;
}

/** {@link runReasoningDemo} with presets trained in `workers` threads at once; same result. */
export async function runReasoningDemoInParallel(
  options: ParallelReasoningDemoOptions,
): Promise<ReasoningDemoResult> {
  const names = Object.keys(options.presets);
  const threads = nodeBuiltin<typeof WorkerThreads>("node:worker_threads");
  const os = nodeBuiltin<{ availableParallelism(): number }>("node:os");
  const workers = options.workers ?? Math.min(names.length, os?.availableParallelism() ?? 1);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new ProximalError("INVALID_OPTION", `workers must be a positive integer, got ${workers}.`);
  }
  if (workers === 1 || names.length <= 1 || threads === undefined) return runReasoningDemo(options);
  const setup = prepareReasoningDemo(options);
  const { presets: _presets, onProgress, workers: _workers, ...shared } = options;
  const workerSetup: ReasoningWorkerSetup = {
    options: shared,
    result: { ...setup.result, presets: {} },
    gptConfig: setup.base.config,
    baseWeights: Object.entries(setup.base.stateDict()).map(([name, t]) => ({
      name,
      shape: t.shape.slice(),
      data: Float32Array.from(t.values),
    })),
  };
  const runs = new Map<string, PresetRun>();
  // longest first, so the last preset to start is a short one and no core idles long at the end
  const queue = [...names].sort((a, b) => presetCost(options.presets[b]) - presetCost(options.presets[a]));
  const url = new URL("./reasoningDemoWorker.js", import.meta.url);
  // Workers are never terminate()d: on Node 20 terminating a worker while V8 compiles for it in the
  // background can abort the whole process. Each worker is told to stop (null) and exits on its own;
  // a failure raises a shared flag that a busy worker checks after every step.
  const abort = new Int32Array(new SharedArrayBuffer(4));
  await new Promise<void>((resolve, reject) => {
    let failure: Error | null = null;
    let running = 0;
    const fail = (error: Error): void => {
      failure ??= error;
      Atomics.store(abort, 0, 1);
    };
    const next = (worker: WorkerThreads.Worker): void => {
      const name = failure === null ? queue.shift() : undefined;
      const job: ReasoningWorkerJob | null =
        name === undefined ? null : { name, preset: options.presets[name] };
      worker.postMessage(job);
    };
    for (let w = 0; w < Math.min(workers, names.length); w++) {
      const worker = startWorker(threads, url, { workerData: { ...workerSetup, abort: abort.buffer } });
      running++;
      worker.on("message", (message: ReasoningWorkerMessage) => {
        if (message.kind === "progress") {
          onProgress?.(message.event);
          return;
        }
        if (message.kind === "error") {
          fail(
            new ProximalError(
              "WORKER_FAILED",
              `reasoning demo, preset "${message.name}": ${message.message}`,
            ),
          );
        } else runs.set(message.name, message.run);
        next(worker);
      });
      worker.on("error", (error) => fail(error));
      worker.on("exit", (code) => {
        if (code !== 0)
          fail(new ProximalError("WORKER_FAILED", `reasoning demo: a worker exited with code ${code}.`));
        running--;
        if (running > 0) return;
        if (failure !== null) reject(failure);
        else if (runs.size < names.length)
          reject(new ProximalError("INTERNAL", "reasoning demo: presets left untrained."));
        else resolve();
      });
      next(worker);
    }
  });
  // in the presets' order, as the sequential demo reports them
  for (const name of names) setup.result.presets[name] = runs.get(name) as PresetRun;
  return setup.result;
}

/**
 * A rough relative cost of training a preset, for ordering the work: dynamic sampling draws about
 * three times the completions it trains on (measured on the addition demo), and a KL term runs the
 * reference model too. Only the order depends on it, never a result.
 */
export function presetCost(preset: GRPOConfig): number {
  return 1 + (preset.dynamicSampling === true ? 0.4 : 0) + ((preset.beta ?? 0) > 0 ? 0.2 : 0);
}
