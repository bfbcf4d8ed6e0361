import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { splitByPolicyLag } from "./policyLag.js";

describe("splitByPolicyLag()", () => {
  const samples = [
    { id: "a", version: 10 },
    { id: "b", version: 7 },
    { id: "c", version: 8 },
    { id: "d", version: 5 },
    { id: "e", version: 9 },
  ];
  const version = (s: { version: number }) => s.version;

  test("drops exactly the samples more than maxPolicyLag versions behind, keeping arrival order", () => {
    // learner at 10, bound 2: lags 0, 3, 2, 5, 1
    const split = splitByPolicyLag(samples, version, 10, 2);
    assert.deepEqual(
      split.kept.map((s) => s.id),
      ["a", "c", "e"],
    );
    assert.deepEqual(split.lags, [0, 2, 1]);
    assert.deepEqual(
      split.stale.map((s) => s.id),
      ["b", "d"],
    );
  });

  test("a lag equal to the bound is kept; bound 0 keeps only the current version", () => {
    assert.deepEqual(
      splitByPolicyLag(samples, version, 10, 3).stale.map((s) => s.id),
      ["d"],
    );
    const strict = splitByPolicyLag(samples, version, 10, 0);
    assert.deepEqual(
      strict.kept.map((s) => s.id),
      ["a"],
    );
    assert.equal(strict.stale.length, 4);
  });

  test("null keeps everything, with its lags; nothing in, nothing out", () => {
    const all = splitByPolicyLag(samples, version, 10, null);
    assert.equal(all.kept.length, 5);
    assert.deepEqual(all.lags, [0, 3, 2, 5, 1]);
    assert.equal(all.stale.length, 0);
    assert.deepEqual(splitByPolicyLag([], version, 3, 1), { kept: [], lags: [], stale: [] });
  });
});
