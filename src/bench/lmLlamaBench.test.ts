import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ProximalError } from "../errors.js";
import { getBackend } from "../tensor/tensor.js";
import { LLAMA_BENCH_SIZES, llamaWorkload, measureLlamaLm } from "./lmLlamaBench.js";
import { runBenchSuite } from "./suites.js";

const isOption = (pattern: RegExp) => (e: unknown) =>
  e instanceof ProximalError && e.code === "INVALID_OPTION" && pattern.test(e.message);

// The plumbing of `bench lm --arch llama --size <size>` on the tiny size; no figure is checked
// against a speed (speed figures live in BENCHMARKS.md, never in tests).
describe("bench lm --arch llama", () => {
  test("135m is SmolLM2-135M's published shape", () => {
    const { config } = llamaWorkload("135m", false);
    assert.equal(config.modelType, "llama");
    assert.equal(config.hiddenSize, 576);
    assert.equal(config.numHiddenLayers, 30);
    assert.equal(config.numAttentionHeads, 9);
    assert.equal(config.numKeyValueHeads, 3);
    assert.equal(config.headDim, 64);
    assert.equal(config.intermediateSize, 1536);
    assert.equal(config.vocabSize, 49152);
    assert.equal(config.tieWordEmbeddings, true);
    assert.equal(config.ropeTheta, 100000);
  });

  test("the GRPO step is 8 completions of 128 tokens at full size", () => {
    assert.deepEqual(llamaWorkload("135m", false).grpo, {
      completions: 8,
      completionLength: 128,
      threads: 2,
    });
  });

  test("an unknown size is INVALID_OPTION naming the sizes", () => {
    assert.throws(
      () => llamaWorkload("7b", false),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "INVALID_OPTION" &&
        Object.keys(LLAMA_BENCH_SIZES).every((size) => e.message.includes(size)),
    );
  });

  test("bench lm refuses an unknown --arch, and --size without --arch llama, before measuring", async () => {
    await assert.rejects(
      runBenchSuite("lm", { json: true, quick: true, arch: "mamba" }),
      isOption(/unknown --arch "mamba".*gpt \(default\), llama/),
    );
    await assert.rejects(
      runBenchSuite("lm", { json: true, quick: true, size: "135m" }),
      isOption(/--size applies to --arch llama/),
    );
  });

  test("the CLI passes --arch and --size to bench lm", () => {
    const main = fileURLToPath(new URL("../cli/main.js", import.meta.url));
    const r = spawnSync(process.execPath, [main, "bench", "lm", "--arch", "llama", "--size", "7b"], {
      encoding: "utf8",
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown --size "7b"\. Sizes: 135m, tiny/);
  });

  test("measures generation at batch 1 and 8, training and a GRPO step on the tiny size", () => {
    const backend = getBackend().name;
    const workload = llamaWorkload("tiny", true);
    const figures = measureLlamaLm(workload, [backend], false);
    const c = workload.config;
    // by hand: embedding (tied) + per layer q, k, v, o, gate, up, down and two norms + final norm
    const perLayer =
      c.hiddenSize * c.headDim * (2 * c.numAttentionHeads + 2 * c.numKeyValueHeads) +
      3 * c.hiddenSize * c.intermediateSize +
      2 * c.hiddenSize;
    assert.equal(
      figures.parameters,
      c.vocabSize * c.hiddenSize + c.numHiddenLayers * perLayer + c.hiddenSize,
    );
    assert.equal(figures.backends.length, 1);
    const [b] = figures.backends;
    assert.equal(b.backend, backend);
    assert.deepEqual(
      b.generate.map((g) => g.batch),
      [1, 8],
    );
    for (const rate of [...b.generate, b.train]) {
      assert.ok(rate.perSecond > 0 && Number.isFinite(rate.perSecond));
      assert.ok(rate.perCpuSecond > 0);
    }
    assert.ok(b.loraTrain !== null && b.loraTrain.perSecond > 0);
    // rank · (in + out) per adapted layer: q, k, v, o, gate, up, down of every layer
    const q = c.numAttentionHeads * c.headDim;
    const kv = c.numKeyValueHeads * c.headDim;
    const h = c.hiddenSize;
    const i = c.intermediateSize;
    const perLayerLora = h + q + 2 * (h + kv) + (q + h) + 2 * (h + i) + (i + h);
    assert.equal(b.loraParameters, c.numHiddenLayers * (workload.lora.rank ?? 8) * perLayerLora);
    // the adapters are gone afterwards and every weight trains again
    assert.ok(figures.parameters > (b.loraParameters ?? 0));
    // peaks only grow, in the order measured: generation, LoRA training, full training
    const lora = b.peakRssMbAfterLoraTrain ?? Number.NaN;
    assert.ok(b.peakRssMbAfterGenerate > 0 && lora >= b.peakRssMbAfterGenerate);
    assert.ok(b.peakRssMbAfterTrain >= lora);
    assert.equal(figures.grpoStep.completions, 8);
    // the step on 2 threads where the native backend runs it, every other row on 1
    assert.equal(figures.grpoStep.threads, backend === "native" ? 2 : 1);
    assert.equal(figures.grpoStep.completionTokens, 8 * workload.grpo.completionLength);
    assert.ok(figures.grpoStep.seconds > 0);
    assert.equal(figures.torch, null);
  });
});
