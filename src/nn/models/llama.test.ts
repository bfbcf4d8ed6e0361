import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadPretrained } from "../../io/pretrained.js";
import { Rng } from "../../random/rng.js";
import { generate } from "../../rlhf/generate.js";
import { logSoftmax, mul, narrow, sum, takeAlongLastAxis } from "../../tensor/ops.js";
import { noGrad, type Tensor, tensor, withBackend } from "../../tensor/tensor.js";
import { assertClose, maxAbs, TEST_BACKENDS } from "../../tensor/testing.js";
import { LlamaForCausalLM } from "./llama.js";
import { stepwiseLogits } from "./testing.js";

// fixtures/torch/llama/: scripts/fixtures/makeLlamaFixtures.py, torch 1.13 float32; tiny random
// models written in HF's folder layout with a reference forward from the published architectures
interface LlamaFixture {
  folder: string;
  dtype: string;
  ids: number[];
  attentionMask: number[];
  positionIds: number[];
  shape: [number, number, number];
  logits: number[];
  loss: number;
  grads: Record<string, { norm: number; sum: number; head: number[]; values?: number[] }>;
  generation: { ids: number[]; logprobs: number[] };
}
const FIXTURES = ["llama3", "qwen2", "qwen3", "smollm2", "smollm2-bf16", "qwen2-f16"];
const fixtureDir = (name: string) =>
  fileURLToPath(new URL(`../../../fixtures/torch/llama/${name}`, import.meta.url));
const readFixture = (name: string): LlamaFixture =>
  JSON.parse(readFileSync(`${fixtureDir(name)}.json`, "utf8")) as LlamaFixture;

async function load(name: string): Promise<{ model: LlamaForCausalLM; fx: LlamaFixture }> {
  const { model } = await loadPretrained(fixtureDir(name));
  assert.ok(model instanceof LlamaForCausalLM);
  return { model, fx: readFixture(name) };
}

function batch(fx: LlamaFixture): { ids: Tensor; mask: Tensor } {
  const [b, t] = fx.shape;
  return {
    ids: tensor(Int32Array.from(fx.ids), [b, t]),
    mask: tensor(Int32Array.from(fx.attentionMask), [b, t]),
  };
}

/** Mean next-token cross-entropy over targets that and whose predicting position are real, as the fixture. */
function nextTokenLoss(logits: Tensor, ids: Tensor, mask: Tensor): Tensor {
  const [b, t] = ids.shape;
  const logp = takeAlongLastAxis(logSoftmax(narrow(logits, 1, 0, t - 1), -1), narrow(ids, 1, 1, t - 1));
  const targetMask = new Float32Array(b * (t - 1));
  for (let r = 0; r < b; r++)
    for (let s = 0; s < t - 1; s++)
      targetMask[r * (t - 1) + s] = mask.data[r * t + s] * mask.data[r * t + s + 1];
  let count = 0;
  for (const m of targetMask) count += m;
  return mul(sum(mul(logp, tensor(targetMask, [b, t - 1]))), -1 / count);
}

