/**
 * The formulas of RLHF PPO, pure and exported for the tests (fixtures/torch/rlhfPpo.json): the four of
 * DeepSpeed-Chat's step 3 (Yao et al. 2023, arXiv:2308.01320) — per-token rewards, GAE over response
 * tokens, the clipped actor loss, the clipped critic loss — and the adaptive KL controller of Ziegler
 * et al. 2019. The clip and the token mean are the shared ones of `common/clippedSurrogate.ts`.
 */
import { ProximalError } from "../../errors.js";
import { computeGae } from "../../rl/common/gae.js";
import { maximum, minimum, mul, square, sub } from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import { clippedTokenLoss, maskedTokenMean, tokenRatio } from "../common/clippedSurrogate.js";
import { klEstimateValue } from "../common/kl.js";
import type { PPOKlEstimator } from "./ppoConfig.js";

/**
 * The per-token reward of DeepSpeed-Chat's `compute_rewards` (Ziegler et al. 2019, arXiv:1909.08593, §2):
 * `R_t = -klCoef · (logp_t - refLogp_t)` on every response token, plus `clip(score, ±clipRewardValue)`
 * on the last real response token (the last column where `responseMask` is 1, so responses of
 * different lengths each get their score on their own last token). Positions outside the mask are 0,
 * as DeepSpeed-Chat zeroes `old_rewards[i, ends[i]:]`.
 *
 * @param logProbs [batch, time] actor log-probs of the sampled tokens
 * @param refLogProbs [batch, time] reference log-probs of the same tokens
 * @param rewardScores [batch] reward-model scores
 * @param responseMask [batch, time] 1 for response tokens (up to and including EOS)
 * @param klEstimator `"k1"` is the seed's `logp - refLogp`; `"k3"` replaces it (TRL `kl_estimator`)
 * @returns rewards [batch, time]
 * @example
 * // by hand: one token, logp -1, ref -1.5, score 7 → -0.1·0.5 + 5 = 4.95
 * computeTokenRewards(tensor([[-1]]), tensor([[-1.5]]), tensor([7]), tensor([[1]]), 0.1, 5);
 */
export function computeTokenRewards(
  logProbs: Tensor,
  refLogProbs: Tensor,
  rewardScores: Tensor,
  responseMask: Tensor,
  klCoef: number,
  clipRewardValue: number,
  klEstimator: PPOKlEstimator = "k1",
): Tensor {
  const [batch, time] = checkBatchTime("computeTokenRewards", logProbs, refLogProbs, responseMask);
  if (rewardScores.size !== batch) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `computeTokenRewards: rewardScores has ${rewardScores.size} entries for a batch of ${batch}.`,
    );
  }
  const lp = logProbs.values;
  const ref = refLogProbs.values;
  const mask = responseMask.values;
  const scores = rewardScores.values;
  const rewards = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    let last = -1;
    for (let t = 0; t < time; t++) {
      const i = b * time + t;
      if (mask[i] === 0) continue;
      rewards[i] = -klCoef * klEstimateValue(lp[i], ref[i], klEstimator);
      last = i;
    }
    if (last < 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `computeTokenRewards: response ${b} has no token in responseMask, so it has nowhere to put its score. Drop empty responses.`,
      );
    }
    rewards[last] += Math.min(Math.max(scores[b], -clipRewardValue), clipRewardValue);
  }
  return new Tensor(rewards, [batch, time]);
}

/**
 * GAE over response tokens from the end (Schulman et al. 2016, arXiv:1506.02438, eq. 16; DeepSpeed-Chat
 * `get_advantages_and_returns` after trlx): `δ_t = R_t + γ V_{t+1} - V_t`, `A_t = δ_t + γλ A_{t+1}`,
 * with `V` and `R` zeroed outside `mask` (so the value after the last real token is 0), and
 * `returns = advantages + values`. The recursion is {@link computeGae} of `rl/common`, with the
 * response tokens as steps, the sequences as envs and no episode ends inside a response.
 *
 * @param rewards [batch, time], values [batch, time], mask [batch, time]
 * @returns advantages and returns, [batch, time] each, 0 outside the mask
 */
