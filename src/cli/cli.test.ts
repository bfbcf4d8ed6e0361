/**
 * The `proximal` command end to end: each test runs `node dist/cli/main.js` as a subprocess in a
 * temporary directory, as a user would. Budgets are tiny (CartPole, the rlzoo preset's 8 envs × 32
 * steps = 256 timesteps per update), so the whole file takes a few seconds per core.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readEventFile } from "../io/tfevents.test.util.js";
import { loadNativeBackend, nativeLoadFailure } from "../tensor/nativeBackend.js";
import { wasmBuildInfo } from "../tensor/wasmBackend.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
let work = "";

function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: work, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Like {@link cli}, with PROXIMAL_BACKEND set to `backend` or, when undefined, removed. */
function cliWithBackend(backend: string | undefined, ...args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, PROXIMAL_BACKEND: backend };
  if (backend === undefined) delete env.PROXIMAL_BACKEND;
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: work, encoding: "utf8", env });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "proximal-cli-"));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("proximal train", () => {
  test("--log-every writes a row at the first update past each multiple, at evaluations and at the end; a stopped and resumed run logs the same rows", async () => {
    // SAC updates after every env step: without --log-every this would be 1,300 rows
    const sac = [
      "train",
      "sac",
      "--env",
      "Pendulum-v1",
      "--set",
      "policy.netArch=[16]",
      "--set",
      "batchSize=16",
    ];
    const saved = ["--set", "saveReplayBuffer=true"];
    const base = [...sac, ...saved, "--total-timesteps", "1300", "--seed", "2"];
    const logged = ["--log-every", "500", "--eval-every", "800", "--eval-episodes", "1"];
    const whole = cli(...base, ...logged, "--out", "log-whole", "--json");
    assert.equal(whole.status, 0, whole.stderr);
    const rowsOf = async (dir: string) =>
      (await readFile(join(work, dir, "progress.jsonl"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, number>);
    const rows = await rowsOf("log-whole");
    assert.deepEqual(
      rows.map((r) => r.timesteps),
      [500, 800, 1000, 1300],
    );
    assert.equal(typeof rows[1]["eval/meanReturn"], "number");
    const updates = jsonLines(whole.stdout).filter((l) => l.event === "update");
    assert.deepEqual(
      updates.map((l) => l.timesteps),
      [500, 800, 1000, 1300],
    );
    const config = JSON.parse(await readFile(join(work, "log-whole", "config.json"), "utf8"));
    assert.equal(config.logEvery, 500);
    const stopped = cli(...base, ...logged, "--out", "log-split", "--stop-after", "650");
    assert.equal(stopped.status, 0, stopped.stderr);
    const resumed = cli("train", "--resume", "log-split");
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(
      (await rowsOf("log-split")).map((r) => [r.timesteps, r["train/loss"], r["eval/meanReturn"]]),
      rows.map((r) => [r.timesteps, r["train/loss"], r["eval/meanReturn"]]),
    );
    const defaulted = cli(...sac, "--total-timesteps", "3000", "--out", "log-default");
    assert.equal(defaulted.status, 0, defaulted.stderr);
    const defaultRows = await rowsOf("log-default");
    assert.equal(defaultRows.length, 1000, "a thousandth of the total: a row every 3 timesteps");
    assert.equal(defaultRows.at(-1)?.timesteps, 3000);
  });

  test("writes config, progress (JSONL, CSV), TensorBoard events, checkpoints and the model", async () => {
    const r = cli(
      "train",
      "ppo",
      "--env",
      "CartPole-v1",
      "--total-timesteps",
      "1024",
      "--out",
      "short",
      "--eval-every",
      "512",
      "--eval-episodes",
      "2",
    );
    assert.equal(r.status, 0, r.stderr);
    // not a terminal: one JSON line per update on stdout (plus start/eval/done events)
    const lines = jsonLines(r.stdout);
    const updates = lines.filter((l) => l.event === "update");
    assert.deepEqual(
      updates.map((u) => u.timesteps),
      [256, 512, 768, 1024],
    );
    assert.equal(lines[lines.length - 1].event, "done");

    const dir = join(work, "short");
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    assert.equal(config.proximalVersion, "0.1.0");
    assert.equal(config.seed, 0);
    assert.equal(config.preset, "rlzoo");
    assert.equal(config.totalTimesteps, 1024);
    assert.equal(config.options.nSteps, 32);
    assert.equal(config.options.batchSize, 256);
    assert.equal(config.options.clipRangeVf, null); // a default, resolved
    assert.deepEqual(config.options.learningRate, { schedule: "linear", initial: 1e-3, final: 0 });

    const rows = (await readFile(join(dir, "progress.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 4);
    for (const key of [
      "timesteps",
      "wallTime",
      "train/policyLoss",
      "train/approxKl",
      "train/clipFraction",
      "train/entropy",
    ]) {
      assert.ok(key in rows[0], key);
    }
    assert.ok("eval/meanReturn" in rows[1]);
    const csv = (await readFile(join(dir, "progress.csv"), "utf8")).trim().split("\n");
    assert.equal(csv.length, 5);
    assert.ok(csv[0].split(",").includes("train/valueLoss"));

    const eventFile = (await readdir(dir)).find((f) => f.startsWith("events.out.tfevents."));
    assert.ok(eventFile);
    const events = readEventFile(new Uint8Array(await readFile(join(dir, eventFile))));
    assert.equal(events[0].fileVersion, "brain.Event:2");
    assert.deepEqual(
      events.slice(1).map((e) => e.step),
      [256, 512, 768, 1024],
    );
    assert.equal(events[4].scalars["train/policyLoss"], Math.fround(rows[3]["train/policyLoss"]));

    assert.ok(existsSync(join(dir, "model", "model.safetensors")));
    assert.ok(existsSync(join(dir, "model", "best", "model.safetensors")));
    const latest = JSON.parse(await readFile(join(dir, "checkpoints", "latest.json"), "utf8"));
    assert.equal(latest.status, "finished");
  });

  test("--stop-after then --resume leaves weights bit-identical to an uninterrupted run", async () => {
    const whole = cli(
      "train",
      "ppo",
      "--env",
      "CartPole-v1",
      "--seed",
      "3",
      "--total-timesteps",
      "1024",
      "--out",
      "A",
      "--eval-every",
      "256",
      "--eval-episodes",
      "1",
    );
    assert.equal(whole.status, 0, whole.stderr);
    const first = cli(
      "train",
      "ppo",
      "--env",
      "CartPole-v1",
      "--seed",
      "3",
      "--total-timesteps",
      "1024",
      "--stop-after",
      "500",
      "--out",
      "B",
      "--eval-every",
      "256",
      "--eval-episodes",
      "1",
    );
    assert.equal(first.status, 0, first.stderr);
    // 500 is rounded up to the update boundary at 512
    const latest = JSON.parse(await readFile(join(work, "B", "checkpoints", "latest.json"), "utf8"));
    assert.deepEqual(latest, { checkpoint: "step-0000000512", timesteps: 512, status: "stopped" });
    assert.equal(existsSync(join(work, "B", "model", "model.safetensors")), false);
    assert.equal(JSON.parse(await readFile(join(work, "B", "config.json"), "utf8")).totalTimesteps, 1024);

    // the original command line plus --resume is accepted: every restated flag matches config.json
    const rest = cli(
      "train",
      "ppo",
      "--env",
      "CartPole-v1",
      "--seed",
      "3",
      "--total-timesteps",
      "1024",
      "--out",
      "B",
      "--eval-every",
      "256",
      "--eval-episodes",
      "1",
      "--resume",
      "B",
    );
    assert.equal(rest.status, 0, rest.stderr);
    assert.equal(jsonLines(rest.stdout)[0].event, "resume");
    const a = await readFile(join(work, "A", "model", "model.safetensors"));
    const b = await readFile(join(work, "B", "model", "model.safetensors"));
    assert.ok(a.equals(b), "final weights and optimizer state differ");
    const rowsA = (await readFile(join(work, "A", "progress.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const rowsB = (await readFile(join(work, "B", "progress.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rowsB.map((r) => [r.timesteps, r["train/policyLoss"], r["eval/meanReturn"]]),
      rowsA.map((r) => [r.timesteps, r["train/policyLoss"], r["eval/meanReturn"]]),
    );
  });

  test("dqn (rlzoo preset, replay buffer saved): --stop-after then --resume is bit-identical", async () => {
    const args = (out: string, ...extra: string[]) => [
      "train",
      "dqn",
      "--env",
      "CartPole-v1",
      "--seed",
      "2",
      "--total-timesteps",
      "2048",
      "--out",
      out,
      ...extra,
    ];
    const sets = ["--set", "saveReplayBuffer=true", "--set", "policy.netArch=[32]"];
    const whole = cli(...args("DQN-A", ...sets));
    assert.equal(whole.status, 0, whole.stderr);
    const first = cli(...args("DQN-B", ...sets, "--stop-after", "1100"));
    assert.equal(first.status, 0, first.stderr);
    // trainFreq 256 (rlzoo): 1100 is rounded up to the update boundary at 1280
    const latest = JSON.parse(await readFile(join(work, "DQN-B", "checkpoints", "latest.json"), "utf8"));
    assert.equal(latest.timesteps, 1280);
    assert.ok(existsSync(join(work, "DQN-B", "checkpoints", latest.checkpoint, "replay.safetensors")));
    const rest = cli("train", "--resume", "DQN-B");
    assert.equal(rest.status, 0, rest.stderr);
    const a = await readFile(join(work, "DQN-A", "model", "model.safetensors"));
    const b = await readFile(join(work, "DQN-B", "model", "model.safetensors"));
    assert.ok(a.equals(b), "final weights and optimizer state differ");
    const config = JSON.parse(await readFile(join(work, "DQN-A", "config.json"), "utf8"));
    assert.equal(config.preset, "rlzoo");
    assert.equal(config.options.targetUpdateInterval, 10);
  });

  test("rainbow (hessel preset, replay buffer saved): --stop-after then --resume is bit-identical", async () => {
    const args = (out: string, ...extra: string[]) => [
      "train",
      "rainbow",
      "--env",
      "CartPole-v1",
      "--seed",
      "3",
      "--total-timesteps",
      "800",
      "--out",
      out,
      ...extra,
    ];
    const sets = [
      "--set",
      "saveReplayBuffer=true",
      "--set",
      "policy.netArch=[32]",
      "--set",
      "learningStarts=200",
    ];
    const whole = cli(...args("RB-A", ...sets));
    assert.equal(whole.status, 0, whole.stderr);
    const first = cli(...args("RB-B", ...sets, "--stop-after", "500"));
    assert.equal(first.status, 0, first.stderr);
    const rest = cli("train", "--resume", "RB-B");
    assert.equal(rest.status, 0, rest.stderr);
    const a = await readFile(join(work, "RB-A", "model", "model.safetensors"));
    const b = await readFile(join(work, "RB-B", "model", "model.safetensors"));
    assert.ok(a.equals(b), "final weights, noise and optimizer state differ");
    const config = JSON.parse(await readFile(join(work, "RB-A", "config.json"), "utf8"));
    assert.equal(config.preset, "hessel");
    assert.deepEqual(config.options.distributional, { atoms: 51, vMin: 0, vMax: 100 });
  });

  test("Ctrl-C stops after the current update with a checkpoint that --resume continues", async () => {
    const child = spawn(
      process.execPath,
      [MAIN, "train", "ppo", "--env", "CartPole-v1", "--total-timesteps", "100000", "--out", "interrupted"],
      { cwd: work },
    );
    let stdout = "";
    const status = await new Promise<number | null>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('"event":"update"') && !child.killed) child.kill("SIGINT");
      });
      child.on("exit", (code) => resolve(code));
    });
    assert.equal(status, 130);
    const latest = JSON.parse(
      await readFile(join(work, "interrupted", "checkpoints", "latest.json"), "utf8"),
    );
    assert.equal(latest.status, "interrupted");
    const resumed = cli("train", "--resume", "interrupted", "--stop-after", String(latest.timesteps + 256));
    assert.equal(resumed.status, 0, resumed.stderr);
    const after = JSON.parse(await readFile(join(work, "interrupted", "checkpoints", "latest.json"), "utf8"));
    assert.equal(after.timesteps, latest.timesteps + 256);
  });
});

describe("proximal train after a hard kill", () => {
  // checkpoints every 4 updates (1024 timesteps), evaluations every 2, seed 5
  const args = ["train", "ppo", "--env", "CartPole-v1", "--seed", "5", "--total-timesteps", "100000"];
  const extra = ["--checkpoint-every", "1024", "--eval-every", "512", "--eval-episodes", "1"];
  const progress = async (dir: string) =>
    (await readFile(join(work, dir, "progress.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number>);
  const eventSteps = async (dir: string) => {
    const files = (await readdir(join(work, dir))).filter((f) => f.startsWith("events.out.tfevents."));
    assert.equal(files.length, 1, `one event file per run: ${files.join(", ")}`);
    const events = readEventFile(new Uint8Array(await readFile(join(work, dir, files[0]))));
    return events.slice(1).map((e) => e.step);
  };

  test("SIGKILL then --resume: the logs are cut back to the checkpoint, no step twice or lost, weights bit-identical", async () => {
    const whole = cli(...args, ...extra, "--stop-after", "2048", "--out", "K-whole");
    assert.equal(whole.status, 0, whole.stderr);

    const child = spawn(process.execPath, [MAIN, ...args, ...extra, "--out", "K"], { cwd: work });
    let stdout = "";
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        // the update after the checkpoint at 1024: its rows are logged but not checkpointed
        if (stdout.includes('"event":"update","timesteps":1280') && !child.killed) child.kill("SIGKILL");
      });
      child.on("exit", (_code, killedBy) => resolve(killedBy));
    });
    assert.equal(signal, "SIGKILL");
    const latest = JSON.parse(await readFile(join(work, "K", "checkpoints", "latest.json"), "utf8"));
    assert.equal(latest.timesteps, 1024, "the kill must land between the checkpoint at 1024 and the next");
    // the precondition this test is about: rows and events past the checkpoint exist before resuming
    assert.ok((await progress("K")).some((r) => r.timesteps > 1024));
    assert.ok((await eventSteps("K")).some((step) => step > 1024));

    const resumed = cli(...args, ...extra, "--stop-after", "2048", "--out", "K", "--resume", "K");
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(resumed.stderr, "");

    const expected = [256, 512, 768, 1024, 1280, 1536, 1792, 2048];
    const rows = await progress("K");
    const wholeRows = await progress("K-whole");
    assert.deepEqual(
      wholeRows.map((r) => r.timesteps),
      expected,
    );
    assert.deepEqual(
      rows.map((r) => [r.timesteps, r["train/policyLoss"], r["eval/meanReturn"]]),
      wholeRows.map((r) => [r.timesteps, r["train/policyLoss"], r["eval/meanReturn"]]),
    );
    const csv = (await readFile(join(work, "K", "progress.csv"), "utf8")).trim().split("\n");
    assert.equal(csv[0].split(",")[0], "timesteps");
    assert.deepEqual(
      csv.slice(1).map((line) => Number(line.split(",")[0])),
      expected,
    );
    assert.deepEqual(await eventSteps("K"), expected);
    assert.deepEqual(await eventSteps("K-whole"), expected);

    const checkpoint = join("checkpoints", "step-0000002048", "model.safetensors");
    const a = await readFile(join(work, "K-whole", checkpoint));
    const b = await readFile(join(work, "K", checkpoint));
    assert.ok(a.equals(b), "weights and optimizer state differ from the uninterrupted run's");
  });

  test("a checkpoint without log positions (an earlier proximal) resumes by timesteps, and says so", async () => {
    await cp(join(work, "K"), join(work, "K-legacy"), { recursive: true });
    const runState = join(work, "K-legacy", "checkpoints", "step-0000002048", "run.json");
    const { logs: _logs, ...older } = JSON.parse(await readFile(runState, "utf8"));
    await writeFile(runState, JSON.stringify(older));
    const r = cli("train", "--resume", "K-legacy", "--stop-after", "2304");
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /run.json records no log positions .*progress rows after 2048 timesteps are dropped/,
    );
    assert.deepEqual(
      (await progress("K-legacy")).map((row) => row.timesteps),
      [256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304],
    );

    // every checkpoint has a run.json: a missing one is named, not taken as a fresh start
    await rm(join(work, "K-legacy", "checkpoints", "step-0000002304", "run.json"));
    const missing = cli("train", "--resume", "K-legacy");
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /step-0000002304\/run.json is missing. Resume from an earlier checkpoint/);
  });
});

