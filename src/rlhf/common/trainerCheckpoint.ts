/**
 * Trainer checkpoints, shared by every RLHF trainer's `save`/`load`: the trained model's tensors under
 * their own names and the rest under prefixes (`CHECKPOINT_PREFIXES`), and the checks a `load`
 * runs before it changes anything: the trainer's name, the config, the rows or prompts (by
 * fingerprint), the generator and optimizer states, the prompt order. The files themselves are
 * written by `io/checkpoint.ts` (`model.safetensors` + `model.json`, each atomically).
 */
import { ProximalError } from "../../errors.js";
import { loadCheckpoint } from "../../io/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import { GPT, type GPTConfig } from "../gpt.js";

/**
 * Tensor-name prefixes of the non-policy parts of a trainer checkpoint: optimizer moments, a saved
 * frozen reference, PPO's critic. Everything else is the trained model under its own names.
 */
export const CHECKPOINT_PREFIXES = ["optimizer.", "refModel.", "critic."] as const;

/** The trained model's tensors of a checkpoint: the names outside `CHECKPOINT_PREFIXES`. */
export function modelTensors(tensors: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(tensors).filter(([name]) => !CHECKPOINT_PREFIXES.some((p) => name.startsWith(p))),
  );
}

/** Refuse a checkpoint whose `model.json` was not written by `trainer`'s `save`. */
export function checkTrainerName(json: Record<string, unknown>, dir: string, trainer: string): void {
  if (json.trainer === trainer) return;
  throw new ProximalError(
    "MALFORMED_FILE",
    typeof json.trainer === "string"
      ? `${dir} was saved by ${json.trainer}, not ${trainer}. Load it with that trainer.`
      : `${dir}/model.json names no trainer, so it was not written by ${trainer}.save. Point to a directory that ${trainer}.save wrote.`,
  );
}

/**
 * Refuse a checkpoint whose config differs from the trainer's in a field that changes the maths
 * (all but `resumable`), naming each field with both values. Both sides go through JSON, as the
 * file did, so a non-finite number (saved as null) compares equal to itself.
 */
export function checkSameConfig(
  trainer: string,
  saved: Record<string, unknown>,
  current: object,
  dir: string,
  resumable: readonly string[],
): void {
  const now = current as Record<string, unknown>;
  const keys = new Set([...Object.keys(saved), ...Object.keys(now)]);
  const differences: string[] = [];
  for (const key of keys) {
    if (resumable.includes(key)) continue;
    const a = JSON.stringify(saved[key]);
    const b = JSON.stringify(now[key]);
    if (a !== b) differences.push(`${key} (checkpoint ${a ?? "missing"}, this trainer ${b ?? "missing"})`);
  }
  if (differences.length > 0) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${trainer}.load: ${dir} was saved with a different config: ${differences.join("; ")}. These fields change the training maths, so the run would not continue as it would have. Build the trainer with the checkpoint's values (its "config" in ${dir}/model.json), or start a new run from its model with ${trainer}.loadModel.`,
    );
  }
}

/**
 * FNV-1a (32-bit) of a sequence of strings, as 8 hex digits, with a separator between them (so
 * ["ab", "c"] ≠ ["a", "bc"]): enough to notice another dataset or another model.
 */
