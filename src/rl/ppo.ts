/**
 * Proximal Policy Optimization (Schulman et al. 2017, https://arxiv.org/abs/1707.06347).
 *
 * - `objective: "clip"` (default), eq. 7: `L = E[min(r A, clip(r, 1-ε, 1+ε) A)]`, r = π/π_old.
 * - `objective: "klPenalty"`, eq. 8 (Schulman et al. 2017, arXiv:1707.06347, §4): `L = E[r A] - β KL[π_old, π]`, with β
 *   adapted after every update: `KL < d/1.5 → β/2`, `KL > 1.5 d → β·2` (d = `klTarget`). The KL is
 *   the k3 estimator `E[(r - 1) - log r]` (Schulman, "Approximating KL divergence", 2020), an
 *   unbiased, non-negative, differentiable sample estimate of KL[π_old, π].
 *
 * Matches Stable-Baselines3's `PPO` defaults and update (SB3 `ppo/ppo.py`): per-minibatch advantage
 * normalisation, optional value clipping (`clipRangeVf`), entropy bonus, global gradient-norm
 * clipping, `targetKl` early stopping checked before each gradient step. CleanRL's `ppo.py`
 * defaults are available as the `cleanrl` preset. Rollouts, GAE and the learn loop come from
 * {@link OnPolicyAlgorithm}; the objective is all here.
 */

