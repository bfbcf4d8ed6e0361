/**
 * The verifiable-reward demo (issue 7): a small GPT is first trained by SFT on a limited set of
 * solved prompts so it is partly right, then RL with exact-match rewards should raise its held-out
 * accuracy (the DeepSeekMath/DeepSeek-R1 recipe, arXiv:2402.03300 §4, arXiv:2501.12948 §2, at toy
 * scale). This file holds the task registry and the SFT base; every preset starts from the same base.
 *
 * The SFT, RL train, validation and held-out prompts share no problem ({@link VerifiableTask.splits}).
 * Curves and every tuning choice read validation accuracy; held-out accuracy is measured only on the
 * base and on each preset's final policy, so no choice is made on it.
 */
import { didYouMean, ProximalError } from "../../errors.js";
import { applyLora, type LoraConfig } from "../../nn/lora.js";
import { Rng } from "../../random/rng.js";
import { cloneModel, type PolicyModel } from "../common/policyModel.js";
import { GPT, type GPTConfig } from "../gpt.js";
import { type GRPOConfig, resolveGRPOConfig } from "../grpo/grpoConfig.js";
import { type GRPOStepStats, GRPOTrainer } from "../grpo/grpoTrainer.js";
import { SFTTrainer } from "../sft/sftTrainer.js";
import type { Tokenizer } from "../tokenizer.js";
import { additionTask } from "./addition.js";
import { reverseTask } from "./reverse.js";
import type { AccuracyResult, TaskSplits, VerifiableTask } from "./verifiableTask.js";

/** The shipped verifiable tasks by CLI name (`--task addition`), with their demo settings. */
export const VERIFIABLE_TASKS = {
  /**
   * 1-2 digit operands: 5050 problems (`a+b` and `b+a` are one). A 2-layer GPT trained by
   * {@link trainSftBase} on 1000 of them gets 7.2% of 500 validation problems right after 400 steps,
   * 8.6% after 700 and 77.4% after 800 (seed 0, clean split): it starts generalising abruptly.
   */
  addition: () => additionTask({ digits: 2 }),
  /** 3-7 digit strings. */
  reverse: () => reverseTask({ maxLength: 7 }),
} as const satisfies Record<string, () => VerifiableTask>;

/** Names of {@link VERIFIABLE_TASKS}. */
export type VerifiableTaskName = keyof typeof VERIFIABLE_TASKS;

/** The task called `name`; an unknown name is `UNKNOWN_NAME` with a suggestion. */
export function makeVerifiableTask(name: string): VerifiableTask {
  if (!Object.hasOwn(VERIFIABLE_TASKS, name)) {
    const names = Object.keys(VERIFIABLE_TASKS);
    throw new ProximalError(
      "UNKNOWN_NAME",
      `Unknown task "${name}".${didYouMean(name, names)} Tasks: ${names.join(", ")}.`,
    );
  }
  return VERIFIABLE_TASKS[name as VerifiableTaskName]();
}

/** Options of {@link trainSftBase}. */
export interface SftBaseOptions {
  /** Seed of the weights and of the row order. @defaultValue 0 */
  seed?: number;
  /** GPT sizes (vocabulary from the task's tokenizer). @defaultValue 2 layers, width 64, 4 heads, 32 positions */
  model?: Partial<Omit<GPTConfig, "vocabSize">>;
  /** SFT optimizer steps (AdamW, lr 3e-3, 5% warmup then cosine). @defaultValue 400 */
  steps?: number;
  /** Rows per SFT step. @defaultValue 32 */
  batchSize?: number;
  /**
   * Stop at the first check (every `every` steps) whose greedy accuracy on `prompts` reaches
   * `accuracy`; `steps` is then the most SFT trains. Pass validation prompts, never held-out ones.
   */
  stopAt?: { prompts: readonly string[]; accuracy: number; every?: number };
  /** Called at every logged step (50, or `stopAt.every`) with `train/loss`. */
  onStep?: (step: number, totalSteps: number, loss: number) => void;
}

