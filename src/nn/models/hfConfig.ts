import { ProximalError } from "../../errors.js";
import type { Llama3RopeScaling } from "../rotaryEmbedding.js";
import type { LlamaConfig, LlamaModelType, ResolvedLlamaConfig } from "./llama.js";

/** A parsed Hugging Face `config.json`. */
export type HfConfigJson = Record<string, unknown>;

/**
 * Keys of `config.json` that do not change what a forward pass computes (bookkeeping of
 * `PretrainedConfig`, generation defaults, token ids, dtype), for every model type.
 */
export const PRETRAINED_CONFIG_BOOKKEEPING_KEYS: ReadonlySet<string> = new Set([
  "_name_or_path",
  "_attn_implementation_autoset",
  "architectures",
  "bos_token_id",
  "eos_token_id",
  "pad_token_id",
  "torch_dtype",
  "dtype",
  "transformers_version",
  "use_cache",
  "initializer_range",
  "transformers.js_config", // ONNX export settings of transformers.js (SmolLM2's configs carry them)
  "tokenizer_class",
  "return_dict",
  "output_attentions",
  "output_hidden_states",
  "task_specific_params",
  "problem_type",
  "id2label",
  "label2id",
]);

/** Llama-family keys accepted and ignored: they change nothing proximal computes. */
const LLAMA_IGNORED_KEYS = new Set([
  "pretraining_tp", // HF slices matmuls into tp pieces when > 1: the same product
  "is_llama_config",
  "max_window_layers", // only read when use_sliding_window is on, which is refused
  "sliding_window",
]);

const LLAMA_KEYS = new Set([
  "model_type",
  "vocab_size",
  "hidden_size",
  "intermediate_size",
  "num_hidden_layers",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "max_position_embeddings",
  "rms_norm_eps",
  "rope_theta",
  "rope_scaling",
  "rope_parameters",
  "rope_interleaved",
  "tie_word_embeddings",
  "attention_bias",
  "mlp_bias",
  "hidden_act",
  "attention_dropout",
  "use_sliding_window",
  "layer_types",
]);

/** The `model_type`s {@link llamaConfigFromHf} reads. */
export const LLAMA_MODEL_TYPES: readonly LlamaModelType[] = ["llama", "qwen2", "qwen3"];

function unsupported(message: string): never {
  throw new ProximalError("INVALID_OPTION", `config.json: ${message}`);
}

function integer(json: HfConfigJson, key: string): number {
  const v = json[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    unsupported(`"${key}" must be a positive integer, got ${JSON.stringify(v)}.`);
  }
  return v as number;
}

