import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import { expandData } from "./ops.js";

/** NumPy broadcasting one output element at a time: the definition expandData's block copies must match. */
function expandByIndex(data: Float32Array, from: number[], to: number[]): Float32Array {
  const rank = to.length;
  const padded = [...new Array<number>(rank - from.length).fill(1), ...from];
  const out = new Float32Array(to.reduce((a, b) => a * b, 1));
  for (let o = 0; o < out.length; o++) {
    let rest = o;
    let src = 0;
    let stride = 1;
    for (let ax = rank - 1; ax >= 0; ax--) {
      const i = rest % to[ax];
      rest = Math.floor(rest / to[ax]);
      if (padded[ax] !== 1) src += i * stride;
      stride *= padded[ax];
    }
    out[o] = data[src];
  }
  return out;
}

describe("expandData()", () => {
  test("matches element-by-element broadcasting on every mix of kept, broadcast and size-1 axes", () => {
    const rng = new Rng(11);
    const sizes = [1, 2, 3, 17];
    let checked = 0;
    for (let trial = 0; trial < 400; trial++) {
      const rank = 1 + rng.integer(4);
      const to = Array.from({ length: rank }, () => sizes[rng.integer(sizes.length)]);
      // drop leading axes sometimes; broadcast a random subset of the rest
      const drop = rng.integer(rank);
      const from = to.slice(drop).map((d) => (rng.uniform() < 0.5 ? 1 : d));
      const data = Float32Array.from({ length: from.reduce((a, b) => a * b, 1) }, () => rng.uniform());
      assert.deepEqual(expandData(data, from, to), expandByIndex(data, from, to), `[${from}] -> [${to}]`);
      checked++;
    }
    assert.equal(checked, 400);
  });

  test("C51's shapes: a value stream over actions, and the support over rows", () => {
    const value = Float32Array.from({ length: 2 * 51 }, (_, i) => i);
    const out = expandData(value, [2, 1, 51], [2, 3, 51]);
    assert.deepEqual(out.subarray(51, 102), value.subarray(0, 51)); // row 0, action 1 = row 0's stream
    assert.deepEqual(out.subarray(3 * 51, 4 * 51), value.subarray(51)); // row 1, action 0
    const column = Float32Array.from([1, 2]);
    assert.deepEqual(Array.from(expandData(column, [2, 1], [2, 3])), [1, 1, 1, 2, 2, 2]);
    const ints = Int32Array.from([4, 5]);
    assert.deepEqual(Array.from(expandData(ints, [2], [2, 2])), [4, 5, 4, 5]);
  });
});
