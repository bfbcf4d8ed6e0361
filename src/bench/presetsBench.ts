import { registry } from "../envs/registry.js";
import { ProximalError } from "../errors.js";
import { listPresets, loadPresetFile } from "../rl/presets.js";
import { learnOnce } from "./learningBench.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** Algorithms whose presets (presets/<algo>/*.yaml) are RL presets that `learnOnce` can train. */
const ALGORITHMS = ["PPO", "A2C", "ActorCritic", "DQN"];

/**
 * Seeds a tuned preset is checked on: none of them was used to tune a preset (tuning uses seeds 0-2;
 * seeds 3-7 were looked at once for presets/ppo/fast.yaml, see its header).
 */
export const CHECK_SEEDS = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
const EVAL_EPISODES = 20;

/** One preset entry tuned by proximal itself (its `source` starts with "proximal"). */
export interface TunedEntry {
  algo: string;
  preset: string;
  env: string;
  totalTimesteps: number;
  threshold: number;
}

/** Every entry of the shipped RL presets whose `source` says proximal tuned it. */
export async function tunedEntries(): Promise<TunedEntry[]> {
  const out: TunedEntry[] = [];
  for (const algo of ALGORITHMS) {
    for (const preset of await listPresets(algo)) {
      const entries = await loadPresetFile(preset, algo);
      for (const [env, entry] of Object.entries(entries)) {
        if (!entry.source?.startsWith("proximal")) continue;
        const threshold = registry.get(env).rewardThreshold;
        if (threshold === undefined || entry.totalTimesteps === null) {
          throw new ProximalError(
            "INVALID_OPTION",
            `${algo} preset "${preset}", ${env}: a tuned preset needs totalTimesteps and an env with a reward threshold to be checked.`,
          );
        }
        out.push({ algo, preset, env, totalTimesteps: entry.totalTimesteps, threshold });
      }
    }
  }
  return out;
}

/**
 * `proximal bench presets`: every preset entry proximal tuned itself (source "proximal ...";
 * presets copied from RL Zoo, CleanRL or papers are not re-checked) is trained for its own
 * `totalTimesteps` on seeds it was not tuned on (10-19; `PROXIMAL_BENCH_SEEDS=...` picks others),
 * then evaluated over 20 deterministic episodes (seed 10000 + seed, as `bench learning`). A seed
 * succeeds when that mean return reaches the env's reward threshold. Prints each seed and the
 * success rate per entry. `--quick`: two seeds.
 */
export async function run(options: BenchOptions): Promise<void> {
  const seeds = process.env.PROXIMAL_BENCH_SEEDS
    ? process.env.PROXIMAL_BENCH_SEEDS.split(",").map(Number)
    : options.quick
      ? CHECK_SEEDS.slice(0, 2)
      : CHECK_SEEDS;
  const rows: {
    algo: string;
    preset: string;
    env: string;
    seed: number;
    steps: number;
    wallSeconds: number;
    meanReturn: number;
    solved: boolean;
  }[] = [];
  const summary: { algo: string; preset: string; env: string; solved: number; seeds: number[] }[] = [];
  for (const entry of await tunedEntries()) {
    let solved = 0;
    for (const seed of seeds) {
      const result = await learnOnce(
        { algo: entry.algo, env: entry.env, steps: entry.totalTimesteps, preset: entry.preset },
        seed,
        entry.totalTimesteps,
        EVAL_EPISODES,
      );
      if (result.status !== "ok" || result.meanReturn === null) {
        throw new Error(
          `${entry.algo} ${entry.preset} ${entry.env} seed ${seed}: ${result.status}${result.error ? ` (${result.error})` : ""}`,
        );
      }
      const ok = result.meanReturn >= entry.threshold;
      if (ok) solved++;
      rows.push({
        algo: entry.algo,
        preset: entry.preset,
        env: entry.env,
        seed,
        steps: entry.totalTimesteps,
        wallSeconds: Number(result.wallSeconds.toFixed(2)),
        meanReturn: Number(result.meanReturn.toFixed(1)),
        solved: ok,
      });
      if (!options.json) {
        console.error(
          `${entry.algo} ${entry.preset} ${entry.env} seed ${seed}: eval ${result.meanReturn.toFixed(1)} (threshold ${entry.threshold}) in ${result.wallSeconds.toFixed(1)} s`,
        );
      }
    }
    summary.push({ algo: entry.algo, preset: entry.preset, env: entry.env, solved, seeds });
  }
  if (options.json) {
    console.log(JSON.stringify({ runs: rows, summary }));
    return;
  }
  printTable(
    rows.map((r) => ({
      algo: r.algo,
      preset: r.preset,
      env: r.env,
      seed: r.seed,
      steps: r.steps,
      wallSeconds: r.wallSeconds,
      meanReturn: r.meanReturn,
      solved: r.solved ? "yes" : "no",
    })),
  );
  console.log("");
  for (const s of summary) {
    console.log(
      `${s.algo} ${s.preset} ${s.env}: solved on ${s.solved} of ${s.seeds.length} seeds (${s.seeds.join(", ")})`,
    );
  }
}
