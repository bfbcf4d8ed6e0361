/**
 * Demonstrations on disk: `demonstrations.safetensors` (the arrays, under Minari's field names) and
 * `demonstrations.json` (env id, spaces, source model, returns, seeds), kept where models are kept
 * (`modelFiles.ts`): a directory path in Node (each file written atomically), or any `ModelFiles`
 * (an archive, IndexedDB) in a browser. An existing dataset is only replaced with `force`.
 * docs/demonstrations.md maps the files to Minari and gives the Python to convert them.
 */
import type { Env } from "../../envs/env.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space, SpaceDescription } from "../../envs/spaces/space.js";
import { spaceFromJSON } from "../../envs/spaces/spaceFromJSON.js";
import { ProximalError } from "../../errors.js";
import type { ModelSource, ModelTarget } from "../../io/modelFiles.js";
import { modelFiles } from "../../io/modelFiles.js";
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
  target: ModelTarget,
  demos: Demonstrations,
  options: SaveDemonstrationsOptions = {},
): Promise<void> {
  const files = await modelFiles(target);
  if (options.force !== true && (await files.read(DEMONSTRATIONS_METADATA_FILE)) !== undefined) {
    throw new ProximalError(
      "FILE_EXISTS",
      `${files.description} already holds demonstrations (${DEMONSTRATIONS_METADATA_FILE}). Pass --force (force: true) to replace them, or choose another --out.`,
    );
  }
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
  await files.write(DEMONSTRATIONS_FILE, writeSafetensors(tensors, { format: FORMAT }));
  const metadata = {
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
  };
  await files.write(
    DEMONSTRATIONS_METADATA_FILE,
    new TextEncoder().encode(`${JSON.stringify(metadata, null, 2)}\n`),
  );
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
  source: ModelSource,
  options: LoadDemonstrationsOptions = {},
): Promise<Demonstrations> {
  const files = await modelFiles(source);
  const dir = files.description;
  const jsonBytes = await files.read(DEMONSTRATIONS_METADATA_FILE);
  const bytes = await files.read(DEMONSTRATIONS_FILE);
  if (jsonBytes === undefined || bytes === undefined) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `No demonstrations in ${dir}: expected ${DEMONSTRATIONS_METADATA_FILE} and ${DEMONSTRATIONS_FILE} there. Record some with \`proximal record <run> --episodes 10 --out <dir>\`.`,
    );
  }
  const metadataPath = `${dir}/${DEMONSTRATIONS_METADATA_FILE}`;
  const json = parseMetadata(new TextDecoder().decode(jsonBytes), metadataPath);
  const { tensors } = readSafetensors(bytes);
  const file = `${dir}/${DEMONSTRATIONS_FILE}`;
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
