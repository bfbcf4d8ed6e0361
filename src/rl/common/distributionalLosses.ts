/**
 * The losses of D4PG (Barth-Maron et al. 2018, "Distributed Distributional Deterministic Policy
 * Gradients", ICLR, arXiv:1804.08617) as pure functions, checked against PyTorch in
 * `fixtures/torch/d4pg.json` (`scripts/fixtures/makeD4pgFixtures.py`). The projection Φ and the
 * cross-entropy are C51's (`distributions/categoricalReturns.ts`), shared with DQN's `distributional`
 * switch and Rainbow: this file only says how a deterministic actor-critic uses them.
 */
import { categoricalCrossEntropy, categoricalProjection } from "../../distributions/categoricalReturns.js";
import { ProximalError } from "../../errors.js";
import * as ops from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";

/** Inputs of {@link distributionalCriticLoss}: one minibatch of B transitions on N atoms. */
export interface DistributionalCriticInputs {
  /** The online critic's logits `Z_w(s, a)` at the stored actions, [B, N] (with a graph). */
  logits: Tensor;
  /** The target critic's probabilities `p_{w'}(s', μ_{θ'}(s'))`, [B * N] (no graph). */
  nextProbs: ArrayLike<number>;
  /** The n-step reward sums `Σ_{k<n} γ^k r_{t+k}`, [B]. */
  rewards: ArrayLike<number>;
  /** 1 where the transition reached a terminal state (not a truncation), [B]. */
  dones: ArrayLike<number>;
  /** n of `γ^n` per row (fewer near an episode's end); omitted means all 1. */
  steps?: ArrayLike<number>;
  gamma: number;
  vMin: number;
  vMax: number;
  /** Importance-sampling weights of prioritised replay, [B]; omitted means all 1. */
  weights?: Tensor | null;
}

/**
 * D4PG's critic loss (Barth-Maron et al. 2018, §3, eq. 4 with the n-step target of eq. 7 and
 * Algorithm 1, line 9): `L(w) = mean_b w_b · CE(Φ(r_b + γ^n z, p_{w'}(s'_b, μ_{θ'}(s'_b))), p_w(s_b, a_b))`,
 * i.e. the cross-entropy between the projected target distribution `m = Φ(·)` (C51's projection,
 * {@link categoricalProjection}, Bellemare et al. 2017, Algorithm 1) and the online critic's
 * categorical distribution; the paper writes the loss as a distance `d` and uses this cross-entropy
 * for the categorical case (§3, "we use the cross-entropy ... as in Bellemare et al."), as Acme's
 * `d4pg/learning.py` (`losses.categorical`). Returns the loss, the per-sample cross-entropies ℓ_b
 * (the replay priorities, as Rainbow: Hessel et al. 2018, §"Prioritized replay") and the target m.
 *
 * @example
 * // a terminal transition with r = 0.5 on the support [-1, 0, 1] puts the target half on 0, half on 1
 * distributionalCriticLoss({ logits, nextProbs: [1, 0, 0], rewards: [0.5], dones: [1], gamma: 0.99, vMin: -1, vMax: 1 }).target;
 * // Float32Array [0, 0.5, 0.5]
 */
export function distributionalCriticLoss(inputs: DistributionalCriticInputs): {
  loss: Tensor;
  perSample: Float32Array;
  target: Float32Array;
} {
  const { logits } = inputs;
  if (logits.rank !== 2) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `distributionalCriticLoss: logits must be [batch, atoms], got [${logits.shape.join(", ")}].`,
    );
  }
  const target = categoricalProjection({
    nextProbs: inputs.nextProbs,
    rewards: inputs.rewards,
    dones: inputs.dones,
    ...(inputs.steps === undefined ? {} : { steps: inputs.steps }),
    gamma: inputs.gamma,
    atoms: logits.shape[1],
    vMin: inputs.vMin,
    vMax: inputs.vMax,
  });
  const { loss, perSample } = categoricalCrossEntropy(logits, target, inputs.weights ?? null);
  return { loss, perSample, target };
}

/**
 * D4PG's actor loss (Barth-Maron et al. 2018, §3, eq. 5 and Algorithm 1, line 10): the deterministic
 * policy gradient through the mean of the distributional critic,
 * `L(θ) = −mean_b Q(s_b, μ_θ(s_b))`, `Q(s, a) = E[Z_w(s, a)] = Σ_i z_i softmax(logits(s, a))_i`,
 * for `logits` [B, N] computed through the actor and the support `z` [N]. Equivalent to the
 * paper's `∇_θ μ_θ(s) E[∇_a Z_w(s, a)]` because the expectation is linear.
 */
export function distributionalActorLoss(logits: Tensor, support: ArrayLike<number>): Tensor {
  if (logits.rank !== 2 || logits.shape[1] !== support.length) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `distributionalActorLoss: logits must be [batch, ${support.length}] (one column per atom), got [${logits.shape.join(", ")}].`,
    );
  }
  const z = new Tensor(Float32Array.from(support), [1, support.length]);
  const q = ops.sum(ops.mul(ops.softmax(logits, -1), z), -1); // [B]
  return ops.neg(ops.mean(q));
}

/** The critic's mean `Q = Σ_i z_i p_i` per row, for probabilities `[B * N]`, in float64 (diagnostics). */
export function categoricalMeans(probs: ArrayLike<number>, support: ArrayLike<number>): Float64Array {
  const n = support.length;
  const out = new Float64Array(probs.length / n);
  for (let b = 0; b < out.length; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += support[i] * probs[b * n + i];
    out[b] = s;
  }
  return out;
}
