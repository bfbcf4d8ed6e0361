/**
 * The `model.json` of a PPO checkpoint: its fields, and the checks `PPOTrainer.load` runs on them
 * before it changes anything (the tensors are in `model.safetensors`).
 */
import type { OptimizerStateJson } from "../../optim/optimizer.js";
import type { RngState } from "../../random/rng.js";
import {
  checkpointFieldError,
  fingerprint,
  isCount,
  isOptimizerStateJson,
  isRecord,
  isRngState,
  tensorsFingerprint,
} from "../common/trainerCheckpoint.js";
import type { GPTConfig } from "../gpt.js";
import type { ResolvedPPOConfig } from "./ppoConfig.js";

export const PPO_TRAINER_NAME = "PPOTrainer";

/** `model.json` of a {@link PPOTrainer.save} (the tensors are in `model.safetensors`). */
export interface PPOCheckpointJson {
  trainer: typeof PPO_TRAINER_NAME;
  /** The actor's architecture (a policy loader reads it). */
  gptConfig: Required<GPTConfig>;
  /** The critic trunk's architecture. */
  criticGptConfig: Required<GPTConfig>;
  config: ResolvedPPOConfig;
  globalStep: number;
  /** β after the last update (the adaptive controller's state). */
  klCoef: number;
  /** The JSON halves of the Adam states; the moments are the `optimizer.actor.*` / `optimizer.critic.*` tensors. */
  optimizers: { actor: OptimizerStateJson; critic: OptimizerStateJson };
  rng: RngState;
  promptRng: RngState;
  /** Prompt indices of the current pass and the position in it. */
  order: number[];
  cursor: number;
  dataset: { rows: number; fingerprint: string };
  /** {@link tensorsFingerprint} of the frozen reward model, checked on load. */
  rewardModel: string;
  tokens: { eosTokenId: number; padTokenId: number };
}

/** {@link fingerprint} of tokenized prompts, in order. */
export function promptsFingerprint(prompts: number[][]): string {
  return fingerprint(prompts.map((ids) => ids.join(",")));
}

/** Check the fields of a PPO `model.json` and return them typed (MALFORMED_FILE naming the field). */
export function parsePPOCheckpointJson(json: Record<string, unknown>, dir: string): PPOCheckpointJson {
  const fail = checkpointFieldError(json, dir, PPO_TRAINER_NAME);
  if (!isRecord(json.config)) fail("config", "the trainer's config object");
  if (!isRecord(json.gptConfig)) fail("gptConfig", "the actor's GPT config object");
  if (!isRecord(json.criticGptConfig)) fail("criticGptConfig", "the critic's GPT config object");
  for (const field of ["globalStep", "cursor"]) if (!isCount(json[field])) fail(field, "an integer >= 0");
  if (typeof json.klCoef !== "number") fail("klCoef", "a number");
  const optimizers = json.optimizers;
  if (
    !isRecord(optimizers) ||
    !isOptimizerStateJson(optimizers.actor) ||
    !isOptimizerStateJson(optimizers.critic)
  )
    fail("optimizers", "{ actor, critic } optimizer states");
  for (const field of ["rng", "promptRng"])
    if (!isRngState(json[field])) fail(field, "a generator state { s: [4 integers], spareNormal }");
  if (!Array.isArray(json.order) || !json.order.every(isCount)) fail("order", "an array of prompt indices");
  const dataset = json.dataset;
  if (!isRecord(dataset) || !isCount(dataset.rows) || typeof dataset.fingerprint !== "string")
    fail("dataset", "{ rows, fingerprint }");
  if (typeof json.rewardModel !== "string") fail("rewardModel", "the reward model's fingerprint");
  const tokens = json.tokens;
  if (!isRecord(tokens) || !Number.isInteger(tokens.eosTokenId) || !Number.isInteger(tokens.padTokenId))
    fail("tokens", "{ eosTokenId, padTokenId }");
  return json as unknown as PPOCheckpointJson;
}
