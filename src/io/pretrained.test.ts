import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { LlamaForCausalLM } from "../nn/models/llama.js";
import { Rng } from "../random/rng.js";
import { GPT } from "../rlhf/gpt.js";
import { noGrad, type Tensor, tensor } from "../tensor/tensor.js";
import { assertClose } from "../tensor/testing.js";
import { ModelArchive } from "./modelFiles.js";
import { generationOptionsFromHf, loadPretrained, savePretrained } from "./pretrained.js";
import { readSafetensors } from "./safetensors.js";

// fixtures/torch/llama/*: folders written by scripts/fixtures/makeLlamaFixtures.py (torch 1.13) in
// Hugging Face's layout; their numerics are checked in src/nn/models/llama.test.ts
const fixtureDir = (name: string) =>
  fileURLToPath(new URL(`../../fixtures/torch/llama/${name}`, import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "proximal-pretrained-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(scratch, `m${counter++}`);

function sameWeights(a: Record<string, Tensor>, b: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  for (const name of Object.keys(a)) assert.deepEqual(a[name].values, b[name].values, name);
}

function copyFixture(name: string): string {
  const dir = freshDir();
  cpSync(fixtureDir(name), dir, { recursive: true });
  return dir;
}

function editConfig(dir: string, edit: (config: Record<string, unknown>) => void): void {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  edit(config);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
}

describe("loadPretrained() / savePretrained()", () => {
  test("a sharded llama3 folder round-trips: config (rope_scaling), weights and generation config", async () => {
    const loaded = await loadPretrained(fixtureDir("llama3"));
    assert.equal(loaded.dtype, "F32");
    assert.deepEqual(loaded.generationConfig?.eos_token_id, 2);
    assert.equal(loaded.tokenizer, null); // the fixture folders carry no tokenizer
    const dir = freshDir();
    await savePretrained(loaded.model, dir, { generationConfig: loaded.generationConfig });
    assert.deepEqual(readdirSync(dir).sort(), ["config.json", "generation_config.json", "model.safetensors"]);
    const again = await loadPretrained(dir);
    sameWeights(again.model.stateDict(), loaded.model.stateDict());
    assert.ok(again.model instanceof LlamaForCausalLM && loaded.model instanceof LlamaForCausalLM);
    assert.deepEqual(again.model.config, loaded.model.config);
    assert.deepEqual(again.config.rope_scaling, loaded.config.rope_scaling);
  });

  test("BF16 and F16 weights written back are byte for byte what torch wrote", async () => {
    for (const [name, dtype] of [
      ["smollm2-bf16", "BF16"],
      ["qwen2-f16", "F16"],
    ] as const) {
      const loaded = await loadPretrained(fixtureDir(name));
      assert.equal(loaded.dtype, dtype);
      const dir = freshDir();
      await savePretrained(loaded.model, dir, { dtype });
      assert.deepEqual(
        readFileSync(join(dir, "model.safetensors")),
        readFileSync(join(fixtureDir(name), "model.safetensors")),
        name,
      );
      assert.equal(
        JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).torch_dtype,
        dtype === "BF16" ? "bfloat16" : "float16",
      );
    }
  });

  test("saves into a ModelArchive (the browser's way) and loads back from its Blob", async () => {
    const loaded = await loadPretrained(fixtureDir("qwen3"));
    const archive = new ModelArchive();
    await savePretrained(loaded.model, archive, { dtype: "BF16", generationConfig: loaded.generationConfig });
    assert.deepEqual(archive.names(), ["config.json", "generation_config.json", "model.safetensors"]);
    const again = await loadPretrained(archive.toBlob());
    assert.equal(again.dtype, "BF16");
    assert.deepEqual(
      Object.keys(again.model.stateDict()).sort(),
      Object.keys(loaded.model.stateDict()).sort(),
    );
  });

  test("tied models are saved without lm_head.weight, and a stray lm_head.weight is ignored on load", async () => {
    const loaded = await loadPretrained(fixtureDir("qwen3"));
    const dir = freshDir();
    await savePretrained(loaded.model, dir);
    const names = Object.keys(readSafetensors(readFileSync(join(dir, "model.safetensors"))).tensors);
    assert.ok(!names.includes("lm_head.weight"));
    assert.ok(names.includes("model.layers.0.self_attn.q_norm.weight"));
  });

  test("shards past maxShardBytes, with an index; overwriting replaces the old layout", async () => {
    const { model } = await loadPretrained(fixtureDir("qwen2"));
    const dir = freshDir();
    await savePretrained(model, dir);
    await assert.rejects(savePretrained(model, dir), { code: "FILE_EXISTS" });
    await savePretrained(model, dir, { maxShardBytes: 20_000, overwrite: true });
    const files = readdirSync(dir);
    assert.ok(!files.includes("model.safetensors"), "the single-file weights were removed");
    assert.ok(files.includes("model.safetensors.index.json"));
    assert.ok(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length > 2);
    sameWeights((await loadPretrained(dir)).model.stateDict(), model.stateDict());
  });

  test("a GPT-2 folder uses transformers' names and Conv1D layout, and loads back", async () => {
    const gpt = new GPT(
      { vocabSize: 50, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2 },
      { rng: new Rng(0) },
    );
    const dir = freshDir();
    await savePretrained(gpt, dir);
    const { tensors } = readSafetensors(readFileSync(join(dir, "model.safetensors")));
    assert.deepEqual(tensors["transformer.h.0.attn.c_attn.weight"].shape, [16, 48]); // [in, out]
    assert.ok("transformer.wte.weight" in tensors);
    const { model } = await loadPretrained(dir);
    assert.ok(model instanceof GPT);
    const ids = tensor(Int32Array.from([1, 2, 3, 4]), [1, 4]);
    noGrad(() =>
      assertClose(model.forward(ids).logits?.values ?? [], gpt.forward(ids).logits?.values ?? [], {
        rtol: 0,
      }),
    );
  });
});

describe("generationOptionsFromHf()", () => {
  test("reads generation_config.json with HF's defaults", () => {
    const llama = { do_sample: true, temperature: 0.6, top_p: 0.9, eos_token_id: [128001, 128009] };
    assert.deepEqual(generationOptionsFromHf(llama), {
      maxNewTokens: 20,
      doSample: true,
      temperature: 0.6,
      topK: 50,
      topP: 0.9,
      eosTokenId: [128001, 128009],
      padTokenId: 0,
    });
    assert.equal(generationOptionsFromHf(null).doSample, false);
    assert.equal(generationOptionsFromHf({ max_new_tokens: 7 }).maxNewTokens, 7);
  });
});

describe("loadPretrained() on a GPT-2 folder written by torch", () => {
  test("logits match the torch fixture (fixtures/torch/gptTiny.*, makeGptFixture.py)", async () => {
    const fixtureUrl = (name: string) => new URL(`../../fixtures/torch/${name}`, import.meta.url);
    const fx = JSON.parse(readFileSync(fixtureUrl("gptTiny.json"), "utf8")) as {
      config: { vocabSize: number; nPositions: number; nEmbd: number; nLayer: number; nHead: number };
      ids: number[][];
      logits: number[];
    };
    const dir = freshDir();
    cpSync(fileURLToPath(fixtureUrl("gptTiny.safetensors")), join(dir, "model.safetensors"));
    const c = fx.config;
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        architectures: ["GPT2LMHeadModel"],
        model_type: "gpt2",
        vocab_size: c.vocabSize,
        n_positions: c.nPositions,
        n_ctx: c.nPositions,
        n_embd: c.nEmbd,
        n_layer: c.nLayer,
        n_head: c.nHead,
        activation_function: "gelu_new",
        layer_norm_epsilon: 1e-5,
        resid_pdrop: 0.1,
        embd_pdrop: 0.1,
        attn_pdrop: 0.1,
      }),
    );
    const { model } = await loadPretrained(dir);
    assert.ok(model instanceof GPT);
    const ids = tensor(fx.ids, undefined, { dtype: "int32" });
    const logits = noGrad(() => model.forward(ids).logits?.values ?? new Float32Array());
    assertClose(logits, fx.logits, { rtol: 1e-4, scale: 1 });
  });
});

