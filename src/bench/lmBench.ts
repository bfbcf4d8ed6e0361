import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AdamW } from "../optim/adam.js";
import { Rng } from "../random/rng.js";
import { generate } from "../rlhf/generate.js";
import { GPT, type GPTConfig } from "../rlhf/gpt.js";
import { crossEntropy, narrow, reshape } from "../tensor/ops.js";
import { getBackend, Tensor } from "../tensor/tensor.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** What the suite measures, shared with scripts/bench/lmTorch.py (passed to it as JSON). */
interface LmWorkload extends GPTConfig {
  trainBatch: number;
  trainSteps: number;
  genBatch: number;
  promptLength: number;
  genRepeats: number;
  threads: number;
}

/** Tokens per wall second and per CPU second of this process (CPU time is not slowed by other jobs). */
interface Rate {
  perSecond: number;
  perCpuSecond: number;
}

interface LmFigures {
  backend: string;
  trainTokensPerSecond: number;
  generateTokensPerSecond: number;
  /** Per CPU second of the whole Node process (its GC and compiler threads count against it). */
  trainTokensPerCpuSecond: number;
  generateTokensPerCpuSecond: number;
  torch: {
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
  } | null;
  torchNote: string | null;
  workload: LmWorkload;
}

const PYTHON = "/usr/bin/python3";

/**
 * `proximal bench lm`: tokens per second of a 4-layer, 256-wide, 4-head GPT (vocabulary 4096,
 * context 128) for training (forward, next-token cross-entropy, backward, AdamW step on batches of
 * 4 x 128 tokens) and for cached sampling (8 prompts of 16 tokens extended to 128 positions, one
 * token per sequence per step). The same model and work in PyTorch (scripts/bench/lmTorch.py, one
 * thread, as proximal's engine) runs as a subprocess when /usr/bin/python3 has torch, and the ratio
 * is printed; otherwise the torch columns are skipped with a note.
 */
export async function run(options: BenchOptions): Promise<void> {
  const workload: LmWorkload = {
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
    threads: 1,
  };
  const gpt = new GPT(workload, { rng: new Rng(0) });
  const train = measureTraining(gpt, workload);
  const generation = measureGeneration(gpt, workload);
  const { torch, note } = runTorchReference(workload);
  const figures: LmFigures = {
    backend: getBackend().name,
    trainTokensPerSecond: train.perSecond,
    generateTokensPerSecond: generation.perSecond,
    trainTokensPerCpuSecond: train.perCpuSecond,
    generateTokensPerCpuSecond: generation.perCpuSecond,
    torch,
    torchNote: note,
    workload,
  };
  if (options.json) {
    console.log(JSON.stringify(figures));
    return;
  }
  const ratio = (ours: number, theirs: number | undefined) =>
    theirs === undefined ? "n/a" : `${(ours / theirs).toFixed(2)}x`;
  printTable([
    {
      work: "train (fwd+bwd+AdamW)",
      "proximal tokens/s": Math.round(train.perSecond),
      "torch tokens/s": torch === null ? "n/a" : Math.round(torch.trainTokensPerSecond),
      "proximal / torch": ratio(train.perSecond, torch?.trainTokensPerSecond),
      "proximal tokens/CPU s": Math.round(train.perCpuSecond),
      "torch tokens/CPU s": torch === null ? "n/a" : Math.round(torch.trainTokensPerCpuSecond),
      "proximal / torch (CPU)": ratio(train.perCpuSecond, torch?.trainTokensPerCpuSecond),
    },
    {
      work: "generate (KV cache)",
      "proximal tokens/s": Math.round(generation.perSecond),
      "torch tokens/s": torch === null ? "n/a" : Math.round(torch.generateTokensPerSecond),
      "proximal / torch": ratio(generation.perSecond, torch?.generateTokensPerSecond),
      "proximal tokens/CPU s": Math.round(generation.perCpuSecond),
      "torch tokens/CPU s": torch === null ? "n/a" : Math.round(torch.generateTokensPerCpuSecond),
      "proximal / torch (CPU)": ratio(generation.perCpuSecond, torch?.generateTokensPerCpuSecond),
    },
  ]);
  if (note !== null) console.log(note);
}

/** Wall and CPU time of `work`, as tokens per second of each. */
function rate(tokens: number, work: () => void): Rate {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  work();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { perSecond: tokens / seconds, perCpuSecond: tokens / ((cpu.user + cpu.system) / 1e6) };
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
  step(); // warm-up
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
  once(); // warm-up
  return rate(w.genRepeats * w.genBatch * maxNewTokens, () => {
    for (let i = 0; i < w.genRepeats; i++) once();
  });
}

function runTorchReference(w: LmWorkload): { torch: LmFigures["torch"]; note: string | null } {
  const script = fileURLToPath(new URL("../../scripts/bench/lmTorch.py", import.meta.url));
  if (!existsSync(PYTHON) || !existsSync(script)) {
    return {
      torch: null,
      note: `torch reference skipped: ${existsSync(PYTHON) ? script : PYTHON} not found.`,
    };
  }
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) {
    return { torch: null, note: `torch reference skipped: ${PYTHON} has no torch.` };
  }
  // one thread everywhere: torch's intra-op pool, OpenMP, and the BLAS's own pool (OpenBLAS starts
  // one thread per core unless told otherwise, whatever torch.set_num_threads says)
  const threads = String(w.threads);
  const result = spawnSync(PYTHON, [script, JSON.stringify(w)], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    env: {
      ...process.env,
      OMP_NUM_THREADS: threads,
      OPENBLAS_NUM_THREADS: threads,
      MKL_NUM_THREADS: threads,
      BLIS_NUM_THREADS: threads,
    },
  });
  if (result.status !== 0) {
    return {
      torch: null,
      note: `torch reference failed (exit ${result.status}): ${result.stderr.trim().slice(-500)}`,
    };
  }
  const parsed = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}");
  return {
    torch: {
      trainTokensPerSecond: parsed.trainTokensPerSecond,
      generateTokensPerSecond: parsed.generateTokensPerSecond,
      trainTokensPerCpuSecond: parsed.trainTokensPerCpuSecond,
      generateTokensPerCpuSecond: parsed.generateTokensPerCpuSecond,
      threads: parsed.threads,
      version: parsed.torch,
      blas: parsed.blas,
      blasLibrary: parsed.blasLibrary,
      blasThreads: parsed.blasThreads,
      cpuPerWall: parsed.cpuPerWall,
    },
    note: `torch ${parsed.torch} on ${parsed.threads} thread(s) (CPU/wall ${parsed.cpuPerWall.toFixed(2)}), BLAS: ${parsed.blas}${parsed.blasThreads === null ? "" : ` with ${parsed.blasThreads} thread(s)`} (${parsed.blasLibrary}); same model and work (scripts/bench/lmTorch.py).`,
  };
}
