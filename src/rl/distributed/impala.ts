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
 *   `queueDepth`, `rejected` and `dropped`. Not deterministic: arrival order depends on timing.
 *
 * Defaults follow the paper's Table G.1 where it applies to small control tasks (unroll length 20,
 * RMSprop with decay 0.99 and momentum 0, entropy cost 0.01, baseline cost 0.5, gradient-norm clip
 * 40, ρ̄ = c̄ = 1); the learning rate 6e-4 is the paper's Atari value. Rollout bookkeeping, `save`,
 * `load` and `predict` come from {@link OnPolicyAlgorithm}; this file holds the loss and the learner
 * loop.
 */

import { lookup } from "../../envs/registry.js";
import { ProximalError } from "../../errors.js";
import type { ModelSource } from "../../io/modelFiles.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import { RMSprop } from "../../optim/rmsprop.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { explainedVariance } from "../common/gae.js";
import type {
  EnvInput,
  LearnOptions,
  LoadOptions,
  OnPolicyOptions,
  UpdateStats,
} from "../common/onPolicyAlgorithm.js";
import {
  checkInteger,
  loadAlgorithm,
  OnPolicyAlgorithm,
  yieldToEventLoop,
} from "../common/onPolicyAlgorithm.js";
import { ActorCriticPolicy } from "../common/policies.js";
import type { ScheduleLike } from "../common/scheduleSpec.js";
import { InProcessActors } from "./common/inProcessActors.js";
import { openLearnerRun } from "./common/learnerRun.js";
import { checkRunId, redisConnectionOptions } from "./common/redisTransport.js";
import type { RunSpec } from "./common/remoteActor.js";
import { RemoteTrajectories } from "./common/remoteTrajectories.js";
import { StepEnd, type Trajectory } from "./common/trajectoryMessage.js";
import { computeVtrace } from "./common/vtrace.js";
import { encodeWeights } from "./common/weightsMessage.js";

/**
 * Options of {@link IMPALA}: {@link OnPolicyOptions} without GAE's `gaeLambda`, `normalizeAdvantage`
 * (V-trace gives the advantages) and `intrinsicReward` (not wired into V-trace), with IMPALA's own
 * defaults (paper, Table G.1) for the ones it redeclares. `numEnvs` is the envs of each actor.
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
  > {
  /** RMSprop learning rate, or a schedule of progress remaining (1 → 0). @defaultValue 6e-4 (paper, Atari) */
  learningRate?: ScheduleLike;
  /** Unroll length: steps per env in one trajectory. @defaultValue 20 (paper, Table G.1) */
  nSteps?: number;
  /** Entropy cost. @defaultValue 0.01 (paper, Table G.1) */
  entCoef?: number;
  /** Global gradient-norm clip; Infinity disables it. @defaultValue 40 (paper, Table G.1) */
  maxGradNorm?: number;
  /** Trajectories per update (the paper's batch size). @defaultValue 4 */
  batchSize?: number;
  /** In-process actors, used when `distributed` is null (see the class comment). @defaultValue 4 */
  numActors?: number;
  /** ρ̄ of V-trace: the truncation of the importance weights. @defaultValue 1 (paper §5) */
  rhoBar?: number;
  /** c̄ of V-trace: the truncation of the traces. @defaultValue 1 (paper §5) */
  cBar?: number;
  /** Drop (and count) trajectories more than this many updates old; null keeps all (V-trace corrects them). @defaultValue null */
  maxPolicyLag?: number | null;
  /**
   * The server actors and learner meet on, `redis://host:6379` (or `rediss://` for TLS); credentials
   * from `PROXIMAL_REDIS_USERNAME` / `PROXIMAL_REDIS_PASSWORD`, never in the URL. null trains with
   * in-process actors. @defaultValue null
   */
  distributed?: string | null;
  /** Run id shared by the learner and its actors (`proximal actor --run <id>`). @defaultValue "impala" */
  runId?: string;
  /** With `distributed`: fail when no trajectory arrived for this many seconds. @defaultValue 120 */
  idleTimeoutSeconds?: number;
  /** RMSprop decay. @defaultValue 0.99 (paper, Table G.1) */
  rmsPropAlpha?: number;
  /** RMSprop epsilon. @defaultValue 1e-5 (SB3's A2C; the paper's 0.01 is for Atari's reward scale) */
  rmsPropEps?: number;
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

/** Where the learner's trajectories come from: in-process actors, or a transport. */
interface TrajectorySource {
  next(count: number, version: number): Promise<{ trajectories: Trajectory[]; ids: string[] }>;
  /** After an update: publish the weights of `version`, acknowledge what was used. */
  afterUpdate(version: number, ids: string[]): Promise<void>;
  stats(): Promise<UpdateStats>;
  close(): Promise<void>;
}

/**
 * IMPALA with the paper's defaults.
 *
 * @example
 * const model = new IMPALA("CartPole-v1", { numActors: 4, seed: 1 });
 * await model.learn({ totalTimesteps: 200_000 });
 */
