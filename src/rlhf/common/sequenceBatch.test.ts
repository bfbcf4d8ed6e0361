import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { tensor } from "../../tensor/tensor.js";
import { CharTokenizer } from "../charTokenizer.js";
import {
  collatePairs,
  collateSequences,
  maskRows,
  padRows,
  subBatch,
  takeColumns,
  takeRows,
  tokenizePair,
} from "./sequenceBatch.js";

describe("tokenizePair() and collatePairs()", () => {
  const tokenizer = new CharTokenizer("abc");
  test("adds bos to the prompt and eos to the response", () => {
    assert.deepEqual(tokenizePair(tokenizer, "ab", "c", 100), { prompt: [1, 3, 4], response: [5, 2] });
  });

  test("truncates the response end first, then the prompt start", () => {
    assert.deepEqual(tokenizePair(tokenizer, "ab", "cab", 5), { prompt: [1, 3, 4], response: [5, 3] });
    assert.deepEqual(tokenizePair(tokenizer, "abcab", "c", 3), { prompt: [3, 4], response: [5] });
  });

  test("right-pads with masks over real and response tokens", () => {
    const batch = collatePairs(
      [
        { prompt: [1, 3], response: [4, 2] },
        { prompt: [1], response: [2] },
      ],
      0,
    );
    assert.deepEqual(batch.inputIds.toArray(), [1, 3, 4, 2, 1, 2, 0, 0]);
    assert.deepEqual(batch.attentionMask.toArray(), [1, 1, 1, 1, 1, 1, 0, 0]);
    assert.deepEqual(batch.responseMask.toArray(), [0, 0, 1, 1, 0, 1, 0, 0]);
    assert.equal(batch.numResponseTokens, 3);
    assert.equal(batch.numTokens, 6);
  });
});

describe("collateSequences()", () => {
  test("left-pads prompts and right-pads responses, with masks over real and response tokens", () => {
    const batch = collateSequences([[1, 3], [1]], [[4], [5, 2]], 0);
    assert.equal(batch.promptLength, 2);
    assert.deepEqual(batch.sequences.shape, [2, 4]);
    assert.deepEqual(batch.sequences.toArray(), [1, 3, 4, 0, 0, 1, 5, 2]);
    assert.deepEqual(batch.attentionMask.toArray(), [1, 1, 1, 0, 0, 1, 1, 1]);
    assert.deepEqual(batch.responseIds.toArray(), [4, 0, 5, 2]);
    assert.deepEqual(batch.responseMask.toArray(), [1, 0, 1, 1]);
    assert.equal(batch.sequences.dtype, "int32");
  });

  test("refuses a response count that differs from the prompt count", () => {
    assert.throws(
      () => collateSequences([[1]], [[2], [3]], 0),
      (e) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});

describe("takeRows(), takeColumns() and subBatch()", () => {
  test("pick rows in the given order and keep the dtype", () => {
    const x = tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.deepEqual(takeRows(x, [2, 0]).toArray(), [5, 6, 1, 2]);
    assert.deepEqual(takeRows(x, [2, 0]).shape, [2, 2]);
    assert.deepEqual(takeColumns(x, 1).toArray(), [1, 3, 5]);
    const batch = collateSequences([[1, 3], [1], [2]], [[4], [5, 2], [6]], 0);
    const rows = subBatch(batch, [1]);
    assert.deepEqual(rows.sequences.toArray(), [0, 1, 5, 2]);
    assert.deepEqual(rows.responseMask.toArray(), [1, 1]);
    assert.equal(rows.promptLength, 2);
    assert.equal(rows.sequences.dtype, "int32");
  });
});

describe("padRows() and maskRows()", () => {
  test("zero-pad ragged rows and zero the masked-out rows", () => {
    assert.deepEqual(padRows([[1], [2, 3]], 3).toArray(), [1, 0, 0, 2, 3, 0]);
    const mask = tensor([
      [1, 1],
      [1, 0],
    ]);
    assert.deepEqual(maskRows(mask, [false, true]).toArray(), [0, 0, 1, 0]);
    assert.deepEqual(mask.toArray(), [1, 1, 1, 0]);
  });
});