import { ProximalError } from "../errors.js";
import type { ModelSource } from "../io/modelFiles.js";
import { Adam } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import type { Schedule } from "../optim/schedules.js";
import * as ops from "../tensor/ops.js";
import { noGrad } from "../tensor/tensor.js";
import { explainedVariance } from "./common/gae.js";
import type { EnvInput, LoadOptions, OnPolicyOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { loadAlgorithm, OnPolicyAlgorithm } from "./common/onPolicyAlgorithm.js";
import {
  adaptKlCoef,
  clippedSurrogateLoss,
  klPenaltyLoss,
  normalizeAdvantages,
  ratioDiagnostics,
  valueLoss,
} from "./common/ppoLosses.js";
import type { ScheduleLike } from "./common/scheduleSpec.js";
import { resolveSchedule } from "./common/scheduleSpec.js";
import { scopedGradientStep } from "./common/scopedGradientStep.js";

// the losses live in common/ (the distributed PPO uses them too); re-exported for the public API
export { adaptKlCoef, clippedSurrogateLoss, klPenaltyLoss, valueLoss } from "./common/ppoLosses.js";

/** Options specific to {@link PPO}; shared fields live in {@link OnPolicyOptions}. */
export interface PPOOptions extends OnPolicyOptions {
  /** Minibatch size. @defaultValue 64 (SB3) */
  batchSize?: number;
  /** Passes over each rollout. @defaultValue 10 (SB3) */
  nEpochs?: number;
  /**
   * Clip range ε of the probability ratio (eq. 7); a schedule anneals it over training.
   * @defaultValue 0.2
   */
  clipRange?: ScheduleLike;
  /**
   * Clip range of the value function around the old values (OpenAI baselines; not in the paper).
   * Depends on the reward scale. @defaultValue null (no value clipping, SB3)
   */
  clipRangeVf?: ScheduleLike | null;
  /**
   * Stop the epochs of an update early once the approximate KL (k3) exceeds `1.5 · targetKl`.
   * @defaultValue null (no limit, SB3)
   */
  targetKl?: number | null;
  /** "clip" (PPO-Clip, eq. 7) or "klPenalty" (PPO-Penalty with adaptive β, eq. 8). @defaultValue "clip" */
  objective?: "clip" | "klPenalty";
  /** Initial penalty coefficient β of "klPenalty". @defaultValue 1 (the paper's initial β) */
  klCoef?: number;
  /** Target KL d of "klPenalty"'s β adaptation. @defaultValue 0.01 (the paper's middle setting) */
  klTarget?: number;
}

/**
 * PPO with SB3's defaults.
 *
 * @example
 * const model = new PPO(make("CartPole-v1", { numEnvs: 8, seed: 1, autoresetMode: "same-step" }), { nSteps: 32 });
 * await model.learn({ totalTimesteps: 100_000 });
 */
export class PPO extends OnPolicyAlgorithm {
  readonly algorithmName = "PPO";
  readonly batchSize: number;
  readonly nEpochs: number;
  readonly objective: "clip" | "klPenalty";
  readonly targetKl: number | null;
  readonly klTarget: number;
  /** Current β of the "klPenalty" objective. */
  klCoef: number;
  protected readonly optimizer: Adam;
  private readonly clipRange: Schedule;
  private readonly clipRangeVf: Schedule | null;
  /** The options as given (for saving). */
  readonly options: PPOOptions;

  constructor(env: EnvInput, options: PPOOptions = {}) {
    super(env, options, {
      learningRate: 3e-4,
      nSteps: 2048,
      gamma: 0.99,
      gaeLambda: 0.95,
      entCoef: 0,
      vfCoef: 0.5,
      maxGradNorm: 0.5,
      normalizeAdvantage: true,
    });
    this.options = options;
    this.batchSize = options.batchSize ?? 64;
    this.nEpochs = options.nEpochs ?? 10;
    this.objective = options.objective ?? "clip";
    this.targetKl = options.targetKl ?? null;
    this.klCoef = options.klCoef ?? 1;
    this.klTarget = options.klTarget ?? 0.01;
    this.clipRange = resolveSchedule(options.clipRange ?? 0.2, "clipRange");
    this.clipRangeVf =
      options.clipRangeVf === undefined || options.clipRangeVf === null
        ? null
        : resolveSchedule(options.clipRangeVf, "clipRangeVf");
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `batchSize must be a positive integer, got ${this.batchSize}.`,
      );
    }
    if (this.batchSize > this.rolloutSize) {
      throw new ProximalError(
        "INVALID_OPTION",
        `batchSize (${this.batchSize}) is larger than the rollout (nSteps * numEnvs = ${this.nSteps} * ${this.env.numEnvs} = ${this.rolloutSize}). Lower batchSize or raise nSteps.`,
      );
    }
    if (this.batchSize === 1 && this.normalizeAdvantage) {
      throw new ProximalError(
        "INVALID_OPTION",
        "batchSize 1 with normalizeAdvantage: a one-element minibatch has no standard deviation (SB3 issue #440). Raise batchSize or set normalizeAdvantage false.",
      );
    }
    if (!Number.isInteger(this.nEpochs) || this.nEpochs < 1) {
      throw new ProximalError("INVALID_OPTION", `nEpochs must be a positive integer, got ${this.nEpochs}.`);
    }
    if (this.objective !== "clip" && this.objective !== "klPenalty") {
      throw new ProximalError(
        "INVALID_OPTION",
        `objective must be "clip" or "klPenalty", got "${this.objective as string}".`,
      );
    }
    const clip0 = this.clipRange(1);
    if (!(clip0 > 0)) throw new ProximalError("INVALID_OPTION", `clipRange must be > 0, got ${clip0}.`);
    if (this.targetKl !== null && !(this.targetKl > 0)) {
      throw new ProximalError("INVALID_OPTION", `targetKl must be > 0 or null, got ${this.targetKl}.`);
    }
    // Adam with eps 1e-5, as SB3's ActorCriticPolicy and CleanRL
    this.optimizer = new Adam(this.policy.parameters(), { lr: this.learningRate(1), eps: 1e-5 });
  }

  protected train(): UpdateStats {
    const lr = this.updateLearningRate();
    const clipRange = this.clipRange(this.progressRemaining);
    const clipRangeVf = this.clipRangeVf === null ? null : this.clipRangeVf(this.progressRemaining);
    const entCoef = this.entCoef;
    const params = this.policy.parameters();
    let policyLossSum = 0;
    let valueLossSum = 0;
    let entropySum = 0;
    let lossSum = 0;
    let klSum = 0;
    let klK1Sum = 0;
    let clipFractionSum = 0;
    let gradNormSum = 0;
    let minibatches = 0;
    let epochsDone = 0;
    let stopped = false;
    for (let epoch = 0; epoch < this.nEpochs && !stopped; epoch++) {
      for (const batch of this.buffer.minibatches(this.batchSize, this.rng)) {
        scopedGradientStep(this.optimizer, () => {
          const { values, logProb, entropy } = this.policy.evaluateActions(
            batch.observations,
            batch.actions,
            batch.actionMasks,
            entCoef !== 0,
          );
          let advantages = batch.advantages;
          // a one-element minibatch has no std; normalising it would give NaN
          if (this.normalizeAdvantage && batch.size > 1) advantages = normalizeAdvantages(advantages);
          const logRatio = ops.sub(logProb, batch.oldLogProbs);
          const ratio = ops.exp(logRatio);
          const policyLoss =
            this.objective === "clip"
              ? clippedSurrogateLoss(ratio, advantages, clipRange)
              : klPenaltyLoss(ratio, logRatio, advantages, this.klCoef);
          const vLoss = valueLoss(values, batch.oldValues, batch.returns, clipRangeVf);
          const entropyLoss = ops.neg(ops.mean(entropy));
          // with no entropy bonus the entropy stays out of the graph (evaluateActions says why); the
          // loss's value is the same: x + 0 · H = x
          const policyTerm = entCoef === 0 ? policyLoss : ops.add(policyLoss, ops.mul(entropyLoss, entCoef));
          const loss = ops.add(policyTerm, ops.mul(vLoss, this.vfCoef));

          // diagnostics without a graph: k3 and k1 KL estimates, fraction of clipped ratios
          const { kl, klK1, clipFraction } = noGrad(() =>
            ratioDiagnostics(ratio.values, logRatio.values, clipRange),
          );
          if (this.targetKl !== null && kl > 1.5 * this.targetKl) {
            stopped = true; // SB3: stop before taking a step that would overshoot the KL target
            return;
          }
          this.optimizer.zeroGrad();
          loss.backward();
          gradNormSum += clipGradNorm(params, this.maxGradNorm);
          this.optimizer.step();

          policyLossSum += policyLoss.item();
          valueLossSum += vLoss.item();
          entropySum += -entropyLoss.item();
          lossSum += loss.item();
          klSum += kl;
          klK1Sum += klK1;
          clipFractionSum += clipFraction;
          minibatches++;
        });
        if (stopped) break;
      }
      if (!stopped) epochsDone++;
    }
    const meanKl = minibatches > 0 ? klSum / minibatches : 0;
    const stats: UpdateStats = {
      "train/policyLoss": policyLossSum / Math.max(minibatches, 1),
      "train/valueLoss": valueLossSum / Math.max(minibatches, 1),
      "train/entropy": entropySum / Math.max(minibatches, 1),
      "train/loss": lossSum / Math.max(minibatches, 1),
      "train/approxKl": meanKl,
      "train/approxKlK1": klK1Sum / Math.max(minibatches, 1),
      "train/clipFraction": clipFractionSum / Math.max(minibatches, 1),
      "train/gradNorm": gradNormSum / Math.max(minibatches, 1),
      "train/explainedVariance": explainedVariance(this.buffer.values, this.buffer.returns),
      "train/learningRate": lr,
      "train/clipRange": clipRange,
      "train/epochs": epochsDone,
    };
    if (clipRangeVf !== null) stats["train/clipRangeVf"] = clipRangeVf;
    if (this.objective === "klPenalty") {
      stats["train/klCoef"] = this.klCoef;
      this.klCoef = adaptKlCoef(this.klCoef, meanKl, this.klTarget);
    }
    return stats;
  }

  /** Rebuild a PPO model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<PPO> {
    return loadAlgorithm((env, opts) => new PPO(env, opts as PPOOptions), source, options);
  }

  override trainingState(): Record<string, unknown> {
    return { ...super.trainingState(), klCoef: this.klCoef };
  }

  override restoreTrainingState(state: Record<string, unknown>): void {
    super.restoreTrainingState(state);
    if (typeof state.klCoef === "number") this.klCoef = state.klCoef;
  }
}
