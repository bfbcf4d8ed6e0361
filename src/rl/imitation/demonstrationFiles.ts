/**
 * Demonstrations on disk: `demonstrations.safetensors` (the arrays, under Minari's field names) and
 * `demonstrations.json` (env id, spaces, source model, returns, seeds). Both are written
 * atomically; an existing dataset is only replaced with `force`. Node only: the file system is
 * imported lazily, so this module can be imported in browsers. docs/demonstrations.md maps the
 * files to Minari and gives the Python to convert them.
 */
import type { Env } from "../../envs/env.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space, SpaceDescription } from "../../envs/spaces/space.js";
import { spaceFromJSON } from "../../envs/spaces/spaceFromJSON.js";
import { ProximalError } from "../../errors.js";
import type { SafetensorEntry } from "../../io/safetensors.js";
import { readSafetensors, writeSafetensors } from "../../io/safetensors.js";
import { VERSION } from "../../version.js";
import type { Demonstrations } from "./demonstrations.js";
import { actionWidthOf, checkDemonstrationSpaces, totalSteps } from "./demonstrations.js";

export const DEMONSTRATIONS_FILE = "demonstrations.safetensors";
export const DEMONSTRATIONS_METADATA_FILE = "demonstrations.json";
const FORMAT = "proximal-demonstrations";

/** Options of {@link saveDemonstrations}. */
export interface SaveDemonstrationsOptions {
  /** Replace a dataset already in the directory. @defaultValue false */
  force?: boolean;
}

/** Write `demos` into `dir` (created if missing). Refuses to replace a dataset unless `force`. */
export async function saveDemonstrations(
  dir: string,
  demos: Demonstrations,
  options: SaveDemonstrationsOptions = {},
): Promise<void> {
  const { mkdir, access } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const { writeFileAtomic, writeJsonAtomic } = await import("../../io/atomicWrite.js");
  const metadataPath = join(dir, DEMONSTRATIONS_METADATA_FILE);
  if (options.force !== true) {
    const exists = await access(metadataPath).then(
      () => true,
      () => false,
    );
    if (exists) {
      throw new ProximalError(
        "FILE_EXISTS",
        `${dir} already holds demonstrations (${DEMONSTRATIONS_METADATA_FILE}). Pass --force (force: true) to replace them, or choose another --out.`,
      );
    }
  }
  await mkdir(dir, { recursive: true });
  const steps = totalSteps(demos);
  const episodes = demos.episodeSteps.length;
  const obsSize = flatSize(demos.observationSpace);
  const width = actionWidthOf(demos);
  const actionsShape = demos.actions instanceof Int32Array && width === 1 ? [steps] : [steps, width];
  const tensors: Record<string, SafetensorEntry> = {
    observations: { dtype: "F32", shape: [steps + episodes, obsSize], data: demos.observations },
    actions: {
      dtype: demos.actions instanceof Float32Array ? "F32" : "I32",
      shape: actionsShape,
      data: demos.actions,
    },
    rewards: { dtype: "F32", shape: [steps], data: demos.rewards },
    // Minari stores booleans; safetensors here carries 0/1 as I32 (numpy: .astype(bool))
    terminations: { dtype: "I32", shape: [steps], data: Int32Array.from(demos.terminations) },
    truncations: { dtype: "I32", shape: [steps], data: Int32Array.from(demos.truncations) },
    episode_ids: { dtype: "I32", shape: [episodes], data: demos.episodeIds },
    episode_total_steps: { dtype: "I32", shape: [episodes], data: demos.episodeSteps },
  };
  // the arrays first: a dataset counts as present once its metadata exists
  await writeFileAtomic(join(dir, DEMONSTRATIONS_FILE), writeSafetensors(tensors, { format: FORMAT }));
  await writeJsonAtomic(metadataPath, {
    format: FORMAT,
    formatVersion: 1,
    proximalVersion: VERSION,
    envId: demos.envId,
    observationSpace: demos.observationSpace.toJSON(),
    actionSpace: demos.actionSpace.toJSON(),
    totalEpisodes: episodes,
    totalSteps: steps,
    seeds: demos.seeds,
    ...demos.metadata,
  });
}

/** Options of {@link loadDemonstrations}. */
export interface LoadDemonstrationsOptions {
  /** Check the dataset's spaces against this env's (`UNSUPPORTED_SPACE` on a mismatch). */
  env?: Pick<Env, "observationSpace" | "actionSpace">;
}

/**
 * Read a dataset written by {@link saveDemonstrations} (or converted from Minari as
 * docs/demonstrations.md shows), checking every array's shape against the metadata and, with
 * `env`, the spaces against the env's.
 */
