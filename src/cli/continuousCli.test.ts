/**
 * `proximal train ddpg|td3|sac` end to end, as subprocesses in a temporary directory: the rlzoo
 * preset is picked, `--stop-after` then `--resume` gives the same final file as one run (replay
 * buffer and OU noise state included), and eval, enjoy and plot read the run. Tiny budgets on
 * Pendulum-v1 ([32] networks, 500 steps), a few seconds each.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { temporaryCli } from "./cliProcess.test.util.js";

const { cli, work } = temporaryCli("proximal-cli-continuous-");

describe("proximal train ddpg|td3|sac", () => {
  test("algos lists them with their rlzoo preset", () => {
    const r = cli("algos");
    assert.equal(r.status, 0, r.stderr);
    for (const name of ["ddpg", "td3", "sac"]) assert.match(r.stdout, new RegExp(`\\b${name}\\b.*rlzoo`));
  });

  for (const [algo, extra] of [
    ["ddpg", ["--set", "actionNoise={ type: ornstein-uhlenbeck, sigma: 0.5 }"]],
    ["td3", []],
    ["sac", []],
  ] as const) {
    test(`${algo}: --stop-after then --resume is bit-identical (replay saved), eval/enjoy/plot read the run`, async () => {
      const args = (out: string, ...more: string[]) => [
        "train",
        algo,
        "--env",
        "Pendulum-v1",
        "--seed",
        "2",
        "--total-timesteps",
        "500",
        "--out",
        out,
        "--set",
        "saveReplayBuffer=true",
        "--set",
        "policy.netArch=[32]",
        "--set",
        "learningStarts=150",
        "--set",
        "batchSize=32",
        ...extra,
        ...more,
      ];
      const whole = cli(...args(`${algo}-A`));
      assert.equal(whole.status, 0, whole.stderr);
      const first = cli(...args(`${algo}-B`, "--stop-after", "320"));
      assert.equal(first.status, 0, first.stderr);
      const latest = JSON.parse(
        await readFile(join(work(), `${algo}-B`, "checkpoints", "latest.json"), "utf8"),
      );
      assert.ok(
        existsSync(join(work(), `${algo}-B`, "checkpoints", latest.checkpoint, "replay.safetensors")),
      );
      const rest = cli("train", "--resume", `${algo}-B`);
      assert.equal(rest.status, 0, rest.stderr);
      const a = await readFile(join(work(), `${algo}-A`, "model", "model.safetensors"));
      const b = await readFile(join(work(), `${algo}-B`, "model", "model.safetensors"));
      assert.ok(a.equals(b), "final weights and optimizer state differ");
      const config = JSON.parse(await readFile(join(work(), `${algo}-A`, "config.json"), "utf8"));
      assert.equal(config.preset, "rlzoo");
      assert.equal(config.options.gamma, algo === "sac" ? 0.99 : 0.98);

      const evaluated = cli("eval", `${algo}-A`, "--episodes", "1");
      assert.equal(evaluated.status, 0, evaluated.stderr);
      assert.match(evaluated.stdout, /Pendulum-v1: mean return -?\d/);
      const enjoyed = cli("enjoy", `${algo}-A`, "--episodes", "1");
      assert.equal(enjoyed.status, 0, enjoyed.stderr);
      const plotted = cli("plot", `${algo}-A`);
      assert.equal(plotted.status, 0, plotted.stderr);
    });
  }

  test("d4pg: listed with its paper preset; synchronous --stop-after/--resume is bit-identical; 2 actors train; eval/enjoy", async () => {
    const listed = cli("algos");
    assert.match(listed.stdout, /\bd4pg\b.*paper/);
    const args = (out: string, ...more: string[]) => [
      "train",
      "d4pg",
      "--env",
      "Pendulum-v1",
      "--seed",
      "2",
      "--total-timesteps",
      "400",
      "--out",
      out,
      "--set",
      "saveReplayBuffer=true",
      "--set",
      "policy.netArch=[32]",
      "--set",
      "learningStarts=150",
      "--set",
      "batchSize=32",
      ...more,
    ];
    const sync = ["--set", "numActors=0"];
    const whole = cli(...args("d4pg-A", ...sync));
    assert.equal(whole.status, 0, whole.stderr);
    const first = cli(...args("d4pg-B", ...sync, "--stop-after", "250"));
    assert.equal(first.status, 0, first.stderr);
    const rest = cli("train", "--resume", "d4pg-B");
    assert.equal(rest.status, 0, rest.stderr);
    const a = await readFile(join(work(), "d4pg-A", "model", "model.safetensors"));
    const b = await readFile(join(work(), "d4pg-B", "model", "model.safetensors"));
    assert.ok(a.equals(b), "final weights and optimizer state differ");
    const config = JSON.parse(await readFile(join(work(), "d4pg-A", "config.json"), "utf8"));
    assert.equal(config.preset, "paper");
    assert.equal(config.options.vMin, -1630);

    const threaded = cli(...args("d4pg-C"));
    assert.equal(threaded.status, 0, threaded.stderr);
    const evaluated = cli("eval", "d4pg-C", "--episodes", "1");
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.match(evaluated.stdout, /Pendulum-v1: mean return -?\d/);
    const enjoyed = cli("enjoy", "d4pg-C", "--episodes", "1");
    assert.equal(enjoyed.status, 0, enjoyed.stderr);
  });

  test("a Discrete env is refused with the fix", () => {
    const r = cli("train", "td3", "--env", "CartPole-v1", "--total-timesteps", "100", "--out", "bad");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Box \(continuous\) action space/);
  });
});
