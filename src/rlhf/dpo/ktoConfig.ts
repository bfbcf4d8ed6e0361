import { ProximalError } from "../../errors.js";
import {
  type ResolvedTrainingConfig,
  resolveTrainingConfig,
  TRAINING_DEFAULTS,
  type TrainingConfig,
} from "../common/trainingConfig.js";

/**
 * Options of {@link KTOTrainer}, after TRL's `KTOConfig`: only the KTO fields; the loop's fields are
 * the shared {@link TrainingConfig}. Changed shared defaults:
 * - `learningRate`: `1e-6` instead of `5e-5` (TRL `KTOConfig`).
 * - `perDeviceTrainBatchSize` must be at least 2: the KL reference point pairs each prompt with
 *   another row's completion (TRL requires a batch > 1 for the same reason).
 */
export interface KTOConfig extends TrainingConfig {
  // > loss

  /** β: scale of the log-ratio inside the value function; higher keeps closer to the reference. @defaultValue 0.1 (TRL `beta`) */
  beta?: number;
  /**
   * λ_D, weight of desirable rows' losses. Ethayarajh et al. 2024 (§4.2) recommend
   * `λ_D n_D / (λ_U n_U)` in [1, 4/3]. @defaultValue 1 (TRL `desirable_weight`)
   */
  desirableWeight?: number;
  /** λ_U, weight of undesirable rows' losses. @defaultValue 1 (TRL `undesirable_weight`) */
  undesirableWeight?: number;
}

/** {@link KTOConfig} with every default filled in. */
export type ResolvedKTOConfig = ResolvedTrainingConfig &
  Required<Pick<KTOConfig, "beta" | "desirableWeight" | "undesirableWeight">>;

/** Defaults of {@link KTOConfig}. */
export const KTO_DEFAULTS: ResolvedKTOConfig = {
  ...TRAINING_DEFAULTS,
  learningRate: 1e-6,
  beta: 0.1,
  desirableWeight: 1,
  undesirableWeight: 1,
};

/** Fill in defaults and check the options. */
export function resolveKTOConfig(config: KTOConfig = {}): ResolvedKTOConfig {
  const c = resolveTrainingConfig("KTOConfig", config, KTO_DEFAULTS);
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `KTOConfig: ${message}`);
  };
  if (!(c.beta > 0)) fail(`beta must be > 0, got ${c.beta}. TRL's default is 0.1.`);
  for (const key of ["desirableWeight", "undesirableWeight"] as const) {
    if (!(c[key] >= 0)) fail(`${key} must be >= 0, got ${c[key]}.`);
  }
  if (c.perDeviceTrainBatchSize < 2)
    fail(
      `perDeviceTrainBatchSize must be at least 2 (got ${c.perDeviceTrainBatchSize}): the KL reference point pairs each prompt with another row's completion.`,
    );
  return c;
}
