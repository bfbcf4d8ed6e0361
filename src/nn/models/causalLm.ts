import { ProximalError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import type { KVCache } from "../attention.js";

// What every decoder-only language model in nn/models shares: the forward options and output that
// rlhf's `generate()` and trainers call, the KV-cache shape, and Hugging Face's padding conventions.
// The field names match rlhf/gpt.ts's GPTForwardOptions/GPTOutput/GPTCache, so a Llama drops into
// everything written for the GPT.

/** Per-layer keys and values of the positions seen so far, for incremental decoding. */
export interface CausalLMCache {
  /** One entry per layer, each `k`/`v` of shape [batch, numKeyValueHeads, length, headDim]. */
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
  /** Keys and values from an earlier call (null: start a cache). @defaultValue no cache */
  cache?: CausalLMCache | null;
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
  if (past !== null && past.layers.length !== numLayers) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${model}.forward: the cache has ${past.layers.length} layers, the model ${numLayers}. Pass the cache this model returned.`,
    );
  }
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
