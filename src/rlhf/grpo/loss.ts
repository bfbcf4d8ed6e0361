/**
 * The GRPO-family objective, pure and exported for the tests (fixtures/torch/grpo.json): importance
 * ratio (token, GSPO sequence, GSPO-token), clipping bounds (fixed or DCPO's), loss aggregation, and
 * the whole policy loss with the KL term. The advantages are in `advantages.ts`; the clipped surrogate
 * and the KL estimators are the shared ones of `common/`.
 */
import { ProximalError } from "../../errors.js";
import { div, exp, expand, mean, mul, sub, sum, unsqueeze } from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import { approxKl, clippedTokenLoss, maskedLogRatio, maskedTokenMean } from "../common/clippedSurrogate.js";
import { klEstimate } from "../common/kl.js";
import { rowTokenCounts } from "../common/sequenceBatch.js";
import type {
  ClipMode,
  GRPOConfig,
  ImportanceSamplingLevel,
  LossAggregation,
  ResolvedGRPOConfig,
} from "./grpoConfig.js";

/**
 * The importance ratio of every response token, [batch, T], differentiable w.r.t. `logProbs`:
 * - `"token"`: `r_t = exp(logp_t - oldLogp_t)`;
 * - `"sequence"`: GSPO's `s_i = exp((1/|y_i|) Σ_t (logp_t - oldLogp_t))` (arXiv:2507.18071, §4),
 *   broadcast over the response (an empty response counts as length 1, as TRL's `clamp(min=1)`);
 * - `"sequence-token"`: GSPO-token's `s_it = sg[s_i] · exp(logp_t - sg[logp_t])` (same §4): the value of
 *   `s_i`, the gradient of token t alone.
 * Positions outside `mask` hold 1 (token) or the sequence ratio; the aggregation masks them out.
 *
 * @example
 * // by hand: log-ratios [0.2, -0.4] on a 2-token response → sequence ratio exp(-0.1) = 0.9048
 */
export function importanceRatio(
  logProbs: Tensor,
  oldLogProbs: Tensor,
  mask: Tensor,
  level: ImportanceSamplingLevel,
): Tensor {
  const logRatio = maskedLogRatio(logProbs, oldLogProbs, mask); // [B, T]
  if (level === "token") return exp(logRatio);
  const [batch, time] = mask.shape;
  const counts = rowTokenCounts(mask);
  const sequenceLogRatio = unsqueeze(div(sum(logRatio, -1), counts), 1); // [B, 1]
  if (level === "sequence") return expand(exp(sequenceLogRatio), [batch, time]);
  if (level === "sequence-token") return exp(sub(logProbs, logProbs.detach()).add(sequenceLogRatio.detach()));
  throw new ProximalError("INVALID_OPTION", `importanceRatio: unknown level ${JSON.stringify(level)}.`);
}

/**
 * DCPO's dynamic clipping bounds for a token whose old probability is `q` (Yang et al. 2025,
 * arXiv:2509.02333, §3): `low = 0.5 + 0.5·sqrt(max(1 - 4·εlow/q, 0))`,
 * `high = min(0.5 + 0.5·sqrt(1 + 4·εhigh/q), maxRatio)`. They come from bounding the change of
 * probability `|(r - 1)·q|` by `ε·q`-like terms, so a rare token (small q) may move by a larger ratio:
 * at q = 1 they are `[0.724, 1.228]` for ε 0.2/0.28; below q = 4·εlow the lower bound is 0.5.
 *
 * @param maxRatio cap on the upper bound (the authors' code: 10) @defaultValue Infinity
 * @example
 * dcpoClipBounds(0.5, 0.2, 0.28); // { low: 0.5, high: 1.4 }
 */
export function dcpoClipBounds(
  q: number,
  epsilonLow: number,
  epsilonHigh: number,
  maxRatio = Number.POSITIVE_INFINITY,
): { low: number; high: number } {
  if (!(q > 0 && q <= 1)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `dcpoClipBounds: q must be a probability in (0, 1], got ${q}.`,
    );
  }
  const low = 0.5 + 0.5 * Math.sqrt(Math.max(1 - (4 * epsilonLow) / q, 0));
  const high = Math.min(0.5 + 0.5 * Math.sqrt(1 + (4 * epsilonHigh) / q), maxRatio);
  return { low, high };
}

/** Clipping options, the fields of {@link GRPOConfig} they come from. */
export type ClipOptions = Pick<ResolvedGRPOConfig, "clipMode" | "epsilon" | "epsilonHigh" | "dcpoMaxRatio">;

/**
 * The ratio bounds of every token: `1 - epsilon` and `1 + epsilonHigh` with `clipMode` "fixed"
 * (numbers), or {@link dcpoClipBounds} of `q = exp(oldLogp)` with "dcpo" ([batch, T] tensors).
 */
export function clipBounds(
  oldLogProbs: Tensor,
  options: ClipOptions,
): { low: Tensor | number; high: Tensor | number } {
  const mode: ClipMode = options.clipMode;
  if (mode === "fixed") return { low: 1 - options.epsilon, high: 1 + options.epsilonHigh };
  const old = oldLogProbs.values;
  const low = new Float32Array(old.length);
  const high = new Float32Array(old.length);
  for (let i = 0; i < old.length; i++) {
    // exp(oldLogp) of a masked position is exp(0) = 1, a harmless placeholder
    const bounds = dcpoClipBounds(
      Math.min(Math.exp(old[i]), 1),
      options.epsilon,
      options.epsilonHigh,
      options.dcpoMaxRatio,
    );
    low[i] = bounds.low;
    high[i] = bounds.high;
  }
  return {
    low: new Tensor(low, oldLogProbs.shape.slice()),
    high: new Tensor(high, oldLogProbs.shape.slice()),
  };
}

