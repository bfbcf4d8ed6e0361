/**
 * The targets and losses of the continuous-action actor-critic family (DDPG, TD3, SAC), as pure
 * functions of tensors and arrays, so each can be checked against PyTorch on its own
 * (`fixtures/torch/continuous.json`, `scripts/fixtures/makeContinuousFixtures.py`). The algorithms
 * (`rl/ddpg.ts`, `rl/td3.ts`, `rl/sac.ts`) only wire networks and replay batches into these.
 */
import { ProximalError } from "../../errors.js";
import * as ops from "../../tensor/ops.js";
import { getBackend, Tensor } from "../../tensor/tensor.js";

/** Inputs of {@link clippedDoubleQTargets}: flat arrays of one minibatch of B transitions. */
export interface ClippedDoubleQInputs {
  /** r (or the n-step sum `Σ_{k<n} γ^k r_{t+k}`), [B]. */
  rewards: ArrayLike<number>;
  /** 1 where the transition reached a terminal state (terminated only, never truncated), [B]. */
  dones: ArrayLike<number>;
  /** k of `γ^k` per row (1 for one-step transitions); omitted means all 1. */
  steps?: ArrayLike<number>;
  /** Each target critic's `Q'_j(s', a')`, one [B] array per critic (one for DDPG, two for TD3/SAC). */
  nextQ: ArrayLike<number>[];
  /** `log π(a'|s')` of the next actions (SAC's entropy term), [B]; omitted for DDPG/TD3. */
  nextLogProb?: ArrayLike<number> | null;
  /** Entropy coefficient α multiplying `nextLogProb`. @defaultValue 0 */
  entCoef?: number;
  gamma: number;
}

/**
 * Bootstrapped critic targets, computed in float64:
 * `y = r + γ^k (1 − done) (min_j Q'_j(s', a') − α log π(a'|s'))`.
 * - DDPG (Lillicrap et al. 2016, arXiv:1509.02971, Algorithm 1): one critic, no entropy term,
 *   `y = r + γ Q'(s', μ'(s'))`;
 * - TD3 (Fujimoto et al. 2018, arXiv:1802.09477, eq. 10, "clipped double Q-learning"): the minimum of
 *   two target critics at the smoothed target action;
 * - SAC (Haarnoja et al. 2018, arXiv:1812.05905, eqs. 3 and 5, with the twin critics of §5): the
 *   soft value `min_j Q'_j − α log π` at `a' ~ π(·|s')`.
 *
 * @example
 * // by hand: 1 + 0.9·min(2, 3) = 2.8; a terminal row gives its reward
 * clippedDoubleQTargets({ rewards: [1, 1], dones: [0, 1], nextQ: [[2, 5], [3, 4]], gamma: 0.9 });
 * // Float32Array [2.8, 1]
 */
export function clippedDoubleQTargets(inputs: ClippedDoubleQInputs): Float32Array {
  const { rewards, dones, steps, nextQ, nextLogProb, gamma } = inputs;
  const entCoef = inputs.entCoef ?? 0;
  const batch = rewards.length;
  if (nextQ.length === 0 || nextQ.some((q) => q.length !== batch)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `clippedDoubleQTargets: give one next-Q array of ${batch} values per critic, got [${nextQ.map((q) => q.length).join(", ")}].`,
    );
  }
  if (nextLogProb && nextLogProb.length !== batch) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `clippedDoubleQTargets: nextLogProb has ${nextLogProb.length} values, expected ${batch}.`,
    );
  }
  const out = new Float32Array(batch);
  for (let i = 0; i < batch; i++) {
    let next = nextQ[0][i];
    for (let j = 1; j < nextQ.length; j++) next = Math.min(next, nextQ[j][i]);
    if (nextLogProb) next -= entCoef * nextLogProb[i];
    const k = steps === undefined ? 1 : steps[i];
    out[i] = rewards[i] + gamma ** k * (1 - dones[i]) * next;
  }
  return out;
}

/**
 * TD3's target policy smoothing (Fujimoto et al. 2018, arXiv:1802.09477, eq. 14; SB3 `td3.py`):
 * `a'' = clip(a' + clip(σ n, −c, c), −1, 1)` for target actor actions `a'` in the scaled space
 * [−1, 1] and standard normal draws `n` (both `[B * dim]`); σ = `targetPolicyNoise`, c =
 * `targetNoiseClip`. Computed in float64, returned as float32.
 */
