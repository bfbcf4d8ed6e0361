import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { GPT } from "../rlhf/gpt.js";
import { add, linear, mul, sum } from "../tensor/ops.js";
import { noGrad, type Tensor, tensor } from "../tensor/tensor.js";
import {
  assertClose,
  assertGradientsMatchFiniteDifferences,
  maxAbs,
  randomNormal,
} from "../tensor/testing.js";
import { Linear } from "./linear.js";
import {
  applyLora,
  hasLora,
  type LoraAdapter,
  loraAdapters,
  loraTargetNames,
  mergeLora,
  resolveLoraConfig,
  unloadLora,
  withLoraDisabled,
} from "./lora.js";
import { LlamaForCausalLM } from "./models/llama.js";
import { Module } from "./module.js";

const llamaConfig = {
  vocabSize: 32,
  hiddenSize: 16,
  intermediateSize: 24,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  maxPositionEmbeddings: 32,
};
const newLlama = () => new LlamaForCausalLM(llamaConfig, { rng: new Rng(3) });
const ids = tensor(Int32Array.from([1, 5, 9, 2, 7, 3, 30, 4]), [2, 4]);
const logitsOf = (model: { forward(ids: Tensor): { logits: Tensor | null } }): number[] =>
  Array.from(noGrad(() => model.forward(ids).logits as Tensor).values);

/** Random values in every adapter's B too (B starts at zero, which would hide the adapter). */
function randomizeB(model: Module, seed: number): void {
  const rng = new Rng(seed);
  for (const a of loraAdapters(model).values())
    a.lora_B.weight.data.set(randomNormal(rng, a.lora_B.weight.size, 0.3));
}

class OneLayer extends Module {
  readonly proj: Linear;
  constructor(rng: Rng) {
    super();
    this.proj = this.registerModule("proj", new Linear(5, 3, { rng }));
  }
}

describe("LoRA linear layer (Hu et al. 2021, eq. 3)", () => {
  test("output is W0 x + b + (alpha / r) B A x, starting at the base output (B = 0)", () => {
    const model = new OneLayer(new Rng(0));
    const x = tensor(randomNormal(new Rng(1), 10), [2, 5]);
    const base = Array.from(noGrad(() => model.proj.forward(x)).values);
    const adapter = applyLora(model, { rank: 2, alpha: 6, targetModules: ["proj"] }).get(
      "proj",
    ) as LoraAdapter;
    assert.equal(adapter.scaling, 3);
    assert.deepEqual(Array.from(noGrad(() => model.proj.forward(x)).values), base); // B = 0
    // A is PEFT's kaiming_uniform(a = sqrt(5)): U(-1/sqrt(in), 1/sqrt(in)), not all zero
    const bound = 1 / Math.sqrt(5);
    assert.ok(adapter.lora_A.weight.values.every((v) => Math.abs(v) <= bound));
    assert.ok(maxAbs(adapter.lora_A.weight.values) > 0.2 * bound);
    randomizeB(model, 2);
    const expected = noGrad(() =>
      add(
        linear(x, model.proj.weight, model.proj.bias),
        mul(linear(linear(x, adapter.lora_A.weight), adapter.lora_B.weight), 3),
      ),
    );
    assertClose(noGrad(() => model.proj.forward(x)).values, expected.values, { atol: 1e-6 });
  });

  test("gradients w.r.t. A, B and the input match finite differences; the base gets none", () => {
    const model = new OneLayer(new Rng(4));
    applyLora(model, { rank: 3, alpha: 4, targetModules: ["proj"] });
    randomizeB(model, 5);
    const x = tensor(randomNormal(new Rng(6), 10), [2, 5], { requiresGrad: true });
    const weights = tensor(randomNormal(new Rng(7), 6), [2, 3]);
    const loss = () => sum(mul(mul(model.proj.forward(x), model.proj.forward(x)), weights));
    const adapter = loraAdapters(model).get("proj") as LoraAdapter;
    assertGradientsMatchFiniteDifferences(loss, [adapter.lora_A.weight, adapter.lora_B.weight, x], {
      step: 1e-2,
      rtol: 1e-2,
      atol: 1e-3,
    });
    assert.equal(model.proj.weight.grad, null);
    assert.equal(model.proj.bias?.grad ?? null, null);
  });

  test("dropout applies to the adapter's input in training only", () => {
    const model = new OneLayer(new Rng(0));
    applyLora(model, { rank: 2, dropout: 0.5, targetModules: ["proj"], rng: new Rng(1) });
    randomizeB(model, 2);
    const x = tensor(randomNormal(new Rng(3), 10), [2, 5]);
    const train = Array.from(noGrad(() => model.proj.forward(x)).values);
    model.eval();
    const evalA = Array.from(noGrad(() => model.proj.forward(x)).values);
    const evalB = Array.from(noGrad(() => model.proj.forward(x)).values);
    assert.deepEqual(evalA, evalB);
    assert.notDeepEqual(train, evalA);
  });
});

