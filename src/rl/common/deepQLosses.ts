/**
 * The targets and losses of the value-based family (`DQN`, `Rainbow`): scalar Q-learning (DQN,
 * Double DQN), C51's target selection (its projection and cross-entropy are in
 * `distributions/categoricalReturns.ts`) and QR-DQN's quantile targets and quantile Huber loss.
 */
import { categoricalProjection } from "../../distributions/categoricalReturns.js";
import { ProximalError } from "../../errors.js";
import * as ops from "../../tensor/ops.js";
import { record, Tensor } from "../../tensor/tensor.js";
import { greedyActions } from "./qPolicy.js";

/** Inputs of {@link tdTargets}: flat arrays of one minibatch of B transitions and A actions. */
export interface TdTargetInputs {
  /** r (or the n-step sum `Σ_{k<n} γ^k r_{t+k}`), [B]. */
  rewards: ArrayLike<number>;
  /** 1 where the transition reached a terminal state (terminated only, never truncated), [B]. */
  dones: ArrayLike<number>;
  /** k of `γ^k` per row (1 for one-step transitions); omitted means all 1. */
  steps?: ArrayLike<number>;
  /** Target-network values `Q_target(s', ·)`, [B * A]. */
  nextQTarget: ArrayLike<number>;
  /** Online-network values `Q(s', ·)` for Double DQN's action choice, [B * A]; omitted for plain DQN. */
  nextQOnline?: ArrayLike<number> | null;
  /**
   * Action masks of the next states, [B * A], 1 = allowed (see {@link tdTargets}); omitted or null:
   * every action is allowed. Rows with `dones` 1 are not read.
   */
  nextMasks?: ArrayLike<number> | null;
  /** A, the number of actions. */
  nActions: number;
  gamma: number;
}

/**
 * TD targets of DQN and Double DQN, computed in float64:
 * - DQN (Mnih et al. 2015, Methods, eq. 3): `y = r + γ^k (1 − done) max_a Q_target(s', a)`;
 * - Double DQN (van Hasselt et al. 2016, arXiv:1509.06461, eq. 4):
 *   `y = r + γ^k (1 − done) Q_target(s', argmax_a Q(s', a))`.
 * k is the number of rewards summed into r (n-step returns; Sutton & Barto 2018, §7.1).
 *
 * With `nextMasks` (an env that reports which actions are allowed, e.g. Taxi-v4's `action_mask`),
 * the max and the argmax range over the next state's allowed actions A(s') only:
 * `y = r + γ^k (1 − done) max_{a ∈ A(s')} Q_target(s', a)` (Double: `argmax_{a ∈ A(s')} Q(s', a)`).
 * Why: the agent can never take a forbidden action in s', so its value is not part of the value of
 * s' under the greedy policy; a forbidden action is never trained (it is never taken, so never the
 * `a` of a stored transition), so its Q-value stays at whatever the network extrapolates, and an
 * unmasked max picks up that arbitrary (often too high) number and propagates it through every
 * bootstrap. Huang & Ontañón 2020 ("A Closer Look at Invalid Action Masking in Policy Gradient
 * Algorithms", arXiv:2006.14171) make the same point for policies: the mask must apply wherever the
 * policy's action distribution is used, not only when acting. A terminated row bootstraps nothing,
 * so its mask is not read.
 *
 * @example
 * // by hand: 1 + 0.9·max(2, 3) = 3.7, and a terminal row gives its reward
 * tdTargets({ rewards: [1, 1], dones: [0, 1], nextQTarget: [2, 3, 2, 3], nActions: 2, gamma: 0.9 });
 * // Float32Array [3.7, 1]
 */
