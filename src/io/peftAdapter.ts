/**
 * LoRA adapters in Hugging Face PEFT's folder layout (what `PeftModel.save_pretrained` writes and
 * `PeftModel.from_pretrained` reads):
 * - `adapter_config.json`: the `LoraConfig` (`peft_type: "LORA"`, `r`, `lora_alpha`, `lora_dropout`,
 *   `target_modules`, `base_model_name_or_path`, `task_type`, `bias: "none"`, `fan_in_fan_out`, ...);
 * - `adapter_model.safetensors`: the adapter tensors only, named as PEFT's `get_peft_model_state_dict`
 *   names them: the wrapped model's path `base_model.model.` + the layer's name in the Hugging Face
 *   model + `.lora_A.weight` ([r, in]) or `.lora_B.weight` ([out, r]), the adapter name ("default")
 *   left out. For a Llama: `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`; for a
 *   GPT-2 (`GPT2LMHeadModel`): `base_model.model.transformer.h.0.attn.c_attn.lora_A.weight`.
 */
import { ProximalError } from "../errors.js";
import { applyLora, type LoraAdapter, linearLayers, loraAdapters, loraTargetNames } from "../nn/lora.js";
import { LlamaForCausalLM } from "../nn/models/llama.js";
import { GPT } from "../rlhf/gpt.js";
import { Tensor } from "../tensor/tensor.js";
import { type ModelSource, type ModelTarget, modelFiles } from "./modelFiles.js";
import type { PretrainedModel } from "./pretrained.js";
import { readJson } from "./pretrained.js";
import { readSafetensors, type SafetensorEntry, writeSafetensors } from "./safetensors.js";

/** The adapter's config file in a PEFT folder. */
export const ADAPTER_CONFIG_FILE = "adapter_config.json";
/** The adapter's tensors in a PEFT folder. */
export const ADAPTER_SAFETENSORS_FILE = "adapter_model.safetensors";

/** Options of {@link saveLoraAdapter}. */
export interface SaveLoraAdapterOptions {
  /** Written as `base_model_name_or_path` (the base folder or Hub id the adapter belongs to). @defaultValue null */
  baseModelNameOrPath?: string | null;
  /** Replace a folder that already holds an `adapter_config.json`. @defaultValue false */
  overwrite?: boolean;
}

/** The LoRA settings of an `adapter_config.json` that proximal uses. */
export interface PeftLoraConfig {
  rank: number;
  alpha: number;
  dropout: number;
  targetModules: string[] | "all-linear";
  useRslora: boolean;
  baseModelNameOrPath: string | null;
}

/**
 * Where a layer's adapter lives in PEFT's names: `base_model.model.` + its name in the Hugging Face
 * model (a GPT's layers sit under `transformer.` in GPT2LMHeadModel; a Llama's names are HF's already).
 */
function peftPrefix(model: PretrainedModel): string {
  if (model instanceof GPT) return "base_model.model.transformer.";
  if (model instanceof LlamaForCausalLM) return "base_model.model.";
  throw new ProximalError(
    "UNSUPPORTED_MODEL",
    `PEFT adapters: expected a LlamaForCausalLM or a GPT, got a ${(model as object).constructor.name}.`,
  );
}

/**
 * Write `model`'s LoRA adapters in PEFT's layout (see the file header) into a directory (Node), a
 * {@link ModelArchive} or IndexedDB: `transformers`/PEFT load them with
 * `PeftModel.from_pretrained(base, dir)`. Each file is written atomically; a folder already holding
 * an adapter is refused unless `overwrite`.
 */
