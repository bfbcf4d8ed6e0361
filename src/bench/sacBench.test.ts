import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadPreset } from "../rl/presets.js";
import { runSacBench } from "./sacBench.js";
import { listBenchSuites } from "./suites.js";

describe("bench sac", () => {
  test("is a registered suite", () => {
    assert.ok(listBenchSuites().includes("sac"));
  });

  test("trains with RL Zoo's Pendulum-v1 SAC config (presets/sac/rlzoo.yaml)", async () => {
    const { options, totalTimesteps } = await loadPreset("rlzoo", "Pendulum-v1", "SAC");
    assert.equal(totalTimesteps, 20_000);
    assert.equal(options.learningRate, 1e-3);
    assert.equal(options.batchSize, 256);
    assert.equal(options.trainFreq, 1);
    assert.equal(options.gradientSteps, 1);
    assert.deepEqual(options.policy, { netArch: [256, 256], activation: "relu" });
  });

  test("runs the RL Zoo Pendulum config at a tiny budget and reports its figures", async () => {
    // 130 steps: past learningStarts (100), so 30 gradient steps of batch 256 run
    const figures = await runSacBench({ seed: 3, steps: 130, evalEpisodes: 1 });
    assert.equal(figures.steps, 130);
    assert.equal(figures.seed, 3);
    assert.ok(figures.stepsPerSecond > 0);
    assert.ok(figures.wallSeconds > 0);
    assert.ok(figures.evalMeanReturn !== null && figures.evalMeanReturn < 0);
  });
});