function optionalNumber(json: HfConfigJson, key: string): number | undefined {
  const v = json[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number") unsupported(`"${key}" must be a number, got ${JSON.stringify(v)}.`);
  return v as number;
}

function optionalBoolean(json: HfConfigJson, key: string): boolean | undefined {
  const v = json[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") unsupported(`"${key}" must be true or false, got ${JSON.stringify(v)}.`);
  return v as boolean;
}

/**
 * A {@link LlamaConfig} from a Hugging Face `config.json` of `model_type` llama, qwen2 or qwen3.
 * Everything that would make the model compute something else than {@link LlamaForCausalLM} is
 * refused with an INVALID_OPTION error naming the key and value: unknown keys, a `hidden_act` other
 * than silu, RoPE types other than default/llama3 (linear, dynamic, yarn, longrope), interleaved RoPE,
 * sliding-window attention, non-zero attention dropout.
 */
export function llamaConfigFromHf(json: HfConfigJson): LlamaConfig {
  const modelType = json.model_type;
  if (!LLAMA_MODEL_TYPES.includes(modelType as LlamaModelType)) {
    unsupported(
      `model_type ${JSON.stringify(modelType)} is not a Llama-family model; supported: ${LLAMA_MODEL_TYPES.join(", ")} (and gpt2).`,
    );
  }
  const unknown = Object.keys(json).filter(
    (k) => !LLAMA_KEYS.has(k) && !LLAMA_IGNORED_KEYS.has(k) && !PRETRAINED_CONFIG_BOOKKEEPING_KEYS.has(k),
  );
  if (unknown.length > 0) {
    unsupported(
      `unsupported field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} for model_type ${String(modelType)}. proximal does not know what ${unknown.length > 1 ? "they change" : "it changes"}; remove ${unknown.length > 1 ? "them" : "it"} only if ${unknown.length > 1 ? "they do" : "it does"} not affect the forward pass.`,
    );
  }
  const act = json.hidden_act ?? "silu";
  if (act !== "silu")
    unsupported(`hidden_act ${JSON.stringify(act)} is not supported; only "silu" (SwiGLU).`);
  const dropout = optionalNumber(json, "attention_dropout") ?? 0;
  if (dropout !== 0) {
    unsupported(
      `attention_dropout ${dropout} is not supported; proximal runs without dropout (set it to 0.0).`,
    );
  }
  if (json.use_sliding_window === true) {
    unsupported(
      `use_sliding_window true is not supported; only full attention (sliding_window ${JSON.stringify(json.sliding_window)}).`,
    );
  }
  if (json.rope_interleaved === true) {
    unsupported(`rope_interleaved true is not supported; only HF's half-split RoPE layout.`);
  }
  if (json.layer_types !== undefined && json.layer_types !== null) {
    const types = json.layer_types as unknown[];
    const other = Array.isArray(types) ? types.filter((t) => t !== "full_attention") : [types];
    if (other.length > 0) {
      unsupported(`layer_types ${JSON.stringify(other[0])} is not supported; only "full_attention".`);
    }
  }
  // transformers v5 moves rope_theta and rope_scaling into one rope_parameters object
  const ropeParameters = (json.rope_parameters ?? null) as Record<string, unknown> | null;
  const ropeTheta = optionalNumber(json, "rope_theta") ?? (ropeParameters?.rope_theta as number | undefined);
  const ropeScaling = parseRopeScaling(
    (json.rope_scaling ?? ropeParameters ?? null) as Record<string, unknown> | null,
    json.rope_scaling !== undefined && json.rope_scaling !== null ? "rope_scaling" : "rope_parameters",
  );
  return {
    modelType: modelType as LlamaModelType,
    vocabSize: integer(json, "vocab_size"),
    hiddenSize: integer(json, "hidden_size"),
    intermediateSize: integer(json, "intermediate_size"),
    numHiddenLayers: integer(json, "num_hidden_layers"),
    numAttentionHeads: integer(json, "num_attention_heads"),
    numKeyValueHeads: json.num_key_value_heads == null ? undefined : integer(json, "num_key_value_heads"),
    headDim: json.head_dim == null ? undefined : integer(json, "head_dim"),
    maxPositionEmbeddings: integer(json, "max_position_embeddings"),
    rmsNormEps: optionalNumber(json, "rms_norm_eps"),
    ropeTheta,
    ropeScaling,
    // HF PretrainedConfig defaults tie_word_embeddings to true; LlamaConfig and Qwen2Config to false
    tieWordEmbeddings: optionalBoolean(json, "tie_word_embeddings") ?? false,
    attentionBias: optionalBoolean(json, "attention_bias"),
    mlpBias: optionalBoolean(json, "mlp_bias"),
    initializerRange: optionalNumber(json, "initializer_range"),
  };
}

function parseRopeScaling(raw: Record<string, unknown> | null, key: string): Llama3RopeScaling | null {
  if (raw === null) return null;
  const type = raw.rope_type ?? raw.type ?? "default";
  if (type === "default") return null;
  if (type !== "llama3") {
    unsupported(`${key}.rope_type ${JSON.stringify(type)} is not supported; supported: "default", "llama3".`);
  }
  const number = (name: string): number => {
    const v = raw[name];
    if (typeof v !== "number")
      unsupported(`${key}.${name} must be a number for rope_type "llama3", got ${JSON.stringify(v)}.`);
    return v as number;
  };
  return {
    ropeType: "llama3",
    factor: number("factor"),
    lowFreqFactor: number("low_freq_factor"),
    highFreqFactor: number("high_freq_factor"),
    originalMaxPositionEmbeddings: number("original_max_position_embeddings"),
  };
}

/** The `config.json` of a {@link LlamaForCausalLM} in Hugging Face's field names (what `transformers` loads). */
export function llamaConfigToHf(config: ResolvedLlamaConfig, extra: HfConfigJson = {}): HfConfigJson {
  const c = config;
  const architecture = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM" }[
    c.modelType
  ];
  const json: HfConfigJson = {
    architectures: [architecture],
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling:
      c.ropeScaling === null
        ? null
        : {
            rope_type: "llama3",
            factor: c.ropeScaling.factor,
            low_freq_factor: c.ropeScaling.lowFreqFactor,
            high_freq_factor: c.ropeScaling.highFreqFactor,
            original_max_position_embeddings: c.ropeScaling.originalMaxPositionEmbeddings,
          },
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: c.modelType === "qwen2" ? undefined : c.attentionBias,
    mlp_bias: c.modelType === "llama" ? c.mlpBias : undefined,
    hidden_act: "silu",
    attention_dropout: 0,
    initializer_range: c.initializerRange,
    use_sliding_window: c.modelType === "llama" ? undefined : false,
    torch_dtype: "float32",
    ...extra,
  };
  return Object.fromEntries(Object.entries(json).filter(([, v]) => v !== undefined));
}
