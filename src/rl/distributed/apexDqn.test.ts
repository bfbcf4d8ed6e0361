import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CartPoleEnv } from "../../envs/classic/cartPole.js";
import { make } from "../../envs/make.js";
import { SyncVectorEnv } from "../../envs/vector/syncVectorEnv.js";
import { ProximalError } from "../../errors.js";
import { evaluatePolicy } from "../common/evaluation.js";
import { ApexDQN, type ApexDQNOptions } from "./apexDqn.js";
import { type RedisServerHandle, startRedisServer } from "./common/localRedisServer.js";
import { learnBesideActors, oneDiscreteTransition } from "./common/remoteActors.test.util.js";
import { encodeTransitions } from "./common/transitionMessage.js";

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

describe("ApexDQN (in-process actors)", () => {
  test("adds every actor's transitions with the actors' priorities, and trains one step per trainFreq", async () => {
    const model = new ApexDQN("CartPole-v1", {
      seed: 2,
      numActors: 3,
      stepsPerMessage: 10,
      nStep: 2,
      learningStarts: 40,
      batchSize: 8,
      trainFreq: 5,
      policy: { netArch: [8] },
    });
    const timesteps: number[] = [];
    await model.learn({ totalTimesteps: 150, onUpdate: (s) => void timesteps.push(s["time/timesteps"]) });
    // 3 actors × 10 steps per round, minus the transitions still in each actor's 2-step window
    assert.ok(timesteps[0] >= 27 && timesteps[0] <= 30, `first round ${timesteps[0]}`);
    assert.equal(model.replayBuffer.size, model.numTimesteps);
    // nothing owed before learningStarts; then one step per 5 transitions
    assert.ok(model.nUpdates > 0 && model.nUpdates <= Math.floor((model.numTimesteps - timesteps[0]) / 5));
  });

  test("a seed gives the same weights every time", async () => {
    const run = async () => {
      const model = new ApexDQN("CartPole-v1", {
        seed: 5,
        numActors: 2,
        stepsPerMessage: 16,
        learningStarts: 64,
        batchSize: 16,
        publishInterval: 3,
        targetUpdateInterval: 10,
        policy: { netArch: [16] },
      });
      await model.learn({ totalTimesteps: 400 });
      assert.ok(model.nUpdates >= 50);
      return Array.from(model.policy.qNet.parameters()[0].values);
    };
    assert.deepEqual(await run(), await run());
  });

  test("refuses options Ape-X does not have, and an env without id for several actors", () => {
    const isInvalid = (pattern: RegExp) => (e: unknown) =>
      e instanceof ProximalError && e.code === "INVALID_OPTION" && pattern.test(e.message);
    assert.throws(
      () => new ApexDQN("CartPole-v1", { prioritized: false }),
      isInvalid(/always uses prioritised/),
    );
    assert.throws(
      () => new ApexDQN("CartPole-v1", { noisy: true } as never),
      isInvalid(/does not take noisy/),
    );
    assert.throws(
      () => new ApexDQN("CartPole-v1", { gradientSteps: 4 }),
      isInvalid(/gradientSteps must stay 1/),
    );
    assert.throws(() => new ApexDQN("CartPole-v1", { actorEpsilon: 2 }), isInvalid(/actorEpsilon/));
    assert.throws(
      () => new ApexDQN(new SyncVectorEnv([() => new CartPoleEnv()]), { numActors: 2 }),
      isInvalid(/env id/),
    );
    assert.throws(
      () => new ApexDQN("CartPole-v1", { distributed: "redis://u:p@host:6379" }),
      isInvalid(/contains credentials/),
    );
  });

  test("a categorical (C51) learner: the actors build the same network and the run is deterministic", async () => {
    const run = async () => {
      const model = new ApexDQN("CartPole-v1", {
        seed: 7,
        numActors: 2,
        stepsPerMessage: 16,
        learningStarts: 64,
        batchSize: 16,
        publishInterval: 3,
        distributional: { atoms: 11, vMin: 0, vMax: 50 },
        policy: { netArch: [16] },
      });
      await model.learn({ totalTimesteps: 400 });
      assert.ok(model.nUpdates >= 50);
      assert.equal(model.policy.qNet.atoms, 11);
      return Array.from(model.policy.qNet.parameters()[0].values);
    };
    assert.deepEqual(await run(), await run());
  });

  test("save and load keep the Q-network", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apex-"));
    try {
      const model = new ApexDQN("CartPole-v1", {
        seed: 1,
        numActors: 2,
        stepsPerMessage: 8,
        learningStarts: 32,
        batchSize: 8,
        policy: { netArch: [16] },
      });
      await model.learn({ totalTimesteps: 200 });
      await model.save(dir);
      const again = await ApexDQN.load(dir);
      const obs = Float32Array.from([0.01, -0.2, 0.03, 0.3, 0.1, 0.5, -0.05, -0.4]);
      assert.deepEqual(
        again.predict(obs, { deterministic: true }),
        model.predict(obs, { deterministic: true }),
      );
      assert.equal(again.numTimesteps, model.numTimesteps);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("learns CartPole-v1 with 4 actors (seed 0, 10k transitions)", { skip: quick }, async () => {
    // a cheap check that learning happens (a random policy scores ~20); the full CartPole figures,
    // with a larger network and budget, are in BENCHMARKS "distributed". Seed 0 reached
    // 87.5 here during development (4 s of CPU); the assertion keeps a margin below it
    const model = new ApexDQN("CartPole-v1", { seed: 0, ...LEARNING_OPTIONS });
    await model.learn({ totalTimesteps: 10_000 });
    const { meanReturn } = await evaluatePolicy(model, make("CartPole-v1"), {
      episodes: 10,
      deterministic: true,
      seed: 1000,
    });
    assert.ok(meanReturn >= 60, `eval mean return ${meanReturn}`);
  });
});

const LEARNING_OPTIONS = {
  numActors: 4,
  learningRate: 1e-3,
  batchSize: 64,
  targetUpdateInterval: 100,
  trainFreq: 2,
  learningStarts: 1000,
  stepsPerMessage: 25,
  policy: { netArch: [64, 64] },
};

describe("ApexDQN across a real redis-server", { timeout: 120_000 }, () => {
  let server: RedisServerHandle;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });

  /** A learner of two remote actors on the test's server, small enough to train within seconds. */
  const remoteLearner = (runId: string, extra: ApexDQNOptions = {}) =>
    new ApexDQN("CartPole-v1", {
      distributed: server.url,
      runId,
      numActors: 2,
      stepsPerMessage: 20,
      learningStarts: 100,
      batchSize: 16,
      publishInterval: 5,
      idleTimeoutSeconds: 30,
      policy: { netArch: [16] },
      ...extra,
    });

  test("remote actors feed the learner transitions; foreign messages are rejected and counted", async () => {
    const runId = "apex-plumbing";
    const model = remoteLearner(runId);
    const {
      last,
      injected,
      actors: results,
      versions,
    } = await learnBesideActors(model, server.url, runId, {
      totalTimesteps: 1200,
      intrusions: [
        // another run's transitions and random bytes on this run's queue
        encodeTransitions(oneDiscreteTransition("another-run", 4)),
        Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      ],
    });
    assert.ok(injected);
    assert.ok(model.numTimesteps >= 1200);
    assert.equal(model.replayBuffer.size, model.numTimesteps);
    assert.ok(model.nUpdates > 0, "the learner never trained");
    assert.equal(last["distributed/rejected"], 2);
    assert.equal(last["distributed/actors"], 2);
    assert.ok(results.every((r) => r.trajectories > 0));
    // the actors followed the learner's published weights
    assert.ok(Math.max(...versions) > 0, `actors only ever acted with versions ${[...new Set(versions)]}`);
  });

  test("remote actors of a C51 learner build its categorical network from the run spec", async () => {
    const runId = "apex-c51";
    const model = remoteLearner(runId, { distributional: { atoms: 11, vMin: 0, vMax: 50 } });
    const { last, actors, versions } = await learnBesideActors(model, server.url, runId, {
      totalTimesteps: 600,
      intrusions: [],
    });
    assert.ok(model.nUpdates > 0, "the learner never trained");
    assert.equal(last["distributed/rejected"] ?? 0, 0);
    assert.ok(actors.every((r) => r.trajectories > 0));
    // loading the learner's categorical weights would fail on a scalar-headed copy
    assert.ok(Math.max(...versions) > 0, `actors only ever acted with versions ${[...new Set(versions)]}`);
  });
});
