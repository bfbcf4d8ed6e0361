import { ProximalError } from "../../errors.js";
import type { SafetensorEntry } from "../../io/safetensors.js";
import type { Rng } from "../../random/rng.js";

/**
 * A batch of transitions to store, `count = rewards.length` rows (for a vector env adding one step,
 * `count = numEnvs`; an {@link NStepAdder} may hand over any number).
 *
 * `nextObservations` row i must be the observation the transition really led to: for an env whose
 * episode ended at this step that is its final observation (`result.finalObservations` in same-step
 * autoreset mode, or the observation returned before `reset`), not the first observation of the next
 * episode. SB3's `ReplayBuffer` gets it from `infos[i]["terminal_observation"]` for the same reason.
 */
export interface TransitionBatch {
  observations: Float32Array; // [count, obsSize]
  actions: Int32Array | Float32Array; // [count, actionWidth]
  rewards: Float32Array; // [count]
  nextObservations: Float32Array; // [count, obsSize]
  /** 1 where the episode reached a terminal state of the MDP (no bootstrap). */
  terminated: Uint8Array; // [count]
  /** 1 where the episode was cut off (time limit): still bootstraps from `nextObservations`. */
  truncated: Uint8Array; // [count]
  /**
   * Number of rewards summed into `rewards` (k in `γ^k`), 1 for plain transitions (the default).
   * {@link NStepAdder} sets it to n, or fewer where an episode ended inside the window.
   */
  steps?: Int32Array; // [count]
  /**
   * Action mask of each row's `nextObservations` (1 = allowed), `[count, nActions]`, for envs that
   * report masks (`info.actionMask`, e.g. Taxi-v4): the bootstrap `max_a'` of the TD target then
   * ranges over the next state's allowed actions only. Rows whose episode terminated need no mask
   * (nothing is bootstrapped); pass all ones there. Either every batch a buffer receives has masks or
   * none has: a buffer cannot make up masks for rows stored without them.
   */
  nextActionMasks?: Uint8Array; // [count, nActions]
}

/** A sampled minibatch: copies of the stored rows at `indices`, as typed arrays. */
export interface ReplaySample {
  /** Storage slots the rows came from (for `updatePriorities`). */
  indices: Int32Array; // [batchSize]
  observations: Float32Array; // [batchSize, obsSize]
  actions: Int32Array | Float32Array; // [batchSize, actionWidth]
  rewards: Float32Array; // [batchSize]
  nextObservations: Float32Array; // [batchSize, obsSize]
  /**
   * The TD target's done mask as floats: `terminated` only. A truncated transition is not done, it
   * bootstraps from its stored final observation, as GAE does in `rl/common/gae.ts`.
   */
  dones: Float32Array; // [batchSize]
  terminated: Uint8Array; // [batchSize]
  truncated: Uint8Array; // [batchSize]
  /** k of `γ^k` for bootstrapping (1 unless the rows came from an n-step adder). */
  steps: Int32Array; // [batchSize]
  /** Masks of `nextObservations` (1 = allowed); present only when the buffer stores masks. */
  nextActionMasks?: Uint8Array; // [batchSize, nActions]
  size: number;
}

/** Options of {@link ReplayBuffer}. */
export interface ReplayBufferOptions {
  /** Maximum number of transitions kept; the oldest are overwritten first (SB3's `buffer_size`). */
  capacity: number;
  /** Length of one flat observation. */
  obsSize: number;
  /** Numbers per action: 1 for Discrete, the dimension for Box. @defaultValue 1 */
  actionWidth?: number;
  /** `"int32"` for discrete actions, `"float32"` for continuous ones. @defaultValue "int32" */
  actionDtype?: "int32" | "float32";
}

/**
 * What {@link ReplayBuffer.state} returns: the filled rows as safetensors entries plus JSON counters,
 * so `writeSafetensors(state.tensors, { replay: JSON.stringify(state.json) })` saves it and
 * {@link ReplayBuffer.loadState} restores it bit-exactly. Flags are stored as I32 (safetensors as
 * written by proximal holds F32 and I32).
 */
