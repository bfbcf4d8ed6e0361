/**
 * Resolve a training configuration, in increasing priority: the algorithm's defaults, the preset
 * (`--preset`, default: the shipped preset for the algorithm and env when one exists), the
 * `--config` YAML file, the `--set key=value` overrides, then the dedicated flags (`--seed`,
 * `--num-envs`, `--total-timesteps`). Every key is checked against the algorithm's options
 * interface (see `optionSchema.ts`) and every value against its declared type before anything is
 * written; range checks are the algorithm constructor's, which {@link buildModel} runs.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { lookup } from "../envs/registry.js";
import { didYouMean, ProximalError } from "../errors.js";
import type { AlgorithmClass } from "./algorithms.js";
import { ALGORITHMS, loadAlgorithmClass } from "./algorithms.js";
import type { OptionSpec } from "./optionSchema.js";
import { coerceOption, optionSpecs } from "./optionSchema.js";
import type { NormalizeSpec } from "./presetBridge.js";
import { defaultPresetFor, loadPresetEntry } from "./presetBridge.js";

/** Keys a `--config` file may hold besides the algorithm's options. */
const RUN_KEYS = ["totalTimesteps", "totalEpisodes", "normalize"] as const;

/** Budget when neither a preset, a config file nor `--total-timesteps` gives one. */
export const DEFAULT_TOTAL_TIMESTEPS = 100_000;

/** What `train` was asked for on the command line. */
export interface TrainRequest {
  algo: string;
  envId: string;
  preset?: string;
  configFile?: string;
  sets: string[];
  seed?: number;
  numEnvs?: number;
  totalTimesteps?: number;
  /** Options given by their own flags (`--demos`, `--expert`), keyed by option name, with the flag. */
  flagOptions?: Record<string, { value: unknown; flag: string }>;
}

/** A fully resolved run configuration, as written to `config.json`. */
export interface RunConfig {
  algo: string;
  envId: string;
  seed: number;
  numEnvs: number;
  /**
   * The planned budget in timesteps; for a run budgeted in episodes ({@link totalEpisodes}) it is
   * only the unit-less fallback the older fields expect and is not used.
   */
  totalTimesteps: number;
  /**
   * The planned budget in episodes, or null for a timestep budget. Only tabular algorithms accept
   * it (their presets give it: `totalEpisodes`); a later `totalTimesteps` (config file, `--set`,
   * `--total-timesteps`) replaces it, and a later `totalEpisodes` replaces a timestep budget.
   */
  totalEpisodes: number | null;
  preset: string | null;
  presetSource: string | null;
  normalize: NormalizeSpec | null;
  /** Options as given (preset + config + --set + flags), passed to the constructor. */
  options: Record<string, unknown>;
}

/** Resolve and type-check a {@link TrainRequest}. Throws exit-code-2 errors naming the key and the fix. */
export async function resolveConfig(
  request: TrainRequest,
): Promise<{ config: RunConfig; cls: AlgorithmClass }> {
  const { name: algo, cls } = await loadAlgorithmClass(request.algo);
  lookup(request.envId); // UNKNOWN_ENV with the closest id
  const specs = await optionSpecs(`${ALGORITHMS[algo].className}Options`);

  let presetName = request.preset ?? null;
  if (presetName === null) presetName = await defaultPresetFor(algo, request.envId);
  const preset = presetName === null ? null : await loadPresetEntry(presetName, request.envId, algo);

  const options: Record<string, unknown> = {};
  let totalTimesteps: number | null = preset?.totalTimesteps ?? null;
  let totalEpisodes: number | null = preset?.totalEpisodes ?? null;
  // each budget given replaces the other: the one given last (in priority order) wins
  const setTimesteps = (value: number) => {
    totalTimesteps = value;
    totalEpisodes = null;
  };
  const setEpisodes = (value: number) => {
    totalEpisodes = value;
    totalTimesteps = null;
  };
  let normalize: NormalizeSpec | null = preset?.normalize ?? null;
  for (const [key, value] of Object.entries(preset?.options ?? {})) {
    options[key] = await checkOption(specs, key, value, `preset ${presetName}`, algo);
  }

  if (request.configFile !== undefined) {
    const file = await readConfigFile(request.configFile);
    for (const [key, value] of Object.entries(file)) {
      const source = request.configFile;
      if (key === "totalTimesteps") setTimesteps(checkTimesteps(value, `totalTimesteps (${source})`));
      else if (key === "totalEpisodes") setEpisodes(checkTimesteps(value, `totalEpisodes (${source})`));
      else if (key === "normalize") normalize = readNormalize(value, source);
      else options[key] = await checkOption(specs, key, value, source, algo);
    }
  }

  for (const assignment of request.sets) {
    const { path, value } = parseAssignment(assignment);
    const [key, ...rest] = path;
    if (key === "totalTimesteps" && rest.length === 0) {
      setTimesteps(checkTimesteps(value, "totalTimesteps (--set)"));
      continue;
    }
    if (key === "totalEpisodes" && rest.length === 0) {
      setEpisodes(checkTimesteps(value, "totalEpisodes (--set)"));
      continue;
    }
    if (key === "normalize" && rest.length === 0) {
      normalize = readNormalize(value, "--set");
      continue;
    }
    const nested = rest.length === 0 ? value : nest(options[key], rest, value);
    options[key] = await checkOption(specs, key, nested, "--set", algo);
  }

  for (const [key, { value, flag }] of Object.entries(request.flagOptions ?? {})) {
    options[key] = await checkOption(specs, key, value, flag, algo);
  }
  if (request.seed !== undefined) options.seed = request.seed;
  if (request.totalTimesteps !== undefined) setTimesteps(request.totalTimesteps);
  const seed = (options.seed as number | undefined) ?? 0;
  options.seed = seed;
  let numEnvs: number;
  if (ALGORITHMS[algo].tabular) {
    // a tabular algorithm steps one env and has no numEnvs option
    numEnvs = request.numEnvs ?? 1;
    if (numEnvs !== 1) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${algo} steps a single env (a tabular update is sequential, so it cannot use a vector env); drop --num-envs ${numEnvs}.`,
      );
    }
    if (normalize !== null) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${algo} reads Discrete states as table rows, so it cannot normalize observations or rewards; set normalize: false (--set normalize=false).`,
      );
    }
  } else {
    if (totalEpisodes !== null) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${algo} trains to a timestep budget; totalEpisodes is for the tabular algorithms (qlearning, sarsa, expected-sarsa). Use --total-timesteps N.`,
      );
    }
    if (request.numEnvs !== undefined) options.numEnvs = request.numEnvs;
    numEnvs = (options.numEnvs as number | undefined) ?? 1;
    options.numEnvs = numEnvs;
  }
  return {
    cls,
    config: {
      algo,
      envId: request.envId,
      seed,
      numEnvs,
      totalTimesteps: totalTimesteps ?? DEFAULT_TOTAL_TIMESTEPS,
      totalEpisodes,
      preset: presetName,
      presetSource: preset?.source ?? null,
      normalize,
      options,
    },
  };
}

async function checkOption(
  specs: Map<string, OptionSpec>,
  key: string,
  value: unknown,
  source: string,
  algo: string,
): Promise<unknown> {
  const spec = specs.get(key);
  if (spec === undefined) {
    const valid = [...specs.keys(), ...RUN_KEYS];
    throw new ProximalError(
      "INVALID_OPTION",
      `Unknown option "${key}" for ${algo} (${source}).${didYouMean(key, valid)} Options are camelCase, as in the TypeScript API; list them with \`proximal algos ${algo}\`.`,
    );
  }
  return coerceOption(spec, value, source);
}

