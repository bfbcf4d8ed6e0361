import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { make } from "../../envs/make.js";
import { CliffWalkingEnv } from "../../envs/toyText/cliffWalking.js";
import { FrozenLakeEnv } from "../../envs/toyText/frozenLake.js";
import { evaluatePolicy } from "../common/evaluation.js";
import { policyEvaluation, valueIteration } from "./dynamicProgramming.js";
import { QLearning } from "./qLearning.js";
import { greedyRollout } from "./tabularTestUtil.test.util.js";

describe("QLearning", () => {
  test("reaches value iteration's optimum on deterministic FrozenLake 4x4 (γ = 0.99)", async () => {
    const model = new QLearning(make("FrozenLake-v1", { isSlippery: false }), { learningRate: 0.5, seed: 0 });
    await model.learn({ totalEpisodes: 1000 });
    const P = new FrozenLakeEnv({ isSlippery: false }).P;
    const optimum = valueIteration(P, { gamma: 0.99 }).V[0]; // 0.99^5
    // the greedy policy evaluated exactly on P
    const greedyValue = policyEvaluation(P, model.greedyPolicy(), { gamma: 0.99 })[0];
    assert.ok(Math.abs(greedyValue - optimum) < 1e-9, `greedy ${greedyValue} vs optimum ${optimum}`);
    const { meanReturn, meanLength } = await evaluatePolicy(
      model,
      make("FrozenLake-v1", { isSlippery: false }),
      {
        episodes: 3,
      },
    );
    assert.equal(meanReturn, 1);
    assert.equal(meanLength, 6);
  });

  test("reaches value iteration's optimum on deterministic FrozenLake 8x8 (γ = 0.99)", async () => {
    const env = make("FrozenLake8x8-v1", { isSlippery: false });
    const model = new QLearning(env, { learningRate: 0.5, explorationFraction: 0.5, seed: 0 });
    await model.learn({ totalEpisodes: 3000 });
    const P = new FrozenLakeEnv({ isSlippery: false, mapName: "8x8" }).P;
    const optimum = valueIteration(P, { gamma: 0.99 }).V[0]; // 0.99^13
    const greedyValue = policyEvaluation(P, model.greedyPolicy(), { gamma: 0.99 })[0];
    assert.ok(Math.abs(greedyValue - optimum) < 1e-9, `greedy ${greedyValue} vs optimum ${optimum}`);
  });

  test("reaches the optimal return −13 on CliffWalking (γ = 1), as value iteration computes", async () => {
    const model = new QLearning("CliffWalking-v1", { learningRate: 0.5, gamma: 1, seed: 0 });
    await model.learn({ totalEpisodes: 500 });
    const optimum = valueIteration(new CliffWalkingEnv().P, { gamma: 1 }).V[36];
    const rollout = greedyRollout(model);
    assert.ok(rollout.reachedTerminal);
    assert.equal(rollout.return, optimum);
    assert.equal(rollout.return, -13);
  });

  test("onUpdate reports every episode and stops training when it returns false", async () => {
    const model = new QLearning("CliffWalking-v1", { seed: 0 });
    const seen: Record<string, number>[] = [];
    await model.learn({
      totalEpisodes: 100,
      onUpdate: (stats) => {
        seen.push(stats);
        return seen.length < 7;
      },
    });
    assert.equal(seen.length, 7);
    assert.equal(model.numEpisodes, 7);
    const last = seen[6];
    for (const key of [
      "rollout/episodeReturn",
      "rollout/episodeLength",
      "rollout/lastEpisodeReturn",
      "rollout/lastEpisodeLength",
      "rollout/explorationRate",
      "train/learningRate",
      "train/meanAbsTdError",
      "time/episodes",
      "time/timesteps",
    ]) {
      assert.equal(typeof last[key], "number", key);
    }
    assert.equal(last["time/episodes"], 7);
    assert.equal(last["time/timesteps"], model.numTimesteps);
    const mean = seen.reduce((sum, s) => sum + s["rollout/lastEpisodeReturn"], 0) / seen.length;
    assert.ok(Math.abs(last["rollout/episodeReturn"] - mean) < 1e-9);
  });
});