export async function saveLoraAdapter(
  model: PretrainedModel,
  target: ModelTarget,
  options: SaveLoraAdapterOptions = {},
): Promise<void> {
  const adapters = loraAdapters(model);
  const first = adapters.values().next().value as LoraAdapter | undefined;
  if (first === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "saveLoraAdapter: the model has no LoRA adapters. Add them with applyLora (or save the whole model with savePretrained).",
    );
  }
  for (const [name, a] of adapters) {
    if (a.rank !== first.rank || a.alpha !== first.alpha || a.useRslora !== first.useRslora) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `saveLoraAdapter: the adapter on "${name}" has rank ${a.rank} and alpha ${a.alpha}, others ${first.rank} and ${first.alpha}. One adapter_config.json describes one rank and alpha.`,
      );
    }
  }
  const files = await modelFiles(target);
  if ((await files.read(ADAPTER_CONFIG_FILE)) !== undefined && options.overwrite !== true) {
    throw new ProximalError(
      "FILE_EXISTS",
      `${files.description} already holds an ${ADAPTER_CONFIG_FILE}. Pick another folder, or pass { overwrite: true } (--force) to replace it.`,
    );
  }
  const prefix = peftPrefix(model);
  const tensors: Record<string, SafetensorEntry> = {};
  for (const [name, a] of adapters) {
    for (const [part, layer] of [
      ["lora_A", a.lora_A],
      ["lora_B", a.lora_B],
    ] as const) {
      tensors[`${prefix}${name}.${part}.weight`] = {
        dtype: "F32",
        shape: [...layer.weight.shape],
        data: layer.weight.data as Float32Array,
      };
    }
  }
  // PEFT saves target_modules as the set of module-name suffixes it adapted ("all-linear" expanded)
  const targetModules = [...new Set([...adapters.keys()].map((n) => n.slice(n.lastIndexOf(".") + 1)))].sort();
  const config = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: options.baseModelNameOrPath ?? null,
    bias: "none",
    fan_in_fan_out: model instanceof GPT, // GPT-2's Conv1D stores [in, out]; the lora_A/lora_B layouts are the same
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: first.alpha,
    lora_dropout: first.lora_dropout?.p ?? 0,
    modules_to_save: null,
    peft_type: "LORA",
    r: first.rank,
    rank_pattern: {},
    revision: null,
    target_modules: targetModules,
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: first.useRslora,
  };
  await files.write(ADAPTER_SAFETENSORS_FILE, writeSafetensors(tensors, { format: "pt" }));
  await files.write(ADAPTER_CONFIG_FILE, new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));
}

/** Read and check the LoRA settings of an `adapter_config.json`; throws MALFORMED_FILE or INVALID_OPTION naming the field. */
export function parsePeftLoraConfig(json: Record<string, unknown>, where: string): PeftLoraConfig {
  const fail = (field: string, message: string): never => {
    throw new ProximalError("INVALID_OPTION", `${where}: "${field}" ${message}`);
  };
  if (json.peft_type !== "LORA") {
    fail("peft_type", `is ${JSON.stringify(json.peft_type)}; only "LORA" adapters are supported.`);
  }
  const r = json.r;
  if (!Number.isInteger(r) || (r as number) < 1)
    fail("r", `must be a positive integer, got ${JSON.stringify(r)}.`);
  const alpha = json.lora_alpha ?? 8;
  if (typeof alpha !== "number" || !(alpha > 0))
    fail("lora_alpha", `must be a positive number, got ${JSON.stringify(alpha)}.`);
  const dropout = json.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
    fail("lora_dropout", `must be a number in [0, 1), got ${JSON.stringify(dropout)}.`);
  }
  const targets = json.target_modules;
  let targetModules: string[] | "all-linear";
  if (targets === "all-linear") targetModules = "all-linear";
  else if (Array.isArray(targets) && targets.length > 0 && targets.every((t) => typeof t === "string")) {
    targetModules = targets as string[];
  } else {
    targetModules = fail(
      "target_modules",
      `must be a list of module names or "all-linear", got ${JSON.stringify(targets)} (a regular-expression string is not supported: list the module names).`,
    );
  }
  if ((json.bias ?? "none") !== "none") {
    fail(
      "bias",
      `is ${JSON.stringify(json.bias)}; only "none" is supported (no trained biases in the adapter).`,
    );
  }
  for (const field of ["use_dora"] as const) {
    if (json[field] === true) fail(field, "is true; DoRA adapters are not supported.");
  }
  for (const field of ["rank_pattern", "alpha_pattern"] as const) {
    const value = json[field];
    if (
      value !== undefined &&
      value !== null &&
      (typeof value !== "object" || Object.keys(value).length > 0)
    ) {
      fail(field, `is ${JSON.stringify(value)}; per-layer ranks and alphas are not supported.`);
    }
  }
  for (const field of ["layers_to_transform", "modules_to_save"] as const) {
    const value = json[field];
    if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) {
      fail(field, `is ${JSON.stringify(value)}; it is not supported (leave it null).`);
    }
  }
  const base = json.base_model_name_or_path ?? null;
  return {
    rank: r as number,
    alpha: alpha as number,
    dropout: dropout as number,
    targetModules,
    useRslora: json.use_rslora === true,
    baseModelNameOrPath: typeof base === "string" ? base : null,
  };
}