export async function loadDemonstrations(
  dir: string,
  options: LoadDemonstrationsOptions = {},
): Promise<Demonstrations> {
  const { readFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  let jsonText: string;
  let bytes: Uint8Array;
  try {
    jsonText = await readFile(join(dir, DEMONSTRATIONS_METADATA_FILE), "utf8");
    bytes = new Uint8Array(await readFile(join(dir, DEMONSTRATIONS_FILE)));
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `No demonstrations in ${dir}: expected ${DEMONSTRATIONS_METADATA_FILE} and ${DEMONSTRATIONS_FILE} there (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Record some with \`proximal record <run> --episodes 10 --out ${dir}\`.`,
      { cause: error },
    );
  }
  const json = parseMetadata(jsonText, join(dir, DEMONSTRATIONS_METADATA_FILE));
  const { tensors } = readSafetensors(bytes);
  const file = join(dir, DEMONSTRATIONS_FILE);
  const metadataPath = join(dir, DEMONSTRATIONS_METADATA_FILE);
  const observationSpace = readSpace(json.observationSpace, "observationSpace", metadataPath);
  const actionSpace = readSpace(json.actionSpace, "actionSpace", metadataPath);
  const get = (name: string): SafetensorEntry => {
    const entry = tensors[name];
    if (entry === undefined) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${file} has no "${name}" tensor (it has ${Object.keys(tensors).join(", ")}). Re-record the dataset, or convert it as docs/demonstrations.md shows.`,
      );
    }
    return entry;
  };
  const episodeSteps = Int32Array.from(get("episode_total_steps").data);
  const episodes = episodeSteps.length;
  const steps = episodeSteps.reduce((a, b) => a + b, 0);
  const obsSize = flatSize(observationSpace);
  const expectLength = (name: string, entry: SafetensorEntry, length: number, what: string) => {
    if (entry.data.length !== length) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${file}: "${name}" has ${entry.data.length} values, but ${what} = ${length} (from episode_total_steps, ${episodes} episodes of ${steps} steps). The file is truncated or was written for another dataset; re-record it.`,
      );
    }
  };
  const observations = get("observations");
  expectLength("observations", observations, (steps + episodes) * obsSize, "(steps + episodes) × obsSize");
  const actions = get("actions");
  const width = steps === 0 ? 0 : actions.data.length / steps;
  if (!Number.isInteger(width) || width < 1) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${file}: "actions" has ${actions.data.length} values, not a whole number of rows for ${steps} steps. Re-record the dataset.`,
    );
  }
  const rewards = get("rewards");
  const terminations = get("terminations");
  const truncations = get("truncations");
  const episodeIds = get("episode_ids");
  expectLength("rewards", rewards, steps, "steps");
  expectLength("terminations", terminations, steps, "steps");
  expectLength("truncations", truncations, steps, "steps");
  expectLength("episode_ids", episodeIds, episodes, "episodes");
  const seeds = Array.isArray(json.seeds)
    ? (json.seeds as (number | null)[])
    : new Array<number | null>(episodes).fill(null);
  const {
    format: _f,
    formatVersion: _v,
    envId,
    observationSpace: _o,
    actionSpace: _a,
    seeds: _s,
    ...metadata
  } = json;
  const demos: Demonstrations = {
    envId: typeof envId === "string" ? envId : null,
    observationSpace,
    actionSpace,
    observations: Float32Array.from(observations.data),
    actions: actions.dtype === "F32" ? Float32Array.from(actions.data) : Int32Array.from(actions.data),
    rewards: Float32Array.from(rewards.data),
    terminations: Uint8Array.from(terminations.data, (v) => (v !== 0 ? 1 : 0)),
    truncations: Uint8Array.from(truncations.data, (v) => (v !== 0 ? 1 : 0)),
    episodeIds: Int32Array.from(episodeIds.data),
    episodeSteps,
    seeds,
    metadata,
  };
  if (options.env !== undefined) checkDemonstrationSpaces(demos, options.env);
  return demos;
}

function parseMetadata(text: string, path: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProximalError("MALFORMED_FILE", `${path} is not valid JSON: ${(error as Error).message}.`, {
      cause: error,
    });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ProximalError("MALFORMED_FILE", `${path} must hold a JSON object.`);
  }
  const record = json as Record<string, unknown>;
  if (record.format !== FORMAT) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${path} is not a demonstrations file (format ${JSON.stringify(record.format)}, expected "${FORMAT}"). Point --demos at a directory written by \`proximal record\`.`,
    );
  }
  return record;
}

function readSpace(description: unknown, key: string, metadataPath: string): Space {
  try {
    return spaceFromJSON(description as SpaceDescription);
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${metadataPath}: ${key} is not a space description (${(error as Error).message}). Re-record the dataset.`,
      { cause: error },
    );
  }
}
