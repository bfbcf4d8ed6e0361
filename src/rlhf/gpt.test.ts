import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { readSafetensors } from "../io/safetensors.js";
import { Rng } from "../random/rng.js";
import { concat, crossEntropy, narrow, reshape, transpose } from "../tensor/ops.js";
import { noGrad, type Tensor, tensor } from "../tensor/tensor.js";
import { assertClose, maxAbs } from "../tensor/testing.js";
import { GPTRewardModel } from "./common/rewardHead.js";
import { GPTWithValueHead } from "./common/valueHead.js";
import { GPT, type GPTConfig } from "./gpt.js";

// fixtures/torch/gptTiny.*: scripts/fixtures/makeGptFixture.py, torch 1.13 float32, seed 0; a minimal
// GPT-2 written with HF's GPT2LMHeadModel module names and Conv1D [in, out] weights
const fixtureUrl = (name: string) => new URL(`../../fixtures/torch/${name}`, import.meta.url);
const fixture = JSON.parse(readFileSync(fixtureUrl("gptTiny.json"), "utf8")) as {
  config: GPTConfig;
  ids: number[][];
  logits: number[];
  padded: { ids: number[][]; attentionMask: number[][]; positionIds: number[][]; logits: number[] };
  training: { loss: number; grads: Record<string, { shape: number[]; values: number[] }> };
};
const fixtureBytes = new Uint8Array(readFileSync(fixtureUrl("gptTiny.safetensors")));
const ints = (rows: number[][]) => tensor(rows, undefined, { dtype: "int32" });

function loadTiny(): GPT {
  return GPT.fromSafetensors(fixtureBytes, { nHead: fixture.config.nHead });
}

describe("GPT.fromSafetensors() (HF GPT-2 layout)", () => {
  test("reads the config off the tensors and skips lm_head and the attn.bias buffers", () => {
    const gpt = loadTiny();
    const { layerNormEpsilon, initializerRange, ...sizes } = gpt.config;
    assert.deepEqual(sizes, fixture.config);
    assert.equal(layerNormEpsilon, 1e-5);
  });

  test("logits match torch within 1e-4", () => {
    const gpt = loadTiny();
    const { logits } = noGrad(() => gpt.forward(ints(fixture.ids)));
    assert.deepEqual(logits?.shape, [2, 10, fixture.config.vocabSize]);
    assertClose(logits!.values, fixture.logits, { atol: 1e-4, rtol: 0, label: "logits" });
  });

  test("left padding with an attention mask and HF position ids matches torch at real tokens", () => {
    const gpt = loadTiny();
    const { ids, attentionMask, positionIds } = fixture.padded;
    const mask = ints(attentionMask);
    // HF adds finfo.min to causally masked scores too, so its padding queries attend to later real
    // keys; their outputs are never used, and only real positions are compared
    const realOnly = (values: ArrayLike<number>): number[] =>
      Array.from(values).filter(
        (_, i) => attentionMask.flat()[Math.floor(i / fixture.config.vocabSize)] === 1,
      );
    const explicit = noGrad(() =>
      gpt.forward(ints(ids), { attentionMask: mask, positionIds: ints(positionIds) }),
    );
    const expected = realOnly(fixture.padded.logits);
    assertClose(realOnly(explicit.logits!.values), expected, { atol: 1e-4, rtol: 0, label: "padded logits" });
    // the default position ids are HF's cumsum(mask) - 1
    const implicit = noGrad(() => gpt.forward(ints(ids), { attentionMask: mask }));
    assertClose(realOnly(implicit.logits!.values), expected, {
      atol: 1e-4,
      rtol: 0,
      label: "default positions",
    });
  });

  test("a left-padded row gives the logits of the same tokens unpadded", () => {
    const gpt = loadTiny();
    const { ids, attentionMask } = fixture.padded;
    const row = 2;
    const start = attentionMask[row].indexOf(1);
    const padded = noGrad(() => gpt.forward(ints(ids), { attentionMask: ints(attentionMask) })).logits!;
    const alone = noGrad(() => gpt.forward(ints([ids[row].slice(start)]))).logits!;
    const rowLogits = narrow(narrow(padded, 0, row, 1), 1, start, ids[row].length - start);
    assertClose(rowLogits.values, alone.values, { atol: 1e-5, rtol: 0 });
  });

  test("one training step's loss and gradients match torch", () => {
    const gpt = loadTiny();
    const ids = ints(fixture.ids);
    const { logits } = gpt.forward(ids);
    const vocab = fixture.config.vocabSize;
    const inputs = narrow(logits!, 1, 0, 9);
    const targets = narrow(ids, 1, 1, 9);
    const loss = crossEntropy(reshape(inputs, [-1, vocab]), reshape(targets, [-1]));
    assert.ok(
      Math.abs(loss.item() - fixture.training.loss) < 1e-5,
      `loss ${loss.item()} vs ${fixture.training.loss}`,
    );
    loss.backward();
    const params = new Map(gpt.namedParameters());
    for (const [hfName, expected] of Object.entries(fixture.training.grads)) {
      const name = hfName.replace(/^transformer\./, "");
      const grad = params.get(name)?.grad;
      assert.ok(grad, `no gradient for ${name}`);
      // Conv1D weights are [in, out] in torch, [out, in] here
      const hfLayout = /(c_attn|c_proj|c_fc)\.weight$/.test(name) ? transpose(grad) : grad;
      assert.deepEqual(hfLayout.shape, expected.shape);
      assertClose(hfLayout.values, expected.values, {
        rtol: 1e-3,
        atol: 1e-5 * maxAbs(expected.values),
        label: name,
      });
    }
  });
});

