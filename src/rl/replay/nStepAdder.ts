import { ProximalError } from "../../errors.js";
import type { ReplayState, TransitionBatch } from "./replayBuffer.js";

/** Options of {@link NStepAdder}. */
export interface NStepAdderOptions {
  /** n, the number of rewards summed before bootstrapping. @defaultValue 3 (Rainbow, Hessel et al. 2018) */
  nSteps?: number;
  /** Discount γ in `R = Σ_{k<n} γ^k r_{t+k}`. @defaultValue 0.99 (SB3's DQN default) */
  gamma?: number;
  /** Envs of the vector env feeding the adder; each gets its own window. */
  numEnvs: number;
  obsSize: number;
  /** @defaultValue 1 */
  actionWidth?: number;
  /** @defaultValue "int32" */
  actionDtype?: "int32" | "float32";
}

/**
 * One step of a vector env: `numEnvs` rows, as in {@link TransitionBatch} but without `steps`
 * (`nextActionMasks`, when present, `[numEnvs, nActions]`).
 */
export type VectorStep = Omit<TransitionBatch, "steps">;

/**
 * Turns each env's 1-step transitions into n-step ones before they reach a replay buffer (Sutton &
 * Barto 2018, §7.1, eq. 7.1; Hessel et al. 2018, "Rainbow", arXiv:1710.02298, §3 "Multi-step
 * learning", eq. 2): the transition stored for time t is
 *
 * `(s_t, a_t, R_t = Σ_{k=0}^{m−1} γ^k r_{t+k}, s_{t+m}, terminated, truncated, steps = m)`
 *
 * with m = n while the episode goes on, and the TD target is `R_t + γ^m (1 − terminated) max_a Q(s_{t+m}, a)`.
 * An episode end inside the window stops the sum there (m < n):
 * - terminated at t+m−1: the transition is done, nothing is bootstrapped;
 * - truncated at t+m−1: not done; `s_{t+m}` is the stored final observation and the bootstrap is
 *   discounted by γ^m, exactly the cut-off future GAE credits in `rl/common/gae.ts`.
 * When an episode ends, every transition still waiting in that env's window is emitted at once
 * (with m = n−1, …, 1), so none is lost; with n = 1 the output equals the input.
 *
 * Action masks: when the steps carry `nextActionMasks`, each emitted transition carries the mask of
 * its own `s_{t+m}`, the state the target bootstraps from (`max` over the actions allowed there).
 * That state is always the `nextObservations` row of the step being added, so the mask is taken
 * from the same step and no mask needs to wait in the window.
 *
 * Acme's `NStepTransitionAdder` works the same way; Dopamine and SB3 instead sum the rewards at
 * sampling time from a buffer of 1-step transitions. Adding the n-step row at collection time keeps
 * the replay buffer algorithm-free and makes prioritised replay rank whole n-step transitions.
 *
 * @example
 * const adder = new NStepAdder({ nSteps: 3, gamma: 0.99, numEnvs: 4, obsSize: 8 });
 * buffer.add(adder.add({ observations, actions, rewards, nextObservations, terminated, truncated }));
 */
export class NStepAdder {
  readonly nSteps: number;
  readonly gamma: number;
  readonly numEnvs: number;
  readonly obsSize: number;
  readonly actionWidth: number;
  readonly actionDtype: "int32" | "float32";
  /** Per env, a ring of up to n pending (s, a, r): `[numEnvs, nSteps, ...]`. */
  private readonly pendingObservations: Float32Array; // [numEnvs, nSteps, obsSize]
  private readonly pendingActions: Int32Array | Float32Array; // [numEnvs, nSteps, actionWidth]
  private readonly pendingRewards: Float32Array; // [numEnvs, nSteps]
  /** Ring slot of each env's oldest pending step. */
  private readonly pendingStart: Int32Array; // [numEnvs]
  private readonly pendingCount: Int32Array; // [numEnvs]

