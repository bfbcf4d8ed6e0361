import { ProximalError } from "../errors.js";
import { addPrefix, loadCheckpoint, saveCheckpoint, withPrefix } from "../io/checkpoint.js";
import type { Module } from "../nn/module.js";
import { AdamW } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import { warmupThenCosine } from "../optim/schedules.js";
import { Rng } from "../random/rng.js";
import { noGrad, type Tensor } from "../tensor/tensor.js";
import { cloneGPT, type GPT } from "./gpt.js";
import type { ResolvedTrainingConfig } from "./trainingConfig.js";

/** What a trainer's loss returns for one batch of rows. */
export interface BatchLoss {
  /** Scalar to minimise. */
  loss: Tensor;
  /** Tokens the batch ran through the model (for `time/tokensPerSecond`). */
  tokens: number;
  /** Batch means to log, keyed `group/name` (`train/loss` is added from `loss`). */
  metrics: Record<string, number>;
}

/**
 * One log line, passed to `onStep` every `loggingSteps` optimizer steps and after the last one:
 * metrics averaged over the steps since the previous call (`train/loss`, the trainer's own,
 * `train/gradNorm`), plus `train/learningRate`, `train/epoch` and `time/tokensPerSecond`.
 */
export interface TrainerLog {
  /** Optimizer steps taken so far. */
  step: number;
  /** Steps the run will take. */
  totalSteps: number;
  metrics: Record<string, number>;
}

/** Called every `loggingSteps` steps; return `false` to stop training (SB3 callbacks' `on_step`). */
export type OnStep = (log: TrainerLog) => boolean | undefined;

/** Options of {@link Trainer.train}. */
export interface TrainOptions {
  /**
   * Stop once `globalStep` reaches this (capped at {@link Trainer.totalSteps}); the learning-rate
   * schedule still spans the whole run, so training in pieces (to checkpoint between them) takes the
   * same steps as one call. @defaultValue {@link Trainer.totalSteps}
   */
  untilStep?: number;
}

/** Metric sums of the steps since the last `onStep` call (saved, so a resumed run logs the same means). */
interface LogWindow {
  sums: Record<string, number>;
  counts: Record<string, number>;
  tokens: number;
}

/**
 * Tensor-name prefixes of the non-policy parts of a trainer checkpoint: optimizer moments, a saved
 * frozen reference, PPO's critic. Everything else is the trained model under its own names.
 */
export const CHECKPOINT_PREFIXES = ["optimizer.", "refModel.", "critic."] as const;

/** The trained model's tensors of a checkpoint: the names outside `CHECKPOINT_PREFIXES`. */
export function modelTensors(tensors: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(tensors).filter(([name]) => !CHECKPOINT_PREFIXES.some((p) => name.startsWith(p))),
  );
}

/**
 * The loop the supervised RLHF trainers share (as TRL's trainers share `transformers.Trainer`):
 * shuffle the rows each epoch with a seeded {@link Rng}, batches of `perDeviceTrainBatchSize` (the last
 * one may be smaller, HF `dataloader_drop_last=False`), and per batch: learning rate from
 * {@link warmupThenCosine} → loss → backward → {@link clipGradNorm} → AdamW step. A subclass writes
 * only its loss, {@link Trainer.computeLoss}.
 *
 * Checkpoints ({@link Trainer.save}) hold the model's state dict under its own names (so a saved SFT
 * GPT loads with `loadStateDict`), the AdamW moments under `optimizer.*`, a subclass's extra tensors
 * ({@link Trainer.checkpointTensors}: DPO's and KTO's reference under `refModel.*`), and in
 * `model.json` the config, the step, the size and fingerprint of the training rows and the metric
 * sums since the last log. {@link Trainer.load} into a trainer built with the same config (every
 * field but `loggingSteps`) and rows continues the run bit-identically: the row order is replayed
 * from the seed, and the learning rate is a function of the step.
 */
