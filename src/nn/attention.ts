import { ProximalError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import {
  concat,
  expand,
  fusedAttention,
  narrow,
  permute,
  reshape,
  scaledDotProductAttention,
} from "../tensor/ops.js";
import { recording, Tensor, zeros } from "../tensor/tensor.js";
import { Linear } from "./linear.js";
import { Module } from "./module.js";

/**
 * Keys and values of the positions seen so far, for GPT-style incremental decoding (the KV cache):
 * buffers preallocated for `maxLength` positions, [batch, numHeads, maxLength, headDim] each, of
 * which the first `length` are filled. A decoding step writes its new keys and values in place
 * ({@link KVCache.append}) and attention reads the first `length` positions where they lie
 * ({@link fusedAttention}), so a step neither concatenates nor reallocates.
 *
 * A cache made with a `maxLength` is fixed: a step past it throws, naming the limit. One made
 * without (`growable`) doubles its buffers when full, a copy every doubling rather than every step.
 * The cache is updated in place: a forward call with it returns the same object, advanced, so keep a
 * cache per sequence batch and pass the one the last call returned. Earlier releases returned a new
 * `{ k, v }` per call; `k` and `v` remain, as copies of the filled positions.
 */
export class KVCache {
  readonly batch: number;
  readonly numHeads: number;
  readonly headDim: number;
  /** Whether the buffers double when full (true) or a step past `maxLength` throws (false). */
  readonly growable: boolean;
  /** [batch, numHeads, maxLength, headDim]; positions from `length` on are unused. */
  keys: Tensor;
  values: Tensor;
  /** Number of filled positions. */
  length = 0;

  /**
   * @param maxLength - positions to preallocate. With `growable` it is only the starting size.
   * @param options.growable - double the buffers when full instead of throwing. @defaultValue false
   */
  constructor(
    batch: number,
    numHeads: number,
    headDim: number,
    maxLength: number,
    options: { growable?: boolean } = {},
  ) {
    for (const [name, value] of Object.entries({ batch, numHeads, headDim, maxLength })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `KVCache: ${name} must be a positive integer, got ${value}.`,
        );
      }
    }
    this.batch = batch;
    this.numHeads = numHeads;
    this.headDim = headDim;
    this.growable = options.growable ?? false;
    this.keys = zeros([batch, numHeads, maxLength, headDim]);
    this.values = zeros([batch, numHeads, maxLength, headDim]);
  }

  /** Positions the buffers hold. */
  get maxLength(): number {
    return this.keys.shape[2];
  }

  /** Keys of the filled positions, [batch, numHeads, length, headDim] (a copy). */
  get k(): Tensor {
    return this.filled(this.keys);
  }

  /** Values of the filled positions, [batch, numHeads, length, headDim] (a copy). */
  get v(): Tensor {
    return this.filled(this.values);
  }

  /**
   * Write the keys and values of `T` new positions, each [batch, numHeads, T, headDim], after the
   * filled ones. Throws SHAPE_MISMATCH for other shapes and INVALID_ARGUMENT when a fixed cache would
   * pass `maxLength`. Gradients do not flow into the cache: it holds values, not graph nodes.
   */
  append(k: Tensor, v: Tensor): void {
    const expected = [this.batch, this.numHeads, -1, this.headDim];
    for (const t of [k, v]) {
      if (t.rank !== 4 || expected.some((d, i) => d !== -1 && t.shape[i] !== d) || t.dtype !== "float32") {
        throw new ProximalError(
          "SHAPE_MISMATCH",
          `KVCache.append expects float32 keys and values of shape [${this.batch}, ${this.numHeads}, newPositions, ${this.headDim}], got ${t.dtype} [${t.shape.join(", ")}]. Pass the cache returned by the previous call for the same batch.`,
        );
      }
    }
    const time = k.shape[2];
    if (v.shape[2] !== time) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `KVCache.append: keys have ${time} new positions, values ${v.shape[2]}; they must match.`,
      );
    }
    const needed = this.length + time;
    if (needed > this.maxLength) {
      if (!this.growable) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `KV cache full: ${this.length} cached + ${time} new positions exceed its maxLength ${this.maxLength}. Start the cache with room for the whole sequence: the forward option cacheLength (generate() sets it to prompt + maxNewTokens), or new KVCache(..., maxLength).`,
        );
      }
      this.grow(Math.max(needed, 2 * this.maxLength));
    }
    const hd = this.headDim;
    const rows = this.batch * this.numHeads;
    const stride = this.maxLength * hd;
    const at = this.length * hd;
    const block = time * hd;
    const keys = this.keys.data as Float32Array;
    const values = this.values.data as Float32Array;
    const kd = k.data as Float32Array;
    const vd = v.data as Float32Array;
    for (let r = 0; r < rows; r++) {
      keys.set(kd.subarray(r * block, (r + 1) * block), r * stride + at);
      values.set(vd.subarray(r * block, (r + 1) * block), r * stride + at);
    }
    this.length = needed;
  }

  /** An independent copy (same capacity and filled positions), to branch a decoding. */
  clone(): KVCache {
    const copy = new KVCache(this.batch, this.numHeads, this.headDim, this.maxLength, {
      growable: this.growable,
    });
    (copy.keys.data as Float32Array).set(this.keys.data as Float32Array);
    (copy.values.data as Float32Array).set(this.values.data as Float32Array);
    copy.length = this.length;
    return copy;
  }

  private grow(maxLength: number): void {
    const copy = (from: Tensor): Tensor => {
      const to = zeros([this.batch, this.numHeads, maxLength, this.headDim]);
      const src = from.data as Float32Array;
      const dst = to.data as Float32Array;
      const used = this.length * this.headDim;
      const oldStride = from.shape[2] * this.headDim;
      const newStride = maxLength * this.headDim;
      for (let r = 0; r < this.batch * this.numHeads; r++)
        dst.set(src.subarray(r * oldStride, r * oldStride + used), r * newStride);
      return to;
    };
    this.keys = copy(this.keys);
    this.values = copy(this.values);
  }

  private filled(buffer: Tensor): Tensor {
    const hd = this.headDim;
    const out = new Float32Array(this.batch * this.numHeads * this.length * hd);
    const src = buffer.data as Float32Array;
    const stride = this.maxLength * hd;
    const used = this.length * hd;
    for (let r = 0; r < this.batch * this.numHeads; r++)
      out.set(src.subarray(r * stride, r * stride + used), r * used);
    return new Tensor(out, [this.batch, this.numHeads, this.length, hd]);
  }
}

