import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { mul, narrow } from "../tensor/ops.js";
import { tensor, withBackend } from "../tensor/tensor.js";
import { assertClose, randomNormal, TEST_BACKENDS } from "../tensor/testing.js";
import { KVCache, MultiHeadSelfAttention } from "./attention.js";
import { fromFixture, loadFixture } from "./testing.js";

for (const backend of TEST_BACKENDS) {
  describe(`MultiHeadSelfAttention vs torch 1.13 (${backend})`, () => {
    for (const c of loadFixture().attention) {
      test(`${c.causal ? "causal" : "bidirectional"}: output and gradients match to 1e-5`, () => {
        withBackend(backend, () => {
          const [, , d] = c.x.shape;
          const attention = new MultiHeadSelfAttention(d, c.numHeads, { rng: new Rng(0), causal: c.causal });
          attention.loadStateDict({
            "qkv.weight": fromFixture(c["qkv.weight"]),
            "qkv.bias": fromFixture(c["qkv.bias"]),
            "out.weight": fromFixture(c["out.weight"]),
            "out.bias": fromFixture(c["out.bias"]),
          });
          const x = fromFixture(c.x).requireGrad();
          const out = attention.forward(x);
          // atol covers outputs near 0 that come from sums of O(1) terms
          assertClose(out.values, c.output.values, { rtol: 1e-5, atol: 1e-6, label: "output" });
          mul(out, fromFixture(c.r)).sum().backward();
          assertClose(x.grad!.values, c.gradX.values, { rtol: 1e-5, atol: 1e-6, label: "gradX" });
          assertClose(attention.qkv.weight.grad!.values, c.gradQkvWeight.values, {
            rtol: 1e-5,
            atol: 1e-6,
            label: "gradQkvWeight",
          });
        });
      });
    }
  });
}

describe("MultiHeadSelfAttention KV cache", () => {
  test("feeding a prompt then one token at a time equals one causal pass", () => {
    const attention = new MultiHeadSelfAttention(8, 2, { rng: new Rng(1) });
    const x = tensor(randomNormal(new Rng(2), 2 * 6 * 8), [2, 6, 8]);
    const full = attention.forward(x);
    let { output, cache } = attention.forward(narrow(x, 1, 0, 3), null);
    assertClose(output.values, narrow(full, 1, 0, 3).values, { atol: 1e-6 });
    for (let t = 3; t < 6; t++) {
      ({ output, cache } = attention.forward(narrow(x, 1, t, 1), cache));
      assertClose(output.values, narrow(full, 1, t, 1).values, { atol: 1e-6, label: `position ${t}` });
    }
    assert.deepEqual(cache.k.shape, [2, 2, 6, 4]);
  });

  test("a cache of the wrong batch size is a SHAPE_MISMATCH", () => {
    const attention = new MultiHeadSelfAttention(8, 2, { rng: new Rng(1) });
    const { cache } = attention.forward(tensor(new Float32Array(8), [1, 1, 8]), null);
    assert.throws(
      () => attention.forward(tensor(new Float32Array(16), [2, 1, 8]), cache),
      (e: unknown) => e instanceof Error && "code" in e && e.code === "SHAPE_MISMATCH",
    );
  });

  test("a fixed cache (new KVCache) gives the same outputs and throws past its maxLength, naming it", () => {
    const attention = new MultiHeadSelfAttention(8, 2, { rng: new Rng(1) });
    const x = tensor(randomNormal(new Rng(2), 2 * 4 * 8), [2, 4, 8]);
    const full = attention.forward(x);
    const cache = new KVCache(2, 2, 4, 4);
    const first = attention.forward(narrow(x, 1, 0, 2), cache);
    assert.equal(first.cache, cache, "the same cache, advanced in place");
    const second = attention.forward(narrow(x, 1, 2, 2), cache);
    assertClose(second.output.values, narrow(full, 1, 2, 2).values, { atol: 1e-6 });
    assert.equal(cache.length, 4);
    assert.throws(
      () => attention.forward(narrow(x, 1, 0, 1), cache),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "INVALID_ARGUMENT" &&
        /4 cached \+ 1 new positions exceed its maxLength 4/.test(e.message),
    );
  });
});

describe("KVCache", () => {
  const block = (seed: number, t: number) => tensor(randomNormal(new Rng(seed), 2 * 3 * t * 2), [2, 3, t, 2]);

  test("append writes in place; k and v are the filled positions; a growable cache doubles when full", () => {
    const cache = new KVCache(2, 3, 2, 2, { growable: true });
    const [k1, v1, k2, v2] = [block(1, 2), block(2, 2), block(3, 3), block(4, 3)];
    cache.append(k1, v1);
    const buffer = cache.keys;
    assert.equal(cache.maxLength, 2);
    cache.append(k2, v2); // 5 positions: grows to max(5, 2·2)
    assert.notEqual(cache.keys, buffer);
    assert.equal(cache.maxLength, 5);
    assert.equal(cache.length, 5);
    const expected = (a: number[], b: number[]) =>
      Array.from({ length: 6 }, (_, r) => [
        ...a.slice(r * 4, r * 4 + 4),
        ...b.slice(r * 6, r * 6 + 6),
      ]).flat();
    assert.deepEqual(Array.from(cache.k.values), expected(Array.from(k1.values), Array.from(k2.values)));
    assert.deepEqual(Array.from(cache.v.values), expected(Array.from(v1.values), Array.from(v2.values)));
    assert.deepEqual(cache.k.shape, [2, 3, 5, 2]);
    const copy = cache.clone();
    cache.append(block(5, 1), block(6, 1));
    assert.equal(copy.length, 5);
    assert.equal(cache.length, 6);
  });

  test("wrong shapes and sizes are rejected with the expected shape", () => {
    const cache = new KVCache(2, 3, 2, 4);
    assert.throws(
      () =>
        cache.append(tensor(new Float32Array(12), [1, 3, 2, 2]), tensor(new Float32Array(12), [1, 3, 2, 2])),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "SHAPE_MISMATCH" &&
        /\[2, 3, newPositions, 2\]/.test(e.message),
    );
    assert.throws(() => new KVCache(2, 0, 2, 4), /numHeads must be a positive integer/);
  });

  test("dModel not divisible by numHeads is rejected", () => {
    assert.throws(() => new MultiHeadSelfAttention(10, 3, { rng: new Rng(0) }), /multiple of numHeads/);
  });
});
