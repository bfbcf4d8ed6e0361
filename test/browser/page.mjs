// The page side of the Chromium tests (test/browser/chromium.browser.mjs): bundled by esbuild from the
// package as a web app would import it, then driven through `window.harness` by Playwright.
import {
  backendInfo,
  evaluatePolicy,
  generate,
  IndexedDBModelFiles,
  loadPretrained,
  ModelArchive,
  make,
  PPO,
  parsePresetText,
  renderToCanvas,
  setBackend,
} from "proximal";

/** The PPO CartPole-v1 entry of presets/ppo/fast.yaml (fetched from the test server), resolved. */
async function cartPolePreset() {
  const text = await (await fetch("/presets/ppo/fast.yaml")).text();
  return (await parsePresetText(text, "fast", "PPO"))["CartPole-v1"];
}

/** Deterministic actions of `model` on the observations of a seeded random walk of CartPole. */
function actionsOn(model, observations) {
  return Array.from(model.predict(observations, { deterministic: true }));
}

function sampleObservations(count) {
  const env = make("CartPole-v1");
  let { observation } = env.reset({ seed: 123 });
  const out = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) {
    out.set(observation, i * 4);
    const step = env.step(i % 3 === 0 ? 0 : 1);
    observation = step.terminated || step.truncated ? env.reset().observation : step.observation;
  }
  return out;
}

let trained = null;

window.harness = {
  /** Train PPO with the fast preset on the wasm backend; time `learn`; evaluate 20 deterministic episodes. */
  async trainPPO({ seed, totalTimesteps, evaluate = true }) {
    setBackend("wasm");
    const preset = await cartPolePreset();
    const steps = totalTimesteps ?? preset.totalTimesteps;
    const model = new PPO("CartPole-v1", { ...preset.options, seed });
    const start = performance.now();
    await model.learn({ totalTimesteps: steps });
    const seconds = (performance.now() - start) / 1000;
    trained = model;
    const result = evaluate
      ? await evaluatePolicy(model, make("CartPole-v1"), {
          episodes: 20,
          deterministic: true,
          seed: 10_000 + seed,
        })
      : null;
    return {
      backend: backendInfo().name,
      wasmBuild: backendInfo().wasmBuild,
      wasmFma: backendInfo().wasmFma,
      steps,
      seconds,
      stepsPerSecond: steps / seconds,
      meanReturn: result?.meanReturn ?? null,
      returns: result?.episodes.map((e) => e.return) ?? null,
    };
  },

  /** Save the trained model to a Blob and to IndexedDB, load both back, compare actions. */
  async saveAndLoad() {
    const observations = sampleObservations(200);
    const expected = actionsOn(trained, observations);
    const archive = new ModelArchive();
    await trained.save(archive);
    const blob = archive.toBlob();
    const fromBlob = await PPO.load(new File([blob], "cartpole.tar"));
    await trained.save(new IndexedDBModelFiles("cartpole-test"));
    const fromIndexedDb = await PPO.load(new IndexedDBModelFiles("cartpole-test"));
    return {
      blobBytes: blob.size,
      files: archive.names(),
      distinctActions: new Set(expected).size,
      blobSame: JSON.stringify(actionsOn(fromBlob, observations)) === JSON.stringify(expected),
      indexedDbSame: JSON.stringify(actionsOn(fromIndexedDb, observations)) === JSON.stringify(expected),
      expected,
    };
  },

  /** Load a model archive served by the test server (made by the CLI in Node); its actions on the sample. */
  async loadServedModel(url) {
    const model = await PPO.load(await (await fetch(url)).blob());
    return actionsOn(model, sampleObservations(200));
  },

  /**
   * Load a Hugging Face folder packed as a tar (served by the test server) with loadPretrained, encode
   * `prompt` with its tokenizer.json, and generate 8 tokens greedily with the KV cache.
   */
  async generateFromServedFolder(url, prompt) {
    const { model, tokenizer, config } = await loadPretrained(await (await fetch(url)).blob());
    const promptIds = tokenizer.encode(prompt);
    const out = generate(model, [promptIds], { maxNewTokens: 8, doSample: false });
    return {
      modelType: config.model_type,
      promptIds,
      generated: Array.from(out.responseIds.data),
    };
  },

  /** The observations loadServedModel predicts on, for the Node side of the comparison. */
  observationsForCheck() {
    return Array.from(sampleObservations(200));
  },

  /** Draw CartPole's first frame on a canvas; count the pixels that are not background white. */
  drawFrame() {
    const env = make("CartPole-v1");
    env.reset({ seed: 0 });
    const canvas = document.createElement("canvas");
    document.body.append(canvas);
    renderToCanvas(env, canvas);
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 0; i < pixels.length; i += 4)
      if (pixels[i] < 250 || pixels[i + 1] < 250 || pixels[i + 2] < 250) drawn++;
    return { width: canvas.width, height: canvas.height, drawn };
  },

  /** make(id, { asynchronous: true }) in a page: a synchronous vector env, one console notice. */
  asynchronousFallback() {
    const envs = make("CartPole-v1", { numEnvs: 2, asynchronous: true, seed: 0 });
    envs.reset({ seed: 0 });
    const step = envs.step(Int32Array.of(0, 1));
    return { numEnvs: envs.numEnvs, rewards: Array.from(step.rewards) };
  },
};
