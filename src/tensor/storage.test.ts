import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Rng } from "../random/rng.js";
import * as ops from "./ops.js";
import { allocFloat32, setPoolCollected, storageStats, withScopedStorage } from "./storage.js";
import type { Tensor } from "./tensor.js";
import { grad, tensor, withBackend } from "./tensor.js";
import { randomNormal, TEST_BACKENDS } from "./testing.js";

// A full garbage collection on demand, so the recycling path can be observed deterministically.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Collect garbage and give FinalizationRegistry callbacks (queued as tasks) a chance to run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const LARGE = 8192; // above the slab limit: large arrays get their own, recyclable buffer

test("every supported Node can move buffers into the pool (transfer() or, on Node 20, structuredClone)", () => {
  assert.equal(storageStats().pooling, true);
  // Node pools released gradients only; browsers also pool collected arrays
  assert.equal(storageStats().poolCollected, false);
});

test("small and large arrays start zeroed", () => {
  for (const n of [0, 1, 7, 4096, 4097, LARGE]) {
    const a = allocFloat32(n);
    assert.equal(a.length, n);
    assert.ok(a.every((v) => v === 0));
  }
});

describe("the browser's path: buffers of collected arrays are pooled", () => {
  let previous = false;
  before(() => {
    previous = setPoolCollected(true);
  });
  after(() => {
    setPoolCollected(previous);
  });

  test("a large array's buffer is reused after the array is collected, zero-filled", async () => {
    const size = LARGE + 3; // a size no other test allocates
    let dropped: Float32Array | null = allocFloat32(size).fill(7);
    assert.equal(dropped[0], 7);
    dropped = null;
    await collect();
    const before = storageStats();
    assert.ok(before.pooledBytes >= size * 4, `pool holds ${before.pooledBytes} bytes`);
    const reused = allocFloat32(size);
    const after = storageStats();
    assert.equal(after.recycled, before.recycled + 1);
    assert.ok(
      reused.every((v) => v === 0),
      "a recycled buffer must be zero-filled",
    );
  });

  test("a view kept past its array's life is detached, never aliasing the next array", async () => {
    const size = LARGE + 5;
    let owner: Float32Array | null = allocFloat32(size);
    const kept = owner.subarray(0, 4);
    owner = null;
    await collect();
    const next = allocFloat32(size).fill(3);
    assert.equal(storageStats().recycled > 0, true);
    // the recycled memory moved to a new buffer: the stale view is empty, so writing through it cannot
    // change `next`
    assert.equal(kept.length, 0);
    kept[0] = 99;
    assert.equal(next[0], 3);
  });
});

describe("the backward pass gives consumed gradients back to the pool", () => {
  const rows = 64;
  const cols = 160; // 10,240 elements: large arrays, each in its own buffer
  const rng = new Rng(3);
  const xData = randomNormal(rng, rows * cols);
  const wData = randomNormal(rng, rows * cols);

  /** loss = sum(tanh(x + x) * w) + sum(reshape(x) * w): add passes one gradient to two inputs, reshape a view. */
  function lossOf(x: Tensor, w: Tensor): Tensor {
    const doubled = ops.add(x, x);
    const h = ops.tanh(doubled);
    const viaReshape = ops.mul(ops.reshape(ops.reshape(x, [cols, rows]), [rows, cols]), w);
    return ops.add(ops.sum(ops.mul(h, w)), ops.sum(viaReshape));
  }

  /** d loss / dx by hand: 2 (1 - tanh²(2x)) w + w. */
  function expectedGrad(): Float32Array {
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < out.length; i++) {
      const t = Math.tanh(2 * xData[i]);
      out[i] = 2 * (1 - t * t) * wData[i] + wData[i];
    }
    return out;
  }

  for (const backend of TEST_BACKENDS) {
    test(`${backend}: gradients are right and intermediate ones are released`, () => {
      withBackend(backend, () => {
        const x = tensor(xData.slice(), [rows, cols]).requireGrad();
        const w = tensor(wData.slice(), [rows, cols]);
        const before = storageStats();
        lossOf(x, w).backward();
        const expected = expectedGrad();
        const got = x.grad!.values;
        assert.equal(got.length, expected.length);
        for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-4, `x.grad[${i}]`);
        assert.ok(storageStats().released > before.released, "no gradient was released");
      });
    });
  }

  test("gradients returned by grad() and a caller's seed stay intact", () => {
    const x = tensor(xData.slice(), [rows, cols]).requireGrad();
    const h = ops.tanh(ops.add(x, x));
    const y = ops.mul(h, tensor(wData.slice(), [rows, cols]));
    // an op's result, so its buffer is one the pool manages
    const ones = tensor(new Float32Array(rows * cols).fill(0.5), [rows, cols]);
    const seed = ops.add(ones, ones);
    const [dh, dx] = grad([y], [h, x], { gradOutputs: [seed] });
    assert.equal(seed.values.length, rows * cols);
    assert.ok(seed.values.every((v) => v === 1));
    assert.equal(dh.values.length, rows * cols);
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(dh.values[i] - wData[i]) < 1e-6);
    assert.equal(dx.values.length, rows * cols);
  });

  test("a createGraph pass releases nothing (its gradients are graph nodes)", () => {
    const x = tensor(xData.slice(), [rows, cols]).requireGrad();
    const w = tensor(wData.slice(), [rows, cols]);
    const before = storageStats().released;
    lossOf(x, w).backward(undefined, { createGraph: true });
    assert.equal(storageStats().released, before);
    assert.equal(x.grad!.values.length, rows * cols);
  });
});

