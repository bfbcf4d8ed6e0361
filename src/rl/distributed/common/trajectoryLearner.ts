import { lookup } from "../../../envs/registry.js";
import { ProximalError } from "../../../errors.js";
import { noGrad } from "../../../tensor/tensor.js";
import type { EnvInput, LearnOptions, OnPolicyOptions, UpdateStats } from "../../common/onPolicyAlgorithm.js";
import { checkInteger, OnPolicyAlgorithm, yieldToEventLoop } from "../../common/onPolicyAlgorithm.js";
import { ActorCriticPolicy } from "../../common/policies.js";
import { InProcessActors } from "./inProcessActors.js";
import { openLearnerRun } from "./learnerRun.js";
import { splitByPolicyLag } from "./policyLag.js";
import { checkRunId, redisConnectionOptions } from "./redisTransport.js";
import type { RunSpec } from "./remoteActor.js";
import { RemoteTrajectories } from "./remoteTrajectories.js";
import { StepEnd, type Trajectory } from "./trajectoryMessage.js";
import { encodeWeights } from "./weightsMessage.js";

/** The options every trajectory learner (IMPALA, distributed PPO) shares: where its actors are. */
export interface TrajectoryLearnerOptions {
  /** In-process actors, used when `distributed` is null (see {@link InProcessActors}). @defaultValue 4 */
  numActors?: number;
  /**
   * The server actors and learner meet on, `redis://host:6379` (or `rediss://` for TLS); credentials
   * and TLS files from `PROXIMAL_REDIS_*` environment variables, never in the URL. null trains with
   * in-process actors. @defaultValue null
   */
  distributed?: string | null;
  /** With `distributed`: fail when no trajectory arrived for this many seconds. @defaultValue 120 */
  idleTimeoutSeconds?: number;
}

/** The defaults an on-policy algorithm gives its base class. */
type OnPolicyDefaults = Required<
  Omit<OnPolicyOptions, "policy" | "numEnvs" | "seed" | "statsWindowSize" | "intrinsicReward">
>;

/** Where the learner's trajectories come from: in-process actors, or a transport. */
interface TrajectorySource {
  next(count: number, version: number): Promise<{ trajectories: Trajectory[]; ids: string[] }>;
  /** After an update: publish the weights of `version`, acknowledge what was used. */
  afterUpdate(version: number, ids: string[]): Promise<void>;
  stats(): Promise<UpdateStats>;
  close(): Promise<void>;
}

/**
 * The learner side of an actor-learner algorithm fed with whole trajectories (IMPALA, PPO with a
 * bound on policy lag): takes `trajectoriesPerUpdate` trajectories, from {@link InProcessActors}
 * (deterministic per seed) or from remote actors through the run's Redis stream, drops those more
 * than `maxPolicyLag` updates old ({@link splitByPolicyLag}), lets the subclass's `train()` take one
 * update on {@link batch}, then publishes its weights and acknowledges the trajectories it used.
 */
export abstract class TrajectoryLearner extends OnPolicyAlgorithm {
  abstract override readonly options: OnPolicyOptions & TrajectoryLearnerOptions;
  readonly numActors: number;
  readonly runId: string;
  /** Drop (and count) trajectories more than this many updates old; null keeps all. */
  readonly maxPolicyLag: number | null;
  protected readonly envId: string | null;
  /** The trajectories of the update in progress (what `train()` reads). */
  protected batch: Trajectory[] = [];

  protected constructor(
    env: EnvInput,
    options: OnPolicyOptions & TrajectoryLearnerOptions,
    defaults: OnPolicyDefaults,
    learner: { runId: string | undefined; defaultRunId: string; maxPolicyLag: number | null },
  ) {
    super(env, options, defaults);
    this.numActors = options.numActors ?? 4;
    checkInteger(this.numActors, "numActors", 1);
    this.maxPolicyLag = learner.maxPolicyLag;
    if (this.maxPolicyLag !== null) checkInteger(this.maxPolicyLag, "maxPolicyLag", 0);
    this.runId = checkRunId(learner.runId ?? learner.defaultRunId);
    // check the URL now, before a caller logs it or saves it with the options (it must hold no secret)
    if (options.distributed != null) redisConnectionOptions(options.distributed, {});
    this.envId = typeof env === "string" ? env : (this.env.id ?? null);
    if ((options.distributed ?? null) === null && this.numActors > 1 && this.envId === null) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${this.numActors} in-process actors need an env id to make their envs from; give the env as a registered id (e.g. "CartPole-v1") or set numActors: 1.`,
      );
    }
  }

  /** Trajectories per update. */
  abstract get trajectoriesPerUpdate(): number;

  /**
   * Train until `totalTimesteps` environment steps have arrived from the actors in the trajectories
   * used (stale ones dropped by `maxPolicyLag` do not count); one update per
   * `trajectoriesPerUpdate` trajectories.
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
        const { trajectories, ids } = await source.next(this.trajectoriesPerUpdate, this.iteration);
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

  /**
   * r_t, plus γ·V(final observation) on truncated steps (truncation is not termination). `rewards`
   * replaces the trajectory's own (a copy the caller preprocessed, in the critic's units); it is
   * written to.
   */
  protected bootstrappedRewards(t: Trajectory, rewards: Float32Array = t.rewards.slice()): Float32Array {
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

  /** V(x) of `batch` observations under the learner's current critic (no gradient). */
  protected valuesOf(observations: Float32Array, batch: number): Float32Array {
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
    let droppedStale = 0;
    const lags: number[] = [];
    return {
      next: async (count, version) => {
        const trajectories: Trajectory[] = [];
        while (trajectories.length < count) {
          const {
            kept,
            stale,
            lags: keptLags,
          } = splitByPolicyLag([actors.next(version)], (t) => t.policyVersion, version, this.maxPolicyLag);
          trajectories.push(...kept);
          lags.push(...keptLags);
          droppedStale += stale.length;
        }
        return { trajectories, ids: [] };
      },
      afterUpdate: async () => {},
      stats: async () => {
        const used = lags.splice(0);
        return {
          "distributed/policyLag": used.length === 0 ? 0 : used.reduce((a, b) => a + b, 0) / used.length,
          "distributed/maxPolicyLag": used.length === 0 ? 0 : Math.max(...used),
          "distributed/droppedStale": droppedStale,
        };
      },
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
      // two updates' worth waiting: the learner never starves, and the data is at most ~2 updates stale
      maxQueueDepth: 2 * this.trajectoriesPerUpdate,
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
        maxPolicyLag: this.maxPolicyLag,
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
}
