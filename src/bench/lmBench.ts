import os from "node:os";
import { ProximalError } from "../errors.js";
import { AdamW } from "../optim/adam.js";
import { Rng } from "../random/rng.js";
import { generate } from "../rlhf/generate.js";
import { GPT, type GPTConfig } from "../rlhf/gpt.js";
import { defaultThreads } from "../tensor/nativeBackend.js";
import { crossEntropy, narrow, reshape } from "../tensor/ops.js";
import { availableBackends, getBackend, setNumThreads, Tensor, withBackend } from "../tensor/tensor.js";
import { runLlamaLmBench } from "./lmLlamaBench.js";
import { type Rate, rate, runTorchScript, torchNote } from "./lmMeasure.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** What the suite measures, shared with scripts/bench/lmTorch.py (passed to it as JSON). */
interface LmWorkload extends GPTConfig {
  trainBatch: number;
  trainSteps: number;
  genBatch: number;
  promptLength: number;
  genRepeats: number;
  /**
   * Untimed runs of each phase first, on both sides. More than one: V8 keeps compiling the hot
   * functions on background threads through the first few, which counted against the per-CPU
   * figures (generation measured 1.43 CPU seconds per wall second after one warm-up, 1.05 after five).
   */
  warmup: number;
  threads: number;
}

/** torch's figures at one thread count (scripts/bench/lmTorch.py). */
interface TorchFigures {
  trainTokensPerSecond: number;
  generateTokensPerSecond: number;
  trainTokensPerCpuSecond: number;
  generateTokensPerCpuSecond: number;
  threads: number;
  version: string;
  /** The BLAS library torch's matmuls ran on (Debian's torch uses whatever libblas.so.3 resolves to). */
  blas: string;
  blasLibrary: string | null;
  /** OpenBLAS's own thread count (null for other BLASes). */
  blasThreads: number | null;
  /** Process CPU seconds per wall second over torch's timed work: about 1 on one core. */
  cpuPerWall: number;
}

/** One backend at one thread count, against torch at the same thread count. */
interface LmRow {
  backend: string;
  threads: number;
  trainTokensPerSecond: number;
  generateTokensPerSecond: number;
  /** Per CPU second of the whole Node process (its GC and compiler threads count against it). */
  trainTokensPerCpuSecond: number;
  generateTokensPerCpuSecond: number;
  /** proximal / torch, tokens per wall second and per CPU second (null without torch). */
  trainRatio: number | null;
  generateRatio: number | null;
  trainCpuRatio: number | null;
  generateCpuRatio: number | null;
  torch: TorchFigures | null;
}

interface LmReport {
  rows: LmRow[];
  /** torch's BLAS, named once for the whole report (null without torch). */
  torchBlas: string | null;
  torchNotes: string[];
  workload: Omit<LmWorkload, "threads">;
}

/** A backend and a thread count to measure. */
export interface LmConfiguration {
  backend: "native" | "wasm" | "cpu";
  threads: number;
}

/**
 * What `bench lm` measures, in order: the active backend at 1 thread and at every core (native only;
 * `PROXIMAL_THREADS=n` measures n alone), then wasm at 1 thread beside native (wasm's kernels run on
 * one thread). Each is compared with torch at its own thread count.
 */
export function lmConfigurations(context: {
  active: "native" | "wasm" | "cpu";
  wasmAvailable: boolean;
  threadsEnv: string | undefined;
  cores: number;
}): LmConfiguration[] {
  const { active, wasmAvailable, threadsEnv, cores } = context;
  if (active !== "native") return [{ backend: active, threads: 1 }];
  // PROXIMAL_THREADS read as the native backend reads it (the same check and error)
  const requested = threadsEnv === undefined || threadsEnv === "" ? null : defaultThreads(threadsEnv, os);
  const threads = requested !== null ? [requested] : cores > 1 ? [1, cores] : [1];
  const rows: LmConfiguration[] = threads.map((t) => ({ backend: "native", threads: t }));
  if (wasmAvailable) rows.push({ backend: "wasm", threads: 1 });
  return rows;
}

