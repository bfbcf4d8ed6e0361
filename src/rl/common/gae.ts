import { ProximalError } from "../../errors.js";

/** Inputs of {@link computeGae}; every array is `[nSteps * numEnvs]`, step-major. */
export interface GaeInputs {
  /** r_t, already including `γ·V(finalObs)` for truncated episodes (see below). */
  rewards: Float32Array;
  /** V(s_t) from the critic at collection time. */
  values: Float32Array;
  /** 1 where the episode ended at step t (terminated or truncated), else 0. */
  dones: Uint8Array;
  /** V(s_T) for the observation after the last step, one per env. */
  lastValues: Float32Array;
  numEnvs: number;
  gamma: number;
  gaeLambda: number;
}

/**
 * Generalized Advantage Estimation (Schulman et al. 2016, arXiv:1506.02438, eq. 16):
 * `δ_t = r_t + γ V(s_{t+1}) (1 - done_t) - V(s_t)`, `A_t = δ_t + γλ (1 - done_t) A_{t+1}`, and
 * returns `R_t = A_t + V(s_t)` (the λ-return the critic regresses on).
 *
 * Episode ends stop bootstrapping. Truncation is not termination: the collector adds
 * `γ·V(final observation)` to the reward of a truncated step before calling this, so the cut-off
 * future is still credited (SB3's `collect_rollouts` does the same; CleanRL issue #198 leaves it
 * open). λ = 1 gives the Monte-Carlo return minus the baseline (TD(1)); λ = 0 the one-step TD error.
 *
 * @returns advantages and returns, `[nSteps * numEnvs]` each.
 */
export function computeGae(inputs: GaeInputs): { advantages: Float32Array; returns: Float32Array } {
  const { rewards, values, dones, lastValues, numEnvs, gamma, gaeLambda } = inputs;
  const total = rewards.length;
  if (
    total % numEnvs !== 0 ||
    values.length !== total ||
    dones.length !== total ||
    lastValues.length !== numEnvs
  ) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `computeGae: rewards (${total}), values (${values.length}), dones (${dones.length}) must be [nSteps * ${numEnvs}] and lastValues (${lastValues.length}) [${numEnvs}].`,
    );
  }
  const nSteps = total / numEnvs;
  const advantages = new Float32Array(total);
  const returns = new Float32Array(total);
  for (let e = 0; e < numEnvs; e++) {
    let nextAdvantage = 0;
    let nextValue = lastValues[e];
    for (let t = nSteps - 1; t >= 0; t--) {
      const i = t * numEnvs + e;
      const nextNonTerminal = dones[i] ? 0 : 1;
      const delta = rewards[i] + gamma * nextValue * nextNonTerminal - values[i];
      nextAdvantage = delta + gamma * gaeLambda * nextNonTerminal * nextAdvantage;
      advantages[i] = nextAdvantage;
      returns[i] = nextAdvantage + values[i];
      nextValue = values[i];
    }
  }
  return { advantages, returns };
}

/**
 * Discounted reward-to-go `G_t = Σ_k γ^k r_{t+k}` within each episode (REINFORCE's return;
 * Sutton & Barto 2018, §13.3): GAE with λ = 1 and a zero baseline.
 */
export function discountedReturns(
  rewards: Float32Array,
  dones: Uint8Array,
  numEnvs: number,
  gamma: number,
  lastValues?: Float32Array,
): Float32Array {
  return computeGae({
    rewards,
    values: new Float32Array(rewards.length),
    dones,
    lastValues: lastValues ?? new Float32Array(numEnvs),
    numEnvs,
    gamma,
    gaeLambda: 1,
  }).returns;
}

/** Normalise to zero mean and unit std (population std + eps, as SB3/CleanRL); a single element is left as is. */
export function normalizeInPlace(x: Float32Array, eps = 1e-8): Float32Array {
  const n = x.length;
  if (n < 2) return x;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) ** 2;
  // torch.std is the unbiased estimator; SB3 and CleanRL normalise with it
  const std = Math.sqrt(variance / (n - 1));
  for (let i = 0; i < n; i++) x[i] = (x[i] - mean) / (std + eps);
  return x;
}

/** Explained variance `1 - Var[y - ŷ]/Var[y]` (SB3's `explained_variance`): 1 is perfect, ≤ 0 useless. NaN when Var[y] = 0. */
export function explainedVariance(predicted: Float32Array, target: Float32Array): number {
  const n = target.length;
  let my = 0;
  let md = 0;
  for (let i = 0; i < n; i++) {
    my += target[i];
    md += target[i] - predicted[i];
  }
  my /= n;
  md /= n;
  let vy = 0;
  let vd = 0;
  for (let i = 0; i < n; i++) {
    vy += (target[i] - my) ** 2;
    const d = target[i] - predicted[i] - md;
    vd += d * d;
  }
  return vy === 0 ? Number.NaN : 1 - vd / vy;
}