describe("GPT save/load", () => {
  test("toSafetensors writes HF names and layouts that read back to the same tensors", () => {
    const original = readSafetensors(fixtureBytes).tensors;
    const written = readSafetensors(loadTiny().toSafetensors({ prefix: "transformer." })).tensors;
    for (const [name, entry] of Object.entries(written)) {
      assert.deepEqual(entry.shape, original[name].shape, name);
      assert.deepEqual(entry.data, original[name].data, name);
    }
    const expectedNames = Object.keys(original).filter(
      (n) => !/attn\.bias$/.test(n) || /c_attn|c_proj/.test(n),
    );
    assert.deepEqual(Object.keys(written).sort(), expectedNames.sort());
  });

  test("a round trip through bytes gives the same logits", () => {
    const gpt = new GPT(
      { vocabSize: 50, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2 },
      { rng: new Rng(3) },
    );
    const again = GPT.fromSafetensors(gpt.toSafetensors(), { nHead: 2 });
    const ids = ints([[1, 2, 3, 4, 5]]);
    const a = noGrad(() => gpt.forward(ids)).logits!;
    const b = noGrad(() => again.forward(ids)).logits!;
    assert.deepEqual(b.values, a.values);
  });

  test("refuses a config that contradicts the checkpoint", () => {
    assert.throws(
      () => GPT.fromSafetensors(fixtureBytes, { nHead: 4, nEmbd: 48 }),
      (e: unknown) => e instanceof Error && (e as { code?: string }).code === "SHAPE_MISMATCH",
    );
  });
});

describe("GPT.forward() with a KV cache", () => {
  test("feeding tokens one at a time with the cache gives the full-prefix logits", () => {
    const gpt = loadTiny();
    const ids = fixture.ids;
    const full = noGrad(() => gpt.forward(ints(ids))).logits!;
    const steps: Tensor[] = [];
    noGrad(() => {
      let { logits, cache } = gpt.forward(ints(ids.map((r) => r.slice(0, 4))), { useCache: true });
      steps.push(logits!);
      for (let t = 4; t < 10; t++) {
        ({ logits, cache } = gpt.forward(ints(ids.map((r) => [r[t]])), { cache }));
        steps.push(logits!);
      }
    });
    assertClose(concat(steps, 1).values, full.values, { atol: 1e-5, rtol: 0 });
  });
});

describe("heads on the GPT trunk", () => {
  const config: GPTConfig = { vocabSize: 20, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2 };

  test("GPTWithValueHead gives logits and one value per token, under TRL's names", () => {
    const model = new GPTWithValueHead(config, { rng: new Rng(0) });
    const { logits, values } = model.forward(ints([[1, 2, 3]]));
    assert.deepEqual(logits?.shape, [1, 3, 20]);
    assert.deepEqual(values.shape, [1, 3]);
    const names = model.namedParameters().map(([n]) => n);
    assert.ok(names.includes("transformer.wte.weight") && names.includes("v_head.summary.weight"));
    values.sum().backward();
    assert.ok(model.transformer.wte.weight.grad !== null, "values train the trunk");
  });

  test("GPTRewardModel reads the last real token, left or right padded", () => {
    const model = new GPTRewardModel(config, { rng: new Rng(1) });
    const [plain] = noGrad(() => model.forward(ints([[4, 5, 6]]))).toArray();
    const left = noGrad(() =>
      model.forward(ints([[0, 0, 4, 5, 6]]), { attentionMask: ints([[0, 0, 1, 1, 1]]) }),
    );
    const right = noGrad(() => model.forward(ints([[4, 5, 6, 0]]), { attentionMask: ints([[1, 1, 1, 0]]) }));
    assert.ok(Math.abs(left.toArray()[0] - plain) < 1e-5);
    assert.ok(Math.abs(right.toArray()[0] - plain) < 1e-5);
    assert.deepEqual(model.namedParameters().at(-1)?.[0], "score.weight");
  });
});