describe("LlamaForCausalLM against PyTorch (tiny random models in HF folders)", () => {
  for (const name of FIXTURES) {
    test(`${name}: logits at real tokens match within 1e-4 of their scale`, async () => {
      const { model, fx } = await load(name);
      const { ids, mask } = batch(fx);
      const { logits } = noGrad(() => model.forward(ids, { attentionMask: mask }));
      assert.ok(logits !== null);
      const [b, t, v] = fx.shape;
      const actual: number[] = [];
      const expected: number[] = [];
      for (let r = 0; r < b; r++)
        for (let s = 0; s < t; s++) {
          if (fx.attentionMask[r * t + s] === 0) continue; // padding queries are not meaningful
          for (let k = 0; k < v; k++) {
            actual.push(logits.values[(r * t + s) * v + k]);
            expected.push(fx.logits[(r * t + s) * v + k]);
          }
        }
      assertClose(actual, expected, { rtol: 1e-4, scale: maxAbs(expected), label: `${name} logits` });
    });

    test(`${name}: loss and every parameter's gradient match`, async () => {
      const { model, fx } = await load(name);
      const { ids, mask } = batch(fx);
      const loss = nextTokenLoss(model.forward(ids, { attentionMask: mask }).logits as Tensor, ids, mask);
      assertClose([loss.item()], [fx.loss], { rtol: 1e-5, label: "loss" });
      loss.backward();
      const params = Object.fromEntries(model.namedParameters());
      assert.deepEqual(Object.keys(params).sort(), Object.keys(fx.grads).sort());
      for (const [pname, ref] of Object.entries(fx.grads)) {
        const g = params[pname].grad;
        assert.ok(g !== null, `${pname} has no gradient`);
        let sq = 0;
        for (const x of g.values) sq += x * x;
        assertClose([Math.sqrt(sq)], [ref.norm], { rtol: 2e-4, label: `${pname} gradient norm` });
        const scale = maxAbs(ref.head) + ref.norm / Math.sqrt(g.size);
        assertClose(g.values.subarray(0, 16), ref.head, { rtol: 1e-3, scale, label: `${pname} gradient` });
        if (ref.values)
          assertClose(g.values, ref.values, { rtol: 1e-3, scale: maxAbs(ref.values), label: pname });
      }
    });

    test(`${name}: greedy generation with the cache from left-padded prompts`, async () => {
      const { model, fx } = await load(name);
      const { ids, mask } = batch(fx);
      const out = generate(model, { inputIds: ids, attentionMask: mask }, { maxNewTokens: 6 });
      assert.deepEqual(Array.from(out.responseIds.data), fx.generation.ids);
      assertClose(out.logProbs.values, fx.generation.logprobs, { rtol: 1e-4, atol: 1e-5, label: "logprobs" });
    });
  }
});

