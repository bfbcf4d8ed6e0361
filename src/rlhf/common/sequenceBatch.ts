/**
 * Sequence batches, the one place the RLHF trainers pad and mask token ids:
 * - right-padded (prompt, response) pairs for the trainers that score given responses (SFT, reward
 *   model, DPO, KTO): {@link tokenizePair} then {@link collatePairs};
 * - left-padded prompts followed by right-padded sampled responses for the trainers that sample
 *   (PPO, GRPO): {@link SequenceBatch}, built by {@link collateSequences} or from `generate`'s output,
 *   and cut into minibatches with {@link subBatch} / {@link takeRows}.
 */
import { ProximalError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import type { Tokenizer } from "../tokenizer.js";

/** A tokenized (prompt, response) pair. */
export interface TokenizedPair {
  prompt: number[];
  response: number[];
}

/**
 * Tokenize a prompt and a response the way every trainer here does: `bos + encode(prompt)` and
 * `encode(response) + eos` (TRL's DPO/KTO add bos to prompts and eos to completions; the bos also
 * gives the first response token a logit to be scored by). Then truncate to `maxLength`: first the end
 * of the response (keeping at least one token), then the start of the prompt (TRL `keep_end` for prompts).
 */
export function tokenizePair(
  tokenizer: Tokenizer,
  prompt: string,
  response: string,
  maxLength: number,
): TokenizedPair {
  let promptIds = [tokenizer.bosTokenId, ...tokenizer.encode(prompt)];
  let responseIds = [...tokenizer.encode(response), tokenizer.eosTokenId];
  if (maxLength < 2) {
    throw new ProximalError(
      "INVALID_OPTION",
      `maxLength must be at least 2 (one prompt and one response token), got ${maxLength}.`,
    );
  }
  if (promptIds.length + responseIds.length > maxLength) {
    responseIds = responseIds.slice(0, Math.max(1, maxLength - promptIds.length));
    if (promptIds.length + responseIds.length > maxLength) {
      promptIds = promptIds.slice(promptIds.length + responseIds.length - maxLength);
    }
  }
  return { prompt: promptIds, response: responseIds };
}

/** A right-padded batch of (prompt, response) sequences. */
export interface PromptResponseBatch {
  /** int32 [batch, T]: prompt then response tokens, then `padTokenId`. */
  inputIds: Tensor;
  /** int32 [batch, T]: 1 on prompt and response tokens. */
  attentionMask: Tensor;
  /** float32 [batch, T]: 1 on response tokens only (what the losses count). */
  responseMask: Tensor;
  /** Number of response tokens in the batch. */
  numResponseTokens: number;
  /** Number of real (prompt and response) tokens in the batch, for `time/tokensPerSecond`. */
  numTokens: number;
}

/**
 * Right-pad tokenized pairs into one batch (TRL pads training batches on the right; position ids
 * follow from the attention mask either way, see {@link GPTForwardOptions.positionIds}).
 */
export function collatePairs(pairs: TokenizedPair[], padTokenId: number): PromptResponseBatch {
  if (pairs.length === 0) throw new ProximalError("INVALID_ARGUMENT", "collatePairs: no pairs to collate.");
  const width = Math.max(...pairs.map((p) => p.prompt.length + p.response.length));
  const batch = pairs.length;
  const ids = new Int32Array(batch * width).fill(padTokenId);
  const mask = new Int32Array(batch * width);
  const responseMask = new Float32Array(batch * width);
  let numResponseTokens = 0;
  let numTokens = 0;
  pairs.forEach(({ prompt, response }, b) => {
    const offset = b * width;
    ids.set(prompt, offset);
    ids.set(response, offset + prompt.length);
    mask.fill(1, offset, offset + prompt.length + response.length);
    responseMask.fill(1, offset + prompt.length, offset + prompt.length + response.length);
    numResponseTokens += response.length;
    numTokens += prompt.length + response.length;
  });
  return {
    inputIds: new Tensor(ids, [batch, width]),
    attentionMask: new Tensor(mask, [batch, width]),
    responseMask: new Tensor(responseMask, [batch, width]),
    numResponseTokens,
    numTokens,
  };
}

/**
 * Sequences of one batch of experience: left-padded prompts of length `promptLength`, then responses
 * (right-padded), the layout `generate` returns.
 */
export interface SequenceBatch {
  /** int32 [batch, promptLength + responseLength] */
  sequences: Tensor;
  /** 1/0 [batch, promptLength + responseLength] */
  attentionMask: Tensor;
  promptLength: number;
  /** int32 [batch, responseLength] */
  responseIds: Tensor;
  /** 1/0 [batch, responseLength] */
  responseMask: Tensor;
}

/**
 * Left-pad `prompts` and right-pad `responses` (row b is prompt b then response b) into one
 * {@link SequenceBatch}, `promptLength` the longest prompt and `responseLength` the longest response.
 */
export function collateSequences(
  prompts: number[][],
  responses: number[][],
  padTokenId: number,
): SequenceBatch {
  const N = prompts.length;
  if (N === 0 || responses.length !== N) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `collateSequences: ${N} prompts and ${responses.length} responses; pass one response per prompt, at least one.`,
    );
  }
  const P = Math.max(...prompts.map((x) => x.length));
  const R = Math.max(...responses.map((x) => x.length));
  const T = P + R;
  const sequences = new Int32Array(N * T).fill(padTokenId);
  const attention = new Int32Array(N * T);
  const responseIds = new Int32Array(N * R).fill(padTokenId);
  const responseMask = new Float32Array(N * R);
  for (let b = 0; b < N; b++) {
    const prompt = prompts[b];
    const offset = P - prompt.length;
    for (const [t, id] of prompt.entries()) {
      sequences[b * T + offset + t] = id;
      attention[b * T + offset + t] = 1;
    }
    for (const [t, id] of responses[b].entries()) {
      sequences[b * T + P + t] = id;
      attention[b * T + P + t] = 1;
      responseIds[b * R + t] = id;
      responseMask[b * R + t] = 1;
    }
  }
  return {
    sequences: new Tensor(sequences, [N, T], "int32"),
    attentionMask: new Tensor(attention, [N, T], "int32"),
    promptLength: P,
    responseIds: new Tensor(responseIds, [N, R], "int32"),
    responseMask: new Tensor(responseMask, [N, R]),
  };
}

