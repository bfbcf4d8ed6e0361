/**
 * Hyperparameter presets: YAML files under `presets/<algorithm>/<name>.yaml` (shipped with the
 * package) that map env ids to algorithm options, so published configurations carry over
 * one-to-one: `rlzoo` (RL Baselines3 Zoo's `hyperparams/ppo.yml`), `cleanrl` (CleanRL's `ppo.py`
 * and `ppo_continuous_action.py` defaults) and `fast` (ours, tuned for wall-clock time).
 *
 * A file maps each env id to `{ source, options }`. `options` uses the algorithm's own camelCase
 * option names, plus `totalTimesteps` (or `totalEpisodes`, for the tabular algorithms) and `normalize` (`{ observation, reward, clipObservation?,
 * clipReward? }`, RL Zoo's `normalize: true`, i.e. SB3's VecNormalize), which are not algorithm
 * options and come back separately. Schedules may be written as RL Zoo strings (`lin_1e-3`, a
 * linear anneal from 1e-3 to 0) or as {@link ScheduleSpec} objects. Unknown keys are rejected with
 * the closest valid name. Reading the shipped presets/ folder or a file needs Node (see nodeBuiltin.ts);
 * parsePresetText works anywhere.
 *
 * @example
 * const { options, totalTimesteps, normalize } = await loadPreset("rlzoo", "CartPole-v1");
 * const model = new PPO("CartPole-v1", options);
 * await model.learn({ totalTimesteps: totalTimesteps ?? 100_000 });
 */
import type * as Url from "node:url";
import { didYouMean, ProximalError } from "../errors.js";
import { isFileNotFound } from "../io/fileErrors.js";
import { nodeFiles, requireNodeBuiltin } from "../nodeBuiltin.js";
import type { ScheduleSpec } from "./common/scheduleSpec.js";
import { resolveSchedule } from "./common/scheduleSpec.js";

/** Observation/reward normalisation a preset asks for (wrap the vector env before training). */
export interface NormalizeSpec {
  /** Normalise observations with running statistics (VectorNormalizeObservation). */
  observation: boolean;
  /** Scale rewards by the running std of the discounted return (VectorNormalizeReward, gamma = the algorithm's). */
  reward: boolean;
  /** Clip normalised observations to ±this (VecNormalize's `clip_obs`, 10 in SB3). */
  clipObservation?: number;
  /** Clip normalised rewards to ±this (VecNormalize's `clip_reward`, 10 in SB3). */
  clipReward?: number;
}

/** One env's entry of a preset, resolved. */
export interface Preset {
  /** Preset name (`rlzoo`) or the file path it was read from. */
  preset: string;
  /** Algorithm the options are for (`PPO`). */
  algorithm: string;
  envId: string;
  /** Where the numbers come from (the entry's `source`). */
  source: string | null;
  /** Options for the algorithm's constructor (e.g. `PPOOptions`), schedules as {@link ScheduleSpec}s. */
  options: Record<string, unknown>;
  /** Training budget the preset was published with, or null when it gives none. */
  totalTimesteps: number | null;
  /** Training budget in episodes (the tabular algorithms' `learn({ totalEpisodes })`), or null. */
  totalEpisodes: number | null;
  /** Normalisation wrappers to add, or null for none. */
  normalize: NormalizeSpec | null;
}

/** Option names every on-policy algorithm accepts (`OnPolicyOptions`). */
const ON_POLICY_OPTION_NAMES = [
  "learningRate",
  "nSteps",
  "gamma",
  "gaeLambda",
  "entCoef",
  "vfCoef",
  "maxGradNorm",
  "normalizeAdvantage",
  "policy",
  "seed",
  "numEnvs",
  "statsWindowSize",
  "intrinsicReward",
] as const;

/** Option names every off-policy algorithm accepts (`OffPolicyOptions`). */
const OFF_POLICY_OPTION_NAMES = [
  "learningRate",
  "bufferSize",
  "learningStarts",
  "batchSize",
  "tau",
  "gamma",
  "trainFreq",
  "gradientSteps",
  "nStep",
  "prioritized",
  "priorityAlpha",
  "priorityBeta",
  "saveReplayBuffer",
  "policy",
  "seed",
  "numEnvs",
  "statsWindowSize",
  "intrinsicReward",
] as const;

