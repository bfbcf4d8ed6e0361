/**
 * The language models the RLHF trainers train: proximal's GPT (the demos' small models, GPT-2 folders)
 * or a Llama-family model loaded from a Hugging Face folder (Llama 3.x, SmolLM2, Qwen2/2.5, Qwen3).
 * Both take the same forward options and return the same logits and cache (nn/models/causalLm.ts), so
 * generation and log-probs need nothing else; what differs is their config, which this file reads.
 */
import { ProximalError } from "../../errors.js";
import { type LlamaConfig, LlamaForCausalLM, type ResolvedLlamaConfig } from "../../nn/models/llama.js";
import { GPT, type GPTConfig } from "../gpt.js";
import { isRecord } from "./trainerCheckpoint.js";

/** A causal LM a trainer can train: {@link GPT} or {@link LlamaForCausalLM}. */
export type PolicyModel = GPT | LlamaForCausalLM;

/** The architecture a checkpoint's `model.json` records: exactly one of the two configs. */
export type PolicyArchitecture =
  | { gptConfig: Required<GPTConfig>; llamaConfig?: undefined }
  | { llamaConfig: ResolvedLlamaConfig; gptConfig?: undefined };

/** Longest sequence (prompt + completion) the model takes: GPT's `nPositions`, Llama's `maxPositionEmbeddings`. */
export function contextLength(model: PolicyModel): number {
  return model instanceof LlamaForCausalLM ? model.config.maxPositionEmbeddings : model.config.nPositions;
}

/** A new model of the same config holding a copy of `model`'s weights (gradients on). */
export function cloneModel<M extends PolicyModel>(model: M): M {
  const copy: PolicyModel =
    model instanceof LlamaForCausalLM
      ? new LlamaForCausalLM(model.config, { initialize: false })
      : new GPT(model.config);
  copy.loadStateDict(model.stateDict());
  return copy as M;
}

/** `model`'s config under the key that says which class it is. */
export function policyArchitecture(model: PolicyModel): PolicyArchitecture {
  return model instanceof LlamaForCausalLM ? { llamaConfig: model.config } : { gptConfig: model.config };
}

/**
 * A new model (weights not loaded) of the architecture a checkpoint recorded; `MALFORMED_FILE` when
 * `json` holds neither config object.
 */
export function modelFromArchitecture(json: Record<string, unknown>, dir: string): PolicyModel {
  if (isRecord(json.llamaConfig)) {
    return new LlamaForCausalLM(json.llamaConfig as unknown as LlamaConfig, { initialize: false });
  }
  if (isRecord(json.gptConfig)) return new GPT(json.gptConfig as unknown as GPTConfig);
  throw new ProximalError(
    "MALFORMED_FILE",
    `${dir}: model.json has neither a "gptConfig" nor a "llamaConfig" object, so it does not say which model it holds.`,
  );
}