describe("loadPretrained() refuses what it cannot run, by name", () => {
  const cases: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    [
      "an unknown rope_type",
      (c) => {
        c.rope_scaling = { rope_type: "yarn", factor: 4 };
      },
      /rope_scaling\.rope_type "yarn"/,
    ],
    [
      "sliding-window attention",
      (c) => {
        c.use_sliding_window = true;
      },
      /use_sliding_window/,
    ],
    [
      "an unknown field",
      (c) => {
        c.moe_num_experts = 8;
      },
      /"moe_num_experts"/,
    ],
    [
      "another activation",
      (c) => {
        c.hidden_act = "gelu";
      },
      /hidden_act "gelu"/,
    ],
    [
      "an unknown model_type",
      (c) => {
        c.model_type = "mistral";
      },
      /model_type "mistral"/,
    ],
  ];
  for (const [what, edit, message] of cases) {
    test(what, async () => {
      const dir = copyFixture("qwen2");
      editConfig(dir, edit);
      await assert.rejects(
        loadPretrained(dir),
        (e: Error & { code?: string }) => e.code === "INVALID_OPTION" && message.test(e.message),
      );
    });
  }

  test("missing and unexpected tensors, and a missing shard", async () => {
    const dir = copyFixture("qwen2");
    editConfig(dir, (c) => {
      c.num_hidden_layers = 3;
    });
    await assert.rejects(
      loadPretrained(dir),
      (e: Error & { code?: string }) => e.code === "UNKNOWN_NAME" && /model\.layers\.2\./.test(e.message),
    );
    const sharded = copyFixture("llama3");
    rmSync(join(sharded, "model-00002-of-00002.safetensors"));
    await assert.rejects(loadPretrained(sharded), { code: "MALFORMED_FILE" });
    await assert.rejects(loadPretrained(freshDir()), { code: "MALFORMED_FILE" });
  });
});
