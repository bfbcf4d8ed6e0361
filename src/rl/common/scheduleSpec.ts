import { ProximalError } from "../../errors.js";
import type { Schedule } from "../../optim/schedules.js";
import { constantSchedule, cosineSchedule, linearSchedule } from "../../optim/schedules.js";

/**
 * A schedule written as data, so configs, presets and saved models can hold it (a function cannot
 * be saved): `{ schedule: "linear", initial: 1e-3 }` anneals from 1e-3 to `final` (default 0) as
 * progress remaining goes from 1 to 0 (SB3's convention), `"cosine"` is SGDR's annealing without restarts
 * (Loshchilov & Hutter 2017, arXiv:1608.03983, eq. 5).
 * YAML presets also accept the RL Zoo string form `lin_1e-3`.
 */
export interface ScheduleSpec {
  schedule: "constant" | "linear" | "cosine";
  initial: number;
  final?: number;
}

/** A number, a {@link Schedule} function, or a {@link ScheduleSpec}. */
export type ScheduleLike = number | Schedule | ScheduleSpec;

/** Resolve any {@link ScheduleLike} to a function of progress remaining (1 → 0). */
export function resolveSchedule(value: ScheduleLike, name: string): Schedule {
  if (typeof value === "function") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw new ProximalError("INVALID_OPTION", `${name} must be finite, got ${value}.`);
    return constantSchedule(value);
  }
  if (typeof value === "object" && value !== null && typeof value.initial === "number") {
    const final = value.final ?? 0;
    switch (value.schedule) {
      case "constant":
        return constantSchedule(value.initial);
      case "linear":
        return linearSchedule(value.initial, final);
      case "cosine":
        return cosineSchedule(value.initial, final);
      default:
        break;
    }
  }
  throw new ProximalError(
    "INVALID_OPTION",
    `${name}: expected a number, a function of progress remaining, or { schedule: "constant" | "linear" | "cosine", initial, final? }; got ${JSON.stringify(value)}.`,
  );
}

/** The value a schedule starts at (for validation and display). */
export function initialValue(value: ScheduleLike, name: string): number {
  return resolveSchedule(value, name)(1);
}

/** A JSON form for configs and saved models; functions are recorded as `"custom"`. */
export function scheduleToJSON(value: ScheduleLike): number | ScheduleSpec | "custom" {
  return typeof value === "function" ? "custom" : value;
}
