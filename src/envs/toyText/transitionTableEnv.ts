import { ProximalError } from "../../errors.js";
import { Rng, type RngState } from "../../random/rng.js";
import type {
  Env,
  EnvMetadata,
  EnvSpec,
  Info,
  RenderFrame,
  RenderMode,
  ResetOptions,
  ResetResult,
  StepResult,
} from "../env.js";
import { Discrete } from "../spaces/discrete.js";
import { formatValue } from "../spaces/space.js";
import { checkCanStep, checkDiscreteAction } from "../validateAction.js";
import { categoricalSample } from "./categoricalSample.js";

/** One outcome of an action, in Gymnasium's order: `[probability, nextState, reward, terminated]`. */
export type Transition = [probability: number, nextState: number, reward: number, terminated: boolean];

/** Gymnasium's `env.unwrapped.P`: `P[state][action]` lists the outcomes of `action` in `state`. */
export type TransitionTable = Transition[][][];

/** Checkpoint of a {@link TransitionTableEnv}, from `getState()`. */
export interface TransitionTableEnvState {
  s: number;
  lastAction: number | null;
  rng: RngState;
  seeded: boolean;
  started: boolean;
  episodeOver: boolean;
  extra?: unknown;
}

/**
 * A finite MDP given by its transition table `P` (Gymnasium's FrozenLake, CliffWalking and Taxi
 * share this shape): the state is one integer, `step(a)` samples an outcome of `P[s][a]` with
 * {@link categoricalSample} and returns `info.prob`, the probability of the outcome taken.
 *
 * Seeding as the classic-control envs: `reset({ seed })` reseeds; the first reset without a seed
 * seeds with 0. `reset({ options: { state } })` starts from a given state (an integer in
 * `[0, nS)`) instead of drawing one from the initial distribution; Gymnasium has no such option.
 */
export abstract class TransitionTableEnv implements Env<number, number> {
  readonly observationSpace: Discrete;
  readonly actionSpace: Discrete;
  abstract readonly metadata: EnvMetadata;
  spec?: EnvSpec;
  readonly renderMode?: RenderMode;
  /** The current state (Gymnasium's `env.unwrapped.s`). */
  protected s = 0;
  /** The last action taken, `null` right after a reset (the renderers show it). */
  protected lastAction: number | null = null;
  protected readonly rng = new Rng(0);
  private seeded = false;
  private started = false;
  private episodeOver = false;

  protected constructor(
    /** Gymnasium's `env.unwrapped.P`; treat it as read-only. */
    readonly P: TransitionTable,
    /** Probability of each state at reset (Gymnasium's `initial_state_distrib`). */
    readonly initialStateDistribution: Float64Array,
    numActions: number,
    renderMode: RenderMode | undefined,
  ) {
    this.observationSpace = new Discrete(P.length);
    this.actionSpace = new Discrete(numActions);
    this.renderMode = renderMode;
  }

  /** The id used in error messages. */
  protected abstract get defaultName(): string;

  /** The registered id, or the env's Gymnasium id when constructed directly. */
  get name(): string {
    return this.spec?.id ?? this.defaultName;
  }

  /** This env: lets `env.unwrapped.P` work on a bare env as on a wrapped one. */
  get unwrapped(): this {
    return this;
  }

  /** The current state, as Gymnasium's `env.unwrapped.s`. */
  get state(): number {
    return this.s;
  }

  reset(opts: ResetOptions = {}): ResetResult<number> {
    if (opts.seed !== undefined) {
      this.rng.seed(opts.seed);
      this.seeded = true;
    } else if (!this.seeded) {
      this.rng.seed(0);
      this.seeded = true;
    }
    const given = opts.options?.state;
    if (given !== undefined) {
      const n = this.observationSpace.n;
      if (typeof given !== "number" || !Number.isInteger(given) || given < 0 || given >= n) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `${this.name}: reset option "state" must be an integer state from 0 to ${n - 1}, got ${formatValue(given)}.`,
        );
      }
      this.s = given;
    } else {
      this.s = categoricalSample(this.initialStateDistribution, this.rng);
    }
    this.lastAction = null;
    this.started = true;
    this.episodeOver = false;
    this.afterReset();
    return { observation: this.s, info: { prob: 1, ...this.extraInfo(this.s) } };
  }

  step(action: number): StepResult<number> {
    checkCanStep(this.name, this.started, this.episodeOver);
    const a = checkDiscreteAction(this.name, this.actionSpace, action);
    const transitions = this.P[this.s][a];
    // Gymnasium draws even when there is one outcome; so do we, so the draws per step match its count.
    const i = categoricalSample(
      transitions.map((t) => t[0]),
      this.rng,
    );
    const [prob, next, reward, terminated] = transitions[i];
    this.s = this.afterTransition(this.s, next);
    this.lastAction = a;
    this.episodeOver = terminated;
    return {
      observation: this.s,
      reward,
      terminated,
      truncated: false,
      info: { prob, ...this.extraInfo(this.s) },
    };
  }

  render(): RenderFrame | string {
    if (!this.started) {
      throw new ProximalError("RESET_NEEDED", `${this.name}: render() needs a state; call reset() first.`);
    }
    return this.renderMode === "ansi" ? this.renderText() : this.renderRgb();
  }

  close(): void {}

  getState(): TransitionTableEnvState {
    return {
      s: this.s,
      lastAction: this.lastAction,
      rng: this.rng.getState(),
      seeded: this.seeded,
      started: this.started,
      episodeOver: this.episodeOver,
      extra: this.getExtraState(),
    };
  }

  setState(checkpoint: unknown): void {
    const c = checkpoint as TransitionTableEnvState;
    if (!Number.isInteger(c?.s) || c.s < 0 || c.s >= this.observationSpace.n) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: setState() needs an object from getState() with a state from 0 to ${this.observationSpace.n - 1}.`,
      );
    }
    this.s = c.s;
    this.lastAction = c.lastAction;
    this.rng.setState(c.rng);
    this.seeded = c.seeded;
    this.started = c.started;
    this.episodeOver = c.episodeOver;
    this.setExtraState(c.extra);
  }

  /** Gymnasium's text picture (`render_mode="ansi"`). */
  protected abstract renderText(): string;

  /** A drawn frame with Gymnasium's layout (`render_mode="rgb_array"`). */
  protected abstract renderRgb(): RenderFrame;

  /** Info keys besides `prob` on reset and step (Taxi's action mask). */
  protected extraInfo(_state: number): Info {
    return {};
  }

  /** Called at the end of every reset (Taxi's fickle passenger draws here). */
  protected afterReset(): void {}

  /** The state the env moves to after sampling `next` from `P` (Taxi's fickle passenger changes it). */
  protected afterTransition(_previous: number, next: number): number {
    return next;
  }

  /** A subclass's own checkpoint fields beyond the current state (none by default). */
  protected getExtraState(): unknown {
    return undefined;
  }

  /** Restore the fields `getExtraState()` returned (nothing by default). */
  protected setExtraState(_extra: unknown): void {}
}