/** Option names of the tabular algorithms (`TabularOptions`: QLearning, Sarsa, ExpectedSarsa). */
const TABULAR_OPTION_NAMES = [
  "learningRate",
  "gamma",
  "explorationInitialEps",
  "explorationFinalEps",
  "explorationFraction",
  "initialQ",
  "seed",
  "statsWindowSize",
] as const;

/** Options of the deep Q-network family (DQN, Rainbow; `DeepQOptions`). */
const DQN_FAMILY_OPTION_NAMES = [
  ...OFF_POLICY_OPTION_NAMES,
  "targetUpdateInterval",
  "explorationFraction",
  "explorationInitialEps",
  "explorationFinalEps",
  "maxGradNorm",
  "double",
  "dueling",
  "noisy",
  "noisySigma0",
  "distributional",
  "quantile",
  "adamEps",
] as const;

/** PPO's options (`PPOOptions`), also GAIL's inner PPO's. */
const PPO_OPTION_NAMES = [
  ...ON_POLICY_OPTION_NAMES,
  "batchSize",
  "nEpochs",
  "clipRange",
  "clipRangeVf",
  "targetKl",
  "objective",
  "klCoef",
  "klTarget",
] as const;

/** Options DDPG and TD3 share (`DeterministicActorCriticOptions`). */
const DDPG_OPTION_NAMES = [...OFF_POLICY_OPTION_NAMES, "actionNoise"] as const;

/** Option names per algorithm (upper-case, as `algorithmName`); see {@link registerPresetOptions}. */
const optionNames: Record<string, readonly string[]> = {
  PPO: PPO_OPTION_NAMES,
  A2C: [...ON_POLICY_OPTION_NAMES, "useRmsProp", "rmsPropAlpha", "rmsPropEps", "rmsPropTfLike"],
  // ActorCriticOptions: the on-policy names but gaeLambda and normalizeAdvantage, plus its switches
  ACTORCRITIC: [
    ...ON_POLICY_OPTION_NAMES.filter((name) => name !== "gaeLambda" && name !== "normalizeAdvantage"),
    "baseline",
    "sarsaSteps",
    "targetUpdateInterval",
    "tau",
    "criticLearningRate",
    "criticUpdates",
  ],
  DQN: DQN_FAMILY_OPTION_NAMES,
  RAINBOW: DQN_FAMILY_OPTION_NAMES,
  DDPG: DDPG_OPTION_NAMES,
  TD3: [...DDPG_OPTION_NAMES, "policyDelay", "targetPolicyNoise", "targetNoiseClip"],
  SAC: [...OFF_POLICY_OPTION_NAMES, "entCoef", "targetEntropy", "targetUpdateInterval"],
  D4PG: [
    ...OFF_POLICY_OPTION_NAMES,
    "actionNoise",
    "atoms",
    "vMin",
    "vMax",
    "numActors",
    "actorUpdateInterval",
    "targetUpdateInterval",
    "actorEnvModule",
  ],
  // ApexDQNOptions: the DQN family's without the options it refuses (noisy nets, QR-DQN) and
  // gradientSteps (its replay ratio is trainFreq), plus the actors'; not `distributed`, `runId` or
  // `idleTimeoutSeconds`, which belong to a deployment, not to a tuning
  APEXDQN: [
    ...DQN_FAMILY_OPTION_NAMES.filter(
      (name) => !["noisy", "noisySigma0", "quantile", "gradientSteps"].includes(name),
    ),
    "numActors",
    "actorEpsilon",
    "actorEpsilonAlpha",
    "publishInterval",
    "stepsPerMessage",
    "maxPolicyLag",
  ],
  // IMPALAOptions: the on-policy names but GAE's and intrinsicReward (V-trace gives the targets),
  // plus its own (deployment options left out, as for ApexDQN)
  IMPALA: [
    ...ON_POLICY_OPTION_NAMES.filter((name) => name !== "gaeLambda" && name !== "intrinsicReward"),
    "numActors",
    "batchSize",
    "rhoBar",
    "cBar",
    "vtraceLambda",
    "maxPolicyLag",
    "rmsPropAlpha",
    "rmsPropEps",
    "rewardScale",
    "rewardClip",
    "replayBatch",
    "replayCapacity",
  ],
  // GAILOptions: PPO's (its inner RL step), then the discriminator's
  GAIL: [
    ...PPO_OPTION_NAMES,
    "discriminatorLearningRate",
    "discriminatorUpdates",
    "discriminatorBatchSize",
    "discriminator",
    "rewardType",
  ],
  QLEARNING: TABULAR_OPTION_NAMES,
  SARSA: TABULAR_OPTION_NAMES,
  EXPECTEDSARSA: TABULAR_OPTION_NAMES,
};

