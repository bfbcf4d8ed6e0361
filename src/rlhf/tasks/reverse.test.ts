import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { reverseAnswer, reverseTask } from "./reverse.js";

describe("reverseTask()", () => {
  test("the same seed gives the same splits", () => {
    const task = reverseTask();
    const sizes = { sft: 10, train: 40, validation: 10, heldOut: 10 };
    assert.deepEqual(task.splits(1, sizes), task.splits(1, sizes));
    assert.notDeepEqual(task.splits(2, sizes).heldOut, task.splits(1, sizes).heldOut);
    // every string is its own problem: 10^3 + 10^4 + ... + 10^7
    assert.equal(task.problemCount, 11_111_000);
    assert.equal(task.problemKey("123>"), "123>");
  });

  test("prompts are 3 to maxLength digits then '>'", () => {
    const task = reverseTask({ maxLength: 5 });
    const rng = new Rng(0);
    for (let i = 0; i < 200; i++) assert.match(task.samplePrompt(rng), /^[0-9]{3,5}>$/);
  });

  test("answers reverse the digits; a malformed prompt is an INVALID_ARGUMENT", () => {
    assert.equal(reverseAnswer("3817>"), "7183");
    assert.throws(
      () => reverseAnswer("abc>"),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });

  test("an out-of-range maxLength is an INVALID_OPTION", () => {
    assert.throws(
      () => reverseTask({ maxLength: 2 }),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION",
    );
  });

  test("exact-match and format rewards on hand-made completions", () => {
    const task = reverseTask();
    assert.equal(task.reward("3817>", "7183<eos>"), 1);
    assert.equal(task.reward("3817>", "7138<eos>"), 0);
    assert.equal(task.formatReward("3817>", "7138<eos>"), 1);
    assert.equal(task.formatReward("3817>", "7183>"), 0);
    assert.equal(task.formatReward("3817>", "71837183"), 0); // longer than any answer: cut off
  });
});
