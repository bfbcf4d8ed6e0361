import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { GPT } from "../gpt.js";
import { additionAnswer, additionProblemKey, additionTask } from "./addition.js";

describe("additionTask()", () => {
  test("the same seed gives the same splits, a different seed different ones", () => {
    const task = additionTask();
    const sizes = { sft: 10, train: 50, validation: 20, heldOut: 20 };
    const a = task.splits(3, sizes);
    assert.deepEqual(task.splits(3, sizes), a);
    assert.notDeepEqual(task.splits(4, sizes).train, a.train);
  });

  test("the problem key is the unordered operand pair", () => {
    assert.equal(additionProblemKey("85+47="), "47+85");
    assert.equal(additionProblemKey("47+85="), "47+85");
    assert.equal(additionProblemKey("7+7="), "7+7");
    assert.throws(
      () => additionProblemKey("47-85="),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });

  test("prompts are a+b= with operands of at most `digits` digits", () => {
    const task = additionTask({ digits: 2 });
    const rng = new Rng(0);
    for (let i = 0; i < 200; i++) assert.match(task.samplePrompt(rng), /^[0-9]{1,2}\+[0-9]{1,2}=$/);
  });

  test("asks for more distinct prompts than exist with INVALID_ARGUMENT", () => {
    // 1-digit operands: 10 × 10 = 100 prompts, 10·11/2 = 55 problems
    assert.equal(additionTask({ digits: 1 }).problemCount, 55);
    assert.throws(
      () => additionTask({ digits: 1 }).splits(0, { sft: 0, train: 50, validation: 0, heldOut: 10 }),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });

  test("answers are sums; a malformed prompt is an INVALID_ARGUMENT", () => {
    assert.equal(additionAnswer("47+85="), "132");
    assert.equal(additionAnswer("0+0="), "0");
    assert.throws(
      () => additionAnswer("47-85="),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});

describe("additionTask().reward / formatReward", () => {
  const task = additionTask();
  test("exact match on hand-made completions", () => {
    assert.equal(task.reward("47+85=", "132<eos>"), 1);
    assert.equal(task.reward("47+85=", "132"), 1); // cut before the stop token, still the right number
    assert.equal(task.reward("47+85=", "132<eos><pad><pad>"), 1);
    assert.equal(task.reward("47+85=", "131<eos>"), 0);
    assert.equal(task.reward("47+85=", "1320<eos>"), 0);
    assert.equal(task.reward("47+85=", "<eos>"), 0);
  });

  test("format: digits only, short enough to have stopped", () => {
    assert.equal(task.formatReward("47+85=", "131<eos>"), 1); // wrong but well formed
    assert.equal(task.formatReward("47+85=", "131"), 1); // special tokens already removed
    assert.equal(task.formatReward("47+85=", "132000"), 0); // 6 = maxNewTokens characters: cut off, no stop
    assert.equal(task.formatReward("47+85=", "1+2<eos>"), 0);
    assert.equal(task.formatReward("47+85=", "<eos>"), 0);
  });

  test("sftRows pair each prompt with its answer", () => {
    assert.deepEqual(task.sftRows(["1+2=", "99+1="]), [
      { prompt: "1+2=", response: "3" },
      { prompt: "99+1=", response: "100" },
    ]);
  });
});

describe("VerifiableTask.accuracy()", () => {
  test("greedy decoding of an untrained GPT: deterministic, within [0, 1], lengths within budget", () => {
    const task = additionTask({ digits: 2 });
    const model = new GPT(
      { vocabSize: task.tokenizer.vocabSize, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2 },
      { rng: new Rng(0) },
    );
    const prompts = task.splits(0, { sft: 0, train: 0, validation: 0, heldOut: 10 }).heldOut;
    const a = task.accuracy(model, prompts, { batchSize: 4 });
    assert.deepEqual(task.accuracy(model, prompts), a);
    assert.equal(a.completions.length, 10);
    assert.equal(a.correct.length, 10);
    assert.equal(a.correct.reduce((s, c) => s + c, 0) / 10, a.accuracy);
    assert.ok(a.accuracy >= 0 && a.accuracy <= 1);
    assert.ok(a.meanLength > 0 && a.meanLength <= task.maxNewTokens);
  });
});