export abstract class Trainer<Row, C extends ResolvedTrainingConfig> {
  /** The model being trained. */
  readonly model: Module;
  /** Every option resolved. */
  readonly config: C;
  readonly optimizer: AdamW;
  /** Optimizer steps taken (restored by {@link Trainer.load}). */
  globalStep = 0;
  protected readonly trainDataset: Row[];
  protected readonly onStep: OnStep | undefined;
  /** Name written into checkpoints and error messages. */
  protected abstract readonly name: string;
  private logWindow: LogWindow = { sums: {}, counts: {}, tokens: 0 };

  protected constructor(model: Module, config: C, trainDataset: Row[], onStep?: OnStep) {
    this.model = model;
    this.config = config;
    this.trainDataset = trainDataset;
    this.onStep = onStep;
    this.optimizer = new AdamW(model.parameters(), {
      lr: config.learningRate,
      betas: config.adamBetas,
      eps: config.adamEpsilon,
      weightDecay: config.weightDecay,
    });
  }

  /** The loss of one batch, differentiable w.r.t. the model's parameters. */
  protected abstract computeLoss(rows: Row[]): BatchLoss;

  /** Optimizer steps of a full run: `maxSteps`, or `ceil(numTrainEpochs · ceil(rows / batch))`. */
  get totalSteps(): number {
    const c = this.config;
    if (c.maxSteps > 0) return c.maxSteps;
    return Math.ceil(c.numTrainEpochs * Math.ceil(this.trainDataset.length / c.perDeviceTrainBatchSize));
  }

  /**
   * Train until {@link Trainer.totalSteps} (continuing from `globalStep` after a {@link Trainer.load}),
   * until `options.untilStep`, or until `onStep` returns false. Returns the last averaged metrics of
   * this call (empty when it logged nothing).
   */
  train(options: TrainOptions = {}): Record<string, number> {
    const c = this.config;
    const n = this.trainDataset.length;
    if (n === 0) throw new ProximalError("INVALID_ARGUMENT", `${this.name}: the training dataset is empty.`);
    const totalSteps = this.totalSteps;
    const untilStep = Math.min(options.untilStep ?? totalSteps, totalSteps);
    const warmupSteps = Math.ceil(c.warmupRatio * totalSteps); // HF get_warmup_steps
    const stepsPerEpoch = Math.ceil(n / c.perDeviceTrainBatchSize);
    const rng = new Rng(c.seed);
    const params = this.model.parameters();
    // per-key sums and counts: a batch may have no value for a key (NaN, e.g. KTO's rewards/chosen
    // when no desirable row was drawn), which is left out of that key's mean
    const window = this.logWindow;
    let started = performance.now();
    let last: Record<string, number> = {};
    // replay the row order of the steps already taken, so a resumed run sees the same batches: one
    // permutation per epoch begun before globalStep (the loop draws the one starting at globalStep)
    let order = rng.permutation(n);
    for (let s = stepsPerEpoch; s < this.globalStep; s += stepsPerEpoch) order = rng.permutation(n);
    while (this.globalStep < untilStep) {
      const inEpoch = this.globalStep % stepsPerEpoch;
      if (inEpoch === 0 && this.globalStep > 0) order = rng.permutation(n);
      const start = inEpoch * c.perDeviceTrainBatchSize;
      const rows = Array.from(
        order.subarray(start, Math.min(n, start + c.perDeviceTrainBatchSize)),
        (i) => this.trainDataset[i],
      );

      const learningRate = warmupThenCosine(
        this.globalStep,
        totalSteps,
        warmupSteps,
        c.learningRate,
        c.minLearningRate,
      );
      this.optimizer.learningRate = learningRate;
      this.optimizer.zeroGrad();
      const batch = this.computeLoss(rows);
      batch.loss.backward();
      const gradNorm = c.maxGradNorm > 0 ? clipGradNorm(params, c.maxGradNorm) : Number.NaN;
      this.optimizer.step();
      this.globalStep++;

      const metrics: Record<string, number> = { "train/loss": batch.loss.item(), ...batch.metrics };
      if (c.maxGradNorm > 0) metrics["train/gradNorm"] = gradNorm;
      for (const [key, value] of Object.entries(metrics)) {
        if (Number.isNaN(value)) continue;
        window.sums[key] = (window.sums[key] ?? 0) + value;
        window.counts[key] = (window.counts[key] ?? 0) + 1;
      }
      window.tokens += batch.tokens;
      if (this.globalStep % c.loggingSteps === 0 || this.globalStep === totalSteps) {
        const seconds = (performance.now() - started) / 1000;
        last = Object.fromEntries(Object.entries(window.sums).map(([k, v]) => [k, v / window.counts[k]]));
        last["train/learningRate"] = learningRate;
        last["train/epoch"] = this.globalStep / stepsPerEpoch;
        last["time/tokensPerSecond"] = window.tokens / Math.max(seconds, 1e-9);
        const keepGoing = this.onStep?.({ step: this.globalStep, totalSteps, metrics: last });
        window.sums = {};
        window.counts = {};
        window.tokens = 0;
        started = performance.now();
        if (keepGoing === false) break;
      }
    }
    return last;
  }

