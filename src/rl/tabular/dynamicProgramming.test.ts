import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CliffWalkingEnv } from "../../envs/toyText/cliffWalking.js";
import { FrozenLakeEnv } from "../../envs/toyText/frozenLake.js";
import { policyEvaluation, policyIteration, valueIteration } from "./dynamicProgramming.js";

const cliffP = new CliffWalkingEnv().P;
const start = 36; // CliffWalking's start, (3, 0)

describe("valueIteration()", () => {
  test("deterministic FrozenLake 4x4, γ = 0.99: V(start) = γ^5 (six moves, reward 1 on the last)", () => {
    const { V, policy } = valueIteration(new FrozenLakeEnv({ isSlippery: false }).P, { gamma: 0.99 });
    assert.ok(Math.abs(V[0] - 0.99 ** 5) < 1e-9, `V(0) = ${V[0]}`);
    // next to the goal, 14 (3, 2) moves right (2); above it, 10 (2, 2) moves down (1), not right
    // into the hole at 11 (2, 3)
    assert.equal(policy[14], 2);
    assert.equal(policy[10], 1);
  });

  test("deterministic FrozenLake 8x8, γ = 0.99: V(start) = γ^13 (fourteen moves)", () => {
    const { V } = valueIteration(new FrozenLakeEnv({ isSlippery: false, mapName: "8x8" }).P, { gamma: 0.99 });
    assert.ok(Math.abs(V[0] - 0.99 ** 13) < 1e-9, `V(0) = ${V[0]}`);
  });

  test("CliffWalking, γ = 1: V(start) = −13 (up, eleven steps right, down)", () => {
    const { V, Q, policy } = valueIteration(cliffP, { gamma: 1 });
    assert.ok(Math.abs(V[start] + 13) < 1e-9, `V(start) = ${V[start]}`);
    assert.equal(policy[start], 0); // up
    // stepping right from the start falls off the cliff: −100, back to the start (V = −13)
    assert.ok(Math.abs(Q[start * 4 + 1] - (-100 - 13)) < 1e-9);
  });

  test("slippery FrozenLake 4x4: matches Gymnasium's documented optimum (about 0.74 success)", () => {
    // the registered threshold note: optimum 0.74 (γ = 1, no time limit, so an upper bound)
    const { V } = valueIteration(new FrozenLakeEnv().P, { gamma: 1, theta: 1e-12 });
    assert.ok(V[0] > 0.74 && V[0] < 0.83, `V(0) = ${V[0]}`);
  });
});

describe("policyIteration()", () => {
  test("agrees with value iteration on CliffWalking, γ = 0.99", () => {
    const vi = valueIteration(cliffP, { gamma: 0.99 });
    const pi = policyIteration(cliffP, { gamma: 0.99 });
    for (let s = 0; s < cliffP.length; s++) assert.ok(Math.abs(vi.V[s] - pi.V[s]) < 1e-7, `state ${s}`);
    // by hand: thirteen −1 rewards, discounted: −(1 − 0.99^13) / (1 − 0.99)
    assert.ok(Math.abs(pi.V[start] + (1 - 0.99 ** 13) / 0.01) < 1e-7);
  });

  test("agrees with value iteration on slippery FrozenLake 8x8", () => {
    const P = new FrozenLakeEnv({ mapName: "8x8" }).P;
    const vi = valueIteration(P, { gamma: 0.99 });
    const pi = policyIteration(P, { gamma: 0.99 });
    assert.ok(Math.abs(vi.V[0] - pi.V[0]) < 1e-7, `${vi.V[0]} vs ${pi.V[0]}`);
  });

  test("with γ = 1 and a policy that never terminates, evaluation fails with NUMERICAL_ERROR", () => {
    // action 0 (up) everywhere keeps the top row walking into the wall forever
    assert.throws(
      () => policyIteration(cliffP, { gamma: 1, maxIterations: 500 }),
      (error: { code?: string }) => error.code === "NUMERICAL_ERROR",
    );
  });
});

describe("policyEvaluation()", () => {
  test("CliffWalking's edge path is worth −13 and the far-row path −17 (γ = 1)", () => {
    // a policy that reaches the goal from every state: up in row 3, right in rows 0 and 2 (the
    // edge path) or row 0 (the far path), down in the last column
    const policyAlong = (row: number) => {
      const policy = new Int32Array(48);
      for (let s = 0; s < 48; s++) {
        const r = Math.floor(s / 12);
        const c = s % 12;
        policy[s] = c === 11 ? 2 : r > row ? 0 : r === row ? 1 : 2;
      }
      return policy;
    };
    assert.ok(Math.abs(policyEvaluation(cliffP, policyAlong(2), { gamma: 1 })[start] + 13) < 1e-9);
    assert.ok(Math.abs(policyEvaluation(cliffP, policyAlong(0), { gamma: 1 })[start] + 17) < 1e-9);
  });
});