export interface ReplayState {
  tensors: Record<string, SafetensorEntry>;
  json: Record<string, unknown>;
}

/**
 * Uniform experience replay (Lin 1992; Mnih et al. 2015, "Human-level control through deep
 * reinforcement learning", Methods: "Training algorithm for deep Q-networks"): a ring buffer of the
 * last `capacity` transitions `(s, a, r, s', terminated, truncated)`, from which minibatches are drawn
 * uniformly at random with replacement, `P(i) = 1/N` for each of the N stored transitions.
 *
 * Follows SB3's `ReplayBuffer` with `optimize_memory_usage=False`: next observations are stored
 * explicitly, so a truncated episode keeps its real final observation and the TD target
 * `y = r + γ^k (1 − terminated) max_a Q(s', a)` bootstraps from it (Gymnasium: truncation is not
 * termination; SB3 gets the same with `handle_timeout_termination`). Differences from SB3: one flat
 * ring of transitions instead of `[buffer_size / n_envs, n_envs]`, so batches of any size can be
 * added (n-step output), and the sample is plain typed arrays, not tensors.
 *
 * @example
 * const buffer = new ReplayBuffer({ capacity: 10_000, obsSize: 4 });
 * buffer.add({ observations, actions, rewards, nextObservations, terminated, truncated });
 * const batch = buffer.sample(32, rng); // batch.observations: Float32Array [32 * 4]
 */
export class ReplayBuffer {
  readonly capacity: number;
  readonly obsSize: number;
  readonly actionWidth: number;
  readonly actionDtype: "int32" | "float32";
  readonly observations: Float32Array; // [capacity, obsSize]
  readonly actions: Int32Array | Float32Array; // [capacity, actionWidth]
  readonly rewards: Float32Array; // [capacity]
  readonly nextObservations: Float32Array; // [capacity, obsSize]
  readonly terminated: Uint8Array; // [capacity]
  readonly truncated: Uint8Array; // [capacity]
  readonly steps: Int32Array; // [capacity]
  /**
   * Next-state action masks `[capacity, maskWidth]`, allocated by the first `add` that carries
   * `nextActionMasks` (or by `loadState`); null while the buffer stores no masks. A ring beside
   * `nextObservations`, written and overwritten with the same slots.
   */
  private nextMasks: Uint8Array | null = null;
  /** Actions per mask row; null until the buffer knows whether it stores masks. */
  private maskWidthValue: number | null = null;
  private pos = 0;
  private filled = 0;

