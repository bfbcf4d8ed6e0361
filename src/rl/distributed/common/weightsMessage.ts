/**
 * The learner's weights as they travel to actors: the policy's state dict as safetensors, with the
 * run id and the version (updates applied) in its metadata, so an actor can check both before
 * loading a byte into its network.
 */
import { ProximalError } from "../../../errors.js";
import { readSafetensors, type SafetensorEntry, writeSafetensors } from "../../../io/safetensors.js";
import type { Module } from "../../../nn/module.js";
import { Tensor } from "../../../tensor/tensor.js";

/** Serialise `module`'s parameters and buffers with the run id and version. */
export function encodeWeights(module: Module, meta: { runId: string; version: number }): Uint8Array {
  const entries: Record<string, SafetensorEntry> = {};
  for (const [name, t] of Object.entries(module.stateDict())) {
    entries[name] =
      t.dtype === "int32"
        ? { dtype: "I32", shape: t.shape.slice(), data: t.data as Int32Array }
        : { dtype: "F32", shape: t.shape.slice(), data: t.data as Float32Array };
  }
  return writeSafetensors(entries, { runId: meta.runId, version: String(meta.version) });
}

/**
 * Load weights written by {@link encodeWeights} into `module` (in place); returns their version.
 * @throws {@link ProximalError} `MALFORMED_MESSAGE` for another run's weights; the safetensors reader's
 *   and `loadStateDict`'s errors for bytes or names that do not fit.
 */
export function loadWeights(module: Module, bytes: Uint8Array, runId: string): number {
  const { tensors, metadata } = readSafetensors(bytes);
  if (metadata.runId !== runId) {
    throw new ProximalError(
      "MALFORMED_MESSAGE",
      `the published weights belong to run ${JSON.stringify(metadata.runId)}, not ${JSON.stringify(runId)}.`,
    );
  }
  const version = Number(metadata.version);
  if (!Number.isInteger(version) || version < 0) {
    throw new ProximalError(
      "MALFORMED_MESSAGE",
      `the published weights carry version ${JSON.stringify(metadata.version)}, not an integer >= 0.`,
    );
  }
  const dict: Record<string, Tensor> = {};
  for (const [name, entry] of Object.entries(tensors)) dict[name] = new Tensor(entry.data, entry.shape);
  module.loadStateDict(dict);
  return version;
}
