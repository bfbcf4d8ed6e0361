import { didYouMean, ProximalError } from "../../errors.js";
import type { RenderMode } from "../env.js";
import { formatValue } from "../spaces/space.js";

/** Options every toy-text env accepts besides its own. */
export interface ToyTextOptions {
  /** What `render()` returns: an RGB frame or Gymnasium's text picture. @defaultValue "rgb_array" */
  renderMode?: RenderMode;
}

/**
 * Refuse keyword options an env does not know (with the closest known name) and a bad `renderMode`,
 * so `make("FrozenLake-v1", { is_slippery: false })` fails loudly instead of being ignored.
 */
export function checkToyTextOptions(envName: string, options: object, known: readonly string[]): void {
  const allowed = [...known, "renderMode"];
  for (const key of Object.keys(options)) {
    if ((options as Record<string, unknown>)[key] === undefined) continue;
    if (!allowed.includes(key)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${envName}: unknown option "${key}".${didYouMean(key, allowed)} Known options: ${allowed.join(", ")}.`,
      );
    }
  }
  const renderMode = (options as ToyTextOptions).renderMode;
  if (renderMode !== undefined && renderMode !== "rgb_array" && renderMode !== "ansi") {
    throw new ProximalError(
      "INVALID_OPTION",
      `${envName}: renderMode must be "rgb_array" or "ansi", got ${formatValue(renderMode)}.`,
    );
  }
}

/** `value` if it is a boolean or undefined (then `fallback`); otherwise an `INVALID_OPTION` error. */
export function booleanOption(envName: string, key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new ProximalError(
      "INVALID_OPTION",
      `${envName}: option "${key}" must be true or false, got ${formatValue(value)}.`,
    );
  }
  return value;
}

/** A probability in [0, 1] (or `fallback` when undefined); otherwise an `INVALID_OPTION` error. */
export function probabilityOption(envName: string, key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${envName}: option "${key}" must be a probability between 0 and 1, got ${formatValue(value)}.`,
    );
  }
  return value;
}