/**
 * Train a fresh GPT by SFT on `prompts` with their reference answers (loss on the answer and the stop
 * token only, {@link SFTTrainer}). The learning rate is for a tiny model trained from scratch, not TRL's
 * 2e-5 for pretrained ones. Returns the model, the mean loss of the last logged steps and the steps
 * trained (fewer than `steps` when `stopAt` stopped it).
 */
export function trainSftBase(
  task: VerifiableTask,
  prompts: readonly string[],
  options: SftBaseOptions = {},
): { model: GPT; loss: number; steps: number } {
  const seed = options.seed ?? 0;
  const model = new GPT(
    { nPositions: 32, nEmbd: 64, nLayer: 2, nHead: 4, ...options.model, vocabSize: task.tokenizer.vocabSize },
    { rng: new Rng(seed) },
  );
  let loss = Number.NaN;
  const stopAt = options.stopAt;
  const every = stopAt?.every ?? 25;
  if (stopAt !== undefined && (!Number.isInteger(every) || every < 1 || stopAt.prompts.length === 0)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `trainSftBase: stopAt needs prompts and a positive integer every, got ${stopAt.prompts.length} prompts, every ${every}.`,
    );
  }
  const trainer = new SFTTrainer({
    model,
    tokenizer: task.tokenizer,
    trainDataset: task.sftRows(prompts),
    config: {
      maxSteps: options.steps ?? 400,
      perDeviceTrainBatchSize: options.batchSize ?? 32,
      learningRate: 3e-3,
      warmupRatio: 0.05,
      loggingSteps: stopAt === undefined ? 50 : every,
      seed,
    },
    onStep: (log) => {
      loss = log.metrics["train/loss"];
      options.onStep?.(log.step, log.totalSteps, loss);
      if (stopAt === undefined) return undefined;
      return task.accuracy(model, stopAt.prompts).accuracy < stopAt.accuracy;
    },
  });
  trainer.train();
  return { model, loss, steps: trainer.globalStep };
}

// ============================================================================================
// RL from the SFT base

/**
 * Settings every preset shares in the demo, so presets differ only in their method's fields: the
 * budget (8 completions per prompt, 64 per step), a learning rate for a tiny model trained from
 * scratch (the papers' 1e-6 is for pretrained LLMs), and a completion budget that fits the task.
 */
export const DEMO_GRPO_CONFIG: GRPOConfig = {
  /**
   * 3e-4 after a 10% linear warmup, then cosine to 0 at the sample budget (measured 2026-11-21, seed 0,
   * 192,000 samples, BENCHMARKS.md "rlhf reasoning demo"): GRPO +15.4 points; without the warmup +13.2,
   * at 2e-4 +11.6; at 1e-3 accuracy first drops by 20 points. These were read on the held-out prompts of
   * the old string-disjoint split, before the validation split existed; kept, not re-tuned.
   */
  learningRate: 3e-4,
  warmupRatio: 0.1,
  /**
   * Sampling temperature 0.7 (measured, BENCHMARKS.md "rlhf reasoning demo"): GRPO and DAPO gained 8
   * points at 96,000 samples where temperature 1 gave 4.5-5 and 0.5 gave 6.5 (old split, held-out).
   */
  temperature: 0.7,
  numGenerations: 8,
  perDeviceTrainBatchSize: 64,
  loggingSteps: 1,
};

/**
 * Solved problems of the demo's SFT base. The demo stops SFT on them once the base is right on 30% of
 * the validation problems (`sftTargetValidationAccuracy`, set by the CLI), so RL starts from a base
 * whose sampled groups often mix right and wrong answers.
 */
export const DEMO_SFT_EXAMPLES = 1000;

