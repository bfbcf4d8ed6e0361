import {
  type ResolvedTrainingConfig,
  resolveTrainingConfig,
  TRAINING_DEFAULTS,
  type TrainingConfig,
} from "../common/trainingConfig.js";

/**
 * Options of {@link SFTTrainer}, after TRL's `SFTConfig`. SFT here always trains on completions
 * only (TRL `completion_only_loss=True`): prompt tokens are in the context but out of the loss.
 * It has no fields of its own beyond the shared {@link TrainingConfig}; it changes one default:
 * - `learningRate`: `2e-5` instead of `5e-5` (TRL `SFTConfig`).
 */
export type SFTConfig = TrainingConfig;

/** {@link SFTConfig} with every default filled in. */
export type ResolvedSFTConfig = ResolvedTrainingConfig;

/** Defaults of {@link SFTConfig}. */
export const SFT_DEFAULTS: ResolvedSFTConfig = { ...TRAINING_DEFAULTS, learningRate: 2e-5 };

/** Fill in defaults and check the options. */
export function resolveSFTConfig(config: SFTConfig = {}): ResolvedSFTConfig {
  return resolveTrainingConfig("SFTConfig", config, SFT_DEFAULTS);
}
