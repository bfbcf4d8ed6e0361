import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import * as ops from "./ops.js";
import { grad, tensor } from "./tensor.js";

// slice, concat and slice's gradient (zeros with the block placed in) share one block copy that
// merges trailing axes spanned in full and copies long rows with a typed-array set, and permute
// copies whole rows when it keeps the last axis; checked here against one element at a time, on
// shapes that exercise short rows, long rows and merged axes.

/** Row-major flat index of `index` in `shape`. */
function flat(index: number[], shape: readonly number[]): number {
  return index.reduce((acc, i, ax) => acc * shape[ax] + i, 0);
}

/** Every index of `shape`, in row-major order. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let o = 0; o < n; o++) {
    const index = new Array<number>(shape.length);
    let rest = o;
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      index[ax] = rest % shape[ax];
      rest = Math.floor(rest / shape[ax]);
    }
    yield index;
  }
}

function randomData(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe("block copies", () => {
  const shapes = [[3, 5, 40], [2, 7, 3], [4, 33], [2, 3, 4, 37], [64]];

  test("slice, and its gradient, match element-by-element indexing on every axis", () => {
    const rng = new Rng(5);
    let checked = 0;
    for (const shape of shapes) {
      for (let axis = 0; axis < shape.length; axis++) {
        for (const [start, end] of [
          [0, shape[axis]],
          [1, shape[axis]],
          [0, shape[axis] - 1],
          [1, Math.max(2, shape[axis] - 1)],
        ]) {
          const starts = shape.map((_, i) => (i === axis ? start : 0));
          const ends = shape.map((d, i) => (i === axis ? end : d));
          const data = randomData(
            rng,
            shape.reduce((a, b) => a * b, 1),
          );
          const x = tensor(data, shape, { requiresGrad: true });
          const y = ops.slice(x, starts, ends);
          const outShape = shape.map((d, i) => (i === axis ? end - start : d));
          assert.deepEqual(y.shape, outShape);
          const weights = randomData(rng, y.size);
          for (const index of indices(outShape)) {
            const src = index.map((v, i) => v + starts[i]);
            assert.equal(y.values[flat(index, outShape)], data[flat(src, shape)]);
          }
          // the gradient of Σ w ⊙ slice(x) is w placed into zeros
          const [g] = grad(ops.sum(ops.mul(y, tensor(weights, outShape))), [x]);
          for (const index of indices(shape)) {
            const inside = index.every((v, i) => v >= starts[i] && v < ends[i]);
            const expected = inside
              ? weights[
                  flat(
                    index.map((v, i) => v - starts[i]),
                    outShape,
                  )
                ]
              : 0;
            assert.equal(g.values[flat(index, shape)], expected);
          }
          checked++;
        }
      }
    }
    assert.equal(checked, 4 * shapes.reduce((a, s) => a + s.length, 0));
  });

  test("permute matches element-by-element indexing for every order of the axes", () => {
    const rng = new Rng(7);
    const permutations = (n: number): number[][] =>
      n === 1
        ? [[0]]
        : permutations(n - 1).flatMap((p) =>
            Array.from({ length: n }, (_, at) => [...p.slice(0, at), n - 1, ...p.slice(at)]),
          );
    let rowCopies = 0;
    for (const shape of [
      [2, 3, 4, 40],
      [3, 5, 33],
      [2, 7, 3],
    ]) {
      for (const axes of permutations(shape.length)) {
        const data = randomData(
          rng,
          shape.reduce((a, b) => a * b, 1),
        );
        const y = ops.permute(tensor(data, shape), axes);
        const outShape = axes.map((a) => shape[a]);
        assert.deepEqual(y.shape, outShape);
        for (const index of indices(outShape)) {
          const src = new Array<number>(shape.length);
          axes.forEach((a, i) => {
            src[a] = index[i];
          });
          assert.equal(y.values[flat(index, outShape)], data[flat(src, shape)]);
        }
        if (axes[axes.length - 1] === shape.length - 1 && shape[shape.length - 1] >= 32) rowCopies++;
      }
    }
    // orders that keep a long last axis in place (the row-copy path): 3! + 2!
    assert.equal(rowCopies, 8);
  });

  test("concat matches element-by-element placement on every axis", () => {
    const rng = new Rng(6);
    for (const shape of shapes) {
      for (let axis = 0; axis < shape.length; axis++) {
        const widths = [1, 2, shape[axis]];
        const parts = widths.map((w) => {
          const partShape = shape.map((d, i) => (i === axis ? w : d));
          return tensor(
            randomData(
              rng,
              partShape.reduce((a, b) => a * b, 1),
            ),
            partShape,
          );
        });
        const joined = ops.concat(parts, axis);
        let offset = 0;
        for (const part of parts) {
          for (const index of indices(part.shape)) {
            const at = index.map((v, i) => (i === axis ? v + offset : v));
            assert.equal(joined.values[flat(at, joined.shape)], part.values[flat(index, part.shape)]);
          }
          offset += part.shape[axis];
        }
      }
    }
  });
});
