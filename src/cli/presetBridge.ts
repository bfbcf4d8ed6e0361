/**
 * The CLI's view of `src/rl/presets.ts` (the YAML presets under `presets/<algo>/`): which preset is
 * the default for an (algorithm, env) pair, and one env's entry of a named preset.
 */
import type { NormalizeSpec, Preset } from "../rl/presets.js";
import { listPresets, loadPreset, loadPresetFile } from "../rl/presets.js";
import { ALGORITHMS } from "./algorithms.js";

export type { NormalizeSpec, Preset };

/** Shipped presets in order of preference for the default: published tunings first. */
const DEFAULT_ORDER = ["rlzoo", "cleanrl", "fast"];

/**
 * The `presets/<folder>/` of a CLI algorithm name: its class name, lower-cased by `presets.ts`
 * (`expected-sarsa` → `ExpectedSarsa` → `presets/expectedsarsa/`).
 */
function presetFolder(algo: string): string {
  return ALGORITHMS[algo]?.className ?? algo;
}

/** The shipped preset `train` uses when `--preset` is not given, or null when none covers the env. */
export async function defaultPresetFor(algo: string, envId: string): Promise<string | null> {
  const available = await listPresets(presetFolder(algo));
  const ordered = [...DEFAULT_ORDER.filter((p) => available.includes(p)), ...available];
  for (const name of ordered) {
    const entries = await loadPresetFile(name, presetFolder(algo));
    if (entries[envId] !== undefined) return name;
  }
  return null;
}

/** Every shipped preset of `algo` with the env ids it covers. */
export async function presetCoverage(algo: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of await listPresets(presetFolder(algo)))
    out[name] = Object.keys(await loadPresetFile(name, presetFolder(algo)));
  return out;
}

/** One env's entry of a named preset (or a YAML file path). */
export function loadPresetEntry(preset: string, envId: string, algo: string): Promise<Preset> {
  return loadPreset(preset, envId, presetFolder(algo));
}
