/**
 * The one way the library starts a worker thread (Node only), so every worker gets the same guard.
 *
 * Why the guard: on Node 20 a worker thread that ends on its own can hang forever. Seen here with gdb
 * on `rlhf demo reasoning` and its tests under load: the worker thread sat in
 * `NodePlatform::DrainTasks` waiting for a background TurboFan job, and that job sat in
 * `CollectionBarrier::AwaitCollectionBackground` waiting for a garbage collection that only the
 * worker thread could run. Neither ever moved, and the process never exited. The same race is what
 * aborted the process when a worker was terminated mid-compilation. With concurrent recompilation off,
 * V8 optimises a function on the thread that runs it, so no background job outlives a worker's JavaScript.
 * The flag is read when an isolate is created: setting it before the first worker starts affects the
 * worker isolates only (the main isolate keeps its background compiler). Optimisation pauses in a
 * worker are milliseconds against the minutes of training it runs.
 */
import type * as V8 from "node:v8";
import type * as WorkerThreads from "node:worker_threads";
import { nodeBuiltin } from "./nodeBuiltin.js";

let guarded = false;

/** `new Worker(url, options)` from `threads`, after switching off concurrent recompilation for workers. */
export function startWorker(
  threads: typeof WorkerThreads,
  url: URL | string,
  options: WorkerThreads.WorkerOptions,
): WorkerThreads.Worker {
  if (!guarded) {
    nodeBuiltin<typeof V8>("node:v8")?.setFlagsFromString("--no-concurrent-recompilation");
    guarded = true;
  }
  return new threads.Worker(url, options);
}
