import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Env, EnvMetadata, ResetResult, StepResult } from "../../envs/env.js";
import { make } from "../../envs/make.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { TimeLimit } from "../../envs/wrappers/timeLimit.js";
import { Wrapper } from "../../envs/wrappers/wrapper.js";
import { evaluatePolicy } from "../common/evaluation.js";
import { ExpectedSarsa } from "./expectedSarsa.js";
import { QLearning } from "./qLearning.js";
import { Sarsa } from "./sarsa.js";
import { linearExploration, type TabularAlgorithm } from "./tabularAlgorithm.js";

function errorOf(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  return { message: "no error" };
}

/** One state, one action, reward 1 forever: only the time limit ends an episode (SB3 test_gae's infinite horizon). */
class ForeverEnv implements Env<number, number> {
  readonly observationSpace = new Discrete(1);
  readonly actionSpace = new Discrete(1);
  readonly metadata: EnvMetadata = { renderModes: [], renderFps: 0 };
  reset(): ResetResult<number> {
    return { observation: 0, info: {} };
  }
  step(): StepResult<number> {
    return { observation: 0, reward: 1, terminated: false, truncated: false, info: {} };
  }
  render(): string {
    return "";
  }
  close(): void {}
}

/** Fails the test if an action the previous info's `actionMask` forbids is ever taken. */
class MaskSpy extends Wrapper<number, number> {
  mask: Uint8Array | null = null;
  steps = 0;
  override reset(opts = {}): ResetResult<number> {
    const result = this.env.reset(opts);
    this.mask = result.info.actionMask as Uint8Array;
    return result;
  }
  override step(action: number): StepResult<number> {
    assert.ok(
      this.mask !== null && this.mask[action] === 1,
      `masked action ${action} taken (mask ${this.mask})`,
    );
    this.steps++;
    const result = this.env.step(action);
    this.mask = result.info.actionMask as Uint8Array;
    return result;
  }
}

const bytes = (q: Float64Array) => Buffer.from(q.buffer, q.byteOffset, q.byteLength);

