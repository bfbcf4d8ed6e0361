import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PendulumEnv } from "../../envs/classic/pendulum.js";
import { make } from "../../envs/make.js";
import { SyncVectorEnv } from "../../envs/vector/syncVectorEnv.js";
import { VectorRecordEpisodeStatistics } from "../../envs/vector/vectorRecordEpisodeStatistics.js";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import { ActionNoise } from "../common/actionNoise.js";
import { continuousActionSpace } from "../common/deterministicActorCritic.js";
import { DistributionalActorCriticPolicy } from "../common/distributionalActorCritic.js";
import { distributionalCriticLoss } from "../common/distributionalLosses.js";
import { evaluatePolicy } from "../common/evaluation.js";
import { ApexD4PG } from "./apexD4pg.js";
import { apexD4pgActing } from "./common/apexD4pgActing.js";
import { type RedisServerHandle, startRedisServer } from "./common/localRedisServer.js";
import { learnBesideActors, oneDiscreteTransition } from "./common/remoteActors.test.util.js";
import { TransitionCollector } from "./common/transitionCollector.js";
import { decodeTransitions, encodeTransitions } from "./common/transitionMessage.js";

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

/** Small networks and warm-up, so that the plumbing tests stay cheap. */
const SMALL = {
  vMin: -1630,
  vMax: 0,
  atoms: 11,
  batchSize: 16,
  learningStarts: 60,
  stepsPerMessage: 10,
  publishInterval: 5,
  policy: { netArch: [16] },
};

describe("Ape-X D4PG actors", () => {
  test("an actor's message: scaled Box actions, and the critic's cross-entropy of its own copies as priorities; it round-trips", () => {
    const env = new VectorRecordEpisodeStatistics(
      make("Pendulum-v1", { numEnvs: 2, autoresetMode: "same-step" }),
    );
    const box = continuousActionSpace(env.singleActionSpace, "test");
    const policy = new DistributionalActorCriticPolicy(
      env.singleObservationSpace,
      box,
      new Rng(3),
      { netArch: [8] },
      { atoms: 11, vMin: -1630, vMax: 0 },
      [8],
    );
    const noise = new ActionNoise({ type: "normal", sigma: 0.3 }, 2, 1);
    const acting = apexD4pgActing(policy, noise, box, 0.9);
    const collector = new TransitionCollector(env, acting, new Rng(4), {
      nStep: 3,
      gamma: 0.9,
      stepsPerMessage: 30,
      runId: "r",
      actorId: "a",
      seed: 5,
    });
    const m = collector.collect(2);
    // 2 envs × 30 steps, minus at most n − 1 = 2 steps per env still in the n-step window
    assert.ok(m.count >= 56 && m.count <= 60, `count ${m.count}`);
    assert.ok(m.batch.actions instanceof Float32Array);
    assert.equal(m.actionWidth, 1);
    assert.ok(m.batch.actions.every((a) => a >= -1 && a <= 1));
    // the noise explores: not every action is μ(s)
    const mu = policy.actions(m.batch.observations, m.count);
    assert.ok(m.batch.actions.some((a, i) => Math.abs(a - mu[i]) > 0.05));
    // priorities: per-sample cross-entropy to the projected target built from the actor's own copies
    const obs = new Tensor(m.batch.observations, [m.count, 3]);
    const next = new Tensor(m.batch.nextObservations, [m.count, 3]);
    const nextProbs = ops.softmax(policy.critic.forward(next, policy.actor.forward(next)), -1).values;
    const { perSample } = distributionalCriticLoss({
      logits: policy.critic.forward(obs, new Tensor(m.batch.actions as Float32Array, [m.count, 1])),
      nextProbs,
      rewards: m.batch.rewards,
      dones: m.batch.terminated,
      steps: m.batch.steps,
      gamma: 0.9,
      vMin: -1630,
      vMax: 0,
    });
    for (let i = 0; i < m.count; i++) assert.ok(Math.abs(m.priorities[i] - perSample[i]) < 1e-5, `row ${i}`);
    const back = decodeTransitions(encodeTransitions(m), {
      runId: "r",
      observationSize: 3,
      nActions: null,
      actionWidth: 1,
      maxSteps: 3,
    });
    assert.deepEqual(back.batch.actions, m.batch.actions);
    assert.deepEqual(back.priorities, m.priorities);
    assert.equal(back.policyVersion, 2);
  });
});

