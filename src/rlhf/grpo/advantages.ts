/**
 * The advantage estimators of {@link GRPOTrainer}: one number per completion (or per completion
 * token) from the rewards of the completions sampled for the same prompt. Pure functions on plain
 * arrays and tensors, exported for the tests (`fixtures/torch/grpo.json`).
 *
 * Completions come in contiguous groups: `rewards[g * groupSize + j]` is completion `j` of prompt `g`
 * (TRL's `RepeatSampler` layout).
 */
import { ProximalError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";
import { maskedWhiten } from "../common/whiten.js";

/**
 * How {@link GRPOTrainer} turns rewards into advantages:
 * - `"grpo"`: `(r_i - mean(r)) / (std(r) + ε)` over the group, std unbiased (Shao et al. 2024,
 *   DeepSeekMath, arXiv:2402.03300, §4.1.2 eq. 3; TRL's ε 1e-4).
 * - `"drgrpo"`: `r_i - mean(r)`, no division by the std, which favours questions of little reward
 *   spread (Liu et al. 2025, Dr. GRPO, arXiv:2503.20783, §3).
 * - `"rloo"`: `r_i - mean_{j≠i} r_j`, the leave-one-out baseline (Ahmadian et al. 2024, arXiv:2402.14740).
 * - `"reinforce++"`: per-token reward `-β·KL_t` plus the score on the last token, return-to-go, then
 *   whitened over every response token of the batch (Hu et al. 2025, arXiv:2501.03262, eq. 8-10). Needs no group.
 * - `"reinforce++_baseline"`: the same after subtracting each group's mean score (REINFORCE++-baseline,
 *   same paper).
 * - `"dcpo"`: smooth advantage standardisation, mixing the current group's and the prompt's cumulative
 *   statistics by step and keeping the smaller magnitude (Yang et al. 2025, arXiv:2509.02333, §3);
 *   see {@link dcpoAdvantages}.
 */
export type AdvantageEstimator = "grpo" | "drgrpo" | "rloo" | "reinforce++" | "reinforce++_baseline" | "dcpo";

/** The estimators that compare completions of the same prompt, so need `numGenerations >= 2`. */
export const GROUP_ESTIMATORS: readonly AdvantageEstimator[] = [
  "grpo",
  "drgrpo",
  "rloo",
  "reinforce++_baseline",
  "dcpo",
];

/** Check `rewards` splits into groups of `groupSize >= 2` (`name` prefixes the message). */
export function checkGroups(name: string, count: number, groupSize: number): number {
  if (!Number.isInteger(groupSize) || groupSize < 2) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${name}: a group of ${groupSize} completion(s) has nothing to compare with; group estimators need at least 2 completions per prompt. Set numGenerations >= 2 (GRPO paper: 64, TRL default: 8), or use advantageEstimator "reinforce++", which needs no group.`,
    );
  }
  if (count % groupSize !== 0) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${name}: ${count} rewards do not split into groups of ${groupSize}. Pass numGenerations completions for every prompt.`,
    );
  }
  return count / groupSize;
}

/** Mean and unbiased variance (Welford, float64), so equal values give exactly 0. */
function meanVariance(values: ArrayLike<number>, start: number, length: number): [number, number] {
  let mean = 0;
  let m2 = 0;
  for (let j = 0; j < length; j++) {
    const x = values[start + j];
    const delta = x - mean;
    mean += delta / (j + 1);
    m2 += delta * (x - mean);
  }
  return [mean, length > 1 ? m2 / (length - 1) : 0];
}

/**
 * GRPO's group-normalised advantage, `A_i = (r_i - mean(r)) / (std(r) + ε)` within each group of
 * `groupSize`, std unbiased as `torch.std` (Shao et al. 2024, arXiv:2402.03300, §4.1.2 eq. 3, as TRL's
 * `_generate_and_score_completions`). A group of equal rewards gets 0 everywhere.
 *
 * @param epsilon added to the std (TRL 1e-4, verl 1e-6) @defaultValue 1e-4
 * @example
 * // by hand: group [1, 0, 0, 1]: mean 0.5, std 0.5774 → ±0.8659 (ε 1e-4)
 * grpoAdvantages([1, 0, 0, 1], 4); // [0.8659, -0.8659, -0.8659, 0.8659]
 */
export function grpoAdvantages(rewards: ArrayLike<number>, groupSize: number, epsilon = 1e-4): Float64Array {
  const groups = checkGroups("grpoAdvantages", rewards.length, groupSize);
  const out = new Float64Array(rewards.length);
  for (let g = 0; g < groups; g++) {
    const [mean, variance] = meanVariance(rewards, g * groupSize, groupSize);
    const std = Math.sqrt(variance);
    for (let j = g * groupSize; j < (g + 1) * groupSize; j++) out[j] = (rewards[j] - mean) / (std + epsilon);
  }
  return out;
}

