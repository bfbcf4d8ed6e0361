import { make } from "../../../envs/make.js";
import { registry } from "../../../envs/registry.js";
import { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import { ProximalError } from "../../../errors.js";
import type { Module } from "../../../nn/module.js";
import { Rng } from "../../../random/rng.js";
import { ActionNoise, type ActionNoiseOptions } from "../../common/actionNoise.js";
import { continuousActionSpace } from "../../common/deterministicActorCritic.js";
import {
  DistributionalActorCriticPolicy,
  type DistributionalPolicyOptions,
} from "../../common/distributionalActorCritic.js";
import { ActorCriticPolicy, type PolicyOptions } from "../../common/policies.js";
import { QPolicy, type QPolicyOptions } from "../../common/qPolicy.js";
import { apexD4pgActing } from "./apexD4pgActing.js";
import { apexDqnActing, apexEpsilon } from "./apexExploration.js";
import { TrajectoryCollector } from "./trajectoryCollector.js";
import { encodeTrajectory } from "./trajectoryMessage.js";
import { type TransitionActing, TransitionCollector } from "./transitionCollector.js";
import { encodeTransitions } from "./transitionMessage.js";
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
  /** The actor-critic network of an IMPALA run; `{}` for Ape-X, whose Q-network is described in `apex`. */
  policy: PolicyOptions;
  /** Actors pause while more messages than this wait for the learner (bounds the policy lag). */
  maxQueueDepth: number;
  /** Present for an Ape-X DQN run: actors send n-step transitions instead of trajectories (`nSteps` is then the steps per message). */
  apex?: ApexRunSpec;
  /** Present for an Ape-X D4PG run: actors send n-step transitions of Box actions (`nSteps` is then the steps per message). */
  apexD4pg?: ApexD4PGRunSpec;
}

/** What an Ape-X D4PG actor needs to build its networks and act ({@link apexD4pgActing}). */
export interface ApexD4PGRunSpec {
  /** The learner's resolved network options (hidden layers, activation, atoms, vMin, vMax). */
  policy: DistributionalPolicyOptions;
  /** Every actor's exploration noise (null: greedy). */
  actionNoise: ActionNoiseOptions | null;
  nStep: number;
  gamma: number;
}

/** What an Ape-X actor needs to build its Q-network and act ({@link TransitionCollector}). */
export interface ApexRunSpec {
  qPolicy: QPolicyOptions;
  dueling: boolean;
  /** C51's support when the Q-network is categorical; null or absent: scalar Q-values. */
  distributional?: { atoms: number; vMin: number; vMax: number } | null;
  nStep: number;
  gamma: number;
  /** ε and α of the actors' ε ladder ({@link apexEpsilon}) over `numActors` actors. */
  epsilon: number;
  epsilonAlpha: number;
  numActors: number;
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
  /**
   * Place of this actor on an Ape-X run's ε ladder ({@link apexEpsilon}), taken modulo the run's
   * `numActors`. @defaultValue the seed
   */
  actorIndex?: number | null;
  /** Called after every published message (progress, tests). */
  onTrajectory?: (info: { count: number; version: number; episodeReturns: number[] }) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A remote actor: read the run's description and the latest weights, step the envs with them for
 * `nSteps`, publish the result, refresh the weights if the learner published newer ones, repeat. For
 * IMPALA (Espeholt et al. 2018, §3) the result is a trajectory with the behaviour log-probabilities;
 * for Ape-X (Horgan et al. 2018, Algorithm 1) the n-step transitions completed in those steps with
 * their initial priorities. An actor that joins late starts
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
  const actor =
    spec.apex !== undefined
      ? transitionActor(spec, apexDqnActorActing(spec.apex, env, rng, options), spec.apex, env, rng, options)
      : spec.apexD4pg !== undefined
        ? transitionActor(
            spec,
            apexD4pgActorActing(spec.apexD4pg, env, rng),
            spec.apexD4pg,
            env,
            rng,
            options,
          )
        : impalaActor(spec, env, rng, options);
  let loaded = -1;
  let count = 0;
  try {
    while (!options.signal?.aborted && (options.maxTrajectories == null || count < options.maxTrajectories)) {
      const latest = await transport.weightsVersion();
      if (latest !== null && latest !== loaded) {
        const weights = await transport.getWeights();
        if (weights !== null) loaded = loadWeights(actor.network, weights.data, options.runId);
      }
      // a slow learner is not flooded with ever staler data: wait while its queue is full
      if ((await transport.queueDepth()) >= spec.maxQueueDepth) {
        await sleep(20);
        continue;
      }
      const { bytes, episodeReturns } = actor.collect(loaded);
      await transport.publish(bytes);
      count++;
      options.onTrajectory?.({ count, version: loaded, episodeReturns });
    }
  } finally {
    env.close();
  }
  return { trajectories: count };
}

