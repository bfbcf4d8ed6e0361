import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { composedAttention, paddingMask } from "./attention.test.util.js";
import { fusedAttention, narrow, reshape, scaledDotProductAttention } from "./ops.js";
import { availableBackends, noGrad, type Tensor, tensor, withBackend } from "./tensor.js";
import { assertClose, maxAbs, randomNormal } from "./testing.js";

// fusedAttention (one backend call: scores, causal mask, softmax, weighted sum) against the composed
// ops and against PyTorch, on every backend; the kernels themselves are checked against the cpu
// reference on every native instruction-set path by backendParity.test.util.ts.

// fixtures/torch/attention.json: scripts/fixtures/makeAttentionFixtures.py (torch 1.13, float32;
// softmax(q·kᵀ/√d + mask)·v written out, since 1.13 has no scaled_dot_product_attention)
interface FixtureCase {
  name: string;
  batch: number;
  heads: number;
  kvHeads: number;
  queries: number;
  keys: number;
  headDim: number;
  causal: boolean;
  q: number[];
  k: number[];
  v: number[];
  mask: number[] | null;
  out: number[];
}
const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../fixtures/torch/attention.json", import.meta.url)), "utf8"),
) as { cases: FixtureCase[] };

for (const backend of availableBackends()) {
  describe(`fusedAttention (${backend} backend)`, () => {
    for (const c of fixture.cases) {
      test(`against torch: ${c.name}`, () => {
        withBackend(backend, () => {
          const q = tensor(Float32Array.from(c.q), [c.batch, c.heads, c.queries, c.headDim]);
          const kvShape = [c.batch, c.kvHeads, c.keys, c.headDim];
          const k = tensor(Float32Array.from(c.k), kvShape);
          const v = tensor(Float32Array.from(c.v), kvShape);
          const mask = c.mask === null ? undefined : paddingMask(c.mask, c.batch, c.keys);
          const out = fusedAttention(q, k, v, { causal: c.causal, mask });
          assert.deepEqual(out.shape, q.shape);
          assertClose(out.values, c.out, { scale: maxAbs(c.v), rtol: 1e-5, label: c.name });
        });
      });
    }

    test("equals the composed ops, reading the first `length` positions of a larger cache", () => {
      withBackend(backend, () => {
        const rng = new Rng(3);
        // [batch, heads, kvHeads, queries, length, capacity, headDim]
        for (const [batch, heads, kvHeads, t, length, capacity, d] of [
          [2, 4, 2, 1, 9, 16, 5],
          [1, 2, 2, 3, 3, 8, 13],
          [3, 3, 1, 2, 12, 12, 64],
          [2, 1, 1, 1, 1, 4, 7],
        ]) {
          const q = tensor(randomNormal(rng, batch * heads * t * d), [batch, heads, t, d]);
          const k = tensor(randomNormal(rng, batch * kvHeads * capacity * d), [batch, kvHeads, capacity, d]);
          const v = tensor(randomNormal(rng, batch * kvHeads * capacity * d), [batch, kvHeads, capacity, d]);
          const keep = Array.from({ length: batch * length }, (_, i) =>
            i % length < (i / length) % 2 ? 0 : 1,
          );
          const mask = paddingMask(keep, batch, length);
          for (const causal of [true, false]) {
            const fused = fusedAttention(q, k, v, { length, causal, mask });
            const expected = composedAttention(
              q,
              narrow(k, 2, 0, length),
              narrow(v, 2, 0, length),
              causal,
              mask,
            );
            assertClose(fused.values, expected.values, {
              scale: maxAbs(v.values),
              rtol: 1e-4,
              label: `${batch}x${heads}/${kvHeads}x${t}x${length}/${capacity}x${d} causal ${causal}`,
            });
          }
        }
      });
    });

    test("scaledDotProductAttention runs it fused without a gradient, and with one (fused on cpu and native, composed on wasm): the same values", () => {
      withBackend(backend, () => {
        const rng = new Rng(4);
        const shape = [2, 3, 5, 6];
        const data = [0, 1, 2].map(() => randomNormal(rng, 2 * 3 * 5 * 6));
        const mask = paddingMask([0, 1, 1, 1, 1, 1, 1, 1, 1, 1], 2, 5);
        const inference = noGrad(() =>
          scaledDotProductAttention(...(data.map((x) => tensor(x, shape)) as [Tensor, Tensor, Tensor]), {
            causal: true,
            mask,
          }),
        );
        const [q, k, v] = data.map((x) => tensor(x, shape, { requiresGrad: true }));
        const training = scaledDotProductAttention(q, k, v, { causal: true, mask });
        assert.equal(inference.requiresGrad, false);
        assert.equal(training.requiresGrad, true);
        assertClose(inference.values, training.values, { scale: maxAbs(data[2]), rtol: 1e-4 });
      });
    });
  });
}

describe("fusedAttention input checks", () => {
  const q = tensor(new Float32Array(2 * 4 * 1 * 8), [2, 4, 1, 8]);
  const kv = tensor(new Float32Array(2 * 2 * 6 * 8), [2, 2, 6, 8]);
  const threeHeads = tensor(new Float32Array(2 * 3 * 6 * 8), [2, 3, 6, 8]);

  test("an input that requires a gradient is INVALID_ARGUMENT (no backward: use scaledDotProductAttention)", () => {
    const trainable = tensor(new Float32Array(2 * 4 * 8), [2, 4, 1, 8], { requiresGrad: true });
    assert.throws(
      () => fusedAttention(trainable, kv, kv),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT" && /noGrad/.test(e.message),
    );
    // under noGrad the same call is fine
    assert.deepEqual(noGrad(() => fusedAttention(trainable, kv, kv)).shape, [2, 4, 1, 8]);
  });

  test("shapes that do not fit are SHAPE_MISMATCH naming the problem", () => {
    const cases: [() => Tensor, RegExp][] = [
      [() => fusedAttention(q, threeHeads, threeHeads), /divides/],
      [
        () => fusedAttention(q, kv, kv, { length: 7 }),
        /length must be an integer from 0 to the keys' capacity 6/,
      ],
      [
        () => fusedAttention(q, kv, kv, { length: 4, mask: tensor(new Float32Array(12), [2, 1, 1, 6]) }),
        /\[2, 1, 1, 4\]/,
      ],
      [() => fusedAttention(reshape(q, [8, 8]), kv, kv), /\[B, H, T, d\]/],
    ];
    for (const [call, message] of cases) {
      assert.throws(
        call,
        (e: unknown) => e instanceof ProximalError && e.code === "SHAPE_MISMATCH" && message.test(e.message),
      );
    }
  });
});
