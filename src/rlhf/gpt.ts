import { ProximalError } from "../errors.js";
import { readSafetensors, type SafetensorEntry, writeSafetensors } from "../io/safetensors.js";
import { attendWithCache, type KVCache } from "../nn/attention.js";
import { Embedding } from "../nn/embedding.js";
import { normal_, zeros_ } from "../nn/init.js";
import { LayerNorm } from "../nn/layerNorm.js";
import { Linear } from "../nn/linear.js";
import {
  additivePaddingMask,
  checkCacheLayers,
  newLayerCaches,
  positionIdsFromMask,
} from "../nn/models/causalLm.js";
import { Module } from "../nn/module.js";
import { ModuleList } from "../nn/moduleList.js";
import { Rng } from "../random/rng.js";
import {
  add,
  gelu,
  linear,
  narrow,
  permute,
  reshape,
  scaledDotProductAttention,
  transpose,
} from "../tensor/ops.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * Sizes of a {@link GPT}, named after Hugging Face's `GPT2Config` fields in camelCase
 * (`vocab_size`, `n_positions`, `n_embd`, `n_layer`, `n_head`, `layer_norm_epsilon`,
 * `initializer_range`), so a `config.json` carries over one-to-one.
 */
export interface GPTConfig {
  /** Number of token ids. GPT-2: 50257. */
  vocabSize: number;
  /** Longest sequence (rows of the position table). GPT-2: 1024. */
  nPositions: number;
  /** Width of the residual stream. GPT-2 small: 768. */
  nEmbd: number;
  /** Number of transformer blocks. GPT-2 small: 12. */
  nLayer: number;
  /** Attention heads per block; must divide `nEmbd`. GPT-2 small: 12. */
  nHead: number;
  /** @defaultValue 1e-5 (GPT-2) */
  layerNormEpsilon?: number;
  /** Standard deviation of the initial weights. @defaultValue 0.02 (GPT-2) */
  initializerRange?: number;
}

/**
 * Per-layer keys and values of the positions seen so far, for incremental decoding. The layers'
 * caches are written in place ({@link KVCache}): pass the cache the last call returned.
 */
export interface GPTCache {
  /** One entry per block, each holding [batch, nHead, length, headDim] keys and values. */
  layers: KVCache[];
  /** Number of cached positions. */
  length: number;
}

/** Options of {@link GPT.forward}. */
export interface GPTForwardOptions {
  /**
   * [batch, pastLength + time] with 1 for real tokens and 0 for padding (HF `attention_mask`), over
   * the cached positions and the new ones. Padding keys are masked out of every query's attention.
   * @defaultValue all ones
   */
  attentionMask?: Tensor | null;
  /**
   * int32 [batch, time] positions of the new tokens. @defaultValue with an attention mask, the count of
   * real tokens before each one (`cumsum(mask) - 1`, pads at 1, as HF's `prepare_inputs_for_generation`),
   * so left padding does not shift positions; without one, `pastLength, pastLength + 1, ...`
   */
  positionIds?: Tensor | null;
  /**
   * Keys and values from an earlier call (null: start a cache). It is advanced in place and returned
   * (with `useCache: false` it is read but left as it was). @defaultValue no cache
   */
  cache?: GPTCache | null;
  /**
   * Positions to preallocate when this call starts a cache (the prompt plus every token to come; at
   * most the model's context is allocated); a step past it throws. @defaultValue none: the cache
   * starts small and doubles when full
   */
  cacheLength?: number;
  /** Return the updated cache in {@link GPTOutput.cache}. @defaultValue true when `cache` is given */
  useCache?: boolean;
  /** Apply the LM head; turn off for value or reward heads that only need hidden states. @defaultValue true */
  computeLogits?: boolean;
}

/** What {@link GPT.forward} returns. */
export interface GPTOutput {
  /** [batch, time, vocabSize], or null when `computeLogits` is false. */
  logits: Tensor | null;
  /** Final hidden states after `ln_f`, [batch, time, nEmbd] (what value and reward heads read). */
  hidden: Tensor;
  /** The cache extended by this call's positions, when caching. */
  cache: GPTCache | null;
}

/** GPT-2's causal self-attention with HF's names: fused `c_attn` (q, k, v) and `c_proj`. */
export class GPTAttention extends Module {
  readonly nHead: number;
  readonly headDim: number;
  /** [3·nEmbd, nEmbd] in proximal's [out, in] layout (HF's Conv1D stores the transpose). */
  readonly c_attn: Linear;
  readonly c_proj: Linear;

