// Test helpers for the distributed learners: remote actors run in the test's own process (each with
// its own connection, as `proximal actor` has), and small hand-made messages.
import type { LearnOptions, UpdateStats } from "../../common/onPolicyAlgorithm.js";
import { RedisTransport } from "./redisTransport.js";
import { runRemoteActor } from "./remoteActor.js";
import { StepEnd, type Trajectory } from "./trajectoryMessage.js";
import type { TransitionMessage } from "./transitionMessage.js";

/** Actors of `runId`, one per seed (actor id `actor-<seed>`, ε-ladder index `seed − 1`), until `stop()`. */
export function startInProcessActors(
  url: string,
  runId: string,
  seeds: number[],
): { versions: number[]; stop(): Promise<{ trajectories: number }[]> } {
  const abort = new AbortController();
  const versions: number[] = [];
  const actors = seeds.map(async (seed) => {
    const transport = await RedisTransport.connect(url, { runId, role: "actor" });
    try {
      return await runRemoteActor(transport, {
        runId,
        actorId: `actor-${seed}`,
        seed,
        actorIndex: seed - 1,
        signal: abort.signal,
        onTrajectory: ({ version }) => void versions.push(version),
      });
    } finally {
      await transport.close();
    }
  });
  return {
    versions,
    stop: () => {
      abort.abort();
      return Promise.all(actors);
    },
  };
}

/** A valid one-step trajectory of a 4-number observation and Discrete action (CartPole's sizes). */
export function oneStepTrajectory(runId: string, policyVersion: number, actorId = "x"): Trajectory {
  return {
    runId,
    actorId,
    policyVersion,
    numEnvs: 1,
    nSteps: 1,
    observationSize: 4,
    actionWidth: 1,
    observations: new Float32Array(4),
    actions: Int32Array.of(1),
    rewards: Float32Array.of(1),
    ends: Uint8Array.of(StepEnd.running),
    behaviourLogProbs: Float32Array.of(-0.7),
    finalObservations: new Float32Array(0),
    nextObservations: new Float32Array(4),
    episodeReturns: [],
    episodeLengths: [],
  };
}

/** One transition with a Discrete action (int32 0) and observations of `observationSize` zeros. */
export function oneDiscreteTransition(runId: string, observationSize: number): TransitionMessage {
  return {
    runId,
    actorId: "x",
    policyVersion: 0,
    count: 1,
    observationSize,
    actionWidth: 1,
    batch: {
      observations: new Float32Array(observationSize),
      nextObservations: new Float32Array(observationSize),
      actions: new Int32Array(1),
      rewards: new Float32Array(1),
      terminated: new Uint8Array(1),
      truncated: new Uint8Array(1),
      steps: Int32Array.from([1]),
    },
    priorities: new Float32Array(1),
    episodeReturns: [],
    episodeLengths: [],
  };
}

/**
 * Train a distributed learner of `runId` for `totalTimesteps` beside in-process actors (seeds 1
 * and 2), publishing `intrusions` on the run's queue once, after update `injectAt`; the last
 * update's statistics, and what the actors did.
 */
export async function learnBesideActors(
  model: { learn(options: LearnOptions): Promise<unknown> },
  url: string,
  runId: string,
  options: { totalTimesteps: number; intrusions: Uint8Array[]; injectAt?: number },
): Promise<{ last: UpdateStats; injected: boolean; actors: { trajectories: number }[]; versions: number[] }> {
  const actors = startInProcessActors(url, runId, [1, 2]);
  const intruder = await RedisTransport.connect(url, { runId, role: "actor" });
  let last: UpdateStats = {};
  let injected = false;
  try {
    await model.learn({
      totalTimesteps: options.totalTimesteps,
      onUpdate: async (stats) => {
        last = stats;
        if (!injected && stats["time/iteration"] >= (options.injectAt ?? 1)) {
          injected = true;
          for (const message of options.intrusions) await intruder.publish(message);
        }
      },
    });
  } finally {
    await intruder.close();
  }
  return { last, injected, actors: await actors.stop(), versions: actors.versions };
}