/**
 * Attention of new queries q [B, H, T, hd] over a cache after writing the new keys and values
 * k, v [B, Hkv, T, hd] into it (H a multiple of Hkv: grouped-query attention). Without a gradient to
 * record it runs {@link fusedAttention} on the cache's buffers in place; when q, k or v records one
 * (training through a cache, rare) it runs the composed {@link scaledDotProductAttention} over the
 * cached positions (as constants) and the new ones, so the new positions still get gradients.
 * `mask` is an additive per-key mask [B, 1, 1, length] or null.
 */
export function attendWithCache(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  cache: KVCache,
  options: { causal: boolean; mask: Tensor | null },
): Tensor {
  const past = cache.length;
  cache.append(k, v);
  const mask = options.mask ?? undefined;
  if (!recording(q, k, v)) {
    return fusedAttention(q, cache.keys, cache.values, {
      length: cache.length,
      causal: options.causal,
      mask,
    });
  }
  const pastK = narrow(cache.k, 2, 0, past);
  const pastV = narrow(cache.v, 2, 0, past);
  const groups = q.shape[1] / k.shape[1];
  return scaledDotProductAttention(
    q,
    repeatHeads(concat([pastK, k], 2), groups),
    repeatHeads(concat([pastV, v], 2), groups),
    { causal: options.causal, mask },
  );
}

/** [B, Hkv, S, hd] → [B, Hkv·groups, S, hd], head j serving heads j·groups … (j+1)·groups − 1 (HF's `repeat_kv`). */
export function repeatHeads(t: Tensor, groups: number): Tensor {
  if (groups === 1) return t;
  const [batch, kvHeads, length, hd] = t.shape;
  const expanded = expand(reshape(t, [batch, kvHeads, 1, length, hd]), [batch, kvHeads, groups, length, hd]);
  return reshape(expanded, [batch, kvHeads * groups, length, hd]);
}

/** Positions a growable cache starts with when the caller gave no length (it doubles from there). */
export const DEFAULT_CACHE_LENGTH = 64;