describe("ApexD4PG (in-process actors)", () => {
  test("adds every actor's transitions with the actors' priorities, and trains one step per trainFreq", async () => {
    const model = new ApexD4PG("Pendulum-v1", { ...SMALL, seed: 2, numActors: 3, trainFreq: 4 });
    const timesteps: number[] = [];
    await model.learn({ totalTimesteps: 150, onUpdate: (s) => void timesteps.push(s["time/timesteps"]) });
    // 3 actors × 10 steps per round, minus the transitions still in each actor's 5-step window
    assert.ok(timesteps[0] >= 18 && timesteps[0] <= 30, `first round ${timesteps[0]}`);
    assert.equal(model.replayBuffer.size, model.numTimesteps);
    assert.ok(model.nUpdates > 0 && model.nUpdates <= Math.floor(model.numTimesteps / 4));
  });

  test("a seed gives the same weights every time", async () => {
    const run = async () => {
      const model = new ApexD4PG("Pendulum-v1", { ...SMALL, seed: 5, numActors: 2 });
      await model.learn({ totalTimesteps: 200 });
      assert.ok(model.nUpdates >= 50);
      return Array.from(model.policy.actor.parameters()[0].values);
    };
    assert.deepEqual(await run(), await run());
  });

  test("refuses what Ape-X D4PG cannot do", () => {
    const isInvalid = (pattern: RegExp) => (e: unknown) =>
      e instanceof ProximalError && e.code === "INVALID_OPTION" && pattern.test(e.message);
    assert.throws(
      () => new ApexD4PG("Pendulum-v1", { prioritized: false }),
      isInvalid(/always uses prioritised/),
    );
    assert.throws(
      () => new ApexD4PG("Pendulum-v1", { gradientSteps: 2 }),
      isInvalid(/gradientSteps must stay 1/),
    );
    assert.throws(
      () => new ApexD4PG("CartPole-v1", {}),
      (e: unknown) => e instanceof ProximalError,
    );
    assert.throws(
      () => new ApexD4PG(new SyncVectorEnv([() => new PendulumEnv()]), { numActors: 2 }),
      isInvalid(/env id/),
    );
    assert.throws(
      () => new ApexD4PG("Pendulum-v1", { distributed: "redis://u:p@host:6379" }),
      isInvalid(/contains credentials/),
    );
  });

  test("save and load keep the actor", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apex-d4pg-"));
    try {
      const model = new ApexD4PG("Pendulum-v1", { ...SMALL, seed: 1, numActors: 2 });
      await model.learn({ totalTimesteps: 120 });
      await model.save(dir);
      const again = await ApexD4PG.load(dir);
      const obs = Float32Array.from([0.5, -0.8, 0.3]);
      assert.deepEqual(again.predict(obs), model.predict(obs));
      assert.equal(again.numTimesteps, model.numTimesteps);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("improves Pendulum-v1 over its untrained return with 4 actors in 5k transitions (seed 0)", {
    skip: quick,
  }, async () => {
    // options chosen on seeds 0-2 (eval −740, −164, −162 after 5k transitions, from −1593, −1216,
    // −1261 untrained; 10-35 s each under load). Seed 0 stays on a plateau (−743 at 8k too), so this
    // asserts the gain, with a margin below seed 0's +853
    const model = new ApexD4PG("Pendulum-v1", { seed: 0, ...LEARNING_OPTIONS });
    const evaluate = async () =>
      (await evaluatePolicy(model, make("Pendulum-v1"), { episodes: 10, deterministic: true, seed: 1000 }))
        .meanReturn;
    const untrained = await evaluate();
    await model.learn({ totalTimesteps: 5000 });
    const trained = await evaluate();
    assert.ok(trained > untrained + 500, `eval mean return ${untrained} → ${trained}`);
  });
});

const LEARNING_OPTIONS = {
  vMin: -1630,
  vMax: 0,
  numActors: 4,
  stepsPerMessage: 25,
  learningStarts: 500,
  batchSize: 64,
  tau: 0.005,
  targetUpdateInterval: 1,
  publishInterval: 25,
  learningRate: 1e-3,
  policy: { netArch: [64, 64] },
};

describe("ApexD4PG across a real redis-server", { timeout: 120_000 }, () => {
  let server: RedisServerHandle;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });

  test("remote actors feed the learner Box-action transitions and follow its weights; foreign messages are rejected", async () => {
    const runId = "apex-d4pg-plumbing";
    const model = new ApexD4PG("Pendulum-v1", {
      ...SMALL,
      distributed: server.url,
      runId,
      numActors: 2,
      idleTimeoutSeconds: 30,
    });
    const {
      last,
      injected,
      actors: results,
      versions,
    } = await learnBesideActors(model, server.url, runId, {
      totalTimesteps: 600,
      intrusions: [
        // discrete actions on a Box run, then random bytes
        encodeTransitions(oneDiscreteTransition(runId, 3)),
        Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      ],
    });
    assert.ok(injected);
    assert.ok(model.numTimesteps >= 600);
    assert.equal(model.replayBuffer.size, model.numTimesteps);
    assert.ok(model.nUpdates > 0, "the learner never trained");
    assert.equal(last["distributed/rejected"], 2);
    assert.equal(last["distributed/actors"], 2);
    assert.ok(results.every((r) => r.trajectories > 0));
    assert.ok(Math.max(...versions) > 0, `actors only ever acted with versions ${[...new Set(versions)]}`);
  });
});
