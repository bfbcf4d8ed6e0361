import { ProximalError } from "../errors.js";
import {
  type HfConfigJson,
  llamaConfigFromHf,
  llamaConfigToHf,
  PRETRAINED_CONFIG_BOOKKEEPING_KEYS,
} from "../nn/models/hfConfig.js";
import { LlamaForCausalLM } from "../nn/models/llama.js";
import { nodeFiles } from "../nodeBuiltin.js";
import type { GenerateOptions } from "../rlhf/generate.js";
import { GPT, type GPTConfig } from "../rlhf/gpt.js";
import { HfTokenizer } from "../rlhf/tokenizers/hfTokenizer.js";
import { Tensor } from "../tensor/tensor.js";
import {
  BROWSER_MODEL_FILES,
  type ModelFiles,
  type ModelSource,
  type ModelTarget,
  modelFiles,
} from "./modelFiles.js";
import { readSafetensors, type SafetensorEntry, writeSafetensors } from "./safetensors.js";

/**
 * Hugging Face model folders (what `from_pretrained` reads and `save_pretrained` writes):
 * `config.json`, weights in `model.safetensors` or shards listed by `model.safetensors.index.json`,
 * `generation_config.json`, and the tokenizer files. {@link loadPretrained} and {@link savePretrained}
 * go through {@link ModelFiles}: a directory path in Node, or a tar archive (`Blob`, bytes,
 * {@link ModelArchive}) or IndexedDB in a browser.
 */

/** A model a Hugging Face folder can hold: a Llama-family model or a GPT-2. */
export type PretrainedModel = LlamaForCausalLM | GPT;

/** What {@link loadPretrained} returns. */
export interface Pretrained {
  model: PretrainedModel;
  /** The folder's `config.json` as read. */
  config: HfConfigJson;
  /** `generation_config.json`, or null when the folder has none. */
  generationConfig: Record<string, unknown> | null;
  /** `tokenizer.json`, or null when the folder has none. */
  tokenizerJson: Record<string, unknown> | null;
  /** `tokenizer_config.json` (special tokens, chat template), or null when the folder has none. */
  tokenizerConfig: Record<string, unknown> | null;
  /** The tokenizer of `tokenizer.json` + `tokenizer_config.json`, or null without `tokenizer.json`. */
  tokenizer: HfTokenizer | null;
  /** The stored dtype of the weights (F32, F16 or BF16; every tensor is float32 in memory). */
  dtype: string;
}

export const CONFIG_FILE = "config.json";
export const SAFETENSORS_FILE = "model.safetensors";
export const SAFETENSORS_INDEX_FILE = "model.safetensors.index.json";
export const GENERATION_CONFIG_FILE = "generation_config.json";
export const TOKENIZER_FILE = "tokenizer.json";
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";

/** Old Llama checkpoints store RoPE's inverse frequencies as a buffer; they are recomputed here. */
const ROTARY_BUFFER = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * Build the model a `config.json` describes and load `tensors` (HF names, any float dtype already
 * converted to float32) into it. `model_type` llama, qwen2 and qwen3 build a {@link LlamaForCausalLM};
 * gpt2 builds proximal's {@link GPT}, which is GPT-2's architecture (Conv1D weights transposed).
 * Missing or unexpected tensors, and config fields that would change the computation, are errors
 * that name them.
 */
export function modelFromHf(config: HfConfigJson, tensors: Record<string, SafetensorEntry>): PretrainedModel {
  if (config.model_type === "gpt2") return gpt2FromHf(config, tensors);
  const model = new LlamaForCausalLM(llamaConfigFromHf(config), { initialize: false });
  const dict: Record<string, Tensor> = {};
  for (const [name, entry] of Object.entries(tensors)) {
    if (ROTARY_BUFFER.test(name)) continue;
    // tied models may still carry the head (transformers drops it on load, as here)
    if (name === "lm_head.weight" && model.lm_head === null) continue;
    dict[name] = new Tensor(entry.data, entry.shape);
  }
  model.loadStateDict(dict);
  return model;
}

const GPT2_KEYS = new Set([
  "model_type",
  "vocab_size",
  "n_positions",
  "n_embd",
  "n_layer",
  "n_head",
  "layer_norm_epsilon",
  "initializer_range",
  "activation_function",
  "n_inner",
  "tie_word_embeddings",
  "scale_attn_weights",
  "scale_attn_by_inverse_layer_idx",
  "reorder_and_upcast_attn",
  "add_cross_attention",
  // training-time dropout: proximal's GPT runs without it, as TRL's disable_dropout
  "resid_pdrop",
  "embd_pdrop",
  "attn_pdrop",
  "summary_type",
  "summary_use_proj",
  "summary_activation",
  "summary_proj_to_labels",
  "summary_first_dropout",
  "n_ctx",
]);

