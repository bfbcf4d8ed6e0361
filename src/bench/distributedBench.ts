/**
 * `proximal bench distributed`: IMPALA's throughput across processes through Redis Streams, on a
 * throwaway redis-server this suite starts (append-only file, fsync every second, as README
 * "Across machines" recommends).
 *
 * - `runs`: environment steps per second reaching the learner with 1 and 4 actor processes on
 *   `CartPoleSlow-v1` (CartPole-v1 plus a 1 ms blocking wait per step, a slow simulator), so actors,
 *   not cores, bound the rate; the target is ≥ 3.5x from 1 to 4 actors.
 * - `plain`: the same on plain CartPole-v1, where stepping is nearly free and the rate is bound by
 *   the actors' network forward passes, serialisation and the learner's updates.
 * - `bytesPerTransition`: message bytes per environment step of a trajectory of the default unroll
 *   (20 steps) and of 128 steps.
 * - `perMessage`: the broker costs behind the projection to 100 actors in README: publishing one
 *   128-step CartPole trajectory (awaited, one at a time) and consuming plus acknowledging one
 *   (batches of 64), in milliseconds.
 *
 * Each run measures the steps that reach the learner between `warmup` and `warmup + window`
 * seconds after it starts (8 s windows; 2 s with --quick). Speed figures only, never asserted.
 */

import { spawnLocalActors } from "../cli/actor.js";
import { ProximalError } from "../errors.js";
import { startRedisServer } from "../rl/distributed/common/localRedisServer.js";
import { RedisTransport } from "../rl/distributed/common/redisTransport.js";
import { encodeTrajectory, StepEnd, type Trajectory } from "../rl/distributed/common/trajectoryMessage.js";
import { IMPALA } from "../rl/distributed/impala.js";
import { SLOW_CART_POLE } from "./slowCartPole.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** A CartPole-shaped trajectory of `nSteps` steps (the sizes are what matter here). */
function cartPoleTrajectory(nSteps: number): Trajectory {
  return {
    runId: "bench",
    actorId: "bench-actor",
    policyVersion: 0,
    numEnvs: 1,
    nSteps,
    observationSize: 4,
    actionWidth: 1,
    observations: new Float32Array(nSteps * 4).fill(0.1),
    actions: new Int32Array(nSteps),
    rewards: new Float32Array(nSteps).fill(1),
    ends: new Uint8Array(nSteps).fill(StepEnd.running),
    behaviourLogProbs: new Float32Array(nSteps).fill(-0.69),
    finalObservations: new Float32Array(0),
    nextObservations: new Float32Array(4),
    episodeReturns: [],
    episodeLengths: [],
  };
}

async function perMessageCosts(
  url: string,
  count: number,
): Promise<{ publishMs: number; consumeAckMs: number }> {
  const actor = await RedisTransport.connect(url, { runId: "bench-messages", role: "actor" });
  const learner = await RedisTransport.connect(url, { runId: "bench-messages", role: "learner" });
  try {
    const message = encodeTrajectory(cartPoleTrajectory(128));
    let start = performance.now();
    for (let i = 0; i < count; i++) await actor.publish(message);
    const publishMs = (performance.now() - start) / count;
    start = performance.now();
    let received = 0;
    while (received < count) {
      const batch = await learner.consume(64, 1000);
      if (batch.length === 0)
        throw new ProximalError("INTERNAL", "bench distributed: the published messages did not come back");
      await learner.ack(batch.map((m) => m.id));
      received += batch.length;
    }
    return { publishMs, consumeAckMs: (performance.now() - start) / count };
  } finally {
    await Promise.all([actor.close(), learner.close()]);
  }
}

async function stepsPerSecond(
  url: string,
  envId: string,
  actors: number,
  warmup: number,
  window: number,
): Promise<number> {
  const runId = `bench-${envId}-${actors}`;
  const model = new IMPALA(envId, { distributed: url, runId, seed: 0, idleTimeoutSeconds: 60 });
  const children = spawnLocalActors(actors, { url, runId, seed: 0 });
  try {
    const started = performance.now();
    let mark: { time: number; steps: number } | null = null;
    let rate = 0;
    await model.learn({
      totalTimesteps: Number.MAX_SAFE_INTEGER,
      onUpdate: (stats) => {
        const seconds = (performance.now() - started) / 1000;
        // count only once every actor has joined, so process start-up is not in the figure
        if (mark === null && seconds >= warmup && stats["distributed/actors"] >= actors) {
          mark = { time: performance.now(), steps: model.numTimesteps };
        }
        if (mark !== null && performance.now() - mark.time >= window * 1000) {
          rate = (model.numTimesteps - mark.steps) / ((performance.now() - mark.time) / 1000);
          return false;
        }
        return true;
      },
    });
    return rate;
  } finally {
    await children.stop();
  }
}

export async function run(options: BenchOptions): Promise<void> {
  const warmup = options.quick ? 1 : 3;
  const window = options.quick ? 2 : 8;
  const server = await startRedisServer({ fsync: "everysec" });
  try {
    const perMessage = await perMessageCosts(server.url, options.quick ? 300 : 3000);
    const runs: { actors: number; stepsPerSecond: number }[] = [];
    const plain: { actors: number; stepsPerSecond: number }[] = [];
    for (const actors of [1, 4]) {
      runs.push({
        actors,
        stepsPerSecond: await stepsPerSecond(server.url, SLOW_CART_POLE, actors, warmup, window),
      });
    }
    for (const actors of [1, 4]) {
      plain.push({
        actors,
        stepsPerSecond: await stepsPerSecond(server.url, "CartPole-v1", actors, warmup, window),
      });
    }
    const bytes = (n: number) => encodeTrajectory(cartPoleTrajectory(n)).length / n;
    const result = {
      transport: "redis-streams",
      runs,
      plain,
      speedup: runs[1].stepsPerSecond / runs[0].stepsPerSecond,
      bytesPerTransition: bytes(20),
      bytesPerTransition128: bytes(128),
      perMessage,
      env: SLOW_CART_POLE,
      windowSeconds: window,
    };
    if (options.json) {
      console.log(JSON.stringify(result));
      return;
    }
    printTable([
      ...runs.map((r) => ({ env: SLOW_CART_POLE, actors: r.actors, stepsPerSecond: r.stepsPerSecond })),
      ...plain.map((r) => ({ env: "CartPole-v1", actors: r.actors, stepsPerSecond: r.stepsPerSecond })),
    ]);
    console.log(
      `4 vs 1 actors on ${SLOW_CART_POLE}: ${result.speedup.toFixed(2)}x; ${result.bytesPerTransition.toFixed(1)} bytes per transition (20-step trajectories), ${result.bytesPerTransition128.toFixed(1)} (128); per 128-step message: publish ${perMessage.publishMs.toFixed(3)} ms, consume+ack ${perMessage.consumeAckMs.toFixed(3)} ms`,
    );
  } finally {
    await server.stop();
  }
}
