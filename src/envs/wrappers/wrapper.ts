import { ProximalError } from "../../errors.js";
import type {
  Env,
  EnvMetadata,
  EnvSpec,
  RenderFrame,
  RenderMode,
  ResetOptions,
  ResetResult,
  StepResult,
} from "../env.js";
import type { Space } from "../spaces/space.js";

/** Checkpoint of a wrapper: its own fields plus the wrapped env's checkpoint. */
export interface WrapperState {
  wrapper?: unknown;
  env: unknown;
}

/**
 * Base class of all wrappers (Gymnasium's `Wrapper`): forwards everything to the wrapped env.
 * Subclasses override what they change, and `wrapperState()`/`restoreWrapperState()` for their own
 * checkpoint fields; `getState()` nests the inner env's checkpoint.
 */
export class Wrapper<Obs = unknown, Act = unknown, InnerObs = Obs, InnerAct = Act> implements Env<Obs, Act> {
  constructor(readonly env: Env<InnerObs, InnerAct>) {}

  get observationSpace(): Space {
    return this.env.observationSpace;
  }

  get actionSpace(): Space {
    return this.env.actionSpace;
  }

  get metadata(): EnvMetadata {
    return this.env.metadata;
  }

  get spec(): EnvSpec | undefined {
    return this.env.spec;
  }

  set spec(spec: EnvSpec | undefined) {
    this.env.spec = spec;
  }

  get renderMode(): RenderMode | undefined {
    return this.env.renderMode;
  }

  /** The innermost env, below every wrapper. */
  get unwrapped(): Env {
    let env: Env = this.env as Env;
    while (env instanceof Wrapper) env = env.env as Env;
    return env;
  }

  /** Name for error messages: the registered id or the class name. */
  protected get name(): string {
    return this.spec?.id ?? this.unwrapped.constructor.name;
  }

  reset(opts?: ResetOptions): ResetResult<Obs> {
    return this.env.reset(opts) as unknown as ResetResult<Obs>;
  }

  step(action: Act): StepResult<Obs> {
    return this.env.step(action as unknown as InnerAct) as unknown as StepResult<Obs>;
  }

  render(): RenderFrame | string {
    return this.env.render();
  }

  close(): void {
    this.env.close();
  }

  getState(): WrapperState {
    if (typeof this.env.getState !== "function") {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: the wrapped env has no getState(), so it cannot be checkpointed.`,
      );
    }
    return { wrapper: this.wrapperState(), env: this.env.getState() };
  }

  setState(state: unknown): void {
    const s = state as WrapperState;
    if (typeof s !== "object" || s === null || !("env" in s)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: setState() needs an object from getState() of the same wrapper stack.`,
      );
    }
    if (typeof this.env.setState !== "function") {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: the wrapped env has no setState(), so it cannot be restored.`,
      );
    }
    this.env.setState(s.env);
    this.restoreWrapperState(s.wrapper);
  }

  /** This wrapper's own checkpoint fields (none by default). */
  protected wrapperState(): unknown {
    return undefined;
  }

  /** Restore the fields {@link Wrapper.wrapperState} returned (nothing by default). */
  protected restoreWrapperState(_state: unknown): void {}
}
