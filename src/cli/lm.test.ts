/**
 * `proximal lm generate|tokenize|chat` end to end: each test runs `node dist/cli/main.js` as a
 * subprocess on tiny random models written in Hugging Face's folder layout in a temporary directory
 * (a Qwen2-style model with a ChatML tokenizer, a Llama-3-style one), and checks the output against
 * the same computation in process.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadPretrained, savePretrained } from "../io/pretrained.js";
import { LlamaForCausalLM } from "../nn/models/llama.js";
import { Rng } from "../random/rng.js";
import { generate } from "../rlhf/generate.js";
import { applyChatTemplate } from "../rlhf/tokenizers/chatTemplate.js";
import { HfTokenizer } from "../rlhf/tokenizers/hfTokenizer.js";
import { llama3StyleFiles, qwen2StyleFiles } from "../rlhf/tokenizers/testTokenizers.test.util.js";
import { noGrad, tensor } from "../tensor/tensor.js";
import { assertClose } from "../tensor/testing.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
let work = "";
const models: Record<string, { dir: string; model: LlamaForCausalLM; tokenizer: HfTokenizer }> = {};

function cli(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: work, encoding: "utf8", input });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "proximal-lm-"));
  for (const [name, files, modelType] of [
    ["qwen", qwen2StyleFiles(), "qwen2"],
    ["llama", llama3StyleFiles(), "llama"],
  ] as const) {
    const tokenizer = HfTokenizer.fromFiles(files.tokenizerJson, files.tokenizerConfig);
    const model = new LlamaForCausalLM(
      {
        modelType,
        vocabSize: tokenizer.vocabSize,
        hiddenSize: 32,
        intermediateSize: 48,
        numHiddenLayers: 2,
        numAttentionHeads: 4,
        numKeyValueHeads: 2,
        maxPositionEmbeddings: 256,
        tieWordEmbeddings: modelType === "qwen2",
        initializerRange: 0.3, // far from uniform, so greedy choices are clear-cut
      },
      { rng: new Rng(7) },
    );
    const dir = join(work, name);
    await savePretrained(model, dir, {
      tokenizerJson: files.tokenizerJson,
      tokenizerConfig: files.tokenizerConfig,
      generationConfig: { eos_token_id: tokenizer.eosTokenId, do_sample: false },
    });
    models[name] = { dir, model, tokenizer };
  }
});
after(() => rm(work, { recursive: true, force: true }));

describe("proximal lm", () => {
  test("tokenize prints the tokenizer's ids; loadPretrained reads the same tokenizer back", async () => {
    const { dir, tokenizer } = models.llama;
    const loaded = await loadPretrained(dir);
    assert.deepEqual(loaded.tokenizer?.encode("Hello <tool> world"), tokenizer.encode("Hello <tool> world"));
    assert.equal(loaded.tokenizer?.chatTemplate, tokenizer.chatTemplate);
    const r = cli(["lm", "tokenize", dir, "--text", "Hello world, I'LL count 12345", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ids: tokenizer.encode("Hello world, I'LL count 12345") });
  });

  test("generate --prompt --greedy --json prints the generated ids, their text and log-probs", () => {
    const { dir, model, tokenizer } = models.qwen;
    const r = cli([
      "lm",
      "generate",
      dir,
      "--prompt",
      "The quick brown",
      "--max-new-tokens",
      "6",
      "--greedy",
      "--json",
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { text: string; ids: number[]; logprobs: number[] };
    const expected = generate(model, [tokenizer.encode("The quick brown")], {
      maxNewTokens: 6,
      eosTokenId: tokenizer.eosTokenId,
    });
    const length = expected.responseLengths[0];
    assert.deepEqual(out.ids, Array.from(expected.responseIds.data.subarray(0, length)));
    assertClose(out.logprobs, expected.logProbs.values.subarray(0, length), { rtol: 1e-5 });
    assert.equal(out.text, tokenizer.decode(out.ids, { skipSpecialTokens: true }));
  });

  test("generate --prompt-ids with sampling is reproducible from --seed; log-probs are at temperature 1", () => {
    const { dir, model } = models.llama;
    const args = [
      "lm",
      "generate",
      dir,
      "--prompt-ids",
      "5,6,7",
      "--max-new-tokens",
      "5",
      "--temperature",
      "0.7",
      "--seed",
      "3",
      "--json",
    ];
    const a = JSON.parse(cli(args).stdout) as { ids: number[]; logprobs: number[] };
    const b = JSON.parse(cli(args).stdout) as { ids: number[]; logprobs: number[] };
    assert.deepEqual(a, b);
    // teacher-force the sampled ids: each log-prob is log_softmax(raw logits) at that position
    const full = [5, 6, 7, ...a.ids];
    const { logits } = noGrad(() => model.forward(tensor(Int32Array.from(full), [1, full.length])));
    const vocab = model.config.vocabSize;
    const values = logits?.values as Float32Array;
    a.ids.forEach((id, i) => {
      const row = values.subarray((2 + i) * vocab, (3 + i) * vocab);
      const max = Math.max(...row);
      let total = 0;
      for (const x of row) total += Math.exp(x - max);
      assertClose([a.logprobs[i]], [row[id] - max - Math.log(total)], { rtol: 1e-4, atol: 1e-5 });
    });
  });

  test("chat renders the template per turn and prints one reply per input line", () => {
    const { dir, model, tokenizer } = models.qwen;
    const r = cli(["lm", "chat", dir, "--max-new-tokens", "4", "--greedy"], "Hi there\nWhat now?\n");
    assert.equal(r.status, 0, r.stderr);
    const replies = r.stdout.split("\n").slice(0, -1);
    assert.equal(replies.length, 2);
    const prompt = tokenizer.encode(applyChatTemplate(tokenizer, [{ role: "user", content: "Hi there" }]), {
      addSpecialTokens: false,
    });
    const first = generate(model, [prompt], { maxNewTokens: 4, eosTokenId: tokenizer.eosTokenId });
    const ids = Array.from(first.responseIds.data.subarray(0, first.responseLengths[0]));
    assert.equal(replies[0], tokenizer.decode(ids, { skipSpecialTokens: true }).replaceAll("\n", " "));
  });

  test("bad input exits 2 with a message: no folder, both prompt flags, ids out of range", () => {
    const missing = cli(["lm", "generate", join(work, "nope"), "--prompt-ids", "1"]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /config\.json not found/);
    const both = cli(["lm", "generate", models.qwen.dir, "--prompt", "a", "--prompt-ids", "1"]);
    assert.equal(both.status, 2);
    const range = cli(["lm", "generate", models.qwen.dir, "--prompt-ids", "1,99999"]);
    assert.equal(range.status, 2);
    assert.match(range.stderr, /--prompt-ids/);
  });
});