/**
 * Dr. GRPO's advantage, `A_i = r_i - mean(r)` within each group: GRPO without the division by the
 * std (Liu et al. 2025, arXiv:2503.20783, §3; TRL `scale_rewards="none"`).
 */
export function drGrpoAdvantages(rewards: ArrayLike<number>, groupSize: number): Float64Array {
  const groups = checkGroups("drGrpoAdvantages", rewards.length, groupSize);
  const out = new Float64Array(rewards.length);
  for (let g = 0; g < groups; g++) {
    const [mean] = meanVariance(rewards, g * groupSize, groupSize);
    for (let j = g * groupSize; j < (g + 1) * groupSize; j++) out[j] = rewards[j] - mean;
  }
  return out;
}

/**
 * RLOO's leave-one-out advantage, `A_i = r_i - (Σ_{j≠i} r_j) / (G - 1)` = `G/(G-1) · (r_i - mean(r))`
 * (Ahmadian et al. 2024, arXiv:2402.14740; Kool et al. 2019).
 * @example
 * // by hand: [1, 0, 0, 1] → 1 - 1/3 = 0.6667 and 0 - 2/3 = -0.6667
 */
export function rlooAdvantages(rewards: ArrayLike<number>, groupSize: number): Float64Array {
  const groups = checkGroups("rlooAdvantages", rewards.length, groupSize);
  const out = new Float64Array(rewards.length);
  for (let g = 0; g < groups; g++) {
    let total = 0;
    for (let j = g * groupSize; j < (g + 1) * groupSize; j++) total += rewards[j];
    for (let j = g * groupSize; j < (g + 1) * groupSize; j++)
      out[j] = rewards[j] - (total - rewards[j]) / (groupSize - 1);
  }
  return out;
}

/** Options of {@link reinforcePlusPlusAdvantages}. */
export interface ReinforcePlusPlusOptions {
  /** Per-token KL estimates [batch, T] (0 outside the mask); null means no KL in the reward. */
  tokenKl?: Tensor | null;
  /** β of the per-token reward `-β·KL_t`. @defaultValue 0 */
  klCoef?: number;
  /** Discount γ of the return-to-go. @defaultValue 1 (the paper) */
  gamma?: number;
  /** Subtract each group's mean score first (REINFORCE++-baseline); null for plain REINFORCE++. @defaultValue null */
  groupSize?: number | null;
}

/**
 * REINFORCE++ advantages (Hu et al. 2025, arXiv:2501.03262, eq. 8-10; OpenRLHF / verl
 * `compute_reinforce_plus_plus_outcome_advantage`):
 * 1. per-token reward `r_t = -β·KL_t`, plus the score `s` on the last response token;
 * 2. return-to-go `G_t = r_t + γ·G_{t+1}` (so with γ = 1, `G_t = s - β Σ_{u≥t} KL_u`);
 * 3. whitened over every response token of the batch ({@link maskedWhiten}: unbiased variance, 1e-8).
 *
 * With `groupSize` the scores first lose their group mean (REINFORCE++-baseline, verl
 * `compute_reinforce_plus_plus_baseline_outcome_advantage`).
 *
 * @param scores [batch] scalar reward of each completion
 * @param responseMask [batch, T] 1 for response tokens (each row needs at least one)
 * @returns advantages (whitened) and returns-to-go, [batch, T] each, 0 outside the mask
 */
export function reinforcePlusPlusAdvantages(
  scores: ArrayLike<number>,
  responseMask: Tensor,
  options: ReinforcePlusPlusOptions = {},
): { advantages: Tensor; returns: Tensor } {
  const { tokenKl = null, klCoef = 0, gamma = 1, groupSize = null } = options;
  const [batch, time] = responseMask.shape;
  if (scores.length !== batch) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `reinforcePlusPlusAdvantages: ${scores.length} scores for a batch of ${batch} responses.`,
    );
  }
  if (tokenKl !== null && (tokenKl.shape[0] !== batch || tokenKl.shape[1] !== time)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `reinforcePlusPlusAdvantages: tokenKl is [${tokenKl.shape.join(", ")}], expected [${batch}, ${time}].`,
    );
  }
  const centred = groupSize === null ? Float64Array.from(scores) : drGrpoAdvantages(scores, groupSize);
  const mask = responseMask.values;
  const kl = tokenKl?.values ?? null;
  const returns = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    let last = -1;
    for (let t = 0; t < time; t++) if (mask[b * time + t] !== 0) last = t;
    if (last < 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `reinforcePlusPlusAdvantages: response ${b} has no token in responseMask, so it has nowhere to put its score.`,
      );
    }
    let running = 0;
    for (let t = time - 1; t >= 0; t--) {
      const i = b * time + t;
      if (mask[i] === 0) continue;
      const reward = (kl === null ? 0 : -klCoef * kl[i]) + (t === last ? centred[b] : 0);
      running = reward + gamma * running;
      returns[i] = running;
    }
  }
  const returnsTensor = new Tensor(returns, [batch, time]);
  return { advantages: maskedWhiten(returnsTensor, responseMask), returns: returnsTensor };
}

