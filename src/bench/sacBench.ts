import { loadPreset } from "../rl/presets.js";
import { learnOnce } from "./learningBench.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** What `proximal bench sac --json` prints. */
export interface SacBenchFigures {
  /** Env steps per second over the whole `learn` call (collection and gradient steps). */
  stepsPerSecond: number;
  /** Wall time of the whole training (`learn`), seconds; evaluation excluded. */
  wallSeconds: number;
  /** Mean return of 20 deterministic evaluation episodes after training. */
  evalMeanReturn: number | null;
  /** Rolling-100 training return at the end (stochastic policy, for reference). */
  trainReturn: number | null;
  steps: number;
  seed: number;
}

/** Budget of {@link runSacBench}; tests shrink it. */
export interface SacBenchBudget {
  seed: number;
  /** Env steps. @defaultValue the preset's 20_000 */
  steps?: number;
  /** Deterministic evaluation episodes. @defaultValue 20 */
  evalEpisodes?: number;
}

/**
 * SAC on Pendulum-v1 with RL Zoo's configuration (`presets/sac/rlzoo.yaml`: 20k steps, lr 1e-3, SB3's
 * defaults otherwise: one gradient step of batch 256 per env step after 100 random steps, [256, 256]
 * ReLU, automatic entropy coefficient), then a 20-episode deterministic evaluation (issue #13's speed
 * benchmark). /work/shared/ANCHORS.md: SB3's `learn()` takes 194.7 s (103 steps/s, OpenBLAS on both
 * cores) on this kind of machine and evaluates −159 ± 68 on seed 0.
 */
export async function runSacBench(budget: SacBenchBudget): Promise<SacBenchFigures> {
  const preset = await loadPreset("rlzoo", "Pendulum-v1", "SAC");
  const steps = budget.steps ?? preset.totalTimesteps ?? 20_000;
  const result = await learnOnce(
    { algo: "SAC", env: "Pendulum-v1", steps, preset: "rlzoo" },
    budget.seed,
    steps,
    budget.evalEpisodes ?? 20,
  );
  if (result.status !== "ok") throw new Error(`SAC run failed: ${result.error ?? result.status}`);
  return {
    stepsPerSecond: Math.round(steps / result.wallSeconds),
    wallSeconds: Number(result.wallSeconds.toFixed(2)),
    evalMeanReturn: result.meanReturn,
    trainReturn: result.trainReturn,
    steps,
    seed: budget.seed,
  };
}

/** `proximal bench sac [--json] [--seed n]` (`--quick`: 2k steps, 5 episodes; not for BENCHMARKS.md). */
export async function run(options: BenchOptions): Promise<void> {
  const figures = await runSacBench({
    seed: options.seed ?? 0,
    ...(options.quick ? { steps: 2_000, evalEpisodes: 5 } : {}),
  });
  if (options.json) {
    console.log(JSON.stringify(figures));
    return;
  }
  printTable([
    {
      seed: figures.seed,
      steps: figures.steps,
      "steps/s": figures.stepsPerSecond,
      "wall s": figures.wallSeconds,
      "eval return": figures.evalMeanReturn ?? "n/a",
      "last-100 return": figures.trainReturn ?? "n/a",
    },
  ]);
}