/** A `--config` YAML file as a mapping; malformed YAML is `MALFORMED_FILE` (exit 2). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `Cannot read --config ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Check the path.`,
    );
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    const firstLine = (error as Error).message.split("\n")[0];
    throw new ProximalError(
      "MALFORMED_FILE",
      `--config ${path} is not valid YAML: ${firstLine}. Fix the file (a mapping like "learningRate: 3e-4").`,
    );
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `--config ${path} must be a YAML mapping of option names to values (like "learningRate: 3e-4"), got ${Array.isArray(document) ? "a list" : typeof document}.`,
    );
  }
  return document as Record<string, unknown>;
}

/** `key=value` or `a.b=value`; the value is read as YAML (`3e-4`, `true`, `[64, 64]`, `lin_1e-3`). */
export function parseAssignment(text: string): { path: string[]; value: unknown } {
  const eq = text.indexOf("=");
  if (eq <= 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--set expects key=value, got "${text}". Example: --set learningRate=3e-4.`,
    );
  }
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1).trim();
  let value: unknown;
  try {
    value = raw === "" ? null : parseYaml(raw);
  } catch {
    throw new ProximalError(
      "INVALID_OPTION",
      `--set ${key}: cannot read the value "${raw}". Write a number, true/false, a word, or a list like [64, 64].`,
    );
  }
  return { path: key.split("."), value };
}

function nest(existing: unknown, path: string[], value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> =
    typeof existing === "object" && existing !== null && !Array.isArray(existing)
      ? { ...(existing as Record<string, unknown>) }
      : {};
  const [head, ...rest] = path;
  out[head] = rest.length === 0 ? value : nest(out[head], rest, value);
  return out;
}

function checkTimesteps(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${where} must be a positive integer, got ${JSON.stringify(value)}. Example: --total-timesteps 100000.`,
    );
  }
  return value;
}

function readNormalize(value: unknown, where: string): NormalizeSpec | null {
  if (value === false || value === null) return null;
  if (value === true) return { observation: true, reward: true };
  if (typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    const valid = ["observation", "reward", "clipObservation", "clipReward"];
    for (const key of Object.keys(v)) {
      if (!valid.includes(key)) {
        throw new ProximalError(
          "INVALID_OPTION",
          `Unknown key "normalize.${key}" (${where}).${didYouMean(key, valid)} normalize takes: ${valid.join(", ")}.`,
        );
      }
    }
    const spec: NormalizeSpec = { observation: v.observation === true, reward: v.reward === true };
    if (typeof v.clipObservation === "number") spec.clipObservation = v.clipObservation;
    if (typeof v.clipReward === "number") spec.clipReward = v.clipReward;
    return spec.observation || spec.reward ? spec : null;
  }
  throw new ProximalError(
    "INVALID_OPTION",
    `normalize (${where}) must be true, false or { observation, reward, clipObservation?, clipReward? }; got ${JSON.stringify(value)}.`,
  );
}
