import type { Space } from "../spaces/space.js";

/**
 * What a vector env does when one of its envs finishes an episode (Gymnasium 1.x `AutoresetMode`).
 * - `"next-step"` (default, as Gymnasium 1.x): the step that ends the episode returns its final
 *   observation; the *next* `step()` resets that env, ignores its action, and returns the reset
 *   observation with reward 0 and both flags false.
 * - `"same-step"`: the env resets within the step that ended the episode; `observations` holds the
 *   reset observation and `finalObservations` the one the episode ended on (bootstrap truncated
 *   episodes from it). This is what the RL algorithms use.
 * - `"disabled"`: nothing resets by itself; call `reset({ options: { resetMask } })` for the envs
 *   that finished; stepping a finished env throws `RESET_NEEDED`.
 */
export type AutoresetMode = "next-step" | "same-step" | "disabled";

/** Per-step information of a vector env: Gymnasium-style, one array per key plus a `_key` mask. */
export type VectorInfos = Record<string, unknown>;

/** Arguments of {@link VectorEnv.reset}. */
export interface VectorResetOptions {
  /** Env `i` is reseeded with `seed + i` (Gymnasium's rule). */
  seed?: number;
  /** `resetMask` (Uint8Array or boolean[] of numEnvs): reset only these envs (any autoreset mode). */
  options?: { resetMask?: ArrayLike<number | boolean>; [key: string]: unknown };
}

/** What {@link VectorEnv.reset} returns. `observations` is `[numEnvs * obsSize]`. */
export interface VectorResetResult {
  observations: Float32Array;
  infos: VectorInfos;
}

/**
 * What {@link VectorEnv.step} returns. The typed arrays are buffers the env reuses on the next call:
 * copy them if you keep them.
 */
export interface VectorStepResult {
  observations: Float32Array; // [numEnvs * obsSize]
  rewards: Float32Array; // [numEnvs]
  terminated: Uint8Array; // [numEnvs], 1 = terminal state of the MDP
  truncated: Uint8Array; // [numEnvs], 1 = cut short (time limit)
  /**
   * Same-step mode: row `i` (`[numEnvs * obsSize]`) is the observation env `i`'s episode ended on,
   * valid where `terminated[i] || truncated[i]`. `null` in the other modes, where `observations`
   * itself holds the final observation on the ending step.
   */
  finalObservations: Float32Array | null;
  infos: VectorInfos;
}

/**
 * N copies of one env stepped together with batched typed arrays (Gymnasium's `VectorEnv`).
 * Implemented by {@link SyncVectorEnv}, {@link AsyncVectorEnv} and the batched classic-control
 * fast path {@link BatchedClassicEnv}.
 *
 * Actions: `Int32Array [numEnvs]` for Discrete, `Float32Array [numEnvs * actionDim]` for Box.
 * Observations are flattened to float32 rows (see `flatSize`).
 */
export interface VectorEnv {
  /** Number of sub-environments stepped together. */
  readonly numEnvs: number;
  /** The observation space of one sub-environment. */
  readonly singleObservationSpace: Space;
  /** The action space of one sub-environment. */
  readonly singleActionSpace: Space;
  /** The batched observation space (a Box of shape `[numEnvs, ...]`). */
  readonly observationSpace: Space;
  /** The batched action space (MultiDiscrete for Discrete actions, a stacked Box for Box). */
  readonly actionSpace: Space;
  /** When a finished sub-environment is reset ({@link AutoresetMode}). */
  readonly autoresetMode: AutoresetMode;
  /** Registered id, when made through `make`. */
  readonly id?: string;
  /** Reset every sub-environment: observations `[numEnvs * obsSize]` and per-env infos. */
  reset(opts?: VectorResetOptions): VectorResetResult;
  /** Step every sub-environment with its row of `actions`; finished ones reset per `autoresetMode`. */
  step(actions: Int32Array | Float32Array): VectorStepResult;
  /** JSON-serialisable checkpoint; restoring it resumes bit-exactly. */
  getState(): unknown;
  /** Restore a checkpoint from {@link VectorEnv.getState}. */
  setState(state: unknown): void;
  /** Close every sub-environment (and its worker, if any). */
  close(): void;
}

/** Whether `x` is a {@link VectorEnv} (rather than a single env). */
export function isVectorEnv(x: unknown): x is VectorEnv {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as VectorEnv).numEnvs === "number" &&
    "singleObservationSpace" in x &&
    typeof (x as VectorEnv).step === "function"
  );
}
