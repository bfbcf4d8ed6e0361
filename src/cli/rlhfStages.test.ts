/**
 * `proximal rlhf sft|reward|dpo|kto|ppo` end to end, as subprocesses in a temporary directory, on
 * data generated here (one-digit sums) with a 1-layer, width-16 GPT and the char tokenizer (a few
 * seconds in all).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { HELD_OUT_KEYS, splitRows } from "./rlhfStages.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
const TINY = ["--layers", "1", "--width", "16", "--heads", "2", "--context", "32"];
const OUTPUT_FILES = ["model.safetensors", "model.json", "tokenizer.json", "config.json", "metrics.jsonl"];
let work = "";

function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: work, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON lines of stdout (it is a pipe, not a terminal); the last is the summary. */
function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function jsonl(rows: object[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join("");
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "proximal-rlhf-stages-"));
  // 40 one-digit sums: "a+b=" → the sum; rejected / undesirable completions are off by one
  const sums = Array.from({ length: 40 }, (_, i) => ({ a: i % 7, b: (i * 3) % 5, i }));
  await writeFile(
    join(work, "train.jsonl"),
    jsonl(sums.map(({ a, b }) => ({ prompt: `${a}+${b}=`, response: String(a + b) }))),
  );
  await writeFile(
    join(work, "prefs.jsonl"),
    jsonl(
      sums.map(({ a, b }) => ({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: String(a + b + 1) })),
    ),
  );
  await writeFile(
    join(work, "unpaired.jsonl"),
    jsonl(
      sums.map(({ a, b, i }) => ({
        prompt: `${a}+${b}=`,
        completion: String(a + b + (i % 2)),
        label: i % 2 === 0,
      })),
    ),
  );
  await writeFile(join(work, "prompts.jsonl"), jsonl(sums.map(({ a, b }) => ({ prompt: `${a}+${b}=` }))));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("proximal rlhf sft → reward → dpo → kto → ppo", () => {
  test("each stage trains from the previous one's output and writes its directory", async () => {
    const sft = cli(
      "rlhf",
      "sft",
      "--data",
      "train.jsonl",
      "--out",
      "sft",
      ...TINY,
      "--set",
      "loggingSteps=2",
    );
    assert.equal(sft.status, 0, sft.stderr);
    const sftLines = jsonLines(sft.stdout);
    assert.equal(sftLines[0].event, "start");
    // 40 rows, batch 8, 3 epochs = 15 steps, logged every 2 and at the last: 8 update lines
    assert.equal(sftLines.filter((l) => l.event === "update").length, 8);
    const sftDone = sftLines[sftLines.length - 1];
    assert.equal(sftDone.event, "done");
    assert.equal(sftDone.steps, 15);
    assert.ok(Number.isFinite(sftDone.loss));

    const reward = cli("rlhf", "reward", "--data", "prefs.jsonl", "--sft", "sft", "--out", "rm");
    assert.equal(reward.status, 0, reward.stderr);
    const rewardDone = jsonLines(reward.stdout).pop()!;
    // --eval-fraction defaults to 0.1: the first 4 rows of a seeded order held out, whole comparisons
    // at a time; rows 35-39 repeat rows 0-4, and seed 0 holds out two of those comparisons with both copies
    assert.equal(rewardDone.evalRows, 6);
    assert.equal(rewardDone.trainRows, 34);
    assert.ok((rewardDone.heldOutAccuracy as number) >= 0 && (rewardDone.heldOutAccuracy as number) <= 1);

    const dpo = cli(
      "rlhf",
      "dpo",
      "--data",
      "prefs.jsonl",
      "--sft",
      "sft",
      "--out",
      "dpo",
      "--set",
      "loss=ipo",
    );
    assert.equal(dpo.status, 0, dpo.stderr);
    const kto = cli("rlhf", "kto", "--data", "unpaired.jsonl", "--sft", "sft", "--out", "kto", "--json");
    assert.equal(kto.status, 0, kto.stderr);
    assert.equal(jsonLines(kto.stdout).pop()!.stage, "kto");

    const ppo = cli(
      "rlhf",
      "ppo",
      "--prompts",
      "prompts.jsonl",
      "--sft",
      "sft",
      "--reward",
      "rm",
      "--out",
      "ppo",
      "--updates",
      "2",
      "--set",
      "maxNewTokens=4",
    );
    assert.equal(ppo.status, 0, ppo.stderr);
    const ppoLines = jsonLines(ppo.stdout);
    assert.equal(ppoLines.filter((l) => l.event === "update").length, 2);
    const ppoDone = ppoLines[ppoLines.length - 1];
    assert.equal(ppoDone.updates, 2);
    assert.ok(Number.isFinite(ppoDone.klToRef));

    for (const dir of ["sft", "rm", "dpo", "kto", "ppo"]) {
      for (const file of OUTPUT_FILES) assert.ok(existsSync(join(work, dir, file)), `${dir}/${file}`);
    }
    const dpoConfig = JSON.parse(await readFile(join(work, "dpo", "config.json"), "utf8"));
    assert.equal(dpoConfig.stage, "dpo");
    assert.equal(dpoConfig.options.loss, "ipo");
    assert.deepEqual(dpoConfig.givenOptions, { loss: "ipo" });
    const sftTokenizer = await readFile(join(work, "sft", "tokenizer.json"), "utf8");
    assert.equal(await readFile(join(work, "ppo", "tokenizer.json"), "utf8"), sftTokenizer);
    assert.equal(JSON.parse(sftTokenizer).type, "CharTokenizer");

    // a PPO policy is a policy like any other: SFT continues from it
    const again = cli(
      "rlhf",
      "sft",
      "--data",
      "train.jsonl",
      "--model",
      "ppo",
      "--out",
      "sft2",
      "--set",
      "maxSteps=1",
    );
    assert.equal(again.status, 0, again.stderr);
    assert.equal(jsonLines(again.stdout).pop()!.steps, 1);
  });
});

