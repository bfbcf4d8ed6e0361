import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Env, ResetResult, StepResult } from "../../envs/env.js";
import { make } from "../../envs/make.js";
import { Box } from "../../envs/spaces/box.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { ROTATING_EPISODE, RotatingMaskEnv } from "../../envs/testing/rotatingMaskEnv.test.util.js";
import { SyncVectorEnv } from "../../envs/vector/syncVectorEnv.js";
import { A2C } from "../a2c.js";
import type { Predictor } from "./evaluation.js";
import { evaluatePolicy } from "./evaluation.js";

/** Episodes of exactly `length` steps paying 1 per step (so return = length); obs = [length]. */
class FixedLengthEnv implements Env<Float32Array, number> {
  readonly observationSpace = new Box(0, 100, [1]);
  readonly actionSpace = new Discrete(2);
  readonly metadata = { renderModes: [], renderFps: 1 };
  private t = 0;
  constructor(private readonly length: number) {}
  reset(): ResetResult<Float32Array> {
    this.t = 0;
    return { observation: Float32Array.of(this.length), info: {} };
  }
  step(): StepResult<Float32Array> {
    this.t++;
    const done = this.t >= this.length;
    return {
      observation: Float32Array.of(this.length),
      reward: 1,
      terminated: done,
      truncated: false,
      info: {},
    };
  }
  render(): string {
    return "";
  }
  close(): void {}
}

/** Always action 0, one per observation row of size `obsSize`. */
const constantPolicy = (obsSize: number): Predictor => ({
  predict: (obs) => new Int32Array(obs.length / obsSize),
});

describe("evaluatePolicy()", () => {
  test("runs whole episodes of a single env and reports mean, population std and length", async () => {
    const result = await evaluatePolicy(constantPolicy(1), new FixedLengthEnv(7), { episodes: 3 });
    assert.deepEqual(result.episodes, [
      { return: 7, length: 7 },
      { return: 7, length: 7 },
      { return: 7, length: 7 },
    ]);
    assert.equal(result.meanReturn, 7);
    assert.equal(result.stdReturn, 0);
    assert.equal(result.meanLength, 7);
  });

  test("spreads episodes over a vector env's envs instead of favouring short episodes (SB3)", async () => {
    // env 0 ends after 1 step, env 1 after 10: the first 4 episodes to finish would all be env 0's;
    // SB3's rule gives each env (4 + i) // 2 = 2 episodes, so the mean length is (1 + 1 + 10 + 10) / 4
    for (const autoresetMode of ["next-step", "same-step"] as const) {
      const env = new SyncVectorEnv([() => new FixedLengthEnv(1), () => new FixedLengthEnv(10)], {
        autoresetMode,
      });
      const result = await evaluatePolicy(constantPolicy(1), env, { episodes: 4 });
      assert.equal(result.episodes.length, 4, autoresetMode);
      assert.equal(result.meanLength, 5.5, autoresetMode);
      assert.deepEqual(
        result.episodes.map((e) => e.return).sort((a, b) => a - b),
        [1, 1, 10, 10],
        autoresetMode,
      );
    }
  });

  test("makes the env from an id, and the same seed gives the same result", async () => {
    const first = await evaluatePolicy(constantPolicy(4), "CartPole-v1", { episodes: 3, seed: 5 });
    const second = await evaluatePolicy(constantPolicy(4), "CartPole-v1", { episodes: 3, seed: 5 });
    assert.equal(first.episodes.length, 3);
    assert.deepEqual(first, second);
    // always pushing left ends CartPole within a few dozen steps
    assert.ok(first.meanLength > 5 && first.meanLength < 60, `mean length ${first.meanLength}`);
    const vector = await evaluatePolicy(constantPolicy(4), make("CartPole-v1", { numEnvs: 2 }), {
      episodes: 4,
    });
    assert.equal(vector.episodes.length, 4);
  });

  test("passes info.actionMask to predict, so a deterministic policy never sends a masked action", async () => {
    // an untrained A2C (seed 0): its greedy action is masked out in some of RotatingMaskEnv's states,
    // so evaluation that ignored the mask would send masked actions (the precondition below)
    const model = new A2C(new SyncVectorEnv([() => new RotatingMaskEnv()]), { seed: 0 });
    const maskedStates = [0, 1, 2, 3].filter((k) => {
      const observation = new Float32Array(4);
      observation[k] = 1;
      const [action] = model.predict(observation, { deterministic: true });
      return RotatingMaskEnv.maskOf(k)[action] !== 1;
    });
    assert.ok(maskedStates.length > 0, "precondition: the unmasked greedy action is legal in every state");

    const single = new RotatingMaskEnv();
    const result = await evaluatePolicy(model, single, { episodes: 3 });
    assert.equal(result.meanLength, ROTATING_EPISODE);
    assert.equal(single.received.length, 3 * ROTATING_EPISODE); // every action was recorded
    assert.deepEqual(
      single.received.filter(({ action, mask }) => mask[action] !== 1),
      [],
      "single env",
    );

    for (const autoresetMode of ["next-step", "same-step", "disabled"] as const) {
      const envs = [new RotatingMaskEnv(), new RotatingMaskEnv()];
      const vector = new SyncVectorEnv(
        envs.map((env) => () => env),
        { autoresetMode },
      );
      await evaluatePolicy(model, vector, { episodes: 4 });
      const received = envs.flatMap((env) => env.received);
      // each env runs its 2 episodes; next-step mode may start a third before the loop stops
      assert.ok(received.length >= 4 * ROTATING_EPISODE, `${autoresetMode}: ${received.length} actions`);
      assert.deepEqual(
        received.filter(({ action, mask }) => mask[action] !== 1),
        [],
        autoresetMode,
      );
    }
  });

  test("rejects a non-positive number of episodes", async () => {
    await assert.rejects(evaluatePolicy(constantPolicy(1), new FixedLengthEnv(1), { episodes: 0 }), {
      code: "INVALID_OPTION",
    });
  });
});