describe("a leaf keeps the backward pass's own gradient when nothing else uses it", () => {
  const n = 10_240;
  const rng = new Rng(5);
  const aData = randomNormal(rng, n);
  const bData = randomNormal(rng, n);

  test("one gradient passed to two leaves (add) is not shared between them; a second pass accumulates", () => {
    const a = tensor(aData.slice(), [n]).requireGrad();
    const b = tensor(bData.slice(), [n]).requireGrad();
    const loss = () => ops.sum(ops.mul(ops.add(a, b), ops.add(a, b)));
    loss().backward();
    assert.notEqual(a.grad!.data.buffer, b.grad!.data.buffer);
    for (let i = 0; i < n; i += 997) {
      const expected = 2 * (aData[i] + bData[i]);
      assert.ok(Math.abs(a.grad!.values[i] - expected) < 1e-4, `a.grad[${i}]`);
      assert.ok(Math.abs(b.grad!.values[i] - expected) < 1e-4, `b.grad[${i}]`);
    }
    loss().backward();
    for (let i = 0; i < n; i += 997) {
      const expected = 4 * (aData[i] + bData[i]);
      assert.ok(Math.abs(a.grad!.values[i] - expected) < 1e-4, `a.grad[${i}] after two passes`);
      assert.ok(Math.abs(b.grad!.values[i] - expected) < 1e-4, `b.grad[${i}] after two passes`);
    }
  });

  test("a leaf's gradient survives the release of the other gradients of its pass", () => {
    const a = tensor(aData.slice(), [n]).requireGrad();
    ops.sum(ops.tanh(ops.mul(a, a))).backward();
    const first = a.grad!.values.slice();
    assert.equal(first.length, n);
    // more passes reuse pooled buffers; the first gradient must not be one of them
    const c = tensor(bData.slice(), [n]).requireGrad();
    for (let k = 0; k < 3; k++) ops.sum(ops.tanh(ops.mul(c, c))).backward();
    assert.deepEqual(a.grad!.values, first);
    for (let i = 0; i < n; i += 997) {
      const t = Math.tanh(aData[i] * aData[i]);
      assert.ok(Math.abs(first[i] - 2 * aData[i] * (1 - t * t)) < 1e-4, `a.grad[${i}]`);
    }
  });
});

describe("withScopedStorage", () => {
  test("releases the large arrays made inside it, and only those", () => {
    const before = allocFloat32(LARGE);
    const kept = tensor(randomNormal(new Rng(6), LARGE), [LARGE]);
    let inside: Float32Array[] = [];
    let small: Float32Array | null = null;
    let sumInside = 0;
    withScopedStorage(() => {
      const y = ops.mul(kept, kept);
      inside = [allocFloat32(LARGE), y.data as Float32Array, ops.add(y, 1).data as Float32Array];
      small = allocFloat32(16);
      sumInside = ops.sum(y).item();
    });
    assert.ok(sumInside > 0);
    for (const array of inside) assert.equal(array.length, 0, "a scoped array was not released");
    assert.equal(small!.length, 16);
    assert.equal(before.length, LARGE);
    assert.equal(kept.values.length, LARGE);
  });

  test("releases on a throw too, and nested scopes release their own arrays at their own end", () => {
    let outerArray: Float32Array | null = null;
    let innerArray: Float32Array | null = null;
    assert.throws(
      () =>
        withScopedStorage(() => {
          outerArray = allocFloat32(LARGE);
          withScopedStorage(() => {
            innerArray = allocFloat32(LARGE);
          });
          assert.equal(innerArray!.length, 0);
          assert.equal(outerArray.length, LARGE);
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(outerArray!.length, 0);
    // outside every scope, nothing is released
    const free = allocFloat32(LARGE);
    withScopedStorage(() => {});
    assert.equal(free.length, LARGE);
  });
});
