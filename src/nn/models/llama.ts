import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { add, linear, mul, permute, reshape, scaledDotProductAttention, sigmoid } from "../../tensor/ops.js";
import type { Tensor } from "../../tensor/tensor.js";
import { attendWithCache, type KVCache, repeatHeads } from "../attention.js";
import { Embedding } from "../embedding.js";
import { normal_ } from "../init.js";
import { Linear } from "../linear.js";
import { Module } from "../module.js";
import { ModuleList } from "../moduleList.js";
import { RMSNorm } from "../rmsNorm.js";
import {
  applyRotaryEmbedding,
  type Llama3RopeScaling,
  type RopeTables,
  ropeInverseFrequencies,
  ropeTables,
} from "../rotaryEmbedding.js";
import {
  additivePaddingMask,
  type CausalLMCache,
  type CausalLMForwardOptions,
  type CausalLMOutput,
  checkForwardInputs,
  newLayerCaches,
  positionIdsFromMask,
} from "./causalLm.js";

/**
 * The Llama-family variants {@link LlamaForCausalLM} runs, by Hugging Face `model_type`:
 * - `"llama"`: Llama 2/3.x, SmolLM/SmolLM2; biases only with `attention_bias`/`mlp_bias`.
 * - `"qwen2"`: Qwen2 and Qwen2.5; q/k/v projections always carry a bias, `o_proj` never.
 * - `"qwen3"`: Qwen3 (dense); an RMSNorm over each query and key head before RoPE (`q_norm`, `k_norm`).
 */
export type LlamaModelType = "llama" | "qwen2" | "qwen3";

/**
 * Sizes and options of a {@link LlamaForCausalLM}: Hugging Face's `LlamaConfig` / `Qwen2Config` /
 * `Qwen3Config` fields in camelCase (`hidden_size` → `hiddenSize`), so a `config.json` carries over
 * one-to-one (see `llamaConfigFromHf`).
 */
export interface LlamaConfig {
  /** @defaultValue "llama" */
  modelType?: LlamaModelType;
  /** Number of token ids. SmolLM2-135M: 49152. */
  vocabSize: number;
  /** Width of the residual stream. SmolLM2-135M: 576. */
  hiddenSize: number;
  /** Width of the SwiGLU MLP. SmolLM2-135M: 1536. */
  intermediateSize: number;
  /** Number of decoder layers. SmolLM2-135M: 30. */
  numHiddenLayers: number;
  /** Query heads. SmolLM2-135M: 9. */
  numAttentionHeads: number;
  /** Key/value heads (grouped-query attention); must divide `numAttentionHeads`. @defaultValue numAttentionHeads */
  numKeyValueHeads?: number;
  /** Width of one head. @defaultValue hiddenSize / numAttentionHeads (Qwen3 and Llama 3.2 may set it apart) */
  headDim?: number;
  /** Longest sequence RoPE was trained for; longer inputs are refused. */
  maxPositionEmbeddings: number;
  /** @defaultValue 1e-6 (HF LlamaConfig) */
  rmsNormEps?: number;
  /** RoPE base. @defaultValue 10000 (HF LlamaConfig) */
  ropeTheta?: number;
  /** Llama 3 RoPE scaling, or null. @defaultValue null */
  ropeScaling?: Llama3RopeScaling | null;
  /** LM head shares the token embedding matrix. @defaultValue false (HF LlamaConfig) */
  tieWordEmbeddings?: boolean;
  /** Biases on q/k/v/o (llama, qwen3; ignored by qwen2, whose q/k/v always have one). @defaultValue false */
  attentionBias?: boolean;
  /** Biases in the MLP (llama only). @defaultValue false */
  mlpBias?: boolean;
  /** Standard deviation of the initial weights. @defaultValue 0.02 (HF) */
  initializerRange?: number;
}