/** Options of {@link MultiHeadSelfAttention}. */
export interface MultiHeadSelfAttentionOptions {
  /** Generator for the projection weights (PyTorch Linear init). */
  rng: Rng;
  /** Mask keys after each query (decoder / GPT attention). @defaultValue true */
  causal?: boolean;
  /** Biases on the qkv and output projections. @defaultValue true (GPT-2) */
  bias?: boolean;
}

/**
 * Multi-head self-attention (Vaswani et al. 2017, arXiv:1706.03762, §3.2.2) with GPT-2's layout:
 * one fused projection `qkv` (weight [3·dModel, dModel], rows ordered q, k, v, each split into
 * `numHeads` heads of `dModel/numHeads`) and an output projection `out` [dModel, dModel]. Heads run
 * through `scaledDotProductAttention`. There is no attention dropout.
 *
 * With a {@link KVCache}, the new keys and values are written into it in place and the same cache is
 * returned, advanced; the causal mask aligns queries with the end of the keys. `null` starts a cache
 * that grows as needed; pass `new KVCache(batch, numHeads, headDim, maxLength)` for a fixed one.
 *
 * @example
 * const attention = new MultiHeadSelfAttention(16, 4, { rng: new Rng(0) });
 * const y = attention.forward(x);                      // x, y: [batch, time, 16]
 * let { output, cache } = attention.forward(prompt, null);
 * ({ output, cache } = attention.forward(nextToken, cache));
 */
export class MultiHeadSelfAttention extends Module {
  readonly dModel: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly qkv: Linear;
  readonly out: Linear;

  constructor(dModel: number, numHeads: number, options: MultiHeadSelfAttentionOptions) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || !Number.isInteger(dModel) || dModel % numHeads !== 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `MultiHeadSelfAttention: dModel (${dModel}) must be a multiple of numHeads (${numHeads}).`,
      );
    }
    this.dModel = dModel;
    this.numHeads = numHeads;
    this.headDim = dModel / numHeads;
    this.causal = options.causal ?? true;
    const bias = options.bias ?? true;
    this.qkv = this.registerModule("qkv", new Linear(dModel, 3 * dModel, { rng: options.rng, bias }));
    this.out = this.registerModule("out", new Linear(dModel, dModel, { rng: options.rng, bias }));
  }

  /** x [batch, time, dModel] -> [batch, time, dModel] */
  forward(x: Tensor): Tensor;
  /** With a cache (null to start one): the output and the cache, advanced in place by this call's positions. */
  forward(x: Tensor, cache: KVCache | null): { output: Tensor; cache: KVCache };
  forward(x: Tensor, cache?: KVCache | null): Tensor | { output: Tensor; cache: KVCache } {
    if (x.rank !== 3 || x.shape[2] !== this.dModel) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `MultiHeadSelfAttention expects x of shape [batch, time, ${this.dModel}], got [${x.shape.join(", ")}].`,
      );
    }
    const [batch, time] = x.shape;
    const h = this.numHeads;
    const hd = this.headDim;
    // [B, T, 3d] -> [B, T, 3, H, hd] -> [3, B, H, T, hd]
    const qkv = permute(reshape(this.qkv.forward(x), [batch, time, 3, h, hd]), [2, 0, 3, 1, 4]);
    const split = (i: number): Tensor => reshape(narrow(qkv, 0, i, 1), [batch, h, time, hd]);
    const q = split(0);
    const k = split(1);
    const v = split(2);
    let heads: Tensor; // [B, H, T, hd]
    let next: KVCache | null = null;
    if (cache === undefined) {
      heads = scaledDotProductAttention(q, k, v, { causal: this.causal });
    } else {
      next = cache ?? new KVCache(batch, h, hd, Math.max(time, DEFAULT_CACHE_LENGTH), { growable: true });
      if (next.batch !== batch || next.numHeads !== h || next.headDim !== hd) {
        throw new ProximalError(
          "SHAPE_MISMATCH",
          `KV cache tensors must be [${batch}, ${h}, pastLength, ${hd}], got [${next.batch}, ${next.numHeads}, ${next.length}, ${next.headDim}]. Pass the cache returned by the previous call for the same batch.`,
        );
      }
      heads = attendWithCache(q, k, v, next, { causal: this.causal, mask: null });
    }
    const merged = reshape(permute(heads, [0, 2, 1, 3]), [batch, time, this.dModel]);
    const output = this.out.forward(merged);
    return next === null ? output : { output, cache: next };
  }
}