function gpt2FromHf(config: HfConfigJson, tensors: Record<string, SafetensorEntry>): GPT {
  const unknown = Object.keys(config).filter(
    (k) => !GPT2_KEYS.has(k) && !PRETRAINED_CONFIG_BOOKKEEPING_KEYS.has(k),
  );
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `config.json: ${message}`);
  };
  if (unknown.length > 0) {
    fail(`unsupported field(s) ${unknown.map((k) => `"${k}"`).join(", ")} for model_type gpt2.`);
  }
  const act = config.activation_function ?? "gelu_new";
  if (act !== "gelu_new")
    fail(`activation_function ${JSON.stringify(act)} is not supported; only "gelu_new".`);
  const nEmbd = config.n_embd as number;
  if (config.n_inner != null && config.n_inner !== 4 * nEmbd) {
    fail(
      `n_inner ${String(config.n_inner)} is not supported; proximal's GPT uses 4 · n_embd (${4 * nEmbd}).`,
    );
  }
  if (config.tie_word_embeddings === false) fail("tie_word_embeddings false is not supported for gpt2.");
  if (config.scale_attn_weights === false) fail("scale_attn_weights false is not supported.");
  if (config.scale_attn_by_inverse_layer_idx === true)
    fail("scale_attn_by_inverse_layer_idx true is not supported.");
  if (config.add_cross_attention === true) fail("add_cross_attention true is not supported (decoder-only).");
  const gptConfig: GPTConfig = {
    vocabSize: config.vocab_size as number,
    nPositions: config.n_positions as number,
    nEmbd,
    nLayer: config.n_layer as number,
    nHead: config.n_head as number,
    layerNormEpsilon: (config.layer_norm_epsilon as number | undefined) ?? 1e-5,
    initializerRange: (config.initializer_range as number | undefined) ?? 0.02,
  };
  return GPT.fromSafetensors(writeSafetensors(tensors), gptConfig);
}

/** `config.json` contents of `model` (HF field names). */
export function hfConfigOf(model: PretrainedModel): HfConfigJson {
  if (model instanceof LlamaForCausalLM) return llamaConfigToHf(model.config);
  const c = model.config;
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    layer_norm_epsilon: c.layerNormEpsilon,
    initializer_range: c.initializerRange,
    activation_function: "gelu_new",
    n_inner: null,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    tie_word_embeddings: true,
    torch_dtype: "float32",
  };
}

/** `model`'s tensors under Hugging Face's names and layout (GPT-2's Conv1D weights as [in, out]). */
export function hfTensorsOf(model: PretrainedModel): Record<string, SafetensorEntry> {
  if (model instanceof GPT) return readSafetensors(model.toSafetensors({ prefix: "transformer." })).tensors;
  const out: Record<string, SafetensorEntry> = {};
  for (const [name, t] of Object.entries(model.stateDict())) {
    out[name] = { dtype: "F32", shape: t.shape.slice(), data: t.values };
  }
  return out;
}

/** The JSON object in file `name`, or null when it is missing and not `required`; throws on bad JSON. */
export async function readJson(
  files: ModelFiles,
  name: string,
  required: boolean,
): Promise<Record<string, unknown> | null> {
  const bytes = await files.read(name);
  if (bytes === undefined) {
    if (!required) return null;
    throw new ProximalError(
      "MALFORMED_FILE",
      `${name} not found in ${files.description}. A Hugging Face model folder needs it (download the whole repository, e.g. with huggingface-cli download).`,
    );
  }
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${name} in ${files.description} is not a JSON object: ${(error as Error).message}.`,
      { cause: error },
    );
  }
}

/**
 * The tensors of a folder: `model.safetensors`, or every shard named by `model.safetensors.index.json`
 * (each tensor must sit in the shard the index names). Returns them with the stored float dtype.
 */
export async function readPretrainedTensors(
  source: ModelSource,
): Promise<{ tensors: Record<string, SafetensorEntry>; dtype: string }> {
  const files = await modelFiles(source);
  const index = await readJson(files, SAFETENSORS_INDEX_FILE, false);
  const names: string[] = [];
  let weightMap: Record<string, string> | null = null;
  if (index !== null) {
    weightMap = index.weight_map as Record<string, string>;
    if (typeof weightMap !== "object" || weightMap === null) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${SAFETENSORS_INDEX_FILE} in ${files.description} has no "weight_map" object.`,
      );
    }
    names.push(...new Set(Object.values(weightMap)));
  } else names.push(SAFETENSORS_FILE);
  const tensors: Record<string, SafetensorEntry> = {};
  const dtypes = new Set<string>();
  for (const name of names) {
    const bytes = await files.read(name);
    if (bytes === undefined) {
      throw new ProximalError(
        "MALFORMED_FILE",
        index === null
          ? `${files.description} has neither ${SAFETENSORS_FILE} nor ${SAFETENSORS_INDEX_FILE}. proximal reads safetensors weights only (convert pytorch_model.bin with transformers' save_pretrained(safe_serialization=True)).`
          : `${name}, a shard named by ${SAFETENSORS_INDEX_FILE}, is missing from ${files.description}.`,
      );
    }
    for (const dtype of storedDtypes(bytes)) dtypes.add(dtype);
    for (const [tensorName, entry] of Object.entries(readSafetensors(bytes).tensors)) {
      if (weightMap !== null && weightMap[tensorName] !== name) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `${name} in ${files.description} holds "${tensorName}", but ${SAFETENSORS_INDEX_FILE} puts it in ${JSON.stringify(weightMap[tensorName])}.`,
        );
      }
      tensors[tensorName] = entry;
    }
  }
  if (weightMap !== null) {
    const missing = Object.keys(weightMap).filter((name) => !(name in tensors));
    if (missing.length > 0) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `tensors listed in ${SAFETENSORS_INDEX_FILE} but in no shard: ${missing.join(", ")}.`,
      );
    }
  }
  return { tensors, dtype: [...dtypes].sort().join("+") || "F32" };
}