  constructor(options: NStepAdderOptions) {
    const nSteps = options.nSteps ?? 3;
    const gamma = options.gamma ?? 0.99;
    const actionWidth = options.actionWidth ?? 1;
    const actionDtype = options.actionDtype ?? "int32";
    const { numEnvs, obsSize } = options;
    if (!Number.isInteger(nSteps) || nSteps < 1) {
      throw new ProximalError(
        "INVALID_OPTION",
        `NStepAdder nSteps must be an integer >= 1, got ${nSteps}. 1 gives plain transitions; Rainbow uses 3.`,
      );
    }
    if (!(gamma >= 0 && gamma <= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `NStepAdder gamma must be in [0, 1], got ${gamma}. 0.99 is usual.`,
      );
    }
    for (const [name, value] of [
      ["numEnvs", numEnvs],
      ["obsSize", obsSize],
      ["actionWidth", actionWidth],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ProximalError(
          "INVALID_OPTION",
          `NStepAdder ${name} must be an integer >= 1, got ${value}.`,
        );
      }
    }
    if (actionDtype !== "int32" && actionDtype !== "float32") {
      throw new ProximalError(
        "INVALID_OPTION",
        `NStepAdder actionDtype must be "int32" or "float32", got ${JSON.stringify(actionDtype)}.`,
      );
    }
    this.nSteps = nSteps;
    this.gamma = gamma;
    this.numEnvs = numEnvs;
    this.obsSize = obsSize;
    this.actionWidth = actionWidth;
    this.actionDtype = actionDtype;
    this.pendingObservations = new Float32Array(numEnvs * nSteps * obsSize);
    this.pendingActions =
      actionDtype === "int32"
        ? new Int32Array(numEnvs * nSteps * actionWidth)
        : new Float32Array(numEnvs * nSteps * actionWidth);
    this.pendingRewards = new Float32Array(numEnvs * nSteps);
    this.pendingStart = new Int32Array(numEnvs);
    this.pendingCount = new Int32Array(numEnvs);
  }

  /** Steps waiting in env `e`'s window (0 … n−1 between calls). */
  pending(e: number): number {
    return this.pendingCount[e];
  }

  /**
   * Push one vector-env step (`numEnvs` rows; `nextObservations` holds the final observation where an
   * episode ended) and return the n-step transitions completed by it, env by env, oldest first: for
   * each env, one full window once n steps are pending, or its whole window when the episode ended.
   * @throws {@link ProximalError} `"SHAPE_MISMATCH"` or `"DTYPE_MISMATCH"` for arrays that do not
   *   match the options.
   */
  add(step: VectorStep): TransitionBatch {
    const maskWidth = this.checkStep(step);
    const { numEnvs, nSteps, obsSize, actionWidth } = this;
    const out = new NStepCollector(numEnvs * nSteps, obsSize, actionWidth, this.actionDtype, maskWidth);
    const masks = step.nextActionMasks;
    for (let e = 0; e < numEnvs; e++) {
      const slot = (this.pendingStart[e] + this.pendingCount[e]) % nSteps;
      const row = e * nSteps + slot;
      this.pendingObservations.set(step.observations.subarray(e * obsSize, (e + 1) * obsSize), row * obsSize);
      for (let k = 0; k < actionWidth; k++)
        this.pendingActions[row * actionWidth + k] = step.actions[e * actionWidth + k];
      this.pendingRewards[row] = step.rewards[e];
      this.pendingCount[e]++;
      const nextObservation = step.nextObservations.subarray(e * obsSize, (e + 1) * obsSize);
      const nextMask = masks === undefined ? null : masks.subarray(e * maskWidth, (e + 1) * maskWidth);
      const terminated = step.terminated[e] ? 1 : 0;
      const truncated = step.truncated[e] ? 1 : 0;
      if (terminated || truncated) {
        // the episode ended: flush the whole window, each with the rewards up to the end
        while (this.pendingCount[e] > 0)
          this.emitOldest(e, nextObservation, nextMask, terminated, truncated, out);
      } else if (this.pendingCount[e] === nSteps) {
        this.emitOldest(e, nextObservation, nextMask, 0, 0, out);
      }
    }
    return out.batch();
  }

  /** Drop every pending step (e.g. after the env was reset from outside). */
  reset(): void {
    this.pendingStart.fill(0);
    this.pendingCount.fill(0);
  }

