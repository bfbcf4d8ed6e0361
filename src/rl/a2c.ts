/**
 * Advantage Actor-Critic, the synchronous variant of A3C (Mnih et al. 2016,
 * https://arxiv.org/abs/1602.01783, Algorithm S3).
 *
 * Each update takes one gradient step on the whole rollout of `nSteps × numEnvs` transitions:
 * ```
 * A_t       = R_t - V(s_t)            (R_t: GAE λ-return; λ = 1 gives the n-step return; the TD error
 *                                      `Adv = R + γV(S') - V(S)` is λ = 0 with nSteps = 1)
 * L_policy  = -mean(log π(a_t|s_t) · A_t)        (A_t is a constant: no gradient into the critic)
 * L_value   = mean((R_t - V(s_t))²)              (Mnih et al. 2016, Algorithm S3: ∂(R - V)²)
 * L_entropy = -mean(H[π(·|s_t)])
 * L         = L_policy + entCoef · L_entropy + vfCoef · L_value
 * ```
 *
 * Matches Stable-Baselines3's `A2C` (SB3 `a2c/a2c.py`): its defaults (lr 7e-4, nSteps 5, λ = 1,
 * vfCoef 0.5, maxGradNorm 0.5, no advantage normalisation) and torch RMSprop with α 0.99 and
 * eps 1e-5. `rmsPropTfLike` switches to SB3's `RMSpropTFLike`, which SB3 recommends to reproduce
 * stable-baselines (TensorFlow) results. Rollouts with truncation bootstrap, GAE and the learn loop
 * come from {@link OnPolicyAlgorithm}; the objective is all here. {@link A3C} reuses these losses.
 */

import { ProximalError } from "../errors.js";
import type { ModelSource } from "../io/modelFiles.js";
import { Adam } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import type { BaseOptimizerOptions, Optimizer } from "../optim/optimizer.js";
import { RMSprop } from "../optim/rmsprop.js";
import * as ops from "../tensor/ops.js";
import { Tensor } from "../tensor/tensor.js";
import { explainedVariance, normalizeInPlace } from "./common/gae.js";
import type {
  EnvInput,
  LoadOptions,
  OnPolicyOptions,
  PolicyFactory,
  UpdateStats,
} from "./common/onPolicyAlgorithm.js";
import { loadAlgorithm, OnPolicyAlgorithm } from "./common/onPolicyAlgorithm.js";

/**
 * Options specific to {@link A2C}; shared fields live in {@link OnPolicyOptions}. A2C's defaults of
 * the shared fields (SB3): `learningRate` 7e-4, `nSteps` 5, `gamma` 0.99, `gaeLambda` 1,
 * `entCoef` 0, `vfCoef` 0.5, `maxGradNorm` 0.5, `normalizeAdvantage` false.
 */
export interface A2COptions extends OnPolicyOptions {
  /**
   * RMSprop (true) or Adam (false). The A3C paper and SB3 use RMSprop.
   * @defaultValue true (SB3 `use_rms_prop=True`)
   */
  useRmsProp?: boolean;
  /** RMSprop smoothing constant α. @defaultValue 0.99 (SB3) */
  rmsPropAlpha?: number;
  /** eps of RMSprop (or of Adam when `useRmsProp` is false). @defaultValue 1e-5 (SB3 `rms_prop_eps`) */
  rmsPropEps?: number;
  /**
   * TensorFlow's RMSprop (eps inside the square root, squared average starting at 1), SB3's
   * `RMSpropTFLike`; only with `useRmsProp`. @defaultValue false (SB3 uses torch RMSprop by default)
   */
  rmsPropTfLike?: boolean;
}

/** `-mean(log π(a|s) · A)`: the policy-gradient loss with constant advantages (Mnih et al. 2016, Algorithm S3). */
export function policyGradientLoss(logProb: Tensor, advantages: Tensor): Tensor {
  return ops.neg(ops.mean(ops.mul(logProb, advantages)));
}

/** `mean((R - V(s))²)`: the critic's regression onto the returns (Mnih et al. 2016, Algorithm S3). */
export function valueMseLoss(values: Tensor, returns: Tensor): Tensor {
  return ops.mean(ops.square(ops.sub(returns, values)));
}

/** `-mean(H)`: minimising it raises the policy's entropy (Mnih et al. 2016, §4). */
export function entropyLoss(entropy: Tensor): Tensor {
  return ops.neg(ops.mean(entropy));
}

/** Inputs of {@link a2cLoss}, one row per transition. */
export interface A2CLossInputs {
  logProb: Tensor; // [batch], log π(a|s) of the taken actions, with gradient
  values: Tensor; // [batch], V(s), with gradient
  entropy: Tensor; // [batch]
  advantages: Tensor; // [batch], constants
  returns: Tensor; // [batch], constants
  entCoef: number;
  vfCoef: number;
}

