import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runDqnBench } from "./dqnBench.js";
import { listBenchSuites } from "./suites.js";

describe("bench dqn", () => {
  test("is a registered suite", () => {
    assert.ok(listBenchSuites().includes("dqn"));
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