/**
 * `proximal bench lm`: tokens per second of a 4-layer, 256-wide, 4-head GPT (vocabulary 4096,
 * context 128) for training (forward, next-token cross-entropy, backward, AdamW step on batches of
 * 4 x 128 tokens) and for cached sampling (8 prompts of 16 tokens extended to 128 positions, one
 * token per sequence per step). On the native backend it measures 1 thread, every core, and wasm
 * beside them (`lmConfigurations`). The same model and work in PyTorch (scripts/bench/lmTorch.py, on
 * the same thread count) runs as a subprocess when /usr/bin/python3 has torch, and the ratios are
 * printed; otherwise the torch columns are skipped with a note.
 *
 * `--arch llama --size <size>` measures a Llama-family model at a real model's size instead
 * (src/bench/lmLlamaBench.ts, e.g. SmolLM2-135M's shape with random weights).
 */
export async function run(options: BenchOptions): Promise<void> {
  if (options.arch !== undefined && options.arch !== "gpt") {
    await runLlamaLmBench(options);
    return;
  }
  if (options.size !== undefined) {
    throw new ProximalError(
      "INVALID_OPTION",
      `bench lm: --size applies to --arch llama (the GPT workload has one size), got --size ${options.size}. Add --arch llama, or drop --size.`,
    );
  }
  const shape: Omit<LmWorkload, "threads"> = {
    vocabSize: 4096,
    nPositions: 128,
    nEmbd: 256,
    nLayer: 4,
    nHead: 4,
    trainBatch: 4,
    trainSteps: options.quick ? 1 : 4,
    genBatch: 8,
    promptLength: 16,
    genRepeats: options.quick ? 1 : 2,
    warmup: options.quick ? 1 : 3,
  };
  const active = getBackend().name as LmConfiguration["backend"];
  const configurations = lmConfigurations({
    active,
    wasmAvailable: availableBackends().includes("wasm"),
    threadsEnv: process.env.PROXIMAL_THREADS,
    cores: defaultThreads(undefined, os),
  });
  // torch runs once per thread count, right after the first proximal row at that count
  const torchAt = new Map<number, { torch: TorchFigures | null; note: string | null }>();
  const rows: LmRow[] = [];
  for (const configuration of configurations) {
    const workload: LmWorkload = { ...shape, threads: configuration.threads };
    const { train, generation } = withBackend(configuration.backend, () => {
      if (configuration.backend === "native") setNumThreads(configuration.threads);
      const gpt = new GPT(workload, { rng: new Rng(0) });
      return { train: measureTraining(gpt, workload), generation: measureGeneration(gpt, workload) };
    });
    if (!torchAt.has(configuration.threads)) torchAt.set(configuration.threads, runTorchReference(workload));
    const torch = torchAt.get(configuration.threads)!.torch;
    const ratio = (ours: number, theirs: number | undefined) => (theirs === undefined ? null : ours / theirs);
    rows.push({
      backend: configuration.backend,
      threads: configuration.threads,
      trainTokensPerSecond: train.perSecond,
      generateTokensPerSecond: generation.perSecond,
      trainTokensPerCpuSecond: train.perCpuSecond,
      generateTokensPerCpuSecond: generation.perCpuSecond,
      trainRatio: ratio(train.perSecond, torch?.trainTokensPerSecond),
      generateRatio: ratio(generation.perSecond, torch?.generateTokensPerSecond),
      trainCpuRatio: ratio(train.perCpuSecond, torch?.trainTokensPerCpuSecond),
      generateCpuRatio: ratio(generation.perCpuSecond, torch?.generateTokensPerCpuSecond),
      torch,
    });
  }
  if (active === "native") setNumThreads(configurations[0]!.threads);
  const torches = [...torchAt.values()];
  const firstTorch = torches.find((t) => t.torch !== null)?.torch ?? null;
  const report: LmReport = {
    rows,
    torchBlas: firstTorch === null ? null : firstTorch.blas,
    torchNotes: [...new Set(torches.map((t) => t.note).filter((n): n is string => n !== null))],
    workload: shape,
  };
  if (options.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const fixed = (r: number | null) => (r === null ? "n/a" : `${r.toFixed(2)}x`);
  const torchCell = (r: LmRow, value: (t: TorchFigures) => number) =>
    r.torch === null ? "n/a" : Math.round(value(r.torch));
  // one table row per backend, thread count and phase
  const phase = (r: LmRow, work: string, key: "train" | "generate") => {
    const ours = key === "train" ? r.trainTokensPerSecond : r.generateTokensPerSecond;
    const oursCpu = key === "train" ? r.trainTokensPerCpuSecond : r.generateTokensPerCpuSecond;
    return {
      backend: `${r.backend} ${r.threads}T`,
      work,
      "proximal tokens/s": Math.round(ours),
      "torch tokens/s": torchCell(r, (t) =>
        key === "train" ? t.trainTokensPerSecond : t.generateTokensPerSecond,
      ),
      "proximal / torch": fixed(key === "train" ? r.trainRatio : r.generateRatio),
      "proximal tokens/CPU s": Math.round(oursCpu),
      "torch tokens/CPU s": torchCell(r, (t) =>
        key === "train" ? t.trainTokensPerCpuSecond : t.generateTokensPerCpuSecond,
      ),
      "proximal / torch (CPU)": fixed(key === "train" ? r.trainCpuRatio : r.generateCpuRatio),
    };
  };
  printTable(
    rows.flatMap((r) => [
      phase(r, "train (fwd+bwd+AdamW)", "train"),
      phase(r, "generate (KV cache)", "generate"),
    ]),
  );
  for (const note of report.torchNotes) console.log(note);
}

function measureTraining(gpt: GPT, w: LmWorkload): Rate {
  const rng = new Rng(1);
  const ids = new Int32Array(w.trainBatch * w.nPositions);
  for (let i = 0; i < ids.length; i++) ids[i] = rng.integer(w.vocabSize);
  const batch = new Tensor(ids, [w.trainBatch, w.nPositions]);
  const optimizer = new AdamW(gpt.parameters(), { lr: 1e-4 });
  const step = () => {
    const { logits } = gpt.forward(batch);
    const inputs = narrow(logits!, 1, 0, w.nPositions - 1);
    const targets = narrow(batch, 1, 1, w.nPositions - 1);
    const loss = crossEntropy(reshape(inputs, [-1, w.vocabSize]), reshape(targets, [-1]));
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
  };
  for (let i = 0; i < w.warmup; i++) step();
  return rate(w.trainSteps * w.trainBatch * w.nPositions, () => {
    for (let i = 0; i < w.trainSteps; i++) step();
  });
}

function measureGeneration(gpt: GPT, w: LmWorkload): Rate {
  const rng = new Rng(2);
  const prompts = Array.from({ length: w.genBatch }, () =>
    Array.from({ length: w.promptLength }, () => rng.integer(w.vocabSize)),
  );
  const maxNewTokens = w.nPositions - w.promptLength;
  const once = () => generate(gpt, prompts, { maxNewTokens, doSample: true, rng });
  for (let i = 0; i < w.warmup; i++) once();
  return rate(w.genRepeats * w.genBatch * maxNewTokens, () => {
    for (let i = 0; i < w.genRepeats; i++) once();
  });
}

function runTorchReference(w: LmWorkload): { torch: TorchFigures | null; note: string | null } {
  const { parsed, note } = runTorchScript(w);
  if (parsed === null) return { torch: null, note };
  return {
    torch: {
      trainTokensPerSecond: parsed.trainTokensPerSecond as number,
      generateTokensPerSecond: parsed.generateTokensPerSecond as number,
      trainTokensPerCpuSecond: parsed.trainTokensPerCpuSecond as number,
      generateTokensPerCpuSecond: parsed.generateTokensPerCpuSecond as number,
      threads: parsed.threads as number,
      version: parsed.torch as string,
      blas: parsed.blas as string,
      blasLibrary: parsed.blasLibrary as string | null,
      blasThreads: parsed.blasThreads as number | null,
      cpuPerWall: parsed.cpuPerWall as number,
    },
    note: torchNote(parsed),
  };
}
