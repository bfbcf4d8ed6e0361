/**
 * `proximal rlhf demo` end to end, as a subprocess in a temporary directory, on the `--quick` budget
 * (a 1-layer, width-32 GPT; about 5 s).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { temporaryCli } from "./cliProcess.test.util.js";

const { cli, work } = temporaryCli("proximal-rlhf-");

describe("proximal rlhf demo", () => {
  test("sentiment --quick --json --force over a taken --out prints the summary and writes the files", async () => {
    // over a previous run's directory: --force replaces it (one run checks both, the demo takes seconds)
    await mkdir(join(work(), "demo"), { recursive: true });
    await writeFile(join(work(), "demo", "marker"), "x");
    await writeFile(join(work(), "demo", "results.json"), "mine\n");
    const r = cli("rlhf", "demo", "sentiment", "--quick", "--json", "--force", "--out", "demo");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(join(work(), "demo", "marker")), "--force replaces the old directory");
    const summary = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(summary), ["sft", "rewardModel", "ppo", "dpo"]);
    assert.deepEqual(Object.keys(summary.ppo), [
      "judgeBefore",
      "judgeAfter",
      "rmBefore",
      "rmAfter",
      "klToRef",
    ]);
    assert.equal(typeof summary.rewardModel.heldOutAccuracy, "number");
    assert.match(r.stderr, /ppo/); // the progress display goes to stderr
    for (const file of ["results.json", "ppo.jsonl", "ppo.svg", "ppo.png"])
      assert.ok(existsSync(join(work(), "demo", file)), file);
    const results = JSON.parse(await readFile(join(work(), "demo", "results.json"), "utf8"));
    assert.equal(results.ppo.klToRef, summary.ppo.klToRef);
    const rows = (await readFile(join(work(), "demo", "ppo.jsonl"), "utf8")).trim().split("\n");
    assert.equal(rows.length, 6);
    assert.match(await readFile(join(work(), "demo", "ppo.svg"), "utf8"), /data-metric="rollout\/klToRef"/);
  });

  test("an existing --out (the default one too) exits 2 before training and is left untouched", async () => {
    for (const [dir, args] of [
      ["taken", ["--out", "taken"]],
      [join("runs", "rlhf-sentiment-seed0"), []],
    ] as const) {
      await mkdir(join(work(), dir), { recursive: true });
      await writeFile(join(work(), dir, "results.json"), "mine\n");
      const r = cli("rlhf", "demo", "sentiment", "--quick", ...args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /already exists\. Pick another --out, or pass --force to replace it\./);
      // one line and no progress display: it stopped before the SFT stage
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(await readFile(join(work(), dir, "results.json"), "utf8"), "mine\n");
    }
  });

  test("an unknown task exits 2 with a suggestion", () => {
    const r = cli("rlhf", "demo", "sentimnt", "--out", "x");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Did you mean/);
  });
});
