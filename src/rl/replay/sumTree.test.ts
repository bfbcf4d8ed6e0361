import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { MinTree, SumTree } from "./sumTree.js";

const code = (c: string) => (error: unknown) => error instanceof ProximalError && error.code === c;

describe("SumTree", () => {
  test("total is the sum of the leaves and findPrefixSum returns the interval holding the mass", () => {
    const tree = new SumTree(5); // 8 leaves internally, 3 of them padding
    const p = [1, 0, 2, 3, 4];
    p.forEach((v, i) => {
      tree.set(i, v);
    });
    assert.equal(tree.total, 10);
    // by hand: intervals [0,1) → 0, (leaf 1 is empty), [1,3) → 2, [3,6) → 3, [6,10) → 4
    const cases: [number, number][] = [
      [0, 0],
      [0.999, 0],
      [1, 2],
      [2.5, 2],
      [3, 3],
      [5.999, 3],
      [6, 4],
      [9.999, 4],
    ];
    for (const [mass, index] of cases) assert.equal(tree.findPrefixSum(mass), index, `mass ${mass}`);
  });

  test("updates replace a leaf and keep every ancestor equal to the sum of its children", () => {
    const tree = new SumTree(4);
    for (let i = 0; i < 4; i++) tree.set(i, 1);
    tree.set(2, 5);
    assert.equal(tree.total, 8);
    assert.equal(tree.get(2), 5);
    assert.equal(tree.findPrefixSum(2), 2);
    assert.equal(tree.findPrefixSum(7.5), 3);
    tree.set(2, 0);
    assert.equal(tree.total, 3);
    assert.equal(tree.findPrefixSum(2), 3); // the empty leaf 2 is skipped
  });

  test("never returns a zero leaf: mass at or past the total lands on the last positive leaf", () => {
    const tree = new SumTree(6);
    tree.set(0, 0.1);
    tree.set(3, 0.2);
    // leaves 4, 5 (and the padding) are 0: float rounding in u·total must not select them
    assert.equal(tree.findPrefixSum(tree.total), 3);
    assert.equal(tree.findPrefixSum(tree.total * 2), 3);
    assert.equal(tree.findPrefixSum(0.1), 3);
  });

  test("a single leaf and a capacity of 1 work", () => {
    const tree = new SumTree(1);
    tree.set(0, 2);
    assert.equal(tree.total, 2);
    assert.equal(tree.findPrefixSum(1.9), 0);
  });

  test("a zero total, a negative or NaN mass and bad leaves throw with a code", () => {
    const tree = new SumTree(3);
    assert.throws(() => tree.findPrefixSum(0), code("INVALID_ARGUMENT"));
    tree.set(1, 1);
    assert.throws(() => tree.findPrefixSum(-0.1), code("INVALID_ARGUMENT"));
    assert.throws(() => tree.findPrefixSum(Number.NaN), code("INVALID_ARGUMENT"));
    assert.throws(() => tree.set(1, -1), code("INVALID_ARGUMENT"));
    assert.throws(() => tree.set(1, Number.POSITIVE_INFINITY), code("INVALID_ARGUMENT"));
    assert.throws(() => tree.set(1, Number.NaN), code("NUMERICAL_ERROR"));
    assert.throws(() => tree.set(3, 1), code("INVALID_ARGUMENT"));
    assert.throws(() => tree.set(0.5, 1), code("INVALID_ARGUMENT"));
    assert.throws(() => new SumTree(0), code("INVALID_OPTION"));
  });

  test("no drift: after 100k random updates the root equals a fresh sum of the leaves, bit for bit", () => {
    const rng = new Rng(0);
    const capacity = 1000;
    const tree = new SumTree(capacity);
    for (let step = 0; step < 100_000; step++)
      tree.set(rng.integer(capacity), Math.fround(rng.uniform() * 10));
    const rebuilt = new SumTree(capacity);
    rebuilt.setLeaves(tree.leaves());
    assert.equal(tree.total, rebuilt.total);
    let direct = 0;
    for (const v of tree.leaves()) direct += v;
    assert.ok(Math.abs(tree.total - direct) <= 1e-9 * direct);
    for (let k = 0; k < 200; k++) {
      const mass = rng.uniform() * tree.total;
      assert.equal(tree.findPrefixSum(mass), rebuilt.findPrefixSum(mass));
    }
  });

  test("draws index i with probability p_i / Σp (chi-square, seed 0)", () => {
    const p = [1, 2, 3, 4, 0, 10];
    const tree = new SumTree(p.length);
    p.forEach((v, i) => {
      tree.set(i, v);
    });
    const rng = new Rng(0);
    const draws = 40_000;
    const counts = new Array(p.length).fill(0);
    for (let d = 0; d < draws; d++) counts[tree.findPrefixSum(rng.uniform() * tree.total)]++;
    assert.equal(counts[4], 0);
    let chi2 = 0;
    for (let i = 0; i < p.length; i++) {
      if (p[i] === 0) continue;
      const expected = (draws * p[i]) / 20;
      chi2 += (counts[i] - expected) ** 2 / expected;
    }
    assert.ok(chi2 < 20.5, `chi2 ${chi2} (4 d.o.f.; 20.5 is the 0.9996 quantile)`);
  });
});

describe("MinTree", () => {
  test("min over the set leaves; empty leaves are +Infinity", () => {
    const tree = new MinTree(5);
    assert.equal(tree.min, Number.POSITIVE_INFINITY);
    tree.set(3, 2);
    tree.set(1, 0.5);
    assert.equal(tree.min, 0.5);
    tree.set(1, 4);
    assert.equal(tree.min, 2);
    tree.setLeaves([3, 3, 3, Number.POSITIVE_INFINITY, 1]);
    assert.equal(tree.min, 1);
    assert.throws(() => tree.setLeaves([1, 2]), code("SHAPE_MISMATCH"));
  });
});