export function tdTargets(inputs: TdTargetInputs): Float32Array {
  const { rewards, dones, steps, nextQTarget, nextQOnline, nextMasks, nActions: a, gamma } = inputs;
  const batch = rewards.length;
  if (nextQTarget.length !== batch * a || (nextQOnline && nextQOnline.length !== batch * a)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `tdTargets: next Q-values must hold ${batch} rows of ${a} actions (${batch * a} values), got ${nextQTarget.length}${nextQOnline ? ` and ${nextQOnline.length}` : ""}.`,
    );
  }
  if (nextMasks && nextMasks.length !== batch * a) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `tdTargets: nextMasks must hold ${batch} rows of ${a} actions (${batch * a} values), got ${nextMasks.length}.`,
    );
  }
  const out = new Float32Array(batch);
  for (let i = 0; i < batch; i++) {
    let next: number;
    if (nextMasks) {
      // masked: max (or Double's argmax) over the allowed actions of s' only; -1 = none allowed
      const chooser = nextQOnline ?? nextQTarget;
      let best = -1;
      for (let j = 0; j < a; j++) {
        if (nextMasks[i * a + j] === 0) continue;
        if (best === -1 || chooser[i * a + j] > chooser[i * a + best]) best = j;
      }
      if (best === -1) {
        if (dones[i] === 0) {
          throw new ProximalError(
            "INVALID_ARGUMENT",
            `tdTargets: the next state of row ${i} allows no action and is not terminal, so there is nothing to bootstrap from. Every non-terminal state needs at least one allowed action in its mask.`,
          );
        }
        next = 0; // terminal: nothing is bootstrapped
      } else next = nextQTarget[i * a + best];
    } else if (nextQOnline) {
      // Double DQN: choose with the online network, evaluate with the target network
      let best = 0;
      for (let j = 1; j < a; j++) if (nextQOnline[i * a + j] > nextQOnline[i * a + best]) best = j;
      next = nextQTarget[i * a + best];
    } else {
      next = nextQTarget[i * a];
      for (let j = 1; j < a; j++) next = Math.max(next, nextQTarget[i * a + j]);
    }
    const k = steps === undefined ? 1 : steps[i];
    out[i] = rewards[i] + gamma ** k * (1 - dones[i]) * next;
  }
  return out;
}

/** Inputs of {@link categoricalTargets}: one minibatch of B transitions, A actions, N atoms. */
export interface CategoricalTargetInputs {
  /** Target-network probabilities `p_j(s', a)`, [B * A * N]. */
  nextProbs: ArrayLike<number>;
  /** Online-network mean values `Q(s', ·)` for Double's action choice, [B * A]; omitted otherwise. */
  nextQOnline?: ArrayLike<number> | null;
  /** Action masks of the next states, [B * A], 1 = allowed; omitted or null: all allowed. */
  nextMasks?: Uint8Array | null;
  /** The support z_j, [N]. */
  support: ArrayLike<number>;
  rewards: ArrayLike<number>;
  dones: ArrayLike<number>;
  steps?: ArrayLike<number>;
  nActions: number;
  gamma: number;
  vMin: number;
  vMax: number;
}

/**
 * The next-state masks a distributional target's greedy choice runs over: `nextMasks` checked to hold
 * `b` rows of `a` actions, with terminated rows opened to every action (they bootstrap nothing, and a
 * terminal mask may allow none); null without masks.
 */
