import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { stepwiseLogits } from "../nn/models/testing.js";
import { Rng } from "../random/rng.js";
import { noGrad, Tensor, tensor, withBackend } from "../tensor/tensor.js";
import { assertClose, TEST_BACKENDS } from "../tensor/testing.js";
import { generate, leftPad, sampleToken } from "./generate.js";
import { GPT } from "./gpt.js";

// the tiny GPT-2 of scripts/fixtures/makeGptFixture.py (vocab 64, 2 layers, 32 positions)
const gpt = GPT.fromSafetensors(
  new Uint8Array(readFileSync(new URL("../../fixtures/torch/gptTiny.safetensors", import.meta.url))),
  { nHead: 4 },
);
const prompts = [
  [5, 17, 42, 8],
  [3, 60],
  [11, 12, 13, 14, 15, 16],
];

const rowOf = (values: ArrayLike<number>, row: number, width: number) =>
  Array.from(values).slice(row * width, (row + 1) * width);

describe("generate()", () => {
  test("greedy decoding is deterministic", () => {
    const a = generate(gpt, prompts, { maxNewTokens: 8 });
    const b = generate(gpt, prompts, { maxNewTokens: 8 });
    assert.deepEqual(a.sequences.toArray(), b.sequences.toArray());
    assert.deepEqual(a.responseMask.toArray(), new Array(24).fill(1));
  });

  test("the KV cache gives the tokens and logits of recomputing the full prefix (greedy and sampled)", () => {
    const cached = generate(gpt, prompts, { maxNewTokens: 10, outputLogits: true });
    const full = generate(gpt, prompts, { maxNewTokens: 10, outputLogits: true, useCache: false });
    assert.deepEqual(cached.sequences.toArray(), full.sequences.toArray());
    assertClose(cached.logits!.values, full.logits!.values, { atol: 1e-4, rtol: 0 });
    const sampling = { maxNewTokens: 10, doSample: true, temperature: 1.3, topK: 20, topP: 0.9 };
    const s1 = generate(gpt, prompts, { ...sampling, rng: new Rng(5) });
    const s2 = generate(gpt, prompts, { ...sampling, rng: new Rng(5), useCache: false });
    assert.deepEqual(s1.sequences.toArray(), s2.sequences.toArray());
    assertClose(s1.logProbs.values, s2.logProbs.values, { atol: 1e-4, rtol: 0 });
  });

  test("a left-padded prompt generates what it generates alone", () => {
    const batched = generate(gpt, prompts, { maxNewTokens: 6, outputLogits: true });
    for (let b = 0; b < prompts.length; b++) {
      const alone = generate(gpt, [prompts[b]], { maxNewTokens: 6, outputLogits: true });
      assert.deepEqual(rowOf(batched.responseIds.data, b, 6), alone.responseIds.toArray(), `prompt ${b}`);
      assertClose(rowOf(batched.logits!.values, b, 6 * 64), alone.logits!.values, { atol: 1e-4, rtol: 0 });
    }
    // the returned mask marks the padding of the shorter prompts
    assert.deepEqual(rowOf(batched.attentionMask.data, 1, 12), [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  test("stops each sequence at its stop token, keeps it, and pads after it", () => {
    const free = generate(gpt, prompts, { maxNewTokens: 8 });
    const row0 = rowOf(free.responseIds.data, 0, 8);
    const eos = row0[2];
    const stopAt = row0.indexOf(eos); // the first occurrence ends the sequence
    const out = generate(gpt, prompts, { maxNewTokens: 8, eosTokenId: [eos], padTokenId: 63 });
    const ids = rowOf(out.responseIds.data, 0, 8);
    assert.deepEqual(ids.slice(0, stopAt + 1), row0.slice(0, stopAt + 1));
    assert.ok(ids.slice(stopAt + 1).every((t) => t === 63));
    const mask = rowOf(out.responseMask.data, 0, 8);
    assert.deepEqual(mask, [...new Array(stopAt + 1).fill(1), ...new Array(7 - stopAt).fill(0)]);
    assert.equal(out.responseLengths[0], stopAt + 1);
    assert.ok(
      rowOf(out.logProbs.data, 0, 8)
        .slice(stopAt + 1)
        .every((v) => v === 0),
    );
  });

  test("log-probs are log softmax(logits / temperature) at the chosen tokens", () => {
    const out = generate(gpt, prompts, {
      maxNewTokens: 5,
      doSample: true,
      temperature: 0.7,
      rng: new Rng(1),
      outputLogits: true,
    });
    const logits = out.logits!.values;
    const ids = out.responseIds.data;
    for (let i = 0; i < ids.length; i++) {
      const row = Array.from(logits.subarray(i * 64, (i + 1) * 64));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      assert.ok(Math.abs(out.logProbs.values[i] - (row[ids[i]] - lse)) < 1e-5);
    }
  });

  test("sampling is seeded, and topK 1 is greedy", () => {
    const options = { maxNewTokens: 8, doSample: true, topP: 0.95 };
    const a = generate(gpt, prompts, { ...options, rng: new Rng(9) });
    const b = generate(gpt, prompts, { ...options, rng: new Rng(9) });
    assert.deepEqual(a.sequences.toArray(), b.sequences.toArray());
    const top1 = generate(gpt, prompts, { maxNewTokens: 8, doSample: true, topK: 1, rng: new Rng(2) });
    assert.deepEqual(
      top1.sequences.toArray(),
      generate(gpt, prompts, { maxNewTokens: 8 }).sequences.toArray(),
    );
  });

  test("options are checked before any work", () => {
    const isOption = (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION";
    assert.throws(() => generate(gpt, prompts, { doSample: true }), isOption);
    assert.throws(() => generate(gpt, prompts, { topP: 0 }), isOption);
    assert.throws(() => generate(gpt, prompts, { temperature: 0 }), isOption);
  });
});

describe("sampleToken()", () => {
  test("top-p keeps the smallest nucleus reaching p", () => {
    // probabilities 0.5, 0.3, 0.15, 0.05: p = 0.75 keeps ids 0 and 1 (0.5 + 0.3 crosses 0.75)
    const row = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
    const rng = new Rng(0);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleToken(row, 0, 0.75, rng)]++;
    assert.equal(counts[2] + counts[3], 0);
    assert.ok(Math.abs(counts[0] / 4000 - 0.625) < 0.03, `id 0 drawn ${counts[0]} times`);
  });
});

describe("leftPad()", () => {
  test("puts padding in front and masks it", () => {
    const { inputIds, attentionMask } = leftPad([[1, 2, 3], [4]], 0);
    assert.deepEqual(inputIds.toArray(), [1, 2, 3, 0, 0, 4]);
    assert.deepEqual(attentionMask.toArray(), [1, 1, 1, 0, 0, 1]);
  });
});

describe("GPT's in-place KV cache", () => {
  // prompts of 3, 1 and 5 tokens left-padded to 5, then 4 more columns
  const ids = tensor(
    Int32Array.from([
      0, 0, 5, 17, 42, 8, 9, 10, 11, 0, 0, 0, 0, 3, 60, 1, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ]),
    [3, 9],
  );
  const mask = tensor(
    Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
    [3, 9],
  );

  for (const backend of TEST_BACKENDS) {
    test(`step by step, in place and by concatenation, gives the full pass's logits (${backend})`, () => {
      withBackend(backend, () => {
        const full = noGrad(() => gpt.forward(ids, { attentionMask: mask }).logits as Tensor);
        const inPlace = stepwiseLogits(gpt, ids, mask, 5, { inference: true, cacheLength: 9 });
        const concatenated = stepwiseLogits(gpt, ids, mask, 5, { inference: false });
        assertClose(inPlace.values, full.values, { atol: 1e-4, rtol: 0, label: "in place" });
        assertClose(concatenated.values, full.values, { atol: 1e-4, rtol: 0, label: "concatenated" });
        assertClose(inPlace.values, concatenated.values, {
          atol: 1e-4,
          rtol: 0,
          label: "in place vs concatenated",
        });
      });
    });
  }

  test("generate() preallocates the cache for the prompt plus maxNewTokens and fills it in place", () => {
    const seen: number[] = [];
    const spy = {
      forward: (input: Tensor, options: Parameters<typeof gpt.forward>[1] = {}) => {
        const out = gpt.forward(input, options);
        seen.push(out.cache?.layers[0].maxLength ?? -1);
        if (seen.length > 1) assert.equal(out.cache?.layers, options.cache?.layers, "the same layer caches");
        return out;
      },
    };
    generate(spy, prompts, { maxNewTokens: 5 });
    assert.deepEqual(seen, [11, 11, 11, 11, 11]); // longest prompt 6 + 5 new tokens
    // never more than the model's context (32 positions), whatever the budget asks
    const capped = noGrad(() => gpt.forward(narrow2(ids, 4), { cache: null, cacheLength: 1000 }));
    assert.equal(capped.cache?.layers[0].maxLength, 32);
  });

  test("a step past a fixed cacheLength is INVALID_ARGUMENT naming the limit and how to raise it", () => {
    noGrad(() => {
      const first = gpt.forward(narrow2(ids, 4), {
        attentionMask: narrow2(mask, 4),
        cache: null,
        cacheLength: 4,
      });
      assert.throws(
        () =>
          gpt.forward(tensor(Int32Array.from([1, 2, 3]), [3, 1]), {
            attentionMask: narrow2(mask, 5),
            cache: first.cache,
          }),
        (e: unknown) =>
          e instanceof ProximalError &&
          e.code === "INVALID_ARGUMENT" &&
          /exceed its maxLength 4/.test(e.message) &&
          /cacheLength/.test(e.message),
      );
      assert.throws(
        () => gpt.forward(narrow2(ids, 4), { cache: null, cacheLength: 3 }),
        (e: unknown) =>
          e instanceof ProximalError &&
          e.code === "INVALID_OPTION" &&
          /at least this call's 4 positions/.test(e.message),
      );
    });
  });

  test("an older cache object after a later call advanced its layers is INVALID_ARGUMENT; useCache false leaves a cache as it was", () => {
    noGrad(() => {
      const first = gpt.forward(narrow2(ids, 4), { attentionMask: narrow2(mask, 4), cache: null });
      const peek = gpt.forward(tensor(Int32Array.from([1, 2, 3]), [3, 1]), {
        attentionMask: narrow2(mask, 5),
        cache: first.cache,
        useCache: false,
      });
      assert.equal(peek.cache, null);
      assert.equal(first.cache?.layers[0].length, 4, "read, not advanced");
      const second = gpt.forward(tensor(Int32Array.from([1, 2, 3]), [3, 1]), {
        attentionMask: narrow2(mask, 5),
        cache: first.cache,
      });
      assertClose((second.logits as Tensor).values, (peek.logits as Tensor).values, { atol: 1e-6, rtol: 0 });
      assert.throws(
        () =>
          gpt.forward(tensor(Int32Array.from([1, 2, 3]), [3, 1]), {
            attentionMask: narrow2(mask, 5),
            cache: first.cache,
          }),
        (e: unknown) =>
          e instanceof ProximalError && e.code === "INVALID_ARGUMENT" && /updated in place/.test(e.message),
      );
    });
  });
});

/** The first `n` columns of a [B, L] tensor. */
function narrow2(t: Tensor, n: number): Tensor {
  return new Tensor(
    Int32Array.from({ length: t.shape[0] * n }, (_, i) => t.data[Math.floor(i / n) * t.shape[1] + (i % n)]),
    [t.shape[0], n],
  );
}
