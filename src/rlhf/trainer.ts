import { ProximalError } from "../errors.js";
import { addPrefix, loadCheckpoint, saveCheckpoint, withPrefix } from "../io/checkpoint.js";
import type { Module } from "../nn/module.js";
import { AdamW } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import { warmupThenCosine } from "../optim/schedules.js";
import { Rng } from "../random/rng.js";
import { noGrad, type Tensor } from "../tensor/tensor.js";
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

/**
 * The loop the supervised RLHF trainers share (as TRL's trainers share `transformers.Trainer`):
 * shuffle the rows each epoch with a seeded {@link Rng}, batches of `perDeviceTrainBatchSize` (the last
 * one may be smaller, HF `dataloader_drop_last=False`), and per batch: learning rate from
 * {@link warmupThenCosine} → loss → backward → {@link clipGradNorm} → AdamW step. A subclass writes
 * only its loss, {@link Trainer.computeLoss}.
 *
 * Checkpoints ({@link Trainer.save}) hold the model's state dict under its own names (so a saved SFT
 * GPT loads with `loadStateDict`), the AdamW moments under `optimizer.*`, and the config and step.
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
   * Train until {@link Trainer.totalSteps} (continuing from `globalStep` after a {@link Trainer.load}) or
   * until `onStep` returns false. Returns the last averaged metrics.
   */
  train(): Record<string, number> {
    const c = this.config;
    const n = this.trainDataset.length;
    if (n === 0) throw new ProximalError("INVALID_ARGUMENT", `${this.name}: the training dataset is empty.`);
    const totalSteps = this.totalSteps;
    const warmupSteps = Math.ceil(c.warmupRatio * totalSteps); // HF get_warmup_steps
    const stepsPerEpoch = Math.ceil(n / c.perDeviceTrainBatchSize);
    const rng = new Rng(c.seed);
    const params = this.model.parameters();
    // per-key sums and counts: a batch may have no value for a key (NaN, e.g. KTO's rewards/chosen
    // when no desirable row was drawn), which is left out of that key's mean
    let sums: Record<string, number> = {};
    let counts: Record<string, number> = {};
    let tokens = 0;
    let started = performance.now();
    let last: Record<string, number> = {};
    // replay the row order of the steps already taken, so a resumed run sees the same batches
    let order = rng.permutation(n);
    for (let s = stepsPerEpoch; s <= this.globalStep; s += stepsPerEpoch) order = rng.permutation(n);
    while (this.globalStep < totalSteps) {
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
        sums[key] = (sums[key] ?? 0) + value;
        counts[key] = (counts[key] ?? 0) + 1;
      }
      tokens += batch.tokens;
      if (this.globalStep % c.loggingSteps === 0 || this.globalStep === totalSteps) {
        const seconds = (performance.now() - started) / 1000;
        last = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / counts[k]]));
        last["train/learningRate"] = learningRate;
        last["train/epoch"] = this.globalStep / stepsPerEpoch;
        last["time/tokensPerSecond"] = tokens / Math.max(seconds, 1e-9);
        const keepGoing = this.onStep?.({ step: this.globalStep, totalSteps, metrics: last });
        sums = {};
        counts = {};
        tokens = 0;
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

  /** Write the model, the optimizer state, the config and the step to `dir` (see {@link saveCheckpoint}). */
  async save(dir: string): Promise<void> {
    const optimizerState = this.optimizer.getState();
    await saveCheckpoint(dir, {
      tensors: { ...this.model.stateDict(), ...addPrefix(optimizerState.tensors, "optimizer") },
      json: {
        trainer: this.name,
        globalStep: this.globalStep,
        config: this.config,
        optimizer: optimizerState.json,
        ...this.checkpointJson(),
      },
    });
  }

  /** Restore a {@link Trainer.save} of the same trainer over a model of the same shape. */
  async load(dir: string): Promise<void> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, this.name);
    const modelTensors = Object.fromEntries(
      Object.entries(tensors).filter(([name]) => !name.startsWith("optimizer.")),
    );
    this.model.loadStateDict(modelTensors);
    this.optimizer.setState({
      tensors: withPrefix(tensors, "optimizer"),
      json: json.optimizer as ReturnType<AdamW["getState"]>["json"],
    });
    this.globalStep = Number(json.globalStep);
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
    const modelTensors = Object.fromEntries(
      Object.entries(tensors).filter(([name]) => !name.startsWith("optimizer.")),
    );
    return { tensors: modelTensors, json };
  }

  /** Extra JSON for checkpoints (e.g. the GPT config, so the model can be rebuilt). */
  protected checkpointJson(): Record<string, unknown> {
    return {};
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

function renameToEval(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k.replace(/^train\//, "eval/"), v]));
}