/** Keys of `options` that are not algorithm options. */
const PRESET_ONLY_KEYS = ["totalTimesteps", "totalEpisodes", "normalize"] as const;
const ENTRY_KEYS = ["source", "options", "notes"] as const;
const POLICY_KEYS = ["netArch", "activation", "shareTrunk", "orthoInit", "logStdInit"] as const;
const NORMALIZE_KEYS = ["observation", "reward", "clipObservation", "clipReward"] as const;
/** Options that accept a schedule (RL Zoo `lin_X` strings are converted for these). */
const SCHEDULE_KEYS = new Set(["learningRate", "clipRange", "clipRangeVf", "criticLearningRate"]);
/** Options that must be positive integers. */
const INTEGER_KEYS = new Set([
  "numEnvs",
  "nSteps",
  "batchSize",
  "nEpochs",
  "totalTimesteps",
  "totalEpisodes",
  "statsWindowSize",
  "bufferSize",
  "trainFreq",
  "targetUpdateInterval",
  "nStep",
  "sarsaSteps",
  "criticUpdates",
  "atoms",
  "actorUpdateInterval",
]);

/**
 * Declare the option names of an algorithm so its presets can be validated (each algorithm file
 * may call this once; PPO's are built in). `names` are added to the shared on-policy names.
 */
export function registerPresetOptions(algorithm: string, names: readonly string[]): void {
  optionNames[algorithm.toUpperCase()] = [...ON_POLICY_OPTION_NAMES, ...names];
}

/** The option names presets of `algorithm` may use (algorithm options plus `totalTimesteps`, `normalize`). */
export function presetOptionNames(algorithm: string): string[] {
  const names = optionNames[algorithm.toUpperCase()];
  if (names === undefined) {
    const known = Object.keys(optionNames);
    throw new ProximalError(
      "UNKNOWN_NAME",
      `No preset option names are known for algorithm "${algorithm}".${didYouMean(algorithm, known)} Known: ${known.join(", ")}.`,
    );
  }
  return [...names, ...PRESET_ONLY_KEYS];
}

/**
 * RL Zoo's schedule strings as a {@link ScheduleSpec}: `lin_1e-3` → `{ schedule: "linear",
 * initial: 1e-3 }` (rl_zoo3 `linear_schedule`: from the value to 0 as progress remaining goes
 * 1 → 0). Numbers and spec objects pass through; numeric strings become numbers.
 */
