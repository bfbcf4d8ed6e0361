// Worker-thread side of runReasoningDemoInParallel (reasoningDemoParallel.ts): rebuild the task, the
// splits and the SFT base from the posted weights, then train each preset the main thread posts.

import { parentPort, workerData } from "node:worker_threads";
import { Tensor } from "../../tensor/tensor.js";
import { GPT } from "../gpt.js";
import {
  makeVerifiableTask,
  presetArgs,
  type ReasoningDemoSetup,
  runReasoningPreset,
} from "./reasoningDemo.js";
import type {
  ReasoningWorkerJob,
  ReasoningWorkerMessage,
  ReasoningWorkerSetup,
} from "./reasoningDemoParallel.js";

const setup = workerData as ReasoningWorkerSetup;
const port = parentPort;
if (port === null) throw new Error("reasoningDemoWorker.js runs only as a worker thread.");

const base = new GPT(setup.gptConfig);
base.loadStateDict(Object.fromEntries(setup.baseWeights.map((w) => [w.name, new Tensor(w.data, w.shape)])));
const task = makeVerifiableTask(setup.result.task);
const shared: ReasoningDemoSetup = {
  task,
  splits: setup.result.splits,
  base,
  tokenizer: task.tokenizer,
  result: setup.result,
};
const post = (message: ReasoningWorkerMessage): void => port.postMessage(message);

const abort = setup.abort === undefined ? null : new Int32Array(setup.abort);

// null means "no more presets": close the port so the thread ends on its own (never terminated)
port.on("message", (job: ReasoningWorkerJob | null) => {
  if (job === null) {
    port.close();
    return;
  }
  try {
    const args = presetArgs(shared, { ...setup.options, presets: {} }, job.name, job.preset);
    args.onProgress = (event) => {
      if (abort !== null && Atomics.load(abort, 0) === 1) throw new Error("stopped: another preset failed.");
      post({ kind: "progress", event });
    };
    post({ kind: "done", name: job.name, run: runReasoningPreset(args) });
  } catch (error) {
    post({ kind: "error", name: job.name, message: error instanceof Error ? error.message : String(error) });
  }
});
