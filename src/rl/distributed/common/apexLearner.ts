/**
 * The learner side of an Ape-X algorithm (Horgan et al. 2018, arXiv:1803.00933, Algorithm 2),
 * shared by `ApexDQN` and `ApexD4PG`: where the transitions come from (in-process actors or the
 * run's Redis stream), and the loop that adds each message to the prioritised replay with the
 * actors' priorities, takes one gradient step per `trainFreq` transitions received once
 * `learningStarts` are stored, and publishes the weights every `publishInterval` steps.
 */
import { lookup } from "../../../envs/registry.js";
import type { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import { ProximalError } from "../../../errors.js";
import type { Rng } from "../../../random/rng.js";
import type { LearnOptions, UpdateStats } from "../../common/onPolicyAlgorithm.js";
import { checkInteger, yieldToEventLoop } from "../../common/onPolicyAlgorithm.js";
import type { PrioritizedReplayBuffer } from "../../replay/prioritizedReplayBuffer.js";
import { InProcessActors } from "./inProcessActors.js";
import { InProcessTransitionActors } from "./inProcessTransitionActors.js";
import { openLearnerRun } from "./learnerRun.js";
import { checkRunId, redisConnectionOptions } from "./redisTransport.js";
import type { RunSpec } from "./remoteActor.js";
import { RemoteMessages } from "./remoteTrajectories.js";
import type { TransitionActing } from "./transitionCollector.js";
import {
  decodeTransitions,
  type TransitionExpectation,
  type TransitionMessage,
} from "./transitionMessage.js";
import type { PublishedWeights } from "./transport.js";

/** Where the learner's transitions come from: in-process actors, or a transport. */
export interface TransitionSource {
  /** The next messages (at least one), with the ids to acknowledge once they are in the replay buffer. */
  next(version: number): Promise<{ messages: TransitionMessage[]; ids: string[] }>;
  publish(weights: PublishedWeights): Promise<void>;
  ack(ids: string[]): Promise<void>;
  stats(): Promise<UpdateStats>;
  close(): Promise<void>;
}

/** What {@link inProcessTransitionSource} reads of the learner. */
export interface InProcessApexLearner {
  readonly envId: string | null;
  readonly env: VectorRecordEpisodeStatistics;
  readonly numActors: number;
  readonly seed: number;
  readonly rng: Rng;
  readonly stepsPerMessage: number;
  readonly nStep: number;
  readonly gamma: number;
  readonly runId: string;
}

/**
 * Transitions from `learner.numActors` in-process actors ({@link InProcessTransitionActors}: actor 0
 * steps the learner's env, the others envs made from its id), one round (a message per actor) at a
 * time, acting with the last published weights; `createActing` builds actor k of n's way of acting.
 */
export function inProcessTransitionSource(
  learner: InProcessApexLearner,
  createActing: (k: number, numActors: number) => TransitionActing,
): TransitionSource {
  const actors = new InProcessTransitionActors({
    envs: InProcessActors.makeEnvs(
      learner.envId ?? "",
      learner.numActors,
      learner.env.numEnvs,
      learner.seed,
      learner.env,
    ),
    createActing,
    rng: learner.rng,
    stepsPerMessage: learner.stepsPerMessage,
    nStep: learner.nStep,
    gamma: learner.gamma,
    runId: learner.runId,
    seed: learner.seed,
  });
  let published: PublishedWeights | null = null;
  return {
    next: async () => ({ messages: actors.round(published as PublishedWeights, learner.runId), ids: [] }),
    publish: async (weights) => {
      published = weights;
    },
    ack: async () => {},
    stats: async () => ({}),
    close: async () => {},
  };
}

/** What {@link remoteTransitionSource} needs of the learner. */
export interface RemoteTransitionOptions {
  url: string;
  runId: string;
  /** A fresh learner first discards what an earlier learner of the run left queued. */
  fresh: boolean;
  /** The run's description for the actors (env, sizes, how to act). */
  spec: RunSpec;
  expectation: TransitionExpectation;
  numActors: number;
  maxPolicyLag: number | null;
  idleTimeoutSeconds: number;
}

/** Transitions from the run's queue, validated by `decodeTransitions`. */
export async function remoteTransitionSource(options: RemoteTransitionOptions): Promise<TransitionSource> {
  const transport = await openLearnerRun(options.url, options.runId, options.spec, options.fresh);
  const remote = new RemoteMessages(
    transport,
    (bytes) => decodeTransitions(bytes, options.expectation),
    options.runId,
    { maxPolicyLag: options.maxPolicyLag, idleTimeoutMs: 1000 * options.idleTimeoutSeconds },
    "transition",
  );
  return {
    next: async (version) => {
      // wait for one message, then take whatever else is already queued (up to two per actor)
      const first = await remote.next(1, version);
      const rest = await remote.take(2 * options.numActors, version, 1);
      return { messages: [...first.messages, ...rest.messages], ids: [...first.ids, ...rest.ids] };
    },
    publish: (weights) => transport.putWeights(weights),
    ack: (ids) => remote.ack(ids),
    stats: () => remote.stats(),
    close: () => transport.close(),
  };
}

/** The run description's fields every Ape-X learner fills the same way. */
export function apexRunSpec(
  algorithm: string,
  envId: string,
  sizes: { numEnvs: number; stepsPerMessage: number; numActors: number },
): Omit<RunSpec, "apex" | "apexD4pg"> {
  return {
    algorithm,
    envId,
    envModule: lookup(envId).moduleUrl ?? null,
    numEnvs: sizes.numEnvs,
    nSteps: sizes.stepsPerMessage,
    policy: {},
    // a few messages per actor waiting: the learner never starves, the data stays fresh
    maxQueueDepth: 2 * sizes.numActors,
  };
}

/** What the loop reads and advances on the algorithm (its public counters and settings). */
export interface ApexLearnerState {
  readonly algorithmName: string;
  numTimesteps: number;
  iteration: number;
  readonly nUpdates: number;
  readonly learningStarts: number;
  readonly batchSize: number;
  readonly trainFreq: number;
  readonly publishInterval: number;
  episodeStats(): UpdateStats;
}

/** What the loop asks of the algorithm beyond its public state (closures over its protected parts). */
export interface ApexLearnerHooks {
  replay: PrioritizedReplayBuffer;
  /** Set the fraction of the planned timesteps still ahead (for schedules). */
  setProgressRemaining(remaining: number): void;
  recordEpisode(episode: { return: number; length: number }): void;
  /** One gradient step (and whatever target update follows it); its `train/...` statistics. */
  gradientStep(): UpdateStats;
  /** The weights actors load, as version `version`. */
  weights(version: number): PublishedWeights;
  /** The fix a non-finite loss message suggests. */
  lossHint: string;
}

/**
 * Train until `totalTimesteps` transitions have arrived from the actors: add each message to the
 * replay buffer with its actor-computed priorities, then one gradient step per `trainFreq`
 * transitions once `learningStarts` transitions are stored; publish the weights every
 * `publishInterval` steps. Closes the source when done.
 *
 * Timing differs from the paper's asynchronous learner, on purpose: a fixed replay ratio (gradient
 * steps per transition received), so the same budget means the same number of updates whether the
 * actors are in process or remote.
 */
export async function runApexLearner(
  host: ApexLearnerState,
  hooks: ApexLearnerHooks,
  /** Opens the source; `fresh` (nothing learned yet: not a resume) discards an earlier learner's leftovers. */
  openSource: (fresh: boolean) => TransitionSource | Promise<TransitionSource>,
  options: LearnOptions,
): Promise<void> {
  const { totalTimesteps } = options;
  checkInteger(totalTimesteps, "totalTimesteps", 1);
  if (options.resetNumTimesteps ?? true) {
    host.numTimesteps = 0;
    host.iteration = 0;
  }
  const source = await openSource(host.numTimesteps === 0);
  const replay = hooks.replay;
  const start = performance.now();
  const startTimesteps = host.numTimesteps;
  let owed = 0; // transitions received that no gradient step has paid for yet
  let version = host.nUpdates;
  try {
    await source.publish(hooks.weights(version));
    while (host.numTimesteps < totalTimesteps) {
      const waitStart = performance.now();
      const { messages, ids } = await source.next(version);
      const waitSeconds = (performance.now() - waitStart) / 1000;
      for (const m of messages) {
        if (m.count > 0) replay.updatePriorities(replay.add(m.batch), m.priorities);
        host.numTimesteps += m.count;
        owed += m.count;
        m.episodeReturns.forEach((r, i) => {
          hooks.recordEpisode({ return: r, length: m.episodeLengths[i] });
        });
      }
      await source.ack(ids);
      hooks.setProgressRemaining(Math.max(0, 1 - host.numTimesteps / totalTimesteps));
      const trainStart = performance.now();
      let trainStats: UpdateStats = {};
      let steps = 0;
      if (host.numTimesteps >= host.learningStarts && replay.size >= host.batchSize) {
        steps = Math.floor(owed / host.trainFreq);
        owed -= steps * host.trainFreq;
        for (let s = 0; s < steps; s++) {
          trainStats = hooks.gradientStep();
          if (host.nUpdates % host.publishInterval === 0) {
            version = host.nUpdates;
            await source.publish(hooks.weights(version));
          }
        }
      } else owed = 0; // before learning starts nothing is owed (as DQN's learningStarts)
      const trainSeconds = (performance.now() - trainStart) / 1000;
      host.iteration++;
      const elapsed = (performance.now() - start) / 1000;
      const loss = trainStats["train/loss"];
      if (loss !== undefined && !Number.isFinite(loss)) {
        throw new ProximalError(
          "NUMERICAL_ERROR",
          `${host.algorithmName}: the loss became ${loss} at update ${host.nUpdates}. ${hooks.lossHint}`,
        );
      }
      const stats: UpdateStats = {
        "time/iteration": host.iteration,
        "time/timesteps": host.numTimesteps,
        "time/elapsedSeconds": elapsed,
        "time/stepsPerSecond": (host.numTimesteps - startTimesteps) / Math.max(elapsed, 1e-9),
        "time/waitSeconds": waitSeconds,
        "time/trainSeconds": trainSeconds,
        ...host.episodeStats(),
        "train/nUpdates": host.nUpdates,
        "train/stepsThisIteration": steps,
        ...trainStats,
        ...(await source.stats()),
      };
      if (options.onUpdate !== undefined && (await options.onUpdate(stats)) === false) break;
      await yieldToEventLoop();
    }
  } finally {
    await source.close();
  }
}

/**
 * The options every Ape-X learner shares (`ApexDQNOptions` and `ApexD4PGOptions` add their own,
 * with their run id and publication interval).
 */
export interface ApexActorOptions {
  /** In-process actors when `distributed` is null; with `distributed`, the actors the learner plans for. @defaultValue 4 */
  numActors?: number;
  /** Vector-env steps per actor message (Ape-X's local buffer of 50). @defaultValue 50 */
  stepsPerMessage?: number;
  /** Publish the learner's weights every this many gradient steps. */
  publishInterval?: number;
  /** Drop (and count) messages collected with weights more than this many updates old; null keeps all. @defaultValue null */
  maxPolicyLag?: number | null;
  /**
   * The server actors and learner meet on, `redis://host:6379` (or `rediss://`); credentials and TLS
   * files from `PROXIMAL_REDIS_*`, never in the URL. null: in-process actors. @defaultValue null
   */
  distributed?: string | null;
  /** Run id shared by the learner and its actors (`proximal actor --run <id>`). */
  runId?: string;
  /** With `distributed`: fail when no message arrived for this many seconds. @defaultValue 120 */
  idleTimeoutSeconds?: number;
}

/** {@link ApexActorOptions} resolved and checked, with the env id actors make their envs from. */
export interface ApexSettings {
  numActors: number;
  stepsPerMessage: number;
  publishInterval: number;
  runId: string;
  envId: string | null;
}

/**
 * Resolve and check an Ape-X learner's shared options: counts, run id, a URL without credentials
 * (checked before a caller logs it or saves it with the options), one gradient step per
 * `trainFreq` transitions, and an env id wherever actors must make their own envs.
 */
export function resolveApexOptions(
  options: ApexActorOptions,
  learner: {
    algorithm: string;
    /** The env as given to the constructor, and the id of the env the learner made. */
    env: unknown;
    madeEnvId: string | null;
    gradientSteps: number;
    defaultRunId: string;
    defaultPublishInterval: number;
  },
): ApexSettings {
  const settings = {
    numActors: options.numActors ?? 4,
    stepsPerMessage: options.stepsPerMessage ?? 50,
    publishInterval: options.publishInterval ?? learner.defaultPublishInterval,
    runId: checkRunId(options.runId ?? learner.defaultRunId),
    envId: typeof learner.env === "string" ? learner.env : learner.madeEnvId,
  };
  checkInteger(settings.numActors, "numActors", 1);
  checkInteger(settings.stepsPerMessage, "stepsPerMessage", 1);
  checkInteger(settings.publishInterval, "publishInterval", 1);
  if (options.maxPolicyLag != null) checkInteger(options.maxPolicyLag, "maxPolicyLag", 0);
  if (learner.gradientSteps !== 1) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${learner.algorithm} sets its replay ratio with trainFreq (transitions per gradient step); gradientSteps must stay 1, got ${learner.gradientSteps}.`,
    );
  }
  if (options.distributed != null) redisConnectionOptions(options.distributed, {});
  if (settings.envId === null && ((options.distributed ?? null) !== null || settings.numActors > 1)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${learner.algorithm}'s actors make their envs from an env id: give the env as a registered id (e.g. "CartPole-v1"), or numActors: 1 without distributed.`,
    );
  }
  return settings;
}