/** One kind of actor: the network the learner's weights load into, and one message's worth of stepping. */
interface ActorLoop {
  network: Module;
  collect(version: number): { bytes: Uint8Array; episodeReturns: number[] };
}

/** An IMPALA actor: trajectories with the behaviour log-probabilities. */
function impalaActor(
  spec: RunSpec,
  env: VectorRecordEpisodeStatistics,
  rng: Rng,
  options: RemoteActorOptions,
): ActorLoop {
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
  return {
    network: policy,
    collect: (version) => {
      const trajectory = collector.collect(version);
      return { bytes: encodeTrajectory(trajectory), episodeReturns: trajectory.episodeReturns };
    },
  };
}

/** An Ape-X DQN actor's way of acting: ε-greedy with the ε of its place on the ladder. */
function apexDqnActorActing(
  apex: ApexRunSpec,
  env: VectorRecordEpisodeStatistics,
  rng: Rng,
  options: RemoteActorOptions,
): TransitionActing {
  const n = apex.numActors;
  // more actors than the ladder has rungs share them round-robin
  const index = (((options.actorIndex ?? options.seed) % n) + n) % n;
  const policy = new QPolicy(env.singleObservationSpace, env.singleActionSpace, rng.spawn(), apex.qPolicy, {
    dueling: apex.dueling,
    ...(apex.distributional ?? {}),
  });
  return apexDqnActing(
    policy,
    apexEpsilon(index, apex.numActors, apex.epsilon, apex.epsilonAlpha),
    apex.gamma,
  );
}

/** An Ape-X D4PG actor's way of acting: the deterministic actor plus the run's noise. */
function apexD4pgActorActing(
  apex: ApexD4PGRunSpec,
  env: VectorRecordEpisodeStatistics,
  rng: Rng,
): TransitionActing {
  const box = continuousActionSpace(env.singleActionSpace, "ApexD4PG");
  const policy = new DistributionalActorCriticPolicy(
    env.singleObservationSpace,
    box,
    rng.spawn(),
    apex.policy,
    apex.policy,
    [],
  );
  const noise = apex.actionNoise === null ? null : new ActionNoise(apex.actionNoise, env.numEnvs, box.size);
  return apexD4pgActing(policy, noise, box, apex.gamma);
}

/** An Ape-X actor: n-step transitions with the priorities its way of acting gives them. */
function transitionActor(
  spec: RunSpec,
  acting: TransitionActing,
  apex: { nStep: number; gamma: number },
  env: VectorRecordEpisodeStatistics,
  rng: Rng,
  options: RemoteActorOptions,
): ActorLoop {
  const collector = new TransitionCollector(env, acting, rng, {
    nStep: apex.nStep,
    gamma: apex.gamma,
    stepsPerMessage: spec.nSteps,
    runId: options.runId,
    actorId: options.actorId,
    seed: options.seed,
  });
  return {
    network: acting.network,
    collect: (version) => {
      const message = collector.collect(version);
      return { bytes: encodeTransitions(message), episodeReturns: message.episodeReturns };
    },
  };
}

function validApexSpec(apex: ApexRunSpec): boolean {
  return (
    typeof apex === "object" &&
    apex !== null &&
    typeof apex.qPolicy === "object" &&
    typeof apex.dueling === "boolean" &&
    (apex.distributional == null ||
      (Number.isInteger(apex.distributional.atoms) &&
        apex.distributional.atoms > 1 &&
        apex.distributional.vMin < apex.distributional.vMax)) &&
    Number.isInteger(apex.nStep) &&
    Number.isInteger(apex.numActors) &&
    [apex.gamma, apex.epsilon, apex.epsilonAlpha].every((x) => typeof x === "number" && Number.isFinite(x))
  );
}

function validApexD4pgSpec(apex: ApexD4PGRunSpec): boolean {
  const p = apex?.policy;
  return (
    typeof apex === "object" &&
    apex !== null &&
    typeof p === "object" &&
    p !== null &&
    Array.isArray(p.netArch) &&
    p.netArch.every((h) => Number.isInteger(h) && h > 0) &&
    Number.isInteger(p.atoms) &&
    p.atoms > 1 &&
    [p.vMin, p.vMax, apex.gamma].every((x) => typeof x === "number" && Number.isFinite(x)) &&
    p.vMin < p.vMax &&
    Number.isInteger(apex.nStep) &&
    (apex.actionNoise === null || typeof apex.actionNoise === "object")
  );
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
    typeof spec.policy !== "object" ||
    (spec.apex !== undefined && !validApexSpec(spec.apex)) ||
    (spec.apexD4pg !== undefined && !validApexD4pgSpec(spec.apexD4pg))
  ) {
    throw new ProximalError(
      "MALFORMED_MESSAGE",
      "the run's description (envId, numEnvs, nSteps, maxQueueDepth, policy) published by the learner is malformed: actor and learner come from different proximal versions, or something else wrote the run's keys.",
    );
  }
  return spec as RunSpec;
}
