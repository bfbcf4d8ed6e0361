import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadPreset } from "../presets.js";
import { ExpectedSarsa } from "./expectedSarsa.js";
import { QLearning } from "./qLearning.js";
import { Sarsa } from "./sarsa.js";
import type { TabularAlgorithm, TabularOptions } from "./tabularAlgorithm.js";
import { greedyRollout } from "./tabularTestUtil.test.util.js";

/** The shipped Example 6.6 preset of `algorithm` with `seed`. */
async function example66(
  algorithm: string,
  seed: number,
): Promise<{ options: TabularOptions; episodes: number }> {
  const preset = await loadPreset("sb-example-6.6", "CliffWalking-v1", algorithm);
  return {
    options: { ...(preset.options as TabularOptions), seed },
    episodes: preset.totalEpisodes as number,
  };
}

/** Online returns of every training episode. */
async function train(model: TabularAlgorithm, episodes: number): Promise<number[]> {
  const returns: number[] = [];
  await model.learn({
    totalEpisodes: episodes,
    onUpdate: (stats) => {
      returns.push(stats["rollout/lastEpisodeReturn"]);
    },
  });
  return returns;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("Sarsa vs Q-learning on CliffWalking (Sutton & Barto 2018, Example 6.6)", () => {
  test("the presets hold the example's settings", async () => {
    for (const algorithm of ["QLearning", "Sarsa", "ExpectedSarsa"]) {
      const { options, episodes } = await example66(algorithm, 0);
      assert.deepEqual(
        [options.learningRate, options.gamma, options.explorationInitialEps, options.explorationFinalEps],
        [0.5, 1, 0.1, 0.1],
      );
      assert.equal(episodes, 500);
    }
  });

  test("seed 1: Sarsa earns more online, and its greedy path keeps away from the edge", async () => {
    const sarsa = await example66("Sarsa", 1);
    const sarsaModel = new Sarsa("CliffWalking-v1", sarsa.options);
    const sarsaReturns = await train(sarsaModel, sarsa.episodes);
    const q = await example66("QLearning", 1);
    const qModel = new QLearning("CliffWalking-v1", q.options);
    const qReturns = await train(qModel, q.episodes);
    // seed 1, this implementation: Sarsa mean −33.57 (last 100: −22.43), Q-learning −53.63 (−40.21)
    assert.ok(mean(sarsaReturns) > mean(qReturns), `${mean(sarsaReturns)} vs ${mean(qReturns)}`);
    assert.ok(mean(sarsaReturns.slice(-100)) > mean(qReturns.slice(-100)));
    const sarsaPath = greedyRollout(sarsaModel);
    const qPath = greedyRollout(qModel);
    assert.ok(sarsaPath.reachedTerminal && qPath.reachedTerminal);
    assert.equal(qPath.return, -13); // along the edge of the cliff
    assert.equal(sarsaPath.return, -17); // along the top row, the safe path of the book's figure
  });

  test("over seeds 0-9, Sarsa's mean online return beats Q-learning's on every seed", async () => {
    for (let seed = 0; seed < 10; seed++) {
      const s = await example66("Sarsa", seed);
      const q = await example66("QLearning", seed);
      const sarsaMean = mean(await train(new Sarsa("CliffWalking-v1", s.options), s.episodes));
      const qMean = mean(await train(new QLearning("CliffWalking-v1", q.options), q.episodes));
      assert.ok(sarsaMean > qMean, `seed ${seed}: Sarsa ${sarsaMean} vs Q-learning ${qMean}`);
    }
  });

  test("Expected Sarsa with the same settings also keeps away from the edge and beats Q-learning online", async () => {
    const e = await example66("ExpectedSarsa", 1);
    const model = new ExpectedSarsa("CliffWalking-v1", e.options);
    const returns = await train(model, e.episodes);
    // seed 1: mean −27.90; greedy path −15 (one row above the edge row)
    assert.ok(mean(returns) > -35, `${mean(returns)}`);
    const path = greedyRollout(model);
    assert.ok(path.reachedTerminal && path.return < -13, `${path.return}`);
  });
});
