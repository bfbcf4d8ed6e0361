import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Rng } from "../../random/rng.js";
import { CharTokenizer } from "../charTokenizer.js";
import type { PromptResponseRow } from "../common/data.js";
import { GPT } from "../gpt.js";
import { SFTTrainer } from "./sftTrainer.js";

// seed 0: copy a 3-letter prompt after '='; a 1-layer width-32 GPT on a 5-letter alphabet
const tokenizer = new CharTokenizer("abcd=");
const rng = new Rng(0);
const word = () => Array.from({ length: 3 }, () => "abcd"[rng.integer(4)]).join("");
const rows: PromptResponseRow[] = Array.from({ length: 32 }, () => {
  const w = word();
  return { prompt: `${w}=`, response: w };
});
const newModel = () =>
  new GPT(
    { vocabSize: tokenizer.vocabSize, nPositions: 16, nEmbd: 32, nLayer: 1, nHead: 4 },
    { rng: new Rng(1) },
  );

describe("SFTTrainer", () => {
  test("lowers the response loss and logs loss, learning rate and tokens per second", () => {
    const logs: Record<string, number>[] = [];
    const trainer = new SFTTrainer({
      model: newModel(),
      tokenizer,
      trainDataset: rows,
      config: {
        learningRate: 3e-3,
        warmupRatio: 0.1,
        perDeviceTrainBatchSize: 8,
        maxSteps: 40,
        loggingSteps: 10,
      },
      onStep: (log) => {
        logs.push(log.metrics);
      },
    });
    const before = trainer.evaluate(rows)["eval/loss"];
    trainer.train();
    const after = trainer.evaluate(rows)["eval/loss"];
    assert.ok(after < before * 0.7, `loss ${before} → ${after}`);
    assert.equal(logs.length, 4);
    for (const m of logs) {
      assert.ok(m["time/tokensPerSecond"] > 0);
      assert.ok(m["train/learningRate"] > 0 && m["train/learningRate"] <= 3e-3);
      assert.ok(Number.isFinite(m["train/gradNorm"]));
    }
    assert.ok(logs[3]["train/loss"] < logs[0]["train/loss"]);
  });

  test("only response tokens are targets: an empty response leaves the eos as the one target", () => {
    const trainer = new SFTTrainer({ model: newModel(), tokenizer, trainDataset: rows });
    const m = trainer.evaluate([{ prompt: "abcd=", response: "" }]);
    assert.equal(m["eval/responseTokens"], 1);
  });

  test("onStep returning false stops training", () => {
    const trainer = new SFTTrainer({
      model: newModel(),
      tokenizer,
      trainDataset: rows,
      config: { maxSteps: 10, loggingSteps: 2 },
      onStep: () => false,
    });
    trainer.train();
    assert.equal(trainer.globalStep, 2);
  });

  test("save then load restores weights, optimizer state and step; training resumes identically", async () => {
    const dir = mkdtempSync(join(tmpdir(), "proximal-sft-"));
    try {
      const config = { learningRate: 1e-3, perDeviceTrainBatchSize: 8, maxSteps: 6, loggingSteps: 100 };
      const straight = new SFTTrainer({ model: newModel(), tokenizer, trainDataset: rows, config });
      straight.train();

      // stop after 3 steps, save, and resume in a fresh trainer
      const stopping = new SFTTrainer({
        model: newModel(),
        tokenizer,
        trainDataset: rows,
        config: { ...config, loggingSteps: 1 },
        onStep: (log) => log.step < 3,
      });
      stopping.train();
      assert.equal(stopping.globalStep, 3);
      await stopping.save(dir);
      const resumed = new SFTTrainer({ model: newModel(), tokenizer, trainDataset: rows, config });
      await resumed.load(dir);
      assert.equal(resumed.globalStep, 3);
      const loaded = await SFTTrainer.loadModel(dir);
      assert.equal(loaded.config.nEmbd, 32);
      assert.deepEqual(loaded.wte.weight.values, stopping.model.stateDict()["wte.weight"].values);
      assert.deepEqual(
        resumed.model.stateDict()["wte.weight"].values,
        stopping.model.stateDict()["wte.weight"].values,
      );
      resumed.train();
      assert.equal(resumed.globalStep, 6);
      const a = straight.model.stateDict()["h.0.mlp.c_fc.weight"].values;
      const b = resumed.model.stateDict()["h.0.mlp.c_fc.weight"].values;
      for (let i = 0; i < a.length; i++)
        assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `weight ${i}: ${a[i]} vs ${b[i]}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
