/**
 * SB3's action rescaling for bounded Box actions (`BasePolicy.scale_action` / `unscale_action`):
 * the actor works in [−1, 1] (its output goes through tanh), the env in `[low, high]`. The replay
 * buffer stores scaled actions, so critics always see [−1, 1], whatever the env's units.
 */
import type { Box } from "../../envs/spaces/box.js";
import { ProximalError } from "../../errors.js";

/** Refuse a Box whose bounds are not finite: [−1, 1] cannot be mapped onto it. */
export function checkBoundedBox(space: Box, algorithm: string): void {
  for (let k = 0; k < space.size; k++) {
    if (
      !Number.isFinite(space.low[k]) ||
      !Number.isFinite(space.high[k]) ||
      !(space.high[k] > space.low[k])
    ) {
      throw new ProximalError(
        "UNSUPPORTED_SPACE",
        `${algorithm} needs finite action bounds with high > low (its actor outputs tanh in [-1, 1], rescaled to them); component ${k} is [${space.low[k]}, ${space.high[k]}]. Wrap the env with ClipAction/RescaleAction to finite bounds.`,
      );
    }
  }
}

/** `2 (a − low) / (high − low) − 1` per component, rows of `space.size`: env units → [−1, 1]. */
export function scaleAction(actions: ArrayLike<number>, space: Box): Float32Array {
  const d = space.size;
  const out = new Float32Array(actions.length);
  for (let i = 0; i < out.length; i++) {
    const k = i % d;
    out[i] = (2 * (actions[i] - space.low[k])) / (space.high[k] - space.low[k]) - 1;
  }
  return out;
}

/** `low + ½ (a + 1)(high − low)` per component, rows of `space.size`: [−1, 1] → env units. */
export function unscaleAction(scaled: ArrayLike<number>, space: Box): Float32Array {
  const d = space.size;
  const out = new Float32Array(scaled.length);
  for (let i = 0; i < out.length; i++) {
    const k = i % d;
    out[i] = space.low[k] + 0.5 * (scaled[i] + 1) * (space.high[k] - space.low[k]);
  }
  return out;
}

/** Clip each value to [−1, 1] in place (exploration noise is added in the scaled space, then clipped). */
export function clipUnit(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = Math.min(Math.max(values[i], -1), 1);
  return values;
}

/** A deterministic actor: `μ(s)` in [−1, 1] for a batch of flat observations. */
export interface DeterministicActor {
  readonly observationSize: number;
  actions(observations: Float32Array, batch: number): ArrayLike<number>;
}

/**
 * `predict` of a deterministic-actor algorithm (DDPG, TD3, D4PG): `μ(s)` for observations
 * `[batch * obsSize]`, rescaled to the env's bounds. No noise: SB3 adds exploration noise only while
 * collecting, never in `predict`, so `deterministic` changes nothing.
 */
export function predictDeterministic(
  actor: DeterministicActor,
  observations: Float32Array,
  space: Box,
): Float32Array {
  const size = actor.observationSize;
  const batch = observations.length / size;
  if (!Number.isInteger(batch)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `predict: ${observations.length} values is not a whole number of observations of size ${size}. Pass the observation array itself, not Gymnasium's (obs, info) pair.`,
    );
  }
  return unscaleAction(actor.actions(observations, batch), space);
}

/**
 * SB3's `_sample_action` for scaled actions: `clip(scaled + noise, −1, 1)` (no noise when `noise` is
 * null), rescaled to the env's bounds. Adds into `scaled` in place.
 */
export function noisyEnvActions(
  scaled: Float32Array,
  noise: ArrayLike<number> | null,
  space: Box,
): Float32Array {
  if (noise !== null) for (let i = 0; i < scaled.length; i++) scaled[i] += noise[i];
  return unscaleAction(clipUnit(scaled), space);
}