/** Running reward statistics of one prompt, carried between steps by {@link dcpoAdvantages}. */
export interface DcpoPromptStatistics {
  /** Steps in which the prompt was sampled so far (the `i` of the formula, after this step). */
  steps: number;
  /** Rewards seen so far. */
  count: number;
  /** Their mean. */
  mean: number;
  /** Σ (r - mean)², for the unbiased variance (Welford / Chan et al. merge). */
  m2: number;
}

/**
 * DCPO's smooth advantage standardisation (Yang et al. 2025, arXiv:2509.02333, §3). For a prompt
 * sampled for the `i`-th time (i counts this step) with group rewards `R`:
 * ```
 * A_new   = (R_j - mean(R)) / std(R)                 (0 when std(R) = 0)
 * A_total = (R_j - mean(all)) / std(all)             (0 when std(all) = 0)
 * SA_new   = (i-1)/i · A_new + 1/i · A_total
 * SA_total = 1/i · A_new + (i-1)/i · A_total
 * A_j = SA_new if |SA_new| < |SA_total| else SA_total   (the smaller magnitude)
 * ```
 * `all` is every reward the prompt has received in steps 1..i (this group included); both stds are
 * unbiased, as `torch.std`. No ε: the authors' code divides only when the std is positive. At i = 1
 * this is plain GRPO with ε = 0; a later all-equal group (e.g. all correct) still gets a nonzero
 * advantage from the cumulative statistics, which is the point of the method.
 *
 * Departure: the authors' code merges the cumulative std from per-step stds with a pooled-variance
 * formula; here `std(all)` is the exact unbiased std of every reward seen (the paper's wording).
 *
 * @param rewards this step's rewards, contiguous groups of `groupSize`
 * @param history per group, the prompt's statistics before this step (null: first time sampled)
 * @returns the advantages and, per group, the statistics after this step (store them for next time)
 */
export function dcpoAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  history: (DcpoPromptStatistics | null)[],
): { advantages: Float64Array; statistics: DcpoPromptStatistics[] } {
  const groups = checkGroups("dcpoAdvantages", rewards.length, groupSize);
  if (history.length !== groups) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `dcpoAdvantages: ${history.length} history entries for ${groups} groups; pass one (or null) per prompt.`,
    );
  }
  const advantages = new Float64Array(rewards.length);
  const statistics: DcpoPromptStatistics[] = [];
  for (let g = 0; g < groups; g++) {
    const start = g * groupSize;
    const [groupMean, groupVariance] = meanVariance(rewards, start, groupSize);
    const groupM2 = groupVariance * (groupSize - 1);
    const before = history[g] ?? { steps: 0, count: 0, mean: 0, m2: 0 };
    // Chan et al.'s merge of (count, mean, M2) with the new group
    const count = before.count + groupSize;
    const delta = groupMean - before.mean;
    const mean = before.mean + (delta * groupSize) / count;
    const m2 = before.m2 + groupM2 + (delta * delta * before.count * groupSize) / count;
    const after: DcpoPromptStatistics = { steps: before.steps + 1, count, mean, m2 };
    statistics.push(after);
    const i = after.steps;
    const groupStd = Math.sqrt(groupVariance);
    const totalStd = count > 1 ? Math.sqrt(m2 / (count - 1)) : 0;
    for (let j = start; j < start + groupSize; j++) {
      const aNew = groupStd > 0 ? (rewards[j] - groupMean) / groupStd : 0;
      const aTotal = totalStd > 0 ? (rewards[j] - mean) / totalStd : 0;
      const smoothNew = ((i - 1) / i) * aNew + (1 / i) * aTotal;
      const smoothTotal = (1 / i) * aNew + ((i - 1) / i) * aTotal;
      advantages[j] = Math.abs(smoothNew) < Math.abs(smoothTotal) ? smoothNew : smoothTotal;
    }
  }
  return { advantages, statistics };
}

/** Whether every reward of each group is the same (such a group gives GRPO no gradient). */
export function equalRewardGroups(rewards: ArrayLike<number>, groupSize: number): boolean[] {
  const groups = rewards.length / groupSize;
  return Array.from({ length: groups }, (_, g) => {
    for (let j = g * groupSize + 1; j < (g + 1) * groupSize; j++)
      if (rewards[j] !== rewards[g * groupSize]) return false;
    return true;
  });
}