/** The A2C loss `L_policy + entCoef · L_entropy + vfCoef · L_value` and its parts. */
export function a2cLoss(inputs: A2CLossInputs): {
  loss: Tensor;
  policyLoss: Tensor;
  valueLoss: Tensor;
  entropyLoss: Tensor;
} {
  const policyLoss = policyGradientLoss(inputs.logProb, inputs.advantages);
  const valueLoss = valueMseLoss(inputs.values, inputs.returns);
  const entropy = entropyLoss(inputs.entropy);
  const loss = ops.add(
    ops.add(policyLoss, ops.mul(entropy, inputs.entCoef)),
    ops.mul(valueLoss, inputs.vfCoef),
  );
  return { loss, policyLoss, valueLoss, entropyLoss: entropy };
}

/**
 * A2C with SB3's defaults.
 *
 * @example
 * const model = new A2C("CartPole-v1", { numEnvs: 8, seed: 1 });
 * await model.learn({ totalTimesteps: 200_000 });
 */
export class A2C extends OnPolicyAlgorithm {
  readonly algorithmName: string = "A2C";
  readonly options: A2COptions;
  protected readonly optimizer: Optimizer<BaseOptimizerOptions>;

  constructor(env: EnvInput, options: A2COptions = {}, createPolicy?: PolicyFactory) {
    super(
      env,
      options,
      {
        learningRate: 7e-4,
        nSteps: 5,
        gamma: 0.99,
        gaeLambda: 1,
        entCoef: 0,
        vfCoef: 0.5,
        maxGradNorm: 0.5,
        normalizeAdvantage: false,
      },
      createPolicy,
    );
    this.options = options;
    const useRmsProp = options.useRmsProp ?? true;
    const alpha = options.rmsPropAlpha ?? 0.99;
    const eps = options.rmsPropEps ?? 1e-5;
    const tfLike = options.rmsPropTfLike ?? false;
    if (typeof useRmsProp !== "boolean" || typeof tfLike !== "boolean") {
      throw new ProximalError(
        "INVALID_OPTION",
        `useRmsProp and rmsPropTfLike must be booleans, got ${String(useRmsProp)} and ${String(tfLike)}.`,
      );
    }
    if (tfLike && !useRmsProp) {
      throw new ProximalError(
        "INVALID_OPTION",
        "rmsPropTfLike needs useRmsProp: true (it selects the RMSprop variant). Drop rmsPropTfLike or set useRmsProp: true.",
      );
    }
    if (!(alpha >= 0 && alpha < 1)) {
      throw new ProximalError("INVALID_OPTION", `rmsPropAlpha must be in [0, 1), got ${alpha}.`);
    }
    if (!(eps > 0)) throw new ProximalError("INVALID_OPTION", `rmsPropEps must be > 0, got ${eps}.`);
    if (this.normalizeAdvantage && this.rolloutSize === 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        "normalizeAdvantage with a one-transition rollout (nSteps * numEnvs = 1): a single advantage has no standard deviation. Raise nSteps or numEnvs.",
      );
    }
    const lr = this.learningRate(1);
    this.optimizer = useRmsProp
      ? new RMSprop(this.policy.parameters(), { lr, alpha, eps, tfLike })
      : new Adam(this.policy.parameters(), { lr, eps });
  }

  /**
   * The A2C loss on the whole buffer, with its diagnostics (no gradient step). {@link A3C}'s
   * workers call this on their own rollouts.
   */
  protected rolloutLoss(): { loss: Tensor; stats: UpdateStats } {
    const batch = this.buffer.all();
    // with an entropy coefficient of 0 the entropy is only logged (evaluateActions says why)
    const { values, logProb, entropy } = this.policy.evaluateActions(
      batch.observations,
      batch.actions,
      batch.actionMasks,
      this.entCoef !== 0,
    );
    let advantages = batch.advantages;
    // SB3 normalises with the unbiased std plus 1e-8; a constant, so no gradient flows through it
    if (this.normalizeAdvantage)
      advantages = new Tensor(normalizeInPlace(advantages.values.slice()), advantages.shape);
    const parts = a2cLoss({
      logProb,
      values,
      entropy,
      advantages,
      returns: batch.returns,
      entCoef: this.entCoef,
      vfCoef: this.vfCoef,
    });
    return {
      loss: parts.loss,
      stats: {
        "train/policyLoss": parts.policyLoss.item(),
        "train/valueLoss": parts.valueLoss.item(),
        "train/entropy": -parts.entropyLoss.item(),
        "train/loss": parts.loss.item(),
        "train/explainedVariance": explainedVariance(this.buffer.values, this.buffer.returns),
      },
    };
  }

  protected train(): UpdateStats {
    const lr = this.updateLearningRate();
    const { loss, stats } = this.rolloutLoss();
    this.optimizer.zeroGrad();
    loss.backward();
    const gradNorm = clipGradNorm(this.policy.parameters(), this.maxGradNorm);
    this.optimizer.step();
    return { ...stats, "train/gradNorm": gradNorm, "train/learningRate": lr };
  }

  /** Rebuild an A2C model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<A2C> {
    return loadAlgorithm((env, opts) => new A2C(env, opts as A2COptions), source, options);
  }
}