export class IMPALA extends OnPolicyAlgorithm {
  readonly algorithmName: string = "IMPALA";
  readonly options: IMPALAOptions;
  protected readonly optimizer: RMSprop;
  readonly batchSize: number;
  readonly numActors: number;
  readonly rhoBar: number;
  readonly cBar: number;
  readonly runId: string;
  private readonly envId: string | null;
  /** The trajectories of the update in progress (what {@link train} reads). */
  private batch: Trajectory[] = [];

  constructor(env: EnvInput, options: IMPALAOptions = {}) {
    super(env, options, {
      learningRate: 6e-4,
      nSteps: 20,
      gamma: 0.99,
      gaeLambda: 1,
      entCoef: 0.01,
      vfCoef: 0.5,
      maxGradNorm: 40,
      normalizeAdvantage: false,
    });
    this.options = options;
    for (const name of ["gaeLambda", "normalizeAdvantage", "intrinsicReward"] as const) {
      if ((options as OnPolicyOptions)[name] !== undefined) {
        throw new ProximalError(
          "INVALID_OPTION",
          `IMPALA does not take ${name}: V-trace computes its own targets and advantages. Remove the option.`,
        );
      }
    }
    this.batchSize = options.batchSize ?? 4;
    checkInteger(this.batchSize, "batchSize", 1);
    this.numActors = options.numActors ?? 4;
    checkInteger(this.numActors, "numActors", 1);
    this.rhoBar = options.rhoBar ?? 1;
    this.cBar = options.cBar ?? 1;
    for (const [name, value] of [
      ["rhoBar", this.rhoBar],
      ["cBar", this.cBar],
    ] as const) {
      if (!(value > 0))
        throw new ProximalError("INVALID_OPTION", `${name} must be > 0 (the paper uses 1), got ${value}.`);
    }
    const maxLag = options.maxPolicyLag ?? null;
    if (maxLag !== null) checkInteger(maxLag, "maxPolicyLag", 0);
    this.runId = checkRunId(options.runId ?? "impala");
    // check the URL now, before a caller logs it or saves it with the options (it must hold no secret)
    if (options.distributed != null) redisConnectionOptions(options.distributed, {});
    this.envId = typeof env === "string" ? env : (this.env.id ?? null);
    if ((options.distributed ?? null) === null && this.numActors > 1 && this.envId === null) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${this.numActors} in-process actors need an env id to make their envs from; give the env as a registered id (e.g. "CartPole-v1") or set numActors: 1.`,
      );
    }
    this.optimizer = new RMSprop(this.policy.parameters(), {
      lr: this.learningRate(1),
      alpha: options.rmsPropAlpha ?? 0.99,
      eps: options.rmsPropEps ?? 1e-5,
    });
  }

  /**
   * Train until `totalTimesteps` environment steps have arrived from the actors (dropped trajectories
   * count: they were stepped); one update per `batchSize` trajectories.
   */
  override async learn(options: LearnOptions): Promise<this> {
    const { totalTimesteps } = options;
    checkInteger(totalTimesteps, "totalTimesteps", 1);
    if (options.resetNumTimesteps ?? true) {
      this.numTimesteps = 0;
      this.iteration = 0;
    }
    // a fresh run (not a resume: nothing learned yet) must not train on what an earlier learner of
    // its run id left queued
    const fresh = this.numTimesteps === 0;
    const source =
      this.options.distributed == null
        ? this.inProcessSource()
        : await this.remoteSource(this.options.distributed, fresh);
    const start = performance.now();
    const startTimesteps = this.numTimesteps;
    try {
      await source.afterUpdate(this.iteration, []);
      while (this.numTimesteps < totalTimesteps) {
        const waitStart = performance.now();
        const { trajectories, ids } = await source.next(this.batchSize, this.iteration);
        const waitSeconds = (performance.now() - waitStart) / 1000;
        for (const t of trajectories) {
          this.numTimesteps += t.nSteps * t.numEnvs;
          t.episodeReturns.forEach((r, i) => {
            this.recordEpisode({ return: r, length: t.episodeLengths[i] });
          });
        }
        this.batch = trajectories;
        this.progressRemaining = Math.max(0, 1 - this.numTimesteps / totalTimesteps);
        const trainStart = performance.now();
        const trainStats = this.train();
        const trainSeconds = (performance.now() - trainStart) / 1000;
        this.iteration++;
        await source.afterUpdate(this.iteration, ids);
        this.checkFiniteLoss(trainStats);
        const stats: UpdateStats = {
          ...this.timeStats(start, startTimesteps),
          "time/waitSeconds": waitSeconds,
          "time/trainSeconds": trainSeconds,
          ...this.episodeStats(),
          ...trainStats,
          ...(await source.stats()),
        };
        if (options.onUpdate !== undefined && (await options.onUpdate(stats)) === false) break;
        await yieldToEventLoop();
      }
    } finally {
      this.batch = [];
      await source.close();
    }
    return this;
  }

  /** One V-trace update on {@link batch}. */
  protected train(): UpdateStats {
    const lr = this.updateLearningRate();
    const policy = this.policy;
    const obsSize = policy.observationSize;
    const rows = this.batch.reduce((n, t) => n + t.nSteps * t.numEnvs, 0);
    const observations = new Float32Array(rows * obsSize);
    const actions =
      policy.action.kind === "box"
        ? new Float32Array(rows * policy.actionWidth)
        : new Int32Array(rows * policy.actionWidth);
    let row = 0;
    for (const t of this.batch) {
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
    for (const t of this.batch) {
      const n = t.nSteps * t.numEnvs;
      const out = computeVtrace({
        behaviourLogProbs: t.behaviourLogProbs,
        targetLogProbs: logProb.values.subarray(row, row + n),
        rewards: this.bootstrappedRewards(t),
        values: values.values.subarray(row, row + n),
        dones: t.ends.map((e) => (e === StepEnd.running ? 0 : 1)),
        bootstrapValues: this.valuesOf(t.nextObservations, t.numEnvs),
        numEnvs: t.numEnvs,
        gamma: this.gamma,
        rhoBar: this.rhoBar,
        cBar: this.cBar,
      });
      vs.set(out.vs, row);
      pgAdvantages.set(out.pgAdvantages, row);
      for (const ratio of out.ratios) if (ratio > this.rhoBar) clippedRatios++;
      row += n;
    }
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
    };
  }

  /** r_t, plus γ·V(final observation) on truncated steps (truncation is not termination). */
  private bootstrappedRewards(t: Trajectory): Float32Array {
    const rewards = t.rewards.slice();
    const truncated: number[] = [];
    t.ends.forEach((e, i) => {
      if (e === StepEnd.truncated) truncated.push(i);
    });
    if (truncated.length === 0) return rewards;
    const finals = this.valuesOf(t.finalObservations, truncated.length);
    truncated.forEach((i, j) => {
      rewards[i] += this.gamma * finals[j];
    });
    return rewards;
  }

  private valuesOf(observations: Float32Array, batch: number): Float32Array {
    return noGrad(() => this.policy.predictValues(this.policy.observationTensor(observations, batch)).values);
  }

  private inProcessSource(): TrajectorySource {
    const numEnvs = this.env.numEnvs;
    const actors = new InProcessActors(this.policy, {
      envs: InProcessActors.makeEnvs(this.envId ?? "", this.numActors, numEnvs, this.seed, this.env),
      createPolicy: () => this.newPolicyLikeLearner(),
      rng: this.rng,
      nSteps: this.nSteps,
      runId: this.runId,
      seed: this.seed,
    });
    return {
      next: async (count, version) => ({
        trajectories: Array.from({ length: count }, () => actors.next(version)),
        ids: [],
      }),
      afterUpdate: async () => {},
      stats: async () => ({}),
      close: async () => {},
    };
  }

  /** Trajectories from the run's queue; a `fresh` learner first discards what an earlier learner of the run left there. */
  private async remoteSource(url: string, fresh: boolean): Promise<TrajectorySource> {
    if (this.envId === null) {
      throw new ProximalError(
        "INVALID_OPTION",
        'distributed actors make their envs from an id: give the env as a registered id (e.g. "CartPole-v1").',
      );
    }
    const policy = this.policy;
    const spec: RunSpec = {
      algorithm: this.algorithmName,
      envId: this.envId,
      envModule: lookup(this.envId).moduleUrl ?? null,
      numEnvs: this.env.numEnvs,
      nSteps: this.nSteps,
      policy: policy.options,
      // two batches waiting: the learner never starves, and the data is at most ~2 updates stale
      maxQueueDepth: 2 * this.batchSize,
    };
    const transport = await openLearnerRun(url, this.runId, spec, fresh);
    const remote = new RemoteTrajectories(
      transport,
      {
        runId: this.runId,
        observationSize: policy.observationSize,
        actionWidth: policy.actionWidth,
        discreteActions: policy.action.kind === "discrete" ? policy.action.n : null,
      },
      {
        maxPolicyLag: this.options.maxPolicyLag ?? null,
        idleTimeoutMs: 1000 * (this.options.idleTimeoutSeconds ?? 120),
      },
    );
    return {
      next: async (count, version) => {
        const { messages, ids } = await remote.next(count, version);
        return { trajectories: messages, ids };
      },
      afterUpdate: async (version, ids) => {
        await transport.putWeights({ version, data: encodeWeights(policy, { runId: this.runId, version }) });
        await remote.ack(ids);
      },
      stats: () => remote.stats(),
      close: () => transport.close(),
    };
  }

  /** A network with the learner's architecture (for the in-process actors' copies). */
  private newPolicyLikeLearner(): ActorCriticPolicy {
    return new ActorCriticPolicy(
      this.env.singleObservationSpace,
      this.env.singleActionSpace,
      this.rng.spawn(),
      this.options.policy,
    );
  }

  /** Rebuild an IMPALA model saved with `save(target)`. */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<IMPALA> {
    return loadAlgorithm((env, opts) => new IMPALA(env, opts as IMPALAOptions), source, options);
  }
}
