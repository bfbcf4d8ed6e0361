/**
 * `proximal bench lm --arch llama --size 135m [--json]`: a Llama-family model in a real small model's
 * shape, with random weights (nothing is downloaded), on one thread:
 * - cached generation tokens/s at batch 1 and batch 8 (prompts of 16 tokens, sampling at temperature 1);
 * - full-parameter training tokens/s (forward, next-token cross-entropy, backward, AdamW step);
 * - the peak resident memory of the process after each;
 * - each on the native backend and on wasm beside it (`--quick`: native only);
 * - one GRPO step in that shape: 8 completions of 128 tokens sampled, scored and trained on, on 2
 *   threads of the native backend (every other row runs on 1);
 * - PyTorch on the same model and work (scripts/bench/lmTorch.py, same thread count, its BLAS named)
 *   when /usr/bin/python3 has torch.
 * - LoRA training tokens/s ({@link BENCH_LORA}) on the first backend, same tokens as full training.
 */
import { ProximalError } from "../errors.js";
import { applyLora, type LoraConfig, unloadLora } from "../nn/lora.js";
import { type LlamaConfig, LlamaForCausalLM, type ResolvedLlamaConfig } from "../nn/models/llama.js";
import { AdamW } from "../optim/adam.js";
import { Rng } from "../random/rng.js";
import { generate } from "../rlhf/generate.js";
import { GRPOTrainer } from "../rlhf/grpo/grpoTrainer.js";
import type { Tokenizer } from "../rlhf/tokenizer.js";
import type { BackendName } from "../tensor/backend.js";
import { loadNativeBackend } from "../tensor/nativeBackend.js";
import { crossEntropy, narrow, reshape } from "../tensor/ops.js";
import {
  availableBackends,
  backendInfo,
  getBackend,
  setBackend,
  setNumThreads,
  Tensor,
} from "../tensor/tensor.js";
import { peakRssMb, type Rate, rate, runTorchScript, torchNote } from "./lmMeasure.js";
import { type BenchOptions, printTable } from "./suites.js";

/**
 * Model shapes of `--size`. `135m` is SmolLM2-135M's published `config.json` (HuggingFaceTB/SmolLM2-135M:
 * hidden 576, 30 layers, 9 heads, 3 key/value heads, intermediate 1536, vocabulary 49152, tied
 * embeddings, rope_theta 100000, 8192 positions, RMSNorm eps 1e-5, initializer_range 0.0417);
 * `tiny` is for smoke tests of the plumbing.
 */
export const LLAMA_BENCH_SIZES: Record<string, LlamaConfig> = {
  "135m": {
    modelType: "llama",
    vocabSize: 49152,
    hiddenSize: 576,
    intermediateSize: 1536,
    numHiddenLayers: 30,
    numAttentionHeads: 9,
    numKeyValueHeads: 3,
    maxPositionEmbeddings: 8192,
    rmsNormEps: 1e-5,
    ropeTheta: 100000,
    tieWordEmbeddings: true,
    initializerRange: 0.041666666666666664,
  },
  tiny: {
    modelType: "llama",
    vocabSize: 256,
    hiddenSize: 32,
    intermediateSize: 64,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    maxPositionEmbeddings: 512,
    tieWordEmbeddings: true,
  },
};

/**
 * The adapters of the LoRA-training row: rank 8, α 16, on every linear layer but the output head
 * (PEFT's "all-linear"; SmolLM2's head is the tied embedding anyway), dropout 0. The same in
 * lmTorch.py.
 */
export const BENCH_LORA: LoraConfig = { rank: 8, alpha: 16, dropout: 0, targetModules: "all-linear" };

/** What the suite runs, shared with scripts/bench/lmTorch.py (passed to it as JSON). */
export interface LlamaLmWorkload {
  arch: "llama";
  size: string;
  config: ResolvedLlamaConfig;
  /** Tokens of each random prompt. */
  promptLength: number;
  /** Tokens generated per sequence in each timed generation run. */
  newTokens: number;
  /** Batch sizes of the generation runs. */
  generationBatches: number[];
  /** Sequences of `trainLength` tokens per training step. */
  trainBatch: number;
  trainLength: number;
  /** Timed training steps (after one warm-up) on the first backend. */
  trainSteps: number;
  /** Timed training steps on the others (wasm: several times slower, so fewer). */
  otherBackendTrainSteps: number;
  /**
   * The GRPO step: `completions` sampled completions of `completionLength` tokens from one prompt, on
   * `threads` threads of the native backend (the "on 2 cores"; 1 on wasm).
   */
  grpo: { completions: number; completionLength: number; threads: number };
  /** The adapters of the LoRA-training row ({@link BENCH_LORA}). */
  lora: LoraConfig;
  threads: number;
}