/** dtypes named in a safetensors header (the reader converts them all to float32/int32). */
function storedDtypes(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) return [];
  const length = Number(view.getBigUint64(0, true));
  try {
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<
      string,
      { dtype?: string }
    >;
    return [
      ...new Set(Object.entries(header).flatMap(([k, v]) => (k === "__metadata__" ? [] : [String(v.dtype)]))),
    ];
  } catch {
    return []; // readSafetensors reports the malformed header
  }
}

/**
 * Load a Hugging Face model folder (`from_pretrained` for a local directory): the model built from
 * `config.json` with its weights (F32, F16 or BF16, converted to float32), and the generation and
 * tokenizer files when present. `source` is a directory path (Node), or in a browser a tar of the
 * folder (`Blob`, `File`, bytes), a {@link ModelArchive} or {@link IndexedDBModelFiles}.
 *
 * @example
 * const { model, tokenizer } = await loadPretrained("models/SmolLM2-135M");
 * const out = generate(model, [tokenizer.encode("Once upon a time")], { maxNewTokens: 20 });
 */
export async function loadPretrained(source: ModelSource): Promise<Pretrained> {
  const files = await modelFiles(source);
  const config = (await readJson(files, CONFIG_FILE, true)) as HfConfigJson;
  const { tensors, dtype } = await readPretrainedTensors(files);
  const model = modelFromHf(config, tensors);
  const tokenizerJson = await readJson(files, TOKENIZER_FILE, false);
  const tokenizerConfig = await readJson(files, TOKENIZER_CONFIG_FILE, false);
  return {
    model,
    config,
    generationConfig: await readJson(files, GENERATION_CONFIG_FILE, false),
    tokenizerJson,
    tokenizerConfig,
    tokenizer: tokenizerJson === null ? null : HfTokenizer.fromFiles(tokenizerJson, tokenizerConfig),
    dtype,
  };
}

/**
 * {@link GenerateOptions} from a `generation_config.json` (HF GenerationConfig names and defaults:
 * `max_new_tokens` else 20, `do_sample` false, `temperature` 1, `top_k` 50, `top_p` 1;
 * `eos_token_id` a number or a list; `pad_token_id`), falling back to the tokenizer's eos and pad
 * tokens. Pass an `rng` as well when it samples.
 *
 * @example
 * const { model, tokenizer, generationConfig } = await loadPretrained(dir);
 * const options = generationOptionsFromHf(generationConfig, tokenizer);
 * generate(model, [tokenizer.encode("Hi")], { ...options, rng: new Rng(0) });
 */
export function generationOptionsFromHf(
  config: Record<string, unknown> | null,
  tokenizer: HfTokenizer | null = null,
): GenerateOptions {
  const c = config ?? {};
  const eos =
    c.eos_token_id ?? (tokenizer !== null && tokenizer.eosTokenId >= 0 ? tokenizer.eosTokenId : undefined);
  return {
    maxNewTokens: (c.max_new_tokens as number | undefined) ?? 20,
    doSample: c.do_sample === true,
    temperature: (c.temperature as number | undefined) ?? 1,
    topK: (c.top_k as number | undefined) ?? 50,
    topP: (c.top_p as number | undefined) ?? 1,
    eosTokenId: eos as number | number[] | undefined,
    padTokenId: (c.pad_token_id as number | undefined) ?? tokenizer?.padTokenId ?? 0,
  };
}