function bootstrapMasks(
  caller: string,
  nextMasks: Uint8Array | null | undefined,
  dones: ArrayLike<number>,
  b: number,
  a: number,
): Uint8Array | null {
  if (!nextMasks) return null;
  if (nextMasks.length !== b * a) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${caller}: nextMasks must hold ${b} rows of ${a} actions (${b * a} values), got ${nextMasks.length}.`,
    );
  }
  const masks = nextMasks.slice();
  for (let i = 0; i < b; i++) if (dones[i] !== 0) masks.fill(1, i * a, (i + 1) * a);
  return masks;
}

/**
 * C51's target distribution (Bellemare et al. 2017, arXiv:1707.06887, Algorithm 1), [B * N]: the
 * bootstrap action `a* = argmax_a Σ_j z_j p_j(s', a)` of the target network (Double: of the online
 * network's means, Hessel et al. 2018), then the projection of `r + γ^k (1 − done) z` weighted by
 * `p(s', a*)` onto the support ({@link categoricalProjection}). With `nextMasks`, `a*` ranges over the
 * next state's allowed actions only, for the reason given at {@link tdTargets}; terminated rows
 * bootstrap nothing, so their masks are not read.
 */
export function categoricalTargets(inputs: CategoricalTargetInputs): Float32Array {
  const { nextProbs: all, nextQOnline, nextMasks, support: z, rewards, dones, nActions: a } = inputs;
  const b = rewards.length;
  const atoms = z.length;
  if (all.length !== b * a * atoms || (nextQOnline && nextQOnline.length !== b * a)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `categoricalTargets: expected ${b * a * atoms} next probabilities (${b} rows, ${a} actions, ${atoms} atoms)${nextQOnline ? ` and ${b * a} online values` : ""}, got ${all.length}${nextQOnline ? ` and ${nextQOnline.length}` : ""}.`,
    );
  }
  let chooser: ArrayLike<number>;
  if (nextQOnline) chooser = nextQOnline;
  else {
    // means of the target network's distributions, rounded to float32 as the network's outputs are
    const means = new Float32Array(b * a);
    for (let r = 0; r < b * a; r++) {
      let q = 0;
      for (let j = 0; j < atoms; j++) q += z[j] * all[r * atoms + j];
      means[r] = q;
    }
    chooser = means;
  }
  const best = greedyActions(chooser, b, a, bootstrapMasks("categoricalTargets", nextMasks, dones, b, a));
  const nextProbs = new Float32Array(b * atoms);
  for (let i = 0; i < b; i++) {
    const from = (i * a + best[i]) * atoms;
    for (let j = 0; j < atoms; j++) nextProbs[i * atoms + j] = all[from + j];
  }
  return categoricalProjection({
    nextProbs,
    rewards,
    dones,
    steps: inputs.steps,
    gamma: inputs.gamma,
    atoms,
    vMin: inputs.vMin,
    vMax: inputs.vMax,
  });
}

/**
 * Huber loss with threshold 1 (PyTorch's `smooth_l1_loss` with β = 1, SB3's DQN loss), optionally
 * importance-weighted (Schaul et al. 2016, Algorithm 1, line 11):
 * `L = mean_i w_i h(q_i − y_i)`, `h(δ) = δ²/2 if |δ| < 1 else |δ| − 1/2`. Mnih et al. 2015 (Methods,
 * "Training algorithm") clip the TD error's gradient to [−1, 1], which is this loss's gradient.
 * Written as `h = c²/2 + |δ| − c` with `c = min(|δ|, 1)`, which is both branches at once.
 *
 * @example
 * // by hand: δ = 0.5 → 0.125, δ = −3 → 2.5; mean 1.3125
 * huberLoss(new Tensor(new Float32Array([0.5, -3]), [2]), new Tensor(new Float32Array([0, 0]), [2])).item();
 */
export function huberLoss(predicted: Tensor, target: Tensor, weights?: Tensor | null): Tensor {
  const absDelta = ops.abs(ops.sub(predicted, target));
  const clipped = ops.clamp(absDelta, 0, 1);
  const h = ops.add(ops.mul(ops.square(clipped), 0.5), ops.sub(absDelta, clipped));
  return ops.mean(weights ? ops.mul(h, weights) : h);
}

/** Inputs of {@link quantileTargets}: one minibatch of B transitions, A actions, N quantiles. */
export interface QuantileTargetInputs {
  /** Target-network quantile values `θ_j(s', a)`, [B * A * N]. */
  nextQuantiles: ArrayLike<number>;
  /** Online-network values `Q(s', ·)` (means over quantiles) for Double's action choice, [B * A]. */
  nextQOnline?: ArrayLike<number> | null;
  /** Action masks of the next states, [B * A], 1 = allowed; omitted or null: all allowed. */
  nextMasks?: Uint8Array | null;
  rewards: ArrayLike<number>;
  dones: ArrayLike<number>;
  /** k of `γ^k` per row (1 for one-step transitions); omitted means all 1. */
  steps?: ArrayLike<number>;
  nActions: number;
  /** N, the number of quantiles per action. */
  quantiles: number;
  gamma: number;
}

/**
 * QR-DQN's target quantiles (Dabney et al. 2018, "Distributional Reinforcement Learning with
 * Quantile Regression", arXiv:1710.10044, Algorithm 1), [B * N]:
 * `T θ_j = r + γ^k (1 − done) θ_j^target(s', a*)`, `a* = argmax_a (1/N) Σ_j θ_j^target(s', a)`
 * (Double: the argmax of the online network's means, as C51 in Hessel et al. 2018). Unlike C51 there
 * is no projection: the shifted and scaled quantiles are themselves the target sample. With
 * `nextMasks`, `a*` ranges over the next state's allowed actions only, for the reason given at
 * {@link tdTargets}; terminated rows bootstrap nothing, so their masks are not read.
 *
 * @example
 * // by hand, 1 row, 2 actions, 2 quantiles: means 1.5 and 3 → a* = 1; 1 + 0.5·[2, 4] = [2, 3]
 * quantileTargets({ nextQuantiles: [1, 2, 2, 4], rewards: [1], dones: [0], nActions: 2, quantiles: 2, gamma: 0.5 });
 * // Float32Array [2, 3]
 */
export function quantileTargets(inputs: QuantileTargetInputs): Float32Array {
  const { nextQuantiles: all, nextQOnline, nextMasks, rewards, dones, steps, nActions: a } = inputs;
  const n = inputs.quantiles;
  const b = rewards.length;
  if (all.length !== b * a * n || (nextQOnline && nextQOnline.length !== b * a)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `quantileTargets: expected ${b * a * n} next quantiles (${b} rows, ${a} actions, ${n} quantiles)${nextQOnline ? ` and ${b * a} online values` : ""}, got ${all.length}${nextQOnline ? ` and ${nextQOnline.length}` : ""}.`,
    );
  }
  let chooser: ArrayLike<number>;
  if (nextQOnline) chooser = nextQOnline;
  else {
    // Q = mean over quantiles (each quantile has probability 1/N), rounded to float32 as the network's
    const means = new Float32Array(b * a);
    for (let r = 0; r < b * a; r++) {
      let q = 0;
      for (let j = 0; j < n; j++) q += all[r * n + j];
      means[r] = q / n;
    }
    chooser = means;
  }
  const best = greedyActions(chooser, b, a, bootstrapMasks("quantileTargets", nextMasks, dones, b, a));
  const out = new Float32Array(b * n);
  for (let i = 0; i < b; i++) {
    const from = (i * a + best[i]) * n;
    const discount = inputs.gamma ** (steps === undefined ? 1 : steps[i]) * (1 - dones[i]);
    for (let j = 0; j < n; j++) out[i * n + j] = rewards[i] + discount * all[from + j];
  }
  return out;
}

