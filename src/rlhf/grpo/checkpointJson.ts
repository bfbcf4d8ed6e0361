/**
 * The `model.json` of a GRPO checkpoint: its fields, and the checks `GRPOTrainer.load` runs on them
 * before it changes anything (the tensors are in `model.safetensors`).
 */

import type { ResolvedLlamaConfig } from "../../nn/models/llama.js";
import type { OptimizerStateJson } from "../../optim/optimizer.js";
import type { RngState } from "../../random/rng.js";
import {
  checkpointFieldError,
  fingerprint,
  isCount,
  isOptimizerStateJson,
  isRecord,
  isRngState,
} from "../common/trainerCheckpoint.js";
import type { GPTConfig } from "../gpt.js";
import type { DcpoPromptStatistics } from "./advantages.js";
import type { GRPORow, ResolvedGRPOConfig } from "./grpoConfig.js";

export const GRPO_TRAINER_NAME = "GRPOTrainer";

/** Config fields a resumed run may change: they do not touch the maths. */
export const RESUMABLE_CONFIG_FIELDS: readonly string[] = ["loggingSteps"];

/** `model.json` of a {@link GRPOTrainer.save} (the tensors are in `model.safetensors`). */
export interface GRPOCheckpointJson {
  trainer: typeof GRPO_TRAINER_NAME;
  /** The policy's architecture, for {@link GRPOTrainer.loadModel}: a GPT's config, unless `llamaConfig` is given. */
  gptConfig?: Required<GPTConfig>;
  /** A Llama-family policy's config (then there is no `gptConfig`). */
  llamaConfig?: ResolvedLlamaConfig;
  config: ResolvedGRPOConfig;
  globalStep: number;
  generationStep: number;
  /** The JSON half of the AdamW state; the moments are the `optimizer.*` tensors. */
  optimizer: OptimizerStateJson;
  /** The sampling generator (prompt shuffles, sampling, minibatch order). */
  rng: RngState;
  /** Prompt indices of the current pass and the position in it. */
  order: number[];
  cursor: number;
  /** DCPO's per-prompt statistics as `[prompt, statistics]` entries (empty unless "dcpo"). */
  dcpoHistory: [string, DcpoPromptStatistics][];
  /** Size and {@link promptsFingerprint} of the prompts, checked on load (the order indexes them). */
  dataset: { rows: number; fingerprint: string };
  /** Names of the reward functions (their count is checked on load). */
  rewardFunctions: string[];
  /** Whether `refModel.*` tensors were saved. */
  hasRefModel: boolean;
}

/** {@link fingerprint} of the prompts, in order: enough to notice another dataset. */
export function promptsFingerprint(rows: GRPORow[]): string {
  return fingerprint(rows.map((row) => row.prompt));
}

/** Check the fields of a GRPO `model.json` and return them typed (MALFORMED_FILE naming the field). */
export function parseCheckpointJson(json: Record<string, unknown>, dir: string): GRPOCheckpointJson {
  const fail = checkpointFieldError(json, dir, GRPO_TRAINER_NAME);
  if (!isRecord(json.config)) fail("config", "the trainer's config object");
  if (!isRecord(json.gptConfig) && !isRecord(json.llamaConfig))
    fail("gptConfig", 'the policy\'s GPT config object (or a "llamaConfig" object)');
  for (const field of ["globalStep", "generationStep", "cursor"]) {
    if (!isCount(json[field])) fail(field, "an integer >= 0");
  }
  if (!isOptimizerStateJson(json.optimizer))
    fail("optimizer", "an optimizer state ({ type, paramGroups, steps })");
  if (!isRngState(json.rng)) fail("rng", "a generator state { s: [4 integers], spareNormal }");
  if (!Array.isArray(json.order) || !json.order.every(isCount)) fail("order", "an array of prompt indices");
  const isStatistics = (v: unknown): boolean =>
    isRecord(v) && isCount(v.steps) && isCount(v.count) && Number.isFinite(v.mean) && Number.isFinite(v.m2);
  if (
    !Array.isArray(json.dcpoHistory) ||
    !json.dcpoHistory.every(
      (e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && isStatistics(e[1]),
    )
  )
    fail("dcpoHistory", "an array of [prompt, { steps, count, mean, m2 }] entries");
  const dataset = json.dataset;
  if (!isRecord(dataset) || !isCount(dataset.rows) || typeof dataset.fingerprint !== "string")
    fail("dataset", "{ rows, fingerprint }");
  if (!Array.isArray(json.rewardFunctions) || !json.rewardFunctions.every((v) => typeof v === "string"))
    fail("rewardFunctions", "an array of reward function names");
  if (typeof json.hasRefModel !== "boolean") fail("hasRefModel", "true or false");
  return json as unknown as GRPOCheckpointJson;
}