/**
 * Grouped-query self-attention with rotary positions (Ainslie et al. 2023, arXiv:2305.13245, §2.2):
 * `numAttentionHeads` query heads share `numKeyValueHeads` key/value heads, each key/value head
 * serving `numAttentionHeads / numKeyValueHeads` consecutive query heads (HF's `repeat_kv`). The cache
 * keeps the un-repeated keys and values, so it is that factor smaller than the queries.
 */
export class LlamaAttention extends Module {
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;
  /** Qwen3's per-head RMSNorm of queries and keys, else null. */
  readonly q_norm: RMSNorm | null;
  readonly k_norm: RMSNorm | null;

  constructor(config: ResolvedLlamaConfig, rng: Rng) {
    super();
    const c = config;
    this.numHeads = c.numAttentionHeads;
    this.numKeyValueHeads = c.numKeyValueHeads;
    this.headDim = c.headDim;
    const qkvBias = c.modelType === "qwen2" || c.attentionBias;
    const outputBias = c.modelType !== "qwen2" && c.attentionBias;
    const qWidth = this.numHeads * this.headDim;
    const kvWidth = this.numKeyValueHeads * this.headDim;
    this.q_proj = this.registerModule(
      "q_proj",
      new Linear(c.hiddenSize, qWidth, { rng, bias: qkvBias, init: "none" }),
    );
    this.k_proj = this.registerModule(
      "k_proj",
      new Linear(c.hiddenSize, kvWidth, { rng, bias: qkvBias, init: "none" }),
    );
    this.v_proj = this.registerModule(
      "v_proj",
      new Linear(c.hiddenSize, kvWidth, { rng, bias: qkvBias, init: "none" }),
    );
    this.o_proj = this.registerModule(
      "o_proj",
      new Linear(qWidth, c.hiddenSize, { rng, bias: outputBias, init: "none" }),
    );
    const qkNorm = c.modelType === "qwen3";
    this.q_norm = qkNorm
      ? this.registerModule("q_norm", new RMSNorm(c.headDim, { eps: c.rmsNormEps }))
      : null;
    this.k_norm = qkNorm
      ? this.registerModule("k_norm", new RMSNorm(c.headDim, { eps: c.rmsNormEps }))
      : null;
  }

  /**
   * x [B, T, hidden]; `mask` additive [B, 1, 1, S] or null; returns [B, T, hidden]. With a cache, this
   * call's keys and values are written into it (in place) and attention covers the cached positions.
   */
  forward(x: Tensor, rope: RopeTables, mask: Tensor | null, cache: KVCache | null): Tensor {
    const [batch, time] = x.shape;
    const hd = this.headDim;
    const heads = (t: Tensor, n: number): Tensor => permute(reshape(t, [batch, time, n, hd]), [0, 2, 1, 3]);
    let q = heads(this.q_proj.forward(x), this.numHeads); // [B, H, T, hd]
    let k = heads(this.k_proj.forward(x), this.numKeyValueHeads); // [B, Hkv, T, hd]
    const v = heads(this.v_proj.forward(x), this.numKeyValueHeads);
    if (this.q_norm !== null && this.k_norm !== null) {
      // Qwen3 normalises each head before rotating it (HF Qwen3Attention)
      q = this.q_norm.forward(q);
      k = this.k_norm.forward(k);
    }
    q = applyRotaryEmbedding(q, rope);
    k = applyRotaryEmbedding(k, rope);
    const groups = this.numHeads / this.numKeyValueHeads;
    // with a cache (and in inference) the fused kernel reads each key/value head for its query
    // heads in place; without, the composed ops need k and v repeated to every query head
    const attended =
      cache === null
        ? scaledDotProductAttention(q, repeatHeads(k, groups), repeatHeads(v, groups), {
            causal: true,
            mask: mask ?? undefined,
          })
        : attendWithCache(q, k, v, cache, { causal: true, mask });
    const merged = reshape(permute(attended, [0, 2, 1, 3]), [batch, time, this.numHeads * hd]);
    return this.o_proj.forward(merged);
  }
}

