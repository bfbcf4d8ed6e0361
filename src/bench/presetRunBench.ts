import { loadPreset } from "../rl/presets.js";
import { learnOnce } from "./learningBench.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** What a one-run speed benchmark (`proximal bench dqn|sac --json`) prints. */
export interface PresetRunFigures {
  /** Env steps per second over the whole `learn` call (collection and gradient steps). */
  stepsPerSecond: number;
  /** Wall time of the whole training (`learn`), seconds; evaluation excluded. */
  wallSeconds: number;
  /** Mean return of the deterministic evaluation episodes after training. */
  evalMeanReturn: number | null;
  /** Rolling-100 training return at the end (the exploring policy, for reference). */
  trainReturn: number | null;
  steps: number;
  seed: number;
}

/** Budget of one benchmark run; tests shrink it. */
export interface PresetRunBudget {
  seed: number;
  /** Env steps. @defaultValue the preset's `totalTimesteps` */
  steps?: number;
  /** Deterministic evaluation episodes. @defaultValue 20 */
  evalEpisodes?: number;
}

/**
 * Train `algo` on `env` with its RL Zoo preset (`presets/<algo>/rlzoo.yaml`) for the preset's budget,
 * then evaluate deterministically: the shape of the issues' speed benchmarks, which compare this
 * run's wall time with Stable-Baselines3's `learn()` on the same configuration.
 */
export async function runPresetBench(
  algo: string,
  env: string,
  budget: PresetRunBudget,
): Promise<PresetRunFigures> {
  const preset = await loadPreset("rlzoo", env, algo);
  const steps = budget.steps ?? preset.totalTimesteps;
  if (steps === undefined || steps === null)
    throw new Error(`presets/${algo.toLowerCase()}/rlzoo.yaml gives ${env} no totalTimesteps`);
  const result = await learnOnce(
    { algo, env, steps, preset: "rlzoo" },
    budget.seed,
    steps,
    budget.evalEpisodes ?? 20,
  );
  if (result.status !== "ok") throw new Error(`${algo} run failed: ${result.error ?? result.status}`);
  return {
    stepsPerSecond: Math.round(steps / result.wallSeconds),
    wallSeconds: Number(result.wallSeconds.toFixed(2)),
    evalMeanReturn: result.meanReturn,
    trainReturn: result.trainReturn,
    steps,
    seed: budget.seed,
  };
}

/** Print `figures` as one JSON object (`--json`) or a one-row table. */
export function printPresetRun(figures: PresetRunFigures, options: BenchOptions): void {
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
