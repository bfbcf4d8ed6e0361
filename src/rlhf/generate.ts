import { ProximalError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import { narrow } from "../tensor/ops.js";
import { checkPackBudget, withPackedWeights } from "../tensor/packedWeights.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import type { GPTCache, GPTForwardOptions } from "./gpt.js";

/** A model {@link generate} can decode from: {@link GPT}, {@link GPTWithValueHead}, or anything shaped like them. */
export interface CausalLM {
  /** Logits of the next token at every position (and the cache, when asked for), as {@link GPT.forward}. */
  forward(ids: Tensor, options?: GPTForwardOptions): { logits: Tensor | null; cache: GPTCache | null };
  /**
   * The model's weights, when it has them (every Module): generation packs them once for the linear
   * kernel instead of on every step ({@link withPackedWeights}; the same bits).
   */
  parameters?(): Tensor[];
}

/**
 * Options of {@link generate}, named after Hugging Face's `GenerationConfig` fields in camelCase.
 * Logits are processed in HF's order: temperature, then top-k, then top-p.
 */
export interface GenerateOptions {
  /** Tokens to generate at most per sequence. @defaultValue 20 (HF `max_length`'s default budget) */
  maxNewTokens?: number;
  /** Sample (true) or take the most likely token (false: greedy). @defaultValue false (HF) */
  doSample?: boolean;
  /** Divide the logits by this before sampling. @defaultValue 1 */
  temperature?: number;
  /** Keep only the `topK` most likely tokens; 0 keeps all. @defaultValue 0 (HF's is 50; TRL's PPO sets 0) */
  topK?: number;
  /**
   * Nucleus sampling (Holtzman et al. 2020, arXiv:1904.09751): keep the smallest set of most likely
   * tokens whose probability reaches `topP`. @defaultValue 1 (off)
   */
  topP?: number;
  /** Token id(s) that end a sequence (the stop token is kept in the response). @defaultValue none */
  eosTokenId?: number | number[];
  /** Fills left padding of prompts and the positions after a sequence stopped. @defaultValue 0 */
  padTokenId?: number;
  /** Generator for sampling; required when `doSample` is true. */
  rng?: Rng;
  /** Reuse keys and values between steps (false recomputes the whole prefix each step). @defaultValue true */
  useCache?: boolean;
  /** Also return the processed logits of every step (HF `output_scores`). @defaultValue false */
  outputLogits?: boolean;
  /**
   * Memory the model's weights may take packed for the native linear kernel while decoding (a copy,
   * dropped when generation ends; {@link withPackedWeights}); 0 packs nothing. Packing gives the same
   * tokens, faster at several sequences at a time. @defaultValue 1 GiB (`DEFAULT_PACK_BUDGET_BYTES`)
   */
  packBudgetBytes?: number;
}

/** Prompts given as tensors: left-padded int32 ids [batch, promptLength] and their 1/0 mask. */
export interface PromptBatch {
  inputIds: Tensor;
  attentionMask: Tensor;
}

/** What {@link generate} returns. */
export interface GenerateResult {
  /** int32 [batch, promptLength + newTokens]: left-padded prompts followed by the responses. */
  sequences: Tensor;
  /** 1/0 [batch, promptLength + newTokens]: the prompt mask followed by `responseMask`. */
  attentionMask: Tensor;
  /** int32 [batch, newTokens]: generated ids, `padTokenId` after a stop token. */
  responseIds: Tensor;
  /**
   * `[batch, newTokens]`: log-probability of each generated token under `softmax(logits / temperature)`,
   * before top-k/top-p truncation (the distribution a PPO/GRPO trainer recomputes); 0 after a stop.
   */
  logProbs: Tensor;
  /** 1/0 [batch, newTokens]: 1 for generated tokens up to and including the stop token. */
  responseMask: Tensor;
  /** int32 [batch]: the number of generated tokens of each sequence. */
  responseLengths: Int32Array;
  /** [batch, newTokens, vocabSize] logits after temperature (only with `outputLogits`). */
  logits: Tensor | null;
}

/**
 * Autoregressive decoding from a batch of prompts: greedy or sampled with temperature, top-k and
 * top-p; per-sequence stop tokens; prompts of different lengths left-padded with an attention mask
 * (so every prompt's last token sits in the last column and position ids skip the padding); a KV cache
 * so each step runs only the new token. Runs without recording gradients.
 *
 * Follows Hugging Face's `generate()` (transformers v4 `GenerationMixin`): the same option names and
 * logits-processing order; sampling draws from `rng`, so a seed fixes the output.
 *
 * @example
 * const out = generate(gpt, [tokenizer.encode("Once upon")], {
 *   maxNewTokens: 16, doSample: true, topP: 0.9, eosTokenId: tokenizer.eosTokenId, rng: new Rng(0),
 * });
 * tokenizer.decode(out.responseIds.toArray().slice(0, out.responseLengths[0]));
 */
export function generate(
  model: CausalLM,
  prompts: number[][] | PromptBatch,
  options: GenerateOptions = {},
): GenerateResult {
  const maxNewTokens = options.maxNewTokens ?? 20;
  const doSample = options.doSample ?? false;
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  const padTokenId = options.padTokenId ?? 0;
  const useCache = options.useCache ?? true;
  const stopIds = new Set(
    options.eosTokenId === undefined
      ? []
      : Array.isArray(options.eosTokenId)
        ? options.eosTokenId
        : [options.eosTokenId],
  );
  checkOptions(maxNewTokens, temperature, topK, topP, doSample, options.rng);
  if (options.packBudgetBytes !== undefined)
    checkPackBudget(options.packBudgetBytes, "generate: packBudgetBytes");

  const { inputIds, attentionMask } = Array.isArray(prompts) ? leftPad(prompts, padTokenId) : prompts;
  const [batch, promptLength] = inputIds.shape;
  const total = promptLength + maxNewTokens;
  const ids = new Int32Array(batch * total);
  const mask = new Int32Array(batch * total);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < promptLength; t++) {
      ids[b * total + t] = inputIds.data[b * promptLength + t];
      mask[b * total + t] = attentionMask.data[b * promptLength + t] === 0 ? 0 : 1;
    }
  }
  const responseIds = new Int32Array(batch * maxNewTokens).fill(padTokenId);
  const logProbs = new Float32Array(batch * maxNewTokens);
  const responseMask = new Float32Array(batch * maxNewTokens);
  const responseLengths = new Int32Array(batch);
  const finished = new Uint8Array(batch);
  const stepLogits: Float32Array[] = [];
  let vocab = 0;
  let weights = new Float64Array(0); // sampling scratch, reused across rows and steps

  // the weights do not change while decoding: pack them once for the linear kernel
  const packBudget = { budgetBytes: options.packBudgetBytes };
  withPackedWeights(
    model.parameters?.() ?? [],
    () =>
      noGrad(() => {
        let cache: GPTCache | null = null;
        for (let step = 0; step < maxNewTokens; step++) {
          const length = promptLength + step;
          const maskSoFar = new Tensor(columns(mask, batch, total, 0, length), [batch, length]);
          let logits: Tensor;
          if (useCache) {
            // first step: the whole prompt; later: only the token generated last
            const start = step === 0 ? 0 : length - 1;
            const input = new Tensor(columns(ids, batch, total, start, length), [batch, length - start]);
            // the cache is preallocated for the whole sequence, filled in place step by step
            const out = model.forward(input, {
              attentionMask: maskSoFar,
              cache,
              useCache: true,
              cacheLength: total,
            });
            cache = out.cache;
            logits = lastPosition(out.logits);
          } else {
            const input = new Tensor(columns(ids, batch, total, 0, length), [batch, length]);
            logits = lastPosition(model.forward(input, { attentionMask: maskSoFar }).logits);
          }
          vocab = logits.shape[1];
          const scaled = logits.values;
          if (temperature !== 1) for (let i = 0; i < scaled.length; i++) scaled[i] /= temperature;
          if (options.outputLogits) stepLogits.push(scaled.slice());
          for (let b = 0; b < batch; b++) {
            const position = b * maxNewTokens + step;
            if (finished[b]) {
              ids[b * total + length] = padTokenId;
              continue;
            }
            const row = scaled.subarray(b * vocab, (b + 1) * vocab);
            let token: number;
            if (doSample) {
              // one pass of exponentials serves the draw and the token's log-probability
              if (weights.length !== vocab) weights = new Float64Array(vocab);
              const { max, sum } = softmaxWeights(row, weights);
              token = drawToken(weights, topK, topP, options.rng as Rng, sum);
              logProbs[position] = row[token] - max - Math.log(sum);
            } else {
              token = argmax(row);
              logProbs[position] = logSoftmaxAt(row, token);
            }
            ids[b * total + length] = token;
            mask[b * total + length] = 1;
            responseIds[position] = token;
            responseMask[position] = 1;
            responseLengths[b]++;
            if (stopIds.has(token)) finished[b] = 1;
          }
          if (finished.every((f) => f === 1)) break;
        }
      }),
    packBudget,
  );

  let logitsOut: Tensor | null = null;
  if (options.outputLogits) {
    const all = new Float32Array(batch * maxNewTokens * vocab);
    stepLogits.forEach((step, s) => {
      for (let b = 0; b < batch; b++)
        all.set(step.subarray(b * vocab, (b + 1) * vocab), (b * maxNewTokens + s) * vocab);
    });
    logitsOut = new Tensor(all, [batch, maxNewTokens, vocab]);
  }
  return {
    sequences: new Tensor(ids, [batch, total]),
    attentionMask: new Tensor(mask, [batch, total]),
    responseIds: new Tensor(responseIds, [batch, maxNewTokens]),
    logProbs: new Tensor(logProbs, [batch, maxNewTokens]),
    responseMask: new Tensor(responseMask, [batch, maxNewTokens]),
    responseLengths,
    logits: logitsOut,
  };
}

