import { ProximalError } from "../../errors.js";
import type { Env, Info } from "../env.js";
import { flatSize, isIntegerSpace, readFlat, writeFlat } from "../spaces/flatten.js";
import type { Space } from "../spaces/space.js";
import { batchSpace } from "./batchSpace.js";
import type {
  AutoresetMode,
  VectorEnv,
  VectorInfos,
  VectorResetOptions,
  VectorResetResult,
  VectorStepResult,
} from "./vectorEnv.js";

/** Options of {@link SyncVectorEnv}. */
export interface SyncVectorOptions {
  /** @defaultValue "next-step" (Gymnasium 1.x) */
  autoresetMode?: AutoresetMode;
  /** Seed of the first reset when `reset()` is called without one (env i gets seed + i). @defaultValue 0 */
  seed?: number;
}

/** Checkpoint of a {@link SyncVectorEnv}. */
export interface SyncVectorState {
  envs: unknown[];
  autoreset: number[];
  started: boolean;
}

/**
 * Steps N single envs one after another in this thread (Gymnasium's `SyncVectorEnv`), with the
 * batched typed-array interface of {@link VectorEnv}. Use it for envs without a batched kernel
 * (LunarLander, BipedalWalker, your own envs); `make(id, { numEnvs })` picks it for them.
 *
 * Infos are merged the Gymnasium way: `infos[key][i]` is env i's value and `infos["_" + key][i]`
 * says whether env i reported it. In same-step mode `infos.finalInfo[i]` is the info of the step
 * that ended env i's episode.
 *
 * The returned typed arrays are reused on every call: copy what you keep.
 */
export class SyncVectorEnv implements VectorEnv {
  readonly envs: Env[];
  readonly numEnvs: number;
  readonly singleObservationSpace: Space;
  readonly singleActionSpace: Space;
  readonly observationSpace: Space;
  readonly actionSpace: Space;
  readonly autoresetMode: AutoresetMode;
  id?: string;
  private readonly obsSize: number;
  private readonly actionSize: number;
  private readonly observations: Float32Array;
  private readonly rewards: Float32Array;
  private readonly terminated: Uint8Array;
  private readonly truncated: Uint8Array;
  private readonly finalObservations: Float32Array | null;
  private readonly autoreset: Uint8Array;
  private readonly defaultSeed: number;
  private started = false;

  constructor(envFns: (() => Env)[], options: SyncVectorOptions = {}) {
    if (envFns.length === 0)
      throw new ProximalError("INVALID_OPTION", "SyncVectorEnv needs at least one env factory.");
    this.envs = envFns.map((fn) => fn());
    this.numEnvs = this.envs.length;
    this.autoresetMode = options.autoresetMode ?? "next-step";
    this.defaultSeed = options.seed ?? 0;
    this.singleObservationSpace = this.envs[0].observationSpace;
    this.singleActionSpace = this.envs[0].actionSpace;
    this.id = this.envs[0].spec?.id;
    this.observationSpace = batchSpace(this.singleObservationSpace, this.numEnvs);
    this.actionSpace = batchSpace(this.singleActionSpace, this.numEnvs);
    this.obsSize = flatSize(this.singleObservationSpace);
    this.actionSize = flatSize(this.singleActionSpace);
    const n = this.numEnvs;
    this.observations = new Float32Array(n * this.obsSize);
    this.rewards = new Float32Array(n);
    this.terminated = new Uint8Array(n);
    this.truncated = new Uint8Array(n);
    this.finalObservations = this.autoresetMode === "same-step" ? new Float32Array(n * this.obsSize) : null;
    this.autoreset = new Uint8Array(n);
  }

  private get name(): string {
    return `${this.id ?? this.envs[0].constructor.name} (SyncVectorEnv, numEnvs=${this.numEnvs})`;
  }