  constructor(nEmbd: number, nHead: number, rng: Rng) {
    super();
    this.nHead = nHead;
    this.headDim = nEmbd / nHead;
    this.c_attn = this.registerModule("c_attn", new Linear(nEmbd, 3 * nEmbd, { rng }));
    this.c_proj = this.registerModule("c_proj", new Linear(nEmbd, nEmbd, { rng }));
  }

  /**
   * x [B, T, d]; `mask` additive [B, 1, 1, S]; returns [B, T, d]. With a cache, this call's keys and
   * values are written into it (in place) and attention covers the cached positions too.
   */
  forward(x: Tensor, mask: Tensor | null, cache: KVCache | null): Tensor {
    const [batch, time, width] = x.shape;
    const h = this.nHead;
    const hd = this.headDim;
    // [B, T, 3d] -> [B, T, 3, H, hd] -> [3, B, H, T, hd]; HF splits q, k, v along the last axis
    const qkv = permute(reshape(this.c_attn.forward(x), [batch, time, 3, h, hd]), [2, 0, 3, 1, 4]);
    const split = (i: number): Tensor => reshape(narrow(qkv, 0, i, 1), [batch, h, time, hd]);
    const q = split(0);
    const k = split(1);
    const v = split(2);
    const heads =
      cache === null
        ? scaledDotProductAttention(q, k, v, { causal: true, mask: mask ?? undefined })
        : attendWithCache(q, k, v, cache, { causal: true, mask });
    const merged = reshape(permute(heads, [0, 2, 1, 3]), [batch, time, width]);
    return this.c_proj.forward(merged);
  }
}

/** GPT-2's MLP: `c_proj(gelu_tanh(c_fc(x)))` with a 4x wider hidden layer. */
export class GPTMLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;

  constructor(nEmbd: number, rng: Rng) {
    super();
    this.c_fc = this.registerModule("c_fc", new Linear(nEmbd, 4 * nEmbd, { rng }));
    this.c_proj = this.registerModule("c_proj", new Linear(4 * nEmbd, nEmbd, { rng }));
  }

  forward(x: Tensor): Tensor {
    return this.c_proj.forward(gelu(this.c_fc.forward(x), "tanh"));
  }
}

/** A pre-LN transformer block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`. */
export class GPTBlock extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: GPTAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: GPTMLP;

  constructor(config: Required<GPTConfig>, rng: Rng) {
    super();
    const eps = config.layerNormEpsilon;
    this.ln_1 = this.registerModule("ln_1", new LayerNorm(config.nEmbd, { eps }));
    this.attn = this.registerModule("attn", new GPTAttention(config.nEmbd, config.nHead, rng));
    this.ln_2 = this.registerModule("ln_2", new LayerNorm(config.nEmbd, { eps }));
    this.mlp = this.registerModule("mlp", new GPTMLP(config.nEmbd, rng));
  }

  /** x [B, T, d] → [B, T, d]; the cache (if any) is advanced in place by this call's positions. */
  forward(x: Tensor, mask: Tensor | null, cache: KVCache | null): Tensor {
    const h = add(x, this.attn.forward(this.ln_1.forward(x), mask, cache));
    return add(h, this.mlp.forward(this.ln_2.forward(h)));
  }
}

/** Names of HF's Conv1D weights, stored [in, out] in GPT-2 checkpoints. */
const CONV1D_WEIGHT = /(^|\.)(c_attn|c_proj|c_fc)\.weight$/;
/** Buffers of old GPT-2 checkpoints that are not parameters (the causal mask and its fill value). */
const SKIPPED_BUFFER = /(^|\.)attn\.(bias|masked_bias)$/;