describe("applyLora on models", () => {
  test("names follow PEFT (q_proj.lora_A.weight); only adapters are trainable", () => {
    const model = newLlama();
    const before = model.parameters();
    const adapters = applyLora(model, { rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] });
    assert.deepEqual(
      [...adapters.keys()],
      [0, 1].flatMap((i) => [`model.layers.${i}.self_attn.q_proj`, `model.layers.${i}.self_attn.v_proj`]),
    );
    const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad);
    assert.deepEqual(
      trainable.map(([n]) => n),
      [0, 1].flatMap((i) =>
        ["q_proj", "v_proj"].flatMap((m) => [
          `model.layers.${i}.self_attn.${m}.lora_A.weight`,
          `model.layers.${i}.self_attn.${m}.lora_B.weight`,
        ]),
      ),
    );
    assert.deepEqual(
      model.trainableParameters(),
      trainable.map(([, p]) => p),
    );
    assert.ok(before.every((p) => !p.requiresGrad));
    assert.deepEqual(model.stateDict()["model.layers.0.self_attn.q_proj.lora_A.weight"].shape, [4, 16]);
    assert.deepEqual(model.stateDict()["model.layers.0.self_attn.v_proj.lora_B.weight"].shape, [8, 4]);
  });

  test('"all-linear" adapts every linear layer but lm_head; the GPT\'s c_attn/c_proj/c_fc too', () => {
    const names = loraTargetNames(newLlama(), "all-linear");
    assert.equal(names.length, 2 * 7);
    assert.ok(!names.includes("lm_head"));
    const gpt = new GPT({ vocabSize: 8, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 }, { rng: new Rng(0) });
    assert.deepEqual(loraTargetNames(gpt, "all-linear"), [
      "h.0.attn.c_attn",
      "h.0.attn.c_proj",
      "h.0.mlp.c_fc",
      "h.0.mlp.c_proj",
    ]);
    assert.deepEqual(loraTargetNames(gpt, ["c_attn"]), ["h.0.attn.c_attn"]);
  });

  test("an unknown target is refused, naming the model's linear layers, and changes nothing", () => {
    const model = newLlama();
    assert.throws(
      () => applyLora(model, { targetModules: ["q_proj", "query"] }),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "UNKNOWN_NAME" &&
        /"query" match no linear layer/.test(e.message) &&
        /"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"/.test(
          e.message,
        ),
    );
    assert.ok(!hasLora(model));
    assert.ok(model.parameters().every((p) => p.requiresGrad));
    for (const bad of [{ rank: 0 }, { alpha: -1 }, { dropout: 1 }]) {
      assert.throws(() => resolveLoraConfig({ targetModules: ["q_proj"], ...bad }), /LoraConfig: /);
    }
    assert.throws(() => resolveLoraConfig({ targetModules: [] }), /non-empty list/);
    applyLora(model, { targetModules: ["q_proj"] });
    assert.throws(() => applyLora(model, { targetModules: ["v_proj"] }), /already has LoRA adapters/);
  });

  test("withLoraDisabled computes the base model and restores the adapters, even after a throw", () => {
    const base = newLlama();
    const baseLogits = logitsOf(base);
    const model = newLlama();
    applyLora(model, { rank: 2, targetModules: "all-linear" });
    randomizeB(model, 1);
    const adapted = logitsOf(model);
    assert.ok(maxAbs(adapted.map((v, i) => v - baseLogits[i])) > 1e-3);
    assert.deepEqual(
      withLoraDisabled(model, () => logitsOf(model)),
      baseLogits,
    );
    assert.throws(() =>
      withLoraDisabled(model, () => {
        throw new Error("inside");
      }),
    );
    assert.deepEqual(logitsOf(model), adapted);
  });

  for (const [label, build, targets] of [
    ["Llama", newLlama, ["q_proj", "v_proj", "down_proj"]],
    [
      "GPT",
      () => new GPT({ vocabSize: 32, nPositions: 8, nEmbd: 16, nLayer: 2, nHead: 2 }, { rng: new Rng(1) }),
      ["c_attn", "c_fc"],
    ],
  ] as const) {
    test(`${label}: mergeLora gives the adapter model's logits (1e-5) without adapters; unloadLora the base's`, () => {
      const model = build();
      const baseLogits = logitsOf(model);
      applyLora(model, { rank: 4, alpha: 16, targetModules: targets });
      randomizeB(model, 9);
      const adapted = logitsOf(model);
      const stateBefore = Object.keys(model.stateDict()).length;
      mergeLora(model);
      assert.ok(!hasLora(model));
      assert.ok(Object.keys(model.stateDict()).length < stateBefore);
      assertClose(logitsOf(model), adapted, { atol: 1e-5 });

      const other = build();
      applyLora(other, { rank: 4, targetModules: targets });
      randomizeB(other, 9);
      unloadLora(other);
      assert.deepEqual(logitsOf(other), baseLogits);
      assert.throws(() => mergeLora(other), /no LoRA adapters/);
    });
  }
});
