/**
 * `proximal record` and `proximal train bc|dagger|gail` end to end, as subprocesses in a temporary
 * directory: a tiny PPO "expert" (its quality does not matter here), demonstrations recorded from
 * it, then each imitation algorithm trained on them for one or two updates.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
let work = "";

function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: work, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "proximal-imitation-cli-"));
  const trained = cli(
    "train",
    "ppo",
    "--env",
    "CartPole-v1",
    "--total-timesteps",
    "512",
    "--out",
    "expert",
    "--json",
  );
  assert.equal(trained.status, 0, trained.stderr);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("proximal record", () => {
  test("writes demonstrations and refuses to overwrite them without --force", async () => {
    const first = cli("record", "expert", "--episodes", "3", "--seed", "1", "--out", "demos", "--json");
    assert.equal(first.status, 0, first.stderr);
    const summary = lastJson(first.stdout);
    assert.equal(summary.episodes, 3);
    assert.equal(summary.envId, "CartPole-v1");
    assert.ok(existsSync(join(work, "demos", "demonstrations.safetensors")));
    const metadata = JSON.parse(await readFile(join(work, "demos", "demonstrations.json"), "utf8"));
    assert.equal(metadata.totalEpisodes, 3);
    assert.equal(metadata.totalSteps, summary.steps);
    assert.deepEqual(metadata.seeds, [1, null, null]);
    const again = cli("record", "expert", "--episodes", "3", "--out", "demos");
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists.*--force/);
    assert.equal(cli("record", "expert", "--episodes", "2", "--out", "demos", "--force").status, 0);
  });
});

describe("proximal train bc|dagger|gail", () => {
  before(() => {
    const recorded = cli("record", "expert", "--episodes", "3", "--seed", "1", "--out", "trainDemos");
    assert.equal(recorded.status, 0, recorded.stderr);
  });

  test("bc trains from --demos into a run that eval loads", async () => {
    const trained = cli(
      "train",
      "bc",
      "--env",
      "CartPole-v1",
      "--demos",
      "trainDemos",
      "--total-timesteps",
      "2000",
      "--out",
      "bc-run",
      "--json",
    );
    assert.equal(trained.status, 0, trained.stderr);
    const config = JSON.parse(await readFile(join(work, "bc-run", "config.json"), "utf8"));
    assert.equal(config.givenOptions.demonstrations, "trainDemos");
    const evaluated = cli("eval", "bc-run", "--episodes", "2", "--json");
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.ok(typeof lastJson(evaluated.stdout).meanReturn === "number");
  });

  test("a bc run stopped and resumed ends with the weights of an uninterrupted one", async () => {
    const args = ["--env", "CartPole-v1", "--demos", "trainDemos", "--total-timesteps", "3000", "--json"];
    assert.equal(cli("train", "bc", ...args, "--out", "bc-full").status, 0);
    const stopped = cli("train", "bc", ...args, "--out", "bc-stop", "--stop-after", "1000");
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.equal(lastJson(stopped.stdout).event, "stopped");
    const resumed = cli("train", "--resume", "bc-stop", "--json");
    assert.equal(resumed.status, 0, resumed.stderr);
    const weights = (run: string) => readFile(join(work, run, "model", "model.safetensors"));
    assert.deepEqual(await weights("bc-stop"), await weights("bc-full"));
  });

  test("demonstrations of another env fail with exit 2 naming both spaces", () => {
    const r = cli(
      "train",
      "bc",
      "--env",
      "Acrobot-v1",
      "--demos",
      "trainDemos",
      "--total-timesteps",
      "100",
      "--out",
      "bc-bad",
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /observation space .* differs/);
  });

  test("--demos on an algorithm without demonstrations is an unknown option (exit 2)", () => {
    const r = cli("train", "ppo", "--env", "CartPole-v1", "--demos", "trainDemos", "--out", "ppo-demos");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Unknown option "demonstrations" for ppo \(--demos\)/);
  });

  test("dagger queries the --expert run and logs its labels", async () => {
    const r = cli(
      "train",
      "dagger",
      "--env",
      "CartPole-v1",
      "--expert",
      "expert",
      "--total-timesteps",
      "200",
      "--set",
      "rolloutSteps=100",
      "--out",
      "dagger-run",
      "--json",
    );
    assert.equal(r.status, 0, r.stderr);
    const rows = (await readFile(join(work, "dagger-run", "progress.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((row) => row["dagger/expertLabels"]),
      [100, 200],
    );
  });

  // the gail rlzoo preset (8 envs) applies; one env of 64 steps makes two updates of the 128 steps
  test("gail trains PPO on the discriminator's reward", async () => {
    const r = cli(
      "train",
      "gail",
      "--env",
      "CartPole-v1",
      "--demos",
      "trainDemos",
      "--total-timesteps",
      "128",
      "--num-envs",
      "1",
      "--set",
      "nSteps=64",
      "--set",
      "batchSize=64",
      "--set",
      "nEpochs=1",
      "--out",
      "gail-run",
      "--json",
    );
    assert.equal(r.status, 0, r.stderr);
    const rows = (await readFile(join(work, "gail-run", "progress.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 2);
    assert.ok(typeof rows[1]["discriminator/loss"] === "number");
    assert.equal(cli("eval", "gail-run", "--episodes", "1").status, 0);
  });
});