/**
 * A decoder-only transformer language model in GPT-2's shape (Radford et al. 2019, "Language Models
 * are Unsupervised Multitask Learners", §2.3): token plus learned position embeddings, `nLayer`
 * pre-LN blocks of causal multi-head attention and a 4x GELU (tanh) MLP, a final LayerNorm `ln_f`,
 * and an LM head tied to the token embedding (`logits = ln_f(h) · wteᵀ`).
 *
 * Parameter names and shapes are those of Hugging Face's `GPT2Model` (`wte.weight`, `wpe.weight`,
 * `h.{i}.ln_1.weight`, `h.{i}.attn.c_attn.weight`, ..., `ln_f.bias`), except that projection weights
 * are kept in PyTorch's Linear layout [out, in]; {@link GPT.fromSafetensors} and
 * {@link GPT.toSafetensors} transpose HF's Conv1D [in, out] on the way in and out.
 *
 * Differs from HF: no dropout (RLHF fine-tuning turns it off, as TRL's `disable_dropout`), and
 * padding is masked with HF's finite `finfo.min` but without HF's causal-mask buffer.
 *
 * @example
 * const gpt = new GPT({ vocabSize: 64, nPositions: 32, nEmbd: 32, nLayer: 2, nHead: 4 }, { rng: new Rng(0) });
 * const { logits } = gpt.forward(tensor([[1, 2, 3]], undefined, { dtype: "int32" })); // [1, 3, 64]
 */
export class GPT extends Module {
  readonly config: Required<GPTConfig>;
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly h: ModuleList<GPTBlock>;
  readonly ln_f: LayerNorm;

  constructor(config: GPTConfig, options: { rng?: Rng } = {}) {
    super();
    this.config = resolveConfig(config);
    const c = this.config;
    const rng = options.rng ?? new Rng(0);
    const std = c.initializerRange;
    this.wte = this.registerModule("wte", new Embedding(c.vocabSize, c.nEmbd, { rng, std }));
    this.wpe = this.registerModule("wpe", new Embedding(c.nPositions, c.nEmbd, { rng, std }));
    this.h = this.registerModule(
      "h",
      new ModuleList(Array.from({ length: c.nLayer }, () => new GPTBlock(c, rng))),
    );
    this.ln_f = this.registerModule("ln_f", new LayerNorm(c.nEmbd, { eps: c.layerNormEpsilon }));
    // GPT-2 init (HF GPT2PreTrainedModel._init_weights): N(0, 0.02) weights, zero biases, and the
    // residual projections scaled by 1/√(2·nLayer) (Radford et al. 2019, §2.3)
    for (const [name, p] of this.namedParameters()) {
      if (name.startsWith("h.") && name.endsWith(".bias") && !name.includes(".ln_")) zeros_(p);
      else if (name.endsWith("c_proj.weight")) normal_(p, 0, std / Math.sqrt(2 * c.nLayer), rng);
      else if (/\.(c_attn|c_fc)\.weight$/.test(name)) normal_(p, 0, std, rng);
    }
  }

