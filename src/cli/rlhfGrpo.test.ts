import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { GRPOTrainer } from "../rlhf/grpo/grpoTrainer.js";
import { makeVerifiableTask } from "../rlhf/tasks/reasoningDemo.js";

const run = promisify(execFile);
const main = fileURLToPath(new URL("./main.js", import.meta.url));

/** Run the CLI in `cwd` without throwing on a non-zero exit. */
function cli(cwd: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A directory holding a file of the user's, as a previous run would leave it. */
async function takenDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "results.json"), "mine\n");
}

/** Exit 2 with the one-line refusal, nothing on stdout, no progress (so no training), files untouched. */
async function assertRefused(r: ReturnType<typeof cli>, dir: string): Promise<void> {
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /already exists\. Pick another --out, (continue it with --resume \S+, )?or pass --force to replace it\./,
  );
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(await readFile(join(dir, "results.json"), "utf8"), "mine\n");
}

describe("proximal rlhf grpo / demo reasoning", () => {
  test("rlhf grpo --task addition --preset grpo on a tiny budget prints base and preset accuracy", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "proximal-grpo-")), "out");
    const { stdout } = await run(process.execPath, [
      main,
      "rlhf",
      "grpo",
      "--task",
      "addition",
      "--preset",
      "grpo",
      "--samples",
      "64",
      "--json",
      "--out",
      out,
    ]);
    const summary = JSON.parse(stdout);
    assert.ok(summary.base.accuracy >= 0 && summary.base.accuracy <= 1);
    assert.ok(summary.grpo.accuracy >= 0 && summary.grpo.accuracy <= 1);
    assert.ok(summary.grpo.meanLength > 0);
    assert.match(await readFile(join(out, "accuracy.svg"), "utf8"), /data-preset="grpo"/);
    // the trained policy is saved and loads as a GPT with the task's vocabulary
    const policy = await GRPOTrainer.loadModel(join(out, "checkpoint"));
    assert.equal(policy.config.vocabSize, makeVerifiableTask("addition").tokenizer.vocabSize);
  });

  test("rlhf grpo --stop-after 1 then --resume ends with the checkpoint and step metrics of an uninterrupted run, byte for byte", async () => {
    const root = await mkdtemp(join(tmpdir(), "proximal-grpo-resume-"));
    const args = ["rlhf", "grpo", "--task", "addition", "--preset", "grpo", "--samples", "192", "--json"];
    assert.equal(cli(root, ...args, "--out", "full").status, 0);
    const stop = cli(root, ...args, "--out", "stop", "--stop-after", "1");
    assert.equal(stop.status, 0, stop.stderr);
    assert.deepEqual(JSON.parse(stop.stdout), { event: "stopped", out: "stop", step: 1, totalSteps: 3 });
    assert.ok(!existsSync(join(root, "stop", "checkpoint")), "no final checkpoint before the run ends");
    const resumed = cli(
      root,
      "rlhf",
      "grpo",
      "--task",
      "addition",
      "--preset",
      "grpo",
      "--resume",
      "stop",
      "--json",
    );
    assert.equal(resumed.status, 0, resumed.stderr);
    const bytes = (dir: string, file: string) => readFile(join(root, dir, file));
    assert.deepEqual(
      await bytes("stop", "checkpoint/model.safetensors"),
      await bytes("full", "checkpoint/model.safetensors"),
    );
    assert.deepEqual(await bytes("stop", "grpo.jsonl"), await bytes("full", "grpo.jsonl"));
    const curve = async (dir: string) =>
      JSON.parse(await readFile(join(root, dir, "results.json"), "utf8")).presets.grpo.curve;
    assert.deepEqual(await curve("stop"), await curve("full"));
    const again = cli(root, "rlhf", "grpo", "--task", "addition", "--preset", "dapo", "--resume", "stop");
    assert.equal(again.status, 2);
    assert.match(again.stderr, /trains --task addition --preset grpo, not --task addition --preset dapo/);
  });

  test("rlhf demo reasoning --quick --json reports every preset", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "proximal-reasoning-")), "out");
    const { stdout } = await run(process.execPath, [
      main,
      "rlhf",
      "demo",
      "reasoning",
      "--quick",
      "--json",
      "--out",
      out,
    ]);
    const summary = JSON.parse(stdout);
    for (const name of ["base", "grpo", "drgrpo", "dapo", "gspo", "dcpo", "rloo", "reinforce++"])
      assert.ok(name in summary, name);
    // held-out figures come with 95% intervals around them
    const { accuracy, interval, gain, gainInterval } = summary.grpo;
    assert.ok(interval[0] <= accuracy && accuracy <= interval[1], JSON.stringify(summary.grpo));
    assert.ok(gainInterval[0] <= gain && gain <= gainInterval[1], JSON.stringify(summary.grpo));
    assert.equal(typeof summary.grpo.validationAccuracy, "number");
  });

  test("rlhf demo reasoning --quick writes the four splits, which share no problem", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "proximal-reasoning-splits-")), "out");
    const r = cli(
      tmpdir(),
      "rlhf",
      "demo",
      "reasoning",
      "--quick",
      "--presets",
      "grpo",
      "--json",
      "--out",
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(Object.keys(JSON.parse(r.stdout)), ["base", "grpo"]);
    const task = makeVerifiableTask("addition");
    const owner = new Map<string, string>();
    // --quick sizes: 64 SFT, 64 train, 16 validation, 16 held-out problems
    const sizes = { sft: 64, train: 64, validation: 16, heldout: 16 };
    for (const [split, size] of Object.entries(sizes)) {
      const rows = (await readFile(join(out, "splits", `${split}.jsonl`), "utf8"))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { prompt: string; answer: string });
      assert.equal(rows.length, size, split);
      for (const { prompt, answer } of rows) {
        assert.equal(answer, task.answer(prompt));
        const key = task.problemKey(prompt);
        assert.equal(owner.get(key), undefined, `${prompt} (${split}) is also in ${owner.get(key)}`);
        owner.set(key, split);
      }
    }
    // the held-out split is the one results.json measured
    const results = JSON.parse(await readFile(join(out, "results.json"), "utf8"));
    assert.equal(results.base.heldOutCorrect.length, 16);
    assert.equal(results.splits, undefined);
  });

  test("rlhf demo reasoning --presets with an unknown name exits non-zero and suggests one", () => {
    const r = cli(tmpdir(), "rlhf", "demo", "reasoning", "--quick", "--presets", "grpo,dapoo");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /"dapo"/);
    assert.equal(r.stdout, "");
  });

  test("rlhf grpo refuses an existing --out (the default one too) before the SFT base starts", async () => {
    const work = await mkdtemp(join(tmpdir(), "proximal-grpo-taken-"));
    const grpo = ["rlhf", "grpo", "--task", "addition", "--preset", "grpo", "--samples", "64"];
    await takenDir(join(work, "taken"));
    const started = Date.now();
    await assertRefused(cli(work, ...grpo, "--out", "taken"), join(work, "taken"));
    const defaultOut = join(work, "runs", "grpo-addition-grpo-seed0");
    await takenDir(defaultOut);
    await assertRefused(cli(work, ...grpo), defaultOut);
    // both refusals together take well under one SFT base (about 15 s on the test machine)
    assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`);
  });

  test("rlhf demo reasoning refuses an existing --out, and --force replaces it", async () => {
    const work = await mkdtemp(join(tmpdir(), "proximal-reasoning-taken-"));
    const out = join(work, "taken");
    await takenDir(out);
    await writeFile(join(out, "marker"), "x");
    await assertRefused(cli(work, "rlhf", "demo", "reasoning", "--quick", "--out", "taken"), out);
    assert.ok(existsSync(join(out, "marker")));
    const defaultOut = join(work, "runs", "rlhf-reasoning-seed0");
    await takenDir(defaultOut);
    await assertRefused(cli(work, "rlhf", "demo", "reasoning", "--quick"), defaultOut);

    const r = cli(work, "rlhf", "demo", "reasoning", "--quick", "--json", "--force", "--out", "taken");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(join(out, "marker")), "the old directory is replaced");
    const results = JSON.parse(await readFile(join(out, "results.json"), "utf8"));
    assert.equal(typeof results.base.accuracy, "number");
    // each step's metrics live in <preset>.jsonl, not in results.json (--quick: 32 completions, 16 a step)
    assert.equal(results.presets.grpo.history, undefined);
    assert.ok(results.presets.grpo.curve.length >= 2);
    const steps = (await readFile(join(out, "grpo.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(steps.length, 2);
    assert.equal(typeof steps[0]["train/loss"], "number");
    assert.ok(existsSync(join(out, "reinforce++.jsonl")));
    for (const file of ["accuracy.svg", "accuracy.png"]) assert.ok(existsSync(join(out, file)), file);
  });

  test("an unknown task exits non-zero and suggests the name", async () => {
    await assert.rejects(
      run(process.execPath, [main, "rlhf", "grpo", "--task", "additon", "--preset", "grpo"]),
      (e: { stderr: string }) => e.stderr.includes("addition"),
    );
  });
});
