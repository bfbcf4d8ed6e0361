// One `bench learning` configuration on chosen seeds, with deterministic evaluations at checkpoint
// budgets taken during training (issue 14's tuning and report runs, BENCHMARKS.md "Intrinsic
// rewards"). Each seed runs the bench's own `learnOnce` (same preset resolution, env wrappers and
// final 20-episode evaluation as a `bench learning` row); at the first update at or past each
// checkpoint, the policy is also evaluated with `evaluateRun` (20 episodes, seed 10000 + seed, the
// bench's own), so one long run gives the shorter budgets' figures as well. Evaluation does not
// touch the training run's random stream (greedy actions draw nothing), so the final result is the
// same as without checkpoints. CHECK_EPISODES=N adds an N-episode evaluation (seed 10500 + seed) at
// each checkpoint, for success rates, whose 20-episode grain is 0.05.
//
//   npm run build && node scripts/learningCheckpoints.mjs ALGO ENV PRESET STEPS SEEDS [OVERRIDES_JSON|-] [CHECKPOINTS]
//   node scripts/learningCheckpoints.mjs PPO MountainCar-v0 icm 600000 0,1,2 '{"intrinsicReward":{"coef":300}}' 200000,300000
//
// Prints JSON lines: progress every 20k steps, `CHECK {...}` per checkpoint, `RESULT {...}` per seed
// (a `LearningRun`, as `bench learning --json` prints it).
import { evaluateRun, learnOnce, resolveBenchConfig } from "../dist/bench/learningBench.js";
import { VectorNormalizeObservation } from "../dist/envs/vector/vectorNormalizeObservation.js";

const [algo, env, preset, steps, seeds, overrides, checkpoints] = process.argv.slice(2);
if (seeds === undefined) {
  console.error(
    "usage: node scripts/learningCheckpoints.mjs ALGO ENV PRESET STEPS SEEDS [OVERRIDES_JSON|-] [CHECKPOINTS]",
  );
  process.exit(2);
}
const marks = (checkpoints ?? "")
  .split(",")
  .filter((s) => s !== "")
  .map(Number);
const spec = {
  algo,
  env,
  steps: Number(steps),
  preset: preset === "-" ? undefined : preset,
  overrides: overrides && overrides !== "-" ? JSON.parse(overrides) : undefined,
};
// the clip learnOnce's final evaluation uses with the training env's normaliser
const clip = (await resolveBenchConfig(spec)).normalize?.clipObservation;
const big = process.env.CHECK_EPISODES ? Number(process.env.CHECK_EPISODES) : 0;
for (const seed of seeds.split(",").map(Number)) {
  let last = 0;
  let next = 0;
  const result = await learnOnce(spec, seed, spec.steps, 20, async (s, model) => {
    const t = s["time/timesteps"];
    if (t - last >= 20000) {
      last = t;
      const progress = {
        seed,
        t,
        ret: s["rollout/episodeReturn"],
        len: s["rollout/episodeLength"],
        ri: s["intrinsic/rewardMean"],
        pl: s["intrinsic/predictorLoss"] ?? s["intrinsic/forwardLoss"],
        eps: s["rollout/explorationRate"],
        q: s["train/qValue"],
        qi: s["intrinsic/qValue"],
      };
      console.log(JSON.stringify(progress));
    }
    while (next < marks.length && t >= marks[next]) {
      // the frozen statistics of the training env's observation normaliser, as learnOnce's final evaluation
      const normalizer = model.env instanceof VectorNormalizeObservation ? model.env : null;
      const evalReturn = await evaluateRun(model, env, seed, 20, normalizer, clip);
      const evalBig = big > 0 ? await evaluateRun(model, env, seed + 500, big, normalizer, clip) : null;
      console.log(
        `CHECK ${JSON.stringify({ seed, mark: marks[next], t, eval: evalReturn, evalBig, train: s["rollout/episodeReturn"] })}`,
      );
      next++;
    }
  });
  console.log(`RESULT ${JSON.stringify(result)}`);
}
