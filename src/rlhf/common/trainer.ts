import { ProximalError } from "../../errors.js";
import { addPrefix, loadCheckpoint, saveCheckpoint, withPrefix } from "../../io/checkpoint.js";
import type { Module } from "../../nn/module.js";
import { AdamW } from "../../optim/adam.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import { warmupThenCosine } from "../../optim/schedules.js";
import { Rng } from "../../random/rng.js";
import { noGrad, type Tensor } from "../../tensor/tensor.js";
import { MetricWindow } from "./metricWindow.js";
import {
  checkSameConfig,
  checkSameRows,
  checkTrainerName,
  isRecord,
  jsonDifferences,
  modelTensors,
  rowsFingerprint,
  truncateJson,
} from "./trainerCheckpoint.js";
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
  /** Metrics of the steps since the last `onStep` call, and the tokens they ran. */
  private logWindow = new MetricWindow();
  private logTokens = 0;
  private orderCache: { epoch: number; order: Int32Array; rng: Rng } | null = null;

  protected constructor(model: Module, config: C, trainDataset: Row[], onStep?: OnStep) {
    this.model = model;
    this.config = config;
    this.trainDataset = trainDataset;
    this.onStep = onStep;
    // only what can be trained: a LoRA model's frozen base stays out of the optimizer (and its decay)
    this.optimizer = new AdamW(model.trainableParameters(), {
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
   * One optimizer step on the next batch of the seeded row order (continuing from `globalStep`, so
   * steps taken one call at a time are the steps {@link Trainer.train} takes): learning rate from the
   * schedule → {@link Trainer.computeLoss} → backward → gradient clipping → AdamW step. Returns the
   * step's metrics (`train/loss`, the trainer's own, `train/gradNorm`, `train/learningRate`), which also
   * go into the window {@link Trainer.train} averages for `onStep`.
   */
  step(): Record<string, number> {
    const c = this.config;
    const n = this.trainDataset.length;
    if (n === 0) throw new ProximalError("INVALID_ARGUMENT", `${this.name}: the training dataset is empty.`);
    const totalSteps = this.totalSteps;
    if (this.globalStep >= totalSteps) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}.step: the run is over (${this.globalStep} of ${totalSteps} steps). Raise maxSteps or numTrainEpochs in a new trainer to train further.`,
      );
    }
    const stepsPerEpoch = this.stepsPerEpoch;
    const order = this.epochOrder(Math.floor(this.globalStep / stepsPerEpoch));
    const start = (this.globalStep % stepsPerEpoch) * c.perDeviceTrainBatchSize;
    const rows = Array.from(
      order.subarray(start, Math.min(n, start + c.perDeviceTrainBatchSize)),
      (i) => this.trainDataset[i],
    );

    const warmupSteps = Math.ceil(c.warmupRatio * totalSteps); // HF get_warmup_steps
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
    const gradNorm =
      c.maxGradNorm > 0 ? clipGradNorm(this.model.trainableParameters(), c.maxGradNorm) : Number.NaN;
    this.optimizer.step();
    this.globalStep++;

    const metrics: Record<string, number> = { "train/loss": batch.loss.item(), ...batch.metrics };
    if (c.maxGradNorm > 0) metrics["train/gradNorm"] = gradNorm;
    this.logWindow.add(metrics);
    this.logTokens += batch.tokens;
    return { ...metrics, "train/learningRate": learningRate };
  }

  /**
   * Train until {@link Trainer.totalSteps} (continuing from `globalStep` after a {@link Trainer.load}),
   * until `options.untilStep`, or until `onStep` returns false: {@link Trainer.step} after step, and
   * every `loggingSteps` steps (and after the last) `onStep` with the metrics averaged since its last
   * call, `train/learningRate`, `train/epoch` and `time/tokensPerSecond`. Returns the last averaged
   * metrics of this call (empty when it logged nothing).
   */
  train(options: TrainOptions = {}): Record<string, number> {
    const c = this.config;
    if (this.trainDataset.length === 0)
      throw new ProximalError("INVALID_ARGUMENT", `${this.name}: the training dataset is empty.`);
    const totalSteps = this.totalSteps;
    const untilStep = Math.min(options.untilStep ?? totalSteps, totalSteps);
    let started = performance.now();
    let last: Record<string, number> = {};
    while (this.globalStep < untilStep) {
      const { "train/learningRate": learningRate } = this.step();
      if (this.globalStep % c.loggingSteps === 0 || this.globalStep === totalSteps) {
        const seconds = (performance.now() - started) / 1000;
        last = this.logWindow.means();
        last["train/learningRate"] = learningRate;
        last["train/epoch"] = this.globalStep / this.stepsPerEpoch;
        last["time/tokensPerSecond"] = this.logTokens / Math.max(seconds, 1e-9);
        const keepGoing = this.onStep?.({ step: this.globalStep, totalSteps, metrics: last });
        this.logWindow.clear();
        this.logTokens = 0;
        started = performance.now();
        if (keepGoing === false) break;
      }
    }
    return last;
  }

  /** Optimizer steps per pass over the rows (the last batch may be smaller). */
  private get stepsPerEpoch(): number {
    return Math.ceil(this.trainDataset.length / this.config.perDeviceTrainBatchSize);
  }

  /**
   * The row order of `epoch`: the (epoch + 1)-th permutation drawn from a generator seeded with
   * `seed`, so it depends on the epoch alone (a resumed run replays it). Cached, so consecutive epochs
   * draw one permutation each.
   */
  private epochOrder(epoch: number): Int32Array {
    const n = this.trainDataset.length;
    let cache = this.orderCache;
    if (cache === null || cache.epoch > epoch) {
      const rng = new Rng(this.config.seed);
      cache = { epoch: 0, order: rng.permutation(n), rng };
    }
    while (cache.epoch < epoch) {
      cache.order = cache.rng.permutation(n);
      cache.epoch++;
    }
    this.orderCache = cache;
    return cache.order;
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
        logWindow: { sums: this.logWindow.sums, counts: this.logWindow.counts, tokens: this.logTokens },
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
    new AdamW(this.model.trainableParameters()).setState(optimizerState);
    const restoreExtras = this.restoreCheckpointTensors(tensors, dir);
    this.model.loadStateDict(modelTensors(tensors));
    this.optimizer.setState(optimizerState);
    restoreExtras();
    this.globalStep = globalStep as number;
    const saved = structuredClone(window) as unknown as LogWindow;
    this.logWindow.sums = saved.sums;
    this.logWindow.counts = saved.counts;
    this.logTokens = saved.tokens;
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

function renameToEval(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k.replace(/^train\//, "eval/"), v]));
}
