// `npm run bench:browser`: PPO's training speed in Chromium against Node on the same config — the
// fast CartPole-v1 preset (presets/ppo/fast.yaml, 45,000 steps), seed 0, the wasm backend, one
// thread each, `learn` only (no evaluation). Runs alternate (Node, Chromium, Node, ...) so that load
// from other processes hits both alike; prints each run and the medians as JSON.
// Usage: node test/browser/bench.mjs [rounds=3]
import { join } from "node:path";
import { openPage, root } from "./harness.mjs";

const { loadPreset, PPO, setBackend } = await import(join(root, "dist/index.js"));
const rounds = Number(process.argv[2] ?? 3);

async function nodeRun() {
  setBackend("wasm");
  const preset = await loadPreset("fast", "CartPole-v1", "PPO");
  const model = new PPO("CartPole-v1", { ...preset.options, seed: 0 });
  const start = performance.now();
  await model.learn({ totalTimesteps: preset.totalTimesteps });
  const seconds = (performance.now() - start) / 1000;
  return { steps: preset.totalTimesteps, seconds, stepsPerSecond: preset.totalTimesteps / seconds };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const session = await openPage();
const runs = { node: [], chromium: [] };
try {
  for (let round = 0; round < rounds; round++) {
    const inNode = await nodeRun();
    runs.node.push(inNode.stepsPerSecond);
    const inChromium = await session.page.evaluate(() =>
      window.harness.trainPPO({ seed: 0, evaluate: false }),
    );
    runs.chromium.push(inChromium.stepsPerSecond);
    console.error(
      `round ${round + 1}: node ${Math.round(inNode.stepsPerSecond)} steps/s, chromium ${Math.round(inChromium.stepsPerSecond)} steps/s`,
    );
  }
} finally {
  await session.close();
}
const node = median(runs.node);
const chromium = median(runs.chromium);
console.log(
  JSON.stringify(
    {
      config: "PPO CartPole-v1, presets/ppo/fast.yaml (45,000 steps), seed 0, wasm backend, learn only",
      node: { runs: runs.node.map(Math.round), median: Math.round(node) },
      chromium: { runs: runs.chromium.map(Math.round), median: Math.round(chromium) },
      chromiumOverNode: Number((chromium / node).toFixed(3)),
    },
    null,
    2,
  ),
);
