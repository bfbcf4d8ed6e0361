/**
 * The tabular algorithms through the built CLI (`node dist/cli/main.js` as a subprocess, as in
 * `cli.test.ts`): train + eval on CliffWalking-v1 with the default Example 6.6 preset, an
 * interrupted-then-resumed run that saves the same Q table byte for byte, and the inputs a table
 * cannot take. Each run is 500 short episodes (well under a second).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Algorithm } from "../rl/common/algorithm.js";
import { QLearning } from "../rl/tabular/qLearning.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
let work = "";

function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: work, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "proximal-tabular-cli-"));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("proximal train qlearning | sarsa | expected-sarsa", () => {
  test("a TabularAlgorithm is an Algorithm (compile-time check)", () => {
    const model: Algorithm = new QLearning("CliffWalking-v1");
    assert.equal(model.algorithmName, "QLearning");
  });

  test("train uses sb-example-6.6 by default; Q-learning's greedy eval return is -13", async () => {
    const r = cli("train", "qlearning", "--env", "CliffWalking-v1", "--out", "q", "--eval-every", "250");
    assert.equal(r.status, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    const updates = lines.filter((l) => l.event === "update");
    assert.equal(updates.length, 500); // one row per episode
    assert.equal(updates[499]["time/episodes"], 500);
    const config = JSON.parse(await readFile(join(work, "q", "config.json"), "utf8"));
    assert.equal(config.preset, "sb-example-6.6");
    assert.equal(config.totalEpisodes, 500);
    assert.equal(config.totalTimesteps, null);
    assert.equal(config.options.learningRate, 0.5);
    const e = cli("eval", "q", "--episodes", "2", "--json");
    assert.equal(e.status, 0, e.stderr);
    assert.equal(JSON.parse(e.stdout).meanReturn, -13); // the optimal path along the cliff
    for (const algo of ["sarsa", "expected-sarsa"]) {
      const t = cli("train", algo, "--env", "CliffWalking-v1", "--out", algo, "--set", "totalEpisodes=20");
      assert.equal(t.status, 0, t.stderr);
      const done = jsonLines(t.stdout).find((l) => l.event === "done");
      assert.ok(done !== undefined, t.stdout);
    }
  });

  test("--stop-after (episodes) then --resume saves the same Q table as an uninterrupted run", async () => {
    const whole = cli("train", "qlearning", "--env", "CliffWalking-v1", "--out", "whole");
    assert.equal(whole.status, 0, whole.stderr);
    const cut = cli("train", "qlearning", "--env", "CliffWalking-v1", "--out", "cut", "--stop-after", "137");
    assert.equal(cut.status, 0, cut.stderr);
    const stopped = jsonLines(cut.stdout).find((l) => l.event === "stopped");
    assert.equal(stopped?.episodes, 137);
    const resumed = cli("train", "qlearning", "--env", "CliffWalking-v1", "--resume", "cut");
    assert.equal(resumed.status, 0, resumed.stderr);
    for (const file of ["model.json", "model.safetensors"]) {
      const a = await readFile(join(work, "whole", "model", file));
      const b = await readFile(join(work, "cut", "model", file));
      assert.ok(a.equals(b), `${file} differs after resume`);
    }
    const rows = (dir: string) =>
      readFile(join(work, dir, "progress.jsonl"), "utf8").then((t) =>
        jsonLines(t).map(({ wallTime: _w, "time/elapsedSeconds": _e, "time/stepsPerSecond": _s, ...r }) => r),
      );
    assert.deepEqual(await rows("cut"), await rows("whole"));
  });

  test("refuses --num-envs 4, normalize, and a Box-observation env (naming the space)", () => {
    const many = cli("train", "qlearning", "--env", "CliffWalking-v1", "--num-envs", "4", "--out", "x1");
    assert.equal(many.status, 2);
    assert.match(many.stderr, /single env.*--num-envs 4/);
    const box = cli("train", "sarsa", "--env", "CartPole-v1", "--out", "x2");
    assert.equal(box.status, 2);
    assert.match(box.stderr, /Discrete observation space.*got Box\(/);
    const norm = cli(
      "train",
      "qlearning",
      "--env",
      "CliffWalking-v1",
      "--set",
      "normalize=true",
      "--out",
      "x3",
    );
    assert.equal(norm.status, 2);
    assert.match(norm.stderr, /normalize/);
    const episodes = cli("train", "ppo", "--env", "CartPole-v1", "--set", "totalEpisodes=5", "--out", "x4");
    assert.equal(episodes.status, 2);
    assert.match(episodes.stderr, /totalEpisodes is for the tabular algorithms/);
  });

  test("algos lists the three with their options; dashes are optional in the name", () => {
    const list = cli("algos", "--json");
    assert.equal(list.status, 0, list.stderr);
    const names = (JSON.parse(list.stdout) as { algo: string }[]).map((r) => r.algo);
    for (const name of ["qlearning", "sarsa", "expected-sarsa"]) assert.ok(names.includes(name), name);
    const one = cli("algos", "ExpectedSarsa", "--json");
    assert.equal(one.status, 0, one.stderr);
    const info = JSON.parse(one.stdout) as { algo: string; options: { name: string }[]; presets: object };
    assert.equal(info.algo, "expected-sarsa");
    assert.ok(info.options.some((o) => o.name === "explorationFinalEps"));
    assert.deepEqual(info.presets, { "sb-example-6.6": ["CliffWalking-v1"] });
  });
});
