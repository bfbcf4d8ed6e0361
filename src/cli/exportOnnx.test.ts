/**
 * `proximal export onnx` end to end, as subprocesses in a temporary directory: a PPO run trained
 * behind observation normalisation exports to a file whose actions, run in onnxruntime-web, are the
 * loaded model's `predict` on normalised observations; an existing file needs --force; a tabular run
 * is refused (exit 2); an `rlhf sft` output exports its GPT.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runOnnx } from "../io/onnx/onnxRuntime.test.util.js";
import { Rng } from "../random/rng.js";
import { temporaryCli } from "./cliProcess.test.util.js";
import { loadSavedModel } from "./evaluate.js";
import { withNormalization } from "./runEnv.js";

const { cli, work } = temporaryCli("proximal-cli-export-");

describe("proximal export onnx", () => {
  test("a normalised PPO run: the file's actions are predict's on normalised observations", async () => {
    const train = cli(
      "train",
      "ppo",
      "--env",
      "Pendulum-v1",
      "--total-timesteps",
      "128",
      "--num-envs",
      "1",
      "--set",
      "nSteps=64",
      "--set",
      "batchSize=64",
      "--set",
      "normalize={ observation: true, reward: false, clipObservation: 2 }",
      "--out",
      "run",
    );
    assert.equal(train.status, 0, train.stderr);
    const exported = cli("export", "onnx", "run", "--out", "out/policy.onnx");
    assert.equal(exported.status, 0, exported.stderr);
    assert.match(exported.stdout, /wrote out\/policy.onnx \(\d+ bytes, ONNX opset 17\)/);

    const { model, normalization } = await loadSavedModel(join(work(), "run"));
    assert.ok(normalization !== null, "the run has no normalization.json");
    const rng = new Rng(0);
    const rows = 200;
    const obs = Float32Array.from({ length: rows * 3 }, () => 3 * rng.normal());
    const out = await runOnnx(new Uint8Array(await readFile(join(work(), "out", "policy.onnx"))), {
      obs: { type: "float32", data: obs, dims: [rows, 3] },
    });
    const expected = withNormalization(model, normalization).predict(obs, { deterministic: true });
    assert.equal(out.action.data.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      assert.ok(
        Math.abs(out.action.data[i] - expected[i]) <= 1e-5,
        `action ${i}: ${out.action.data[i]} vs ${expected[i]}`,
      );
    }
    assert.deepEqual(Object.keys(out).sort(), ["action", "logStd", "mean", "value"]);
  });

  test("an existing --out needs --force; the file is replaced whole", async () => {
    await writeFile(join(work(), "taken.onnx"), "not a model");
    const refused = cli("export", "onnx", "run", "--out", "taken.onnx");
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /taken.onnx already exists\. Pick another --out, or pass --force/);
    assert.equal(await readFile(join(work(), "taken.onnx"), "utf8"), "not a model");
    const forced = cli("export", "onnx", "run", "--out", "taken.onnx", "--force", "--json");
    assert.equal(forced.status, 0, forced.stderr);
    const summary = JSON.parse(forced.stdout);
    assert.equal((await readFile(join(work(), "taken.onnx"))).length, summary.bytes);
  });

  test("missing --out, a missing directory and a tabular run are exit 2 with the reason", () => {
    const noOut = cli("export", "onnx", "run");
    assert.equal(noOut.status, 2);
    assert.match(noOut.stderr, /needs --out <file.onnx>/);
    const missing = cli("export", "onnx", "nowhere", "--out", "x.onnx");
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nowhere does not exist/);
    const boxMask = cli("export", "onnx", "run", "--out", "masked.onnx", "--action-mask");
    assert.equal(boxMask.status, 2);
    assert.match(boxMask.stderr, /action masks are exported for Discrete actions only/);
    const tabular = cli(
      "train",
      "qlearning",
      "--env",
      "CliffWalking-v1",
      "--set",
      "totalEpisodes=5",
      "--out",
      "q",
    );
    assert.equal(tabular.status, 0, tabular.stderr);
    const refused = cli("export", "onnx", "q", "--out", "q.onnx");
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /QLearning, a tabular algorithm without a network/);
  });

  test("an rlhf sft output exports its GPT: input_ids in, logits out", async () => {
    const rows = Array.from({ length: 8 }, (_, i) =>
      JSON.stringify({ prompt: `${i}+1=`, response: String(i + 1) }),
    );
    await writeFile(join(work(), "sft.jsonl"), `${rows.join("\n")}\n`);
    const sft = cli(
      "rlhf",
      "sft",
      "--data",
      "sft.jsonl",
      "--out",
      "sft",
      "--layers",
      "1",
      "--width",
      "16",
      "--heads",
      "2",
      "--context",
      "16",
      "--set",
      "numTrainEpochs=1",
    );
    assert.equal(sft.status, 0, sft.stderr);
    const exported = cli("export", "onnx", "sft", "--out", "gpt.onnx");
    assert.equal(exported.status, 0, exported.stderr);
    assert.match(exported.stdout, /GPT \(SFTTrainer\)/);
    const out = await runOnnx(new Uint8Array(await readFile(join(work(), "gpt.onnx"))), {
      input_ids: { type: "int64", data: [1, 2, 3, 4], dims: [2, 2] },
    });
    assert.equal(out.logits.dims.length, 3);
    assert.deepEqual(out.logits.dims.slice(0, 2), [2, 2]);
    assert.ok(out.logits.data.every(Number.isFinite));
  });
});
