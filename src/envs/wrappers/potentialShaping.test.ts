import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { make } from "../make.js";
import { FrozenLakeEnv } from "../toyText/frozenLake.js";
import { PotentialShaping, shapeTransitionTable, shapingReward } from "./potentialShaping.js";
import { TimeLimit } from "./timeLimit.js";

// FrozenLake 4x4, deterministic: state = row * 4 + col; actions 0 left, 1 down, 2 right, 3 up
const potential = (s: number) => s / 10;

describe("shapingReward()", () => {
  test("F = γΦ(s') − Φ(s), with Φ(s') = 0 when terminated (by hand: 0.9·2 − 1 = 0.8; 0 − 1 = −1)", () => {
    assert.ok(Math.abs(shapingReward(1, 2, 0.9, false) - 0.8) < 1e-12);
    assert.equal(shapingReward(1, 2, 0.9, true), -1);
  });
});

describe("PotentialShaping", () => {
  test("adds γΦ(s') − Φ(s) to each reward and keeps the env's reward in info", () => {
    const env = new PotentialShaping(make<number>("FrozenLake-v1", { isSlippery: false }), {
      potential,
      gamma: 0.5,
    });
    env.reset({ seed: 0 });
    const step = env.step(2); // 0 -> 1
    assert.equal(step.observation, 1);
    assert.ok(Math.abs(step.reward - (0 + 0.5 * 0.1 - 0)) < 1e-12);
    assert.equal(step.info.unshapedReward, 0);
  });

  test("with γ = 1 the shaping telescopes to −Φ(s_0) over a terminated episode (Φ(terminal) = 0)", () => {
    const env = new PotentialShaping(make<number>("FrozenLake-v1", { isSlippery: false }), {
      potential: (s: number) => 1 + s,
      gamma: 1,
    });
    env.reset({ seed: 0 });
    let shaped = 0;
    let unshaped = 0;
    // right, right, down, down, down, right: 0 -> 1 -> 2 -> 6 -> 10 -> 14 -> 15 (goal)
    for (const action of [2, 2, 1, 1, 1, 2]) {
      const step = env.step(action);
      shaped += step.reward;
      unshaped += step.info.unshapedReward as number;
      if (step.terminated) break;
    }
    assert.equal(unshaped, 1);
    assert.ok(Math.abs(shaped - (unshaped - 1)) < 1e-12, `${shaped}`); // Φ(s_0) = 1
  });

  test("a truncated step keeps γΦ(s'): the time limit is not an MDP end", () => {
    const env = new PotentialShaping(new TimeLimit(make<number>("FrozenLake-v1", { isSlippery: false }), 1), {
      potential,
      gamma: 1,
    });
    env.reset({ seed: 0 });
    const step = env.step(2);
    assert.equal(step.truncated, true);
    assert.equal(step.terminated, false);
    assert.ok(Math.abs(step.reward - 0.1) < 1e-12);
  });

  test("errors: step before reset, a non-finite potential, a missing potential, γ out of range", () => {
    const env = new PotentialShaping(make<number>("FrozenLake-v1"), { potential });
    assert.throws(() => env.step(0), { code: "RESET_NEEDED" });
    const bad = new PotentialShaping(make<number>("FrozenLake-v1"), { potential: () => Number.NaN });
    assert.throws(() => bad.reset({ seed: 0 }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new PotentialShaping(make<number>("FrozenLake-v1"), {} as never), {
      code: "INVALID_OPTION",
    });
    assert.throws(() => new PotentialShaping(make<number>("FrozenLake-v1"), { potential, gamma: 2 }), {
      code: "INVALID_OPTION",
    });
  });

  test("getState/setState restore the current potential", () => {
    const a = new PotentialShaping(make<number>("FrozenLake-v1", { isSlippery: false }), { potential });
    a.reset({ seed: 0 });
    a.step(2);
    const b = new PotentialShaping(make<number>("FrozenLake-v1", { isSlippery: false }), { potential });
    b.reset({ seed: 1 });
    b.setState(a.getState());
    assert.deepEqual(b.step(1), a.step(1));
  });
});

describe("shapeTransitionTable()", () => {
  test("shapes every outcome and zeroes Φ(s') on terminating ones", () => {
    const P = new FrozenLakeEnv({ isSlippery: false }).P;
    const shaped = shapeTransitionTable(
      P,
      Array.from({ length: 16 }, (_, s) => potential(s)),
      0.9,
    );
    const [, next, reward, terminated] = shaped[14][2][0]; // 14 -> 15, the goal
    assert.equal(next, 15);
    assert.equal(terminated, true);
    assert.ok(Math.abs(reward - (1 - 1.4)) < 1e-12);
    assert.ok(Math.abs(shaped[0][2][0][2] - 0.9 * 0.1) < 1e-12);
    assert.throws(() => shapeTransitionTable(P, [1, 2], 0.9), { code: "SHAPE_MISMATCH" });
  });
});
