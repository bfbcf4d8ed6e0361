/**
 * `--model <dir>` of `proximal rlhf grpo` and `proximal rlhf demo reasoning`: a Hugging Face model
 * folder a user brings (Llama 3.x, SmolLM2, Qwen2/2.5, Qwen3 or GPT-2), read with `loadPretrained`,
 * with the tokenizer its `tokenizer.json` defines. Folders GRPO cannot train fail here, before any
 * work, with what is wrong and the fix.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ProximalError } from "../errors.js";
import { CONFIG_FILE, loadPretrained, type Pretrained, TOKENIZER_FILE } from "../io/pretrained.js";
import { LLAMA_MODEL_TYPES } from "../nn/models/hfConfig.js";
import type { PretrainedPolicy } from "../rlhf/tasks/reasoningDemo.js";
import type { HfTokenizer } from "../rlhf/tokenizers/hfTokenizer.js";

/** Architectures `--model` trains: the Llama family and GPT-2. */
export const POLICY_MODEL_TYPES: readonly string[] = [...LLAMA_MODEL_TYPES, "gpt2"];

/** A loaded `--model` folder: the model and tokenizer to train, and the files to save it with. */
export interface PolicyFolder extends PretrainedPolicy {
  tokenizer: HfTokenizer;
  /** What `loadPretrained` read (tokenizer and generation files, for `savePretrained` of the result). */
  pretrained: Pretrained;
}

/** Load `dir` for GRPO; `UNSUPPORTED_MODEL` or `MALFORMED_FILE` naming the problem and the fix. */
export async function loadPolicyFolder(dir: string): Promise<PolicyFolder> {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(join(dir, CONFIG_FILE), "utf8"));
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `--model ${dir}: cannot read ${CONFIG_FILE} (${(error as Error).message}). Pass a Hugging Face model folder (config.json, model.safetensors, tokenizer.json), e.g. one downloaded with huggingface-cli download.`,
    );
  }
  const modelType = config.model_type;
  if (typeof modelType !== "string" || !POLICY_MODEL_TYPES.includes(modelType)) {
    throw new ProximalError(
      "UNSUPPORTED_MODEL",
      `--model ${dir}: model_type ${JSON.stringify(modelType)} is not an architecture proximal runs. Supported: ${POLICY_MODEL_TYPES.join(", ")} (Llama 3.x, SmolLM2, Qwen2/2.5, Qwen3, GPT-2). Pick a model of one of these families.`,
    );
  }
  const pretrained = await loadPretrained(dir);
  const tokenizer = pretrained.tokenizer;
  if (tokenizer === null) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `--model ${dir}: no ${TOKENIZER_FILE}. GRPO tokenises the task's prompts and decodes completions with the model's own tokenizer; copy ${TOKENIZER_FILE} and tokenizer_config.json from the model's Hugging Face repository into the folder.`,
    );
  }
  const vocabSize = pretrained.model.config.vocabSize;
  if (tokenizer.vocabSize > vocabSize) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `--model ${dir}: ${TOKENIZER_FILE} has ${tokenizer.vocabSize} tokens but the model only ${vocabSize} (config.json vocab_size), so some ids have no embedding. The tokenizer belongs to another model: use the one from this model's repository.`,
    );
  }
  return { model: pretrained.model, tokenizer, pretrained };
}