export function gaeOverTokens(
  rewards: Tensor,
  values: Tensor,
  mask: Tensor,
  gamma: number,
  lam: number,
): { advantages: Tensor; returns: Tensor } {
  const [batch, time] = checkBatchTime("gaeOverTokens", rewards, values, mask);
  const m = mask.values;
  // step-major [time * batch], as computeGae stores rollouts
  const stepRewards = new Float32Array(batch * time);
  const stepValues = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      const i = b * time + t;
      stepRewards[t * batch + b] = m[i] === 0 ? 0 : rewards.values[i];
      stepValues[t * batch + b] = m[i] === 0 ? 0 : values.values[i];
    }
  }
  const gae = computeGae({
    rewards: stepRewards,
    values: stepValues,
    dones: new Uint8Array(batch * time),
    lastValues: new Float32Array(batch),
    numEnvs: batch,
    gamma,
    gaeLambda: lam,
  });
  const advantages = new Float32Array(batch * time);
  const returns = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      advantages[b * time + t] = gae.advantages[t * batch + b];
      returns[b * time + t] = gae.returns[t * batch + b];
    }
  }
  return { advantages: new Tensor(advantages, [batch, time]), returns: new Tensor(returns, [batch, time]) };
}

/**
 * The clipped actor loss of DeepSpeed-Chat's `actor_loss_fn` (Schulman et al.
 * 2017, arXiv:1707.06347, eq. 7): with `ratio = exp((logp - oldLogp) · mask)`,
 * `loss = Σ max(-A·ratio, -A·clip(ratio, 1-ε, 1+ε)) · mask / Σ mask`, i.e. the shared
 * {@link clippedTokenLoss} with fixed bounds, averaged over tokens ({@link maskedTokenMean}).
 *
 * @example
 * // by hand: ratio 1.5, ε 0.2, A +1 → max(-1.5, -1.2) = -1.2 (objective 1.2)
 */
export function actorLoss(
  logProbs: Tensor,
  oldLogProbs: Tensor,
  advantages: Tensor,
  mask: Tensor,
  cliprange: number,
): Tensor {
  const ratio = tokenRatio(logProbs, oldLogProbs, mask);
  return maskedTokenMean(clippedTokenLoss(ratio, advantages, 1 - cliprange, 1 + cliprange), mask);
}

/**
 * The clipped critic loss of DeepSpeed-Chat's `critic_loss_fn` (value clipping as in OpenAI's PPO2, Engstrom et al. 2020, arXiv:2005.12729, §3):
 * `V_clip = clip(V, V_old - c, V_old + c)`, `loss = 0.5 · Σ max((V - R)², (V_clip - R)²) · mask / Σ mask`.
 */
export function criticLoss(
  values: Tensor,
  oldValues: Tensor,
  returns: Tensor,
  mask: Tensor,
  cliprangeValue: number,
): Tensor {
  const old = oldValues.detach();
  // torch.clamp(values, old - c, old + c) = min(max(values, old - c), old + c)
  const clipped = minimum(maximum(values, sub(old, cliprangeValue)), old.add(cliprangeValue));
  const loss1 = square(sub(values, returns));
  const loss2 = square(sub(clipped, returns));
  return mul(0.5, maskedTokenMean(maximum(loss1, loss2), mask));
}

/**
 * The adaptive KL controller of Ziegler et al. 2019 (arXiv:1909.08593, §2.2; TRL `AdaptiveKLController`):
 * `β ← β · (1 + clip(KL / target - 1, -0.2, 0.2) · nSteps / horizon)`.
 */
export function adaptiveKlCoef(
  klCoef: number,
  kl: number,
  target: number,
  nSteps: number,
  horizon: number,
): number {
  const proportionalError = Math.min(Math.max(kl / target - 1, -0.2), 0.2);
  return klCoef * (1 + (proportionalError * nSteps) / horizon);
}

function checkBatchTime(name: string, ...tensors: Tensor[]): [number, number] {
  const [first] = tensors;
  if (
    first.rank !== 2 ||
    tensors.some((t) => t.rank !== 2 || t.shape[0] !== first.shape[0] || t.shape[1] !== first.shape[1])
  ) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${name}: every input must be [batch, time] of the same shape, got ${tensors.map((t) => `[${t.shape.join(", ")}]`).join(", ")}.`,
    );
  }
  return [first.shape[0], first.shape[1]];
}
