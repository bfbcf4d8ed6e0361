import { ProximalError } from "../../errors.js";
import { Rng, type RngState } from "../../random/rng.js";
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
import { Box } from "../spaces/box.js";
import { formatValue } from "../spaces/space.js";
import { checkCanStep, checkDiscreteAction, readBoxAction } from "../validateAction.js";
import type { ClassicKernel } from "./classicKernel.js";

/** Options every classic-control env accepts besides its own. */
export interface ClassicControlOptions {
  /** What `render()` returns. @defaultValue "rgb_array" */
  renderMode?: RenderMode;
}

/** Checkpoint of a {@link ClassicControlEnv}, from `getState()`. */
export interface ClassicControlState {
  state: number[];
  rng: RngState;
  seeded: boolean;
  started: boolean;
  episodeOver: boolean;
}

/**
 * One classic-control env: a {@link ClassicKernel} stepped with `n = 1`. Float64 state, float32
 * observations (a fresh `Float32Array` per call), Gymnasium 1.x `reset`/`step` semantics.
 *
 * Seeding: `reset({ seed })` reseeds; the first reset without a seed seeds with 0, so an unseeded
 * run is still reproducible (Gymnasium would draw OS entropy instead).
 *
 * `reset({ options: { state } })` starts the episode from a given internal state, in the order of
 * Gymnasium's `env.unwrapped.state`, and returns its observation.
 */
export class ClassicControlEnv implements Env<Float32Array, number | Float32Array | number[]> {
  readonly observationSpace: Box;
  readonly actionSpace: ClassicKernel["actionSpace"];
  readonly metadata: EnvMetadata;
  spec?: EnvSpec;
  readonly renderMode?: RenderMode;
  private readonly state: Float64Array;
  private readonly actionBuffer: Int32Array | Float32Array;
  private readonly rewardBuffer = new Float64Array(1);
  private readonly terminatedBuffer = new Uint8Array(1);
  private readonly rng = new Rng(0);
  private seeded = false;
  private started = false;
  private episodeOver = false;

  constructor(
    readonly kernel: ClassicKernel,
    options: ClassicControlOptions = {},
  ) {
    this.observationSpace = kernel.observationSpace;
    this.actionSpace = kernel.actionSpace;
    this.metadata = kernel.metadata;
    this.renderMode = options.renderMode;
    this.state = new Float64Array(kernel.stateSize);
    this.actionBuffer =
      kernel.actionSpace instanceof Box ? new Float32Array(kernel.actionSpace.size) : new Int32Array(1);
  }

  /** The name used in error messages: the registered id. */
  get name(): string {
    return this.spec?.id ?? this.kernel.id;
  }

  /** A copy of the internal state, in Gymnasium's `env.unwrapped.state` order. */
  get internalState(): Float64Array {
    return this.state.slice();
  }

  reset(opts: ResetOptions = {}): ResetResult<Float32Array> {
    if (opts.seed !== undefined) {
      this.rng.seed(opts.seed);
      this.seeded = true;
    } else if (!this.seeded) {
      this.rng.seed(0);
      this.seeded = true;
    }
    const given = opts.options?.state;
    if (given !== undefined) this.setInternalState(given);
    else this.kernel.sampleInitialState(this.rng, this.state, 1, 0, opts.options);
    this.started = true;
    this.episodeOver = false;
    return { observation: this.observation(), info: {} };
  }

  step(action: number | Float32Array | number[]): StepResult<Float32Array> {
    checkCanStep(this.name, this.started, this.episodeOver);
    const space = this.actionSpace;
    if (space instanceof Box) readBoxAction(this.name, space, action, this.actionBuffer as Float32Array);
    else this.actionBuffer[0] = checkDiscreteAction(this.name, space, action);
    const observation = new Float32Array(this.kernel.obsSize);
    this.kernel.stepBatch(
      1,
      this.state,
      this.actionBuffer,
      this.rewardBuffer,
      this.terminatedBuffer,
      observation,
    );
    const terminated = this.terminatedBuffer[0] === 1;
    this.episodeOver = terminated;
    return {
      observation,
      reward: this.rewardBuffer[0],
      terminated,
      truncated: false,
      info: {},
    };
  }

  render(): RenderFrame | string {
    if (!this.started) {
      throw new ProximalError("RESET_NEEDED", `${this.name}: render() needs a state; call reset() first.`);
    }
    return this.renderMode === "ansi"
      ? this.kernel.renderText(this.state)
      : this.kernel.renderRgb(this.state);
  }

  close(): void {}

  getState(): ClassicControlState {
    return {
      state: Array.from(this.state),
      rng: this.rng.getState(),
      seeded: this.seeded,
      started: this.started,
      episodeOver: this.episodeOver,
    };
  }

  setState(checkpoint: unknown): void {
    const s = checkpoint as ClassicControlState;
    if (!Array.isArray(s?.state) || s.state.length !== this.kernel.stateSize) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: setState() needs an object from getState() with ${this.kernel.stateSize} state values.`,
      );
    }
    this.state.set(s.state);
    this.rng.setState(s.rng);
    this.seeded = s.seeded;
    this.started = s.started;
    this.episodeOver = s.episodeOver;
  }

  private observation(): Float32Array {
    const out = new Float32Array(this.kernel.obsSize);
    this.kernel.observe(this.state, 1, 0, out, 0);
    return out;
  }

  private setInternalState(given: unknown): void {
    const size = this.kernel.stateSize;
    const values = given as ArrayLike<number>;
    const ok =
      (Array.isArray(given) || ArrayBuffer.isView(given)) &&
      values.length === size &&
      Array.from(values).every((v) => typeof v === "number" && Number.isFinite(v));
    if (!ok) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: reset option "state" must be ${size} finite numbers in Gymnasium's env.unwrapped.state order, got ${formatValue(given)}.`,
      );
    }
    for (let k = 0; k < size; k++) this.state[k] = values[k];
  }
}
