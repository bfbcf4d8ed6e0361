import { ProximalError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { DEFAULT_CACHE_LENGTH, KVCache } from "../attention.js";

// What every decoder-only language model in nn/models shares: the forward options and output that
// rlhf's `generate()` and trainers call, the KV-cache shape, and Hugging Face's padding conventions.
// The field names match rlhf/gpt.ts's GPTForwardOptions/GPTOutput/GPTCache, so a Llama drops into
// everything written for the GPT.

/**
 * Per-layer keys and values of the positions seen so far, for incremental decoding. The layers'
 * caches are written in place ({@link KVCache}): pass the cache the last call returned.
 */
export interface CausalLMCache {
  /** One entry per layer, each holding [batch, numKeyValueHeads, length, headDim] keys and values. */
  layers: KVCache[];
  /** Number of cached positions. */
  length: number;
}

/** Options of a causal LM's `forward`. */
export interface CausalLMForwardOptions {
  /**
   * [batch, pastLength + time] with 1 for real tokens and 0 for padding (HF `attention_mask`), over
   * the cached positions and the new ones. Padding keys are masked out of every query's attention.
   * @defaultValue all ones
   */
  attentionMask?: Tensor | null;
  /**
   * int32 [batch, time] positions of the new tokens. @defaultValue with an attention mask,
   * `cumsum(mask) - 1` with pads at 1 (HF's `prepare_inputs_for_generation`), so left padding does not
   * shift positions; without one, `pastLength, pastLength + 1, ...`
   */
  positionIds?: Tensor | null;
  /**
   * Keys and values from an earlier call (null: start a cache). It is advanced in place and returned
   * (with `useCache: false` it is read but left as it was). @defaultValue no cache
   */
  cache?: CausalLMCache | null;
  /**
   * Positions to preallocate when this call starts a cache (the prompt plus every token to come; at
   * most the model's context is allocated); a step past it throws. @defaultValue none: the cache
   * starts small and doubles when full
   */
  cacheLength?: number;
  /** Return the updated cache. @defaultValue true when `cache` is given */
  useCache?: boolean;
  /** Apply the LM head; turn off for value or reward heads that only need hidden states. @defaultValue true */
  computeLogits?: boolean;
}

/** What a causal LM's `forward` returns. */
export interface CausalLMOutput {
  /** [batch, time, vocabSize], or null when `computeLogits` is false. */
  logits: Tensor | null;
  /** Final hidden states after the last norm, [batch, time, hiddenSize]. */
  hidden: Tensor;
  /** The cache extended by this call's positions, when caching. */
  cache: CausalLMCache | null;
}

// HF masks padding with torch.finfo(float32).min rather than -inf, so a row with every key masked
// (a padding query) stays finite and no NaN reaches later layers
const MASKED = -3.4028234663852886e38;

/** Additive [batch, 1, 1, keys] mask from a 1/0 attention mask: 0 for real tokens, finfo.min for padding. */
export function additivePaddingMask(mask: Tensor): Tensor {
  const [batch, total] = mask.shape;
  const data = new Float32Array(batch * total);
  for (let i = 0; i < data.length; i++) data[i] = mask.data[i] === 0 ? MASKED : 0;
  return new Tensor(data, [batch, 1, 1, total]);
}

/**
 * Positions of the last `time` of `pastLength + time` columns: with a mask, the number of real tokens
 * before each one (HF: `cumsum(mask) - 1`, padding set to 1); without, `pastLength + t`.
 */
export function positionIdsFromMask(
  batch: number,
  time: number,
  pastLength: number,
  mask: Tensor | null,
): Tensor {
  const out = new Int32Array(batch * time);
  const total = pastLength + time;
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let s = 0; s < total; s++) {
      const real = mask === null || mask.data[b * total + s] !== 0;
      if (real) count++;
      if (s >= pastLength) out[b * time + s - pastLength] = real ? count - 1 : 1;
    }
  }
  return new Tensor(out, [batch, time]);
}

/** Check ids, cache and mask of a forward call; returns the number of cached positions. */
export function checkForwardInputs(
  model: string,
  ids: Tensor,
  options: CausalLMForwardOptions,
  numLayers: number,
): number {
  if (ids.rank !== 2 || ids.dtype !== "int32") {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${model}.forward expects int32 ids of shape [batch, time], got ${ids.dtype} [${ids.shape.join(", ")}].`,
    );
  }
  const [batch, time] = ids.shape;
  const past = options.cache ?? null;
  const pastLength = past?.length ?? 0;
  if (past !== null) checkCacheLayers(model, past, numLayers);
  const mask = options.attentionMask ?? null;
  const total = pastLength + time;
  if (mask !== null && (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== total)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${model}.forward: attentionMask must be [${batch}, ${total}] (cached + new positions), got [${mask.shape.join(", ")}].`,
    );
  }
  const positions = options.positionIds ?? null;
  if (
    positions !== null &&
    (positions.rank !== 2 || positions.shape[0] !== batch || positions.shape[1] !== time)
  ) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${model}.forward: positionIds must be int32 [${batch}, ${time}], got [${positions.shape.join(", ")}].`,
    );
  }
  return pastLength;
}

/**
 * Check a cache from an earlier call: one layer per model layer, each holding `cache.length`
 * positions (a cache object from before a later call advanced its layers in place fails here).
 */
export function checkCacheLayers(model: string, cache: CausalLMCache, numLayers: number): void {
  if (cache.layers.length !== numLayers) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${model}.forward: the cache has ${cache.layers.length} layers, the model ${numLayers}. Pass the cache this model returned.`,
    );
  }
  const stale = cache.layers.find((layer) => layer.length !== cache.length);
  if (stale !== undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${model}.forward: the cache says ${cache.length} positions but its layers hold ${stale.length}. Caches are updated in place: pass the cache the last call returned, or clone() each layer before branching a decoding.`,
    );
  }
}

/**
 * The per-layer caches a forward call writes into: the given cache's (copies when `useCache` is
 * false, so it is read but not advanced), else new ones when caching (`cacheLength` positions, fixed;
 * without it, growable from the call's own length or {@link DEFAULT_CACHE_LENGTH}), else null.
 * `shape` is [batch, heads, headDim] of each layer's keys and values.
 */
export function newLayerCaches(
  past: CausalLMCache | null,
  useCache: boolean,
  numLayers: number,
  shape: [number, number, number],
  lengths: { total: number; cacheLength: number | undefined; maxPositions: number },
): KVCache[] | null {
  if (past !== null) return useCache ? past.layers : past.layers.map((layer) => layer.clone());
  if (!useCache) return null;
  const [batch, heads, headDim] = shape;
  const { total, cacheLength, maxPositions } = lengths;
  if (cacheLength !== undefined) {
    if (!Number.isInteger(cacheLength) || cacheLength < total) {
      throw new ProximalError(
        "INVALID_OPTION",
        `cacheLength must be an integer of at least this call's ${total} positions (the prompt plus every token to come), got ${cacheLength}.`,
      );
    }
    // never more than the model's context: no call can fill more (forward checks it first)
    const length = Math.min(cacheLength, maxPositions);
    return Array.from({ length: numLayers }, () => new KVCache(batch, heads, headDim, length));
  }
  const start = Math.min(maxPositions, Math.max(total, DEFAULT_CACHE_LENGTH));
  return Array.from(
    { length: numLayers },
    () => new KVCache(batch, heads, headDim, start, { growable: true }),
  );
}