export function parseScheduleValue(value: unknown, name: string): number | ScheduleSpec {
  if (typeof value === "string") {
    const match = /^lin_(.+)$/.exec(value.trim());
    const number = Number(match === null ? value : match[1]);
    if (value.trim() !== "" && Number.isFinite(number)) {
      return match === null ? number : { schedule: "linear", initial: number };
    }
    throw new ProximalError(
      "INVALID_OPTION",
      `${name}: cannot read "${value}" as a number or an RL Zoo schedule. Write a number, "lin_<initial>" (e.g. lin_1e-3), or { schedule: linear, initial: 1e-3 }.`,
    );
  }
  // resolveSchedule throws INVALID_OPTION, with the accepted forms, for anything else
  resolveSchedule(value as number | ScheduleSpec, name);
  return value as number | ScheduleSpec;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeys(
  object: Record<string, unknown>,
  valid: readonly string[],
  where: string,
  file: string,
): void {
  for (const key of Object.keys(object)) {
    if (!valid.includes(key)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${file}: unknown key "${key}" in ${where}.${didYouMean(key, valid)} Valid keys: ${valid.join(", ")}.`,
      );
    }
  }
}

/**
 * Validate and resolve every entry of a preset file's text. `label` names the file in errors.
 * @throws ProximalError `MALFORMED_FILE` for YAML that is not a map of entries, `INVALID_OPTION`
 * for unknown keys (with the closest valid name) and bad values.
 */
export async function parsePresetText(
  text: string,
  label: string,
  algorithm: string,
): Promise<Record<string, Preset>> {
  const { parse } = await import("yaml");
  let document: unknown;
  try {
    // merge keys (`<<: *defaults`) as in RL Zoo's files
    document = parse(text, { merge: true });
  } catch (error) {
    throw new ProximalError("MALFORMED_FILE", `${label} is not valid YAML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!isRecord(document)) {
    throw new ProximalError("MALFORMED_FILE", `${label} must map env ids to { source, options } entries.`);
  }
  const algorithmName = algorithm.toUpperCase();
  const validOptions = presetOptionNames(algorithmName);
  const out: Record<string, Preset> = {};
  for (const [envId, entry] of Object.entries(document)) {
    if (!isRecord(entry)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${label}: the entry of ${envId} must be a map with options.`,
      );
    }
    checkKeys(entry, ENTRY_KEYS, `the entry of ${envId}`, label);
    const rawOptions = entry.options ?? {};
    if (!isRecord(rawOptions)) {
      throw new ProximalError("MALFORMED_FILE", `${label}: ${envId}.options must be a map.`);
    }
    checkKeys(rawOptions, validOptions, `${envId}.options`, label);
    const options: Record<string, unknown> = {};
    let totalTimesteps: number | null = null;
    let totalEpisodes: number | null = null;
    let normalize: NormalizeSpec | null = null;
    for (const [key, value] of Object.entries(rawOptions)) {
      const where = `${label}: ${envId}.options.${key}`;
      if (INTEGER_KEYS.has(key) && !(Number.isInteger(value) && (value as number) > 0)) {
        throw new ProximalError(
          "INVALID_OPTION",
          `${where} must be a positive integer, got ${JSON.stringify(value)}.`,
        );
      }
      if (key === "totalTimesteps") {
        totalTimesteps = value as number;
      } else if (key === "totalEpisodes") {
        totalEpisodes = value as number;
      } else if (key === "normalize") {
        normalize = readNormalize(value, where, label);
      } else if (key === "policy") {
        if (!isRecord(value)) throw new ProximalError("INVALID_OPTION", `${where} must be a map.`);
        checkKeys(value, POLICY_KEYS, `${envId}.options.policy`, label);
        options.policy = { ...value };
      } else if (SCHEDULE_KEYS.has(key) && value !== null) {
        options[key] = parseScheduleValue(value, where);
      } else {
        options[key] = value;
      }
    }
    out[envId] = {
      preset: label,
      algorithm: algorithmName,
      envId,
      source: typeof entry.source === "string" ? entry.source : null,
      options,
      totalTimesteps,
      totalEpisodes,
      normalize,
    };
  }
  return out;
}

function readNormalize(value: unknown, where: string, label: string): NormalizeSpec | null {
  if (value === false || value === null) return null;
  if (value === true) return { observation: true, reward: true };
  if (!isRecord(value)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${where} must be true, false or { observation, reward, clipObservation?, clipReward? }.`,
    );
  }
  checkKeys(value, NORMALIZE_KEYS, where.slice(label.length + 2), label);
  const spec: NormalizeSpec = { observation: value.observation === true, reward: value.reward === true };
  for (const key of ["clipObservation", "clipReward"] as const) {
    if (value[key] === undefined) continue;
    if (!(typeof value[key] === "number" && value[key] > 0)) {
      throw new ProximalError("INVALID_OPTION", `${where}.${key} must be a positive number.`);
    }
    spec[key] = value[key];
  }
  return spec.observation || spec.reward ? spec : null;
}

/** What to do in a browser, where the shipped presets/ folder cannot be read. */
const BROWSER_PRESETS =
  "In a browser, load the preset's YAML text yourself (fetch, or a bundler's ?raw import) and pass it to parsePresetText(text, name, algorithm).";

/** The `presets/` directory shipped with the package (dist/rl/presets.js → ../../presets). */
export async function presetsDirectory(): Promise<string> {
  const { fileURLToPath } = requireNodeBuiltin<typeof Url>("node:url", "Reading presets", BROWSER_PRESETS);
  return fileURLToPath(new URL("../../presets/", import.meta.url));
}

/** Preset names available for an algorithm (the YAML files in `presets/<algorithm>/`). */
export async function listPresets(algorithm = "PPO"): Promise<string[]> {
  const {
    fs: { readdir },
    path: { join },
  } = nodeFiles("Listing presets", BROWSER_PRESETS);
  const directory = join(await presetsDirectory(), algorithm.toLowerCase());
  let files: string[];
  try {
    files = await readdir(directory);
  } catch (error) {
    // no presets/<algorithm>/ folder: the algorithm has no presets; anything else is an error
    if (isFileNotFound(error)) return [];
    throw error;
  }
  return files
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .map((f) => f.replace(/\.ya?ml$/, ""))
    .sort();
}

/**
 * Every entry of a preset: a shipped name (`rlzoo`, `cleanrl`, `fast`) or a path to a YAML file.
 * @throws ProximalError `UNKNOWN_NAME` for an unknown preset name (with the available ones).
 */
export async function loadPresetFile(preset: string, algorithm = "PPO"): Promise<Record<string, Preset>> {
  const { text, source } = await readPresetText(
    preset,
    algorithm.toLowerCase(),
    algorithm.toUpperCase(),
    () => listPresets(algorithm),
  );
  return parsePresetText(text, source, algorithm);
}

/**
 * The text of a shipped preset (`presets/<folder>/<name>.yaml`) or of a YAML file given by path, and
 * the name to use in messages. Shared by the RL presets and the GRPO-family presets.
 * @throws ProximalError `UNKNOWN_NAME` for an unknown name (with the available ones, from `known`),
 *   `MALFORMED_FILE` for an unreadable path.
 */
export async function readPresetText(
  preset: string,
  folder: string,
  label: string,
  known: () => Promise<string[]>,
): Promise<{ text: string; source: string }> {
  const {
    fs: { readFile },
    path: { join },
  } = nodeFiles(`Reading the ${label} preset "${preset}"`, BROWSER_PRESETS);
  const isPath = /\.ya?ml$/.test(preset) || preset.includes("/") || preset.includes("\\");
  const file = isPath ? preset : join(await presetsDirectory(), folder, `${preset}.yaml`);
  try {
    return { text: await readFile(file, "utf8"), source: isPath ? file : preset };
  } catch (error) {
    if (isPath) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `Cannot read the preset file ${file}: ${(error as Error).message}.`,
        {
          cause: error,
        },
      );
    }
    const names = await known();
    throw new ProximalError(
      "UNKNOWN_NAME",
      `No ${label} preset named "${preset}".${didYouMean(preset, names)} Available: ${names.join(", ") || "(none)"}; or pass a path to a .yaml file.`,
      { cause: error },
    );
  }
}

/**
 * One env's entry of a preset, validated, with RL Zoo schedule strings converted.
 * @throws ProximalError `UNKNOWN_ENV` when the preset has no entry for `envId` (with the ids it has).
 */
export async function loadPreset(preset: string, envId: string, algorithm = "PPO"): Promise<Preset> {
  const entries = await loadPresetFile(preset, algorithm);
  const found = entries[envId];
  if (found === undefined) {
    const ids = Object.keys(entries);
    throw new ProximalError(
      "UNKNOWN_ENV",
      `The ${algorithm.toUpperCase()} preset "${preset}" has no entry for ${envId}.${didYouMean(envId, ids)} It covers: ${ids.join(", ")}.`,
    );
  }
  return found;
}