  /** The pending windows, for saving with a replay buffer (see {@link ReplayState}). */
  state(): ReplayState {
    const actions = this.pendingActions;
    const { numEnvs, nSteps, obsSize, actionWidth } = this;
    return {
      tensors: {
        pendingObservations: {
          dtype: "F32",
          shape: [numEnvs, nSteps, obsSize],
          data: this.pendingObservations,
        },
        pendingActions:
          actions instanceof Int32Array
            ? { dtype: "I32", shape: [numEnvs, nSteps, actionWidth], data: actions }
            : { dtype: "F32", shape: [numEnvs, nSteps, actionWidth], data: actions },
        pendingRewards: { dtype: "F32", shape: [numEnvs, nSteps], data: this.pendingRewards },
        pendingStart: { dtype: "I32", shape: [numEnvs], data: this.pendingStart },
        pendingCount: { dtype: "I32", shape: [numEnvs], data: this.pendingCount },
      },
      json: {
        kind: "NStepAdder",
        nSteps,
        gamma: this.gamma,
        numEnvs,
        obsSize,
        actionWidth,
        actionDtype: this.actionDtype,
      },
    };
  }

  /** Restore {@link NStepAdder.state} into an adder built with the same options. */
  loadState(state: ReplayState): void {
    const expected = this.state();
    for (const [key, value] of Object.entries(expected.json)) {
      if (state.json[key] !== value) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `Cannot load this n-step adder state: it has ${key} ${JSON.stringify(state.json[key])} but this adder has ${JSON.stringify(value)}. Build the adder with the options it was saved with.`,
        );
      }
    }
    for (const [name, want] of Object.entries(expected.tensors)) {
      const got = state.tensors[name];
      if (got === undefined || got.dtype !== want.dtype || got.data.length !== want.data.length) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `Cannot load this n-step adder state: tensor "${name}" should be ${want.dtype} with ${want.data.length} elements. Save it with NStepAdder.state().`,
        );
      }
    }
    const start = state.tensors.pendingStart.data;
    const count = state.tensors.pendingCount.data;
    for (let e = 0; e < this.numEnvs; e++) {
      if (!(start[e] >= 0 && start[e] < this.nSteps && count[e] >= 0 && count[e] < this.nSteps)) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `Cannot load this n-step adder state: env ${e} has start ${start[e]} and count ${count[e]}, outside 0…${this.nSteps - 1}.`,
        );
      }
    }
    this.pendingObservations.set(state.tensors.pendingObservations.data);
    this.pendingActions.set(state.tensors.pendingActions.data);
    this.pendingRewards.set(state.tensors.pendingRewards.data);
    this.pendingStart.set(start);
    this.pendingCount.set(count);
  }

  /**
   * Emit env e's oldest pending step as `(s_t, a_t, Σ_{k<m} γ^k r_{t+k}, nextObservation, flags, m)`
   * with m the number of pending steps, and drop it from the window.
   */
  private emitOldest(
    e: number,
    nextObservation: Float32Array,
    nextMask: Uint8Array | null,
    terminated: number,
    truncated: number,
    out: NStepCollector,
  ): void {
    const { nSteps, obsSize, actionWidth } = this;
    const start = this.pendingStart[e];
    const m = this.pendingCount[e];
    // R = Σ_{k<m} γ^k r_{t+k} in float64, rounded once when stored
    let ret = 0;
    let discount = 1;
    for (let k = 0; k < m; k++) {
      ret += discount * this.pendingRewards[e * nSteps + ((start + k) % nSteps)];
      discount *= this.gamma;
    }
    const row = e * nSteps + start;
    out.push(
      this.pendingObservations.subarray(row * obsSize, (row + 1) * obsSize),
      this.pendingActions.subarray(row * actionWidth, (row + 1) * actionWidth),
      ret,
      nextObservation,
      nextMask,
      terminated,
      truncated,
      m,
    );
    this.pendingStart[e] = (start + 1) % nSteps;
    this.pendingCount[e] = m - 1;
    if (m === 1) this.pendingStart[e] = 0;
  }

  /** Checks the step's arrays; returns the width of its mask rows (0 without masks). */
  private checkStep(step: VectorStep): number {
    const { numEnvs, obsSize, actionWidth } = this;
    const expectations: [string, number, number][] = [
      ["observations", step.observations.length, numEnvs * obsSize],
      ["nextObservations", step.nextObservations.length, numEnvs * obsSize],
      ["actions", step.actions.length, numEnvs * actionWidth],
      ["rewards", step.rewards.length, numEnvs],
      ["terminated", step.terminated.length, numEnvs],
      ["truncated", step.truncated.length, numEnvs],
    ];
    for (const [name, got, want] of expectations) {
      if (got !== want) {
        throw new ProximalError(
          "SHAPE_MISMATCH",
          `NStepAdder.add: ${name} has ${got} elements, expected ${want} (numEnvs ${numEnvs}, obsSize ${obsSize}, actionWidth ${actionWidth}). Pass one row per env, flattened.`,
        );
      }
    }
    const wantInt = this.actionDtype === "int32";
    if (wantInt !== step.actions instanceof Int32Array) {
      throw new ProximalError(
        "DTYPE_MISMATCH",
        `NStepAdder.add: actions are a ${step.actions.constructor.name} but the adder holds ${this.actionDtype} actions. Match actionDtype to the action space.`,
      );
    }
    if (step.nextActionMasks === undefined) return 0;
    const width = step.nextActionMasks.length / numEnvs;
    if (!Number.isInteger(width) || width < 1) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `NStepAdder.add: nextActionMasks has ${step.nextActionMasks.length} elements, not numEnvs (${numEnvs}) rows of nActions. Pass one mask row per env, flattened.`,
      );
    }
    return width;
  }
}