/**
 * 13 comparisons, each three times in a row: as written, again, and with chosen and rejected
 * swapped (39 rows, so a split by row holding out round(0.2 · 39) = 8 had to cut one).
 */
function repeatedComparisons(): { prompt: string; chosen: string; rejected: string }[] {
  return Array.from({ length: 13 }, (_, i) => {
    const row = {
      prompt: `${i % 7}+${i % 3}=`,
      chosen: String((i % 7) + (i % 3)),
      rejected: String(20 + i),
    };
    return [row, { ...row }, { prompt: row.prompt, chosen: row.rejected, rejected: row.chosen }];
  }).flat();
}

describe("rlhf --eval-fraction: held-out rows share no example with training", () => {
  test("reward/dpo: repeated and swapped comparisons never straddle the split", () => {
    const rows = repeatedComparisons();
    /** The comparison as the test spells it: prompt + sorted responses. */
    const comparison = (r: (typeof rows)[number]) =>
      JSON.stringify([r.prompt, ...[r.chosen, r.rejected].sort()]);
    for (const stage of ["reward", "dpo"] as const) {
      for (const seed of [0, 1, 2, 3, 4, 5]) {
        const { train, held } = splitRows(rows, HELD_OUT_KEYS[stage], 0.3, seed);
        const trained = new Set(train.map(comparison));
        assert.deepEqual(
          held.filter((r) => trained.has(comparison(r))),
          [],
          `${stage}, seed ${seed}`,
        );
        assert.ok(
          held.length > 0 && held.length % 3 === 0,
          `${stage}, seed ${seed}: ${held.length} held out`,
        );
        assert.equal(train.length + held.length, rows.length);
      }
    }
  });

  test("sft and kto: repeated (prompt, completion) rows never straddle the split; kto ignores the label", () => {
    const sftRows = Array.from({ length: 12 }, (_, i) => ({
      prompt: `${i % 6}+1=`,
      response: String((i % 6) + 1),
    }));
    const ktoRows = sftRows.map((r, i) => ({ prompt: r.prompt, completion: r.response, label: i < 6 }));
    for (const seed of [0, 1, 2]) {
      const sft = splitRows(sftRows, HELD_OUT_KEYS.sft, 0.25, seed);
      const sftTrained = new Set(sft.train.map((r) => r.prompt + r.response));
      assert.deepEqual(
        sft.held.filter((r) => sftTrained.has(r.prompt + r.response)),
        [],
      );
      assert.ok(sft.held.length > 0 && sft.held.length % 2 === 0, `sft seed ${seed}: ${sft.held.length}`);
      const kto = splitRows(ktoRows, HELD_OUT_KEYS.kto, 0.25, seed);
      const ktoTrained = new Set(kto.train.map((r) => r.prompt + r.completion));
      assert.deepEqual(
        kto.held.filter((r) => ktoTrained.has(r.prompt + r.completion)),
        [],
      );
      assert.ok(kto.held.length > 0 && kto.held.length % 2 === 0, `kto seed ${seed}: ${kto.held.length}`);
    }
  });

  test("one distinct comparison cannot be split: INVALID_ARGUMENT naming --eval-fraction", () => {
    const row = { prompt: "1+1=", chosen: "2", rejected: "3" };
    const rows = [row, row, { prompt: "1+1=", chosen: "3", rejected: "2" }];
    assert.throws(() => splitRows(rows, HELD_OUT_KEYS.reward, 0.5, 0), {
      code: "INVALID_ARGUMENT",
      message: /--eval-fraction 0\.5 of 3 rows \(1 distinct/,
    });
  });

  test("rlhf reward and dpo hold out whole comparisons (counts are multiples of the 3 copies)", async () => {
    await writeFile(join(work, "prefs-repeated.jsonl"), jsonl(repeatedComparisons()));
    for (const stage of ["reward", "dpo"]) {
      const r = cli(
        "rlhf",
        stage,
        "--data",
        "prefs-repeated.jsonl",
        "--sft",
        "sft",
        "--out",
        `${stage}-repeated`,
        "--eval-fraction",
        "0.2",
        "--set",
        "maxSteps=1",
      );
      assert.equal(r.status, 0, r.stderr);
      const done = jsonLines(r.stdout).pop()!;
      const [trainRows, evalRows] = [done.trainRows as number, done.evalRows as number];
      assert.equal(trainRows + evalRows, 39, stage);
      assert.ok(
        evalRows > 0 && evalRows % 3 === 0 && trainRows % 3 === 0,
        `${stage}: ${trainRows} + ${evalRows}`,
      );
    }
  });
});

describe("proximal rlhf with a byte-level BPE", () => {
  test("sft --tokenizer bpe writes a Hugging Face tokenizer.json; reward and ppo read it (ppo takes SFT rows as prompts)", async () => {
    const tiny = [...TINY, "--set", "maxSteps=2"];
    const sft = cli("rlhf", "sft", "--data", "train.jsonl", "--out", "bpe", "--tokenizer", "bpe", ...tiny);
    assert.equal(sft.status, 0, sft.stderr);
    const tokenizer = JSON.parse(await readFile(join(work, "bpe", "tokenizer.json"), "utf8"));
    assert.equal(tokenizer.model.type, "BPE");
    const rm = cli(
      "rlhf",
      "reward",
      "--data",
      "prefs.jsonl",
      "--sft",
      "bpe",
      "--out",
      "bpe-rm",
      "--set",
      "maxSteps=2",
    );
    assert.equal(rm.status, 0, rm.stderr);
    const ppo = cli(
      "rlhf",
      "ppo",
      "--prompts",
      "train.jsonl",
      "--sft",
      "bpe",
      "--reward",
      "bpe-rm",
      "--out",
      "bpe-ppo",
      "--updates",
      "1",
      "--set",
      "maxNewTokens=3",
    );
    assert.equal(ppo.status, 0, ppo.stderr);
    assert.equal(jsonLines(ppo.stdout).pop()!.prompts, 40);
  });
});

describe("proximal rlhf stages on bad input", () => {
  test("a malformed row exits 2 naming the file, the line and the field, and writes nothing", async () => {
    await writeFile(join(work, "bad.jsonl"), '{"prompt": "1+1=", "response": "2"}\n\n{"prompt": "1+2="}\n');
    const r = cli("rlhf", "sft", "--data", "bad.jsonl", "--out", "bad", ...TINY);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.jsonl, line 3: missing field "response"/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.ok(!existsSync(join(work, "bad")));
  });

  test("a row the SFT tokenizer cannot encode exits 2 naming line and field", async () => {
    await writeFile(join(work, "sft-only.jsonl"), '{"prompt": "1+1=", "response": "2"}\n');
    assert.equal(cli("rlhf", "sft", "--data", "sft-only.jsonl", "--out", "narrow", ...TINY).status, 0);
    await writeFile(
      join(work, "letters.jsonl"),
      '{"prompt": "1+1=", "chosen": "2", "rejected": "1"}\n{"prompt": "1+1=", "chosen": "2", "rejected": "two"}\n',
    );
    const r = cli("rlhf", "dpo", "--data", "letters.jsonl", "--sft", "narrow", "--out", "letters");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /letters\.jsonl, line 2: field "rejected"/);
    assert.ok(!existsSync(join(work, "letters")));
  });

  test("an unknown --set key exits 2 with a suggestion", () => {
    const r = cli("rlhf", "dpo", "--data", "prefs.jsonl", "--sft", "sft", "--out", "x", "--set", "bta=0.2");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Unknown option "bta".*Did you mean "beta"\?/);
    assert.ok(!existsSync(join(work, "x")));
  });

  test("a --set value of the wrong type exits 2", () => {
    const r = cli("rlhf", "sft", "--data", "train.jsonl", "--out", "x", "--set", "learningRate=fast");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /learningRate \(--set\) must be a number/);
  });

  test("an out-of-range --set value exits 2 with the config's message", () => {
    const r = cli("rlhf", "dpo", "--data", "prefs.jsonl", "--sft", "sft", "--out", "x", "--set", "loss=ipx");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /loss must be "dpo" or "ipo"/);
  });

  test("an unknown flag exits 2", () => {
    const r = cli("rlhf", "kto", "--data", "unpaired.jsonl", "--sft", "sft", "--out", "x", "--bogus");
    assert.equal(r.status, 2);
  });

  test("an existing --out exits 2 without --force and is replaced with it", async () => {
    const args = ["rlhf", "sft", "--data", "train.jsonl", "--out", "exists", ...TINY, "--set", "maxSteps=1"];
    assert.equal(cli(...args).status, 0);
    await writeFile(join(work, "exists", "marker"), "x");
    const r = cli(...args);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /exists already exists.*--force/);
    assert.equal(cli(...args, "--force").status, 0);
    assert.ok(!existsSync(join(work, "exists", "marker")));
  });

  test("a reward model passed as --sft, or a policy as --reward, exits 2", () => {
    const asSft = cli(
      "rlhf",
      "ppo",
      "--prompts",
      "prompts.jsonl",
      "--sft",
      "rm",
      "--reward",
      "rm",
      "--out",
      "x",
    );
    assert.equal(asSft.status, 2);
    assert.match(asSft.stderr, /holds a reward model/);
    const asReward = cli(
      "rlhf",
      "ppo",
      "--prompts",
      "prompts.jsonl",
      "--sft",
      "sft",
      "--reward",
      "sft",
      "--out",
      "x",
    );
    assert.equal(asReward.status, 2);
    assert.match(asReward.stderr, /not RewardTrainer/);
  });
});

