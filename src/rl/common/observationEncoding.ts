/**
 * What networks read of an observation. A vector env stores a Discrete observation as its index
 * (one slot, `flatSize`); fed to a network as a number, index 17 would be "between" 16 and 18, an
 * order the states do not have. Like Stable-Baselines3's `preprocess_obs` (`common/preprocessing.py`:
 * `F.one_hot` for `spaces.Discrete`), the networks that use this module see a one-hot vector of
 * length n instead; every other space is read as stored.
 */
import { Discrete } from "../../envs/spaces/discrete.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import { Tensor } from "../../tensor/tensor.js";

/** Width of one observation as a network reads it: n for a Discrete space (one-hot), else `flatSize`. */
export function networkInputSize(space: Space): number {
  return space instanceof Discrete ? space.n : flatSize(space);
}

/**
 * Observations `[batch * flatSize(space)]` as network inputs `[batch * networkInputSize(space)]`:
 * a one-hot row per Discrete index (`start` subtracted), the array itself for other spaces.
 * @throws ProximalError `INVALID_ARGUMENT` for a Discrete observation outside the space.
 */
export function encodeObservations(space: Space, observations: Float32Array, batch: number): Float32Array {
  if (!(space instanceof Discrete)) return observations;
  const n = space.n;
  const out = new Float32Array(batch * n);
  for (let i = 0; i < batch; i++) {
    const index = observations[i] - space.start;
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `Observation ${observations[i]} is not a member of Discrete(${n}${space.start === 0 ? "" : `, start=${space.start}`}); a network can only one-hot indices ${space.start}..${space.start + n - 1}. Check that the observations come from this env.`,
      );
    }
    out[i * n + index] = 1;
  }
  return out;
}

/** {@link encodeObservations} as the network's input tensor `[batch, networkInputSize(space)]`. */
export function encodeObservationTensor(space: Space, observations: Float32Array, batch: number): Tensor {
  return new Tensor(encodeObservations(space, observations, batch), [batch, networkInputSize(space)]);
}
