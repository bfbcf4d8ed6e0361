import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { pairedDifferenceInterval, wilsonInterval } from "./accuracyIntervals.js";

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

describe("wilsonInterval()", () => {
  test("matches the Wilson score interval worked by hand", () => {
    // by hand, z = 1.96: p = 0.2, n = 100: center (0.2 + 0.019208) / 1.038415 = 0.211100,
    // half 1.96 * sqrt(0.0016 + 0.00009604) / 1.038415 = 0.077733
    const i = wilsonInterval(20, 100);
    close(i.estimate, 0.2);
    close(i.low, 0.133367);
    close(i.high, 0.288829);
  });

  test("is not empty at 0 successes and stays in [0, 1]", () => {
    const i = wilsonInterval(0, 500);
    close(i.low, 0);
    // by hand: z² / (n + z²) = 3.8415 / 503.8415 = 0.007624
    close(i.high, 0.007624);
    assert.equal(wilsonInterval(500, 500).high, 1);
  });

  test("an impossible count is INVALID_ARGUMENT", () => {
    assert.throws(
      () => wilsonInterval(6, 5),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});

describe("pairedDifferenceInterval()", () => {
  test("mean difference ± z·sd/sqrt(n) on hand-made outcomes", () => {
    // d = [1, 1, 0, -1]: mean 0.25, sample variance (0.5625·2 + 0.0625 + 1.5625) / 3 = 0.916667
    const i = pairedDifferenceInterval([0, 0, 1, 1], [1, 1, 1, 0]);
    close(i.estimate, 0.25);
    const half = 1.959964 * Math.sqrt(0.916667 / 4);
    close(i.low, 0.25 - half);
    close(i.high, 0.25 + half);
  });

  test("identical outcomes give a zero-width interval at 0; unequal lengths are INVALID_ARGUMENT", () => {
    assert.deepEqual(pairedDifferenceInterval([1, 0, 1], [1, 0, 1]), { estimate: 0, low: 0, high: 0 });
    assert.throws(
      () => pairedDifferenceInterval([1, 0], [1]),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});
