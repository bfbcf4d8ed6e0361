/**
 * PPO with a bound on policy lag (issue 18): Proximal Policy Optimization (Schulman et al. 2017,
 * https://arxiv.org/abs/1707.06347) fed by actors that act with a copy of the policy lagging the
 * learner's. Each trajectory carries the version of the weights its actor acted with; the learner
 * drops (and counts, `distributed/droppedStale`) the trajectories more than `maxPolicyLag` updates
 * old, and trains PPO's clipped surrogate (eq. 7) on the rest:
 * ```
 * A_t, R_t  = GAE(γ, λ) with the learner's critic (Schulman et al. 2016, eq. 16)
 * r_t(θ)    = π_θ(a_t|x_t) / μ(a_t|x_t)          μ: the behaviour policy, version ≥ V − maxPolicyLag
 * L         = -E[min(r A, clip(r, 1-ε, 1+ε) A)] + vfCoef · E[(R - V)²] - entCoef · E[H[π]]
 * ```
 * π_old of the paper is the behaviour policy μ: its log-probabilities come with the trajectory, so
 * the ratio is exact whatever the lag. What the bound buys is that μ stays within a few updates of
 * π_θ, where the clipped ratio's trust region is meaningful (IMPALA corrects for any lag with V-trace
 * instead). The advantages use the learner's current critic, since actors do not send values.
 *
 * Where the trajectories come from ({@link TrajectoryLearner}): `numActors` in-process actors
 * (deterministic per seed) or, with `distributed: "redis://host:6379"`, `proximal actor` processes
 * anywhere (they run the same trajectory loop as IMPALA's actors). Defaults are SB3's PPO ones,
 * except the unroll length (128 steps per env per trajectory, as CleanRL's `ppo.py`).
 */

import { ProximalError } from "../../errors.js";
import type { ModelSource } from "../../io/modelFiles.js";
import { Adam } from "../../optim/adam.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import type { Schedule } from "../../optim/schedules.js";
import * as ops from "../../tensor/ops.js";
import { noGrad } from "../../tensor/tensor.js";
import { computeGae, explainedVariance } from "../common/gae.js";
import type { EnvInput, LoadOptions, OnPolicyOptions, UpdateStats } from "../common/onPolicyAlgorithm.js";
import { checkInteger, loadAlgorithm } from "../common/onPolicyAlgorithm.js";
import {
  clippedSurrogateLoss,
  normalizeAdvantages,
  ratioDiagnostics,
  valueLoss,
} from "../common/ppoLosses.js";
import { RolloutBuffer } from "../common/rolloutBuffer.js";
import type { ScheduleLike } from "../common/scheduleSpec.js";
import { resolveSchedule } from "../common/scheduleSpec.js";
import { TrajectoryLearner, type TrajectoryLearnerOptions } from "./common/trajectoryLearner.js";
import { StepEnd } from "./common/trajectoryMessage.js";

/**
 * Options of {@link DistributedPPO}: {@link OnPolicyOptions} (without `intrinsicReward`, which is
 * not wired to remote actors) plus the actors' ({@link TrajectoryLearnerOptions}) and PPO's own.
 * `numEnvs` is the envs of each actor; `nSteps` the steps per env of one trajectory.
 */
export interface DistributedPPOOptions
  extends Omit<OnPolicyOptions, "intrinsicReward">,
    TrajectoryLearnerOptions {
  /** Trajectories per update (its rollout is `trajectoriesPerUpdate · nSteps · numEnvs` steps). @defaultValue 4 */
  trajectoriesPerUpdate?: number;
  /** Minibatch size. @defaultValue 64 (SB3) */
  batchSize?: number;
  /** Passes over each update's trajectories. @defaultValue 10 (SB3) */
  nEpochs?: number;
  /** Clip range ε of the probability ratio (eq. 7). @defaultValue 0.2 */
  clipRange?: ScheduleLike;
  /** Clip range of the value function around the old values (SB3). @defaultValue null (no clipping) */
  clipRangeVf?: ScheduleLike | null;
  /**
   * Drop (and count) trajectories collected with weights more than this many updates old; null keeps
   * all. @defaultValue 2 (actors pause while two updates' worth of trajectories wait, so a lag above
   * 2 means a slow actor)
   */
  maxPolicyLag?: number | null;
  /** Run id shared by the learner and its actors (`proximal actor --run <id>`). @defaultValue "ppo" */
  runId?: string;
}