describe("LlamaForCausalLM", () => {
  const config = {
    vocabSize: 40,
    hiddenSize: 16,
    intermediateSize: 24,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    maxPositionEmbeddings: 32,
  };

  test("parameter names are transformers' (untied: lm_head; tied: none)", () => {
    const untied = new LlamaForCausalLM(config).namedParameters().map(([n]) => n);
    assert.ok(untied.includes("model.embed_tokens.weight"));
    assert.ok(untied.includes("model.layers.1.self_attn.q_proj.weight"));
    assert.ok(untied.includes("model.layers.0.mlp.gate_proj.weight"));
    assert.ok(untied.includes("model.layers.0.post_attention_layernorm.weight"));
    assert.ok(untied.includes("model.norm.weight"));
    assert.ok(untied.includes("lm_head.weight"));
    const tied = new LlamaForCausalLM({ ...config, tieWordEmbeddings: true })
      .namedParameters()
      .map(([n]) => n);
    assert.ok(!tied.includes("lm_head.weight"));
    const qwen3 = new LlamaForCausalLM({ ...config, modelType: "qwen3", headDim: 6 });
    const names = qwen3.namedParameters().map(([n]) => n);
    assert.ok(names.includes("model.layers.0.self_attn.q_norm.weight"));
    assert.deepEqual(qwen3.stateDict()["model.layers.0.self_attn.q_proj.weight"].shape, [24, 16]);
    assert.deepEqual(qwen3.stateDict()["model.layers.0.self_attn.k_proj.weight"].shape, [12, 16]);
  });

  test("weights start as HF's N(0, initializerRange) with unit norms, or at zero with initialize: false", () => {
    const drawn = new LlamaForCausalLM(
      { ...config, initializerRange: 0.05 },
      { rng: new Rng(1) },
    ).stateDict();
    for (const name of ["model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight", "lm_head.weight"]) {
      const v = drawn[name].values;
      let sq = 0;
      for (const x of v) sq += x * x;
      const std = Math.sqrt(sq / v.length);
      assert.ok(Math.abs(std - 0.05) < 0.01, `${name}: std ${std}`);
    }
    assert.ok(drawn["model.norm.weight"].values.every((x) => x === 1));
    const blank = new LlamaForCausalLM(config, { initialize: false }).stateDict();
    assert.ok(blank["model.layers.1.self_attn.o_proj.weight"].values.every((x) => x === 0));
    assert.ok(blank["model.embed_tokens.weight"].values.every((x) => x === 0));
  });

  test("the cache gives the same logits as recomputing the prefix, with left padding", () => {
    const model = new LlamaForCausalLM({ ...config, modelType: "qwen2" }, { rng: new Rng(3) });
    const ids = tensor(Int32Array.from([0, 0, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7]), [2, 7]);
    const mask = tensor(Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), [2, 7]);
    noGrad(() => {
      const full = model.forward(ids, { attentionMask: mask }).logits as Tensor;
      const first = model.forward(narrow(ids, 1, 0, 4), {
        attentionMask: narrow(mask, 1, 0, 4),
        cache: null,
      });
      const rest = model.forward(narrow(ids, 1, 4, 3), { attentionMask: mask, cache: first.cache });
      assertClose((rest.logits as Tensor).values, narrow(full, 1, 4, 3).values, { rtol: 1e-5, scale: 1 });
      assert.equal(rest.cache?.length, 7);
      // the cache keeps the 2 key/value heads, not the 4 query heads
      assert.deepEqual(rest.cache?.layers[0].k.shape, [2, 2, 7, 4]);
    });
  });

  for (const backend of TEST_BACKENDS) {
    test(`grouped-query cache, in place and by concatenation, gives the full pass's logits and tokens (${backend})`, () => {
      withBackend(backend, () => {
        // 4 query heads on 2 key/value heads; prompts of 2, 4 and 3 tokens left-padded to 4
        const model = new LlamaForCausalLM(config, { rng: new Rng(5) });
        const ids = tensor(
          Int32Array.from([0, 0, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 0, 11, 12, 13, 14, 15]),
          [3, 6],
        );
        const mask = tensor(Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]), [3, 6]);
        const full = noGrad(() => model.forward(ids, { attentionMask: mask }).logits as Tensor);
        const inPlace = stepwiseLogits(model, ids, mask, 4, { inference: true });
        const concatenated = stepwiseLogits(model, ids, mask, 4, { inference: false });
        const scale = maxAbs(full.values);
        assertClose(inPlace.values, full.values, { rtol: 1e-5, scale, label: "in place" });
        assertClose(concatenated.values, full.values, { rtol: 1e-5, scale, label: "concatenated" });
        const prompts = [
          [7, 8],
          [1, 2, 3, 4],
          [11, 12, 13],
        ];
        const cached = generate(model, prompts, { maxNewTokens: 6, outputLogits: true });
        const uncached = generate(model, prompts, { maxNewTokens: 6, outputLogits: true, useCache: false });
        assert.deepEqual(cached.sequences.toArray(), uncached.sequences.toArray());
        assertClose(cached.logits!.values, uncached.logits!.values, { rtol: 1e-5, scale });
      });
    });
  }

  test("left padding does not change a prompt's logits", () => {
    const model = new LlamaForCausalLM(config, { rng: new Rng(4) });
    noGrad(() => {
      const alone = model.forward(tensor(Int32Array.from([5, 6, 7]), [1, 3])).logits as Tensor;
      const padded = model.forward(tensor(Int32Array.from([0, 0, 5, 6, 7]), [1, 5]), {
        attentionMask: tensor(Int32Array.from([0, 0, 1, 1, 1]), [1, 5]),
      }).logits as Tensor;
      assertClose(narrow(padded, 1, 2, 3).values, alone.values, { rtol: 1e-5, scale: 1 });
    });
  });

  test("sampled generation is reproducible from a seed and respects eos", () => {
    const model = new LlamaForCausalLM(config, { rng: new Rng(5) });
    const run = () =>
      generate(model, [[1, 2, 3], [4]], {
        maxNewTokens: 8,
        doSample: true,
        topK: 10,
        topP: 0.9,
        temperature: 0.7,
        rng: new Rng(9),
        eosTokenId: 3,
      });
    const a = run();
    const b = run();
    assert.deepEqual(Array.from(a.responseIds.data), Array.from(b.responseIds.data));
    for (let r = 0; r < 2; r++) {
      const row = Array.from(a.responseIds.data.subarray(r * 8, r * 8 + a.responseLengths[r]));
      assert.ok(row.slice(0, -1).every((t) => t !== 3));
    }
  });

  test("refuses sequences longer than maxPositionEmbeddings and bad configs", () => {
    const model = new LlamaForCausalLM({ ...config, maxPositionEmbeddings: 4 });
    assert.throws(() => model.forward(tensor(Int32Array.from([1, 2, 3, 4, 5]), [1, 5])), {
      code: "INVALID_ARGUMENT",
    });
    assert.throws(() => new LlamaForCausalLM({ ...config, numKeyValueHeads: 3 }), { code: "INVALID_OPTION" });
    assert.throws(() => new LlamaForCausalLM({ ...config, headDim: 5 }), { code: "INVALID_OPTION" });
  });
});
