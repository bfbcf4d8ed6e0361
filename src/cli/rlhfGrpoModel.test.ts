/**
 * `proximal rlhf grpo --model <dir>` and `proximal rlhf demo reasoning --model <dir>` end to end on a
 * tiny random Qwen2-style folder written in the test (Hugging Face layout, a Qwen2-style byte-level
 * BPE tokenizer), as a subprocess; and the errors of folders GRPO cannot train.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { loadPretrained, savePretrained } from "../io/pretrained.js";
import { LlamaForCausalLM } from "../nn/models/llama.js";
import { Rng } from "../random/rng.js";
import { GRPOTrainer } from "../rlhf/grpo/grpoTrainer.js";
import { HfTokenizer } from "../rlhf/tokenizers/hfTokenizer.js";
import { qwen2StyleFiles } from "../rlhf/tokenizers/testTokenizers.test.util.js";
import type { Tensor } from "../tensor/tensor.js";
import { temporaryCli } from "./cliProcess.test.util.js";

const { cli, work } = temporaryCli("proximal-grpo-model-");
const files = qwen2StyleFiles();
const tokenizer = HfTokenizer.fromFiles(files.tokenizerJson, files.tokenizerConfig);
let original: Record<string, Float32Array> = {};

function values(dict: Record<string, Tensor>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(dict).map(([name, t]) => [name, Float32Array.from(t.values)]));
}

/**
 * A random Qwen2 model whose samples mix digits and the stop token, so GRPO's groups on addition get
 * different rewards (a plain random model almost never stops within the budget, and every reward is
 * 0): the embedding's first coordinate is 1 for every token and the final norm keeps only it, so the
 * normed hidden state is about √hidden·e₀ whatever the input; the head's first column then sets the
 * logits: ln(0.6·others) for each digit and ln(3·others) for the stop token over 0 for the `others`
 * (sampling: 60% a digit, 30% the stop token).
 */
function digitModel(): LlamaForCausalLM {
  const model = new LlamaForCausalLM(
    {
      modelType: "qwen2",
      vocabSize: tokenizer.vocabSize,
      hiddenSize: 32,
      intermediateSize: 48,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      numKeyValueHeads: 2,
      maxPositionEmbeddings: 64,
      tieWordEmbeddings: false,
    },
    { rng: new Rng(11) },
  );
  const hidden = model.config.hiddenSize;
  const embedding = model.model.embed_tokens.weight.values;
  for (let id = 0; id < tokenizer.vocabSize; id++) embedding[id * hidden] = 1;
  model.model.norm.weight.values.fill(0);
  model.model.norm.weight.values[0] = 1;
  const head = model.lm_head?.weight.values as Float32Array;
  head.fill(0);
  const digits = [..."0123456789"].map((d) => tokenizer.encode(d));
  for (const ids of digits) assert.equal(ids.length, 1, "digits are single tokens in a Qwen2 tokenizer");
  const others = tokenizer.vocabSize - 11;
  const h0 = Math.sqrt(hidden);
  for (const [id] of digits) head[id * hidden] = Math.log(0.6 * others) / h0;
  head[tokenizer.eosTokenId * hidden] = Math.log(3 * others) / h0;
  return model;
}

/** `proximal rlhf grpo` on the addition task with the grpo preset. */
const GRPO_ADDITION = ["rlhf", "grpo", "--task", "addition", "--preset", "grpo"];

/** `proximal rlhf grpo --task addition --preset grpo --model <folder> ...extra`. */
function grpoOn(folder: string, ...extra: string[]) {
  return cli(...GRPO_ADDITION, "--model", folder, ...extra);
}

/** Two optimizer steps of 8 completions (4 per prompt): seconds on the tiny model. */
const TINY_BUDGET = ["--samples", "16", "--set", "numGenerations=4", "--set", "perDeviceTrainBatchSize=8"];

/** The names of tensors whose values differ from the folder's model before training. */
function changed(trained: Record<string, Tensor>): string[] {
  return Object.entries(values(trained))
    .filter(([name, v]) => v.some((x, i) => x !== original[name][i]))
    .map(([name]) => name);
}

