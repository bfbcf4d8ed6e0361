import type { Space } from "./spaces/space.js";

/**
 * How an env draws itself, in Gymnasium's spelling so configs port one-to-one: `"rgb_array"` gives
 * a {@link RenderFrame}; `"ansi"` gives a small text picture (classic control only).
 */
export type RenderMode = "rgb_array" | "ansi";

/** One RGB picture: `data` is row-major, 3 bytes per pixel, top row first (`data.length = width * height * 3`). */
export interface RenderFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Static facts about an env class (Gymnasium's `metadata`). */
export interface EnvMetadata {
  /** Render modes `render()` supports. */
  renderModes: RenderMode[];
  /** Frames per second of simulated time, for videos. */
  renderFps: number;
}

/** How an env was registered and made (Gymnasium's `EnvSpec`). */
export interface EnvSpec {
  id: string;
  /** The time limit {@link make} applies; `undefined` means none. */
  maxEpisodeSteps?: number;
  /** Return at which the task counts as solved, as Gymnasium registers it. */
  rewardThreshold?: number;
  /** Keyword options the env was made with. */
  kwargs: Record<string, unknown>;
}

/** Free-form per-step information; built-in keys are camelCase (`actionMask`, `episode`). */
export type Info = Record<string, unknown>;

/** Arguments of {@link Env.reset}. */
export interface ResetOptions {
  /** Reseed the env's generator; without it the generator continues (Gymnasium semantics). */
  seed?: number;
  /** Env-specific options, e.g. `{ state: [...] }` for the classic-control tasks. */
  options?: Record<string, unknown>;
}

/** What {@link Env.reset} returns. */
export interface ResetResult<Obs = unknown> {
  observation: Obs;
  info: Info;
}

/**
 * What {@link Env.step} returns. `terminated` means the MDP reached a terminal state (no bootstrap);
 * `truncated` means the episode was cut short from outside the MDP, usually a time limit (bootstrap
 * from the final observation). Either one means `reset()` must be called next.
 */
export interface StepResult<Obs = unknown> {
  observation: Obs;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Info;
}

/**
 * A single environment, Gymnasium 1.x semantics in TypeScript form. Box observations are
 * `Float32Array` (a fresh array per call); Discrete actions are plain numbers; Box actions are
 * `Float32Array | number[]`.
 *
 * Every built-in env and wrapper also implements `getState()`/`setState()` (JSON-serialisable) so a
 * training run can be checkpointed and resumed bit-exactly; the Box2D envs (LunarLander,
 * BipedalWalker) cannot capture Box2D's internal state and throw `INVALID_ARGUMENT` there.
 */
export interface Env<Obs = unknown, Act = unknown> {
  /** The set observations come from. */
  readonly observationSpace: Space;
  /** The set `step` takes its action from. */
  readonly actionSpace: Space;
  /** Render modes and frame rate (Gymnasium's `metadata`). */
  readonly metadata: EnvMetadata;
  /** Set by {@link make}; `undefined` for an env constructed directly. */
  spec?: EnvSpec;
  /** What `render()` returns; `undefined` means `"rgb_array"`. */
  readonly renderMode?: RenderMode;
  /**
   * Start an episode: the first observation and an info object. A `seed` reseeds the env's generator
   * (Gymnasium: pass it once, right after construction); without one the generator continues.
   */
  reset(opts?: ResetOptions): ResetResult<Obs>;
  /**
   * Advance one step with `action`. After `terminated` (a terminal state of the MDP) or `truncated`
   * (a limit outside it, usually time), call `reset` before stepping again.
   */
  step(action: Act): StepResult<Obs>;
  /** An RGB frame, or a text picture in `"ansi"` mode. */
  render(): RenderFrame | string;
  /** Release what the env holds (workers, physics worlds); it is not used afterwards. */
  close(): void;
  /** A JSON-serialisable snapshot of the env's whole state (generator included), for checkpoints. */
  getState?(): unknown;
  /** Restore a snapshot from {@link Env.getState}: the env then continues bit-exactly from there. */
  setState?(state: unknown): void;
}