/**
 * Sum up per-token losses `L` [batch, T] over the response tokens `mask` ([batch, T], 1/0); see
 * {@link LossAggregation} for the four modes and their papers. `maxCompletionLength` is the constant
 * of `"seq-mean-token-sum-norm"`. An empty mask gives 0, not NaN.
 */
export function aggregateLoss(
  loss: Tensor,
  mask: Tensor,
  mode: LossAggregation,
  maxCompletionLength: number,
): Tensor {
  const masked = mul(loss, mask);
  switch (mode) {
    case "token-mean":
      return maskedTokenMean(loss, mask);
    case "seq-mean-token-mean":
      return mean(div(sum(masked, -1), rowTokenCounts(mask)));
    case "seq-mean-token-sum-norm":
      return div(sum(masked), mask.shape[0] * maxCompletionLength);
    case "seq-sum":
      return sum(masked);
    default:
      throw new ProximalError("INVALID_OPTION", `aggregateLoss: unknown mode ${JSON.stringify(mode)}.`);
  }
}

/** The fields of {@link GRPOConfig} {@link grpoPolicyLoss} reads. */
export type PolicyLossOptions = ClipOptions &
  Pick<
    ResolvedGRPOConfig,
    | "importanceSamplingLevel"
    | "dualClip"
    | "lossAggregation"
    | "maxCompletionLength"
    | "beta"
    | "klEstimator"
    | "klPlacement"
  >;

/** What {@link grpoPolicyLoss} returns. */
export interface PolicyLossResult {
  /** The scalar to minimise. */
  loss: Tensor;
  /** The clipped-surrogate part alone (same aggregation), as a number. */
  policyLoss: number;
  /** Mean per-token KL to the reference (NaN without KL in the loss). */
  klToRef: number;
  /** Fraction of response tokens where the clipped term was the active one (verl `pg_clipfrac`). */
  clipFraction: number;
  /** Fraction of response tokens with A < 0 where the dual clip was active (verl `pg_clipfrac_lower`). */
  dualClipFraction: number;
  /** Mean `(r - 1) - log r` of the token ratio against the old policy (Schulman's k3). */
  approxKl: number;
}

/**
 * The whole policy loss of one minibatch: {@link importanceRatio} → {@link clipBounds} →
 * {@link clippedTokenLoss} → `+ β·KL_t` ({@link klEstimate}) when the KL is in the loss →
 * {@link aggregateLoss}. The KL term is aggregated with the same mode, as in TRL.
 *
 * @param inputs - `logProbs` `[batch, T]` of the current policy (differentiable), `oldLogProbs`
 *   `[batch, T]` at generation time, `refLogProbs` `[batch, T]` or null, `advantages` `[batch, T]`,
 *   and `mask` `[batch, T]`: the response tokens that count in the loss
 * @param options - Clipping, KL and aggregation settings
 */
export function grpoPolicyLoss(
  inputs: {
    logProbs: Tensor;
    oldLogProbs: Tensor;
    refLogProbs: Tensor | null;
    advantages: Tensor;
    mask: Tensor;
  },
  options: PolicyLossOptions,
): PolicyLossResult {
  const { logProbs, oldLogProbs, refLogProbs, advantages, mask } = inputs;
  const ratio = importanceRatio(logProbs, oldLogProbs, mask, options.importanceSamplingLevel);
  const { low, high } = clipBounds(oldLogProbs, options);
  const perToken = clippedTokenLoss(ratio, advantages, low, high, options.dualClip);
  const policy = aggregateLoss(perToken, mask, options.lossAggregation, options.maxCompletionLength);
  let loss = policy;
  let klToRef = Number.NaN;
  if (options.beta > 0 && options.klPlacement === "loss" && refLogProbs !== null) {
    const kl = klEstimate(logProbs, refLogProbs, options.klEstimator);
    loss = policy.add(
      mul(options.beta, aggregateLoss(kl, mask, options.lossAggregation, options.maxCompletionLength)),
    );
    klToRef = maskedMean(kl.values, mask.values);
  }
  // statistics, from values only
  const r = ratio.values;
  const a = advantages.values;
  const m = mask.values;
  const lows = typeof low === "number" ? null : low.values;
  const highs = typeof high === "number" ? null : high.values;
  let tokens = 0;
  let clipped = 0;
  let dual = 0;
  for (let i = 0; i < m.length; i++) {
    if (m[i] === 0) continue;
    tokens++;
    const lo = lows === null ? (low as number) : lows[i];
    const hi = highs === null ? (high as number) : highs[i];
    const unclipped = -a[i] * r[i];
    const clippedLoss = -a[i] * Math.min(Math.max(r[i], lo), hi);
    if (clippedLoss > unclipped) clipped++;
    if (options.dualClip !== null && a[i] < 0 && Math.max(unclipped, clippedLoss) > -options.dualClip * a[i])
      dual++;
  }
  const n = Math.max(tokens, 1);
  return {
    loss,
    policyLoss: policy.item(),
    klToRef,
    clipFraction: clipped / n,
    dualClipFraction: dual / n,
    approxKl: approxKl(logProbs, oldLogProbs, mask),
  };
}

/** Mean of `values` where `mask` is nonzero; NaN for an empty mask. */
export function maskedMean(values: Float32Array, mask: Float32Array): number {
  let total = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    total += values[i];
    n++;
  }
  return n === 0 ? Number.NaN : total / n;
}