/**
 * PPO with a bound on policy lag (see this file's header).
 *
 * @example
 * const model = new DistributedPPO("CartPole-v1", { numActors: 4, numEnvs: 2, seed: 1 });
 * await model.learn({ totalTimesteps: 100_000 });
 */
export class DistributedPPO extends TrajectoryLearner {
  readonly algorithmName: string = "DistributedPPO";
  readonly options: DistributedPPOOptions;
  protected readonly optimizer: Adam;
  readonly batchSize: number;
  readonly nEpochs: number;
  private readonly updateSize: number;
  private readonly trajectoryCount: number;
  private readonly clipRange: Schedule;
  private readonly clipRangeVf: Schedule | null;

  constructor(env: EnvInput, options: DistributedPPOOptions = {}) {
    super(
      env,
      options,
      {
        learningRate: 3e-4,
        nSteps: 128,
        gamma: 0.99,
        gaeLambda: 0.95,
        entCoef: 0,
        vfCoef: 0.5,
        maxGradNorm: 0.5,
        normalizeAdvantage: true,
      },
      {
        runId: options.runId,
        defaultRunId: "ppo",
        maxPolicyLag: options.maxPolicyLag === undefined ? 2 : options.maxPolicyLag,
      },
    );
    if ((options as OnPolicyOptions).intrinsicReward !== undefined) {
      throw new ProximalError(
        "INVALID_OPTION",
        "DistributedPPO does not take intrinsicReward (remote actors do not compute it). Remove the option or use PPO.",
      );
    }
    this.options = options;
    this.trajectoryCount = options.trajectoriesPerUpdate ?? 4;
    checkInteger(this.trajectoryCount, "trajectoriesPerUpdate", 1);
    this.batchSize = options.batchSize ?? 64;
    checkInteger(this.batchSize, "batchSize", 1);
    this.nEpochs = options.nEpochs ?? 10;
    checkInteger(this.nEpochs, "nEpochs", 1);
    this.updateSize = this.trajectoryCount * this.rolloutSize;
    if (this.batchSize > this.updateSize) {
      throw new ProximalError(
        "INVALID_OPTION",
        `batchSize (${this.batchSize}) is larger than an update (trajectoriesPerUpdate * nSteps * numEnvs = ${this.trajectoryCount} * ${this.nSteps} * ${this.env.numEnvs} = ${this.updateSize}). Lower batchSize or raise nSteps.`,
      );
    }
    if (this.batchSize === 1 && this.normalizeAdvantage) {
      throw new ProximalError(
        "INVALID_OPTION",
        "batchSize 1 with normalizeAdvantage: a one-element minibatch has no standard deviation. Raise batchSize or set normalizeAdvantage false.",
      );
    }
    this.clipRange = resolveSchedule(options.clipRange ?? 0.2, "clipRange");
    this.clipRangeVf =
      options.clipRangeVf == null ? null : resolveSchedule(options.clipRangeVf, "clipRangeVf");
    const clip0 = this.clipRange(1);
    if (!(clip0 > 0)) throw new ProximalError("INVALID_OPTION", `clipRange must be > 0, got ${clip0}.`);
    // Adam with eps 1e-5, as SB3's ActorCriticPolicy and CleanRL
    this.optimizer = new Adam(this.policy.parameters(), { lr: this.learningRate(1), eps: 1e-5 });
  }

  /** Trajectories per update. */
  get trajectoriesPerUpdate(): number {
    return this.trajectoryCount;
  }

