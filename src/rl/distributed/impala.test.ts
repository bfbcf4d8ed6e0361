import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CartPoleEnv } from "../../envs/classic/cartPole.js";
import { make } from "../../envs/make.js";
import { SyncVectorEnv } from "../../envs/vector/syncVectorEnv.js";
import { VectorRecordEpisodeStatistics } from "../../envs/vector/vectorRecordEpisodeStatistics.js";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { Tensor } from "../../tensor/tensor.js";
import { evaluatePolicy } from "../common/evaluation.js";
import type { UpdateStats } from "../common/onPolicyAlgorithm.js";
import { ActorCriticPolicy } from "../common/policies.js";
import { InProcessActors } from "./common/inProcessActors.js";
import { IMPALA, type IMPALAOptions, impalaLoss, preprocessRewards } from "./impala.js";

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

/**
 * 640 steps of a small in-process IMPALA (2 actors, 8-step unrolls, a [16] network, seed 5 unless
 * `options` says otherwise): its first weight matrix and the training returns it logged.
 */
async function smallRun(
  options: IMPALAOptions,
): Promise<{ weights: number[]; returns: number[]; updates: UpdateStats[]; numTimesteps: number }> {
  const model = new IMPALA("CartPole-v1", {
    seed: 5,
    numActors: 2,
    nSteps: 8,
    policy: { netArch: [16] },
    ...options,
  });
  const returns: number[] = [];
  const updates: UpdateStats[] = [];
  await model.learn({
    totalTimesteps: 640,
    onUpdate: (stats) => {
      updates.push(stats);
      if (stats["rollout/episodeReturn"] !== undefined) returns.push(stats["rollout/episodeReturn"]);
    },
  });
  return {
    weights: Array.from(model.policy.parameters()[0].values),
    returns,
    updates,
    numTimesteps: model.numTimesteps,
  };
}

describe("impalaLoss()", () => {
  test("is -mean(A·log π) + vfCoef·mean((v - V)²) - entCoef·mean(H), with gradients only through π and V", () => {
    const logProb = new Tensor(Float32Array.from([-0.5, -1, -2]), [3]).requireGrad();
    const values = new Tensor(Float32Array.from([1, 0, 2]), [3]).requireGrad();
    const entropy = new Tensor(Float32Array.from([0.6, 0.6, 0.3]), [3]);
    const pgAdvantages = new Tensor(Float32Array.from([2, -1, 0.5]), [3]);
    const vs = new Tensor(Float32Array.from([1.5, 1, 2]), [3]);
    const parts = impalaLoss({ logProb, values, entropy, pgAdvantages, vs, entCoef: 0.01, vfCoef: 0.5 });
    const policyLoss = -(2 * -0.5 + -1 * -1 + 0.5 * -2) / 3;
    const valueLoss = (0.25 + 1 + 0) / 3;
    assert.ok(Math.abs(parts.policyLoss.item() - policyLoss) < 1e-6);
    assert.ok(Math.abs(parts.valueLoss.item() - valueLoss) < 1e-6);
    assert.ok(Math.abs(parts.loss.item() - (policyLoss + 0.5 * valueLoss - 0.01 * 0.5)) < 1e-6);
    parts.loss.backward();
    // d/d logπ_i = -A_i / 3; d/dV_i = vfCoef · 2 (V_i - v_i) / 3
    assert.deepEqual(
      Array.from(logProb.grad?.values ?? new Float32Array(0)).map((g) => +g.toFixed(6)),
      [-2 / 3, 1 / 3, -0.5 / 3].map((g) => +g.toFixed(6)),
    );
    assert.deepEqual(
      Array.from(values.grad?.values ?? new Float32Array(0)).map((g) => +g.toFixed(6)),
      [-0.5 / 3, -1 / 3, 0].map((g) => +g.toFixed(6)),
    );
  });
});

describe("preprocessRewards()", () => {
  test("scales, then clips to ±clip, into a new array", () => {
    const rewards = Float32Array.from([-100, -0.5, 0, 2, 250]);
    assert.deepEqual(Array.from(preprocessRewards(rewards, 0.01, Infinity)), [
      Math.fround(-1),
      Math.fround(-0.005),
      0,
      Math.fround(0.02),
      Math.fround(2.5),
    ]);
    // the paper's Atari clip: sign-preserving, large rewards saturate at ±1
    assert.deepEqual(Array.from(preprocessRewards(rewards, 1, 1)), [-1, -0.5, 0, 1, 1]);
    assert.equal(rewards[0], -100, "the input was written to");
  });
});