  reset(opts: VectorResetOptions = {}): VectorResetResult {
    const n = this.numEnvs;
    const mask = opts.options?.resetMask;
    if (mask !== undefined && mask.length !== n) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `${this.name}: resetMask has ${mask.length} entries, expected ${n}.`,
      );
    }
    const { resetMask: _ignored, ...envOptions } = opts.options ?? {};
    const infos: VectorInfos = {};
    for (let i = 0; i < n; i++) {
      if (mask !== undefined && !mask[i] && this.started) continue;
      const seed = opts.seed !== undefined ? opts.seed + i : this.started ? undefined : this.defaultSeed + i;
      const result = this.envs[i].reset({ seed, options: envOptions });
      writeFlat(this.singleObservationSpace, result.observation, this.observations, i * this.obsSize);
      addInfo(infos, result.info, i, n);
      this.autoreset[i] = 0;
    }
    this.started = true;
    return { observations: this.observations, infos };
  }

  step(actions: Int32Array | Float32Array): VectorStepResult {
    if (!this.started)
      throw new ProximalError(
        "RESET_NEEDED",
        `${this.name}: step() was called before reset(). Call reset() first.`,
      );
    const n = this.numEnvs;
    if (actions === null || typeof actions !== "object" || actions.length !== n * this.actionSize) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `${this.name}: actions must hold numEnvs x ${this.actionSize} = ${n * this.actionSize} values for ${this.actionSpace}, got ${actions?.length ?? typeof actions}.`,
      );
    }
    const buffer =
      isIntegerSpace(this.singleActionSpace) || actions instanceof Float32Array
        ? actions
        : Float32Array.from(actions);
    const infos: VectorInfos = {};
    for (let i = 0; i < n; i++) {
      const env = this.envs[i];
      if (this.autoreset[i]) {
        if (this.autoresetMode === "disabled") {
          throw new ProximalError(
            "RESET_NEEDED",
            `${this.name}: env ${i} finished its episode and autoresetMode is "disabled". Call reset({ options: { resetMask } }) for it first.`,
          );
        }
        const result = env.reset();
        writeFlat(this.singleObservationSpace, result.observation, this.observations, i * this.obsSize);
        this.rewards[i] = 0;
        this.terminated[i] = 0;
        this.truncated[i] = 0;
        this.autoreset[i] = 0;
        addInfo(infos, result.info, i, n);
        continue;
      }
      const result = env.step(readFlat(this.singleActionSpace, buffer, i * this.actionSize));
      this.rewards[i] = result.reward;
      this.terminated[i] = result.terminated ? 1 : 0;
      this.truncated[i] = result.truncated ? 1 : 0;
      const done = result.terminated || result.truncated;
      if (done && this.autoresetMode === "same-step") {
        writeFlat(this.singleObservationSpace, result.observation, this.finalObservations!, i * this.obsSize);
        const again = env.reset();
        writeFlat(this.singleObservationSpace, again.observation, this.observations, i * this.obsSize);
        addInfo(infos, again.info, i, n);
        addInfo(infos, { finalInfo: result.info }, i, n);
      } else {
        writeFlat(this.singleObservationSpace, result.observation, this.observations, i * this.obsSize);
        addInfo(infos, result.info, i, n);
        if (done) this.autoreset[i] = 1;
      }
    }
    return {
      observations: this.observations,
      rewards: this.rewards,
      terminated: this.terminated,
      truncated: this.truncated,
      finalObservations: this.finalObservations,
      infos,
    };
  }

  getState(): SyncVectorState {
    return {
      envs: this.envs.map((env, i) => {
        if (typeof env.getState !== "function") {
          throw new ProximalError(
            "INVALID_ARGUMENT",
            `${this.name}: env ${i} has no getState(), so the vector env cannot be checkpointed.`,
          );
        }
        return env.getState();
      }),
      autoreset: Array.from(this.autoreset),
      started: this.started,
    };
  }

  setState(state: unknown): void {
    const s = state as SyncVectorState;
    if (!Array.isArray(s?.envs) || s.envs.length !== this.numEnvs) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: setState() needs a getState() checkpoint with ${this.numEnvs} envs.`,
      );
    }
    this.envs.forEach((env, i) => {
      env.setState?.(s.envs[i]);
    });
    this.autoreset.set(s.autoreset);
    this.started = s.started;
  }

  close(): void {
    for (const env of this.envs) env.close();
  }
}

/** Gymnasium's `_add_info`: `infos[key][i] = value` and `infos["_" + key][i] = 1`. */
export function addInfo(infos: VectorInfos, info: Info, i: number, numEnvs: number): void {
  for (const [key, value] of Object.entries(info)) {
    let values = infos[key] as unknown[] | undefined;
    if (values === undefined) {
      values = new Array(numEnvs).fill(undefined);
      infos[key] = values;
      infos[`_${key}`] = new Uint8Array(numEnvs);
    }
    values[i] = value;
    (infos[`_${key}`] as Uint8Array)[i] = 1;
  }
}
