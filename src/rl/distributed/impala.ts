/**
 * IMPALA, the Importance Weighted Actor-Learner Architecture (Espeholt et al. 2018,
 * https://arxiv.org/abs/1802.01561): actors step envs with a copy of the policy that lags the
 * learner's, and send whole trajectories with the behaviour log-probabilities log μ(a|x); the
 * learner corrects for the lag with V-trace ({@link computeVtrace}, eq. 1) and takes one gradient
 * step per batch of trajectories:
 * ```
 * v_s, A_s  = V-trace targets and policy-gradient advantages (§4.2), ρ̄ = c̄ = 1
 * L_policy  = -mean(A_s · log π(a_s|x_s))               (A_s constant: no gradient into the critic)
 * L_value   = mean((v_s - V(x_s))²)                     (v_s constant)
 * L_entropy = -mean(H[π(·|x_s)])
 * L         = L_policy + vfCoef · L_value + entCoef · L_entropy
 * ```
 *
 * Where the trajectories come from:
 * - `distributed: null` (default): {@link InProcessActors}, `numActors` actors stepping in turn in
 *   this process with weights copied at the start of each round, so trajectories arrive with a lag of
 *   0 to numActors − 1 updates, deterministically per seed (the learning tests use this path);
 * - `distributed: "redis://host:6379"`: actors anywhere (`proximal actor --connect <url> --run <id>`)
 *   publish to the run's Redis stream ({@link RedisTransport}); the learner publishes its weights
 *   and the run's description after every update, and logs `distributed/actors`, `policyLag`,
 *   `queueDepth`, `rejected` and `droppedStale`. Not deterministic: arrival order depends on timing.
 *
 * Defaults follow the paper's Table G.1 where it applies to small control tasks (unroll length 20,
 * RMSprop with decay 0.99 and momentum 0, entropy cost 0.01, baseline cost 0.5, gradient-norm clip
 * 40, ρ̄ = c̄ = 1); the learning rate 6e-4 is the paper's Atari value. The learner loop (actors,
 * transport, policy-lag bound) comes from {@link TrajectoryLearner}, `save`, `load` and `predict`
 * from `OnPolicyAlgorithm`; this file holds the loss and the update.
 */