/**
 * The SwiGLU feed-forward block (Shazeer 2020, arXiv:2002.05202, eq. 6 with Swish₁ = SiLU):
 * `down_proj(silu(gate_proj(x)) ⊙ up_proj(x))`.
 */
export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;

  constructor(config: ResolvedLlamaConfig, rng: Rng) {
    super();
    const { hiddenSize, intermediateSize } = config;
    const bias = config.modelType === "llama" && config.mlpBias;
    this.gate_proj = this.registerModule(
      "gate_proj",
      new Linear(hiddenSize, intermediateSize, { rng, bias, init: "none" }),
    );
    this.up_proj = this.registerModule(
      "up_proj",
      new Linear(hiddenSize, intermediateSize, { rng, bias, init: "none" }),
    );
    this.down_proj = this.registerModule(
      "down_proj",
      new Linear(intermediateSize, hiddenSize, { rng, bias, init: "none" }),
    );
  }

  forward(x: Tensor): Tensor {
    const gate = this.gate_proj.forward(x);
    return this.down_proj.forward(mul(mul(gate, sigmoid(gate)), this.up_proj.forward(x)));
  }
}

/** A pre-norm decoder layer: `h = x + attn(input_layernorm(x))`, then `h + mlp(post_attention_layernorm(h))`. */
export class LlamaDecoderLayer extends Module {
  readonly input_layernorm: RMSNorm;
  readonly self_attn: LlamaAttention;
  readonly post_attention_layernorm: RMSNorm;
  readonly mlp: LlamaMLP;

  constructor(config: ResolvedLlamaConfig, rng: Rng) {
    super();
    const eps = config.rmsNormEps;
    this.input_layernorm = this.registerModule("input_layernorm", new RMSNorm(config.hiddenSize, { eps }));
    this.self_attn = this.registerModule("self_attn", new LlamaAttention(config, rng));
    this.post_attention_layernorm = this.registerModule(
      "post_attention_layernorm",
      new RMSNorm(config.hiddenSize, { eps }),
    );
    this.mlp = this.registerModule("mlp", new LlamaMLP(config, rng));
  }

  /** x [B, T, hidden] → [B, T, hidden]; the cache (if any) is advanced in place by this call's positions. */
  forward(x: Tensor, rope: RopeTables, mask: Tensor | null, cache: KVCache | null): Tensor {
    const h = add(x, this.self_attn.forward(this.input_layernorm.forward(x), rope, mask, cache));
    return add(h, this.mlp.forward(this.post_attention_layernorm.forward(h)));
  }
}

/** The decoder stack without a head, HF's `LlamaModel` (`embed_tokens`, `layers`, `norm`). */
export class LlamaModel extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: RMSNorm;

  constructor(config: ResolvedLlamaConfig, rng: Rng) {
    super();
    const c = config;
    // drawn by LlamaForCausalLM with the other weights (or loaded from a checkpoint)
    this.embed_tokens = this.registerModule(
      "embed_tokens",
      new Embedding(c.vocabSize, c.hiddenSize, { rng, init: "none" }),
    );
    this.layers = this.registerModule(
      "layers",
      new ModuleList(Array.from({ length: c.numHiddenLayers }, () => new LlamaDecoderLayer(c, rng))),
    );
    this.norm = this.registerModule("norm", new RMSNorm(c.hiddenSize, { eps: c.rmsNormEps }));
  }
}