/**
 * The quantile midpoints `τ̂_i = (τ_{i−1} + τ_i)/2 = (2i + 1)/(2N)`, i = 0…N−1, that N quantile
 * estimates with uniform weights 1/N minimise the 1-Wasserstein distance for (Dabney et al. 2018,
 * Lemma 2).
 */
export function quantileMidpoints(n: number): Float64Array {
  const tau = new Float64Array(n);
  for (let i = 0; i < n; i++) tau[i] = (2 * i + 1) / (2 * n);
  return tau;
}

/**
 * The quantile Huber loss of QR-DQN (Dabney et al. 2018, arXiv:1710.10044, eqs. 9-10):
 *
 * `L_κ(u) = u²/2 if |u| ≤ κ else κ(|u| − κ/2)` (eq. 9),
 * `ρ^κ_τ(u) = |τ − 1{u < 0}| · L_κ(u)/κ` (eq. 10),
 * `ℓ_b = Σ_i (1/N') Σ_j ρ^κ_{τ̂_i}(T θ_j − θ_i)`, `loss = mean_b w_b ℓ_b`,
 *
 * for predicted quantiles `θ_i` ([B, N], with τ̂_i = (2i + 1)/(2N)) and target quantiles `T θ_j`
 * ([B, N'] values, treated as constants): summed over the predicted quantiles, averaged over the
 * target quantiles and the batch (Algorithm 1; SB3-contrib's `quantile_huber_loss` with its default
 * `sum_over_quantiles=True`; its early versions took the mean over i too, 1/N of this). `1{u < 0}` is a
 * step function, so its weight carries no gradient, as SB3-contrib's `.detach()`. Computed in one
 * pass with its own (first-order) gradient rule; at u = 0 the κ = 0 subgradient is 0, as `torch.sign`.
 * κ = 0 is the limit `L_κ(u)/κ → |u|`, the plain quantile regression loss (eq. 8) whose gradient
 * is the sign only; Dabney et al. report QR-DQN-0 and QR-DQN-1 and use κ = 1 (as SB3-contrib).
 * `weights` are importance weights [B] (prioritised replay); `perSample` is ℓ_b, the priority C51
 * also uses (Hessel et al. 2018, §"Prioritized replay").
 *
 * @example
 * // by hand, N = 1 (τ̂ = 1/2), κ = 1, one target 3 above: ρ = 1/2 · (3 − 1/2) = 1.25
 * quantileHuberLoss(new Tensor(new Float32Array([0]), [1, 1]), [3], 1).loss.item(); // 1.25
 */