  constructor(options: ReplayBufferOptions) {
    const { capacity, obsSize } = options;
    const actionWidth = options.actionWidth ?? 1;
    const actionDtype = options.actionDtype ?? "int32";
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `ReplayBuffer capacity must be an integer >= 1, got ${capacity}. SB3's default buffer_size is 1_000_000; small tasks use 10_000-50_000.`,
      );
    }
    if (!Number.isInteger(obsSize) || obsSize < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `ReplayBuffer obsSize must be an integer >= 1, got ${obsSize}. Pass the flat length of one observation.`,
      );
    }
    if (!Number.isInteger(actionWidth) || actionWidth < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `ReplayBuffer actionWidth must be an integer >= 1, got ${actionWidth}. Use 1 for Discrete actions, the dimension for Box.`,
      );
    }
    if (actionDtype !== "int32" && actionDtype !== "float32") {
      throw new ProximalError(
        "INVALID_OPTION",
        `ReplayBuffer actionDtype must be "int32" (discrete) or "float32" (continuous), got ${JSON.stringify(actionDtype)}.`,
      );
    }
    this.capacity = capacity;
    this.obsSize = obsSize;
    this.actionWidth = actionWidth;
    this.actionDtype = actionDtype;
    this.observations = new Float32Array(capacity * obsSize);
    this.nextObservations = new Float32Array(capacity * obsSize);
    this.actions =
      actionDtype === "int32"
        ? new Int32Array(capacity * actionWidth)
        : new Float32Array(capacity * actionWidth);
    this.rewards = new Float32Array(capacity);
    this.terminated = new Uint8Array(capacity);
    this.truncated = new Uint8Array(capacity);
    this.steps = new Int32Array(capacity);
  }

  /** Number of transitions stored, `min(added, capacity)`. */
  get size(): number {
    return this.filled;
  }

  /** The slot the next transition goes to. */
  get position(): number {
    return this.pos;
  }

  /**
   * Number of actions of each stored next-state mask, or null when the buffer stores no masks
   * (decided by the first `add`, or by `loadState`).
   */
  get maskWidth(): number | null {
    return this.maskWidthValue;
  }

  /** True once `capacity` transitions have been added (from then on each add overwrites the oldest). */
  get full(): boolean {
    return this.filled === this.capacity;
  }

  /**
   * Store `count = batch.rewards.length` transitions at the ring position, overwriting the oldest once
   * full: `slot = position; position = (position + 1) mod capacity`.
   * @returns the slots written, in order.
   * @throws {@link ProximalError} `"SHAPE_MISMATCH"` when an array's length is not `count` times its
   *   row width, `"DTYPE_MISMATCH"` when the actions' type does not match `actionDtype`.
   */
  add(batch: TransitionBatch): Int32Array {
    const count = this.checkBatch(batch);
    const masks = this.checkMasks(batch, count);
    const { obsSize, actionWidth } = this;
    const slots = new Int32Array(count);
    for (let j = 0; j < count; j++) {
      const i = this.pos;
      slots[j] = i;
      this.observations.set(batch.observations.subarray(j * obsSize, (j + 1) * obsSize), i * obsSize);
      this.nextObservations.set(batch.nextObservations.subarray(j * obsSize, (j + 1) * obsSize), i * obsSize);
      for (let k = 0; k < actionWidth; k++)
        this.actions[i * actionWidth + k] = batch.actions[j * actionWidth + k];
      this.rewards[i] = batch.rewards[j];
      this.terminated[i] = batch.terminated[j] ? 1 : 0;
      this.truncated[i] = batch.truncated[j] ? 1 : 0;
      this.steps[i] = batch.steps === undefined ? 1 : batch.steps[j];
      if (masks !== null) {
        const w = masks.width;
        for (let k = 0; k < w; k++) masks.store[i * w + k] = masks.rows[j * w + k] ? 1 : 0;
      }
      this.onAdd(i);
      this.pos = (this.pos + 1) % this.capacity;
      if (this.filled < this.capacity) this.filled++;
    }
    return slots;
  }

  /**
   * `batchSize` transitions drawn uniformly with replacement from the filled part, `i ~ U{0, …, N−1}`
   * (as SB3's `ReplayBuffer.sample` and Mnih et al. 2015), one `rng.integer(N)` per row.
   * @throws {@link ProximalError} `"INVALID_ARGUMENT"` when `batchSize` is not in `1 … size`.
   */
  sample(batchSize: number, rng: Rng): ReplaySample {
    this.checkBatchSize(batchSize);
    const indices = new Int32Array(batchSize);
    for (let j = 0; j < batchSize; j++) indices[j] = rng.integer(this.filled);
    return this.gather(indices);
  }

  /** Copies of the stored rows at `indices` (each in `0 … size−1`). */
  gather(indices: Int32Array): ReplaySample {
    const m = indices.length;
    const { obsSize, actionWidth } = this;
    const observations = new Float32Array(m * obsSize);
    const nextObservations = new Float32Array(m * obsSize);
    const actions =
      this.actionDtype === "int32" ? new Int32Array(m * actionWidth) : new Float32Array(m * actionWidth);
    const rewards = new Float32Array(m);
    const dones = new Float32Array(m);
    const terminated = new Uint8Array(m);
    const truncated = new Uint8Array(m);
    const steps = new Int32Array(m);
    const w = this.maskWidthValue;
    const nextActionMasks = this.nextMasks !== null && w !== null ? new Uint8Array(m * w) : null;
    for (let j = 0; j < m; j++) {
      const i = indices[j];
      if (!(i >= 0 && i < this.filled)) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `ReplayBuffer.gather: index ${i} is outside the filled part 0…${this.filled - 1}. Use indices returned by sample().`,
        );
      }
      // element copies: a subarray view per row was two allocations per sampled transition
      for (let k = 0, from = i * obsSize, to = j * obsSize; k < obsSize; k++) {
        observations[to + k] = this.observations[from + k];
        nextObservations[to + k] = this.nextObservations[from + k];
      }
      for (let k = 0; k < actionWidth; k++) actions[j * actionWidth + k] = this.actions[i * actionWidth + k];
      rewards[j] = this.rewards[i];
      terminated[j] = this.terminated[i];
      truncated[j] = this.truncated[i];
      // truncated ≠ terminated: only a terminal state stops the bootstrap (Gymnasium core.py)
      dones[j] = this.terminated[i];
      steps[j] = this.steps[i];
      if (nextActionMasks !== null)
        nextActionMasks.set(this.nextMasks!.subarray(i * w!, (i + 1) * w!), j * w!);
    }
    const sample: ReplaySample = {
      indices: indices.slice(),
      observations,
      actions,
      rewards,
      nextObservations,
      dones,
      terminated,
      truncated,
      steps,
      size: m,
    };
    // the key is absent (not null) without masks, so unmasked samples look exactly as before
    if (nextActionMasks !== null) sample.nextActionMasks = nextActionMasks;
    return sample;
  }

  /** Forget every transition (the arrays are kept). */
  reset(): void {
    this.pos = 0;
    this.filled = 0;
    // an empty buffer may be refilled from an env with or without masks
    this.nextMasks = null;
    this.maskWidthValue = null;
  }

  /**
   * The filled rows and counters, for saving with a model and resuming bit-exactly (see
   * {@link ReplayState}). Tensors are views of the filled part, not copies: write them out before the
   * next `add`.
   */
  state(): ReplayState {
    const n = this.filled;
    const { obsSize, actionWidth } = this;
    const flag = (a: Uint8Array): Int32Array => Int32Array.from(a.subarray(0, n));
    const actions = this.actions.subarray(0, n * actionWidth);
    const state: ReplayState = {
      tensors: {
        observations: { dtype: "F32", shape: [n, obsSize], data: this.observations.subarray(0, n * obsSize) },
        nextObservations: {
          dtype: "F32",
          shape: [n, obsSize],
          data: this.nextObservations.subarray(0, n * obsSize),
        },
        actions:
          actions instanceof Int32Array
            ? { dtype: "I32", shape: [n, actionWidth], data: actions }
            : { dtype: "F32", shape: [n, actionWidth], data: actions },
        rewards: { dtype: "F32", shape: [n], data: this.rewards.subarray(0, n) },
        terminated: { dtype: "I32", shape: [n], data: flag(this.terminated) },
        truncated: { dtype: "I32", shape: [n], data: flag(this.truncated) },
        steps: { dtype: "I32", shape: [n], data: this.steps.subarray(0, n) },
      },
      json: {
        kind: this.kind,
        capacity: this.capacity,
        obsSize,
        actionWidth,
        actionDtype: this.actionDtype,
        position: this.pos,
        size: n,
      },
    };
    const w = this.maskWidthValue;
    if (w !== null && this.nextMasks !== null) {
      // I32 like the other flags: proximal's safetensors hold F32 and I32 only
      state.tensors.nextActionMasks = {
        dtype: "I32",
        shape: [n, w],
        data: Int32Array.from(this.nextMasks.subarray(0, n * w)),
      };
      state.json.maskWidth = w;
    }
    return state;
  }

  /**
   * Restore a {@link ReplayBuffer.state} (possibly after a safetensors round trip) into this buffer,
   * which must have been built with the same options.
   * @throws {@link ProximalError} `"MALFORMED_FILE"` when the state does not fit this buffer.
   */
  loadState(state: ReplayState): void {
    const { json, tensors } = state;
    const expected: Record<string, unknown> = {
      kind: this.kind,
      capacity: this.capacity,
      obsSize: this.obsSize,
      actionWidth: this.actionWidth,
      actionDtype: this.actionDtype,
    };
    for (const [key, value] of Object.entries(expected)) {
      if (json[key] !== value) {
        throw malformedState(
          `it has ${key} ${JSON.stringify(json[key])} but this buffer has ${JSON.stringify(value)}. Build the buffer with the options it was saved with.`,
        );
      }
    }
    const n = json.size;
    const position = json.position;
    if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > this.capacity) {
      throw malformedState(`its size ${JSON.stringify(n)} is not an integer in 0…${this.capacity}.`);
    }
    const size = n as number;
    const consistent =
      Number.isInteger(position) &&
      (size < this.capacity ? position === size : (position as number) >= 0 && (position as number) < size);
    if (!consistent) {
      throw malformedState(
        `its position ${JSON.stringify(position)} does not fit size ${size} and capacity ${this.capacity}.`,
      );
    }
    const read = (name: string, length: number, dtype: "F32" | "I32"): Float32Array | Int32Array => {
      const entry = tensors[name];
      if (entry === undefined || entry.dtype !== dtype || entry.data.length !== length) {
        throw malformedState(
          `tensor "${name}" should be ${dtype} with ${length} elements, got ${entry === undefined ? "nothing" : `${entry.dtype} with ${entry.data.length}`}.`,
        );
      }
      return entry.data;
    };
    const { obsSize, actionWidth } = this;
    const observations = read("observations", size * obsSize, "F32");
    const nextObservations = read("nextObservations", size * obsSize, "F32");
    const actions = read("actions", size * actionWidth, this.actionDtype === "int32" ? "I32" : "F32");
    const rewards = read("rewards", size, "F32");
    const terminated = read("terminated", size, "I32");
    const truncated = read("truncated", size, "I32");
    const steps = read("steps", size, "I32");
    // states saved before masks were stored (or from unmasked envs) have no maskWidth: no masks
    const maskWidth = json.maskWidth ?? null;
    if (maskWidth !== null && !(Number.isInteger(maskWidth) && (maskWidth as number) >= 1)) {
      throw malformedState(`its maskWidth ${JSON.stringify(maskWidth)} is not an integer >= 1.`);
    }
    const masks = maskWidth === null ? null : read("nextActionMasks", size * (maskWidth as number), "I32");
    this.observations.set(observations);
    this.nextObservations.set(nextObservations);
    this.actions.set(actions);
    this.rewards.set(rewards);
    this.terminated.set(terminated);
    this.truncated.set(truncated);
    this.steps.set(steps);
    if (masks === null) {
      this.nextMasks = null;
      this.maskWidthValue = null;
    } else {
      const w = maskWidth as number;
      this.maskWidthValue = w;
      this.nextMasks = new Uint8Array(this.capacity * w);
      for (let k = 0; k < masks.length; k++) this.nextMasks[k] = masks[k] ? 1 : 0;
    }
    this.pos = position as number;
    this.filled = size;
  }

  /** Name stored in {@link ReplayBuffer.state}, so a state cannot be loaded into the wrong class. */
  protected get kind(): string {
    return "ReplayBuffer";
  }

  /** Hook for subclasses: slot `i` was just written. */
  protected onAdd(_slot: number): void {}

  /** Refuse a batch size the buffer cannot sample (not a positive integer, or more than it holds). */
  protected checkBatchSize(batchSize: number): void {
    if (this.filled === 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "Cannot sample from an empty replay buffer. Add transitions first (off-policy algorithms wait learningStarts steps).",
      );
    }
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > this.filled) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `batchSize must be an integer in 1…${this.filled} (the transitions stored), got ${batchSize}. Add more transitions before sampling (learningStarts >= batchSize) or lower batchSize.`,
      );
    }
  }

  /**
   * The mask rows of `batch` and where they go, or null for a buffer without masks. The first
   * batch of an empty buffer decides whether it stores masks; after that, a batch that differs
   * fails rather than have the buffer invent masks (all allowed) or drop them.
   */
  private checkMasks(
    batch: TransitionBatch,
    count: number,
  ): { rows: Uint8Array; store: Uint8Array; width: number } | null {
    const rows = batch.nextActionMasks;
    if (this.maskWidthValue === null && this.filled > 0) {
      if (rows === undefined) return null;
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `ReplayBuffer.add: these transitions carry next-state action masks, but the ${this.filled} stored before them have none, so the TD target could not restrict their max over next actions. Use an env that reports info.actionMask from the first step, or start a new buffer (reset()).`,
      );
    }
    if (rows === undefined) {
      if (this.maskWidthValue === null) return null;
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `ReplayBuffer.add: the buffer stores next-state action masks (${this.maskWidthValue} actions), but these transitions have none. An env that reports info.actionMask must keep reporting it; pass nextActionMasks with every batch.`,
      );
    }
    if (count === 0) return null;
    const width = rows.length / count;
    if (
      !Number.isInteger(width) ||
      width < 1 ||
      (this.maskWidthValue !== null && width !== this.maskWidthValue)
    ) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `ReplayBuffer.add: nextActionMasks has ${rows.length} elements for ${count} transitions; expected ${count} rows of ${this.maskWidthValue ?? "nActions"} (one entry per action, 1 = allowed).`,
      );
    }
    if (this.nextMasks === null) {
      this.nextMasks = new Uint8Array(this.capacity * width);
      this.maskWidthValue = width;
    }
    return { rows, store: this.nextMasks, width };
  }

  private checkBatch(batch: TransitionBatch): number {
    const count = batch.rewards.length;
    const { obsSize, actionWidth } = this;
    const expectations: [string, number, number][] = [
      ["observations", batch.observations.length, count * obsSize],
      ["nextObservations", batch.nextObservations.length, count * obsSize],
      ["actions", batch.actions.length, count * actionWidth],
      ["terminated", batch.terminated.length, count],
      ["truncated", batch.truncated.length, count],
    ];
    if (batch.steps !== undefined) expectations.push(["steps", batch.steps.length, count]);
    for (const [name, got, want] of expectations) {
      if (got !== want) {
        throw new ProximalError(
          "SHAPE_MISMATCH",
          `ReplayBuffer.add: ${name} has ${got} elements, expected ${want} (${count} transitions, from rewards.length, with obsSize ${obsSize} and actionWidth ${actionWidth}). Pass flat [count, width] arrays; flatten observations first.`,
        );
      }
    }
    const wantInt = this.actionDtype === "int32";
    if (wantInt !== batch.actions instanceof Int32Array) {
      throw new ProximalError(
        "DTYPE_MISMATCH",
        `ReplayBuffer.add: actions are a ${batch.actions.constructor.name} but the buffer stores ${this.actionDtype} actions. Pass ${wantInt ? "an Int32Array (discrete)" : "a Float32Array (continuous)"} or build the buffer with actionDtype "${wantInt ? "float32" : "int32"}".`,
      );
    }
    if (batch.steps !== undefined) {
      for (let j = 0; j < count; j++) {
        if (!(batch.steps[j] >= 1)) {
          throw new ProximalError(
            "INVALID_ARGUMENT",
            `ReplayBuffer.add: steps[${j}] is ${batch.steps[j]}; each transition sums at least one reward (steps >= 1).`,
          );
        }
      }
    }
    return count;
  }
}

function malformedState(message: string): ProximalError {
  return new ProximalError("MALFORMED_FILE", `Cannot load this replay-buffer state: ${message}`);
}
