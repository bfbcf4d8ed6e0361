// Expert labels against return for BC and DAgger (issue 14: "DAgger: the expert's return on
// LunarLander-v3 with fewer expert-labelled states than BC needs for it. Give the table.").
// BC is trained on 1, 2, 5, 10 and 20 expert episodes (its labels are their steps); DAgger is
// `bench learning`'s DAgger row, evaluated after every round (its labels so far). Everything else is
// `bench learning`'s: the same expert (PROXIMAL_BENCH_EXPERTS), demonstrations, evaluation episodes.
//
//   npm run build && PROXIMAL_BENCH_EXPERTS=<dir> node scripts/imitationLabelSweep.mjs LunarLander-v3 10,11,12
//
// Prints one JSON object: { env, seeds, bc: [{ seed, episodes, labels, meanReturn, expertReturn }],
// dagger: [{ seed, labels, meanReturn, curve }] }.
import { IMITATION_RUNS, imitateOnce } from "../dist/bench/imitationBench.js";

const env = process.argv[2] ?? "LunarLander-v3";
const seeds = (process.argv[3] ?? "10,11,12").split(",").map(Number);
// SWEEP_EPISODES=none runs DAgger only
const episodes = (process.env.SWEEP_EPISODES ?? "1,2,5,10,20")
  .split(",")
  .map(Number)
  .filter((n) => n > 0);
const bcRow = IMITATION_RUNS.find((r) => r.algo === "BC" && r.env === env);
const daggerRow = IMITATION_RUNS.find((r) => r.algo === "DAgger" && r.env === env);
const out = { env, seeds, bc: [], dagger: [] };
for (const seed of seeds) {
  for (const count of episodes) {
    const run = await imitateOnce({ ...bcRow, demoEpisodes: count }, seed, 20);
    out.bc.push({
      seed,
      episodes: count,
      labels: run.labels,
      meanReturn: run.meanReturn,
      expertReturn: run.expertReturn,
    });
    console.error(
      `BC ${env} seed ${seed}: ${count} episodes, ${run.labels} labels -> ${run.meanReturn?.toFixed(1)}`,
    );
  }
  if (daggerRow !== undefined) {
    const run = await imitateOnce(daggerRow, seed, 20, daggerRow.steps, 10);
    out.dagger.push({
      seed,
      labels: run.labels,
      meanReturn: run.meanReturn,
      expertReturn: run.expertReturn,
      curve: run.curve,
    });
    console.error(`DAgger ${env} seed ${seed}: ${run.labels} labels -> ${run.meanReturn?.toFixed(1)}`);
  }
}
console.log(JSON.stringify(out));
