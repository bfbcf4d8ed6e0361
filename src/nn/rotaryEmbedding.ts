import { ProximalError } from "../errors.js";
import { record, Tensor } from "../tensor/tensor.js";

/**
 * Llama 3's frequency-dependent RoPE scaling (HF `rope_scaling` with `rope_type: "llama3"`): long
 * wavelengths are slowed down by `factor`, short ones kept, and the band between interpolated.
 */
export interface Llama3RopeScaling {
  ropeType: "llama3";
  /** Llama 3.2: 32 */
  factor: number;
  /** Llama 3.2: 1 */
  lowFreqFactor: number;
  /** Llama 3.2: 4 */
  highFreqFactor: number;
  /** Context length the model was pre-trained with. Llama 3.2: 8192 */
  originalMaxPositionEmbeddings: number;
}

/**
 * Inverse frequencies of rotary position embeddings (Su et al. 2021, arXiv:2104.09864, eq. 15):
 * `θ_i = base^(−2i/d)` for `i = 0 … d/2 − 1`, in float32 as HF's `_compute_default_rope_parameters`;
 * with Llama 3 scaling, adjusted as HF's `_compute_llama3_parameters` (Meta's `apply_scaling` in
 * llama-models): wavelengths `2π/θ` above `original / lowFreqFactor` are divided by `factor`, those
 * below `original / highFreqFactor` kept, and the ones between blended with
 * `s = (original/λ − low) / (high − low)`: `(1 − s)·θ/factor + s·θ`.
 */
export function ropeInverseFrequencies(
  headDim: number,
  base: number,
  scaling: Llama3RopeScaling | null = null,
): Float32Array {
  if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) {
    throw new ProximalError("INVALID_OPTION", `RoPE needs an even head dimension, got ${headDim}.`);
  }
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = 1 / Math.fround(base ** Math.fround((2 * i) / headDim));
  if (scaling === null) return out;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: original } = scaling;
  const lowFreqWavelength = original / lowFreqFactor;
  const highFreqWavelength = original / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const theta = out[i];
    const wavelength = (2 * Math.PI) / theta;
    if (wavelength > lowFreqWavelength) out[i] = theta / factor;
    else if (wavelength >= highFreqWavelength) {
      const smooth = (original / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out[i] = ((1 - smooth) * theta) / factor + smooth * theta;
    }
  }
  return out;
}

/** cos and sin tables of the rotation angles, each [batch, time, headDim] (HF's halves repeated). */
export interface RopeTables {
  cos: Float32Array;
  sin: Float32Array;
  batch: number;
  time: number;
  headDim: number;
}

/**
 * Angles `position · θ_i` for int32 `positionIds` [batch, time], laid out as HF's `LlamaRotaryEmbedding`:
 * `emb = cat(freqs, freqs)`, so element `j` and `j + d/2` share an angle. The product is rounded to
 * float32 before cos/sin, as torch computes it.
 */
export function ropeTables(positionIds: Tensor, inverseFrequencies: Float32Array): RopeTables {
  const [batch, time] = positionIds.shape;
  const half = inverseFrequencies.length;
  const headDim = 2 * half;
  const cos = new Float32Array(batch * time * headDim);
  const sin = new Float32Array(batch * time * headDim);
  for (let r = 0; r < batch * time; r++) {
    const position = positionIds.data[r];
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(position * inverseFrequencies[i]);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[r * headDim + i] = c;
      cos[r * headDim + half + i] = c;
      sin[r * headDim + i] = s;
      sin[r * headDim + half + i] = s;
    }
  }
  return { cos, sin, batch, time, headDim };
}

/**
 * Rotate query or key heads x [batch, heads, time, headDim] by the angles of `tables`:
 * `x·cos + rotate_half(x)·sin` with `rotate_half([x₁, x₂]) = [−x₂, x₁]` (the half-split layout of HF's
 * `apply_rotary_pos_emb`, not the interleaved pairs of the paper's eq. 34; the two differ by a fixed
 * permutation of the q/k projection rows, which HF's conversion scripts apply).
 *
 * The map is a rotation R, so its gradient is Rᵀ, the rotation by the opposite angles:
 * `dx = g·cos − rotate_half(g)·sin` = this op with `sin` negated.
 */
export function applyRotaryEmbedding(x: Tensor, tables: RopeTables): Tensor {
  const { batch, time, headDim } = tables;
  if (x.rank !== 4 || x.shape[0] !== batch || x.shape[2] !== time || x.shape[3] !== headDim) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `applyRotaryEmbedding: x must be [${batch}, heads, ${time}, ${headDim}], got [${x.shape.join(", ")}].`,
    );
  }
  const heads = x.shape[1];
  const half = headDim / 2;
  const input = x.values;
  const out = new Float32Array(input.length);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let t = 0; t < time; t++) {
        const row = ((b * heads + h) * time + t) * headDim;
        const angles = (b * time + t) * headDim;
        for (let i = 0; i < half; i++) {
          const x1 = input[row + i];
          const x2 = input[row + half + i];
          out[row + i] = x1 * tables.cos[angles + i] - x2 * tables.sin[angles + i];
          out[row + half + i] = x2 * tables.cos[angles + half + i] + x1 * tables.sin[angles + half + i];
        }
      }
    }
  }
  return record(new Tensor(out, x.shape), [x], (g) => [
    applyRotaryEmbedding(g, { ...tables, sin: negated(tables.sin) }),
  ]);
}

function negated(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = -values[i];
  return out;
}