export function fingerprint(parts: Iterable<string>): string {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) hash = Math.imul(hash ^ part.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0xffff, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** {@link fingerprint} of a state dict: names, shapes and every value's bits, in name order. */
export function tensorsFingerprint(tensors: Record<string, Tensor>): string {
  let hash = 0x811c9dc5;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    const header = `${name}[${t.shape.join(",")}]`;
    for (let i = 0; i < header.length; i++) hash = Math.imul(hash ^ header.charCodeAt(i), 0x01000193);
    const words = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ words[i], 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** {@link fingerprint} of dataset rows (each as JSON), in order. */
export function rowsFingerprint(rows: readonly unknown[]): string {
  return fingerprint(rows.map((row) => JSON.stringify(row)));
}

/**
 * Refuse a checkpoint saved over other rows: `saved` is its `dataset` field, `{ rows, fingerprint }`
 * ({@link rowsFingerprint}); the saved order and step index the rows, so they must be the same.
 */
export function checkSameRows(trainer: string, saved: unknown, rows: readonly unknown[], dir: string): void {
  if (!isRecord(saved) || !Number.isInteger(saved.rows) || typeof saved.fingerprint !== "string") {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${dir}: "dataset" in model.json must be { rows, fingerprint }, got ${truncateJson(saved)}. The file was not written by ${trainer}.save (or by a version before resuming was supported); start a new run from its model with ${trainer}.loadModel.`,
    );
  }
  const now = rowsFingerprint(rows);
  if (saved.rows !== rows.length || saved.fingerprint !== now) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${trainer}.load: ${dir} was saved from a run over ${saved.rows} rows (fingerprint ${saved.fingerprint}), but this trainer has ${rows.length} (fingerprint ${now}). The saved step indexes the row order, so pass the same trainDataset, in the same order.`,
    );
  }
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `key.field (checkpoint a, this trainer b)` for each field where two JSON objects differ. */
export function jsonDifferences(key: string, saved: unknown, current: unknown): string[] {
  if (isRecord(saved) && isRecord(current)) {
    return [...new Set([...Object.keys(saved), ...Object.keys(current)])].flatMap((field) =>
      jsonDifferences(`${key}.${field}`, saved[field], current[field]),
    );
  }
  const a = JSON.stringify(saved);
  const b = JSON.stringify(current);
  return a === b ? [] : [`${key} (checkpoint ${a ?? "missing"}, this trainer ${b ?? "missing"})`];
}

/** `value` as JSON, cut to 80 characters (for error messages). */
export function truncateJson(value: unknown): string {
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/**
 * The `fail(field, expected)` of a `load` that checks the fields of `dir/model.json`: throws
 * MALFORMED_FILE naming the field, what it must be and what it holds.
 */
export function checkpointFieldError(
  json: Record<string, unknown>,
  dir: string,
  trainer: string,
): (field: string, expected: string) => never {
  return (field, expected) => {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${dir}: "${field}" in model.json must be ${expected}, got ${truncateJson(json[field])}. The file was not written by ${trainer}.save (or by a version before resuming was supported), or was edited; save the run again.`,
    );
  };
}

/** Whether `value` is an integer >= 0 (a step, a cursor, an index). */
export function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

/** Whether `value` is an `Rng.getState()` (`{ s: [4 integers], spareNormal }`). */
export function isRngState(value: unknown): boolean {
  return (
    isRecord(value) &&
    Array.isArray(value.s) &&
    value.s.length === 4 &&
    value.s.every((x) => Number.isInteger(x)) &&
    (value.spareNormal === null || typeof value.spareNormal === "number")
  );
}

/** Whether `value` is the JSON half of an optimizer state (`{ type, paramGroups, steps }`). */
export function isOptimizerStateJson(value: unknown): boolean {
  return isRecord(value) && Array.isArray(value.paramGroups) && isRecord(value.steps);
}

/**
 * Refuse a checkpoint saved over other prompts: `saved` is its `dataset` field `{ rows, fingerprint }`
 * and `fingerprint` this trainer's; the saved prompt order indexes the prompts, so they must be the same.
 */
export function checkSamePrompts(
  trainer: string,
  saved: { rows: number; fingerprint: string },
  count: number,
  fingerprint: string,
  dir: string,
): void {
  if (saved.rows === count && saved.fingerprint === fingerprint) return;
  throw new ProximalError(
    "INVALID_ARGUMENT",
    `${trainer}.load: ${dir} was saved from a run over ${saved.rows} prompts (fingerprint ${saved.fingerprint}), but this trainer has ${count} (fingerprint ${fingerprint}). The saved prompt order indexes them, so pass the same trainDataset, in the same order.`,
  );
}

/** Refuse a saved prompt order that is not a permutation of `count` indices with a cursor in it. */
export function checkPromptOrder(order: readonly number[], cursor: number, count: number, dir: string): void {
  const seen = new Uint8Array(count);
  for (const i of order) if (i < count) seen[i] = 1;
  if (order.length !== count || seen.includes(0) || cursor > count) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${dir}: "order" must be a permutation of the ${count} prompt indices and "cursor" at most ${count}.`,
    );
  }
}

/**
 * The trained GPT of a `save` directory written by `trainer`: a new {@link GPT} of its `gptConfig` with
 * the tensors outside `CHECKPOINT_PREFIXES` (what every trainer's static `loadModel` returns).
 */
export async function loadSavedGpt(dir: string, trainer: string): Promise<GPT> {
  const { tensors, json } = await loadCheckpoint(dir);
  checkTrainerName(json, dir, trainer);
  if (!isRecord(json.gptConfig)) {
    throw new ProximalError("MALFORMED_FILE", `${dir}: model.json has no "gptConfig" object.`);
  }
  const gpt = new GPT(json.gptConfig as unknown as GPTConfig);
  gpt.loadStateDict(modelTensors(tensors));
  return gpt;
}