  /** `nEpochs` passes of clipped-surrogate minibatch steps over {@link batch}. */
  protected train(): UpdateStats {
    const lr = this.updateLearningRate();
    const clipRange = this.clipRange(this.progressRemaining);
    const clipRangeVf = this.clipRangeVf === null ? null : this.clipRangeVf(this.progressRemaining);
    const buffer = this.bufferOfBatch();
    const params = this.policy.parameters();
    this.policy.train();
    const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, loss: 0, kl: 0, clipFraction: 0, gradNorm: 0 };
    let minibatches = 0;
    for (let epoch = 0; epoch < this.nEpochs; epoch++) {
      for (const batch of buffer.minibatches(this.batchSize, this.rng)) {
        const { values, logProb, entropy } = this.policy.evaluateActions(batch.observations, batch.actions);
        let advantages = batch.advantages;
        // a one-element minibatch has no std; normalising it would give NaN
        if (this.normalizeAdvantage && batch.size > 1) advantages = normalizeAdvantages(advantages);
        const logRatio = ops.sub(logProb, batch.oldLogProbs); // log π_θ − log μ
        const ratio = ops.exp(logRatio);
        const policyLoss = clippedSurrogateLoss(ratio, advantages, clipRange);
        const vLoss = valueLoss(values, batch.oldValues, batch.returns, clipRangeVf);
        const entropyLoss = ops.neg(ops.mean(entropy));
        const loss = ops.add(
          ops.add(policyLoss, ops.mul(entropyLoss, this.entCoef)),
          ops.mul(vLoss, this.vfCoef),
        );
        const { kl, clipFraction } = noGrad(() => ratioDiagnostics(ratio.values, logRatio.values, clipRange));
        this.optimizer.zeroGrad();
        loss.backward();
        sums.gradNorm += clipGradNorm(params, this.maxGradNorm);
        this.optimizer.step();
        sums.policyLoss += policyLoss.item();
        sums.valueLoss += vLoss.item();
        sums.entropy += -entropyLoss.item();
        sums.loss += loss.item();
        sums.kl += kl;
        sums.clipFraction += clipFraction;
        minibatches++;
      }
    }
    const mean = (x: number) => x / Math.max(minibatches, 1);
    const stats: UpdateStats = {
      "train/policyLoss": mean(sums.policyLoss),
      "train/valueLoss": mean(sums.valueLoss),
      "train/entropy": mean(sums.entropy),
      "train/loss": mean(sums.loss),
      "train/approxKl": mean(sums.kl),
      "train/clipFraction": mean(sums.clipFraction),
      "train/gradNorm": mean(sums.gradNorm),
      "train/explainedVariance": explainedVariance(buffer.values, buffer.returns),
      "train/learningRate": lr,
      "train/clipRange": clipRange,
    };
    if (clipRangeVf !== null) stats["train/clipRangeVf"] = clipRangeVf;
    return stats;
  }

  /**
   * The update's trajectories as one rollout buffer (one row per step, `numEnvs` 1, so trajectories
   * of any size fit): the behaviour log-probabilities as π_old, the learner's values, and GAE
   * computed per trajectory with truncated episodes bootstrapped from their final observation.
   */
  private bufferOfBatch(): RolloutBuffer {
    const policy = this.policy;
    const obsSize = policy.observationSize;
    const width = policy.actionWidth;
    const rows = this.batch.reduce((n, t) => n + t.nSteps * t.numEnvs, 0);
    const buffer = new RolloutBuffer(
      rows,
      1,
      obsSize,
      width,
      policy.action.kind === "box" ? "float32" : "int32",
    );
    let row = 0;
    for (const t of this.batch) {
      const n = t.nSteps * t.numEnvs;
      const values = this.valuesOf(t.observations, n);
      const { advantages, returns } = computeGae({
        rewards: this.bootstrappedRewards(t),
        values,
        dones: t.ends.map((e) => (e === StepEnd.running ? 0 : 1)),
        lastValues: this.valuesOf(t.nextObservations, t.numEnvs),
        numEnvs: t.numEnvs,
        gamma: this.gamma,
        gaeLambda: this.gaeLambda,
      });
      buffer.observations.set(t.observations, row * obsSize);
      buffer.actions.set(t.actions, row * width);
      buffer.values.set(values, row);
      buffer.logProbs.set(t.behaviourLogProbs, row);
      buffer.advantages.set(advantages, row);
      buffer.returns.set(returns, row);
      row += n;
    }
    return buffer;
  }

  /** Rebuild a DistributedPPO model saved with `save(target)`. */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<DistributedPPO> {
    return loadAlgorithm(
      (env, opts) => new DistributedPPO(env, opts as DistributedPPOOptions),
      source,
      options,
    );
  }
}