/**
 * Add the LoRA adapter saved in PEFT's layout at `source` to `model` (which must have none yet):
 * checks the config and that the file holds exactly `lora_A` [r, in] and `lora_B` [out, r] for every
 * targeted layer, then applies LoRA ({@link applyLora}: the base is frozen) and loads the tensors.
 * Throws, changing nothing, on a missing file, an unsupported config, or tensors that do not fit.
 * Returns the config read.
 *
 * @example
 * const { model } = await loadPretrained("models/SmolLM2-135M");
 * await loadLoraAdapter(model, "runs/grpo/adapter");
 */
export async function loadLoraAdapter(model: PretrainedModel, source: ModelSource): Promise<PeftLoraConfig> {
  const files = await modelFiles(source);
  const json = await readJson(files, ADAPTER_CONFIG_FILE, false);
  if (json === null) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${ADAPTER_CONFIG_FILE} not found in ${files.description}: not a PEFT adapter folder (PeftModel.save_pretrained writes one).`,
    );
  }
  const where = `${ADAPTER_CONFIG_FILE} in ${files.description}`;
  const config = parsePeftLoraConfig(json, where);
  const bytes = await files.read(ADAPTER_SAFETENSORS_FILE);
  if (bytes === undefined) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${ADAPTER_SAFETENSORS_FILE} not found in ${files.description}. proximal reads safetensors adapters only (adapter_model.bin: re-save with safe_serialization=True).`,
    );
  }
  const saved = readSafetensors(bytes).tensors;
  // check everything against the layers the config targets before the model changes
  const prefix = peftPrefix(model);
  const layers = new Map(linearLayers(model));
  const expected = new Map<string, number[]>();
  for (const name of loraTargetNames(model, config.targetModules)) {
    const layer = layers.get(name);
    if (layer === undefined) continue;
    expected.set(`${prefix}${name}.lora_A.weight`, [config.rank, layer.inFeatures]);
    expected.set(`${prefix}${name}.lora_B.weight`, [layer.outFeatures, config.rank]);
  }
  const missing = [...expected.keys()].filter((k) => !(k in saved));
  const unexpected = Object.keys(saved).filter((k) => !expected.has(k));
  if (missing.length > 0 || unexpected.length > 0) {
    const list = (keys: string[]): string =>
      keys
        .slice(0, 4)
        .map((k) => `"${k}"`)
        .join(", ") + (keys.length > 4 ? `, ... (${keys.length} in all)` : "");
    const parts = [
      ...(missing.length > 0 ? [`missing ${list(missing)}`] : []),
      ...(unexpected.length > 0 ? [`unexpected ${list(unexpected)}`] : []),
    ];
    throw new ProximalError(
      "MALFORMED_FILE",
      `${ADAPTER_SAFETENSORS_FILE} in ${files.description} does not fit this ${model.constructor.name} with target_modules ${JSON.stringify(config.targetModules)}: ${parts.join("; ")}. Was the adapter trained on another base model?`,
    );
  }
  const wrong = [...expected].filter(
    ([k, shape]) => saved[k].dtype !== "F32" || saved[k].shape.join(",") !== shape.join(","),
  );
  if (wrong.length > 0) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${ADAPTER_SAFETENSORS_FILE} in ${files.description}: ${wrong
        .map(
          ([k, shape]) =>
            `"${k}" is ${saved[k].dtype} [${saved[k].shape.join(", ")}], expected float [${shape.join(", ")}]`,
        )
        .join("; ")} (r = ${config.rank}). Was the adapter trained on another base model, or is "r" wrong?`,
    );
  }
  const adapters = applyLora(model, config);
  for (const [name, adapter] of adapters) {
    adapter.lora_A.loadStateDict({ weight: entryTensor(saved[`${prefix}${name}.lora_A.weight`]) });
    adapter.lora_B.loadStateDict({ weight: entryTensor(saved[`${prefix}${name}.lora_B.weight`]) });
  }
  return config;
}

function entryTensor(entry: SafetensorEntry): Tensor {
  return new Tensor(entry.data as Float32Array, entry.shape);
}
