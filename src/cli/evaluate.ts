/** `proximal eval <run-or-model-dir>`: mean and std of the return over N episodes. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { make } from "../envs/make.js";
import { flatSize } from "../envs/spaces/flatten.js";
import { ProximalError } from "../errors.js";
import { METADATA_FILE } from "../io/checkpoint.js";
import { Rng } from "../random/rng.js";
import type { Algorithm } from "../rl/common/algorithm.js";
import { evaluatePolicy } from "../rl/common/evaluation.js";
import { algorithmNameOf, loadAlgorithmClass } from "./algorithms.js";
import { readNormalization, resolveModelDir } from "./runDirectory.js";
import type { ObservationNormalization } from "./runEnv.js";
import { NORMALIZATION_FILE } from "./runEnv.js";

/** A saved model, ready to act: the model, its env id and its observation statistics. */
export interface LoadedModel {
  model: Algorithm;
  envId: string;
  modelDir: string;
  normalization: ObservationNormalization | null;
}

/** Load the model of a run or model directory (the final one, or `best`). */
export async function loadSavedModel(path: string, options: { best?: boolean } = {}): Promise<LoadedModel> {
  const modelDir = await resolveModelDir(path, options);
  const json = JSON.parse(await readFile(join(modelDir, METADATA_FILE), "utf8")) as Record<string, unknown>;
  const name = algorithmNameOf(String(json.algorithm));
  if (name === undefined) {
    throw new ProximalError(
      "UNKNOWN_NAME",
      `${modelDir} holds a ${String(json.algorithm)} model, which this CLI cannot load (see \`proximal algos\`).`,
    );
  }
  if (typeof json.envId !== "string") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${modelDir} was trained on an unregistered env; evaluate it from the API.`,
    );
  }
  const { cls } = await loadAlgorithmClass(name);
  // rebuilt on its saved env id and numEnvs (so its size checks pass); evaluation uses its own env
  const model = await cls.load(modelDir);
  const normalization = await readNormalization(modelDir);
  if (normalization !== null) {
    const probe = make(json.envId);
    const size = flatSize(probe.observationSpace);
    probe.close();
    if (normalization.statistics.mean.length !== size) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${join(modelDir, NORMALIZATION_FILE)} holds statistics for ${normalization.statistics.mean.length} observation values, but ${json.envId} observations have ${size}. Restore the file from a checkpoint of the run that trained this model.`,
      );
    }
  }
  return { model, envId: json.envId, modelDir, normalization };
}

export interface EvalFlags {
  episodes?: string;
  seed?: string;
  deterministic?: boolean;
  stochastic?: boolean;
  json?: boolean;
  best?: boolean;
}

/**
 * Whether `eval` and `enjoy` take the most likely action: yes by default, as SB3's
 * `evaluate_policy`, RL Zoo's `enjoy.py` and {@link evaluatePolicy} do; `--stochastic` samples.
 * `--deterministic` names the default and is accepted; passing both is an error (exit 2).
 */
export function deterministicFlag(flags: { deterministic?: boolean; stochastic?: boolean }): boolean {
  if (flags.deterministic === true && flags.stochastic === true) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "--deterministic and --stochastic contradict each other; drop one (actions are deterministic by default, --stochastic samples them).",
    );
  }
  return flags.stochastic !== true;
}

export async function evalCommand(path: string, flags: EvalFlags): Promise<number> {
  const episodes = integerFlag(flags.episodes, "--episodes", 1, 10);
  const seed = integerFlag(flags.seed, "--seed", Number.MIN_SAFE_INTEGER, 0);
  const deterministic = deterministicFlag(flags);
  const { model, envId, normalization } = await loadSavedModel(path, { best: flags.best });
  // sampled actions come from the model's generator: reseed it so the result depends only on --seed
  model.rng.setState(new Rng(seed).getState());
  const { withNormalization } = await import("./runEnv.js");
  const env = make(envId);
  const result = await evaluatePolicy(withNormalization(model, normalization), env, {
    episodes,
    seed,
    deterministic,
  });
  env.close();
  const summary = {
    meanReturn: result.meanReturn,
    stdReturn: result.stdReturn,
    meanLength: result.meanLength,
    episodes,
    deterministic,
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(
      `${envId}: mean return ${result.meanReturn.toFixed(2)} ± ${result.stdReturn.toFixed(2)} over ${episodes} episodes (mean length ${result.meanLength.toFixed(1)}, ${deterministic ? "deterministic" : "sampled"} actions, seed ${seed})\n`,
    );
  }
  return 0;
}

/** An integer flag (commander gives strings): `fallback` when absent, exit 2 when malformed. */
export function integerFlag(text: string | undefined, flag: string, min: number, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text.replace(/_/g, ""));
  if (!Number.isInteger(value) || value < min) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${flag} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ""}, got "${text}".`,
    );
  }
  return value;
}
