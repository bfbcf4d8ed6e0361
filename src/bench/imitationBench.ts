/**
 * The imitation rows of `proximal bench learning` (issue 14, "Targets"): behaviour cloning, DAgger
 * and GAIL against a PPO expert. Each env's expert is PPO with the env's `rlzoo` preset at the
 * budget of its own `bench learning` row, seed 0, trained once per bench process (or loaded from
 * `PROXIMAL_BENCH_EXPERTS=<dir>/<env>/`, where a trained one is saved, so that repeated benches and
 * the BENCHMARKS figures share one expert). For every seed, the demonstrations are the expert's
 * deterministic episodes from reset seed `1000 + seed`; the expert is evaluated on the same 20
 * deterministic episodes as the imitator, so `meanReturn / expertReturn` is the ratio.
 */
import { make } from "../envs/make.js";
import type { UpdateStats } from "../rl/common/onPolicyAlgorithm.js";
import { BC } from "../rl/imitation/bc.js";
import { DAgger } from "../rl/imitation/dagger.js";
import { recordDemonstrations } from "../rl/imitation/demonstrations.js";
import { GAIL } from "../rl/imitation/gail.js";
import { PPO } from "../rl/ppo.js";
import type { LearningRun, RunSpec } from "./learningBench.js";
import { evaluateRun, resolveBenchConfig } from "./learningBench.js";

/** One imitation run: the algorithm, its env, the expert episodes it is given and its budget. */
export interface ImitationRunSpec {
  algo: "BC" | "DAgger" | "GAIL";
  env: string;
  /** Expert episodes recorded as demonstrations (DAgger: 0, it queries the expert instead). */
  demoEpisodes: number;
  /** BC: demonstration samples trained on; DAgger and GAIL: env steps. */
  steps: number;
  /** Options for the algorithm (GAIL: besides the PPO preset's). */
  options?: Record<string, unknown>;
}

/**
 * The runs, 3 seeds each. BC's budget is an upper bound (early stopping ends it sooner). DAgger's
 * 20 rounds of 500 steps give it up to 10k labels (BC's 10 LunarLander episodes are ~3k);
 * GAIL trains the PPO preset of the env at PPO's own budget.
 */
export const IMITATION_RUNS: ImitationRunSpec[] = [
  { algo: "BC", env: "CartPole-v1", demoEpisodes: 10, steps: 200_000 },
  { algo: "GAIL", env: "CartPole-v1", demoEpisodes: 4, steps: 100_000 },
  { algo: "BC", env: "LunarLander-v3", demoEpisodes: 10, steps: 500_000 },
  // tuned on seeds 0-2 (BENCHMARKS.md): 500-step rounds, each followed by 30 epochs over the aggregate
  {
    algo: "DAgger",
    env: "LunarLander-v3",
    demoEpisodes: 0,
    steps: 10_000,
    options: { rolloutSteps: 500, epochsPerRound: 30 },
  },
  // the discriminator sized to LunarLander's 16,384-step rollouts (chosen on seed 0, BENCHMARKS.md)
  {
    algo: "GAIL",
    env: "LunarLander-v3",
    demoEpisodes: 4,
    steps: 1_000_000,
    options: { discriminatorBatchSize: 512, discriminatorUpdates: 16 },
  },
];

/** PPO's `bench learning` budget per env, which its expert is trained to. */
const EXPERT_STEPS: Record<string, number> = { "CartPole-v1": 100_000, "LunarLander-v3": 1_000_000 };

const experts = new Map<string, Promise<PPO>>();

/** The env's PPO expert (see the module comment); trained once per process. */
export function expertFor(env: string): Promise<PPO> {
  let expert = experts.get(env);
  if (expert === undefined) {
    expert = trainOrLoadExpert(env);
    experts.set(env, expert);
  }
  return expert;
}

async function trainOrLoadExpert(env: string): Promise<PPO> {
  const dir = process.env.PROXIMAL_BENCH_EXPERTS;
  const { join } = await import("node:path");
  const { existsSync } = await import("node:fs");
  const saved = dir === undefined ? null : join(dir, env);
  if (saved !== null && existsSync(join(saved, "model.json"))) return PPO.load(saved);
  const spec: RunSpec = { algo: "PPO", env, steps: EXPERT_STEPS[env] ?? 100_000 };
  const { options } = await resolveBenchConfig(spec);
  const expert = new PPO(env, { ...options, seed: 0 });
  await expert.learn({ totalTimesteps: spec.steps });
  if (saved !== null) await expert.save(saved);
  return expert;
}

/** Train one imitation run with one seed and evaluate it and its expert on the same episodes. */
export async function imitateOnce(
  spec: ImitationRunSpec,
  seed: number,
  evalEpisodes: number,
  steps = spec.steps,
  curveEpisodes = 0,
): Promise<LearningRun & { curve?: { labels: number; meanReturn: number }[] }> {
  const base = { algo: spec.algo, env: spec.env, seed, steps };
  const expert = await expertFor(spec.env);
  try {
    const start = performance.now();
    const demos =
      spec.demoEpisodes === 0
        ? null
        : await recordDemonstrations(expert, make(spec.env), {
            episodes: spec.demoEpisodes,
            seed: 1000 + seed,
          });
    let trainReturn: number | null = null;
    let labels = demos === null ? 0 : demos.rewards.length;
    // with curveEpisodes, DAgger is evaluated after every round: return against labels so far
    const curve: { labels: number; meanReturn: number }[] = [];
    let model: BC | DAgger | GAIL | null = null;
    const onUpdate = async (stats: UpdateStats) => {
      trainReturn = stats["rollout/episodeReturn"] ?? trainReturn;
      labels = stats["dagger/expertLabels"] ?? labels;
      if (curveEpisodes > 0 && spec.algo === "DAgger" && model !== null) {
        curve.push({ labels, meanReturn: await evaluateRun(model, spec.env, seed, curveEpisodes, null) });
      }
    };
    let config: string;
    if (spec.algo === "BC") {
      model = new BC(spec.env, { ...spec.options, demonstrations: demos, seed });
      config = "defaults";
    } else if (spec.algo === "DAgger") {
      model = new DAgger(spec.env, { ...spec.options, expert, seed });
      config = "defaults + row options";
    } else {
      const ppo = await resolveBenchConfig({ algo: "PPO", env: spec.env, steps });
      model = new GAIL(spec.env, { ...ppo.options, ...spec.options, demonstrations: demos, seed });
      config = `ppo ${ppo.config}`;
    }
    await model.learn({ totalTimesteps: steps, onUpdate });
    const wallSeconds = (performance.now() - start) / 1000;
    const meanReturn = await evaluateRun(model, spec.env, seed, evalEpisodes, null);
    const expertReturn = await evaluateRun(expert, spec.env, seed, evalEpisodes, null);
    return {
      ...base,
      steps: model.numTimesteps,
      wallSeconds,
      meanReturn,
      trainReturn,
      config,
      status: "ok",
      expertReturn,
      labels: spec.algo === "GAIL" ? (demos?.rewards.length ?? 0) : labels,
      ...(curve.length > 0 ? { curve } : {}),
    };
  } catch (error) {
    return {
      ...base,
      wallSeconds: 0,
      meanReturn: null,
      trainReturn: null,
      config: "-",
      status: "failed",
      error: (error as Error).message,
    };
  }
}