describe("IMPALA (in-process actors)", () => {
  test("in-process actors: a round's trajectories lag 0..K-1 updates", () => {
    const env = new VectorRecordEpisodeStatistics(
      make("CartPole-v1", { numEnvs: 2, autoresetMode: "same-step" }),
    );
    const newPolicy = () =>
      new ActorCriticPolicy(env.singleObservationSpace, env.singleActionSpace, new Rng(9), { netArch: [8] });
    const learner = newPolicy();
    const actors = new InProcessActors(learner, {
      envs: InProcessActors.makeEnvs("CartPole-v1", 3, 2, 0, env),
      createPolicy: newPolicy,
      rng: new Rng(1),
      nSteps: 4,
      runId: "r",
      seed: 0,
    });
    const lags: number[] = [];
    const actorIds: string[] = [];
    for (let version = 0; version < 6; version++) {
      learner.parameters()[0].values[0] = version; // stands for an update
      const t = actors.next(version);
      lags.push(version - t.policyVersion);
      actorIds.push(t.actorId);
      assert.equal(t.observations.length, 4 * 2 * 4);
    }
    assert.deepEqual(lags, [0, 1, 2, 0, 1, 2]);
    assert.deepEqual(actorIds.slice(0, 3), ["in-process-0", "in-process-1", "in-process-2"]);
  });

  test("counts every step of every trajectory once", async () => {
    const model = new IMPALA("CartPole-v1", {
      seed: 3,
      numActors: 3,
      batchSize: 2,
      nSteps: 5,
      policy: { netArch: [8] },
    });
    const timesteps: number[] = [];
    await model.learn({
      totalTimesteps: 5 * 6,
      onUpdate: (stats) => {
        timesteps.push(stats["time/timesteps"]);
      },
    });
    assert.deepEqual(timesteps, [10, 20, 30]);
    assert.equal(model.iteration, 3);
  });

  test("a seed gives the same weights every time", async () => {
    const run = async () => (await smallRun({})).weights;
    assert.deepEqual(await run(), await run());
  });

  test("rejects several in-process actors without an env id, and bad V-trace thresholds", () => {
    const isInvalid = (pattern: RegExp) => (e: unknown) =>
      e instanceof ProximalError && e.code === "INVALID_OPTION" && pattern.test(e.message);
    assert.throws(
      () => new IMPALA(new SyncVectorEnv([() => new CartPoleEnv()]), { numActors: 2 }),
      isInvalid(/env id/),
    );
    assert.throws(() => new IMPALA("CartPole-v1", { rhoBar: 0 }), isInvalid(/rhoBar must be > 0/));
    assert.throws(() => new IMPALA("CartPole-v1", { batchSize: 0 }), isInvalid(/batchSize/));
    // GAE's options have no meaning under V-trace: refused, not silently ignored
    assert.throws(
      () => new IMPALA("CartPole-v1", { gaeLambda: 0.95 } as never),
      isInvalid(/does not take gaeLambda/),
    );
    assert.throws(
      () => new IMPALA("CartPole-v1", { distributed: "redis://u:p@host:6379" }),
      isInvalid(/contains credentials/),
    );
  });

  test("rewardScale changes the update; the default trains on the env's rewards unchanged", async () => {
    const plain = await smallRun({});
    // scale 1 and an infinite clip are the identity: the same weights as the default, bit for bit
    assert.deepEqual((await smallRun({ rewardScale: 1, rewardClip: Infinity })).weights, plain.weights);
    const scaled = await smallRun({ rewardScale: 0.1 });
    assert.notDeepEqual(scaled.weights, plain.weights);
    // episode statistics stay in the env's units (CartPole: +1 a step, so returns >= 8)
    assert.ok(scaled.returns.length > 0 && scaled.returns.every((r) => r >= 8), `${scaled.returns}`);
    const isInvalid = (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION";
    assert.throws(() => new IMPALA("CartPole-v1", { rewardScale: 0 }), isInvalid);
    assert.throws(() => new IMPALA("CartPole-v1", { rewardClip: -1 }), isInvalid);
  });

  test("vtraceLambda reaches V-trace: 1 is the default bit for bit, below 1 changes the update", async () => {
    const weights = async (options: IMPALAOptions) => (await smallRun(options)).weights;
    const plain = await weights({});
    assert.deepEqual(await weights({ vtraceLambda: 1 }), plain);
    assert.notDeepEqual(await weights({ vtraceLambda: 0.9 }), plain);
    const isInvalid = (e: unknown) =>
      e instanceof ProximalError && e.code === "INVALID_OPTION" && /vtraceLambda/.test(e.message);
    assert.throws(() => new IMPALA("CartPole-v1", { vtraceLambda: 1.5 }), isInvalid);
    assert.throws(() => new IMPALA("CartPole-v1", { vtraceLambda: Number.NaN }), isInvalid);
  });

  test("normalizeAdvantage changes the update; false is the default bit for bit", async () => {
    const plain = (await smallRun({})).weights;
    assert.deepEqual((await smallRun({ normalizeAdvantage: false })).weights, plain);
    assert.notDeepEqual((await smallRun({ normalizeAdvantage: true })).weights, plain);
  });

  test("entCoef takes a schedule: a constant one is the number bit for bit, a linear one anneals", async () => {
    const plain = (await smallRun({})).weights;
    assert.deepEqual((await smallRun({ entCoef: { schedule: "constant", initial: 0.01 } })).weights, plain);
    const annealed = await smallRun({ entCoef: { schedule: "linear", initial: 0.01 } });
    const coefs = annealed.updates.map((stats) => stats["train/entCoef"]);
    // progress remaining after update k of 4 trajectories of 8 steps: 1 - 32k/640
    assert.equal(coefs.length, 20);
    assert.ok(Math.abs(coefs[0] - 0.01 * (1 - 32 / 640)) < 1e-12, `${coefs[0]}`);
    assert.equal(coefs[19], 0);
    for (let i = 1; i < coefs.length; i++) assert.ok(coefs[i] < coefs[i - 1]);
    assert.notDeepEqual(annealed.weights, plain);
    const isInvalid = (e: unknown) =>
      e instanceof ProximalError && e.code === "INVALID_OPTION" && /entCoef/.test(e.message);
    assert.throws(
      () => new IMPALA("CartPole-v1", { entCoef: { schedule: "linear", initial: 0.01, final: -1 } }),
      isInvalid,
    );
    assert.throws(() => new IMPALA("CartPole-v1", { entCoef: -0.1 }), isInvalid);
  });

  test("replayBatch adds replayed trajectories from the second update on; 0 is the default bit for bit", async () => {
    const plain = (await smallRun({})).weights;
    assert.deepEqual((await smallRun({ replayBatch: 0 })).weights, plain);
    const replaying = await smallRun({ replayBatch: 3, replayCapacity: 6 });
    const replayed = replaying.updates.map((stats) => stats["train/replayedTrajectories"]);
    // the replay is empty at the first update only; fresh trajectories still count the budget alone
    assert.deepEqual(replayed, [0, ...new Array(19).fill(3)]);
    assert.equal(replaying.numTimesteps, 640);
    assert.notDeepEqual(replaying.weights, plain);
    const isInvalid = (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION";
    assert.throws(() => new IMPALA("CartPole-v1", { replayBatch: -1 }), isInvalid);
    assert.throws(() => new IMPALA("CartPole-v1", { replayBatch: 2, replayCapacity: 0 }), isInvalid);
  });

  test("save and load keep the policy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "impala-"));
    try {
      const model = new IMPALA("CartPole-v1", {
        seed: 1,
        numActors: 2,
        nSteps: 8,
        policy: { netArch: [16] },
      });
      await model.learn({ totalTimesteps: 320 });
      await model.save(dir);
      const again = await IMPALA.load(dir);
      const obs = Float32Array.from([0.01, -0.2, 0.03, 0.3, 0.1, 0.5, -0.05, -0.4]);
      assert.deepEqual(
        again.predict(obs, { deterministic: true }),
        model.predict(obs, { deterministic: true }),
      );
      assert.equal(again.numTimesteps, 320);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("learns CartPole-v1 with 4 lagging actors in 20k steps (seed 0)", { skip: quick }, async () => {
    // budget and seed fixed before the run; the default options, untuned (seeds 0-2 gave eval
    // 383 at 20k during development, this asserts a margin below)
    const model = new IMPALA("CartPole-v1", { seed: 0, numActors: 4 });
    let clipped = 0;
    await model.learn({
      totalTimesteps: 20_000,
      onUpdate: (stats) => {
        clipped = Math.max(clipped, stats["train/clippedRhoFraction"]);
      },
    });
    // the actors lag: some importance ratios exceed ρ̄ and are truncated
    assert.ok(clipped > 0, "no importance ratio was ever clipped: the actors did not lag");
    const { meanReturn } = await evaluatePolicy(model, make("CartPole-v1"), {
      episodes: 10,
      deterministic: true,
      seed: 1000,
    });
    assert.ok(meanReturn >= 200, `eval mean return ${meanReturn}`);
  });
});