/**
 * Left-pad prompts of different lengths to one batch: int32 ids [batch, longest] with `padTokenId`
 * in front, and an attention mask with 0 on the padding.
 */
export function leftPad(prompts: number[][], padTokenId: number): PromptBatch {
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "generate: every prompt needs at least one token (start empty prompts with the bos token).",
    );
  }
  const longest = Math.max(...prompts.map((p) => p.length));
  const ids = new Int32Array(prompts.length * longest).fill(padTokenId);
  const mask = new Int32Array(prompts.length * longest);
  prompts.forEach((p, b) => {
    const offset = b * longest + longest - p.length;
    ids.set(p, offset);
    mask.fill(1, offset, offset + p.length);
  });
  return {
    inputIds: new Tensor(ids, [prompts.length, longest]),
    attentionMask: new Tensor(mask, [prompts.length, longest]),
  };
}

function checkOptions(
  maxNewTokens: number,
  temperature: number,
  topK: number,
  topP: number,
  doSample: boolean,
  rng: Rng | undefined,
): void {
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `generate: ${message}`);
  };
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
    fail(`maxNewTokens must be a positive integer, got ${maxNewTokens}.`);
  if (!(temperature > 0))
    fail(`temperature must be > 0, got ${temperature}. For deterministic output use doSample: false.`);
  if (!Number.isInteger(topK) || topK < 0)
    fail(`topK must be a non-negative integer (0 = off), got ${topK}.`);
  if (!(topP > 0 && topP <= 1)) fail(`topP must be in (0, 1], got ${topP}.`);
  if (doSample && rng === undefined) fail("doSample needs an rng, e.g. { rng: new Rng(seed) }.");
}

