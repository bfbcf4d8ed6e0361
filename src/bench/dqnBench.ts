import { loadPreset } from "../rl/presets.js";
import { learnOnce } from "./learningBench.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** What `proximal bench dqn --json` prints. */
export interface DqnBenchFigures {
  /** Env steps per second over the whole `learn` call (collection and gradient steps). */
  stepsPerSecond: number;
  /** Wall time of the whole training (`learn`), seconds; evaluation excluded. */
  wallSeconds: number;
  /** Mean return of 20 deterministic evaluation episodes after training. */
  evalMeanReturn: number | null;
  /** Rolling-100 training return at the end (ε-greedy, for reference). */
  trainReturn: number | null;
  steps: number;
  seed: number;
}

/** Budget of {@link runDqnBench}; tests shrink it. */
export interface DqnBenchBudget {
  seed: number;
  /** Env steps. @defaultValue the preset's 50_000 */
  steps?: number;
  /** Deterministic evaluation episodes. @defaultValue 20 */
  evalEpisodes?: number;
}

/**
 * DQN on CartPole-v1 with RL Zoo's configuration (`presets/dqn/rlzoo.yaml`: 50k steps; every 256
 * env steps, 128 gradient steps on batches of 64; [256, 256] ReLU; lr 2.3e-3; target update every 10
 * steps; ε 1 → 0.04 over the first 16%; learning starts after 1000 steps), then a 20-episode
 * deterministic evaluation. /work/shared/ANCHORS.md: SB3 takes 51.0 s (980 steps/s) alone on this
 * kind of machine and evaluates 476 ± 106 on seed 0.
 */
export async function runDqnBench(budget: DqnBenchBudget): Promise<DqnBenchFigures> {
  const preset = await loadPreset("rlzoo", "CartPole-v1", "DQN");
  const steps = budget.steps ?? preset.totalTimesteps ?? 50_000;
  const result = await learnOnce(
    { algo: "DQN", env: "CartPole-v1", steps, preset: "rlzoo" },
    budget.seed,
    steps,
    budget.evalEpisodes ?? 20,
  );
  if (result.status !== "ok") throw new Error(`DQN run failed: ${result.error ?? result.status}`);
  return {
    stepsPerSecond: Math.round(steps / result.wallSeconds),
    wallSeconds: Number(result.wallSeconds.toFixed(2)),
    evalMeanReturn: result.meanReturn,
    trainReturn: result.trainReturn,
    steps,
    seed: budget.seed,
  };
}

/** `proximal bench dqn [--json] [--seed n]` (`--quick`: 5k steps, 5 episodes; not for BENCHMARKS.md). */
export async function run(options: BenchOptions): Promise<void> {
  const figures = await runDqnBench({
    seed: options.seed ?? 0,
    ...(options.quick ? { steps: 5_000, evalEpisodes: 5 } : {}),
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
