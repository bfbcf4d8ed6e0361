import { ProximalError } from "../errors.js";
import { Tensor } from "../tensor/tensor.js";
import type { ModelSource, ModelTarget } from "./modelFiles.js";
import { modelFiles } from "./modelFiles.js";
import type { SafetensorEntry } from "./safetensors.js";
import { readSafetensors, writeSafetensors } from "./safetensors.js";

/**
 * A saved model directory: `model.safetensors` (every tensor: weights, optimizer moments) beside
 * `model.json` (what built them and everything else needed to resume), kept in a directory (written
 * atomically, Node), a tar archive or IndexedDB: see `modelFiles.ts`.
 */
export interface Checkpoint {
  tensors: Record<string, Tensor>;
  json: Record<string, unknown>;
}

export const WEIGHTS_FILE = "model.safetensors";
export const METADATA_FILE = "model.json";

/**
 * Write a checkpoint into `target`: a directory path (created if missing; Node) or any
 * {@link ModelFiles} (a {@link ModelArchive}, IndexedDB).
 */
export async function saveCheckpoint(target: ModelTarget, checkpoint: Checkpoint): Promise<void> {
  const files = await modelFiles(target);
  const entries: Record<string, SafetensorEntry> = {};
  for (const [name, t] of Object.entries(checkpoint.tensors)) {
    entries[name] =
      t.dtype === "int32"
        ? { dtype: "I32", shape: t.shape.slice(), data: t.data as Int32Array }
        : { dtype: "F32", shape: t.shape.slice(), data: t.data as Float32Array };
  }
  await files.write(WEIGHTS_FILE, writeSafetensors(entries, { format: "proximal" }));
  await files.write(METADATA_FILE, new TextEncoder().encode(`${JSON.stringify(checkpoint.json, null, 2)}\n`));
}

/**
 * Read a checkpoint written by `saveCheckpoint` from a directory path (Node), a
 * {@link ModelFiles}, or archive bytes (`Blob`, `File`, `ArrayBuffer`, `Uint8Array`), with clear
 * errors for missing or malformed files.
 */
export async function loadCheckpoint(source: ModelSource): Promise<Checkpoint> {
  const files = await modelFiles(source);
  const where = files.description;
  let jsonBytes: Uint8Array | undefined;
  let bytes: Uint8Array | undefined;
  let failure: unknown;
  try {
    jsonBytes = await files.read(METADATA_FILE);
    bytes = await files.read(WEIGHTS_FILE);
  } catch (error) {
    failure = error;
  }
  if (jsonBytes === undefined || bytes === undefined) {
    const reason = failure === undefined ? "" : ` (${(failure as Error).message})`;
    throw new ProximalError(
      "MALFORMED_FILE",
      `No saved model in ${where}: expected ${METADATA_FILE} and ${WEIGHTS_FILE} there${reason}. Point to a directory written by model.save() or a run's model/ folder, or to an archive of one.`,
      { cause: failure },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(jsonBytes));
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${METADATA_FILE} in ${where} is not valid JSON: ${(error as Error).message}.`,
      {
        cause: error,
      },
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ProximalError("MALFORMED_FILE", `${METADATA_FILE} in ${where} must hold a JSON object.`);
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