describe("proximal eval, enjoy, plot, envs, algos", () => {
  test("eval --json prints meanReturn, stdReturn, meanLength, episodes, deterministic", () => {
    const r = cli("eval", "short", "--episodes", "3", "--seed", "1", "--json");
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(result), [
      "meanReturn",
      "stdReturn",
      "meanLength",
      "episodes",
      "deterministic",
    ]);
    assert.equal(result.episodes, 3);
    assert.equal(result.deterministic, true);
    assert.ok(result.meanReturn > 0);
    // a model directory works too, and the same seed gives the same numbers
    const again = JSON.parse(cli("eval", "short/model", "--episodes", "3", "--seed", "1", "--json").stdout);
    assert.deepEqual(again, result);
  });

  test("eval acts deterministically by default; --stochastic samples", () => {
    const run = (...flags: string[]) => {
      const r = cli("eval", "short", "--episodes", "3", "--seed", "1", "--json", ...flags);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { meanReturn: number; meanLength: number; deterministic: boolean };
    };
    const byDefault = run();
    assert.equal(byDefault.deterministic, true);
    assert.deepEqual(run("--deterministic"), byDefault);
    // seed 1, this 1024-step model: the mode balances the pole for ~418 steps, sampling for ~29
    const sampled = run("--stochastic");
    assert.equal(sampled.deterministic, false);
    assert.notEqual(sampled.meanLength, byDefault.meanLength);
    assert.ok(sampled.meanLength < byDefault.meanLength, JSON.stringify({ sampled, byDefault }));
    // sampled actions come from a generator seeded by --seed alone
    assert.deepEqual(run("--stochastic"), sampled);
  });

  test("eval and enjoy refuse --deterministic with --stochastic", () => {
    for (const command of ["eval", "enjoy"]) {
      const r = cli(command, "short", "--deterministic", "--stochastic");
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--deterministic and --stochastic contradict each other; drop one/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
    }
  });

  test("normalization.json: missing means none, present is applied, unreadable or malformed is exit 2", async () => {
    const evalJson = (dir: string) => cli("eval", dir, "--episodes", "2", "--seed", "4", "--json");
    // the CartPole run trained without normalize: no file, observations used as they are
    assert.equal(existsSync(join(work, "short", "model", "normalization.json")), false);
    const plain = evalJson("short/model");
    assert.equal(plain.status, 0, plain.stderr);

    await cp(join(work, "short", "model"), join(work, "normalized"), { recursive: true });
    const file = join(work, "normalized", "normalization.json");
    const statistics = { mean: [0, 0, 0, 0], var: [1e6, 1e6, 1e6, 1e6], count: 1 };
    await writeFile(file, JSON.stringify({ statistics, epsilon: 0, clipObservation: null }));
    const scaled = evalJson("normalized");
    assert.equal(scaled.status, 0, scaled.stderr);
    // observations divided by 1000 push the policy to other actions, so the episodes change
    assert.notDeepEqual(JSON.parse(scaled.stdout), JSON.parse(plain.stdout));

    const bad: { content: string; message: RegExp }[] = [
      { content: "{ statistics: ", message: /normalized\/normalization.json is not valid JSON/ },
      {
        content: JSON.stringify({ statistics: { mean: [0], var: [1, 1], count: 1 }, epsilon: 0 }),
        message: /normalization.json is malformed: statistics.mean has 1 entries but statistics.var has 2/,
      },
      {
        content: JSON.stringify({
          statistics: { mean: [0, 0], var: [1, 1], count: 1 },
          epsilon: 0,
          clipObservation: null,
        }),
        message:
          /normalization.json holds statistics for 2 observation values, but CartPole-v1 observations have 4/,
      },
    ];
    for (const { content, message } of bad) {
      await writeFile(file, content);
      const r = evalJson("normalized");
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    // exists but cannot be read (a directory in its place): named, not taken as "no normalisation"
    await rm(file);
    await mkdir(file);
    const unreadable = evalJson("normalized");
    assert.equal(unreadable.status, 2, unreadable.stderr);
    assert.match(unreadable.stderr, /Cannot read .*normalized\/normalization.json: EISDIR/);
  });

  test("enjoy draws text frames of the episode", () => {
    const r = cli("enjoy", "short", "--fps", "0");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /episode 1\/1 {2}step 0/);
    assert.match(r.stdout, /episode 1: return \d+/);
  });

  test("plot writes an SVG with the curves and a PNG", async () => {
    const r = cli("plot", "A", "B", "short", "--out", "figs/curves.svg");
    assert.equal(r.status, 0, r.stderr);
    const svg = await readFile(join(work, "figs", "curves.svg"), "utf8");
    assertWellFormedXml(svg);
    assert.match(svg, /^<\?xml[^>]*>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const metric of [
      "episode return (recent episodes)",
      "policy loss",
      "value loss",
      "approx KL",
      "entropy",
      "clip fraction",
    ]) {
      assert.ok(svg.includes(`data-metric="${metric}"`), metric);
    }
    // A (seed 3) and B (seed 3, resumed) and short (seed 0): one group of three runs with a band
    assert.ok(svg.includes('data-band="std"'));
    assert.ok(svg.includes("3 runs: mean, band +/- 1 std"));
    const curve =
      /<polyline data-series="ppo CartPole-v1" data-metric="episode return \(recent episodes\)" points="([^"]+)"/.exec(
        svg,
      );
    assert.ok(curve !== null);
    assert.ok(curve[1].split(" ").length >= 4);
    const png = await readFile(join(work, "figs", "curves.png"));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), 1800); // width at 2 pixels per SVG unit
  });

  test("envs and algos list spaces and presets", () => {
    const envs = JSON.parse(cli("envs", "--json").stdout) as {
      id: string;
      actionSpace: string;
      presets: string[];
    }[];
    const cartPole = envs.find((e) => e.id === "CartPole-v1");
    assert.equal(cartPole?.actionSpace, "Discrete(2)");
    assert.ok(cartPole?.presets.includes("ppo:rlzoo"));
    const algos = JSON.parse(cli("algos", "--json").stdout) as { algo: string; presets: string[] }[];
    assert.ok(algos.some((a) => a.algo === "ppo" && a.presets.includes("rlzoo")));
    const ppo = JSON.parse(cli("algos", "ppo", "--json").stdout) as {
      options: { name: string; type: string }[];
    };
    assert.ok(ppo.options.some((o) => o.name === "learningRate" && o.type === "ScheduleLike"));
    const dqn = JSON.parse(cli("algos", "dqn", "--json").stdout) as {
      options: { name: string; type: string }[];
    };
    assert.ok(dqn.options.some((o) => o.name === "quantile" && o.type === "QuantileOptions | null"));
  });
});

