import type { Space } from "../spaces/space.js";
import type {
  AutoresetMode,
  VectorEnv,
  VectorResetOptions,
  VectorResetResult,
  VectorStepResult,
} from "./vectorEnv.js";

/** Base class of vector-env wrappers: forwards everything; `getState()` nests the inner checkpoint. */
export class VectorWrapper implements VectorEnv {
  constructor(readonly env: VectorEnv) {}

  get numEnvs(): number {
    return this.env.numEnvs;
  }
  get singleObservationSpace(): Space {
    return this.env.singleObservationSpace;
  }
  get singleActionSpace(): Space {
    return this.env.singleActionSpace;
  }
  get observationSpace(): Space {
    return this.env.observationSpace;
  }
  get actionSpace(): Space {
    return this.env.actionSpace;
  }
  get autoresetMode(): AutoresetMode {
    return this.env.autoresetMode;
  }
  get id(): string | undefined {
    return this.env.id;
  }

  reset(opts?: VectorResetOptions): VectorResetResult {
    return this.env.reset(opts);
  }

  step(actions: Int32Array | Float32Array): VectorStepResult {
    return this.env.step(actions);
  }

  getState(): unknown {
    return { wrapper: this.wrapperState(), env: this.env.getState() };
  }

  setState(state: unknown): void {
    const s = state as { wrapper: unknown; env: unknown };
    this.env.setState(s.env);
    this.restoreWrapperState(s.wrapper);
  }

  close(): void {
    this.env.close();
  }

  /** This wrapper's own checkpoint fields (none by default). */
  protected wrapperState(): unknown {
    return undefined;
  }

  /** Restore the fields {@link VectorWrapper.wrapperState} returned (nothing by default). */
  protected restoreWrapperState(_state: unknown): void {}
}
