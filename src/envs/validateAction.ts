import { ProximalError } from "../errors.js";
import { type Box, isNumericArray } from "./spaces/box.js";
import type { Discrete } from "./spaces/discrete.js";
import { formatValue } from "./spaces/space.js";

/**
 * The order check every single env makes before stepping: `RESET_NEEDED` before the first reset and
 * after a terminated episode (Gymnasium's OrderEnforcing wrapper and its envs assert the same).
 */
export function checkCanStep(envName: string, started: boolean, episodeOver: boolean): void {
  if (!started) {
    throw new ProximalError(
      "RESET_NEEDED",
      `${envName}: step() was called before reset(). Call reset() first.`,
    );
  }
  if (episodeOver) {
    throw new ProximalError(
      "RESET_NEEDED",
      `${envName}: step() was called after the episode terminated. Call reset() to start a new episode.`,
    );
  }
}

/**
 * Check a Discrete action; a bad one throws `INVALID_ACTION` naming the env, the space and the value.
 * Gymnasium asserts `action_space.contains(action)` in the same places.
 */
export function checkDiscreteAction(envName: string, space: Discrete, action: unknown): number {
  if (
    typeof action === "number" &&
    Number.isInteger(action) &&
    action >= space.start &&
    action < space.start + space.n
  ) {
    return action;
  }
  const last = space.start + space.n - 1;
  throw new ProximalError(
    "INVALID_ACTION",
    `${envName}: action ${formatValue(action)} is not in the action space ${space}; pass an integer from ${space.start} to ${last}.`,
  );
}

/**
 * Copy a Box action into `out` (as float32, like NumPy's cast) after checking its shape and that it
 * holds no NaN. Out-of-bounds values pass through: the env clips them where Gymnasium does.
 */
export function readBoxAction(envName: string, space: Box, action: unknown, out: Float32Array): Float32Array {
  if (!isNumericArray(action) || action.length !== space.size) {
    const hint = typeof action === "number" ? ` Wrap a scalar in an array: [${action}].` : "";
    const got = isNumericArray(action) ? `${action.length} values` : typeof action;
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${envName}: action ${formatValue(action)} has the wrong shape for the action space ${space}: got ${got}, expected ${space.size}.${hint}`,
    );
  }
  for (let i = 0; i < space.size; i++) {
    const v = action[i];
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new ProximalError(
        "INVALID_ACTION",
        `${envName}: action ${formatValue(action)} holds ${formatValue(v)} at index ${i}; the action space ${space} needs numbers.`,
      );
    }
    out[i] = v;
  }
  return out;
}
