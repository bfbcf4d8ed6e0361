import { ProximalError } from "../errors.js";
import { Tensor } from "../tensor/tensor.js";
import type { SafetensorEntry } from "./safetensors.js";
import { readSafetensors, writeSafetensors } from "./safetensors.js";

/**
 * A saved model directory: `model.safetensors` (every tensor: weights, optimizer moments) beside
 * `model.json` (what built them and everything else needed to resume). Both are written atomically
 * (temp file + rename), so an interrupted save never leaves a half-written file. Node only: the
 * file system is loaded lazily so that importing this module works in browsers.
 */
export interface Checkpoint {
  tensors: Record<string, Tensor>;
  json: Record<string, unknown>;
}

export const WEIGHTS_FILE = "model.safetensors";
export const METADATA_FILE = "model.json";

/** Write a checkpoint into `dir` (created if missing). */
export async function saveCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  const { mkdir } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const { writeFileAtomic } = await import("./atomicWrite.js");
  await mkdir(dir, { recursive: true });
  const entries: Record<string, SafetensorEntry> = {};
  for (const [name, t] of Object.entries(checkpoint.tensors)) {
    entries[name] =
      t.dtype === "int32"
        ? { dtype: "I32", shape: t.shape.slice(), data: t.data as Int32Array }
        : { dtype: "F32", shape: t.shape.slice(), data: t.data as Float32Array };
  }
  await writeFileAtomic(join(dir, WEIGHTS_FILE), writeSafetensors(entries, { format: "proximal" }));
  await writeFileAtomic(join(dir, METADATA_FILE), `${JSON.stringify(checkpoint.json, null, 2)}\n`);
}

/** Read a checkpoint written by `saveCheckpoint`, with clear errors for missing or malformed files. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const { readFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  let jsonText: string;
  let bytes: Uint8Array;
  try {
    jsonText = await readFile(join(dir, METADATA_FILE), "utf8");
    bytes = new Uint8Array(await readFile(join(dir, WEIGHTS_FILE)));
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `No saved model in ${dir}: expected ${METADATA_FILE} and ${WEIGHTS_FILE} there (${(error as Error).message}). Point to a directory written by model.save() or a run's model/ folder.`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(jsonText);
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${join(dir, METADATA_FILE)} is not valid JSON: ${(error as Error).message}.`,
      {
        cause: error,
      },
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ProximalError("MALFORMED_FILE", `${join(dir, METADATA_FILE)} must hold a JSON object.`);
  }
  const { tensors } = readSafetensors(bytes);
  const out: Record<string, Tensor> = {};
  for (const [name, entry] of Object.entries(tensors)) out[name] = new Tensor(entry.data, entry.shape);
  return { tensors: out, json: json as Record<string, unknown> };
}

/** Tensors under `prefix.` with the prefix removed. */
export function withPrefix(tensors: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const p = `${prefix}.`;
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith(p)) out[name.slice(p.length)] = t;
  return out;
}

/** Prefix every name with `prefix.`. */
export function addPrefix(tensors: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) out[`${prefix}.${name}`] = t;
  return out;
}
