import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { additionTask } from "./addition.js";
import { makeVerifiableTask, VERIFIABLE_TASKS } from "./reasoningDemo.js";
import type { TaskSplits, VerifiableTask } from "./verifiableTask.js";

const SPLITS = ["sft", "train", "validation", "heldOut"] as const;

/** Split names that share a problem key, as "a/b: key" strings (none is right). */
function sharedKeys(task: VerifiableTask, splits: TaskSplits): string[] {
  const owner = new Map<string, string>();
  const shared: string[] = [];
  for (const split of SPLITS) {
    for (const prompt of splits[split]) {
      const key = task.problemKey(prompt);
      const first = owner.get(key);
      if (first !== undefined) shared.push(`${first}/${split}: ${key}`);
      else owner.set(key, split);
    }
  }
  return shared;
}

describe("VerifiableTask.splits()", () => {
  // the reasoning demo's sizes: 5000 of addition's 5050 two-digit problems
  const sizes = { sft: 1000, train: 3000, validation: 500, heldOut: 500 };

  for (const name of Object.keys(VERIFIABLE_TASKS)) {
    test(`${name}: seeds 0-9 give four splits of the asked sizes that share no problem, the same each time`, () => {
      const task = makeVerifiableTask(name);
      for (let seed = 0; seed < 10; seed++) {
        const splits = task.splits(seed, sizes);
        for (const split of SPLITS)
          assert.equal(splits[split].length, sizes[split], `${split}, seed ${seed}`);
        assert.deepEqual(sharedKeys(task, splits), [], `seed ${seed}`);
        assert.deepEqual(task.splits(seed, sizes), splits, `seed ${seed} is deterministic`);
        if (seed > 0) assert.notDeepEqual(task.splits(seed - 1, sizes).heldOut, splits.heldOut);
      }
    });
  }

  test("addition: a+b= and b+a= are one problem, so the string-disjoint split's leak cannot happen", () => {
    const task = makeVerifiableTask("addition");
    assert.equal(task.problemKey("85+47="), task.problemKey("47+85="));
    assert.notEqual(task.problemKey("47+84="), task.problemKey("47+85="));
    const { sft, train, validation, heldOut } = task.splits(0, sizes);
    const swapped = (p: string) => p.replace(/^([0-9]+)\+([0-9]+)=$/, "$2+$1=");
    const others = new Set([...sft, ...train, ...validation]);
    assert.equal(heldOut.filter((p) => others.has(swapped(p))).length, 0);
  });

  test("asking for more problems than the task has is INVALID_ARGUMENT naming the sizes and the count", () => {
    // two-digit addition: 100 operand values, 100·101/2 = 5050 unordered pairs
    const task = makeVerifiableTask("addition");
    assert.equal(task.problemCount, 5050);
    assert.throws(
      () => task.splits(0, { sft: 1000, train: 6000, validation: 500, heldOut: 500 }),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "INVALID_ARGUMENT" &&
        e.message.includes("8000 problems") &&
        e.message.includes("5050"),
    );
    // one-digit addition has 55 problems; all of them can be drawn
    const small = additionTask({ digits: 1 });
    const all = small.splits(0, { sft: 5, train: 40, validation: 5, heldOut: 5 });
    assert.equal(new Set(SPLITS.flatMap((s) => all[s].map((p) => small.problemKey(p)))).size, 55);
  });

  test("a negative or fractional size is INVALID_ARGUMENT", () => {
    const task = makeVerifiableTask("reverse");
    for (const bad of [-1, 2.5]) {
      assert.throws(
        () => task.splits(0, { validation: bad }),
        (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
      );
    }
  });
});
