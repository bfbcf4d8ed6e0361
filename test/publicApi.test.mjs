// Public-API tests: import the package by name, as users do (jax-js habit), and run the README's
// first example end to end on a small budget.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as proximal from "proximal";

describe("the proximal package", () => {
  test("exports the main entry points", () => {
    for (const name of [
      "make",
      "PPO",
      "evaluatePolicy",
      "tensor",
      "Tensor",
      "Rng",
      "ProximalError",
      "readSafetensors",
      "writeSafetensors",
      "Adam",
      "MLP",
      "backendInfo",
      "ReplayBuffer",
      "PrioritizedReplayBuffer",
      "NStepAdder",
      "SumTree",
      "DDPG",
      "TD3",
      "SAC",
      "QLearning",
      "Sarsa",
      "ExpectedSarsa",
      "valueIteration",
      "policyIteration",
    ]) {
      assert.ok(name in proximal, `missing export ${name}`);
    }
  });

  test("README example: tabular Sarsa from the Example 6.6 preset, value iteration", async () => {
    const { loadPreset, Sarsa, valueIteration, CliffWalkingEnv } = proximal;
    const { options, totalEpisodes } = await loadPreset("sb-example-6.6", "CliffWalking-v1", "Sarsa");
    const sarsa = new Sarsa("CliffWalking-v1", options);
    await sarsa.learn({ totalEpisodes: totalEpisodes ?? 500 });
    assert.equal(sarsa.numEpisodes, 500);
    const { V } = valueIteration(new CliffWalkingEnv().P, { gamma: 1 });
    assert.ok(Math.abs(V[36] + 13) < 1e-9);
  });

  test("README example: make, PPO, learn, evaluate, save and load", {
    skip: process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false,
  }, async () => {
    const { make, PPO, evaluatePolicy } = proximal;
    const env = make("CartPole-v1", { numEnvs: 8, seed: 1 });
    const model = new PPO(env, {
      nSteps: 32,
      batchSize: 256,
      nEpochs: 10,
      learningRate: 1e-3,
      gamma: 0.98,
      gaeLambda: 0.8,
      seed: 1,
    });
    const returns = [];
    await model.learn({
      totalTimesteps: 20_000,
      onUpdate: (stats) => {
        returns.push(stats["rollout/episodeReturn"] ?? 0);
      },
    });
    const { meanReturn } = await evaluatePolicy(model, make("CartPole-v1"), { episodes: 5 });
    // seed 1, 20k steps: measured mean eval return ~160-500; random play scores ~22
    assert.ok(meanReturn > 60, `meanReturn ${meanReturn}`);
    const { mkdtemp } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "proximal-"));
    await model.save(dir);
    const again = await PPO.load(dir);
    const obs = new Float32Array([0.02, -0.1, 0.03, 0.2]);
    assert.deepEqual(
      again.predict(obs, { deterministic: true }),
      model.predict(obs, { deterministic: true }),
    );
  });

  test("unknown env ids fail with the closest match", () => {
    assert.throws(
      () => proximal.make("CartPole-v2"),
      (error) =>
        error instanceof proximal.ProximalError &&
        error.code === "UNKNOWN_ENV" &&
        /CartPole-v1/.test(error.message),
    );
  });
});
