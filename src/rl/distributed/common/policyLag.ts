/**
 * The bound on policy lag of a distributed on-policy learner (issue 18, "PPO with a bound on policy
 * lag"): a sample collected with weights of version v reaches a learner at version V with a lag of
 * V − v updates; samples whose lag exceeds `maxPolicyLag` are dropped and counted, the rest are
 * kept with their lags (for the `distributed/policyLag` metrics). PPO's clipped ratio
 * π_θ/π_old only trusts samples from a policy close to the current one (Schulman et al. 2017, §3);
 * dropping stale samples keeps π_old within `maxPolicyLag` updates of π_θ, where IMPALA corrects
 * the lag with V-trace instead.
 */

/** Samples split by their policy lag (see this file's header). */
export interface PolicyLagSplit<T> {
  /** Samples within the bound, in their order of arrival. */
  kept: T[];
  /** V − v of each kept sample. */
  lags: number[];
  /** Samples beyond the bound, in their order of arrival. */
  stale: T[];
}

/**
 * Split `samples` into those at most `maxPolicyLag` versions behind `learnerVersion` and the stale
 * rest; `maxPolicyLag: null` keeps every sample.
 */
export function splitByPolicyLag<T>(
  samples: readonly T[],
  versionOf: (sample: T) => number,
  learnerVersion: number,
  maxPolicyLag: number | null,
): PolicyLagSplit<T> {
  const kept: T[] = [];
  const lags: number[] = [];
  const stale: T[] = [];
  for (const sample of samples) {
    const lag = learnerVersion - versionOf(sample);
    if (maxPolicyLag !== null && lag > maxPolicyLag) stale.push(sample);
    else {
      kept.push(sample);
      lags.push(lag);
    }
  }
  return { kept, lags, stale };
}