describe("proximal info", () => {
  test("--json prints the versions, the default backend and why, SIMD, the native path, threads and cores", async () => {
    const r = cliWithBackend(undefined, "info", "--json");
    assert.equal(r.status, 0, r.stderr);
    const packageJson = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
    // native by default on Node where its addon is built (nativeParity.test.ts fails where a
    // compiler is present but it is not), else wasm with a notice
    const isa = loadNativeBackend()?.isa ?? null;
    assert.deepEqual(JSON.parse(r.stdout), {
      version: packageJson.version,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      backend: isa === null ? "wasm" : "native",
      backendReason:
        isa === null
          ? `fallback: native backend unavailable (${nativeLoadFailure()})`
          : `default: native kernels loaded (${isa})`,
      simd: true,
      // the same build this process loads (same runtime, same PROXIMAL_WASM_RELAXED)
      wasmBuild: wasmBuildInfo()?.build,
      wasmFma: wasmBuildInfo()?.fma,
      nativeIsa: isa,
      // the native backend's products run on every core by default; wasm on the calling thread
      threads: isa === null ? 1 : availableParallelism(),
      cores: availableParallelism(),
    });
  });

  test("prints one labelled line per field without --json", () => {
    const r = cliWithBackend(undefined, "info");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^proximal \d+\.\d+\.\d+$/m);
    assert.match(r.stdout, new RegExp(`^node +${process.version.replaceAll(".", "\\.")} `, "m"));
    assert.match(
      r.stdout,
      loadNativeBackend() === null
        ? /^backend +wasm \(fallback: /
        : /^backend +native \(default: native kernels loaded \(\w+\)\)$/m,
    );
    assert.match(r.stdout, /^simd +yes /m);
    const wasm = wasmBuildInfo();
    assert.ok(wasm !== null);
    assert.ok(
      r.stdout
        .split("\n")
        .includes(
          `wasm     ${wasm.label} (${wasm.reason}${wasm.build === "relaxed-simd" ? "; PROXIMAL_WASM_RELAXED=0 for simd128" : ""})`,
        ),
      r.stdout,
    );
    const isa = loadNativeBackend()?.isa;
    assert.match(
      r.stdout,
      isa === undefined ? /^native +no \(/m : new RegExp(`^native +yes \\(${isa} kernels\\)$`, "m"),
    );
    assert.match(r.stdout, new RegExp(`^threads +${isa === undefined ? 1 : availableParallelism()}$`, "m"));
    assert.match(r.stdout, new RegExp(`^cores +${availableParallelism()}$`, "m"));
  });

  test("reports PROXIMAL_BACKEND=cpu as the reason for the cpu backend", () => {
    const r = cliWithBackend("cpu", "info", "--json");
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { backend: string; backendReason: string; simd: boolean };
    assert.deepEqual([info.backend, info.backendReason, info.simd], ["cpu", "PROXIMAL_BACKEND=cpu", true]);
  });

  test("PROXIMAL_WASM_RELAXED=0 reports the SIMD128 build; a bad value exits 2 naming the accepted values", () => {
    const run = (value: string) =>
      spawnSync(process.execPath, [MAIN, "info"], {
        cwd: work,
        encoding: "utf8",
        env: { ...process.env, PROXIMAL_WASM_RELAXED: value },
      });
    const forced = run("0");
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, /^wasm +simd128 \(PROXIMAL_WASM_RELAXED=0\)$/m);
    const bad = run("fma");
    assert.equal(bad.status, 2);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(
      bad.stderr,
      /^proximal: PROXIMAL_WASM_RELAXED is "fma", which is not a valid value. Set it to "0"/,
    );
  });

  test("an invalid PROXIMAL_BACKEND exits 2 with one line naming the valid values", () => {
    const r = cliWithBackend("gpu", "info");
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^proximal: PROXIMAL_BACKEND is "gpu".*"cpu", "wasm" or "native"/);
  });
});

