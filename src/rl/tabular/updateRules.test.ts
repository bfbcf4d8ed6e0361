import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { expectedSarsaUpdate } from "./expectedSarsa.js";
import { qLearningUpdate } from "./qLearning.js";
import { sarsaUpdate } from "./sarsa.js";

// Two states × two actions; Q(1, ·) = [2, 4]. Every hand value below is α = 0.5, γ = 0.9, R = 1,
// S = 0, A = 0, Q(0, 0) = 0 unless stated.
const table = () => new Float64Array([0, 0, 2, 4]);
const step = { state: 0, action: 0, reward: 1, nextState: 1 };

describe("qLearningUpdate() (S&B eq. 6.8)", () => {
  test("bootstraps from max_a Q(S', a)", () => {
    const q = table();
    const delta = qLearningUpdate(q, 2, { ...step, terminated: false }, 0.5, 0.9);
    // by hand: δ = 1 + 0.9·4 − 0 = 4.6; Q(0, 0) = 0.5·4.6 = 2.3
    assert.ok(Math.abs(delta - 4.6) < 1e-12);
    assert.ok(Math.abs(q[0] - 2.3) < 1e-12);
    assert.deepEqual(Array.from(q.subarray(1)), [0, 2, 4]);
  });

  test("does not bootstrap from a terminal S'", () => {
    const q = table();
    q[0] = 0.4;
    const delta = qLearningUpdate(q, 2, { ...step, terminated: true }, 0.5, 0.9);
    // by hand: δ = 1 − 0.4 = 0.6; Q(0, 0) = 0.4 + 0.3 = 0.7
    assert.ok(Math.abs(delta - 0.6) < 1e-12);
    assert.ok(Math.abs(q[0] - 0.7) < 1e-12);
  });

  test("takes the max over the actions allowed in S' only", () => {
    const q = table();
    qLearningUpdate(q, 2, { ...step, terminated: false, nextActionMask: [1, 0] }, 0.5, 0.9);
    // by hand: δ = 1 + 0.9·2 = 2.8; Q(0, 0) = 1.4
    assert.ok(Math.abs(q[0] - 1.4) < 1e-12);
  });
});

describe("sarsaUpdate() (S&B eq. 6.7)", () => {
  test("bootstraps from Q(S', A') for the A' the policy picked", () => {
    const q = table();
    const delta = sarsaUpdate(q, 2, { ...step, terminated: false }, 0, 0.5, 0.9);
    // by hand: A' = 0: δ = 1 + 0.9·2 = 2.8; Q(0, 0) = 1.4
    assert.ok(Math.abs(delta - 2.8) < 1e-12);
    assert.ok(Math.abs(q[0] - 1.4) < 1e-12);
  });

  test("does not bootstrap from a terminal S' (A' is not needed)", () => {
    const q = table();
    const delta = sarsaUpdate(q, 2, { ...step, terminated: true }, null, 0.5, 0.9);
    assert.equal(delta, 1);
    assert.equal(q[0], 0.5);
  });

  test("needs A' when S' is not terminal", () => {
    assert.throws(
      () => sarsaUpdate(table(), 2, { ...step, terminated: false }, null, 0.5, 0.9),
      (error: { code?: string }) => error.code === "INVALID_ARGUMENT",
    );
  });
});

describe("expectedSarsaUpdate() (S&B eq. 6.9)", () => {
  test("bootstraps from the ε-greedy expectation of Q(S', ·)", () => {
    const q = table();
    const delta = expectedSarsaUpdate(q, 2, { ...step, terminated: false }, 0.5, 0.9, 0.2);
    // by hand: π(·|1) = [0.1, 0.9]; E = 0.2 + 3.6 = 3.8; δ = 1 + 0.9·3.8 = 4.42; Q(0, 0) = 2.21
    assert.ok(Math.abs(delta - 4.42) < 1e-12);
    assert.ok(Math.abs(q[0] - 2.21) < 1e-12);
  });

  test("with ε = 0 is Q-learning's update", () => {
    const a = table();
    const b = table();
    expectedSarsaUpdate(a, 2, { ...step, terminated: false }, 0.5, 0.9, 0);
    qLearningUpdate(b, 2, { ...step, terminated: false }, 0.5, 0.9);
    assert.deepEqual(Array.from(a), Array.from(b));
  });

  test("does not bootstrap from a terminal S'", () => {
    const q = table();
    expectedSarsaUpdate(q, 2, { ...step, terminated: true }, 0.5, 0.9, 0.2);
    assert.equal(q[0], 0.5);
  });

  test("gives masked actions of S' no weight", () => {
    const q = table();
    expectedSarsaUpdate(q, 2, { ...step, terminated: false, nextActionMask: [1, 0] }, 0.5, 0.9, 0.2);
    // by hand: only action 0 allowed, π = [1, 0]: δ = 1 + 0.9·2 = 2.8; Q(0, 0) = 1.4
    assert.ok(Math.abs(q[0] - 1.4) < 1e-12);
  });
});
