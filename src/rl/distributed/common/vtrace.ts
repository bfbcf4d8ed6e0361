import { ProximalError } from "../../../errors.js";

/** Inputs of {@link computeVtrace}; every per-step array is `[nSteps * numEnvs]`, step-major (as GAE's). */
export interface VtraceInputs {
  /** log μ(a_t|x_t): the behaviour policy's log-probability, recorded by the actor when it acted. */
  behaviourLogProbs: Float32Array;
  /** log π(a_t|x_t): the learner's current (target) policy on the same actions. */
  targetLogProbs: Float32Array;
  /** r_t, already including `γ·V(finalObs)` for truncated episodes (the GAE convention). */
  rewards: Float32Array;
  /** V(x_t) from the learner's current critic. */
  values: Float32Array;
  /** 1 where the episode ended at step t (terminated or truncated), else 0. */
  dones: Uint8Array;
  /** V(x_T) for the observation after the last step, one per env (the bootstrap value). */
  bootstrapValues: Float32Array;
  numEnvs: number;
  /** Discount γ. */
  gamma: number;
  /** ρ̄, the truncation of the importance weights in δ_t (fixes the value the fixed point is of). @defaultValue 1 (paper §5) */
  rhoBar?: number;
  /** c̄, the truncation of the trace coefficients (sets the contraction speed). @defaultValue 1 (paper §5) */
  cBar?: number;
  /** ρ̄ of the policy-gradient advantage (§4.2); the paper uses the same value as `rhoBar`. @defaultValue rhoBar */
  pgRhoBar?: number;
  /** λ of the traces, `c_i = λ·min(c̄, π/μ)` (§4.2, "Remark"). @defaultValue 1 */
  lambda?: number;
}

/** Outputs of {@link computeVtrace}, `[nSteps * numEnvs]` each. */
export interface VtraceOutputs {
  /** v_s, the V-trace targets the critic regresses on (eq. 1). */
  vs: Float32Array;
  /** `ρ_s (r_s + γ v_{s+1} − V(x_s))` with `ρ_s = min(pgRhoBar, π/μ)`, the actor's advantage (§4.2). */
  pgAdvantages: Float32Array;
  /** The unclipped importance ratios π/μ, for diagnostics (how far the actors lag). */
  ratios: Float32Array;
}

/**
 * V-trace (Espeholt et al. 2018, IMPALA, arXiv:1802.01561, eq. 1 and §4.2): off-policy n-step targets
 * for trajectories collected by a behaviour policy μ that lags the learner's policy π.
 *
 * ```
 * ρ_t = min(ρ̄, π(a_t|x_t)/μ(a_t|x_t)),  c_t = λ·min(c̄, π(a_t|x_t)/μ(a_t|x_t))
 * δ_t V = ρ_t (r_t + γ_t V(x_{t+1}) − V(x_t)),      γ_t = γ·(1 − done_t)
 * v_s = V(x_s) + Σ_{t=s}^{s+n−1} (Π_{i=s}^{t−1} γ_i c_i) δ_t V                   (eq. 1)
 *     = V(x_s) + δ_s V + γ_s c_s (v_{s+1} − V(x_{s+1}))                          (Remark 1, used here)
 * A_s = ρ_s (r_s + γ_s v_{s+1} − V(x_s))                                           (§4.2)
 * ```
 * with `v_T = V(x_T)` = `bootstrapValues` after the last step. Episode ends (`done_t`) cut both the
 * bootstrap and the trace, as in GAE. On-policy (π = μ, so ρ = c = 1 with ρ̄, c̄ ≥ 1 and λ = 1), v_s
 * is the n-step return bootstrapped at the rollout's end, and A_s the GAE(λ = 1) advantage.
 *
 * Matches the recursion of DeepMind's `scalable_agent/vtrace.py` (`from_importance_weights`), with
 * the discount carrying the episode ends as there.
 */
export function computeVtrace(inputs: VtraceInputs): VtraceOutputs {
  const { behaviourLogProbs, targetLogProbs, rewards, values, dones, bootstrapValues, numEnvs, gamma } =
    inputs;
  const rhoBar = inputs.rhoBar ?? 1;
  const cBar = inputs.cBar ?? 1;
  const pgRhoBar = inputs.pgRhoBar ?? rhoBar;
  const lambda = inputs.lambda ?? 1;
  const total = rewards.length;
  if (
    !(numEnvs >= 1) ||
    total % numEnvs !== 0 ||
    values.length !== total ||
    dones.length !== total ||
    behaviourLogProbs.length !== total ||
    targetLogProbs.length !== total ||
    bootstrapValues.length !== numEnvs
  ) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `computeVtrace: rewards (${total}), values (${values.length}), dones (${dones.length}), behaviourLogProbs (${behaviourLogProbs.length}) and targetLogProbs (${targetLogProbs.length}) must be [nSteps * ${numEnvs}] and bootstrapValues (${bootstrapValues.length}) [${numEnvs}].`,
    );
  }
  for (const [name, value] of [
    ["rhoBar", rhoBar],
    ["cBar", cBar],
    ["pgRhoBar", pgRhoBar],
  ] as const) {
    if (!(value > 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `computeVtrace: ${name} must be > 0 (the paper uses 1), got ${value}.`,
      );
    }
  }
  if (!(lambda >= 0 && lambda <= 1)) {
    throw new ProximalError("INVALID_OPTION", `computeVtrace: lambda must be in [0, 1], got ${lambda}.`);
  }
  const nSteps = total / numEnvs;
  const vs = new Float32Array(total);
  const pgAdvantages = new Float32Array(total);
  const ratios = new Float32Array(total);
  for (let e = 0; e < numEnvs; e++) {
    // v_{s+1} − V(x_{s+1}) and V(x_{s+1}) / v_{s+1} of the step after s, walking backwards
    let nextCorrection = 0;
    let nextValue = bootstrapValues[e];
    let nextVs = bootstrapValues[e];
    for (let t = nSteps - 1; t >= 0; t--) {
      const i = t * numEnvs + e;
      // exp of the log difference: the ratio of probabilities without underflowing either one
      const ratio = Math.exp(targetLogProbs[i] - behaviourLogProbs[i]);
      ratios[i] = ratio;
      const discount = dones[i] ? 0 : gamma;
      const rho = Math.min(rhoBar, ratio);
      const c = lambda * Math.min(cBar, ratio);
      const delta = rho * (rewards[i] + discount * nextValue - values[i]);
      const correction = delta + discount * c * nextCorrection;
      vs[i] = values[i] + correction;
      pgAdvantages[i] = Math.min(pgRhoBar, ratio) * (rewards[i] + discount * nextVs - values[i]);
      nextCorrection = correction;
      nextValue = values[i];
      nextVs = values[i] + correction;
    }
  }
  return { vs, pgAdvantages, ratios };
}
