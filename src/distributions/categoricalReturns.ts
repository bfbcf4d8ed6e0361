/**
 * Categorical return distributions on a fixed support (C51, Bellemare et al. 2017,
 * arXiv:1707.06887): the support, the projection of the distributional Bellman target onto it, and
 * the cross-entropy loss. Shared by the value-based family (DQN's `distributional` switch, Rainbow)
 * and distributional actor-critics (D4PG projects its critic's target the same way).
 */
import { ProximalError } from "../errors.js";
import * as ops from "../tensor/ops.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * The fixed support `z_i = vMin + i Δz`, `Δz = (vMax − vMin)/(atoms − 1)`, i = 0 … atoms−1
 * (Bellemare et al. 2017, §4), in float64.
 *
 * @example
 * categoricalSupport(3, -1, 1); // Float64Array [-1, 0, 1]
 */
export function categoricalSupport(atoms: number, vMin: number, vMax: number): Float64Array {
  checkSupport(atoms, vMin, vMax);
  const dz = (vMax - vMin) / (atoms - 1);
  const z = new Float64Array(atoms);
  for (let i = 0; i < atoms; i++) z[i] = vMin + i * dz;
  return z;
}

function checkSupport(atoms: number, vMin: number, vMax: number): void {
  if (!Number.isInteger(atoms) || atoms < 2) {
    throw new ProximalError(
      "INVALID_OPTION",
      `A categorical support needs an integer number of atoms >= 2, got ${atoms}. C51 uses 51.`,
    );
  }
  if (!(vMin < vMax) || !Number.isFinite(vMin) || !Number.isFinite(vMax)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `A categorical support needs finite vMin < vMax, got vMin ${vMin}, vMax ${vMax}. C51 uses −10 and 10.`,
    );
  }
}

/** Inputs of {@link categoricalProjection}: one minibatch of B rows on a support of N atoms. */
export interface CategoricalProjectionInputs {
  /** Probabilities `p_j(s', a*)` of the bootstrap distribution, [B * N] (rows sum to 1). */
  nextProbs: ArrayLike<number>;
  /** r (or the n-step sum `Σ_{k<n} γ^k r_{t+k}`), [B]. */
  rewards: ArrayLike<number>;
  /** 1 where the transition reached a terminal state (not a truncation), [B]. */
  dones: ArrayLike<number>;
  /** k of `γ^k` per row (n-step returns); omitted means all 1. */
  steps?: ArrayLike<number>;
  gamma: number;
  /** N, the number of atoms. */
  atoms: number;
  vMin: number;
  vMax: number;
}

/**
 * Projection Φ of the distributional Bellman target onto the fixed support (Bellemare et al. 2017,
 * arXiv:1707.06887, Algorithm 1, eq. 7), computed in float64:
 * for each atom j, `T̂z_j = clamp(r + γ^k (1 − done) z_j, vMin, vMax)`, `b_j = (T̂z_j − vMin)/Δz`,
 * `l = ⌊b_j⌋`, `u = ⌈b_j⌉`; then `m_l += p_j (u − b_j)`, `m_u += p_j (b_j − l)`, and when `b_j` is
 * an integer (l = u) the whole `p_j` goes to `m_l` (the case Algorithm 1 as printed loses; CleanRL's
 * `c51.py` and Dopamine handle it the same way). k is the number of rewards summed into r
 * (n-step targets, Hessel et al. 2018, arXiv:1710.02298, eq. 2 and §"Multi-step learning").
 * A terminal row puts all mass on the atoms around r. Returns the target `m`, [B * N].
 *
 * @example
 * // by hand: support [-1, 0, 1], r = 0.5, done: all mass at 0.5, split half-half between 0 and 1
 * categoricalProjection({ nextProbs: [1, 0, 0], rewards: [0.5], dones: [1], gamma: 0.9, atoms: 3, vMin: -1, vMax: 1 });
 * // Float32Array [0, 0.5, 0.5]
 */
export function categoricalProjection(inputs: CategoricalProjectionInputs): Float32Array {
  const { nextProbs, rewards, dones, steps, gamma, atoms: n, vMin, vMax } = inputs;
  const z = categoricalSupport(n, vMin, vMax);
  const dz = (vMax - vMin) / (n - 1);
  const batch = rewards.length;
  if (nextProbs.length !== batch * n || dones.length !== batch || (steps && steps.length !== batch)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `categoricalProjection: nextProbs must hold ${batch} rows of ${n} atoms (${batch * n} values) and dones/steps ${batch} values; got ${nextProbs.length}, ${dones.length}${steps ? `, ${steps.length}` : ""}.`,
    );
  }
  const m = new Float64Array(batch * n);
  for (let i = 0; i < batch; i++) {
    const k = steps === undefined ? 1 : steps[i];
    const discount = gamma ** k * (1 - dones[i]);
    for (let j = 0; j < n; j++) {
      const p = nextProbs[i * n + j];
      const tz = Math.min(vMax, Math.max(vMin, rewards[i] + discount * z[j]));
      const b = (tz - vMin) / dz;
      const l = Math.min(n - 1, Math.max(0, Math.floor(b)));
      const u = Math.min(n - 1, Math.max(0, Math.ceil(b)));
      if (l === u) m[i * n + l] += p;
      else {
        m[i * n + l] += p * (u - b);
        m[i * n + u] += p * (b - l);
      }
    }
  }
  return Float32Array.from(m);
}

/**
 * Cross-entropy of a projected target `m` [B, N] under the predicted atom logits [B, N]
 * (Bellemare et al. 2017, Algorithm 1, output line: `−Σ_i m_i log p_i(s, a)`), per row and
 * averaged, optionally importance-weighted (Schaul et al. 2016, Algorithm 1, line 11):
 * `L = mean_b w_b ℓ_b`, `ℓ_b = −Σ_i m_bi log softmax(logits_b)_i`. `perSample` holds ℓ, which
 * Rainbow uses as the replay priority (Hessel et al. 2018, §"Prioritized replay": the KL loss, which
 * differs from ℓ by the target's entropy; CleanRL's `rainbow_atari.py` uses ℓ as well).
 *
 * @example
 * // uniform logits over 2 atoms: ℓ = ln 2 whatever the target
 * categoricalCrossEntropy(new Tensor(new Float32Array([0, 0]), [1, 2]), new Float32Array([1, 0])).loss.item();
 */
export function categoricalCrossEntropy(
  logits: Tensor,
  target: ArrayLike<number>,
  weights?: Tensor | null,
): { loss: Tensor; perSample: Float32Array } {
  if (logits.rank !== 2 || target.length !== logits.size) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `categoricalCrossEntropy: logits must be [batch, atoms] and the target as many values; got logits [${logits.shape.join(", ")}] and ${target.length} target values.`,
    );
  }
  const m = new Tensor(Float32Array.from(target), logits.shape);
  const perSample = ops.neg(ops.sum(ops.mul(m, ops.logSoftmax(logits, -1)), -1)); // [B]
  const loss = ops.mean(weights ? ops.mul(perSample, weights) : perSample);
  return { loss, perSample: Float32Array.from(perSample.values) };
}
