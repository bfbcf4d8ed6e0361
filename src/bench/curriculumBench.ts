/**
 * `proximal bench curriculum`: the curriculum example of docs/curriculum.md. PPO on MountainCar-v0
 * trained two ways at the same budget, then evaluated on the unchanged task (20 deterministic
 * episodes from MountainCar's own start range):
 * - `direct`: on the task itself (start positions in [−0.6, −0.4]);
 * - `curriculum`: a reverse curriculum over the start range ({@link MOUNTAIN_CAR_STAGES}), moving
 *   on when 50% of the last 50 episodes reach the flag.
 * Seeds come from `PROXIMAL_BENCH_SEEDS` (default 10,11,12: the stages and PPO settings were chosen
 * on seeds 0-2); `--quick` runs one seed for a tenth of the budget.
 */
import { make } from "../envs/make.js";
import { SyncVectorEnv } from "../envs/vector/syncVectorEnv.js";
import type { VectorEnv } from "../envs/vector/vectorEnv.js";
import { VectorNormalizeObservation } from "../envs/vector/vectorNormalizeObservation.js";
import { VectorRecordEpisodeStatistics } from "../envs/vector/vectorRecordEpisodeStatistics.js";
import { Curriculum, CurriculumSchedule } from "../envs/wrappers/curriculum.js";
import type { PPOOptions } from "../rl/ppo.js";
import { PPO } from "../rl/ppo.js";
import { evaluateRun } from "./learningBench.js";
import type { BenchOptions } from "./suites.js";
import { printTable } from "./suites.js";

/** Start-position ranges, easiest (near the flag at 0.5) first; the last is MountainCar's own. */
export const MOUNTAIN_CAR_STAGES = [
  { low: 0.4, high: 0.49 },
  { low: 0.2, high: 0.49 },
  { low: -0.2, high: 0.49 },
  { low: -0.6, high: 0.0 },
  { low: -0.6, high: -0.4 },
];

/** PPO settings of both arms (those of presets/ppo/rnd.yaml without the intrinsic reward). */
export const CURRICULUM_PPO: PPOOptions = {
  numEnvs: 16,
  nSteps: 128,
  batchSize: 512,
  nEpochs: 4,
  gaeLambda: 0.95,
  gamma: 0.99,
  learningRate: 3e-4,
};

const BUDGET = 200_000;

/** Success rate over the last 50 episodes that moves the curriculum on (tuned on seeds 0-2: 0.8 was slower). */
export const CURRICULUM_THRESHOLD = 0.5;

/** One arm of the comparison. */
export interface CurriculumRun {
  arm: "direct" | "curriculum";
  seed: number;
  steps: number;
  /** Stage reached at the end (direct: the task's stage). */
  stage: number;
  /** Timestep at which the last stage (the task) started; 0 for direct. null if never reached. */
  lastStageAt: number | null;
  /** Timestep (end of the update) at which each stage was first seen, `[stage 0 = 0, ...]`. */
  stageStarts: number[];
  /**
   * First timestep (end of an update) at which the task's own success rate (last 50 training
   * episodes started from the task's range, stochastic policy) reached 50%; null if never.
   */
  taskSolvedAt: number | null;
  /** Success rate of the last 50 training episodes on the task at the end (0 if never reached). */
  taskSuccessRate: number;
  meanReturn: number;
  wallSeconds: number;
}

/** Train one arm with one seed and evaluate it on the unchanged task. */
export async function runArm(
  arm: "direct" | "curriculum",
  seed: number,
  steps: number,
  episodes: number,
  threshold = CURRICULUM_THRESHOLD,
): Promise<CurriculumRun> {
  const numEnvs = CURRICULUM_PPO.numEnvs ?? 1;
  const stages = arm === "direct" ? MOUNTAIN_CAR_STAGES.slice(-1) : MOUNTAIN_CAR_STAGES;
  const schedule = new CurriculumSchedule({ stages, threshold, window: 50 });
  const base = new SyncVectorEnv(
    Array.from({ length: numEnvs }, () => () => new Curriculum(make("MountainCar-v0"), schedule)),
    { autoresetMode: "same-step", seed },
  );
  const normalizer = new VectorNormalizeObservation(new VectorRecordEpisodeStatistics(base));
  const env: VectorEnv = normalizer;
  const model = new PPO(env, { ...CURRICULUM_PPO, seed });
  let lastStageAt: number | null = schedule.stage === stages.length - 1 ? 0 : null;
  const stageStarts = [0];
  let taskSolvedAt: number | null = null;
  const start = performance.now();
  await model.learn({
    totalTimesteps: steps,
    onUpdate: (stats) => {
      if (lastStageAt === null && schedule.stage === stages.length - 1) lastStageAt = stats["time/timesteps"];
      while (stageStarts.length <= schedule.stage) stageStarts.push(stats["time/timesteps"]);
      if (taskSolvedAt === null && schedule.onLastStageWithFullWindow && schedule.successRate >= 0.5)
        taskSolvedAt = stats["time/timesteps"];
    },
  });
  const wallSeconds = (performance.now() - start) / 1000;
  const meanReturn = await evaluateRun(model, "MountainCar-v0", seed, episodes, normalizer);
  env.close();
  const taskSuccessRate = schedule.stage === stages.length - 1 ? schedule.successRate : 0;
  return {
    arm,
    seed,
    steps,
    stage: schedule.stage,
    lastStageAt,
    stageStarts,
    taskSolvedAt,
    taskSuccessRate,
    meanReturn,
    wallSeconds,
  };
}

export async function run(options: BenchOptions): Promise<void> {
  const seeds = process.env.PROXIMAL_BENCH_SEEDS
    ? process.env.PROXIMAL_BENCH_SEEDS.split(",").map(Number)
    : options.quick
      ? [10]
      : [10, 11, 12];
  const steps = options.quick ? BUDGET / 10 : BUDGET;
  const runs: CurriculumRun[] = [];
  for (const seed of seeds) {
    for (const arm of ["direct", "curriculum"] as const) {
      const result = await runArm(arm, seed, steps, options.quick ? 5 : 20);
      runs.push(result);
      if (!options.json) {
        console.error(
          `${arm} seed ${seed}: eval ${result.meanReturn.toFixed(1)} in ${result.wallSeconds.toFixed(1)} s`,
        );
      }
    }
  }
  if (options.json) {
    console.log(JSON.stringify({ runs }));
    return;
  }
  printTable(
    runs.map((r) => ({
      arm: r.arm,
      seed: r.seed,
      steps: r.steps,
      stage: r.stage,
      lastStageAt: r.lastStageAt ?? "never",
      taskSolvedAt: r.taskSolvedAt ?? "never",
      taskSuccessRate: r.taskSuccessRate,
      wallSeconds: r.wallSeconds,
      meanReturn: r.meanReturn,
    })),
  );
}