import { ProximalError } from "../../errors.js";
import type { ModelSource } from "../../io/modelFiles.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import { RMSprop } from "../../optim/rmsprop.js";
import { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import { explainedVariance, normalizeInPlace } from "../common/gae.js";
import type { EnvInput, LoadOptions, OnPolicyOptions, UpdateStats } from "../common/onPolicyAlgorithm.js";
import { checkInteger, loadAlgorithm } from "../common/onPolicyAlgorithm.js";
import type { ScheduleLike } from "../common/scheduleSpec.js";
import { TrajectoryLearner, type TrajectoryLearnerOptions } from "./common/trajectoryLearner.js";
import { StepEnd, type Trajectory } from "./common/trajectoryMessage.js";
import { computeVtrace } from "./common/vtrace.js";

/**
 * Options of {@link IMPALA}: {@link OnPolicyOptions} without GAE's `gaeLambda` (V-trace gives the
 * advantages) and `intrinsicReward` (not wired into V-trace), with IMPALA's own defaults (paper,
 * Table G.1) for the ones it redeclares. `numEnvs` is the envs of each actor.
 */
export interface IMPALAOptions
  extends Omit<
      OnPolicyOptions,
      | "gaeLambda"
      | "normalizeAdvantage"
      | "intrinsicReward"
      | "learningRate"
      | "nSteps"
      | "entCoef"
      | "maxGradNorm"
    >,
    TrajectoryLearnerOptions {
  /** RMSprop learning rate, or a schedule of progress remaining (1 → 0). @defaultValue 6e-4 (paper, Atari) */
  learningRate?: ScheduleLike;
  /** Unroll length: steps per env in one trajectory. @defaultValue 20 (paper, Table G.1) */
  nSteps?: number;
  /** Entropy cost, or a schedule of progress remaining (1 → 0). @defaultValue 0.01 (paper, Table G.1) */
  entCoef?: ScheduleLike;
  /** Global gradient-norm clip; Infinity disables it. @defaultValue 40 (paper, Table G.1) */
  maxGradNorm?: number;
  /** Trajectories per update (the paper's batch size). @defaultValue 4 */
  batchSize?: number;
  /** ρ̄ of V-trace: the truncation of the importance weights. @defaultValue 1 (paper §5) */
  rhoBar?: number;
  /** c̄ of V-trace: the truncation of the traces. @defaultValue 1 (paper §5) */
  cBar?: number;
  /**
   * λ of V-trace's traces, `c_i = λ·min(c̄, π/μ)` (paper §4.2, Remark 2): below 1 it shortens the
   * targets' effective horizon, trading bias for variance as GAE's λ does. @defaultValue 1 (paper)
   */
  vtraceLambda?: number;
  /** Drop (and count) trajectories more than this many updates old; null keeps all (V-trace corrects them). @defaultValue null */
  maxPolicyLag?: number | null;
  /** Run id shared by the learner and its actors (`proximal actor --run <id>`). @defaultValue "impala" */
  runId?: string;
  /** RMSprop decay. @defaultValue 0.99 (paper, Table G.1) */
  rmsPropAlpha?: number;
  /** RMSprop epsilon. @defaultValue 1e-5 (SB3's A2C; the paper's 0.01 is for Atari's reward scale) */
  rmsPropEps?: number;
  /**
   * The learner trains on `clip(rewardScale · r, −rewardClip, rewardClip)` ({@link preprocessRewards});
   * episode statistics stay in the env's units. Rescaling keeps the critic's targets near 1 so the
   * value loss does not dominate the clipped gradient norm. @defaultValue 1
   */
  rewardScale?: number;
  /**
   * Normalise the V-trace policy-gradient advantages of each batch to mean 0 and std 1, as PPO does
   * (SB3's `normalize_advantage`); not in the paper. It fixes the advantages' scale against the
   * entropy cost whatever the rewards' scale. @defaultValue false (paper)
   */
  normalizeAdvantage?: boolean;
  /**
   * Replayed trajectories added to each update's batch, drawn uniformly (with replacement) from the
   * last `replayCapacity` trajectories the learner trained on; V-trace corrects for their older
   * behaviour policy. The paper evaluates V-trace with experience replay (Espeholt et al. 2018,
   * §5.2.2, Table 2); replay reuses each trajectory, as PPO's epochs do. 0 turns it off.
   * @defaultValue 0 (paper's main runs)
   */
  replayBatch?: number;
  /** Trajectories the replay keeps (oldest dropped first); used when `replayBatch` > 0. @defaultValue 1000 */
  replayCapacity?: number;
  /** Clip the scaled rewards to ±this (the paper clips Atari's to ±1, §5.3); Infinity: no clip. @defaultValue Infinity */
  rewardClip?: number;
}

/**
 * IMPALA's reward preprocessing: `clip(scale · r, −clip, clip)` per step, into a new array. The
 * paper clips Atari rewards to [−1, 1] (Espeholt et al. 2018, §5.3, "reward clipping"); a scale
 * alone keeps the sign and the ordering of returns on envs whose rewards carry the task's shaping
 * (LunarLander's ±100 landing and crash), which clipping would flatten.
 */
export function preprocessRewards(rewards: Float32Array, scale: number, clip: number): Float32Array {
  const out = new Float32Array(rewards.length);
  for (let i = 0; i < rewards.length; i++) out[i] = Math.min(clip, Math.max(-clip, scale * rewards[i]));
  return out;
}

/** Inputs of {@link impalaLoss}, one row per step of the batch. */
export interface ImpalaLossInputs {
  logProb: Tensor; // [batch], log π(a|x), with gradient
  values: Tensor; // [batch], V(x), with gradient
  entropy: Tensor; // [batch]
  pgAdvantages: Tensor; // [batch], V-trace policy-gradient advantages (constants)
  vs: Tensor; // [batch], V-trace targets (constants)
  entCoef: number;
  vfCoef: number;
}

/** IMPALA's loss (Espeholt et al. 2018, §4.2): the V-trace actor-critic update as one scalar, and its parts. */
export function impalaLoss(inputs: ImpalaLossInputs): {
  loss: Tensor;
  policyLoss: Tensor;
  valueLoss: Tensor;
  entropyLoss: Tensor;
} {
  const policyLoss = ops.neg(ops.mean(ops.mul(inputs.logProb, inputs.pgAdvantages)));
  const valueLoss = ops.mean(ops.square(ops.sub(inputs.vs, inputs.values)));
  const entropyLoss = ops.neg(ops.mean(inputs.entropy));
  const loss = ops.add(
    ops.add(policyLoss, ops.mul(valueLoss, inputs.vfCoef)),
    ops.mul(entropyLoss, inputs.entCoef),
  );
  return { loss, policyLoss, valueLoss, entropyLoss };
}

/**
 * IMPALA with the paper's defaults.
 *
 * @example
 * const model = new IMPALA("CartPole-v1", { numActors: 4, seed: 1 });
 * await model.learn({ totalTimesteps: 200_000 });
 */
export class IMPALA extends TrajectoryLearner {
  readonly algorithmName: string = "IMPALA";
  readonly options: IMPALAOptions;
  protected readonly optimizer: RMSprop;
  readonly batchSize: number;
  readonly rhoBar: number;
  readonly cBar: number;
  readonly vtraceLambda: number;
  readonly rewardScale: number;
  readonly rewardClip: number;
  readonly replayBatch: number;
  readonly replayCapacity: number;
  /** The last `replayCapacity` trajectories trained on (a ring; not saved with the model). */
  private readonly replay: Trajectory[] = [];
  private replayNext = 0;
  /** Draws the replayed trajectories: its own stream, so replay off leaves the run's draws unchanged. */
  private readonly replayRng: Rng;

  constructor(env: EnvInput, options: IMPALAOptions = {}) {
    super(
      env,
      options,
      {
        learningRate: 6e-4,
        nSteps: 20,
        gamma: 0.99,
        gaeLambda: 1,
        entCoef: 0.01,
        vfCoef: 0.5,
        maxGradNorm: 40,
        normalizeAdvantage: false,
      },
      { runId: options.runId, defaultRunId: "impala", maxPolicyLag: options.maxPolicyLag ?? null },
    );
    this.options = options;
    for (const name of ["gaeLambda", "intrinsicReward"] as const) {
      if ((options as OnPolicyOptions)[name] !== undefined) {
        throw new ProximalError(
          "INVALID_OPTION",
          `IMPALA does not take ${name}: V-trace computes its own targets and advantages. Remove the option.`,
        );
      }
    }
    this.batchSize = options.batchSize ?? 4;
    checkInteger(this.batchSize, "batchSize", 1);
    this.rhoBar = options.rhoBar ?? 1;
    this.cBar = options.cBar ?? 1;
    for (const [name, value] of [
      ["rhoBar", this.rhoBar],
      ["cBar", this.cBar],
    ] as const) {
      if (!(value > 0))
        throw new ProximalError("INVALID_OPTION", `${name} must be > 0 (the paper uses 1), got ${value}.`);
    }
    this.vtraceLambda = options.vtraceLambda ?? 1;
    if (!(this.vtraceLambda >= 0 && this.vtraceLambda <= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `vtraceLambda must be in [0, 1] (the paper uses 1), got ${this.vtraceLambda}.`,
      );
    }
    this.rewardScale = options.rewardScale ?? 1;
    this.rewardClip = options.rewardClip ?? Number.POSITIVE_INFINITY;
    if (!(this.rewardScale > 0 && Number.isFinite(this.rewardScale)) || !(this.rewardClip > 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `rewardScale must be a finite number > 0 and rewardClip > 0 (Infinity: no clip), got ${this.rewardScale} and ${this.rewardClip}.`,
      );
    }
    this.replayBatch = options.replayBatch ?? 0;
    checkInteger(this.replayBatch, "replayBatch", 0);
    this.replayCapacity = options.replayCapacity ?? 1000;
    checkInteger(this.replayCapacity, "replayCapacity", 1);
    this.replayRng = new Rng(this.seed).spawn();
    this.optimizer = new RMSprop(this.policy.parameters(), {
      lr: this.learningRate(1),
      alpha: options.rmsPropAlpha ?? 0.99,
      eps: options.rmsPropEps ?? 1e-5,
    });
  }

  /** Trajectories per update: `batchSize`. */
  get trajectoriesPerUpdate(): number {
    return this.batchSize;
  }

  /** One V-trace update on {@link batch}, with `replayBatch` replayed trajectories. */
  protected train(): UpdateStats {
    const lr = this.updateLearningRate();
    const policy = this.policy;
    const obsSize = policy.observationSize;
    const batch = this.withReplay(this.batch);
    const rows = batch.reduce((n, t) => n + t.nSteps * t.numEnvs, 0);
    const observations = new Float32Array(rows * obsSize);
    const actions =
      policy.action.kind === "box"
        ? new Float32Array(rows * policy.actionWidth)
        : new Int32Array(rows * policy.actionWidth);
    let row = 0;
    for (const t of batch) {
      observations.set(t.observations, row * obsSize);
      actions.set(t.actions, row * policy.actionWidth);
      row += t.nSteps * t.numEnvs;
    }
    policy.train();
    const { values, logProb, entropy } = policy.evaluateActions(
      policy.observationTensor(observations, rows),
      policy.actionTensor(actions, rows),
    );
    const vs = new Float32Array(rows);
    const pgAdvantages = new Float32Array(rows);
    let clippedRatios = 0;
    row = 0;
    for (const t of batch) {
      const n = t.nSteps * t.numEnvs;
      const out = computeVtrace({
        behaviourLogProbs: t.behaviourLogProbs,
        targetLogProbs: logProb.values.subarray(row, row + n),
        rewards: this.bootstrappedRewards(t, this.learnerRewards(t.rewards)),
        values: values.values.subarray(row, row + n),
        dones: t.ends.map((e) => (e === StepEnd.running ? 0 : 1)),
        bootstrapValues: this.valuesOf(t.nextObservations, t.numEnvs),
        numEnvs: t.numEnvs,
        gamma: this.gamma,
        rhoBar: this.rhoBar,
        cBar: this.cBar,
        lambda: this.vtraceLambda,
      });
      vs.set(out.vs, row);
      pgAdvantages.set(out.pgAdvantages, row);
      for (const ratio of out.ratios) if (ratio > this.rhoBar) clippedRatios++;
      row += n;
    }
    if (this.normalizeAdvantage) normalizeInPlace(pgAdvantages);
    const parts = impalaLoss({
      logProb,
      values,
      entropy,
      pgAdvantages: new Tensor(pgAdvantages, [rows]),
      vs: new Tensor(vs, [rows]),
      entCoef: this.entCoef,
      vfCoef: this.vfCoef,
    });
    this.optimizer.zeroGrad();
    parts.loss.backward();
    const gradNorm = clipGradNorm(policy.parameters(), this.maxGradNorm);
    this.optimizer.step();
    return {
      "train/policyLoss": parts.policyLoss.item(),
      "train/valueLoss": parts.valueLoss.item(),
      "train/entropy": -parts.entropyLoss.item(),
      "train/loss": parts.loss.item(),
      "train/explainedVariance": explainedVariance(values.values, vs),
      "train/clippedRhoFraction": clippedRatios / rows,
      "train/gradNorm": gradNorm,
      "train/learningRate": lr,
      "train/entCoef": this.entCoef,
      "train/replayedTrajectories": batch.length - this.batch.length,
    };
  }

  /**
   * `fresh` plus `replayBatch` trajectories drawn from the replay (none while it is empty), then
   * `fresh` enters the replay, overwriting the oldest once it holds `replayCapacity`.
   */
  private withReplay(fresh: Trajectory[]): Trajectory[] {
    if (this.replayBatch === 0) return fresh;
    const batch = fresh.slice();
    if (this.replay.length > 0) {
      for (let i = 0; i < this.replayBatch; i++)
        batch.push(this.replay[this.replayRng.integer(this.replay.length)]);
    }
    for (const t of fresh) {
      if (this.replay.length < this.replayCapacity) this.replay.push(t);
      else this.replay[this.replayNext] = t;
      this.replayNext = (this.replayNext + 1) % this.replayCapacity;
    }
    return batch;
  }

  /** The rewards the learner trains on: a copy of the env's, preprocessed when the options ask for it. */
  private learnerRewards(rewards: Float32Array): Float32Array {
    if (this.rewardScale === 1 && this.rewardClip === Number.POSITIVE_INFINITY) return rewards.slice();
    return preprocessRewards(rewards, this.rewardScale, this.rewardClip);
  }

  /** Rebuild an IMPALA model saved with `save(target)`. */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<IMPALA> {
    return loadAlgorithm((env, opts) => new IMPALA(env, opts as IMPALAOptions), source, options);
  }
}
