import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ProximalError } from "../errors.js";
import { applyLora, hasLora, loraAdapters, mergeLora } from "../nn/lora.js";
import { LlamaForCausalLM } from "../nn/models/llama.js";
import { Rng } from "../random/rng.js";
import { GPT } from "../rlhf/gpt.js";
import { logSoftmax, mul, narrow, sum, takeAlongLastAxis } from "../tensor/ops.js";
import { noGrad, type Tensor, tensor } from "../tensor/tensor.js";
import { assertClose, maxAbs, randomNormal } from "../tensor/testing.js";
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_SAFETENSORS_FILE,
  loadLoraAdapter,
  saveLoraAdapter,
} from "./peftAdapter.js";
import { loadPretrained, savePretrained } from "./pretrained.js";
import { readSafetensors } from "./safetensors.js";

// fixtures/torch/lora/: scripts/fixtures/makeLoraFixtures.py, torch float32; a tiny random Llama
// (base/) and a LoRA adapter on q_proj, v_proj in PEFT's layout (adapter/) with reference values
interface LoraFixture {
  ids: number[];
  attentionMask: number[];
  shape: [number, number, number];
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
}
const fixturePath = (name: string) =>
  fileURLToPath(new URL(`../../fixtures/torch/lora/${name}`, import.meta.url));
const fx = JSON.parse(readFileSync(fixturePath("lora.json"), "utf8")) as LoraFixture;

