// `npm run bench:browser`: PPO's training speed in Chromium against Node on the same config — the
// fast CartPole-v1 preset (presets/ppo/fast.yaml, 45,000 steps), seed 0, the wasm backend, one
// thread each, `learn` only (no evaluation). Runs alternate (Node, Chromium, Node, ...) so that load
// from other processes hits both alike; prints each run and the medians as JSON. Steps per second are
// given per wall-clock second and per CPU second (Node: process.cpuUsage(); Chromium: the renderer
// processes' utime + stime from /proc), since on a shared machine the wall clock mostly measures the
// other processes.
// Usage: node test/browser/bench.mjs [rounds=3]
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { openPage, root } from "./harness.mjs";

const { loadPreset, PPO, setBackend } = await import(join(root, "dist/index.js"));
const rounds = Number(process.argv[2] ?? 3);

async function nodeRun() {
  setBackend("wasm");
  const preset = await loadPreset("fast", "CartPole-v1", "PPO");
  const model = new PPO("CartPole-v1", { ...preset.options, seed: 0 });
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await model.learn({ totalTimesteps: preset.totalTimesteps });
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (performance.now() - start) / 1000;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    stepsPerSecond: preset.totalTimesteps / seconds,
    stepsPerCpuSecond: preset.totalTimesteps / cpuSeconds,
  };
}

/** CPU seconds used so far by the renderer processes of the Chromium using `profile` (Linux /proc). */
async function rendererCpuSeconds(profile) {
  let ticks = 0;
  for (const pid of (await readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.includes("--type=renderer") || !cmdline.includes(profile)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

async function chromiumRun(session) {
  const before = await rendererCpuSeconds(session.profile);
  const result = await session.page.evaluate(() => window.harness.trainPPO({ seed: 0, evaluate: false }));
  const cpuSeconds = (await rendererCpuSeconds(session.profile)) - before;
  return { stepsPerSecond: result.stepsPerSecond, stepsPerCpuSecond: result.steps / cpuSeconds };
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
    const inChromium = await chromiumRun(session);
    runs.node.push(inNode);
    runs.chromium.push(inChromium);
    console.error(
      `round ${round + 1}: node ${Math.round(inNode.stepsPerSecond)} steps/s (${Math.round(inNode.stepsPerCpuSecond)} per CPU s), chromium ${Math.round(inChromium.stepsPerSecond)} steps/s (${Math.round(inChromium.stepsPerCpuSecond)} per CPU s)`,
    );
  }
} finally {
  await session.close();
}
const summary = (key) => {
  const node = median(runs.node.map((r) => r[key]));
  const chromium = median(runs.chromium.map((r) => r[key]));
  return {
    node: { runs: runs.node.map((r) => Math.round(r[key])), median: Math.round(node) },
    chromium: { runs: runs.chromium.map((r) => Math.round(r[key])), median: Math.round(chromium) },
    chromiumOverNode: Number((chromium / node).toFixed(3)),
  };
};
console.log(
  JSON.stringify(
    {
      config: "PPO CartPole-v1, presets/ppo/fast.yaml (45,000 steps), seed 0, wasm backend, learn only",
      perWallSecond: summary("stepsPerSecond"),
      perCpuSecond: summary("stepsPerCpuSecond"),
    },
    null,
    2,
  ),
);
