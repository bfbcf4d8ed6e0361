import { ProximalError } from "../../errors.js";
import {
  type ResolvedTrainingConfig,
  resolveTrainingConfig,
  TRAINING_DEFAULTS,
  type TrainingConfig,
} from "../common/trainingConfig.js";

/**
 * The preference loss of {@link DPOTrainer}, with `h = (log π(y_w) - log π_ref(y_w)) - (log π(y_l) - log π_ref(y_l))`:
 * - `"dpo"` (default): `-(1-ε) log σ(βh) - ε log σ(-βh)` on summed token log-probs (Rafailov et al.
 *   2023, arXiv:2305.18290 eq. 7). TRL `loss_type="sigmoid"`.
 * - `"ipo"`: `(h - 1/(2β))²` on length-averaged log-probs (Azar et al. 2023, arXiv:2310.12036 eq. 17;
 *   the averaging follows TRL `loss_type="ipo"`).
 */
export type DPOLossType = "dpo" | "ipo";

/**
 * Options of {@link DPOTrainer}, after TRL's `DPOConfig`: only the DPO fields; the loop's fields are
 * the shared {@link TrainingConfig}. Changed shared defaults:
 * - `learningRate`: `1e-6` instead of `5e-5` (TRL `DPOConfig`).
 */
export interface DPOConfig extends TrainingConfig {
  // > loss

  /** Which loss; see {@link DPOLossType}. @defaultValue "dpo" */
  loss?: DPOLossType;
  /**
   * β: strength of the implicit KL to the reference. Higher keeps the policy closer to it. For IPO it
   * sets the target margin `1/(2β)`. @defaultValue 0.1 (TRL `beta`; Rafailov et al. use 0.1–0.5)
   */
  beta?: number;
  /**
   * ε: the assumed probability that a preference label is flipped (conservative DPO, Mitchell 2023,
   * "A note on DPO with noisy preferences"; robust DPO, Chowdhury et al. 2024, arXiv:2403.00409 uses
   * the same form in TRL). Must be in [0, 0.5); no effect for IPO. @defaultValue 0 (TRL `label_smoothing`)
   */
  labelSmoothing?: number;
}

/** {@link DPOConfig} with every default filled in. */
export type ResolvedDPOConfig = ResolvedTrainingConfig &
  Required<Pick<DPOConfig, "loss" | "beta" | "labelSmoothing">>;

/** Defaults of {@link DPOConfig}. */
export const DPO_DEFAULTS: ResolvedDPOConfig = {
  ...TRAINING_DEFAULTS,
  learningRate: 1e-6,
  loss: "dpo",
  beta: 0.1,
  labelSmoothing: 0,
};

/** Fill in defaults and check the options. */
export function resolveDPOConfig(config: DPOConfig = {}): ResolvedDPOConfig {
  const c = resolveTrainingConfig("DPOConfig", config, DPO_DEFAULTS);
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `DPOConfig: ${message}`);
  };
  if (c.loss !== "dpo" && c.loss !== "ipo")
    fail(`loss must be "dpo" or "ipo", got ${JSON.stringify(c.loss)}.`);
  if (!(c.beta > 0)) fail(`beta must be > 0, got ${c.beta}. TRL's default is 0.1.`);
  if (!(c.labelSmoothing >= 0 && c.labelSmoothing < 0.5))
    fail(`labelSmoothing must be in [0, 0.5), got ${c.labelSmoothing}.`);
  if (c.loss === "ipo" && c.labelSmoothing !== 0)
    fail(
      `labelSmoothing (${c.labelSmoothing}) has no effect with loss "ipo". Set it to 0, or use loss "dpo".`,
    );
  return c;
}