  /**
   * Metrics of the loss over `rows` (batches of `perDeviceTrainBatchSize`), without gradients: batch
   * values weighted by batch size, `train/` keys renamed `eval/`. NaN batch values are left out.
   */
  evaluate(rows: Row[]): Record<string, number> {
    if (rows.length === 0) throw new ProximalError("INVALID_ARGUMENT", `${this.name}.evaluate: no rows.`);
    const b = this.config.perDeviceTrainBatchSize;
    const sums: Record<string, number> = {};
    const weights: Record<string, number> = {};
    noGrad(() => {
      for (let start = 0; start < rows.length; start += b) {
        const chunk = rows.slice(start, start + b);
        const { loss, metrics } = this.computeLoss(chunk);
        for (const [key, value] of Object.entries({ "eval/loss": loss.item(), ...renameToEval(metrics) })) {
          if (Number.isNaN(value)) continue;
          sums[key] = (sums[key] ?? 0) + value * chunk.length;
          weights[key] = (weights[key] ?? 0) + chunk.length;
        }
      }
    });
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / weights[k]]));
  }

  /**
   * Write a checkpoint of the run to `dir` (see `saveCheckpoint`; each file atomically): what
   * {@link Trainer.load} needs to continue it exactly (listed in the class doc).
   */
  async save(dir: string): Promise<void> {
    const optimizerState = this.optimizer.getState();
    await saveCheckpoint(dir, {
      tensors: {
        ...this.model.stateDict(),
        ...addPrefix(optimizerState.tensors, "optimizer"),
        ...this.checkpointTensors(),
      },
      json: {
        trainer: this.name,
        globalStep: this.globalStep,
        config: this.config,
        optimizer: optimizerState.json,
        dataset: { rows: this.trainDataset.length, fingerprint: rowsFingerprint(this.trainDataset) },
        logWindow: this.logWindow,
        ...this.checkpointJson(),
      },
    });
  }

  /**
   * Restore a {@link Trainer.save} of the same trainer, built with the same config (every field but
   * `loggingSteps`), the same rows in the same order and a model of the same shape; then
   * {@link Trainer.train} continues the saved run bit-identically. A refused checkpoint (missing,
   * malformed, another trainer's, config or rows) names the field and changes nothing.
   */
  async load(dir: string): Promise<void> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, this.name);
    const fail = (field: string, expected: string): never => {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${dir}: "${field}" in model.json must be ${expected}, got ${truncateJson(json[field])}. The file was not written by ${this.name}.save, or was edited; save the run again.`,
      );
    };
    if (!isRecord(json.config)) fail("config", "the trainer's config object");
    for (const [key, value] of Object.entries(this.checkpointJson())) {
      const differences = jsonDifferences(key, json[key], value);
      if (differences.length > 0) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `${this.name}.load: ${dir} holds a model of another shape: ${differences.join("; ")}. Build the trainer over a model like the saved one (${this.name}.loadModel reads it).`,
        );
      }
    }
    checkSameConfig(this.name, json.config as Record<string, unknown>, this.config, dir, ["loggingSteps"]);
    checkSameRows(this.name, json.dataset, this.trainDataset, dir);
    const globalStep = json.globalStep;
    if (
      !Number.isInteger(globalStep) ||
      (globalStep as number) < 0 ||
      (globalStep as number) > this.totalSteps
    )
      fail("globalStep", `an integer in [0, ${this.totalSteps}]`);
    if (!isRecord(json.optimizer)) fail("optimizer", "an optimizer state ({ type, paramGroups, steps })");
    const window = json.logWindow;
    if (
      !isRecord(window) ||
      !isRecord(window.sums) ||
      !isRecord(window.counts) ||
      typeof window.tokens !== "number"
    )
      fail("logWindow", "{ sums, counts, tokens }");
    // everything that can fail runs before the first change: a throwaway AdamW over the same
    // parameters checks the optimizer state, loadStateDict checks before it copies
    const optimizerState = {
      tensors: withPrefix(tensors, "optimizer"),
      json: json.optimizer as ReturnType<AdamW["getState"]>["json"],
    };
    new AdamW(this.model.parameters()).setState(optimizerState);
    const restoreExtras = this.restoreCheckpointTensors(tensors, dir);
    this.model.loadStateDict(modelTensors(tensors));
    this.optimizer.setState(optimizerState);
    restoreExtras();
    this.globalStep = globalStep as number;
    this.logWindow = structuredClone(window as unknown as LogWindow);
  }

  /**
   * The model tensors and JSON of a {@link Trainer.save} directory, without the optimizer state: what
   * `SFTTrainer.loadModel` and `RewardTrainer.loadModel` rebuild a model from.
   */
  static async readModelCheckpoint(
    dir: string,
    trainer: string,
  ): Promise<{ tensors: Record<string, Tensor>; json: Record<string, unknown> }> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, trainer);
    return { tensors: modelTensors(tensors), json };
  }

  /** Extra JSON for checkpoints (e.g. the GPT config, so the model can be rebuilt). */
  protected checkpointJson(): Record<string, unknown> {
    return {};
  }

  /** Extra tensors for checkpoints, under one of `CHECKPOINT_PREFIXES` (e.g. `refModel.*`). */
  protected checkpointTensors(): Record<string, Tensor> {
    return {};
  }

  /**
   * Check the extra tensors of a checkpoint being loaded and return the function that installs them;
   * throw (changing nothing) if they do not fit.
   */
  protected restoreCheckpointTensors(_tensors: Record<string, Tensor>, _dir: string): () => void {
    return () => {};
  }
}

/** Refuse a checkpoint whose `model.json` was not written by `trainer`'s `save`. */
export function checkTrainerName(json: Record<string, unknown>, dir: string, trainer: string): void {
  if (json.trainer === trainer) return;
  throw new ProximalError(
    "MALFORMED_FILE",
    typeof json.trainer === "string"
      ? `${dir} was saved by ${json.trainer}, not ${trainer}. Load it with that trainer.`
      : `${dir}/model.json names no trainer, so it was not written by ${trainer}.save. Point to a directory that ${trainer}.save wrote.`,
  );
}

/**
 * Refuse a checkpoint whose config differs from the trainer's in a field that changes the maths
 * (all but `resumable`), naming each field with both values. Both sides go through JSON, as the
 * file did, so a non-finite number (saved as null) compares equal to itself.
 */
export function checkSameConfig(
  trainer: string,
  saved: Record<string, unknown>,
  current: object,
  dir: string,
  resumable: readonly string[],
): void {
  const now = current as Record<string, unknown>;
  const keys = new Set([...Object.keys(saved), ...Object.keys(now)]);
  const differences: string[] = [];
  for (const key of keys) {
    if (resumable.includes(key)) continue;
    const a = JSON.stringify(saved[key]);
    const b = JSON.stringify(now[key]);
    if (a !== b) differences.push(`${key} (checkpoint ${a ?? "missing"}, this trainer ${b ?? "missing"})`);
  }
  if (differences.length > 0) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${trainer}.load: ${dir} was saved with a different config: ${differences.join("; ")}. These fields change the training maths, so the run would not continue as it would have. Build the trainer with the checkpoint's values (its "config" in ${dir}/model.json), or start a new run from its model with ${trainer}.loadModel.`,
    );
  }
}