/** Tokens/s of one generation batch size. */
export interface GenerationFigures extends Rate {
  batch: number;
}

/** Everything measured on one backend. */
export interface LlamaBackendFigures {
  backend: BackendName;
  generate: GenerationFigures[];
  /** Full-parameter training (forward, cross-entropy, backward, AdamW step). */
  train: Rate;
  /** LoRA training ({@link BENCH_LORA}); measured on the first backend only (null on the others). */
  loraTrain: Rate | null;
  /** Trainable parameters of the LoRA row (null where it was not measured). */
  loraParameters: number | null;
  /**
   * Peak RSS of the process (MiB) after generation, after LoRA training (null where not measured)
   * and after full-parameter training, measured in that order: each is the run's peak so far, so
   * each includes the ones before; the GRPO step comes after all three.
   */
  peakRssMbAfterGenerate: number;
  peakRssMbAfterLoraTrain: number | null;
  peakRssMbAfterTrain: number;
}

/** One GRPO step's wall time and what it did. */
export interface GrpoStepFigures {
  backend: BackendName;
  seconds: number;
  /** CPU seconds of the process over the step (about `seconds` per busy thread on idle cores). */
  cpuSeconds: number;
  /** Threads the step's kernels ran on. */
  threads: number;
  completions: number;
  completionTokens: number;
  peakRssMb: number;
}

/** What `bench lm --arch llama --json` prints. */
export interface LlamaLmFigures {
  arch: "llama";
  size: string;
  parameters: number;
  workload: LlamaLmWorkload;
  backends: LlamaBackendFigures[];
  grpoStep: GrpoStepFigures;
  torch: Record<string, unknown> | null;
  torchNote: string | null;
}

/** The workload of `size` (`quick`: a few tokens of everything, for smoke runs). */
export function llamaWorkload(size: string, quick: boolean): LlamaLmWorkload {
  const config = LLAMA_BENCH_SIZES[size];
  if (config === undefined) {
    const sizes = Object.keys(LLAMA_BENCH_SIZES);
    throw new ProximalError(
      "INVALID_OPTION",
      `bench lm --arch llama: unknown --size "${size}". Sizes: ${sizes.join(", ")}.`,
    );
  }
  const model = new LlamaForCausalLM(config, { initialize: false });
  // token counts chosen so the 135m run takes a few minutes on this 2-core machine (BENCHMARKS.md lm)
  return {
    arch: "llama",
    size,
    config: model.config,
    promptLength: quick ? 4 : 16,
    newTokens: quick ? 4 : 32,
    generationBatches: [1, 8],
    trainBatch: 1,
    trainLength: quick ? 16 : 128,
    trainSteps: quick ? 1 : 2,
    otherBackendTrainSteps: 1,
    grpo: { completions: 8, completionLength: quick ? 4 : 128, threads: 2 },
    lora: BENCH_LORA,
    threads: 1,
  };
}

/** Parameters of a model (tied embeddings counted once). */
function parameterCount(model: LlamaForCausalLM): number {
  return model.parameters().reduce((sum, p) => sum + p.size, 0);
}

/**
 * Measure `workload` on each of `backends` (every one of them available here), then one GRPO step on
 * the first; `torch` adds the PyTorch reference. The model is built once (seed 0) and shared.
 */
export function measureLlamaLm(
  workload: LlamaLmWorkload,
  backends: BackendName[],
  torch: boolean,
): LlamaLmFigures {
  const available = availableBackends();
  const missing = backends.filter((b) => !available.includes(b));
  if (missing.length > 0) {
    throw new ProximalError(
      "BACKEND_UNAVAILABLE",
      `bench lm: backend(s) ${missing.join(", ")} not available here (available: ${available.join(", ")}).`,
    );
  }
  const native = available.includes("native");
  const threadsBefore = loadNativeBackend()?.threads ?? 1;
  // every row on workload.threads (1): the native backend's default is every core
  if (native) setNumThreads(workload.threads);
  const model = new LlamaForCausalLM(workload.config, { rng: new Rng(0) });
  const figures: LlamaBackendFigures[] = [];
  let grpoStep: GrpoStepFigures | null = null;
  for (const [i, backend] of backends.entries()) {
    setBackend(backend);
    const generation = workload.generationBatches.map((batch) => ({
      batch,
      ...measureGeneration(model, workload, batch),
    }));
    const peakRssMbAfterGenerate = peakRssMb();
    // LoRA before full training, so the peak after it is LoRA's own (peaks only grow)
    const lora = i === 0 ? measureLoraTraining(model, workload) : null;
    const peakRssMbAfterLoraTrain = lora === null ? null : peakRssMb();
    const train = measureTraining(
      model,
      workload,
      i === 0 ? workload.trainSteps : workload.otherBackendTrainSteps,
    );
    const peakRssMbAfterTrain = peakRssMb();
    // on the first backend only, before the others grow the process (wasm's arena never shrinks)
    if (i === 0) {
      if (backend === "native") setNumThreads(workload.grpo.threads);
      grpoStep = measureGrpoStep(model, workload);
      if (backend === "native") setNumThreads(workload.threads);
    }
    figures.push({
      backend,
      generate: generation,
      train,
      loraTrain: lora?.rate ?? null,
      loraParameters: lora?.parameters ?? null,
      peakRssMbAfterGenerate,
      peakRssMbAfterLoraTrain,
      peakRssMbAfterTrain,
    });
  }
  setBackend(backends[0]);
  if (native) setNumThreads(threadsBefore);
  let torchFigures: Record<string, unknown> | null = null;
  let note: string | null = "torch reference not run.";
  if (torch) {
    const result = runTorchScript(workload);
    torchFigures = result.parsed;
    note = result.parsed === null ? result.note : torchNote(result.parsed);
  }
  return {
    arch: "llama",
    size: workload.size,
    parameters: parameterCount(model),
    workload,
    backends: figures,
    grpoStep: grpoStep as GrpoStepFigures,
    torch: torchFigures,
    torchNote: note,
  };
}

