import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../../random/rng.js";
import { comparisonKey, completionKey, splitByKey } from "./heldOut.js";

describe("comparisonKey()", () => {
  test("is the same for (prompt, a, b) and (prompt, b, a), and differs by prompt or response", () => {
    const pair = { prompt: [1, 5], chosen: [7, 2], rejected: [6, 2] };
    assert.equal(comparisonKey(pair), comparisonKey({ prompt: [1, 5], chosen: [6, 2], rejected: [7, 2] }));
    assert.notEqual(comparisonKey(pair), comparisonKey({ ...pair, prompt: [1, 6] }));
    assert.notEqual(comparisonKey(pair), comparisonKey({ ...pair, chosen: [7, 2, 2] }));
    // token boundaries count: [1, 12] is not [11, 2]
    assert.notEqual(
      comparisonKey({ prompt: [1], chosen: [1, 12], rejected: [3] }),
      comparisonKey({ prompt: [1], chosen: [11, 2], rejected: [3] }),
    );
  });

  test("text: swapped responses match, and no separator inside the text makes two comparisons collide", () => {
    const pair = { prompt: "2+2=", chosen: "4", rejected: "5" };
    assert.equal(comparisonKey(pair), comparisonKey({ prompt: "2+2=", chosen: "5", rejected: "4" }));
    assert.notEqual(
      comparisonKey({ prompt: "a|b", chosen: "c", rejected: "d" }),
      comparisonKey({ prompt: "a", chosen: "b|c", rejected: "d" }),
    );
    assert.notEqual(
      comparisonKey({ prompt: 'a","b', chosen: "c", rejected: "d" }),
      comparisonKey({ prompt: "a", chosen: 'b","c', rejected: "d" }),
    );
  });
});

describe("completionKey()", () => {
  test("is the (prompt, completion) pair: equal for copies, different when text moves across the boundary", () => {
    assert.equal(completionKey("2+2=", "4"), completionKey("2+2=", "4"));
    assert.notEqual(completionKey("2+2=", "4"), completionKey("2+2", "=4"));
    assert.notEqual(completionKey("2+2=", "4"), completionKey("4", "2+2="));
  });
});

describe("splitByKey()", () => {
  test("puts every copy of a key on one side and keeps the given order on each side", () => {
    // 30 rows over 7 keys, in a seeded order
    const rng = new Rng(11);
    const rows = Array.from({ length: 30 }, (_, i) => ({ key: `k${rng.integer(7)}`, i }));
    const { train, heldOut, distinctKeys } = splitByKey(rows, (r) => r.key, 0.3, new Rng(0));
    assert.equal(distinctKeys, new Set(rows.map((r) => r.key)).size);
    const trainKeys = new Set(train.map((r) => r.key));
    assert.deepEqual(
      heldOut.filter((r) => trainKeys.has(r.key)),
      [],
    );
    assert.ok(train.length > 0 && heldOut.length > 0, `${train.length} train, ${heldOut.length} held out`);
    assert.deepEqual(
      [...train, ...heldOut].map((r) => r.i).sort((a, b) => a - b),
      rows.map((r) => r.i),
    );
    assert.deepEqual(
      train.map((r) => r.i),
      [...train.map((r) => r.i)].sort((a, b) => a - b),
    );
    assert.deepEqual(
      heldOut.map((r) => r.i),
      [...heldOut.map((r) => r.i)].sort((a, b) => a - b),
    );
  });

  test("distinct rows split by position; one key leaves a side empty for the caller to refuse", () => {
    const rows = Array.from({ length: 10 }, (_, i) => String(i));
    const split = splitByKey(rows, (r) => r, 0.25, new Rng(0));
    assert.deepEqual(split.heldOut, ["0", "1"]); // floor(10 · 0.25) = 2
    assert.deepEqual(split.train, rows.slice(2));
    const same = splitByKey(["a", "a", "a"], (r) => r, 0.2, new Rng(0));
    assert.equal(same.train.length * same.heldOut.length, 0);
    assert.equal(same.distinctKeys, 1);
  });
});
