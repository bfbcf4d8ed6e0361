import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "./rng.js";

describe("Rng", () => {
  test("same seed gives the same stream; different seeds differ", () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const xs = Array.from({ length: 10 }, () => a.nextUint32());
    const ys = Array.from({ length: 10 }, () => b.nextUint32());
    const zs = Array.from({ length: 10 }, () => c.nextUint32());
    assert.deepEqual(xs, ys);
    assert.notDeepEqual(xs, zs);
  });

  test("the stream is pinned: seed 0 gives these first values on every platform", () => {
    // recorded from this implementation; pure 32-bit integer arithmetic, so platform independent
    const rng = new Rng(0);
    const first = Array.from({ length: 4 }, () => rng.nextUint32());
    assert.deepEqual(first, PINNED_SEED0);
  });

  test("matches the xoshiro128** reference formula from state [1, 2, 3, 4]", () => {
    // by hand from the reference C code: result = rotl(s1 * 5, 7) * 9 = rotl(10, 7) * 9 = 1280 * 9
    const rng = new Rng(0);
    rng.setState({ s: [1, 2, 3, 4], spareNormal: null });
    assert.equal(rng.nextUint32(), 11520);
  });

  test("uniform lies in [0, 1) with mean near 1/2", () => {
    const rng = new Rng(1);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = rng.uniform();
      assert.ok(u >= 0 && u < 1);
      sum += u;
    }
    assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.005);
  });

  test("normal has mean 0 and variance 1", () => {
    const rng = new Rng(2);
    let sum = 0;
    let sumSq = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    assert.ok(Math.abs(sum / n) < 0.01);
    assert.ok(Math.abs(sumSq / n - 1) < 0.01);
  });

  test("integer(n) draws what rejection with exact remainders gives, for n from 1 to 2^32 - 1", () => {
    // the reference takes remainders in BigInt; the implementation uses a float64 division
    const reference = (source: Rng, n: number): number => {
      const threshold = Number(2n ** 32n % BigInt(n));
      for (;;) {
        const x = source.nextUint32();
        if (x >= threshold) return Number(BigInt(x) % BigInt(n));
      }
    };
    const picker = new Rng(5);
    const sizes = [
      1,
      2,
      3,
      6,
      7,
      255,
      256,
      1000,
      65_537,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 31 + 1,
      3_000_000_019,
      2 ** 32 - 1,
    ];
    for (let i = 0; i < 200; i++) sizes.push(1 + Math.floor(picker.uniform() * (2 ** 32 - 1)));
    for (const n of sizes) {
      const a = new Rng(n);
      const b = new Rng(n);
      for (let i = 0; i < 50; i++) assert.equal(a.integer(n), reference(b, n), `n = ${n}, draw ${i}`);
    }
  });

  test("integer is unbiased over a small range", () => {
    const rng = new Rng(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.integer(6)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10_000) < 400, `count ${c}`);
    assert.throws(() => rng.integer(0), RangeError);
  });

  test("categorical follows the weights and never picks a zero weight", () => {
    const rng = new Rng(4);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[rng.categorical([1, 0, 3])]++;
    assert.equal(counts[1], 0);
    assert.ok(Math.abs(counts[2] / counts[0] - 3) < 0.2);
    assert.throws(() => rng.categorical([0, 0]), RangeError);
    assert.throws(() => rng.categorical([1, Number.NaN]), RangeError);
  });

  test("categoricalWithTotal draws what categorical draws, given the sum in index order", () => {
    const source = new Rng(6);
    for (let trial = 0; trial < 200; trial++) {
      const weights = Float64Array.from({ length: 1 + source.integer(50) }, () =>
        source.uniform() < 0.3 ? 0 : Math.exp(10 * source.uniform() - 5),
      );
      weights[source.integer(weights.length)] = 1;
      let total = 0;
      for (const w of weights) total += w;
      const a = new Rng(100 + trial);
      const b = new Rng(100 + trial);
      for (let i = 0; i < 20; i++)
        assert.equal(b.categoricalWithTotal(weights, total), a.categorical(weights));
    }
  });

  test("permutation contains every index once", () => {
    const p = new Rng(5).permutation(50);
    assert.deepEqual(
      [...p].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test("getState/setState resumes the exact stream, including a pending normal", () => {
    const rng = new Rng(6);
    rng.normal(); // leaves a spare normal pending
    const state = JSON.parse(JSON.stringify(rng.getState()));
    const expected = [rng.normal(), rng.uniform(), rng.nextUint32()];
    const restored = new Rng(999);
    restored.setState(state);
    assert.deepEqual([restored.normal(), restored.uniform(), restored.nextUint32()], expected);
  });

  test("spawn gives an independent, reproducible child", () => {
    const a = new Rng(9).spawn();
    const b = new Rng(9).spawn();
    assert.equal(a.nextUint32(), b.nextUint32());
  });
});

const PINNED_SEED0 = [3809008728, 1133695204, 53579671, 2891528803];
