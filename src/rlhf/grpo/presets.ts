/**
 * Named presets of {@link GRPOTrainer}, one YAML file per published method in `presets/grpo/`
 * (shipped with the package): `grpo`, `drgrpo`, `dapo`, `gspo`, `dcpo`, `rloo`, `reinforce++`. Each
 * file cites its paper next to every value and has two parts:
 * - `algorithm`: the method's choices (advantage estimator, ratio, clipping, aggregation, KL,
 *   sampling filters). Apply them at your own budget to switch method in one line.
 * - `paperScale`: the paper's sizes (learning rate, group size, batch, lengths), to reproduce it.
 *
 * Keys are {@link GRPOConfig} option names; unknown ones are rejected with the closest valid name,
 * and both `algorithm` alone and `{ ...paperScale, ...algorithm }` must pass {@link resolveGRPOConfig}.
 * Node only: the file system is imported lazily.
 *
 * @example
 * const dapo = await loadGRPOPreset("dapo");
 * const config: GRPOConfig = { ...dapo.algorithm, numGenerations: 8, maxCompletionLength: 8, overlongBuffer: 2 };
 */
import { didYouMean, ProximalError } from "../../errors.js";
import { nodeFiles } from "../../nodeBuiltin.js";
import { presetsDirectory, readPresetText } from "../../rl/presets.js";
import { GRPO_CONFIG_KEYS, type GRPOConfig, resolveGRPOConfig } from "./grpoConfig.js";

/** The presets shipped in `presets/grpo/`. */
export const GRPO_PRESET_NAMES = ["grpo", "drgrpo", "dapo", "gspo", "dcpo", "rloo", "reinforce++"] as const;

/** A GRPO-family preset, validated. */
export interface GRPOPreset {
  /** Preset name (`dapo`) or the file it was read from. */
  name: string;
  /** The paper(s) the values come from. */
  source: string;
  /** The method's choices, to apply at any budget. */
  algorithm: GRPOConfig;
  /** The paper's sizes (may be empty). */
  paperScale: GRPOConfig;
}

const ENTRY_KEYS = ["source", "algorithm", "paperScale"] as const;

/**
 * Parse and validate the text of a preset file (`name` is used in messages).
 * @throws ProximalError `MALFORMED_FILE` for a file of the wrong shape, `INVALID_OPTION` for an unknown
 *   option name or an invalid value.
 */
export async function parseGRPOPreset(text: string, name: string): Promise<GRPOPreset> {
  const { parse } = await import("yaml");
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new ProximalError("MALFORMED_FILE", `${name}: not valid YAML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${name}: a GRPO preset is a map with keys ${ENTRY_KEYS.join(", ")}.`,
    );
  }
  const entry = data as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!(ENTRY_KEYS as readonly string[]).includes(key)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${name}: unknown top-level key "${key}".${didYouMean(key, ENTRY_KEYS)} Valid keys: ${ENTRY_KEYS.join(", ")}.`,
      );
    }
  }
  if (typeof entry.source !== "string" || entry.source.trim() === "")
    throw new ProximalError("MALFORMED_FILE", `${name}: "source" must name the paper the values come from.`);
  const section = (key: "algorithm" | "paperScale"): GRPOConfig => {
    const value = entry[key] ?? {};
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new ProximalError("MALFORMED_FILE", `${name}: "${key}" must be a map of GRPOConfig options.`);
    for (const option of Object.keys(value)) {
      if (!GRPO_CONFIG_KEYS.includes(option)) {
        throw new ProximalError(
          "INVALID_OPTION",
          `${name}: unknown option "${option}" in ${key}.${didYouMean(option, GRPO_CONFIG_KEYS)}`,
        );
      }
    }
    return value as GRPOConfig;
  };
  const algorithm = section("algorithm");
  const paperScale = section("paperScale");
  for (const [what, config] of [
    ["algorithm", algorithm],
    ["paperScale + algorithm", { ...paperScale, ...algorithm }],
  ] as const) {
    try {
      resolveGRPOConfig(config);
    } catch (error) {
      throw new ProximalError("INVALID_OPTION", `${name} (${what}): ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return { name, source: entry.source, algorithm, paperScale };
}

/** Preset names in `presets/grpo/` (the YAML files). */
export async function listGRPOPresets(): Promise<string[]> {
  try {
    const {
      fs: { readdir },
      path: { join },
    } = nodeFiles("Listing GRPO presets", "In a browser, pass a preset's YAML text to parseGRPOPreset.");
    const files = await readdir(join(await presetsDirectory(), "grpo"));
    return files
      .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
      .map((f) => f.replace(/\.ya?ml$/, ""))
      .sort();
  } catch {
    return [];
  }
}

/**
 * A shipped preset by name (`dapo`) or a preset file by path.
 * @throws ProximalError `UNKNOWN_NAME` for an unknown name (with the available ones).
 */
export async function loadGRPOPreset(preset: string): Promise<GRPOPreset> {
  const { text, source } = await readPresetText(preset, "grpo", "GRPO", listGRPOPresets);
  return parseGRPOPreset(text, source);
}