/**
 * FNV-1a (32-bit) of a sequence of strings, as 8 hex digits, with a separator between them (so
 * ["ab", "c"] ≠ ["a", "bc"]): enough to notice another dataset or another model.
 */
export function fingerprint(parts: Iterable<string>): string {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) hash = Math.imul(hash ^ part.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0xffff, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** {@link fingerprint} of a state dict: names, shapes and every value's bits, in name order. */
export function tensorsFingerprint(tensors: Record<string, Tensor>): string {
  let hash = 0x811c9dc5;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    const header = `${name}[${t.shape.join(",")}]`;
    for (let i = 0; i < header.length; i++) hash = Math.imul(hash ^ header.charCodeAt(i), 0x01000193);
    const words = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ words[i], 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** {@link fingerprint} of dataset rows (each as JSON), in order. */
export function rowsFingerprint(rows: readonly unknown[]): string {
  return fingerprint(rows.map((row) => JSON.stringify(row)));
}

/**
 * Refuse a checkpoint saved over other rows: `saved` is its `dataset` field, `{ rows, fingerprint }`
 * ({@link rowsFingerprint}); the saved order and step index the rows, so they must be the same.
 */
export function checkSameRows(trainer: string, saved: unknown, rows: readonly unknown[], dir: string): void {
  if (!isRecord(saved) || !Number.isInteger(saved.rows) || typeof saved.fingerprint !== "string") {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${dir}: "dataset" in model.json must be { rows, fingerprint }, got ${truncateJson(saved)}. The file was not written by ${trainer}.save (or by a version before resuming was supported); start a new run from its model with ${trainer}.loadModel.`,
    );
  }
  const now = rowsFingerprint(rows);
  if (saved.rows !== rows.length || saved.fingerprint !== now) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${trainer}.load: ${dir} was saved from a run over ${saved.rows} rows (fingerprint ${saved.fingerprint}), but this trainer has ${rows.length} (fingerprint ${now}). The saved step indexes the row order, so pass the same trainDataset, in the same order.`,
    );
  }
}

/** A frozen copy of `model` (same config and weights, gradients off): the reference policy. */
export function frozenCopy(model: GPT): GPT {
  const copy = cloneGPT(model);
  for (const p of copy.parameters()) p.requireGrad(false);
  return copy;
}

/**
 * The frozen reference of a preference trainer: the one given (which must not be the policy itself,
 * or it would move with training), else a frozen copy of the policy as it is now (TRL).
 */
export function referenceModel(trainer: string, model: GPT, refModel: GPT | undefined): GPT {
  if (refModel === model) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${trainer}: refModel is the policy itself, so it would move with training. Leave refModel out to get a frozen copy.`,
    );
  }
  return refModel ?? frozenCopy(model);
}

/**
 * The `refModel.*` tensors of a checkpoint as a new frozen copy of `like` (the reference a trainer
 * was built with, which is not modified): a resumed trainer no longer has the policy the reference
 * was copied from, so checkpoints carry it. Throws, changing nothing, if they are missing or do not fit.
 */
export function savedReference(
  like: GPT,
  tensors: Record<string, Tensor>,
  dir: string,
  trainer: string,
): GPT {
  const saved = withPrefix(tensors, "refModel");
  if (Object.keys(saved).length === 0) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${dir}: model.safetensors has no refModel.* tensors, so it was not written by ${trainer}.save (or by a version before resuming was supported). Start a new run from its model with ${trainer}.loadModel.`,
    );
  }
  const reference = frozenCopy(like);
  reference.loadStateDict(saved);
  return reference;
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `key.field (checkpoint a, this trainer b)` for each field where two JSON objects differ. */
function jsonDifferences(key: string, saved: unknown, current: unknown): string[] {
  if (isRecord(saved) && isRecord(current)) {
    return [...new Set([...Object.keys(saved), ...Object.keys(current)])].flatMap((field) =>
      jsonDifferences(`${key}.${field}`, saved[field], current[field]),
    );
  }
  const a = JSON.stringify(saved);
  const b = JSON.stringify(current);
  return a === b ? [] : [`${key} (checkpoint ${a ?? "missing"}, this trainer ${b ?? "missing"})`];
}

function truncateJson(value: unknown): string {
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function renameToEval(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k.replace(/^train\//, "eval/"), v]));
}