/** Columns [start, end) of a row-major [rows, width] int32 buffer, as a new buffer. */
function columns(data: Int32Array, rows: number, width: number, start: number, end: number): Int32Array {
  const out = new Int32Array(rows * (end - start));
  for (let r = 0; r < rows; r++)
    out.set(data.subarray(r * width + start, r * width + end), r * (end - start));
  return out;
}

/** [B, T, V] → [B, V] at the last position (a fresh copy). */
function lastPosition(logits: Tensor | null): Tensor {
  if (logits === null) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "generate: the model returned no logits (computeLogits was off).",
    );
  }
  const [batch, time, vocab] = logits.shape;
  return new Tensor(narrow(logits, 1, time - 1, 1).values.slice(), [batch, vocab]);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

function logSoftmaxAt(row: Float32Array, index: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let total = 0;
  for (let i = 0; i < row.length; i++) total += Math.exp(row[i] - max);
  return row[index] - max - Math.log(total);
}

/** Draw from softmax(row) restricted to the top-k tokens, then to the top-p nucleus. */
export function sampleToken(row: Float32Array, topK: number, topP: number, rng: Rng): number {
  const weights = new Float64Array(row.length);
  softmaxWeights(row, weights);
  return drawToken(weights, topK, topP, rng);
}

/**
 * `weights[i] = exp(row[i] - max)`, unnormalised softmax weights; returns the max and their sum, added
 * in order (the same bits as {@link logSoftmaxAt}'s), so `row[t] - max - log(sum)` is t's log-probability.
 */
function softmaxWeights(row: Float32Array, weights: Float64Array): { max: number; sum: number } {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const w = Math.exp(row[i] - max);
    weights[i] = w;
    sum += w;
  }
  return { max, sum };
}

/**
 * Draw from unnormalised weights (overwritten) restricted to the top-k, then to the top-p nucleus.
 * `sum`, when given, is the weights' sum in index order, which an unfiltered draw reuses.
 */
function drawToken(weights: Float64Array, topK: number, topP: number, rng: Rng, sum?: number): number {
  const vocab = weights.length;
  const filtered = (topK > 0 && topK < vocab) || topP < 1;
  // exponentials of finite logits are >= 0 and the max's is 1, so a finite sum is a valid total;
  // a non-finite one (a NaN logit) goes through categorical's checks and their error
  if (!filtered && sum !== undefined && Number.isFinite(sum)) return rng.categoricalWithTotal(weights, sum);
  if (filtered) {
    // most likely first; ties keep the lower id first, so the order is deterministic
    const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => weights[b] - weights[a] || a - b);
    let keep = topK > 0 ? Math.min(topK, vocab) : vocab;
    if (topP < 1) {
      let total = 0;
      for (let j = 0; j < keep; j++) total += weights[order[j]];
      // the smallest prefix whose probability reaches topP (the crossing token included, as HF)
      let cumulative = 0;
      for (let j = 0; j < keep; j++) {
        cumulative += weights[order[j]] / total;
        if (cumulative >= topP) {
          keep = j + 1;
          break;
        }
      }
    }
    for (let j = keep; j < vocab; j++) weights[order[j]] = 0;
  }
  return rng.categorical(weights);
}