describe("TabularAlgorithm", () => {
  test("refuses spaces that are not Discrete, naming the space", () => {
    const tuple = errorOf(() => new QLearning("Blackjack-v1"));
    assert.equal(tuple.code, "UNSUPPORTED_SPACE");
    assert.match(tuple.message, /Discrete observation space.*Tuple/);
    const box = errorOf(() => new Sarsa("CartPole-v1"));
    assert.equal(box.code, "UNSUPPORTED_SPACE");
    assert.match(box.message, /Box/);
  });

  test("refuses a vector env and bad options", () => {
    assert.equal(
      errorOf(() => new QLearning(make("FrozenLake-v1", { numEnvs: 2 }) as never)).code,
      "INVALID_ARGUMENT",
    );
    assert.equal(errorOf(() => new QLearning("FrozenLake-v1", { gamma: 1.5 })).code, "INVALID_OPTION");
    assert.equal(errorOf(() => new QLearning("FrozenLake-v1", { learningRate: 0 })).code, "INVALID_OPTION");
    assert.equal(
      errorOf(() => new QLearning("FrozenLake-v1", { explorationFinalEps: -1 })).code,
      "INVALID_OPTION",
    );
  });

  test("learn needs exactly one budget", async () => {
    const model = new QLearning("FrozenLake-v1");
    await assert.rejects(model.learn({}), (e: { code?: string }) => e.code === "INVALID_OPTION");
    await assert.rejects(
      model.learn({ totalTimesteps: 10, totalEpisodes: 10 }),
      (e: { code?: string }) => e.code === "INVALID_OPTION",
    );
  });

  test("ε follows SB3 DQN's linear schedule", () => {
    assert.equal(linearExploration(1, 0.05, 0.1, 1), 1);
    assert.ok(Math.abs(linearExploration(1, 0.05, 0.1, 0.95) - 0.525) < 1e-12); // halfway through the anneal
    assert.equal(linearExploration(1, 0.05, 0.1, 0.5), 0.05);
    assert.equal(linearExploration(0.1, 0.1, 0, 1), 0.1); // constant ε
  });

  for (const Algorithm of [QLearning, Sarsa, ExpectedSarsa]) {
    test(`${Algorithm.name}: a truncated episode bootstraps, so Q approaches 1/(1 − γ)`, async () => {
      // γ 0.9: 1/(1 − γ) = 10; without bootstrapping at the 5-step limit the fixed point would be
      // 1/(1 − 0.9·0.8) ≈ 3.57 (every fifth target would be 1 alone)
      const model = new Algorithm(new TimeLimit(new ForeverEnv(), 5), { gamma: 0.9, learningRate: 0.1 });
      await model.learn({ totalTimesteps: 5000 });
      assert.ok(Math.abs(model.qTable[0] - 10) < 1e-6, `Q = ${model.qTable[0]}`);
    });
  }

  test("Taxi: training and predict never take a masked action", async () => {
    const spy = new MaskSpy(make<number, number>("Taxi-v4"));
    const model = new QLearning(spy, { seed: 0 });
    await model.learn({ totalEpisodes: 200 });
    assert.ok(spy.steps > 5000);
    const evaluation = await evaluatePolicy(model, spy, { episodes: 3, deterministic: false });
    assert.equal(evaluation.episodes.length, 3);
  });

  test("Taxi: Q-learning learns to deliver (mean greedy return above 0; optimum 8.46)", async () => {
    const model = new QLearning("Taxi-v4", { learningRate: 0.5, gamma: 0.99, seed: 0 });
    await model.learn({ totalEpisodes: 3000 });
    const { meanReturn } = await evaluatePolicy(model, make("Taxi-v4"), { episodes: 20 });
    assert.ok(meanReturn > 5, `mean return ${meanReturn}`);
  });

  for (const Algorithm of [QLearning, Sarsa, ExpectedSarsa]) {
    test(`${Algorithm.name}: learn stopped after an episode, saved, loaded and resumed equals one uninterrupted learn, bit for bit`, async () => {
      const options = { seed: 3, explorationFraction: 0.5 }; // decaying ε: the schedule must resume too
      const whole = new Algorithm("FrozenLake-v1", options);
      const wholeReturns: number[] = [];
      await whole.learn({
        totalEpisodes: 300,
        onUpdate: (s) => void wholeReturns.push(s["rollout/lastEpisodeReturn"]),
      });

      const dir = await mkdtemp(join(tmpdir(), "proximal-tabular-"));
      try {
        const first = new Algorithm("FrozenLake-v1", options);
        const returns: number[] = [];
        await first.learn({
          totalEpisodes: 300,
          onUpdate: (s) => {
            returns.push(s["rollout/lastEpisodeReturn"]);
            return returns.length < 120;
          },
        });
        await first.save(dir);
        const resumed = (await (Algorithm as typeof QLearning).load(dir, {
          restoreEnv: true,
        })) as TabularAlgorithm;
        assert.equal(resumed.numEpisodes, 120);
        await resumed.learn({
          totalEpisodes: 300,
          resetNumTimesteps: false,
          onUpdate: (s) => void returns.push(s["rollout/lastEpisodeReturn"]),
        });
        assert.deepEqual(returns, wholeReturns);
        assert.equal(resumed.numTimesteps, whole.numTimesteps);
        assert.ok(bytes(resumed.qTable).equals(bytes(whole.qTable)));
        assert.deepEqual(resumed.rng.getState(), whole.rng.getState());
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test("Sarsa stopped mid-episode (timestep budget) resumes exactly, pending A' included", async () => {
    const options = { seed: 5, explorationInitialEps: 0.2, explorationFinalEps: 0.2, learningRate: 0.3 };
    const whole = new Sarsa("FrozenLake-v1", options);
    await whole.learn({ totalTimesteps: 5000 });
    const dir = await mkdtemp(join(tmpdir(), "proximal-tabular-"));
    try {
      const first = new Sarsa("FrozenLake-v1", options);
      await first.learn({ totalTimesteps: 1234 });
      await first.save(dir);
      const resumed = await Sarsa.load(dir, { restoreEnv: true });
      await resumed.learn({ totalTimesteps: 5000, resetNumTimesteps: false });
      assert.ok(bytes(resumed.qTable).equals(bytes(whole.qTable)));
      assert.equal(resumed.numEpisodes, whole.numEpisodes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("save keeps the float64 table exactly and records the env's options", async () => {
    const model = new QLearning(make("FrozenLake-v1", { isSlippery: false }), { seed: 0, learningRate: 0.3 });
    await model.learn({ totalEpisodes: 200 });
    assert.ok(Array.from(model.qTable).some((v) => Math.fround(v) !== v)); // float32 would round it
    const dir = await mkdtemp(join(tmpdir(), "proximal-tabular-"));
    try {
      await model.save(dir);
      const loaded = await QLearning.load(dir);
      assert.ok(bytes(loaded.qTable).equals(bytes(model.qTable)));
      assert.equal(
        (loaded.env as unknown as { unwrapped: { isSlippery: boolean } }).unwrapped.isSlippery,
        false,
      );
      assert.deepEqual(loaded.greedyPolicy(), model.greedyPolicy());
      const json = JSON.parse(await readFile(join(dir, "model.json"), "utf8"));
      assert.equal(json.algorithm, "QLearning");
      await assert.rejects(Sarsa.load(dir), (e: { code?: string }) => e.code === "MALFORMED_FILE");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