/** Rows emitted by one {@link NStepAdder.add} call, at most `maxRows`. */
class NStepCollector {
  private readonly observations: Float32Array;
  private readonly actions: Int32Array | Float32Array;
  private readonly rewards: Float32Array;
  private readonly nextObservations: Float32Array;
  private readonly terminated: Uint8Array;
  private readonly truncated: Uint8Array;
  private readonly steps: Int32Array;
  /** `[maxRows, maskWidth]`, or null when the step carried no masks (maskWidth 0). */
  private readonly nextActionMasks: Uint8Array | null;
  private count = 0;

  constructor(
    maxRows: number,
    private readonly obsSize: number,
    private readonly actionWidth: number,
    actionDtype: "int32" | "float32",
    private readonly maskWidth: number,
  ) {
    this.nextActionMasks = maskWidth === 0 ? null : new Uint8Array(maxRows * maskWidth);
    this.observations = new Float32Array(maxRows * obsSize);
    this.nextObservations = new Float32Array(maxRows * obsSize);
    this.actions =
      actionDtype === "int32"
        ? new Int32Array(maxRows * actionWidth)
        : new Float32Array(maxRows * actionWidth);
    this.rewards = new Float32Array(maxRows);
    this.terminated = new Uint8Array(maxRows);
    this.truncated = new Uint8Array(maxRows);
    this.steps = new Int32Array(maxRows);
  }

  push(
    observation: Float32Array,
    action: Int32Array | Float32Array,
    reward: number,
    nextObservation: Float32Array,
    nextMask: Uint8Array | null,
    terminated: number,
    truncated: number,
    steps: number,
  ): void {
    const j = this.count++;
    if (this.nextActionMasks !== null) this.nextActionMasks.set(nextMask!, j * this.maskWidth);
    this.observations.set(observation, j * this.obsSize);
    this.nextObservations.set(nextObservation, j * this.obsSize);
    this.actions.set(action, j * this.actionWidth);
    this.rewards[j] = reward;
    this.terminated[j] = terminated;
    this.truncated[j] = truncated;
    this.steps[j] = steps;
  }

  batch(): TransitionBatch {
    const n = this.count;
    const out: TransitionBatch = {
      observations: this.observations.slice(0, n * this.obsSize),
      actions: this.actions.slice(0, n * this.actionWidth),
      rewards: this.rewards.slice(0, n),
      nextObservations: this.nextObservations.slice(0, n * this.obsSize),
      terminated: this.terminated.slice(0, n),
      truncated: this.truncated.slice(0, n),
      steps: this.steps.slice(0, n),
    };
    if (this.nextActionMasks !== null)
      out.nextActionMasks = this.nextActionMasks.slice(0, n * this.maskWidth);
    return out;
  }
}
