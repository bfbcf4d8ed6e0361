import { ProximalError } from "../../errors.js";
import {
  type ResolvedTrainingConfig,
  resolveTrainingConfig,
  TRAINING_DEFAULTS,
  type TrainingConfig,
} from "../common/trainingConfig.js";

/**
 * Options of {@link RewardTrainer}, after TRL's `RewardConfig`: only the reward-model fields; the
 * loop's fields are the shared {@link TrainingConfig}, whose defaults it keeps (HF `TrainingArguments`).
 */
export interface RewardConfig extends TrainingConfig {
  // > loss

  /**
   * Coefficient `c` of the auxiliary loss `c · mean((r_chosen + r_rejected)²)` that pulls rewards
   * toward zero mean (Eisenstein et al. 2023, "Helping or Herding?", arXiv:2312.09244; TRL
   * `center_rewards_coefficient`, which recommends 0.01). 0 turns it off.
   * @defaultValue 0 (TRL: None, off)
   */
  centerRewardsCoefficient?: number;
}

/** {@link RewardConfig} with every default filled in. */
export type ResolvedRewardConfig = ResolvedTrainingConfig &
  Required<Pick<RewardConfig, "centerRewardsCoefficient">>;

/** Defaults of {@link RewardConfig}. */
export const REWARD_DEFAULTS: ResolvedRewardConfig = { ...TRAINING_DEFAULTS, centerRewardsCoefficient: 0 };

/** Fill in defaults and check the options. */
export function resolveRewardConfig(config: RewardConfig = {}): ResolvedRewardConfig {
  const c = resolveTrainingConfig("RewardConfig", config, REWARD_DEFAULTS);
  if (!(c.centerRewardsCoefficient >= 0)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `RewardConfig: centerRewardsCoefficient must be >= 0 (0 is off), got ${c.centerRewardsCoefficient}. TRL recommends 0.01.`,
    );
  }
  return c;
}