/**
 * A Llama-family decoder-only language model (Touvron et al. 2023, arXiv:2302.13971, §2.2: pre-norm
 * RMSNorm, SwiGLU, rotary embeddings; grouped-query attention from Llama 2 §2.2): Llama 3.x, SmolLM2,
 * Qwen2/Qwen2.5 (q/k/v bias) and Qwen3 (q/k norm), chosen by {@link LlamaConfig.modelType}.
 *
 * Parameter names are exactly those of Hugging Face's `LlamaForCausalLM` (`model.embed_tokens.weight`,
 * `model.layers.{i}.self_attn.q_proj.weight`, …, `model.norm.weight`, `lm_head.weight`), so a
 * checkpoint's state dict loads as it is. With `tieWordEmbeddings` there is no `lm_head`: logits are
 * `norm(h) · embed_tokensᵀ`.
 *
 * Forward options and output match {@link CausalLMForwardOptions} (the GPT's), so rlhf's `generate()`
 * decodes from it with the KV cache, left padding and every sampling option.
 *
 * Differs from HF: no dropout (`attention_dropout` must be 0), and attention runs in float32 with HF's
 * eager masking (finite `finfo.min` for padding).
 *
 * @example
 * const model = new LlamaForCausalLM({ vocabSize: 64, hiddenSize: 32, intermediateSize: 64,
 *   numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 128 });
 * const { logits } = model.forward(tensor([[1, 2, 3]], undefined, { dtype: "int32" })); // [1, 3, 64]
 */
export class LlamaForCausalLM extends Module {
  readonly config: ResolvedLlamaConfig;
  readonly model: LlamaModel;
  /** null when the embeddings are tied. */
  readonly lm_head: Linear | null;
  private readonly inverseFrequencies: Float32Array;

  /**
   * @param options.rng - generator of the initial weights. @defaultValue new Rng(0)
   * @param options.initialize - draw the initial weights; false leaves them at zero for a checkpoint
   *   loaded right after (skipping hundreds of millions of draws for a real model). @defaultValue true
   */
  constructor(config: LlamaConfig, options: { rng?: Rng; initialize?: boolean } = {}) {
    super();
    this.config = resolveLlamaConfig(config);
    const c = this.config;
    const rng = options.rng ?? new Rng(0);
    this.model = this.registerModule("model", new LlamaModel(c, rng));
    this.lm_head = c.tieWordEmbeddings
      ? null
      : this.registerModule(
          "lm_head",
          new Linear(c.hiddenSize, c.vocabSize, { rng, bias: false, init: "none" }),
        );
    // HF LlamaPreTrainedModel._init_weights: N(0, initializer_range) for every Linear and the
    // embedding, zero biases (as built), RMSNorm weights 1 (as built)
    if (options.initialize !== false) {
      for (const [name, p] of this.namedParameters()) {
        if (name.endsWith(".weight") && !name.endsWith("norm.weight")) normal_(p, 0, c.initializerRange, rng);
      }
    }
    this.inverseFrequencies = ropeInverseFrequencies(c.headDim, c.ropeTheta, c.ropeScaling);
  }

  /**
   * ids int32 [batch, time] → logits [batch, time, vocabSize] and hidden states [batch, time, hiddenSize].
   * With a cache, `ids` are the new tokens only and attend to the cached positions too.
   */
  forward(ids: Tensor, options: CausalLMForwardOptions = {}): CausalLMOutput {
    const c = this.config;
    const pastLength = checkForwardInputs("LlamaForCausalLM", ids, options, c.numHiddenLayers);
    const [batch, time] = ids.shape;
    const total = pastLength + time;
    if (total > c.maxPositionEmbeddings) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `LlamaForCausalLM.forward: ${total} positions (${pastLength} cached + ${time} new) exceed maxPositionEmbeddings ${c.maxPositionEmbeddings}. Shorten the prompt or the number of new tokens.`,
      );
    }
    const mask = options.attentionMask ?? null;
    const past = options.cache ?? null;
    const positions = options.positionIds ?? positionIdsFromMask(batch, time, pastLength, mask);
    const rope = ropeTables(positions, this.inverseFrequencies);
    const additiveMask = mask === null ? null : additivePaddingMask(mask);

    const useCache = options.useCache ?? options.cache !== undefined;
    const layers = newLayerCaches(past, useCache, c.numHiddenLayers, [batch, c.numKeyValueHeads, c.headDim], {
      total,
      cacheLength: options.cacheLength,
      maxPositions: c.maxPositionEmbeddings,
    });
    let x = this.model.embed_tokens.forward(ids);
    let i = 0;
    for (const layer of this.model.layers) {
      x = layer.forward(x, rope, additiveMask, layers?.[i] ?? null);
      i++;
    }
    const hidden = this.model.norm.forward(x);
    let logits: Tensor | null = null;
    if (options.computeLogits !== false) {
      logits = linear(hidden, this.lm_head === null ? this.model.embed_tokens.weight : this.lm_head.weight);
    }
    const cache: CausalLMCache | null = useCache && layers !== null ? { layers, length: total } : null;
    return { logits, hidden, cache };
  }
}

