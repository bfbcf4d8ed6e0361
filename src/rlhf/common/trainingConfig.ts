import { ProximalError } from "../../errors.js";

/**
 * The training-loop options every supervised RLHF trainer shares ({@link SFTTrainer},
 * {@link RewardTrainer}, {@link DPOTrainer}, {@link KTOTrainer}): the subset of Hugging Face's
 * `TrainingArguments` these trainers use, in camelCase, with HF's defaults unless a trainer's config
 * lists a change. Every field is optional.
 */
export interface TrainingConfig {
  // > optimisation

  /** Peak AdamW learning rate. @defaultValue 5e-5 (HF `learning_rate`); each trainer's config may change it */
  learningRate?: number;
  /** Decoupled AdamW weight decay. @defaultValue 0 (HF `weight_decay`) */
  weightDecay?: number;
  /** AdamW (β1, β2). @defaultValue [0.9, 0.999] (HF `adam_beta1`, `adam_beta2`) */
  adamBetas?: [number, number];
  /** AdamW ε. @defaultValue 1e-8 (HF `adam_epsilon`) */
  adamEpsilon?: number;
  /** Clip the global gradient norm to this before each step; 0 turns clipping off. @defaultValue 1 (HF `max_grad_norm`) */
  maxGradNorm?: number;
  /**
   * Fraction of the steps spent warming the learning rate up linearly from 0; then it follows a
   * cosine down to `minLearningRate` ({@link warmupThenCosine}, HF `lr_scheduler_type="cosine"`).
   * @defaultValue 0 (HF `warmup_ratio`)
   */
  warmupRatio?: number;
  /** Learning rate at the end of the cosine. @defaultValue 0 (HF `cosine`) */
  minLearningRate?: number;

  // > data and length

  /** Rows per optimizer step. @defaultValue 8 (HF `per_device_train_batch_size`) */
  perDeviceTrainBatchSize?: number;
  /** Passes over the training rows. @defaultValue 3 (HF `num_train_epochs`) */
  numTrainEpochs?: number;
  /** Stop after this many optimizer steps; overrides `numTrainEpochs` when > 0. @defaultValue -1 (HF `max_steps`) */
  maxSteps?: number;
  /**
   * Longest tokenized prompt + response; longer rows lose the end of the response first, then the
   * start of the prompt. Also capped by the model's `nPositions`. @defaultValue 1024 (TRL `max_length`)
   */
  maxLength?: number;

  // > logging and seeding

  /** Call `onStep` every this many optimizer steps. @defaultValue 10 (TRL's `logging_steps`; HF's is 500) */
  loggingSteps?: number;
  /** Seed of the row order. @defaultValue 42 (HF `seed`) */
  seed?: number;
}

/** {@link TrainingConfig} with every default filled in. */
export type ResolvedTrainingConfig = Required<TrainingConfig>;

/** HF `TrainingArguments` defaults (with TRL's `logging_steps` and `max_length`). */
export const TRAINING_DEFAULTS: ResolvedTrainingConfig = {
  learningRate: 5e-5,
  weightDecay: 0,
  adamBetas: [0.9, 0.999],
  adamEpsilon: 1e-8,
  maxGradNorm: 1,
  warmupRatio: 0,
  minLearningRate: 0,
  perDeviceTrainBatchSize: 8,
  numTrainEpochs: 3,
  maxSteps: -1,
  maxLength: 1024,
  loggingSteps: 10,
  seed: 42,
};

/**
 * Fill in `config` over `defaults` (a trainer's changed defaults over {@link TRAINING_DEFAULTS}) and
 * check the shared fields; `name` prefixes the messages (`"DPOConfig"`).
 */
export function resolveTrainingConfig<C extends TrainingConfig>(
  name: string,
  config: C,
  defaults: Required<C>,
): Required<C> {
  const resolved = { ...defaults } as Required<C>;
  for (const [key, value] of Object.entries(config)) {
    if (value !== undefined) (resolved as Record<string, unknown>)[key] = value;
  }
  const c = resolved as ResolvedTrainingConfig;
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `${name}: ${message}`);
  };
  for (const key of ["perDeviceTrainBatchSize", "maxLength", "loggingSteps"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) fail(`${key} must be a positive integer, got ${c[key]}.`);
  }
  if (!Number.isInteger(c.maxSteps) || c.maxSteps === 0 || c.maxSteps < -1)
    fail(`maxSteps must be a positive integer, or -1 to use numTrainEpochs, got ${c.maxSteps}.`);
  if (c.maxSteps === -1 && !(c.numTrainEpochs > 0))
    fail(`numTrainEpochs must be > 0 when maxSteps is -1, got ${c.numTrainEpochs}.`);
  for (const key of [
    "learningRate",
    "weightDecay",
    "adamEpsilon",
    "maxGradNorm",
    "minLearningRate",
  ] as const) {
    if (!(c[key] >= 0)) fail(`${key} must be >= 0, got ${c[key]}.`);
  }
  if (c.minLearningRate > c.learningRate)
    fail(`minLearningRate (${c.minLearningRate}) must not exceed learningRate (${c.learningRate}).`);
  if (!(c.warmupRatio >= 0 && c.warmupRatio < 1))
    fail(`warmupRatio must be in [0, 1), got ${c.warmupRatio}.`);
  const [b1, b2] = c.adamBetas;
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) fail(`adamBetas must be in [0, 1), got [${b1}, ${b2}].`);
  if (!Number.isInteger(c.seed)) fail(`seed must be an integer, got ${c.seed}.`);
  return resolved;
}