/** Options of {@link savePretrained}. */
export interface SavePretrainedOptions {
  /** Stored dtype of the weights. @defaultValue "F32" */
  dtype?: "F32" | "F16" | "BF16";
  /** Largest shard in bytes; a model above it is split into `model-0000i-of-0000n.safetensors` plus an index. @defaultValue 5e9 (transformers' "5GB") */
  maxShardBytes?: number;
  /** Written as `generation_config.json` when given. */
  generationConfig?: Record<string, unknown> | null;
  /** Written as `tokenizer.json` when given. */
  tokenizerJson?: Record<string, unknown> | null;
  /** Written as `tokenizer_config.json` when given. */
  tokenizerConfig?: Record<string, unknown> | null;
  /** Extra `config.json` fields (token ids, say), merged over the model's own. */
  configExtra?: HfConfigJson;
  /** Replace a folder that already holds a `config.json`. @defaultValue false */
  overwrite?: boolean;
}

/**
 * Write `model` as a Hugging Face folder `transformers` and {@link loadPretrained} read (into a
 * directory path in Node, or a {@link ModelArchive} / IndexedDB in a browser): `config.json`,
 * `model.safetensors` (or shards and `model.safetensors.index.json`), and the generation and tokenizer
 * files given. Every file is written atomically; an existing model folder is refused unless `overwrite`.
 */
export async function savePretrained(
  model: PretrainedModel,
  target: ModelTarget,
  options: SavePretrainedOptions = {},
): Promise<void> {
  const files = await modelFiles(target);
  if ((await files.read(CONFIG_FILE)) !== undefined && options.overwrite !== true) {
    throw new ProximalError(
      "FILE_EXISTS",
      `${files.description} already holds a ${CONFIG_FILE}. Pick another folder, or pass { overwrite: true } (--force) to replace the model in it.`,
    );
  }
  const dtype = options.dtype ?? "F32";
  const maxShardBytes = options.maxShardBytes ?? 5e9;
  const tensors = hfTensorsOf(model);
  const bytesPerValue = dtype === "F32" ? 4 : 2;
  const shards: string[][] = [[]];
  let shardBytes = 0;
  for (const name of Object.keys(tensors).sort()) {
    const size = tensors[name].data.length * bytesPerValue;
    if (shardBytes > 0 && shardBytes + size > maxShardBytes) {
      shards.push([]);
      shardBytes = 0;
    }
    shards[shards.length - 1].push(name);
    shardBytes += size;
  }
  const json = (value: unknown): Uint8Array =>
    new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const weights = (names: string[]): Uint8Array =>
    writeSafetensors(
      Object.fromEntries(names.map((n) => [n, tensors[n]])),
      { format: "pt" },
      { floatDtype: dtype },
    );
  const written = new Set<string>();
  if (shards.length === 1) {
    await files.write(SAFETENSORS_FILE, weights(shards[0]));
    written.add(SAFETENSORS_FILE);
  } else {
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    for (const [i, names] of shards.entries()) {
      const file = `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
      await files.write(file, weights(names));
      written.add(file);
      for (const n of names) {
        weightMap[n] = file;
        totalSize += tensors[n].data.length * bytesPerValue;
      }
    }
    await files.write(
      SAFETENSORS_INDEX_FILE,
      json({ metadata: { total_size: totalSize }, weight_map: weightMap }),
    );
    written.add(SAFETENSORS_INDEX_FILE);
  }
  if (typeof target === "string") await removeStaleWeights(target, written);
  const torchDtype = { F32: "float32", F16: "float16", BF16: "bfloat16" }[dtype];
  if (options.generationConfig) await files.write(GENERATION_CONFIG_FILE, json(options.generationConfig));
  if (options.tokenizerJson) await files.write(TOKENIZER_FILE, json(options.tokenizerJson));
  if (options.tokenizerConfig) await files.write(TOKENIZER_CONFIG_FILE, json(options.tokenizerConfig));
  // last, so an interrupted save leaves no folder that looks complete
  await files.write(
    CONFIG_FILE,
    json({ ...hfConfigOf(model), torch_dtype: torchDtype, ...options.configExtra }),
  );
}

/**
 * Weights of the other layout left in a directory by an earlier save (a single file beside new shards,
 * or old shards beside a new single file) would make the folder ambiguous: remove them.
 */
async function removeStaleWeights(directory: string, written: Set<string>): Promise<void> {
  const { fs, path } = nodeFiles(`Saving a model to ${directory}`, BROWSER_MODEL_FILES);
  for (const file of await fs.readdir(directory)) {
    const isWeights =
      file === SAFETENSORS_FILE ||
      file === SAFETENSORS_INDEX_FILE ||
      /^model-\d+-of-\d+\.safetensors$/.test(file);
    if (isWeights && !written.has(file)) await fs.unlink(path.join(directory, file));
  }
}
