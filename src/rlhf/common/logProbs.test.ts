import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { Tensor, tensor } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import { generate } from "../generate.js";
import { GPT } from "../gpt.js";
import { rlhfFixture } from "../rlhfFixture.test.util.js";
import { logProbsFromLogits, sequenceLogProb, tokenLogProbs } from "./logProbs.js";

// the tiny GPT-2 of scripts/fixtures/makeGptFixture.py (vocab 64, 2 layers, 32 positions)
const gpt = GPT.fromSafetensors(
  new Uint8Array(readFileSync(new URL("../../../fixtures/torch/gptTiny.safetensors", import.meta.url))),
  { nHead: 4 },
);
const ints = (rows: number[][]) => tensor(rows, undefined, { dtype: "int32" });

describe("tokenLogProbs()", () => {
  test("matches the log-probs generate() recorded while sampling (response layout, left padding)", () => {
    const out = generate(
      gpt,
      [
        [5, 17, 42, 8],
        [3, 60],
      ],
      {
        maxNewTokens: 6,
        doSample: true,
        temperature: 1.5,
        rng: new Rng(3),
      },
    );
    const logp = tokenLogProbs(gpt, out.sequences, out.attentionMask, out.responseMask, { temperature: 1.5 });
    assert.deepEqual(logp.shape, [2, 6]);
    assertClose(logp.values, out.logProbs.values, { atol: 1e-4, rtol: 1e-4 });
  });

  test("left and right padding give the same log-probs of the same tokens", () => {
    // row 1 is [3, 60 | 7, 9] padded by two on the left or on the right
    const left = ints([
      [5, 17, 42, 8, 1, 2],
      [0, 0, 3, 60, 7, 9],
    ]);
    const leftMask = ints([
      [1, 1, 1, 1, 1, 1],
      [0, 0, 1, 1, 1, 1],
    ]);
    const leftResponse = tensor([
      [0, 0, 0, 0, 1, 1],
      [0, 0, 0, 0, 1, 1],
    ]);
    const right = ints([
      [5, 17, 42, 8, 1, 2],
      [3, 60, 7, 9, 0, 0],
    ]);
    const rightMask = ints([
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 0, 0],
    ]);
    const rightResponse = tensor([
      [0, 0, 0, 0, 1, 1],
      [0, 0, 1, 1, 0, 0],
    ]);
    const a = sequenceLogProb(tokenLogProbs(gpt, left, leftMask, leftResponse), leftResponse);
    const b = sequenceLogProb(tokenLogProbs(gpt, right, rightMask, rightResponse), rightResponse);
    assertClose(a.values, b.values, { atol: 1e-5, rtol: 1e-5 });
    const logp = tokenLogProbs(gpt, right, rightMask, rightResponse).toArray();
    // prompt and padding columns are exactly zero
    assert.ok([0, 1, 2, 3, 6, 7, 10, 11].every((i) => logp[i] === 0));
  });

  test("a full-width mask and its last columns agree", () => {
    const ids = ints([[1, 2, 3, 4, 5]]);
    const mask = ints([[1, 1, 1, 1, 1]]);
    const full = tokenLogProbs(gpt, ids, mask, tensor([[0, 0, 1, 1, 1]])).toArray();
    const tail = tokenLogProbs(gpt, ids, mask, tensor([[1, 1, 1]])).toArray();
    assertClose(full.slice(2), tail, { atol: 1e-6, rtol: 0 });
  });

  test("rejects a response token in column 0 of a full-width mask", () => {
    const logits = new Tensor(new Float32Array(8), [1, 2, 4]);
    assert.throws(
      () => logProbsFromLogits(logits, ints([[1, 2]]), tensor([[1, 1]])),
      (e: unknown) => e instanceof ProximalError,
    );
  });
});

describe("sequenceLogProb()", () => {
  test("sums or averages over the mask (by hand)", () => {
    const logp = tensor([
      [-1, -2, -3],
      [0, -4, 0],
    ]);
    const mask = tensor([
      [1, 1, 1],
      [0, 1, 0],
    ]);
    assert.deepEqual(sequenceLogProb(logp, mask).toArray(), [-6, -4]);
    assert.deepEqual(sequenceLogProb(logp, mask, { average: true }).toArray(), [-2, -4]);
  });
});

describe("tokenLogProbs() against torch", () => {
  // fixtures/torch/rlhf.json "logProbs": scripts/fixtures/makeRlhfFixtures.py, the same tiny GPT-2 in float64
  for (const side of ["left", "right"] as const) {
    test(`per-token and sequence log-probs match under ${side} padding`, () => {
      const f = rlhfFixture.logProbs[side];
      const responseMask = tensor(f.responseMask);
      const logp = tokenLogProbs(gpt, ints(f.ids), ints(f.attentionMask), responseMask);
      assertClose(logp.values, f.tokenLogProbs, { rtol: 1e-5 });
      assertClose(sequenceLogProb(logp, responseMask).values, f.sequenceLogProbs, { rtol: 1e-5 });
    });
  }
});