describe("bad input: one line naming the key and the fix, exit code 2, nothing written", () => {
  const cases: { name: string; args: string[]; message: RegExp; config?: string }[] = [
    {
      name: "unknown algorithm",
      args: ["train", "ppo2", "--env", "CartPole-v1"],
      message: /Unknown algorithm "ppo2". Did you mean "ppo"\?/,
    },
    {
      name: "unknown env",
      args: ["train", "ppo", "--env", "CartPole-v2"],
      message: /"CartPole-v2".*Did you mean "CartPole-v1"\?/,
    },
    {
      name: "unknown option",
      args: ["train", "ppo", "--env", "CartPole-v1", "--set", "learningrate=1e-3"],
      message: /Unknown option "learningrate".*Did you mean "learningRate"\?/,
    },
    {
      name: "a typo inside QR-DQN's quantile option",
      args: ["train", "dqn", "--env", "CartPole-v1", "--set", "quantile={quantlies: 5}"],
      message: /Unknown option "quantile.quantlies".*Did you mean "quantiles"\?/,
    },
    {
      name: "quantile (QR-DQN) together with distributional (C51)",
      args: ["train", "dqn", "--env", "CartPole-v1", "--set", "quantile={}", "--set", "distributional={}"],
      message: /distributional \(C51\) and quantile \(QR-DQN\).*distributional: null.*quantile: null/,
    },
    {
      name: "wrong type",
      args: ["train", "ppo", "--env", "CartPole-v1", "--set", "nEpochs=many"],
      message: /nEpochs \(--set\) must be a number; got "many"/,
    },
    {
      name: "wrong type in a nested option",
      args: ["train", "ppo", "--env", "CartPole-v1", "--set", "policy.netArch=wide"],
      message: /policy.netArch \(--set\) must be a list of numbers/,
    },
    {
      name: "negative learning rate",
      args: ["train", "ppo", "--env", "CartPole-v1", "--set", "learningRate=-0.001"],
      message: /learningRate must be a non-negative number, got -0.001/,
    },
    {
      name: "batch larger than the rollout",
      args: ["train", "ppo", "--env", "CartPole-v1", "--set", "batchSize=4096"],
      message: /batchSize \(4096\) is larger than the rollout.*Lower batchSize or raise nSteps/,
    },
    {
      name: "enum value",
      args: ["train", "ppo", "--env", "CartPole-v1", "--set", "objective=kl"],
      message: /objective \(--set\) must be "clip" or "klPenalty"/,
    },
    {
      name: "malformed YAML",
      args: ["train", "ppo", "--env", "CartPole-v1", "--config", "bad.yaml"],
      config: "learningRate: [3e-4\nnSteps: 8\n",
      message: /--config bad.yaml is not valid YAML/,
    },
    {
      name: "unknown key in a config file",
      args: ["train", "ppo", "--env", "CartPole-v1", "--config", "typo.yaml"],
      config: "nStep: 64\n",
      message: /Unknown option "nStep" for ppo \(typo.yaml\). Did you mean "nSteps"\?/,
    },
    {
      name: "bad integer flag",
      args: ["train", "ppo", "--env", "CartPole-v1", "--seed", "1.5"],
      message: /--seed must be an integer, got "1.5"/,
    },
    {
      name: "unknown preset",
      args: ["train", "ppo", "--env", "CartPole-v1", "--preset", "rlzo"],
      message: /preset named "rlzo". Did you mean "rlzoo"\?/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      if (c.config !== undefined) await writeFile(join(work, c.args[c.args.length - 1]), c.config);
      const out = `bad-${c.name.replace(/\W+/g, "-")}`;
      const r = cli(...c.args, "--out", out, "--total-timesteps", "256");
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, c.message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(existsSync(join(work, out)), false, "the run directory must not be created");
    });
  }

  test("an existing --out directory is never overwritten without --force", async () => {
    const before = await readFile(join(work, "short", "progress.jsonl"));
    const r = cli("train", "ppo", "--env", "CartPole-v1", "--total-timesteps", "256", "--out", "short");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /short already exists.*--force/);
    assert.ok(before.equals(await readFile(join(work, "short", "progress.jsonl"))));
    const forced = cli(
      "train",
      "ppo",
      "--env",
      "CartPole-v1",
      "--total-timesteps",
      "256",
      "--out",
      "forced-copy",
    );
    assert.equal(forced.status, 0);
    assert.equal(
      cli(
        "train",
        "ppo",
        "--env",
        "CartPole-v1",
        "--total-timesteps",
        "512",
        "--out",
        "forced-copy",
        "--force",
      ).status,
      0,
    );
    const rows = (await readFile(join(work, "forced-copy", "progress.jsonl"), "utf8")).trim().split("\n");
    assert.equal(rows.length, 2);
  });

  test("--resume refuses flags that do not match the run, naming both values", async () => {
    const before = await readFile(join(work, "short", "progress.jsonl"));
    const cases: { args: string[]; message: RegExp }[] = [
      {
        args: ["train", "ppo", "--env", "Acrobot-v1", "--resume", "short"],
        message:
          /^proximal: --env Acrobot-v1 does not match the run's envId CartPole-v1 \(short\/config.json\); drop --env to continue short as saved/,
      },
      {
        args: ["train", "a2c", "--env", "CartPole-v1", "--seed", "7", "--resume", "short"],
        message:
          /algorithm a2c does not match the run's algo ppo; --seed 7 does not match the run's seed 0 \(short\/config.json\); drop the algorithm, --seed/,
      },
      {
        args: ["train", "--resume", "short", "--total-timesteps", "2048"],
        message: /--total-timesteps 2048 does not match the run's totalTimesteps 1024/,
      },
      {
        args: ["train", "--resume", "short", "--eval-every", "100"],
        message: /--eval-every 100 does not match the run's evalEvery 512/,
      },
      {
        args: ["train", "--resume", "short", "--out", "elsewhere"],
        message: /--out elsewhere and --resume short name different directories; drop --out/,
      },
      {
        args: ["train", "--resume", "short", "--set", "nEpochs=2"],
        message: /with the options saved in its config.json; drop --set/,
      },
      {
        args: ["train", "--resume", "short", "--force"],
        message: /--force starts a run afresh and --resume continues one; drop one/,
      },
    ];
    for (const c of cases) {
      const r = cli(...c.args);
      assert.equal(r.status, 2, `${c.args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, c.message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
    }
    assert.ok(before.equals(await readFile(join(work, "short", "progress.jsonl"))));
    // matching values (the algorithm in any case) pass the check and reach the run itself
    const same = cli("train", "PPO", "--env", "CartPole-v1", "--seed", "0", "--resume", "short");
    assert.equal(same.status, 0, same.stderr);
    assert.match(same.stderr, /short already finished at 1024 timesteps; nothing to resume/);
  });

  test("unknown command and --resume of a non-run directory", () => {
    const r = cli("trian");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Did you mean train\?/);
    const resume = cli("train", "--resume", "nowhere");
    assert.equal(resume.status, 2);
    assert.match(resume.stderr, /nowhere is not a run directory/);
  });
});

/** Throws unless every tag is closed in order (enough to prove the SVG parses as XML). */
function assertWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^>]*\?>/, "");
  for (const m of body.matchAll(/<(\/?)([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else stack.push(name);
  }
  assert.deepEqual(stack, []);
  const stray = body.replace(/<(\/?)([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g, "");
  assert.ok(!stray.includes("<") && !stray.includes(">"), "stray angle bracket");
  assert.ok(!/&(?!amp;|lt;|gt;|quot;)/.test(stray), "unescaped ampersand");
}
