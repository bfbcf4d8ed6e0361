import type { PresetRunBudget, PresetRunFigures } from "./presetRunBench.js";
import { printPresetRun, runPresetBench } from "./presetRunBench.js";
import type { BenchOptions } from "./suites.js";

/**
 * DQN on CartPole-v1 with RL Zoo's configuration (`presets/dqn/rlzoo.yaml`: 50k steps; every 256
 * env steps, 128 gradient steps on batches of 64; [256, 256] ReLU; lr 2.3e-3; target update every 10
 * steps; ε 1 → 0.04 over the first 16%; learning starts after 1000 steps), then a 20-episode
 * deterministic evaluation. /work/shared/ANCHORS.md: SB3 takes 51.0 s (980 steps/s) alone on this
 * kind of machine and evaluates 476 ± 106 on seed 0.
 */
export function runDqnBench(budget: PresetRunBudget): Promise<PresetRunFigures> {
  return runPresetBench("DQN", "CartPole-v1", budget);
}

/** `proximal bench dqn [--json] [--seed n]` (`--quick`: 5k steps, 5 episodes; not for BENCHMARKS.md). */
export async function run(options: BenchOptions): Promise<void> {
  const quick = options.quick ? { steps: 5_000, evalEpisodes: 5 } : {};
  printPresetRun(await runDqnBench({ seed: options.seed ?? 0, ...quick }), options);
}