/** Rows `rows` of a [batch, ...] tensor, as a new tensor (same dtype). */
export function takeRows(x: Tensor, rows: ArrayLike<number>): Tensor {
  const width = x.size / x.shape[0];
  const out = new (x.data.constructor as { new (n: number): Float32Array | Int32Array })(rows.length * width);
  for (let i = 0; i < rows.length; i++)
    out.set(x.data.subarray(rows[i] * width, (rows[i] + 1) * width), i * width);
  return new Tensor(out, [rows.length, ...x.shape.slice(1)], x.dtype);
}

/** The first `keep` columns of a [rows, width] tensor, as a new tensor (same dtype). */
export function takeColumns(x: Tensor, keep: number): Tensor {
  const [rows, width] = x.shape;
  const out = new (x.data.constructor as { new (n: number): Float32Array | Int32Array })(rows * keep);
  for (let r = 0; r < rows; r++) out.set(x.data.subarray(r * width, r * width + keep), r * keep);
  return new Tensor(out, [rows, keep], x.dtype);
}

/** The rows `rows` of a batch (the minibatches of PPO and GRPO updates). */
export function subBatch(batch: SequenceBatch, rows: ArrayLike<number>): SequenceBatch {
  return {
    sequences: takeRows(batch.sequences, rows),
    attentionMask: takeRows(batch.attentionMask, rows),
    promptLength: batch.promptLength,
    responseIds: takeRows(batch.responseIds, rows),
    responseMask: takeRows(batch.responseMask, rows),
  };
}

/** Rows of ragged number lists as one zero-padded [rows, width] float32 tensor. */
export function padRows(rows: number[][], width: number): Tensor {
  const out = new Float32Array(rows.length * width);
  for (const [b, row] of rows.entries()) out.set(row, b * width);
  return new Tensor(out, [rows.length, width]);
}

/** A [rows, width] mask with the rows where `keep` is false zeroed (a new tensor). */
export function maskRows(mask: Tensor, keep: boolean[]): Tensor {
  const [N, R] = mask.shape;
  const out = Float32Array.from(mask.values);
  for (let b = 0; b < N; b++) if (!keep[b]) out.fill(0, b * R, (b + 1) * R);
  return new Tensor(out, [N, R]);
}

/** Response tokens of each row of a 1/0 mask [batch, T], at least 1 (so a mean over an empty row is 0), as [batch]. */
export function rowTokenCounts(mask: Tensor): Tensor {
  const [batch, time] = mask.shape;
  const counts = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    let n = 0;
    for (let t = 0; t < time; t++) n += mask.values[b * time + t];
    counts[b] = Math.max(n, 1);
  }
  return new Tensor(counts, [batch]);
}