  /**
   * ids int32 [batch, time] → logits [batch, time, vocabSize] and hidden states [batch, time, nEmbd].
   * With a cache, `ids` are the new tokens only and attend to the cached positions too.
   */
  forward(ids: Tensor, options: GPTForwardOptions = {}): GPTOutput {
    if (ids.rank !== 2 || ids.dtype !== "int32") {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `GPT.forward expects int32 ids of shape [batch, time], got ${ids.dtype} [${ids.shape.join(", ")}].`,
      );
    }
    const [batch, time] = ids.shape;
    const past = options.cache ?? null;
    const pastLength = past?.length ?? 0;
    const total = pastLength + time;
    if (total > this.config.nPositions) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `GPT.forward: ${total} positions (${pastLength} cached + ${time} new) exceed nPositions ${this.config.nPositions}. Shorten the prompt or the number of new tokens.`,
      );
    }
    if (past !== null) checkCacheLayers("GPT", past, this.config.nLayer);
    const mask = options.attentionMask ?? null;
    if (mask !== null && (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== total)) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `GPT.forward: attentionMask must be [${batch}, ${total}] (cached + new positions), got [${mask.shape.join(", ")}].`,
      );
    }
    const positions = options.positionIds ?? positionIdsFromMask(batch, time, pastLength, mask);
    const additiveMask = mask === null ? null : additivePaddingMask(mask);

    const useCache = options.useCache ?? options.cache !== undefined;
    const c = this.config;
    const layers = newLayerCaches(past, useCache, c.nLayer, [batch, c.nHead, c.nEmbd / c.nHead], {
      total,
      cacheLength: options.cacheLength,
      maxPositions: c.nPositions,
    });
    let x = add(this.wte.forward(ids), this.wpe.forward(positions));
    let i = 0;
    for (const block of this.h) {
      x = block.forward(x, additiveMask, layers?.[i] ?? null);
      i++;
    }
    const hidden = this.ln_f.forward(x);
    const logits = options.computeLogits === false ? null : linear(hidden, this.wte.weight); // tied head
    return { logits, hidden, cache: useCache && layers !== null ? { layers, length: total } : null };
  }

  /**
   * Build a GPT from a Hugging Face GPT-2 safetensors file (`model.safetensors` of `gpt2`,
   * `distilgpt2`, or a GPT2LMHeadModel fine-tune). Names may carry a `transformer.` prefix; the tied
   * `lm_head.weight` and the old `attn.bias`/`attn.masked_bias` buffers are skipped; Conv1D weights
   * are transposed to [out, in]. Sizes missing from `config` are read off the tensors; `nHead` cannot
   * be, so it is required.
   */
  static fromSafetensors(bytes: Uint8Array, config: Partial<GPTConfig> & { nHead: number }): GPT {
    const { tensors } = readSafetensors(bytes);
    const dict: Record<string, Tensor> = {};
    for (const [rawName, entry] of Object.entries(tensors)) {
      const name = rawName.startsWith("transformer.") ? rawName.slice("transformer.".length) : rawName;
      if (name === "lm_head.weight" || SKIPPED_BUFFER.test(name)) continue;
      const t = new Tensor(entry.data, entry.shape);
      dict[name] = CONV1D_WEIGHT.test(name) ? transpose(t).detach() : t;
    }
    const wte = dict["wte.weight"];
    const wpe = dict["wpe.weight"];
    if (wte === undefined || wpe === undefined) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `GPT.fromSafetensors: no wte.weight/wpe.weight in the file (found ${Object.keys(tensors).slice(0, 5).join(", ")}, ...). Is this a GPT-2 checkpoint?`,
      );
    }
    let nLayer = 0;
    for (const name of Object.keys(dict)) {
      const m = /^h\.(\d+)\./.exec(name);
      if (m) nLayer = Math.max(nLayer, Number(m[1]) + 1);
    }
    const inferred: GPTConfig = {
      vocabSize: wte.shape[0],
      nPositions: wpe.shape[0],
      nEmbd: wte.shape[1],
      nLayer,
      nHead: config.nHead,
    };
    for (const key of ["vocabSize", "nPositions", "nEmbd", "nLayer"] as const) {
      if (config[key] !== undefined && config[key] !== inferred[key]) {
        throw new ProximalError(
          "SHAPE_MISMATCH",
          `GPT.fromSafetensors: config.${key} is ${config[key]} but the checkpoint has ${inferred[key]}. Drop it from the config to use the checkpoint's.`,
        );
      }
    }
    const gpt = new GPT({ ...config, ...inferred });
    gpt.loadStateDict(dict);
    return gpt;
  }

  /**
   * This model as Hugging Face GPT-2 safetensors bytes: Conv1D weights transposed back to [in, out],
   * names prefixed with `prefix` (`"transformer."` for a GPT2LMHeadModel file), metadata
   * `{ format: "pt" }` so `transformers` loads it.
   */
  toSafetensors(options: { prefix?: string } = {}): Uint8Array {
    const prefix = options.prefix ?? "";
    const entries: Record<string, SafetensorEntry> = {};
    for (const [name, t] of Object.entries(this.stateDict())) {
      const out = CONV1D_WEIGHT.test(name) ? transpose(t) : t;
      entries[prefix + name] = { dtype: "F32", shape: out.shape.slice(), data: out.values };
    }
    return writeSafetensors(entries, { format: "pt" });
  }
}

function resolveConfig(config: GPTConfig): Required<GPTConfig> {
  const c: Required<GPTConfig> = { layerNormEpsilon: 1e-5, initializerRange: 0.02, ...config };
  for (const key of ["vocabSize", "nPositions", "nEmbd", "nLayer", "nHead"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `GPTConfig.${key} must be a positive integer, got ${c[key]}.`,
      );
    }
  }
  if (c.nEmbd % c.nHead !== 0) {
    throw new ProximalError(
      "INVALID_OPTION",
      `GPTConfig: nEmbd (${c.nEmbd}) must be a multiple of nHead (${c.nHead}).`,
    );
  }
  return c;
}

/** A copy of a GPT with its own parameters (same config and weights), trainable like the original. */
export function cloneGPT(gpt: GPT): GPT {
  const copy = new GPT(gpt.config);
  copy.loadStateDict(gpt.stateDict());
  return copy;
}
