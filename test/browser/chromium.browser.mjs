// `npm run test:browser`: the package, bundled by esbuild for the browser, in Debian's Chromium.
// Run by node --test (not part of `npm test`: it needs /usr/bin/chromium; .ci/run installs it).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openPage, root } from "./harness.mjs";

const {
  generate,
  getBackend,
  HfTokenizer,
  LlamaForCausalLM,
  loadPretrained,
  ModelArchive,
  PPO,
  Rng,
  savePretrained,
  setBackend,
} = await import(join(root, "dist/index.js"));
const { qwen2StyleFiles } = await import(join(root, "dist/rlhf/tokenizers/testTokenizers.test.util.js"));
const { packModelDirectory } = await import(join(root, "dist/node.js"));

describe("proximal in Chromium", () => {
  let session;
  before(async () => {
    session = await openPage();
  });
  after(async () => {
    await session?.close();
  });

  test("PPO (fast preset, seed 0) trains CartPole-v1 on the wasm backend to a 20-episode deterministic eval >= 475", async (t) => {
    const result = await session.page.evaluate(() => window.harness.trainPPO({ seed: 0 }));
    t.diagnostic(
      `chromium: PPO CartPole-v1 ${result.steps} steps in ${result.seconds.toFixed(1)} s (${Math.round(result.stepsPerSecond)} steps/s), eval ${result.meanReturn}, wasm build ${result.wasmBuild}${result.wasmFma ? " (fused)" : ""}`,
    );
    assert.equal(result.backend, "wasm");
    // Chromium has had relaxed SIMD since 114: feature detection must pick the relaxed build there
    assert.equal(result.wasmBuild, "relaxed-simd");
    assert.ok(
      result.meanReturn >= 475,
      `eval mean return ${result.meanReturn} (episodes: ${result.returns})`,
    );
  });

  test("the trained model saved to a Blob (File) and to IndexedDB loads back with the same actions", async () => {
    const result = await session.page.evaluate(() => window.harness.saveAndLoad());
    assert.deepEqual(result.files, ["model.json", "model.safetensors"]);
    assert.ok(result.distinctActions > 1, "the sampled observations should get both actions");
    assert.equal(result.blobSame, true);
    assert.equal(result.indexedDbSame, true);
  });

  test("a model trained by the CLI in Node, packed with packModelDirectory, loads in the page with the same actions", async () => {
    const run = await mkdtemp(join(tmpdir(), "proximal-cli-run-"));
    try {
      const cli = join(root, "dist/cli/main.js");
      execFileSync(
        process.execPath,
        [cli, "train", "ppo", "--env", "CartPole-v1", "--total-timesteps", "1024", "--out", run, "--force"],
        { stdio: "pipe" },
      );
      await writeFile(join(session.models, "cli.tar"), await packModelDirectory(join(run, "model")));
      const inPage = await session.page.evaluate(() => window.harness.loadServedModel("/models/cli.tar"));
      const inNode = await PPO.load(join(run, "model"));
      const observations = await session.page.evaluate(() => window.harness.observationsForCheck());
      assert.deepEqual(
        inPage,
        Array.from(inNode.predict(Float32Array.from(observations), { deterministic: true })),
      );
    } finally {
      await rm(run, { recursive: true, force: true });
    }
  });

  test("a Hugging Face folder (Qwen2, with tokenizer.json) saved in Node loads in the page: same ids, same greedy tokens", async () => {
    const folder = await mkdtemp(join(tmpdir(), "proximal-hf-folder-"));
    const backend = getBackend().name;
    try {
      const files = qwen2StyleFiles();
      const tokenizer = HfTokenizer.fromFiles(files.tokenizerJson, files.tokenizerConfig);
      const config = {
        modelType: "qwen2",
        vocabSize: tokenizer.vocabSize,
        hiddenSize: 32,
        intermediateSize: 48,
        numHiddenLayers: 2,
        numAttentionHeads: 4,
        numKeyValueHeads: 2,
        maxPositionEmbeddings: 64,
        tieWordEmbeddings: false,
      };
      const model = new LlamaForCausalLM(config, { rng: new Rng(5) });
      const tokenizerFiles = { tokenizerJson: files.tokenizerJson, tokenizerConfig: files.tokenizerConfig };
      await savePretrained(model, folder, tokenizerFiles);
      // the same folder as a tar, as a user would download it (savePretrained into a ModelArchive)
      const archive = new ModelArchive();
      await savePretrained(model, archive, tokenizerFiles);
      await writeFile(join(session.models, "qwen.tar"), archive.toBytes());
      const prompt = "Hello world 12";
      const inPage = await session.page.evaluate(
        (p) => window.harness.generateFromServedFolder("/models/qwen.tar", p),
        prompt,
      );
      // Node reads the same folder on the page's backend (wasm). The builds may differ (Chromium loads the
      // relaxed-SIMD one, whose fused multiply-adds round once; Node 20 SIMD128), so the logits may differ in
      // their last bits: the greedy choices of this model are far enough apart not to flip on that
      setBackend("wasm");
      const loaded = await loadPretrained(folder);
      const ids = loaded.tokenizer.encode(prompt);
      const out = generate(loaded.model, [ids], { maxNewTokens: 8, doSample: false });
      assert.deepEqual(inPage.promptIds, ids);
      assert.deepEqual(inPage.generated, Array.from(out.responseIds.data));
      assert.equal(inPage.generated.length, 8);
      assert.equal(inPage.modelType, "qwen2");
    } finally {
      setBackend(backend);
      await rm(folder, { recursive: true, force: true });
    }
  });

  test("renderToCanvas draws CartPole's frame", async () => {
    const { width, height, drawn } = await session.page.evaluate(() => window.harness.drawFrame());
    assert.deepEqual([width, height], [600, 400]);
    assert.ok(drawn > 1000, `only ${drawn} non-white pixels`);
  });

  test("an asynchronous vector env falls back to synchronous stepping with one console notice", async () => {
    const result = await session.page.evaluate(() => window.harness.asynchronousFallback());
    assert.deepEqual(result, { numEnvs: 2, rewards: [1, 1] });
    assert.equal(session.warnings.filter((w) => w.includes("asynchronous: true")).length, 1);
  });

  test("no console errors and no uncaught page errors", () => {
    assert.deepEqual(session.errors, []);
  });
});

describe("proximal bundled by Vite, in Chromium", () => {
  let session;
  before(async () => {
    session = await openPage({ bundler: "vite" });
  });
  after(async () => {
    await session?.close();
  });

  test("vite build reports no Node built-in (nothing externalized for browser compatibility)", () => {
    assert.deepEqual(
      session.bundleWarnings.filter((w) => /externali[sz]ed|node:/.test(w)),
      [],
    );
  });

  test("the Vite bundle trains a little PPO, saves to a Blob and loads it back with the same actions", async () => {
    const result = await session.page.evaluate(() =>
      window.harness.trainPPO({ seed: 1, totalTimesteps: 1024, evaluate: false }),
    );
    assert.equal(result.backend, "wasm");
    const saved = await session.page.evaluate(() => window.harness.saveAndLoad());
    assert.equal(saved.blobSame, true);
    assert.deepEqual(session.errors, []);
  });
});