describe("proximal rlhf grpo --model <Hugging Face folder>", () => {
  // inside the suite, so it runs after temporaryCli's hook has made the working directory
  before(async () => {
    const model = digitModel();
    original = values(model.stateDict());
    await savePretrained(model, join(work(), "qwen"), {
      tokenizerJson: files.tokenizerJson,
      tokenizerConfig: files.tokenizerConfig,
      generationConfig: { eos_token_id: tokenizer.eosTokenId },
    });
  });

  test("trains the folder's Qwen2 model with its tokenizer, writes the run dir and a trained folder", async () => {
    const r = grpoOn("qwen", ...TINY_BUDGET, "--seed", "1", "--json", "--out", "run");
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.ok(summary.base.accuracy >= 0 && summary.base.accuracy <= 1);
    assert.ok(summary.grpo.meanLength > 0);
    const run = join(work(), "run");
    const config = JSON.parse(await readFile(join(run, "config.json"), "utf8"));
    assert.equal(config.model, join(work(), "qwen"));
    for (const file of [
      "results.json",
      "grpo.jsonl",
      "accuracy.svg",
      "splits/train.jsonl",
      "checkpoint/model.json",
    ])
      assert.ok(existsSync(join(run, file)), file);
    // two optimizer steps of 8 completions; the groups got different rewards, so there was a gradient
    const steps = (await readFile(join(run, "grpo.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(steps.length, 2);
    assert.ok(steps.some((s) => s["rollout/zeroStdFraction"] < 1));
    // the trained policy: a Hugging Face folder with the tokenizer, and the trainer's checkpoint
    const trained = await loadPretrained(join(run, "model"));
    assert.ok(trained.model instanceof LlamaForCausalLM);
    assert.equal(trained.model.config.modelType, "qwen2");
    assert.deepEqual(trained.tokenizer?.encode("47+85="), tokenizer.encode("47+85="));
    const updated = changed(trained.model.stateDict());
    assert.ok(updated.includes("lm_head.weight"), `changed: ${updated.join(", ")}`);
    const policy = await GRPOTrainer.loadModel(join(run, "checkpoint"));
    assert.ok(policy instanceof LlamaForCausalLM);
    assert.deepEqual(values(policy.stateDict()), values(trained.model.stateDict()));
    // prompts and completions go through the folder's tokenizer: greedy decoding stops at once at its
    // stop token <|im_end|>, the digit model's most likely token (with the task's own character
    // tokenizer, whose stop id means something else here, it would run to the 5-token budget)
    const results = JSON.parse(await readFile(join(run, "results.json"), "utf8"));
    assert.equal(results.base.meanLength, 1);
  });

  test("--stop-after then --resume reloads the --model folder and ends with the same trained model", async () => {
    const full = grpoOn("qwen", ...TINY_BUDGET, "--json", "--out", "full");
    assert.equal(full.status, 0, full.stderr);
    const stop = grpoOn("qwen", ...TINY_BUDGET, "--json", "--out", "stop", "--stop-after", "1");
    assert.equal(stop.status, 0, stop.stderr);
    assert.ok(!existsSync(join(work(), "stop", "model")), "no trained folder before the run ends");
    const resumed = cli(...GRPO_ADDITION, "--resume", "stop", "--json");
    assert.equal(resumed.status, 0, resumed.stderr);
    const a = await loadPretrained(join(work(), "full", "model"));
    const b = await loadPretrained(join(work(), "stop", "model"));
    assert.deepEqual(values(b.model.stateDict()), values(a.model.stateDict()));
  });

  test("--model with --lora trains adapters on the folder's frozen base and writes them in PEFT's layout", async () => {
    const r = grpoOn(
      "qwen",
      "--lora",
      "--lora-targets",
      "q_proj,v_proj,lm_head",
      "--merge",
      ...TINY_BUDGET,
      "--set",
      "learningRate=0.01",
      "--seed",
      "1",
      "--json",
      "--out",
      "lora",
    );
    assert.equal(r.status, 0, r.stderr);
    const run = join(work(), "lora");
    const adapterConfig = JSON.parse(await readFile(join(run, "adapter", "adapter_config.json"), "utf8"));
    assert.equal(adapterConfig.base_model_name_or_path, join(work(), "qwen"));
    assert.deepEqual([...adapterConfig.target_modules].sort(), ["lm_head", "q_proj", "v_proj"]);
    assert.ok(!existsSync(join(run, "model")), "no full-model folder for a LoRA run");
    // the merged folder carries the tokenizer; only the adapted layers moved (B starts at 0 and trained)
    const merged = await loadPretrained(join(run, "merged"));
    assert.deepEqual(merged.tokenizer?.encode("47+85="), tokenizer.encode("47+85="));
    const moved = changed(merged.model.stateDict());
    assert.ok(moved.length > 0);
    assert.ok(
      moved.every((name) => /(q_proj|v_proj)\.weight$|^lm_head\.weight$/.test(name)),
      moved.join(", "),
    );
  });

  test("unknown --lora-targets for the folder's model are refused before training", () => {
    const r = grpoOn("qwen", "--lora", "--lora-targets", "c_attn", "--out", "bad-targets");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /c_attn/);
    assert.match(r.stderr, /q_proj/);
  });

  test("rlhf demo reasoning --model --quick trains each preset from the folder's model", () => {
    const r = cli(
      "rlhf",
      "demo",
      "reasoning",
      "--model",
      "qwen",
      "--quick",
      "--presets",
      "grpo,dapo",
      "--json",
      "--out",
      "demo",
    );
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(summary), ["base", "grpo", "dapo"]);
    assert.equal(summary.base.heldOutPrompts, 16);
  });

  test("a folder without tokenizer.json is refused before training, naming the file and the fix", async () => {
    const dir = join(work(), "no-tokenizer");
    await savePretrained(digitModel(), dir);
    const r = grpoOn(dir, "--out", "x");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no tokenizer\.json.*copy tokenizer\.json and tokenizer_config\.json/);
    assert.ok(!existsSync(join(work(), "x")));
  });

  test("an unsupported architecture is refused, naming model_type and the supported ones", async () => {
    const dir = join(work(), "mamba");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "mamba", hidden_size: 8 }));
    const r = cli("rlhf", "demo", "reasoning", "--model", dir, "--quick", "--out", "y");
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      /model_type "mamba" is not an architecture proximal runs\. Supported: llama, qwen2, qwen3, gpt2/,
    );
  });

  test("--workers with --model is refused rather than ignored", () => {
    const r = cli("rlhf", "demo", "reasoning", "--model", "qwen", "--workers", "2", "--quick", "--out", "z");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--workers applies to the built-in model/);
  });
});