function randomPrompts(rng: Rng, batch: number, length: number, vocabSize: number): number[][] {
  return Array.from({ length: batch }, () => Array.from({ length }, () => rng.integer(vocabSize)));
}

/** Cached sampling of `newTokens` per sequence from random prompts (prefill included), after a warm-up. */
function measureGeneration(model: LlamaForCausalLM, w: LlamaLmWorkload, batch: number): Rate {
  const rng = new Rng(2);
  const prompts = randomPrompts(rng, batch, w.promptLength, w.config.vocabSize);
  generate(model, prompts, { maxNewTokens: 2, doSample: true, rng }); // warm-up
  return rate(batch * w.newTokens, () => {
    generate(model, prompts, { maxNewTokens: w.newTokens, doSample: true, rng });
  });
}

/** Training steps on random tokens (AdamW over `parameters`, all of them by default), after a warm-up step. */
function measureTraining(
  model: LlamaForCausalLM,
  w: LlamaLmWorkload,
  steps: number,
  parameters: Tensor[] = model.parameters(),
  lr = 1e-5,
): Rate {
  const rng = new Rng(1);
  const ids = new Int32Array(w.trainBatch * w.trainLength);
  for (let i = 0; i < ids.length; i++) ids[i] = rng.integer(w.config.vocabSize);
  const batch = new Tensor(ids, [w.trainBatch, w.trainLength]);
  const optimizer = new AdamW(parameters, { lr });
  const step = () => {
    const { logits } = model.forward(batch);
    const inputs = narrow(logits!, 1, 0, w.trainLength - 1);
    const targets = narrow(batch, 1, 1, w.trainLength - 1);
    const loss = crossEntropy(reshape(inputs, [-1, w.config.vocabSize]), reshape(targets, [-1]));
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
  };
  step(); // warm-up
  const result = rate(steps * w.trainBatch * w.trainLength, () => {
    for (let i = 0; i < steps; i++) step();
  });
  optimizer.zeroGrad();
  return result;
}

/**
 * Training steps as {@link measureTraining}'s with {@link BENCH_LORA} adapters on the model (the base
 * frozen; AdamW over the adapters, lr 1e-4), after a warm-up step; the adapters are removed after, and
 * the base's gradients switched back on.
 */
function measureLoraTraining(
  model: LlamaForCausalLM,
  w: LlamaLmWorkload,
): { rate: Rate; parameters: number } {
  applyLora(model, { ...BENCH_LORA, rng: new Rng(5) });
  const parameters = model.trainableParameters().reduce((sum, p) => sum + p.size, 0);
  const rate = measureTraining(model, w, w.trainSteps, model.trainableParameters(), 1e-4);
  unloadLora(model);
  for (const p of model.parameters()) p.requireGrad(true);
  return { rate, parameters };
}

/**
 * A tokenizer over the model's ids written as text ("12 7 4051"), so a GRPO step runs on random
 * weights without a vocabulary file. No stop token: every completion runs its full length.
 */
class IdTokenizer implements Tokenizer {
  readonly eosTokenId = -1;
  readonly padTokenId = 0;
  readonly bosTokenId = 1;
  constructor(readonly vocabSize: number) {}
  encode(text: string): number[] {
    return text.split(" ").map(Number);
  }
  decode(ids: ArrayLike<number>): string {
    return Array.from(ids).join(" ");
  }
}