/** A {@link LlamaConfig} with every default filled in. */
export type ResolvedLlamaConfig = Required<LlamaConfig>;

/** Fill defaults and check sizes; throws INVALID_OPTION naming the field. */
export function resolveLlamaConfig(config: LlamaConfig): ResolvedLlamaConfig {
  const c: ResolvedLlamaConfig = {
    ...config,
    modelType: config.modelType ?? "llama",
    numKeyValueHeads: config.numKeyValueHeads ?? config.numAttentionHeads,
    headDim: config.headDim ?? config.hiddenSize / config.numAttentionHeads,
    rmsNormEps: config.rmsNormEps ?? 1e-6,
    ropeTheta: config.ropeTheta ?? 10000,
    ropeScaling: config.ropeScaling ?? null,
    tieWordEmbeddings: config.tieWordEmbeddings ?? false,
    attentionBias: config.attentionBias ?? false,
    mlpBias: config.mlpBias ?? false,
    initializerRange: config.initializerRange ?? 0.02,
  };
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `LlamaConfig: ${message}`);
  };
  for (const key of [
    "vocabSize",
    "hiddenSize",
    "intermediateSize",
    "numHiddenLayers",
    "numAttentionHeads",
    "numKeyValueHeads",
    "headDim",
    "maxPositionEmbeddings",
  ] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) fail(`${key} must be a positive integer, got ${c[key]}.`);
  }
  if (c.headDim % 2 !== 0) fail(`headDim must be even for RoPE, got ${c.headDim}.`);
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    fail(
      `numAttentionHeads (${c.numAttentionHeads}) must be a multiple of numKeyValueHeads (${c.numKeyValueHeads}).`,
    );
  }
  if (!["llama", "qwen2", "qwen3"].includes(c.modelType)) {
    fail(`modelType must be "llama", "qwen2" or "qwen3", got ${JSON.stringify(c.modelType)}.`);
  }
  if (!(c.rmsNormEps > 0)) fail(`rmsNormEps must be > 0, got ${c.rmsNormEps}.`);
  if (!(c.ropeTheta > 0)) fail(`ropeTheta must be > 0, got ${c.ropeTheta}.`);
  const s = c.ropeScaling;
  if (s !== null) {
    if (s.ropeType !== "llama3")
      fail(`ropeScaling.ropeType must be "llama3", got ${JSON.stringify(s.ropeType)}.`);
    if (!(s.factor >= 1)) fail(`ropeScaling.factor must be >= 1, got ${s.factor}.`);
    if (!(s.highFreqFactor > s.lowFreqFactor && s.lowFreqFactor > 0)) {
      fail(
        `ropeScaling needs highFreqFactor > lowFreqFactor > 0, got ${s.highFreqFactor} and ${s.lowFreqFactor}.`,
      );
    }
    if (!(s.originalMaxPositionEmbeddings > 0)) {
      fail(`ropeScaling.originalMaxPositionEmbeddings must be > 0, got ${s.originalMaxPositionEmbeddings}.`);
    }
  }
  return c;
}
