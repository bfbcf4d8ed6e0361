import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadPreset } from "../rl/presets.js";
import { runDqnBench } from "./dqnBench.js";
import { listBenchSuites } from "./suites.js";

describe("bench dqn", () => {
  test("is a registered suite", () => {
    assert.ok(listBenchSuites().includes("dqn"));
  });

  test("trains with RL Zoo's CartPole-v1 DQN config (presets/dqn/rlzoo.yaml)", async () => {
    const { options, totalTimesteps } = await loadPreset("rlzoo", "CartPole-v1", "DQN");
    assert.equal(totalTimesteps, 50_000);
    assert.equal(options.trainFreq, 256);
    assert.equal(options.gradientSteps, 128);
    assert.equal(options.batchSize, 64);
    assert.equal(options.learningRate, 0.0023);
    assert.equal(options.learningStarts, 1000);
    assert.equal(options.targetUpdateInterval, 10);
    assert.equal(options.explorationFraction, 0.16);
    assert.equal(options.explorationFinalEps, 0.04);
    assert.deepEqual(options.policy, { netArch: [256, 256], activation: "relu" });
  });

  test("runs the RL Zoo CartPole config at a tiny budget and reports its figures", async () => {
    // 1300 steps: past learningStarts (1000), so one training phase of 128 gradient steps runs
    const figures = await runDqnBench({ seed: 3, steps: 1300, evalEpisodes: 2 });
    assert.equal(figures.steps, 1300);
    assert.equal(figures.seed, 3);
    assert.ok(figures.stepsPerSecond > 0);
    assert.ok(figures.wallSeconds > 0);
    assert.ok(figures.evalMeanReturn !== null && figures.evalMeanReturn >= 1);
  });
});