describe("proximal rlhf stages: --checkpoint-every, --stop-after, --resume", () => {
  /** model.safetensors of a finished run: every weight and optimizer moment, byte for byte. */
  const weightsOf = (dir: string) => readFile(join(work, dir, "model.safetensors"));
  /** metrics.jsonl without the wall-clock figure. */
  const metricsOf = async (dir: string) =>
    (await readFile(join(work, dir, "metrics.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => {
        const { "time/tokensPerSecond": _t, ...row } = JSON.parse(line);
        return row;
      });

  /** Run `args` into `<name>-full`; into `<name>-stop` with --stop-after, then --resume it; compare. */
  async function stopAndResume(
    stage: string,
    name: string,
    args: string[],
    stopAfter: number,
    total: number,
  ) {
    const full = cli("rlhf", stage, ...args, "--out", `${name}-full`, "--checkpoint-every", "2");
    assert.equal(full.status, 0, full.stderr);
    const stop = cli(
      "rlhf",
      stage,
      ...args,
      "--out",
      `${name}-stop`,
      "--checkpoint-every",
      "2",
      "--stop-after",
      String(stopAfter),
    );
    assert.equal(stop.status, 0, stop.stderr);
    const stopped = jsonLines(stop.stdout).pop()!;
    assert.equal(stopped.event, "stopped");
    assert.equal(stopped.step, stopAfter);
    assert.match(String(stopped.totalSteps), new RegExp(`^${total}$`));
    const latest = JSON.parse(
      await readFile(join(work, `${name}-stop`, "checkpoints", "latest.json"), "utf8"),
    );
    assert.deepEqual(latest, {
      checkpoint: `step-${String(stopAfter).padStart(8, "0")}`,
      step: stopAfter,
      status: "stopped",
    });
    assert.ok(
      !existsSync(join(work, `${name}-stop`, "model.safetensors")),
      "no final model before the run ends",
    );

    const resumed = cli("rlhf", stage, "--resume", `${name}-stop`);
    assert.equal(resumed.status, 0, resumed.stderr);
    const lines = jsonLines(resumed.stdout);
    assert.equal(lines[0].event, "start");
    assert.equal(lines[0].resumedAt, stopAfter);
    assert.equal(lines[lines.length - 1].event, "done");
    assert.deepEqual(await weightsOf(`${name}-stop`), await weightsOf(`${name}-full`));
    assert.deepEqual(await metricsOf(`${name}-stop`), await metricsOf(`${name}-full`));
    for (const file of OUTPUT_FILES) assert.ok(existsSync(join(work, `${name}-stop`, file)), file);
  }

  test("sft stopped at step 3 of 6 and resumed ends bit-identical to an uninterrupted run", async () => {
    await stopAndResume(
      "sft",
      "r-sft",
      ["--data", "train.jsonl", ...TINY, "--set", "maxSteps=6", "--set", "loggingSteps=2"],
      3,
      6,
    );
  });

  test("reward, dpo and kto stopped at step 3 of 4 (between checkpoints) and resumed end bit-identical", async () => {
    const base = ["--sft", "r-sft-full", "--set", "maxSteps=4", "--set", "loggingSteps=1"];
    await stopAndResume("reward", "r-rm", ["--data", "prefs.jsonl", ...base], 3, 4);
    await stopAndResume("dpo", "r-dpo", ["--data", "prefs.jsonl", ...base], 3, 4);
    await stopAndResume(
      "kto",
      "r-kto",
      ["--data", "unpaired.jsonl", ...base, "--eval-fraction", "0.2"],
      3,
      4,
    );
  });

  test("ppo stopped after 2 of 3 updates and resumed ends bit-identical (actor, critic, reference, optimizers)", async () => {
    const args = [
      "--prompts",
      "prompts.jsonl",
      "--sft",
      "r-sft-full",
      "--reward",
      "r-rm-full",
      "--updates",
      "3",
    ];
    await stopAndResume("ppo", "r-ppo", [...args, "--set", "maxNewTokens=4", "--set", "klTarget=1"], 2, 3);
    const json = JSON.parse(await readFile(join(work, "r-ppo-stop", "model.json"), "utf8"));
    assert.equal(json.globalStep, 3);
    assert.equal(typeof json.criticGptConfig, "object");
    // the output is still a policy: sft continues from it
    const again = cli(
      "rlhf",
      "sft",
      "--data",
      "train.jsonl",
      "--model",
      "r-ppo-stop",
      "--out",
      "r-sft2",
      "--set",
      "maxSteps=1",
    );
    assert.equal(again.status, 0, again.stderr);
  });

  test("--resume refuses another stage, extra flags and a changed config, each in one line; a finished run has nothing to resume", async () => {
    const wrongStage = cli("rlhf", "dpo", "--resume", "r-sft-stop");
    assert.equal(wrongStage.status, 2);
    assert.match(
      wrongStage.stderr,
      /written by rlhf sft, not rlhf dpo\. Continue it with: proximal rlhf sft --resume r-sft-stop/,
    );
    assert.equal(wrongStage.stderr.trim().split("\n").length, 1);

    const extra = cli("rlhf", "sft", "--resume", "r-sft-stop", "--data", "train.jsonl", "--set", "seed=3");
    assert.equal(extra.status, 2);
    assert.match(extra.stderr, /drop --data, --set \(only --stop-after and --json/);

    const finished = cli("rlhf", "sft", "--resume", "r-sft-stop");
    assert.equal(finished.status, 0);
    assert.match(finished.stderr, /already finished at step 6; nothing to resume/);

    // stop a run, then edit its saved options: the checkpoint no longer matches them
    const args = ["rlhf", "sft", "--data", "train.jsonl", ...TINY, "--set", "maxSteps=4", "--out", "r-edit"];
    assert.equal(cli(...args, "--stop-after", "2").status, 0);
    const configPath = join(work, "r-edit", "config.json");
    const config = JSON.parse(await readFile(configPath, "utf8"));
    config.resume.options.learningRate = 0.5;
    await writeFile(configPath, JSON.stringify(config));
    const edited = cli("rlhf", "sft", "--resume", "r-edit");
    assert.equal(edited.status, 2);
    assert.match(edited.stderr, /different config: learningRate \(checkpoint 0\.001, this trainer 0\.5\)/);
    assert.equal(edited.stderr.trim().split("\n").length, 1);

    const noRun = cli("rlhf", "sft", "--resume", "train.jsonl");
    assert.equal(noRun.status, 2);
    assert.match(noRun.stderr, /not an rlhf run directory/);

    const badStop = cli(...args.slice(0, -1), "r-bad", "--stop-after", "zero");
    assert.equal(badStop.status, 2);
    assert.ok(!existsSync(join(work, "r-bad")));
  });
});
