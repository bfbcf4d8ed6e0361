import { ProximalError } from "../../errors.js";
import { concat, div, logSoftmax, logSoftmaxAt, mul, narrow, sum } from "../../tensor/ops.js";
import { noGrad, Tensor, zeros } from "../../tensor/tensor.js";
import type { CausalLM } from "../generate.js";
import { rowTokenCounts, type SequenceBatch } from "./sequenceBatch.js";
import type { GPTWithValueHead } from "./valueHead.js";

/** Options of {@link tokenLogProbs} and {@link logProbsFromLogits}. */
export interface TokenLogProbsOptions {
  /**
   * Divide the logits by this before the softmax, so the log-probs are those of the distribution
   * {@link generate} sampled from (TRL's PPO/GRPO divide by the generation temperature too).
   * @defaultValue 1
   */
  temperature?: number;
}

/**
 * Log-probability of each token of `inputIds` under the logits of the positions before it:
 * `out[b, j] = log softmax(logits[b, t - 1] / temperature)[inputIds[b, t]] · mask[b, j]`.
 *
 * The output is laid out like `responseMask` [batch, R]:
 * - `R = T` (a mask over the whole sequence): column `t` holds the log-prob of token `t`; column 0
 *   has no logit before it and is always 0 (it must not be a response token).
 * - `R < T`: the mask covers the last `R` columns of `inputIds`, the layout {@link generate} returns
 *   (`sequences` = prompts then `responseMask`), so the result lines up with `GenerateResult.logProbs`.
 *
 * Positions whose mask is 0 are exactly 0, so any padding (left or right) and prompt tokens drop out
 * of sums. Only the R logit rows that are needed go through the log-softmax.
 *
 * @param logits [batch, T, vocab] from one forward pass over `inputIds` (e.g. a
 *   {@link GPTWithValueHead}, which also gives values in the same pass)
 * @param inputIds int32 [batch, T]
 * @param responseMask 1/0 [batch, R] with R ≤ T (int32 or float32)
 * @returns [batch, R], differentiable w.r.t. `logits`
 */
export function logProbsFromLogits(
  logits: Tensor,
  inputIds: Tensor,
  responseMask: Tensor,
  options: TokenLogProbsOptions = {},
): Tensor {
  const temperature = options.temperature ?? 1;
  if (logits.rank !== 3 || inputIds.rank !== 2 || responseMask.rank !== 2) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `logProbsFromLogits: expected logits [batch, T, vocab], inputIds [batch, T] and responseMask [batch, R], got [${logits.shape.join(", ")}], [${inputIds.shape.join(", ")}] and [${responseMask.shape.join(", ")}].`,
    );
  }
  const [batch, time] = inputIds.shape;
  const responseLength = responseMask.shape[1];
  if (
    logits.shape[0] !== batch ||
    logits.shape[1] !== time ||
    responseMask.shape[0] !== batch ||
    responseLength > time ||
    responseLength < 1
  ) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `logProbsFromLogits: logits [${logits.shape.join(", ")}] must be [${batch}, ${time}, vocab] and responseMask [${responseMask.shape.join(", ")}] must be [${batch}, R] with 1 <= R <= ${time}.`,
    );
  }
  if (!(temperature > 0)) {
    throw new ProximalError("INVALID_OPTION", `tokenLogProbs: temperature must be > 0, got ${temperature}.`);
  }
  const mask = floatMask(responseMask);
  if (responseLength === time) {
    for (let b = 0; b < batch; b++) {
      if (mask.data[b * time] !== 0) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `tokenLogProbs: row ${b} marks column 0 as a response token, but the first token has no logit before it. Start every sequence with at least one prompt (or bos) token.`,
        );
      }
    }
  }
  // the logit at position t - 1 predicts token t; a full-width mask drops column 0 and pads it back
  const predicted = responseLength === time ? time - 1 : responseLength;
  let scores = narrow(logits, 1, time - predicted - 1, predicted); // [batch, predicted, vocab]
  if (temperature !== 1) scores = div(scores, temperature);
  const targets = narrow(inputIds, 1, time - predicted, predicted); // [batch, predicted]
  let logp = logSoftmaxAt(scores, targets); // [batch, predicted]
  if (predicted < responseLength) logp = concat([zeros([batch, 1]), logp], 1);
  return mul(logp, mask);
}