const root = mkdtempSync(join(tmpdir(), "proximal-peft-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function baseModel(): Promise<LlamaForCausalLM> {
  const { model } = await loadPretrained(fixturePath("base"));
  assert.ok(model instanceof LlamaForCausalLM);
  return model;
}

/** Next-token cross-entropy over targets that and whose predicting position are real (the fixture's). */
function fixtureLoss(logits: Tensor): Tensor {
  const [b, t] = fx.shape;
  const ids = tensor(Int32Array.from(fx.ids), [b, t]);
  const logp = takeAlongLastAxis(logSoftmax(narrow(logits, 1, 0, t - 1), -1), narrow(ids, 1, 1, t - 1));
  const targetMask = new Float32Array(b * (t - 1));
  for (let r = 0; r < b; r++)
    for (let s = 0; s < t - 1; s++)
      targetMask[r * (t - 1) + s] = fx.attentionMask[r * t + s] * fx.attentionMask[r * t + s + 1];
  const count = targetMask.reduce((a, m) => a + m, 0);
  return mul(sum(mul(logp, tensor(targetMask, [b, t - 1]))), -1 / count);
}

function forward(model: LlamaForCausalLM | GPT): Tensor {
  const [b, t] = fx.shape;
  return model.forward(tensor(Int32Array.from(fx.ids), [b, t]), {
    attentionMask: tensor(Int32Array.from(fx.attentionMask), [b, t]),
  }).logits as Tensor;
}

/** Logits at real (unpadded) positions only: padding queries are not meaningful. */
function realLogits(values: ArrayLike<number>): number[] {
  const [b, t, v] = fx.shape;
  const out: number[] = [];
  for (let r = 0; r < b; r++)
    for (let s = 0; s < t; s++) {
      if (fx.attentionMask[r * t + s] === 0) continue;
      for (let k = 0; k < v; k++) out.push(values[(r * t + s) * v + k]);
    }
  return out;
}

describe("PEFT LoRA adapter against PyTorch", () => {
  test("a PEFT adapter folder loads onto its base: logits, loss and adapter gradients match", async () => {
    const model = await baseModel();
    const config = await loadLoraAdapter(model, fixturePath("adapter"));
    assert.deepEqual(config.targetModules, ["q_proj", "v_proj"]);
    assert.equal(config.rank, 4);
    assert.equal(config.baseModelNameOrPath, "base");
    const logits = forward(model);
    const expected = realLogits(fx.logits);
    assertClose(realLogits(logits.values), expected, {
      rtol: 1e-4,
      scale: maxAbs(expected),
      label: "logits",
    });
    const loss = fixtureLoss(logits);
    assertClose([loss.item()], [fx.loss], { rtol: 1e-5 });
    loss.backward();
    const adapters = loraAdapters(model);
    assert.equal(adapters.size, 4);
    for (const [name, adapter] of adapters) {
      for (const [part, layer] of [
        ["lora_A", adapter.lora_A],
        ["lora_B", adapter.lora_B],
      ] as const) {
        const key = `base_model.model.${name}.${part}.weight`;
        const want = fx.grads[key];
        assert.ok(want !== undefined, key);
        assertClose(layer.weight.grad?.values ?? [], want, { rtol: 1e-4, scale: maxAbs(want), label: key });
      }
    }
    // the base is frozen: no gradient reached it
    assert.ok(
      model
        .parameters()
        .filter((p) => !p.requiresGrad)
        .every((p) => p.grad === null),
    );
  });
});

describe("saveLoraAdapter / loadLoraAdapter", () => {
  test("round trip: PEFT's config fields and key names, same tensors, same logits", async () => {
    const model = await baseModel();
    await loadLoraAdapter(model, fixturePath("adapter"));
    const dir = join(root, "roundtrip");
    await saveLoraAdapter(model, dir, { baseModelNameOrPath: "fixtures/base" });
    const config = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG_FILE), "utf8"));
    const original = JSON.parse(readFileSync(fixturePath(`adapter/${ADAPTER_CONFIG_FILE}`), "utf8"));
    assert.deepEqual(Object.keys(config).sort(), Object.keys(original).sort());
    assert.deepEqual({ ...config, base_model_name_or_path: "base" }, original);
    const saved = readSafetensors(readFileSync(join(dir, ADAPTER_SAFETENSORS_FILE)));
    const reference = readSafetensors(readFileSync(fixturePath(`adapter/${ADAPTER_SAFETENSORS_FILE}`)));
    assert.deepEqual(Object.keys(saved.tensors), Object.keys(reference.tensors));
    assert.ok("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in saved.tensors);
    for (const [k, t] of Object.entries(reference.tensors)) assert.deepEqual(saved.tensors[k], t);
    assert.deepEqual(saved.metadata, { format: "pt" });
    const again = await baseModel();
    await loadLoraAdapter(again, dir);
    assert.deepEqual(noGrad(() => forward(again)).values, noGrad(() => forward(model)).values);
    await assert.rejects(saveLoraAdapter(model, dir), /already holds an adapter_config.json/);
    await saveLoraAdapter(model, dir, { overwrite: true });
  });

  test("a GPT's adapter is keyed as GPT2LMHeadModel's (transformer.h.0.attn.c_attn), fan_in_fan_out true", async () => {
    const gpt = new GPT({ vocabSize: 16, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 }, { rng: new Rng(0) });
    applyLora(gpt, { rank: 2, alpha: 4, dropout: 0.1, targetModules: ["c_attn"] });
    const dir = join(root, "gpt");
    await saveLoraAdapter(gpt, dir);
    const config = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG_FILE), "utf8"));
    assert.equal(config.fan_in_fan_out, true);
    assert.equal(config.lora_dropout, 0.1);
    const saved = readSafetensors(readFileSync(join(dir, ADAPTER_SAFETENSORS_FILE)));
    assert.deepEqual(Object.keys(saved.tensors), [
      "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight",
      "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight",
    ]);
    assert.deepEqual(
      saved.tensors["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"].shape,
      [24, 2],
    );
  });

  test("a bad config or tensors that do not fit are refused naming the problem, leaving the model as it was", async () => {
    const source = fixturePath("adapter");
    const copy = (name: string, edit: (config: Record<string, unknown>) => void, tensors?: Uint8Array) => {
      const dir = join(root, name);
      const config = JSON.parse(readFileSync(join(source, ADAPTER_CONFIG_FILE), "utf8"));
      edit(config);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(config));
      writeFileSync(
        join(dir, ADAPTER_SAFETENSORS_FILE),
        tensors ?? readFileSync(join(source, ADAPTER_SAFETENSORS_FILE)),
      );
      return dir;
    };
    const cases: [string, (c: Record<string, unknown>) => void, RegExp][] = [
      ["ia3", (c) => Object.assign(c, { peft_type: "IA3" }), /"peft_type" is "IA3"; only "LORA"/],
      ["rank", (c) => Object.assign(c, { r: 8 }), /is F32 \[4, 32\], expected float \[8, 32\].*"r" wrong/],
      [
        "targets",
        (c) => Object.assign(c, { target_modules: ["q_proj"] }),
        /unexpected ".*v_proj.lora_A.weight"/,
      ],
      [
        "more",
        (c) => Object.assign(c, { target_modules: ["q_proj", "v_proj", "k_proj"] }),
        /missing ".*k_proj.lora_A/,
      ],
      ["unknown", (c) => Object.assign(c, { target_modules: ["query"] }), /"query" match no linear layer/],
      ["bias", (c) => Object.assign(c, { bias: "all" }), /"bias" is "all"; only "none"/],
      ["dora", (c) => Object.assign(c, { use_dora: true }), /DoRA adapters are not supported/],
      ["pattern", (c) => Object.assign(c, { rank_pattern: { q_proj: 2 } }), /per-layer ranks/],
      [
        "regex",
        (c) => Object.assign(c, { target_modules: ".*proj" }),
        /regular-expression string is not supported/,
      ],
    ];
    for (const [name, edit, message] of cases) {
      const model = await baseModel();
      await assert.rejects(loadLoraAdapter(model, copy(name, edit)), (e: unknown) => {
        assert.ok(e instanceof ProximalError);
        assert.match(e.message, message);
        return true;
      });
      assert.ok(!hasLora(model), name);
      assert.ok(
        model.parameters().every((p) => p.requiresGrad),
        name,
      );
    }
    await assert.rejects(
      loadLoraAdapter(await baseModel(), join(root, "nowhere")),
      /adapter_config.json not found/,
    );
  });

  test("merged and saved with savePretrained, the plain folder gives the adapter model's logits (1e-5)", async () => {
    const model = await baseModel();
    await loadLoraAdapter(model, fixturePath("adapter"));
    const adapted = Array.from(noGrad(() => forward(model)).values);
    mergeLora(model);
    const dir = join(root, "merged");
    await savePretrained(model, dir);
    const { model: merged } = await loadPretrained(dir);
    assert.ok(merged instanceof LlamaForCausalLM && !hasLora(merged));
    assertClose(realLogits(noGrad(() => forward(merged)).values), realLogits(adapted), { atol: 1e-5 });
    const base = await baseModel();
    const baseLogits = realLogits(noGrad(() => forward(base)).values);
    assert.ok(maxAbs(baseLogits.map((v, i) => v - realLogits(adapted)[i])) > 1e-2); // the adapter mattered
    // a random B so merging is tested on a change that is not the fixture's
    applyLora(base, { rank: 2, targetModules: ["o_proj"] });
    for (const a of loraAdapters(base).values())
      a.lora_B.weight.data.set(randomNormal(new Rng(1), a.lora_B.weight.size));
    const before = Array.from(noGrad(() => forward(base)).values);
    mergeLora(base);
    assertClose(Array.from(noGrad(() => forward(base)).values), before, { atol: 1e-5 });
  });
});
