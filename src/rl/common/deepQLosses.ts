/**
 * The targets and losses of scalar Q-learning (DQN, Double DQN), shared by the value-based family
 * (`DQN`, and `Rainbow` without its distributional head). The distributional (C51) target
 * and loss are in `distributions/categoricalReturns.ts`.
 */
import { ProximalError } from "../../errors.js";
import * as ops from "../../tensor/ops.js";
import type { Tensor } from "../../tensor/tensor.js";

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
 * @example
 * // by hand: 1 + 0.9·max(2, 3) = 3.7, and a terminal row gives its reward
 * tdTargets({ rewards: [1, 1], dones: [0, 1], nextQTarget: [2, 3, 2, 3], nActions: 2, gamma: 0.9 });
 * // Float32Array [3.7, 1]
 */
export function tdTargets(inputs: TdTargetInputs): Float32Array {
  const { rewards, dones, steps, nextQTarget, nextQOnline, nActions: a, gamma } = inputs;
  const batch = rewards.length;
  if (nextQTarget.length !== batch * a || (nextQOnline && nextQOnline.length !== batch * a)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `tdTargets: next Q-values must hold ${batch} rows of ${a} actions (${batch * a} values), got ${nextQTarget.length}${nextQOnline ? ` and ${nextQOnline.length}` : ""}.`,
    );
  }
  const out = new Float32Array(batch);
  for (let i = 0; i < batch; i++) {
    let next: number;
    if (nextQOnline) {
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
