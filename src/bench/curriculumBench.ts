/**
 * `proximal bench curriculum`: the curriculum example of the README ("Sparse rewards"). Q-learning
 * on deterministic FrozenLake 8x8 (reward 1 at the goal only) trained for the same number of
 * episodes two ways:
 * - `direct`: every episode starts at the task's start state (0);
 * - `curriculum`: a reverse curriculum over the start state ({@link FROZEN_LAKE_STAGES}, near the
 *   goal first, then further away, the task last), moving on when half of the last 20 episodes
 *   reach the goal ({@link CurriculumSchedule}).
 * After training, the greedy policy is evaluated exactly on the task: its value at the start state
 * by policy evaluation on `P` (γ 0.99; the optimum is 0.99^13 ≈ 0.878), and whether it reaches the
 * goal. Seeds from `PROXIMAL_BENCH_SEEDS` (default 10,11,12; the stages were chosen on seeds 0-2);
 * `--quick`: one seed.
 */
import { make } from "../envs/make.js";
import { FrozenLakeEnv } from "../envs/toyText/frozenLake.js";
import { Curriculum, CurriculumSchedule } from "../envs/wrappers/curriculum.js";
import { policyEvaluation, valueIteration } from "../rl/tabular/dynamicProgramming.js";
import { QLearning } from "../rl/tabular/qLearning.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/**
 * Start states (reset option `state`), easiest first: frozen tiles at Manhattan distance 1, 2, 4, 7
 * and 10 from the goal (63), then the task itself (start state 0, distance 14).
 */
export const FROZEN_LAKE_STAGES: Record<string, unknown>[] = [
  { state: 62 },
  { state: 47 },
  { state: 38 },
  { state: 28 },
  { state: 18 },
  {},
];

/** Q-learning settings of both arms (the ones the tabular tests use on this map). */
const Q_LEARNING = { learningRate: 0.5, explorationFraction: 0.5, gamma: 0.99 };

/** Episode budgets measured. */
export const BUDGETS = [100, 200, 400, 800, 1600];

/** One arm with one seed and one budget. */
export interface CurriculumRun {
  arm: "direct" | "curriculum";
  seed: number;
  episodes: number;
  /** Stage reached at the end (direct: 0, the task). */
  stage: number;
  /** V^π(start) of the greedy policy on the task, exactly (policy evaluation on P, γ 0.99). */
  startValue: number;
  /** The greedy policy reaches the goal from the start state. */
  solved: boolean;
}

/** Train one arm for `episodes` episodes with one seed and evaluate its greedy policy on the task. */
export async function runArm(
  arm: "direct" | "curriculum",
  seed: number,
  episodes: number,
): Promise<CurriculumRun> {
  const stages = arm === "direct" ? FROZEN_LAKE_STAGES.slice(-1) : FROZEN_LAKE_STAGES;
  const schedule = new CurriculumSchedule({
    stages,
    threshold: 0.5,
    window: 20,
    isSuccess: (e) => e.return > 0,
  });
  const env = new Curriculum(make<number, number>("FrozenLake8x8-v1", { isSlippery: false }), schedule);
  const model = new QLearning(env, { ...Q_LEARNING, seed });
  await model.learn({ totalEpisodes: episodes });
  const P = new FrozenLakeEnv({ isSlippery: false, mapName: "8x8" }).P;
  const startValue = policyEvaluation(P, model.greedyPolicy(), { gamma: Q_LEARNING.gamma })[0];
  return { arm, seed, episodes, stage: schedule.stage, startValue, solved: startValue > 0 };
}

export async function run(options: BenchOptions): Promise<void> {
  const seeds = process.env.PROXIMAL_BENCH_SEEDS
    ? process.env.PROXIMAL_BENCH_SEEDS.split(",").map(Number)
    : options.quick
      ? [10]
      : [10, 11, 12];
  const optimum = valueIteration(new FrozenLakeEnv({ isSlippery: false, mapName: "8x8" }).P, {
    gamma: Q_LEARNING.gamma,
  }).V[0];
  const runs: CurriculumRun[] = [];
  for (const episodes of BUDGETS) {
    for (const arm of ["direct", "curriculum"] as const) {
      for (const seed of seeds) runs.push(await runArm(arm, seed, episodes));
    }
  }
  if (options.json) {
    console.log(JSON.stringify({ optimum, runs }));
    return;
  }
  console.log(`optimal V(start) = ${optimum.toFixed(4)} (value iteration, γ ${Q_LEARNING.gamma})`);
  printTable(
    runs.map((r) => ({
      arm: r.arm,
      seed: r.seed,
      episodes: r.episodes,
      stage: r.stage,
      startValue: r.startValue,
      solved: r.solved ? "yes" : "no",
    })),
  );
}