/** Options of {@link runReasoningDemo}. Split sizes count problems; each split has one prompt per problem. */
export interface ReasoningDemoOptions {
  /** @defaultValue "addition" */
  task?: VerifiableTaskName;
  /** Seed of the splits, the SFT base and every preset's sampling. @defaultValue 0 */
  seed?: number;
  /** Presets by name, each a {@link GRPOConfig} (e.g. from `presets/grpo/<name>.yaml`). */
  presets: Record<string, GRPOConfig>;
  /** Solved problems the SFT base learns from (the "limited set"). @defaultValue `DEMO_SFT_EXAMPLES` */
  sftExamples?: number;
  /** SFT base options (steps, model sizes). */
  sft?: Omit<SftBaseOptions, "seed" | "onStep" | "stopAt">;
  /**
   * Stop SFT at the first 25-step check whose validation accuracy reaches this fraction, so the base
   * is partly right whichever step the seed's SFT run starts generalising at (`sft.steps` is the cap).
   * Off when undefined.
   */
  sftTargetValidationAccuracy?: number;
  /** Problems RL trains on, none of them an SFT problem. @defaultValue 3000 */
  trainPrompts?: number;
  /** Problems for the accuracy curves and for tuning. @defaultValue 200 */
  validationPrompts?: number;
  /** Problems for the final figures only (base and each preset's last policy). @defaultValue 200 */
  heldOutPrompts?: number;
  /**
   * Completions each preset trains on (the same budget for all: `samples / perDeviceTrainBatchSize`
   * optimizer steps). DAPO's dynamic sampling draws more than it trains on, to replace groups whose
   * rewards are all equal; {@link PresetRun.samplesDrawn} reports what it drew. @defaultValue 12800
   */
  samples?: number;
  /** Measure validation accuracy every this many optimizer steps. @defaultValue 10 */
  evalEvery?: number;
  /** Overrides applied to every preset after {@link DEMO_GRPO_CONFIG} (the CLI's `--set`). */
  overrides?: GRPOConfig;
  /** Called with each stage's progress (what the CLI prints). */
  onProgress?: (event: ReasoningDemoProgress) => void;
}

/** A budget of seconds for smoke tests (the CLI's `--quick`): a tiny SFT base, 2 steps per preset. */
export const QUICK_REASONING_OPTIONS: Omit<ReasoningDemoOptions, "presets"> = {
  sftExamples: 64,
  sft: { steps: 20, batchSize: 16, model: { nEmbd: 16, nLayer: 1, nHead: 2 } },
  trainPrompts: 64,
  validationPrompts: 16,
  heldOutPrompts: 16,
  samples: 32,
  evalEvery: 1,
  overrides: { perDeviceTrainBatchSize: 16, numGenerations: 4 },
};

/** Progress of {@link runReasoningDemo}. */
export interface ReasoningDemoProgress {
  stage: string;
  step: number;
  total: number;
  metrics?: Record<string, number>;
}

/** One preset's run. */
export interface PresetRun {
  /** Held-out accuracy of the final policy. */
  accuracy: number;
  /** Validation accuracy of the final policy. */
  validationAccuracy: number;
  /** Mean held-out completion length (tokens, stop token included). */
  meanLength: number;
  /** 1 where the final policy is right on the held-out prompt of that index, else 0. */
  heldOutCorrect: number[];
  wallSeconds: number;
  /** Validation accuracy against completions drawn so far (starting at the base). */
  curve: { samples: number; accuracy: number }[];
  /** Completions drawn: the budget, plus dynamic sampling's replacements. */
  samplesDrawn: number;
  /** Each step's metrics. */
  history: GRPOStepStats[];
}

/** What {@link runReasoningDemo} returns. */
export interface ReasoningDemoResult {
  task: string;
  seed: number;
  /** The SFT base: held-out `accuracy` (and per prompt), validation accuracy, SFT loss. */
  base: {
    accuracy: number;
    validationAccuracy: number;
    meanLength: number;
    heldOutCorrect: number[];
    sftLoss: number;
    /** SFT steps trained (fewer than `sft.steps` when {@link ReasoningDemoOptions.sftTargetValidationAccuracy} stopped it). */
    sftSteps: number;
    wallSeconds: number;
  };
  /** The prompts of each split. */
  splits: TaskSplits;
  presets: Record<string, PresetRun>;
}

