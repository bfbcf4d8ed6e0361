/**
 * `proximal record <run-or-model-dir> --episodes N --out <dir>`: run a trained policy and save its
 * episodes as demonstrations (`demonstrations.safetensors` + `demonstrations.json`, Minari's field
 * names; docs/demonstrations.md) for `proximal train bc|dagger|gail --demos <dir>`. Actions are
 * deterministic by default, as in `eval`; `--stochastic` samples them.
 */
import { make } from "../envs/make.js";
import { Rng } from "../random/rng.js";
import { saveDemonstrations } from "../rl/imitation/demonstrationFiles.js";
import { recordDemonstrations } from "../rl/imitation/demonstrations.js";
import { deterministicFlag, integerFlag, loadSavedModel } from "./evaluate.js";
import { checkOutDir } from "./outputDir.js";
import { withNormalization } from "./runEnv.js";

export interface RecordFlags {
  episodes?: string;
  seed?: string;
  deterministic?: boolean;
  stochastic?: boolean;
  best?: boolean;
  out?: string;
  force?: boolean;
  json?: boolean;
}

export async function recordCommand(path: string, flags: RecordFlags): Promise<number> {
  const episodes = integerFlag(flags.episodes, "--episodes", 1, 10);
  const seed = integerFlag(flags.seed, "--seed", Number.MIN_SAFE_INTEGER, 0);
  const deterministic = deterministicFlag(flags);
  const out = flags.out ?? "demonstrations";
  await checkOutDir(out, flags.force);
  const { model, envId, modelDir, normalization } = await loadSavedModel(path, { best: flags.best });
  // sampled actions come from the model's generator: reseed it so the episodes depend only on --seed
  model.rng.setState(new Rng(seed).getState());
  const env = make(envId);
  const demos = await recordDemonstrations(withNormalization(model, normalization), env, {
    episodes,
    seed,
    deterministic,
    sourceModel: modelDir,
  });
  env.close();
  await saveDemonstrations(out, demos, { force: flags.force });
  const summary = {
    out,
    envId,
    episodes,
    steps: demos.rewards.length,
    meanReturn: demos.metadata.meanReturn as number,
    deterministic,
    seed,
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `recorded ${episodes} episodes (${summary.steps} steps, mean return ${summary.meanReturn.toFixed(2)}) of ${envId} into ${out}\n`,
    );
  }
  return 0;
}
