import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../../random/rng.js";
import {
  epsilonGreedyAction,
  epsilonGreedyProbabilities,
  greedyAction,
  maxActionValue,
} from "./epsilonGreedy.js";

function assertClose(actual: ArrayLike<number>, expected: number[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) < 1e-12, `[${i}] ${actual[i]} != ${expected[i]}`);
  }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe("greedyAction()", () => {
  const q = new Float64Array([1, 3, 3, 2]); // one state, 4 actions; actions 1 and 2 tie

  test("breaks ties by the lowest index without an rng", () => {
    assert.equal(greedyAction(q, 4, 0, null, null), 1);
  });

  test("breaks ties uniformly with the seeded rng, and only among the maxima", () => {
    const rng = new Rng(0);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 2000; i++) counts[greedyAction(q, 4, 0, null, rng)]++;
    assert.equal(counts[0] + counts[3], 0);
    assert.ok(counts[1] > 900 && counts[2] > 900, `counts ${counts}`);
  });

  test("respects the action mask", () => {
    assert.equal(greedyAction(q, 4, 0, [1, 0, 0, 1], null), 3);
    assert.equal(maxActionValue(q, 4, 0, [1, 0, 0, 1]), 2);
  });

  test("refuses a mask that allows nothing or has the wrong length", () => {
    assert.equal(
      codeOf(() => greedyAction(q, 4, 0, [0, 0, 0, 0], null)),
      "INVALID_ARGUMENT",
    );
    assert.equal(
      codeOf(() => greedyAction(q, 4, 0, [1, 0], null)),
      "SHAPE_MISMATCH",
    );
  });
});

describe("epsilonGreedyAction()", () => {
  test("never picks a masked action, greedy or random", () => {
    const q = new Float64Array([5, 0, 1, 0]);
    const rng = new Rng(1);
    for (let i = 0; i < 500; i++) {
      const a = epsilonGreedyAction(q, 4, 0, [0, 1, 1, 0], 0.5, rng);
      assert.ok(a === 1 || a === 2, `picked masked action ${a}`);
    }
  });

  test("with ε = 1 draws every allowed action about equally", () => {
    const q = new Float64Array([5, 0, 1, 0]);
    const rng = new Rng(2);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[epsilonGreedyAction(q, 4, 0, null, 1, rng)]++;
    for (const c of counts) assert.ok(c > 900 && c < 1100, `counts ${counts}`);
  });
});

describe("epsilonGreedyProbabilities()", () => {
  test("gives ε/m to every allowed action and shares 1 − ε among the maxima", () => {
    // by hand: ε 0.2, 4 allowed, maxima {1, 2}: 0.05 each + 0.4 to each maximum
    const p = epsilonGreedyProbabilities(new Float64Array([1, 3, 3, 2]), 4, 0, null, 0.2);
    assertClose(p, [0.05, 0.45, 0.45, 0.05]);
  });

  test("gives masked actions nothing", () => {
    // by hand: ε 0.2, allowed {0, 3}, maximum 3: [0.1 + 0, 0, 0, 0.1 + 0.8]
    const p = epsilonGreedyProbabilities(new Float64Array([1, 3, 3, 2]), 4, 0, [1, 0, 0, 1], 0.2);
    assertClose(p, [0.1, 0, 0, 0.9]);
  });
});