/** What every preset of a demo shares: the task, its splits and the base (SFT, or a user's model). */
export interface ReasoningDemoSetup {
  task: VerifiableTask;
  splits: TaskSplits;
  base: PolicyModel;
  /** The base's tokenizer: the task's own, or the one of the model folder a user brought. */
  tokenizer: Tokenizer;
  result: ReasoningDemoResult;
}

/** Make the splits and train the SFT base (the part of {@link runReasoningDemo} before the presets). */
export function prepareReasoningDemo(
  options: Omit<ReasoningDemoOptions, "presets">,
): ReasoningDemoSetup & { base: GPT } {
  const seed = options.seed ?? 0;
  const taskName = options.task ?? "addition";
  const task = makeVerifiableTask(taskName);
  const progress = options.onProgress ?? (() => {});
  const splits = task.splits(seed, {
    sft: options.sftExamples ?? DEMO_SFT_EXAMPLES,
    train: options.trainPrompts ?? 3000,
    validation: options.validationPrompts ?? 200,
    heldOut: options.heldOutPrompts ?? 200,
  });
  const started = performance.now();
  const target = options.sftTargetValidationAccuracy;
  const base = trainSftBase(task, splits.sft, {
    ...options.sft,
    seed,
    stopAt: target === undefined ? undefined : { prompts: splits.validation, accuracy: target },
    onStep: (step, total, loss) => progress({ stage: "sft", step, total, metrics: { loss } }),
  });
  const baseEval = task.accuracy(base.model, splits.heldOut);
  const result: ReasoningDemoResult = {
    task: taskName,
    seed,
    base: {
      accuracy: baseEval.accuracy,
      validationAccuracy: task.accuracy(base.model, splits.validation).accuracy,
      meanLength: baseEval.meanLength,
      heldOutCorrect: baseEval.correct,
      sftLoss: base.loss,
      sftSteps: base.steps,
      wallSeconds: (performance.now() - started) / 1000,
    },
    splits,
    presets: {},
  };
  return { task, splits, base: base.model, tokenizer: task.tokenizer, result };
}

/** A model a user brings (e.g. a Hugging Face folder read by `loadPretrained`) with its own tokenizer. */
export interface PretrainedPolicy {
  model: PolicyModel;
  tokenizer: Tokenizer;
}

/**
 * The demo's splits with `pretrained` as the base instead of an SFT model (no SFT split, no SFT): the
 * task's prompts are tokenised with the model's tokenizer and its completions decoded with it, so the
 * rewards read the text the model wrote. `options.sft*` are ignored.
 */
export function prepareReasoningDemoOnModel(
  options: Omit<ReasoningDemoOptions, "presets">,
  pretrained: PretrainedPolicy,
): ReasoningDemoSetup {
  const seed = options.seed ?? 0;
  const taskName = options.task ?? "addition";
  const task = makeVerifiableTask(taskName);
  const splits = task.splits(seed, {
    sft: 0,
    train: options.trainPrompts ?? 3000,
    validation: options.validationPrompts ?? 200,
    heldOut: options.heldOutPrompts ?? 200,
  });
  const { model, tokenizer } = pretrained;
  const started = performance.now();
  const baseEval = task.accuracy(model, splits.heldOut, { tokenizer });
  const result: ReasoningDemoResult = {
    task: taskName,
    seed,
    base: {
      accuracy: baseEval.accuracy,
      validationAccuracy: task.accuracy(model, splits.validation, { tokenizer }).accuracy,
      meanLength: baseEval.meanLength,
      heldOutCorrect: baseEval.correct,
      sftLoss: Number.NaN,
      sftSteps: 0,
      wallSeconds: (performance.now() - started) / 1000,
    },
    splits,
    presets: {},
  };
  return { task, splits, base: model, tokenizer, result };
}