export function smoothTargetActions(
  actions: ArrayLike<number>,
  normals: ArrayLike<number>,
  targetPolicyNoise: number,
  targetNoiseClip: number,
): Float32Array {
  if (actions.length !== normals.length) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `smoothTargetActions: ${actions.length} actions but ${normals.length} noise draws; give one draw per action component.`,
    );
  }
  const out = new Float32Array(actions.length);
  for (let i = 0; i < out.length; i++) {
    const noise = Math.min(Math.max(targetPolicyNoise * normals[i], -targetNoiseClip), targetNoiseClip);
    out[i] = Math.min(Math.max(actions[i] + noise, -1), 1);
  }
  return out;
}

/**
 * The critics' regression loss `scale · Σ_j mean_i (Q_j(s_i, a_i) − y_i)²` over the critics'
 * predictions `q` (each `[B]`) and the fixed targets `y` (`[B]`): SB3's TD3/DDPG use scale 1 (a sum of
 * `F.mse_loss`, Fujimoto et al. 2018, Algorithm 1), SAC 0.5 (Haarnoja et al. 2018,
 * arXiv:1812.05905, eq. 5: `J_Q = E[½ (Q − y)²]`).
 */
export function continuousCriticLoss(q: Tensor[], y: Tensor, scale = 1): Tensor {
  if (q.length === 0) {
    throw new ProximalError("INVALID_ARGUMENT", "continuousCriticLoss: give at least one critic's Q-values.");
  }
  let total: Tensor | null = null;
  for (const qj of q) {
    const mse = ops.mean(ops.square(ops.sub(qj, y)));
    total = total === null ? mse : ops.add(total, mse);
  }
  return scale === 1 ? total! : ops.mul(total!, scale);
}

/**
 * The deterministic policy-gradient actor loss `−mean_i Q_1(s_i, μ(s_i))` (Silver et al. 2014;
 * Lillicrap et al. 2016, arXiv:1509.02971, Algorithm 1; TD3 uses the first critic only, Fujimoto
 * et al. 2018, Algorithm 1), from `q1` [B] computed through the actor.
 */
export function deterministicActorLoss(q1: Tensor): Tensor {
  return ops.neg(ops.mean(q1));
}

/**
 * SAC's policy loss `mean_i (α log π(ã_i|s_i) − min_j Q_j(s_i, ã_i))` with `ã` the reparameterised
 * action (Haarnoja et al. 2018, arXiv:1812.05905, eq. 7 with the twin critics' minimum, as SB3's
 * `sac.py`); `logProb` and each of `q` are [B], α a fixed number for this step.
 */
export function sacActorLoss(logProb: Tensor, q: Tensor[], entCoef: number): Tensor {
  let minQ = q[0];
  for (let j = 1; j < q.length; j++) minQ = ops.minimum(minQ, q[j]);
  return ops.mean(ops.sub(ops.mul(logProb, entCoef), minQ));
}

/**
 * The automatic temperature loss on log α (Haarnoja et al. 2018, arXiv:1812.05905, §5 and eq. 18:
 * `J(α) = E[−α (log π(a|s) + H̄)]`, written on log α as SB3 and the authors' softlearning code):
 * `−mean_i log α · (log π(a_i|s_i) + H̄)`, `logProb` treated as a constant, `H̄` the target entropy
 * (−dim(A) by default).
 */
export function entCoefLoss(logEntCoef: Tensor, logProb: ArrayLike<number>, targetEntropy: number): Tensor {
  let s = 0;
  for (let i = 0; i < logProb.length; i++) s += logProb[i] + targetEntropy;
  return ops.neg(ops.mul(ops.sum(logEntCoef), s / logProb.length));
}

/** SAC's bounds on the actor's log standard deviation (SB3 `sac/policies.py` LOG_STD_MIN/MAX). */
export const LOG_STD_MIN = -20;
export const LOG_STD_MAX = 2;

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * `Σ_i log(1 − tanh(u_i)²)` over the last axis, computed stably as
 * `Σ_i 2 (log 2 − u_i − softplus(−2 u_i))` (an identity: `1 − tanh(u)² = 4 e^{−2u} / (1 + e^{−2u})²`),
 * which stays finite where `tanh(u)` rounds to ±1. SB3 writes `log(1 − tanh(u)² + 1e-6)` instead,
 * which is the same to ~1e-6 for |u| < 3 and floors the term at log(1e-6) beyond (see the fixture's
 * `logProbSb3`).
 */
export function tanhLogDetJacobian(u: Tensor): Tensor {
  const perComponent = ops.mul(ops.sub(ops.sub(Math.LN2, u), ops.softplus(ops.mul(u, -2))), 2);
  return ops.sum(perComponent, -1);
}

