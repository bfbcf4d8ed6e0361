import type { PresetRunBudget, PresetRunFigures } from "./presetRunBench.js";
import { printPresetRun, runPresetBench } from "./presetRunBench.js";
import type { BenchOptions } from "./suites.js";

/**
 * SAC on Pendulum-v1 with RL Zoo's configuration (`presets/sac/rlzoo.yaml`: 20k steps, lr 1e-3, SB3's
 * defaults otherwise: one gradient step of batch 256 per env step after 100 random steps, [256, 256]
 * ReLU, automatic entropy coefficient), then a 20-episode deterministic evaluation (issue #13's speed
 * benchmark). /work/shared/ANCHORS.md: SB3's `learn()` takes 194.7 s (103 steps/s, OpenBLAS on both
 * cores) on this kind of machine and evaluates −159 ± 68 on seed 0.
 */
export function runSacBench(budget: PresetRunBudget): Promise<PresetRunFigures> {
  return runPresetBench("SAC", "Pendulum-v1", budget);
}

/** `proximal bench sac [--json] [--seed n]` (`--quick`: 2k steps, 5 episodes; not for BENCHMARKS.md). */
export async function run(options: BenchOptions): Promise<void> {
  const quick = options.quick ? { steps: 2_000, evalEpisodes: 5 } : {};
  printPresetRun(await runSacBench({ seed: options.seed ?? 0, ...quick }), options);
}
