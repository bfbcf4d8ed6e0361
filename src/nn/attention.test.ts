import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import { mul, narrow } from "../tensor/ops.js";
import { tensor, withBackend } from "../tensor/tensor.js";
import { assertClose, randomNormal, TEST_BACKENDS } from "../tensor/testing.js";
import { MultiHeadSelfAttention } from "./attention.js";
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

  test("dModel not divisible by numHeads is rejected", () => {
    assert.throws(() => new MultiHeadSelfAttention(10, 3, { rng: new Rng(0) }), /multiple of numHeads/);
  });
});
