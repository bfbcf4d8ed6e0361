import type { Space } from "../../envs/spaces/space.js";
import type { VectorEnv } from "../../envs/vector/vectorEnv.js";
import type { VectorNormalizeObservation } from "../../envs/vector/vectorNormalizeObservation.js";
import { ProximalError } from "../../errors.js";
import type { Checkpoint } from "../../io/checkpoint.js";
import { addPrefix, saveCheckpoint, withPrefix } from "../../io/checkpoint.js";
import type { ModelTarget } from "../../io/modelFiles.js";
import type { Module } from "../../nn/module.js";
import type { BaseOptimizerOptions, Optimizer } from "../../optim/optimizer.js";
import type { Schedule } from "../../optim/schedules.js";
import type { Tensor } from "../../tensor/tensor.js";
import { VERSION } from "../../version.js";
import { scheduleToJSON } from "./scheduleSpec.js";

/**
 * Check that a saved `model.json` belongs to this algorithm and to an env with these spaces, before
 * anything is restored from it. Shared by every algorithm family (on-policy, off-policy, tabular) so
 * that a wrong model or a wrong env fails the same way everywhere: `MALFORMED_FILE` for another
 * algorithm's model, `UNSUPPORTED_SPACE` for other spaces.
 */
export function checkSavedModel(
  json: Record<string, unknown>,
  algorithmName: string,
  spaces: { observationSpace: Space; actionSpace: Space },
): void {
  if (json.algorithm !== algorithmName) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `The saved model is ${String(json.algorithm)}, not ${algorithmName}. Load it with ${String(json.algorithm)}.load().`,
    );
  }
  const current = JSON.stringify([spaces.observationSpace.toJSON(), spaces.actionSpace.toJSON()]);
  const saved = JSON.stringify([json.observationSpace, json.actionSpace]);
  if (current !== saved) {
    throw new ProximalError(
      "UNSUPPORTED_SPACE",
      `The env's spaces ${current} differ from the saved model's ${saved}. Use the env the model was trained on.`,
    );
  }
}

/**
 * The network half of `loadCheckpointState` in the on-policy and off-policy families, which save
 * the same layout: load the `policy.*` weights and the `optimizer.*` state, and return the saved
 * training state to restore, its env state dropped (null) unless `restoreEnv`. Call it after
 * {@link checkSavedModel}.
 */
export function restoreNetworkCheckpoint(
  checkpoint: Checkpoint,
  policy: Pick<Module, "loadStateDict">,
  optimizer: Optimizer<BaseOptimizerOptions>,
  restoreEnv: boolean | undefined,
): Record<string, unknown> {
  const json = checkpoint.json;
  policy.loadStateDict(withPrefix(checkpoint.tensors, "policy"));
  optimizer.setState({
    tensors: withPrefix(checkpoint.tensors, "optimizer"),
    json: json.optimizer as never,
  });
  const state = { ...((json.trainingState as Record<string, unknown>) ?? {}) };
  if (!restoreEnv) state.env = null;
  return state;
}

/**
 * The registered env id a saved model was trained on, to rebuild its env when `load` is given none.
 * Shared by `loadAlgorithm` (on-policy, off-policy) and `loadTabular` so that a model of an
 * unregistered env asks for it the same way in every family (`INVALID_ARGUMENT`).
 */
export function savedEnvId(json: Record<string, unknown>, where: string): string {
  if (typeof json.envId !== "string") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `The model in ${where} was trained on an env without a registered id; pass it: load(source, { env }).`,
    );
  }
  return json.envId;
}

/** What {@link saveNetworkCheckpoint} saves: an on-policy or off-policy algorithm. */
export interface NetworkModel {
  readonly algorithmName: string;
  readonly env: VectorEnv;
  readonly options: object;
  readonly policy: Pick<Module, "stateDict">;
  readonly observationNormalizer: VectorNormalizeObservation | null;
  trainingState(): Record<string, unknown>;
}

/**
 * The checkpoint layout the on-policy and off-policy families share, written by both their `save`s
 * so that their files stay alike (and loadable by {@link restoreNetworkCheckpoint}): `policy.*` and
 * `optimizer.*` tensors (and `extraTensors`, e.g. an intrinsic reward's `intrinsic.*`); a `model.json` with the format header, algorithm, env id and count, spaces,
 * options, optimizer state, observation normalisation and training state, then `extraJson`'s keys.
 */
export async function saveNetworkCheckpoint(
  target: ModelTarget,
  model: NetworkModel,
  optimizer: Optimizer<BaseOptimizerOptions>,
  extraJson: Record<string, unknown> = {},
  extraTensors: Record<string, Tensor> = {},
): Promise<void> {
  const optimizerState = optimizer.getState();
  await saveCheckpoint(target, {
    tensors: {
      ...addPrefix(model.policy.stateDict(), "policy"),
      ...addPrefix(optimizerState.tensors, "optimizer"),
      ...extraTensors,
    },
    json: {
      format: "proximal-model",
      formatVersion: 1,
      proximalVersion: VERSION,
      algorithm: model.algorithmName,
      envId: model.env.id ?? null,
      numEnvs: model.env.numEnvs,
      observationSpace: model.env.singleObservationSpace.toJSON(),
      actionSpace: model.env.singleActionSpace.toJSON(),
      options: optionsToJSON(model.options),
      optimizer: optimizerState.json,
      observationNormalization: normalizationOf(model.observationNormalizer),
      trainingState: model.trainingState(),
      ...extraJson,
    },
  });
}

/** Options as JSON: schedules as specs, functions as "custom" (they must be passed again to `load`). */
export function optionsToJSON(options: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    out[key] = typeof value === "function" ? scheduleToJSON(value as Schedule) : value;
  }
  return out;
}

/** Options to rebuild a saved model: saved options, with "custom" schedules replaced from `overrides`. */
export function optionsFromJSON(
  saved: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...saved, ...overrides };
  for (const [key, value] of Object.entries(merged)) {
    if (value === "custom") {
      throw new ProximalError(
        "INVALID_OPTION",
        `The saved model used a custom function for ${key}, which cannot be saved. Pass it again: load(dir, { options: { ${key}: ... } }).`,
      );
    }
  }
  return merged;
}

/** Observation-normalisation statistics as saved in model.json. */
export interface SavedNormalization {
  statistics: unknown;
  epsilon: number;
  /** null when there is no clipping (JSON has no Infinity). */
  clip: number | null;
}

export function normalizationOf(normalizer: VectorNormalizeObservation | null): SavedNormalization | null {
  if (normalizer === null) return null;
  return {
    statistics: normalizer.getStatistics(),
    epsilon: normalizer.epsilon,
    clip: Number.isFinite(normalizer.clip) ? normalizer.clip : null,
  };
}
