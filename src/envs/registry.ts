import { didYouMean, ProximalError } from "../errors.js";
import { builtinEnvs } from "./builtinEnvs.js";
import type { Env } from "./env.js";
import type { SpaceDescription } from "./spaces/space.js";
import type { AutoresetMode, VectorEnv } from "./vector/vectorEnv.js";

/** Options a registered natively batched constructor receives from `make(id, { numEnvs })`. */
export interface VectorEntryOptions {
  numEnvs: number;
  autoresetMode?: AutoresetMode;
  maxEpisodeSteps?: number;
  seed?: number;
}

/**
 * One registered environment (Gymnasium's `EnvSpec` + `register` arguments).
 *
 * @example
 * register({ id: "MyGrid-v0", entryPoint: (kw) => new MyGrid(kw), maxEpisodeSteps: 100 });
 * const env = make("MyGrid-v0");
 */
export interface EnvRegistration {
  /** `Name-vN`, as Gymnasium spells its ids. */
  id: string;
  /** Create the env from keyword options: the registered `kwargs` overlaid with `make`'s. */
  entryPoint: (kwargs: Record<string, unknown>) => Env;
  /** Time limit `make` applies (TimeLimit wrapper or the batched path's own counter). */
  maxEpisodeSteps?: number;
  /** Return at which the task counts as solved. */
  rewardThreshold?: number;
  /** Default keyword options. */
  kwargs?: Record<string, unknown>;
  /** A natively batched implementation `make(id, { numEnvs })` uses instead of SyncVectorEnv. */
  vectorEntryPoint?: (kwargs: Record<string, unknown>, options: VectorEntryOptions) => VectorEnv;
  /**
   * URL of an ES module whose import registers this id; AsyncVectorEnv's worker threads import it
   * before calling `make`, since functions cannot be sent to a thread. Built-ins need none.
   */
  moduleUrl?: string;
  /** Where the entry point lives, for listings (e.g. `envs/classic/cartPole#CartPoleEnv`). */
  entry?: string;
}

/** One row of {@link registry}`.list()`, for the `proximal envs` command. */
export interface RegistryEntry {
  id: string;
  entry: string;
  maxEpisodeSteps: number | null;
  rewardThreshold: number | null;
  observationSpace: SpaceDescription;
  actionSpace: SpaceDescription;
}

const registrations = new Map<string, EnvRegistration>();

/**
 * Register an env so {@link make} can create it by id. Registering an existing id throws unless
 * `override` is true.
 */
export function register(registration: EnvRegistration, options: { override?: boolean } = {}): void {
  if (!/^[\w:./-]+-v\d+$/.test(registration.id)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `register: id "${registration.id}" must look like "Name-v0" (Gymnasium's format).`,
    );
  }
  if (typeof registration.entryPoint !== "function") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `register: "${registration.id}" needs an entryPoint function that creates the env.`,
    );
  }
  if (registrations.has(registration.id) && !options.override) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `register: "${registration.id}" is already registered. Pass { override: true } to replace it, or pick a new version number.`,
    );
  }
  registrations.set(registration.id, registration);
}

/** The registration of `id`; an unknown id throws `UNKNOWN_ENV` with the known ids and the closest match. */
export function lookup(id: string): EnvRegistration {
  const found = registrations.get(id);
  if (found !== undefined) return found;
  const known = [...registrations.keys()].sort();
  throw new ProximalError(
    "UNKNOWN_ENV",
    `No environment registered with id "${id}".${didYouMean(id, known)} Known ids: ${known.join(", ")}.`,
  );
}

/** The env registry: list what is registered, with spaces, for `proximal envs`. */
export const registry = {
  /** Registered ids, sorted. */
  ids(): string[] {
    return [...registrations.keys()].sort();
  },
  /** Whether `id` is registered. */
  has(id: string): boolean {
    return registrations.has(id);
  },
  /** The registration of `id`; an unknown id is `UNKNOWN_ENV` with the closest known one. */
  get(id: string): EnvRegistration {
    return lookup(id);
  },
  /** Every registration with its spaces (each env is created once and closed to read them). */
  list(): RegistryEntry[] {
    return registry.ids().map((id) => {
      const r = lookup(id);
      const env = r.entryPoint({ ...r.kwargs });
      const row: RegistryEntry = {
        id,
        entry: r.entry ?? (r.entryPoint.name || "(function)"),
        maxEpisodeSteps: r.maxEpisodeSteps ?? null,
        rewardThreshold: r.rewardThreshold ?? null,
        observationSpace: env.observationSpace.toJSON(),
        actionSpace: env.actionSpace.toJSON(),
      };
      env.close();
      return row;
    });
  },
};

for (const registration of builtinEnvs) register(registration);
