import { make } from "../../../envs/make.js";
import { registry } from "../../../envs/registry.js";
import { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import { ProximalError } from "../../../errors.js";
import { Rng } from "../../../random/rng.js";
import { ActorCriticPolicy, type PolicyOptions } from "../../common/policies.js";
import { TrajectoryCollector } from "./trajectoryCollector.js";
import { encodeTrajectory } from "./trajectoryMessage.js";
import type { Transport } from "./transport.js";
import { loadWeights } from "./weightsMessage.js";

/** What a learner publishes about its run, so that `proximal actor` needs only the URL and the run id. */
export interface RunSpec {
  algorithm: string;
  envId: string;
  /**
   * URL of an ES module whose import registers `envId` (the registration's `moduleUrl`), for envs
   * that are not built in; the actor imports it first, so it must resolve on the actor's machine.
   */
  envModule: string | null;
  /** Envs per actor. */
  numEnvs: number;
  /** Steps per env per trajectory (the unroll length). */
  nSteps: number;
  policy: PolicyOptions;
  /** Actors pause while more trajectories than this wait for the learner (bounds the policy lag). */
  maxQueueDepth: number;
}

/** Options of {@link runRemoteActor}. */
export interface RemoteActorOptions {
  runId: string;
  /** Shown in the learner's actor count; unique per actor. */
  actorId: string;
  /** Seed of this actor's envs and action sampling (give each actor its own). */
  seed: number;
  /** Stop after this many trajectories (null: until `signal` aborts). @defaultValue null */
  maxTrajectories?: number | null;
  /** Aborting stops the actor after the trajectory in progress. */
  signal?: AbortSignal;
  /** Wait this long for the learner to publish the run and its weights. @defaultValue 60000 */
  waitForLearnerMs?: number;
  /** Called after every published trajectory (progress, tests). */
  onTrajectory?: (info: { count: number; version: number; episodeReturns: number[] }) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An IMPALA actor (Espeholt et al. 2018, §3): read the run's description and the latest weights,
 * step the envs with them for `nSteps`, publish the trajectory with the behaviour log-probabilities,
 * refresh the weights if the learner published newer ones, repeat. An actor that joins late starts
 * from the current weights; one that is killed loses only the trajectory it was collecting.
 */
export async function runRemoteActor(
  transport: Transport,
  options: RemoteActorOptions,
): Promise<{ trajectories: number }> {
  const waitMs = options.waitForLearnerMs ?? 60_000;
  const deadline = Date.now() + waitMs;
  let specText: string | null;
  for (;;) {
    specText = await transport.getRunSpec();
    if (specText !== null && (await transport.weightsVersion()) !== null) break;
    if (Date.now() > deadline || options.signal?.aborted) {
      throw new ProximalError(
        "TRANSPORT_UNAVAILABLE",
        `no learner published run ${JSON.stringify(options.runId)} within ${Math.round(waitMs / 1000)} s. Start the learner (proximal train impala --distributed <url> --run ${options.runId}) or check --run.`,
      );
    }
    await sleep(200);
  }
  const spec = parseRunSpec(specText);
  if (spec.envModule !== null && !registry.has(spec.envId)) await import(spec.envModule);
  const rng = new Rng(options.seed);
  const env = new VectorRecordEpisodeStatistics(
    make(spec.envId, { numEnvs: spec.numEnvs, seed: options.seed, autoresetMode: "same-step" }),
  );
  const policy = new ActorCriticPolicy(
    env.singleObservationSpace,
    env.singleActionSpace,
    rng.spawn(),
    spec.policy,
  );
  const collector = new TrajectoryCollector(
    env,
    policy,
    rng,
    spec.nSteps,
    { runId: options.runId, actorId: options.actorId },
    options.seed,
  );
  let loaded = -1;
  let count = 0;
  try {
    while (!options.signal?.aborted && (options.maxTrajectories == null || count < options.maxTrajectories)) {
      const latest = await transport.weightsVersion();
      if (latest !== null && latest !== loaded) {
        const weights = await transport.getWeights();
        if (weights !== null) loaded = loadWeights(policy, weights.data, options.runId);
      }
      // a slow learner is not flooded with ever staler data: wait while its queue is full
      if ((await transport.queueDepth()) >= spec.maxQueueDepth) {
        await sleep(20);
        continue;
      }
      const trajectory = collector.collect(loaded);
      await transport.publish(encodeTrajectory(trajectory));
      count++;
      options.onTrajectory?.({ count, version: loaded, episodeReturns: trajectory.episodeReturns });
    }
  } finally {
    env.close();
  }
  return { trajectories: count };
}

function parseRunSpec(text: string): RunSpec {
  let spec: Partial<RunSpec>;
  try {
    spec = JSON.parse(text) as Partial<RunSpec>;
  } catch {
    spec = {};
  }
  if (
    typeof spec.envId !== "string" ||
    (spec.envModule !== null && typeof spec.envModule !== "string") ||
    !Number.isInteger(spec.numEnvs) ||
    !Number.isInteger(spec.nSteps) ||
    !Number.isInteger(spec.maxQueueDepth) ||
    typeof spec.policy !== "object"
  ) {
    throw new ProximalError(
      "MALFORMED_MESSAGE",
      "the run's description (envId, numEnvs, nSteps, maxQueueDepth, policy) published by the learner is malformed: actor and learner come from different proximal versions, or something else wrote the run's keys.",
    );
  }
  return spec as RunSpec;
}