/**
 * The log-density of a tanh-squashed diagonal Gaussian at `a = tanh(u)` (Haarnoja et al. 2018,
 * arXiv:1812.05905, App. C, eq. 26): `log π(a|s) = Σ_i log N(u_i; μ_i, σ_i) − Σ_i log(1 − tanh(u_i)²)`,
 * for pre-squash samples `u`, means `μ` and log standard deviations `log σ`, all `[B, dim]`; [B].
 */
export function squashedGaussianLogProb(u: Tensor, mean: Tensor, logStd: Tensor): Tensor {
  const z = ops.div(ops.sub(u, mean), ops.exp(logStd));
  const gaussian = ops.sum(ops.sub(ops.mul(ops.square(z), -0.5), ops.add(logStd, HALF_LOG_2PI)), -1);
  return ops.sub(gaussian, tanhLogDetJacobian(u));
}

/**
 * A reparameterised sample of the squashed Gaussian policy and its log-density (SB3
 * `SquashedDiagGaussianDistribution` via `Actor.action_log_prob`): `σ = exp(clamp(log σ, −20, 2))`,
 * `u = μ + σ ε`, `a = tanh(u)`, `log π(a|s)` as {@link squashedGaussianLogProb}. The Gaussian term
 * is written in ε, `Σ_i (−ε_i²/2 − log σ_i − ½ log 2π)`: the same value and gradients as
 * `log N(u; μ, σ)` (because `(u − μ)/σ = ε`), without the cancellation of `u − μ` in float32 when σ is
 * tiny. `eps` holds standard normal draws `[B * dim]`.
 */
export function squashedGaussianSample(
  mean: Tensor,
  rawLogStd: Tensor,
  eps: Float32Array,
): { actions: Tensor; logProb: Tensor } {
  const { logStd, epsilon, u } = gaussianDraw(mean, rawLogStd, eps);
  const epsTerm = ops.mul(ops.square(epsilon), -0.5);
  const gaussian = ops.sum(ops.sub(epsTerm, ops.add(logStd, HALF_LOG_2PI)), -1);
  return { actions: ops.tanh(u), logProb: ops.sub(gaussian, tanhLogDetJacobian(u)) };
}

/**
 * Only the actions of {@link squashedGaussianSample}, `tanh(mean + exp(clamp(logStd)) ⊙ eps)`, with
 * the same ops in the same order (so the same values): acting needs no log-probability, whose sums
 * were most of an action's work.
 */
export function squashedGaussianAction(mean: Tensor, rawLogStd: Tensor, eps: Float32Array): Tensor {
  return ops.tanh(gaussianDraw(mean, rawLogStd, eps).u);
}

/** The pre-squash Gaussian draw `u = mean + exp(logStd) ⊙ eps`, logStd clamped as SB3. */
function gaussianDraw(
  mean: Tensor,
  rawLogStd: Tensor,
  eps: Float32Array,
): { logStd: Tensor; epsilon: Tensor; u: Tensor } {
  const logStd = ops.clamp(rawLogStd, LOG_STD_MIN, LOG_STD_MAX);
  const epsilon = new Tensor(eps, mean.shape);
  return { logStd, epsilon, u: ops.add(mean, ops.mul(ops.exp(logStd), epsilon)) };
}

/**
 * Polyak averaging of target parameters, `θ' ← (1 − τ) θ' + τ θ` (Lillicrap et al. 2016,
 * arXiv:1509.02971, Algorithm 1; SB3 `polyak_update`), in place on the target's data, name by name;
 * τ = 1 copies. Each `[name, tensor]` list comes from `namedParameters()` of two modules of the same
 * architecture.
 */
export function polyakUpdate(online: [string, Tensor][], target: [string, Tensor][], tau: number): void {
  const targets = new Map(target);
  if (targets.size !== online.length) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `polyakUpdate: the online module has ${online.length} parameters, the target ${targets.size}; they must be copies of one architecture.`,
    );
  }
  const sources: Float32Array[] = [];
  const destinations: Float32Array[] = [];
  for (const [name, p] of online) {
    const t = targets.get(name);
    if (t === undefined || t.size !== p.size) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `polyakUpdate: the target has no parameter ${name} of size ${p.size}.`,
      );
    }
    sources.push(p.values);
    destinations.push(t.values);
  }
  // every tensor in one backend call, with the float64 arithmetic of `(1 - tau) * dst + tau * src`
  getBackend().polyakUpdate(destinations, sources, tau);
}