/**
 * Per-token log-probabilities of the response tokens of `inputIds` under a causal LM, the shared
 * piece of the SFT, DPO, KTO and PPO trainers: one forward pass with the attention mask (left or right
 * padding; position ids skip padding as in HF), then {@link logProbsFromLogits}.
 *
 * Equivalent to TRL's `selective_log_softmax(logits[:, :-1], input_ids[:, 1:]) * mask` (DPO's
 * `concatenated_forward`, PPO's `forward` + `logprobs_from_logits`), but aligned to the token positions
 * rather than shifted by one.
 *
 * @param model a {@link GPT}, {@link GPTWithValueHead} or any {@link CausalLM}
 * @param inputIds int32 [batch, T]: prompt and response tokens, padded
 * @param attentionMask 1/0 [batch, T]: 1 for real tokens
 * @param responseMask 1/0 [batch, R], R ≤ T: which tokens to score (the last R columns when R < T)
 * @returns [batch, R] log-probs, 0 where `responseMask` is 0; differentiable unless called under `noGrad`
 *
 * @example
 * const out = generate(gpt, prompts, { maxNewTokens: 8, doSample: true, rng: new Rng(0) });
 * const logp = tokenLogProbs(gpt, out.sequences, out.attentionMask, out.responseMask); // ≈ out.logProbs
 * const total = sequenceLogProb(logp, out.responseMask); // [batch]
 */
export function tokenLogProbs(
  model: CausalLM,
  inputIds: Tensor,
  attentionMask: Tensor,
  responseMask: Tensor,
  options: TokenLogProbsOptions = {},
): Tensor {
  const { logits } = model.forward(inputIds, { attentionMask });
  if (logits === null) {
    throw new ProximalError("INTERNAL", "tokenLogProbs: the model returned no logits. Please report a bug.");
  }
  return logProbsFromLogits(logits, inputIds, responseMask, options);
}

/**
 * Log-probability of each whole response, `Σ_t logp[b, t] · mask[b, t]` → [batch] (DPO's
 * `log π(y|x)`, Rafailov et al. 2023, eq. 7). With `average`, divides by the number of response tokens (the
 * length-normalised form TRL uses for IPO and SimPO); an empty response gives 0.
 */
export function sequenceLogProb(
  tokenLogProbs: Tensor,
  responseMask: Tensor,
  options: { average?: boolean } = {},
): Tensor {
  const mask = floatMask(responseMask);
  const total = sum(mul(tokenLogProbs, mask), -1); // [batch]
  if (!options.average) return total;
  return div(total, rowTokenCounts(mask));
}

/**
 * Log-probabilities of the response tokens, `log softmax(logits / temperature)[token]`, [batch, R]
 * (gathered by the shared {@link logProbsFromLogits}: the logits at position `promptLength - 1 + t`
 * predict response token `t`; 0 outside the response mask). Also returns the mean entropy of the
 * next-token distribution over response tokens (no gradient). The PPO and GRPO trainers score their
 * sampled batches with it.
 */
export function responseLogProbs(
  model: CausalLM,
  batch: SequenceBatch,
  temperature = 1,
): { logProbs: Tensor; entropy: number } {
  const { sequences, attentionMask, promptLength, responseMask } = batch;
  const { logits } = model.forward(sequences, { attentionMask });
  if (logits === null)
    throw new ProximalError(
      "INTERNAL",
      "responseLogProbs: the model returned no logits. Please report a bug.",
    );
  const logProbs = logProbsFromLogits(logits, sequences, responseMask, { temperature });
  const entropy = noGrad(() =>
    meanEntropy(
      logSoftmax(div(narrow(logits, 1, promptLength - 1, responseMask.shape[1]), temperature), -1).values,
      responseMask,
    ),
  );
  return { logProbs, entropy };
}

/** Values of the states before each response token (positions `promptLength - 1 + t`), [batch, R]. */
export function responseValues(critic: GPTWithValueHead, batch: SequenceBatch): Tensor {
  const { values } = critic.forward(batch.sequences, {
    attentionMask: batch.attentionMask,
    computeLogits: false,
  });
  return narrow(values, 1, batch.promptLength - 1, batch.responseIds.shape[1]);
}

/** Mean entropy `-Σ_v p log p` of the rows of `logp` [rows · vocab] where `mask` [rows] is nonzero. */
function meanEntropy(logp: Float32Array, mask: Tensor): number {
  const rows = mask.size;
  const vocab = logp.length / rows;
  let total = 0;
  let n = 0;
  for (let r = 0; r < rows; r++) {
    if (mask.values[r] === 0) continue;
    let h = 0;
    for (let j = r * vocab; j < (r + 1) * vocab; j++) h -= Math.exp(logp[j]) * logp[j];
    total += h;
    n++;
  }
  return total / Math.max(n, 1);
}

/** A 1/0 mask as float32 without gradient. */
function floatMask(mask: Tensor): Tensor {
  if (mask.dtype === "float32" && !mask.requiresGrad) return mask;
  return new Tensor(Float32Array.from(mask.data), mask.shape.slice());
}