/**
 * One {@link GRPOTrainer.step} with GRPO's defaults (β 0, so no reference model): sample
 * `completions` completions of `completionLength` tokens of one random prompt with the cache, score
 * them (fraction of even ids: any reward with spread in the group), and one AdamW step on all of them.
 */
function measureGrpoStep(model: LlamaForCausalLM, w: LlamaLmWorkload): GrpoStepFigures {
  const { completions, completionLength } = w.grpo;
  const rng = new Rng(3);
  const prompt = randomPrompts(rng, 1, w.promptLength - 1, w.config.vocabSize)[0].join(" ");
  const evenFraction = (_prompt: string, completion: string) => {
    const ids = completion.split(" ").map(Number);
    return ids.filter((id) => id % 2 === 0).length / ids.length;
  };
  const trainer = new GRPOTrainer({
    model,
    tokenizer: new IdTokenizer(w.config.vocabSize),
    trainDataset: [{ prompt }],
    rewardFunctions: evenFraction,
    config: {
      numGenerations: completions,
      perDeviceTrainBatchSize: completions,
      maxCompletionLength: completionLength,
      maxSteps: 1,
      learningRate: 1e-6,
      seed: 0,
    },
  });
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const stats = trainer.step();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return {
    backend: getBackend().name,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    threads: backendInfo().threads,
    completions: stats["rollout/samplesDrawn"],
    completionTokens: Math.round(stats["rollout/completionLength"] * stats["rollout/samplesDrawn"]),
    peakRssMb: peakRssMb(),
  };
}

/** `bench lm --arch llama`: measure, then print the table (or `--json`). */
export async function runLlamaLmBench(options: BenchOptions): Promise<void> {
  if (options.arch !== "llama") {
    throw new ProximalError(
      "INVALID_OPTION",
      `bench lm: unknown --arch "${options.arch}". Architectures: gpt (default), llama.`,
    );
  }
  const workload = llamaWorkload(options.size ?? "135m", options.quick);
  const available = availableBackends();
  const first: BackendName = available.includes("native") ? "native" : "wasm";
  // wasm beside native where affordable: skipped by --quick
  const backends: BackendName[] = options.quick || first === "wasm" ? [first] : [first, "wasm"];
  const figures = measureLlamaLm(workload, backends, true);
  if (options.json) {
    console.log(JSON.stringify(figures));
    return;
  }
  printLlamaTable(figures);
}

function printLlamaTable(f: LlamaLmFigures): void {
  const torch = f.torch as Record<string, number> | null;
  const w = f.workload;
  const rows: Record<string, string | number>[] = [];
  const tenths = (x: number) => Math.round(x * 10) / 10;
  for (const b of f.backends) {
    const row = (work: string, ours: Rate, theirs: number | undefined, rssMb: number) => ({
      work,
      backend: b.backend,
      "tokens/s": tenths(ours.perSecond),
      "tokens/CPU s": tenths(ours.perCpuSecond),
      "torch tokens/s": theirs === undefined ? "n/a" : tenths(theirs),
      "proximal / torch": theirs === undefined ? "n/a" : `${(ours.perSecond / theirs).toFixed(2)}x`,
      "peak RSS MiB": Math.round(rssMb),
    });
    for (const g of b.generate) {
      const theirs = torch?.[`generateBatch${g.batch}TokensPerSecond`];
      rows.push(row(`generate batch ${g.batch} (KV cache)`, g, theirs, b.peakRssMbAfterGenerate));
    }
    const train = `train ${w.trainBatch}x${w.trainLength}`;
    rows.push(row(`${train} (full, AdamW)`, b.train, torch?.trainTokensPerSecond, b.peakRssMbAfterTrain));
    if (b.loraTrain !== null) {
      const lora = `${train} (LoRA r${w.lora.rank}, AdamW)`;
      const rss = b.peakRssMbAfterLoraTrain ?? b.peakRssMbAfterTrain;
      rows.push(row(lora, b.loraTrain, torch?.loraTrainTokensPerSecond, rss));
    }
  }
  console.log(
    `Llama ${f.size}: ${(f.parameters / 1e6).toFixed(f.parameters < 1e6 ? 3 : 1)}M parameters, random weights, 1 thread; prompts of ${w.promptLength} tokens, ${w.newTokens} new tokens per sequence`,
  );
  printTable(rows);
  const g = f.grpoStep;
  console.log(
    `GRPO step (${g.backend}, ${g.threads} thread(s)): ${g.completions} completions, ${g.completionTokens} completion tokens, ${g.seconds.toFixed(1)} s (${g.cpuSeconds.toFixed(1)} CPU s); peak RSS ${Math.round(g.peakRssMb)} MiB`,
  );
  if (torch !== null) console.log(`torch peak RSS ${Math.round(torch.peakRssMb)} MiB`);
  if (f.torchNote !== null) console.log(f.torchNote);
}
