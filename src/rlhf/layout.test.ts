/**
 * The import rules of src/rlhf (DESIGN.md "Layout"), read off the TypeScript sources: trainer families
 * share `common/` and never import each other; `common/` imports no family and no task; no trainer
 * imports another trainer, even within a family folder; nothing imports the CLI or the benchmarks.
 * Tests and test helpers are exempt (a resume test may build every trainer).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

/** The folders of the trainer families. */
const FAMILIES = ["sft", "reward", "ppo", "dpo", "grpo"];

const root = fileURLToPath(new URL("../../src/rlhf", import.meta.url)); // from dist/rlhf or src/rlhf

/** Every library source under src/rlhf ("/"-separated, relative to it), tests left out. */
function sources(): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .map((file) => file.split(sep).join("/"))
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !file.endsWith(".test.util.ts"));
}

/** The relative imports of `file`, resolved to paths relative to src/rlhf (`../` for outside it). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => m[1]);
  return specifiers.map((spec) =>
    relative(root, resolve(dirname(join(root, file)), spec))
      .split(sep)
      .join("/")
      .replace(/\.js$/, ".ts"),
  );
}

/** The top folder of a path relative to src/rlhf ("" for a file directly in it). */
const folderOf = (path: string): string => (path.includes("/") ? path.slice(0, path.indexOf("/")) : "");

describe("src/rlhf layout", () => {
  const files = sources();

  test("finds the sources and every family folder", () => {
    for (const family of FAMILIES)
      assert.ok(
        files.some((f) => folderOf(f) === family),
        `no ${family}/ sources`,
      );
    assert.ok(files.some((f) => folderOf(f) === "common"));
  });

  test("no trainer family imports another family", () => {
    const crossings: string[] = [];
    for (const file of files.filter((f) => FAMILIES.includes(folderOf(f)))) {
      for (const target of importsOf(file)) {
        const to = folderOf(target);
        if (FAMILIES.includes(to) && to !== folderOf(file)) crossings.push(`${file} → ${target}`);
      }
    }
    assert.deepEqual(crossings, [], "move what both need into common/");
  });

  test("no trainer imports another trainer, even within a family", () => {
    const crossings: string[] = [];
    for (const file of files.filter((f) => f.endsWith("Trainer.ts"))) {
      // common/'s base classes (Trainer, ReferenceTrainer) are the shared loop, not trainers
      for (const target of importsOf(file))
        if (target.endsWith("Trainer.ts") && folderOf(target) !== "common")
          crossings.push(`${file} → ${target}`);
    }
    assert.deepEqual(crossings, []);
  });

  test("common/ imports no trainer family and no task", () => {
    const upward = files
      .filter((f) => folderOf(f) === "common")
      .flatMap((file) => importsOf(file).map((target) => [file, target]))
      .filter(([, target]) => [...FAMILIES, "tasks"].includes(folderOf(target)))
      .map(([file, target]) => `${file} → ${target}`);
    assert.deepEqual(upward, []);
  });

  test("nothing imports the CLI or the benchmarks", () => {
    const upward = files
      .flatMap((file) => importsOf(file).map((target) => [file, target]))
      .filter(([, target]) => /^\.\.\/(cli|bench)\//.test(target))
      .map(([file, target]) => `${file} → ${target}`);
    assert.deepEqual(upward, []);
  });

  test("the rules see an import that crosses families (self-check of importsOf)", () => {
    assert.ok(importsOf("grpo/grpoTrainer.ts").includes("common/sequenceBatch.ts"));
    assert.ok(importsOf("tasks/sentimentDemo.ts").includes("ppo/ppoTrainer.ts"));
  });
});