/** Arguments of {@link runReasoningPreset}. */
export interface ReasoningPresetArgs {
  task: VerifiableTask;
  train: readonly string[];
  validation: readonly string[];
  heldOut: readonly string[];
  /** The base (SFT, or a user's model); the preset trains a copy. */
  base: PolicyModel;
  /** The base's tokenizer. @defaultValue the task's own */
  tokenizer?: Tokenizer;
  /** Validation accuracy of the base (the curve's first point). */
  baseValidationAccuracy: number;
  name: string;
  preset: GRPOConfig;
  seed: number;
  /** Completions to train on (see {@link ReasoningDemoOptions.samples}). */
  samples: number;
  evalEvery: number;
  overrides?: GRPOConfig;
  /** Called with each stage's progress (what the CLI prints). */
  onProgress?: (event: ReasoningDemoProgress) => void;
  /** Called with the trainer after its last step, e.g. to {@link GRPOTrainer.save} it. */
  onFinished?: (trainer: GRPOTrainer) => void;
  /** Train LoRA adapters on the copy of the base instead of all its weights. @defaultValue no LoRA */
  lora?: LoraConfig | null;
}

/**
 * The GRPO config of one preset in the demo: the preset's method fields, then {@link DEMO_GRPO_CONFIG},
 * then the step count of a budget of `samples` completions trained on, so the learning-rate schedule
 * ends with the budget (without it the schedule would follow `numTrainEpochs` over the train prompts),
 * then the caller's overrides.
 */
export function reasoningPresetConfig(
  task: VerifiableTask,
  preset: GRPOConfig,
  samples: number,
  seed: number,
  overrides: GRPOConfig = {},
): GRPOConfig {
  const config: GRPOConfig = {
    ...preset,
    ...DEMO_GRPO_CONFIG,
    maxCompletionLength: task.maxNewTokens,
    rewardWeights: [1, 0.1],
    seed,
    ...overrides,
  };
  if (overrides.maxSteps !== undefined) return config;
  const c = resolveGRPOConfig(config);
  const batches = Math.ceil(samples / (c.perDeviceTrainBatchSize * c.stepsPerGeneration));
  return { ...config, maxSteps: Math.max(1, batches * c.stepsPerGeneration * c.numIterations) };
}

/**
 * Train one preset from a copy of the base for its budget of optimizer steps (`samples` completions
 * trained on); the curve measures validation accuracy against the completions drawn, and held-out
 * accuracy is measured once, on the final policy. The same as {@link startReasoningPreset},
 * {@link continueReasoningPreset} to the end, {@link finishReasoningPreset}.
 */
export function runReasoningPreset(args: ReasoningPresetArgs): PresetRun {
  const state = startReasoningPreset(args);
  continueReasoningPreset(state, args);
  return finishReasoningPreset(state, args);
}

/**
 * A preset's run in progress: its trainer and what the result accumulates. Everything but the
 * trainer is plain JSON, so `rlhf grpo` checkpoints it beside {@link GRPOTrainer.save}.
 */
export interface PresetProgress {
  trainer: GRPOTrainer;
  accumulated: PresetAccumulated;
  /** `performance.now()` when this session started. */
  started: number;
}

/** The JSON part of a {@link PresetProgress}. */
export interface PresetAccumulated {
  /** Validation accuracy against completions drawn. */
  curve: { samples: number; accuracy: number }[];
  history: GRPOStepStats[];
  samples: number;
  /** Trainer steps taken (the validation set is measured every `evalEvery`). */
  steps: number;
  /** Wall time of earlier sessions of the run. */
  wallSeconds: number;
  /** The validation result measured after the last step. */
  final: AccuracyResult | null;
}

/** Build the preset's trainer over a copy of the base; nothing trained yet. */
export function startReasoningPreset(args: ReasoningPresetArgs): PresetProgress {
  const model = cloneModel(args.base);
  if (args.lora) applyLora(model, { ...args.lora, rng: new Rng(args.seed) });
  const trainer = new GRPOTrainer({
    model,
    tokenizer: args.tokenizer ?? args.task.tokenizer,
    trainDataset: args.train.map((prompt) => ({ prompt })),
    rewardFunctions: [args.task.reward, args.task.formatReward],
    config: reasoningPresetConfig(args.task, args.preset, args.samples, args.seed, args.overrides),
  });
  return {
    trainer,
    accumulated: {
      curve: [{ samples: 0, accuracy: args.baseValidationAccuracy }],
      history: [],
      samples: 0,
      steps: 0,
      wallSeconds: 0,
      final: null,
    },
    started: performance.now(),
  };
}

