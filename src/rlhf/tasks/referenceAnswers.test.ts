import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { exactMatchReward, parseReferenceAnswers, readReferenceAnswers } from "./referenceAnswers.js";

const malformed = (line: number) => (e: unknown) =>
  e instanceof ProximalError && e.code === "MALFORMED_FILE" && e.message.includes(`line ${line}`);

describe("parseReferenceAnswers()", () => {
  test("reads rows, skips blank lines and ignores extra fields", () => {
    const text = '{"prompt": "2+2=", "answer": "4", "id": 7}\n\n{"prompt": "9+1=", "answer": "10"}\n';
    assert.deepEqual(parseReferenceAnswers(text), [
      { prompt: "2+2=", answer: "4" },
      { prompt: "9+1=", answer: "10" },
    ]);
  });

  test("a row without an answer is MALFORMED_FILE naming its line (blank lines counted)", () => {
    const text = '{"prompt": "2+2=", "answer": "4"}\n\n{"prompt": "9+1="}\n';
    assert.throws(() => parseReferenceAnswers(text), malformed(3));
  });

  test("a numeric answer, invalid JSON and a missing prompt are rejected with line numbers", () => {
    assert.throws(
      () => parseReferenceAnswers('{"prompt": "a", "answer": "b"}\n{"prompt": "2+2=", "answer": 4}'),
      malformed(2),
    );
    assert.throws(
      () => parseReferenceAnswers('{"prompt": "a", "answer": "b"}\n{"prompt": "2+2=", '),
      malformed(2),
    );
    assert.throws(() => parseReferenceAnswers('{"answer": "4"}'), malformed(1));
  });

  test("the same prompt with two different answers is MALFORMED_FILE; repeats with one answer are fine", () => {
    assert.throws(
      () => parseReferenceAnswers('{"prompt": "x", "answer": "1"}\n{"prompt": "x", "answer": "2"}'),
      malformed(2),
    );
    assert.equal(
      parseReferenceAnswers('{"prompt": "x", "answer": "1"}\n{"prompt": "x", "answer": "1"}').length,
      2,
    );
  });

  test("readReferenceAnswers names the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "proximal-answers-"));
    const path = join(dir, "answers.jsonl");
    await writeFile(path, '{"prompt": "2+2=", "answer": "4"}\n[1, 2]\n');
    await assert.rejects(
      readReferenceAnswers(path),
      (e: unknown) => malformed(2)(e) && (e as Error).message.includes(path),
    );
  });
});

describe("exactMatchReward()", () => {
  const reward = exactMatchReward([
    { prompt: "2+2=", answer: "4" },
    { prompt: "capital of France?", answer: " Paris" },
  ]);

  test("1 on the answer (whitespace and anything after the stop token ignored), 0 otherwise", () => {
    assert.equal(reward("2+2=", "4"), 1);
    assert.equal(reward("2+2=", " 4\n"), 1);
    assert.equal(reward("2+2=", "4<eos><pad>"), 1);
    assert.equal(reward("2+2=", "44"), 0);
    assert.equal(reward("capital of France?", "Paris"), 1);
    assert.equal(reward("capital of France?", "paris"), 0);
  });

  test("a prompt outside the dataset is INVALID_ARGUMENT", () => {
    assert.throws(
      () => reward("3+3=", "6"),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});