export function quantileHuberLoss(
  predicted: Tensor,
  target: ArrayLike<number>,
  kappa: number,
  weights?: Tensor | null,
): { loss: Tensor; perSample: Float32Array } {
  if (predicted.rank !== 2 || predicted.shape[0] === 0 || target.length % predicted.shape[0] !== 0) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `quantileHuberLoss: predicted quantiles must be [batch, N] and the targets a whole number of values per row; got [${predicted.shape.join(", ")}] and ${target.length} target values.`,
    );
  }
  if (!(kappa >= 0) || !Number.isFinite(kappa)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `quantileHuberLoss: kappa must be a finite number >= 0, got ${kappa}. Dabney et al. 2018 use 1 (0 is the plain quantile loss).`,
    );
  }
  const [b, n] = predicted.shape;
  const m = target.length / b;
  // One fused pass over the B·N·N' pairs, in float64, with the gradient ∂ℓ_b/∂θ_bi taken on the way:
  // as a chain of broadcast tensor ops (sub, abs, clamp, square, mul, mean, sum and their backward)
  // this loss took ~40 ms per step at B = 64, N = N' = 50, more than the [256, 256] network, and
  // dominated QR-DQN's training time. ∂ρ/∂u = |τ − 1{u<0}|·(u/κ if |u| ≤ κ else sign u), sign u
  // for κ = 0, and ∂u/∂θ_i = −1. The rule below is first-order only (its Jacobian is a constant).
  const theta = predicted.values;
  const tau = quantileMidpoints(n);
  const perSampleValues = new Float32Array(b);
  const jacobian = new Float32Array(b * n); // ∂ℓ_b/∂θ_bi
  for (let r = 0; r < b; r++) {
    let rowLoss = 0;
    for (let i = 0; i < n; i++) {
      const th = theta[r * n + i];
      let lossI = 0;
      let gradI = 0;
      for (let j = 0; j < m; j++) {
        const u = target[r * m + j] - th;
        const weight = Math.abs(tau[i] - (u < 0 ? 1 : 0));
        const absU = Math.abs(u);
        if (kappa > 0 && absU <= kappa) {
          lossI += (weight * 0.5 * u * u) / kappa;
          gradI -= (weight * u) / kappa;
        } else {
          // |u| > κ: L_κ/κ = |u| − κ/2 (also κ = 0, where it is |u|)
          lossI += weight * (absU - 0.5 * kappa);
          gradI -= weight * Math.sign(u);
        }
      }
      rowLoss += lossI / m;
      jacobian[r * n + i] = gradI / m;
    }
    perSampleValues[r] = rowLoss;
  }
  const jacobianTensor = new Tensor(jacobian, [b, n]);
  const perSample = record(new Tensor(perSampleValues, [b]), [predicted], (g) => [
    ops.mul(ops.reshape(g, [b, 1]), jacobianTensor),
  ]);
  const loss = ops.mean(weights ? ops.mul(perSample, weights) : perSample);
  return { loss, perSample: perSampleValues };
}