/** Train until the trainer's `globalStep` reaches `untilStep` (at least one step; default: the end). */
export function continueReasoningPreset(
  state: PresetProgress,
  args: ReasoningPresetArgs,
  untilStep = state.trainer.totalSteps,
): void {
  const { task, validation } = args;
  const { trainer } = state;
  const a = state.accumulated;
  const progress = args.onProgress ?? (() => {});
  const totalSteps = trainer.totalSteps;
  const stop = Math.min(untilStep, totalSteps);
  while (trainer.globalStep < stop) {
    const stats = trainer.step();
    a.history.push(stats);
    a.samples += stats["rollout/samplesDrawn"];
    a.steps++;
    // the last step's evaluation is the result's, so the validation set is decoded once for both
    if (trainer.globalStep >= totalSteps) {
      a.final = task.accuracy(trainer.model, validation, { tokenizer: trainer.tokenizer });
      a.curve.push({ samples: a.samples, accuracy: a.final.accuracy });
    } else if (a.steps % args.evalEvery === 0) {
      const { accuracy } = task.accuracy(trainer.model, validation, { tokenizer: trainer.tokenizer });
      a.curve.push({ samples: a.samples, accuracy });
    }
    progress({
      stage: args.name,
      step: Math.round((args.samples * trainer.globalStep) / totalSteps),
      total: args.samples,
      metrics: { reward: stats["rollout/reward"], validationAccuracy: a.curve[a.curve.length - 1].accuracy },
    });
  }
}

/** The preset's result, once {@link continueReasoningPreset} has reached the end: held-out measured once. */
export function finishReasoningPreset(state: PresetProgress, args: ReasoningPresetArgs): PresetRun {
  const a = state.accumulated;
  args.onFinished?.(state.trainer);
  const { tokenizer } = state.trainer;
  const final = a.final ?? args.task.accuracy(state.trainer.model, args.validation, { tokenizer });
  const heldOutEval = args.task.accuracy(state.trainer.model, args.heldOut, { tokenizer });
  return {
    accuracy: heldOutEval.accuracy,
    validationAccuracy: final.accuracy,
    meanLength: heldOutEval.meanLength,
    heldOutCorrect: heldOutEval.correct,
    wallSeconds: a.wallSeconds + (performance.now() - state.started) / 1000,
    curve: a.curve,
    samplesDrawn: a.samples,
    history: a.history,
  };
}

/**
 * Train the SFT base once, then each preset from a copy of it with the same seed and the same number
 * of sampled completions; report greedy validation and held-out accuracy before and after, and
 * validation accuracy along the way.
 * {@link runReasoningDemoInParallel} gives the same result using worker threads.
 */
export function runReasoningDemo(options: ReasoningDemoOptions): ReasoningDemoResult {
  const setup = prepareReasoningDemo(options);
  for (const [name, preset] of Object.entries(options.presets)) {
    setup.result.presets[name] = runReasoningPreset(presetArgs(setup, options, name, preset));
  }
  return setup.result;
}

/** The {@link ReasoningPresetArgs} of preset `name` in a demo. */
export function presetArgs(
  setup: ReasoningDemoSetup,
  options: ReasoningDemoOptions,
  name: string,
  preset: GRPOConfig,
): ReasoningPresetArgs {
  return {
    task: setup.task,
    train: setup.splits.train,
    validation: setup.splits.validation,
    heldOut: setup.splits.heldOut,
    base: setup.base,
    tokenizer: setup.tokenizer,
    baseValidationAccuracy: setup.result.base.validationAccuracy,
    name,
    preset,
    seed: setup.result.seed,
    samples: options.samples ?? 12800,
    evalEvery: options.evalEvery ?? 10,
    overrides: options.overrides,
    onProgress: options.onProgress,
  };
}
