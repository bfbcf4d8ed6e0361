import { ProximalError } from "../errors.js";
import { formatShape, shapesEqual } from "../tensor/shape.js";
import { Tensor } from "../tensor/tensor.js";

/** Hyperparameters every optimizer has; subclasses add their own. */
export interface BaseOptimizerOptions {
  /** Learning rate. */
  lr: number;
}

/** A group of parameters sharing hyperparameters (torch's `param_groups` entry). */
export interface ParamGroup<O extends BaseOptimizerOptions> {
  params: Tensor[];
  /** Fully resolved options; change `options.lr` for per-group schedules. */
  options: O;
}

/** A parameter group as passed to a constructor: its own values override the defaults. */
export type ParamGroupInput<O extends BaseOptimizerOptions> = { params: Tensor[] } & Partial<O>;

/** What optimizers accept: a flat list of parameters, or groups with their own options. */
export type ParamsInput<O extends BaseOptimizerOptions> = Tensor[] | ParamGroupInput<O>[];

/** Per-parameter state: a step count and named float32 buffers (moments, momentum, ...). */
export interface ParamState {
  step: number;
  buffers: Record<string, Float32Array>;
}

/**
 * A checkpointable optimizer state in the form safetensors wants: the buffers as tensors named
 * `state.<param index>.<buffer>` (param index counts across groups, in order, like torch's ids) and
 * everything else as JSON (store it in the file's metadata or next to it).
 */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  json: OptimizerStateJson;
}

/** The JSON half of an {@link OptimizerState}: everything but the buffers. */
export interface OptimizerStateJson {
  /** The optimizer class, checked on load. */
  type: string;
  /** Each group's options and the indices of its parameters. */
  paramGroups: { options: Record<string, number | boolean | number[]>; params: number[] }[];
  /** Step count of each parameter that has state, by index. */
  steps: Record<string, number>;
}

/**
 * Base of the optimizers: parameter groups, per-parameter state, `step()`, `zeroGrad()`, the
 * learning rate for schedules, and checkpoints. A subclass implements {@link Optimizer.updateParameter}
 * for one parameter; parameters without a gradient are skipped (their state and step count stay).
 * Updates write the parameters' data in place, so modules and state dicts see them at once.
 */
export abstract class Optimizer<O extends BaseOptimizerOptions> {
  readonly paramGroups: ParamGroup<O>[];
  protected readonly state = new Map<Tensor, ParamState>();
  /**
   * The optimizer's name as saved in checkpoints and shown in messages ("Adam"). A string literal in
   * each built-in subclass, not `constructor.name`, which minifiers rename (a bundled page would save
   * "Cc"); a getter, so the base constructor's checks can read it. Your own subclass inherits this
   * fallback to the class name; override it for bundled code.
   */
  get optimizerName(): string {
    return this.constructor.name;
  }

  constructor(params: ParamsInput<O>, defaults: O) {
    const groups: ParamGroupInput<O>[] =
      params.length > 0 && params[0] instanceof Tensor
        ? [{ params: params as Tensor[] } as ParamGroupInput<O>]
        : (params as ParamGroupInput<O>[]);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((group, g) => {
      const { params: groupParams, ...overrides } = group;
      for (const p of groupParams) {
        if (!(p instanceof Tensor) || p.dtype !== "float32") {
          throw new ProximalError(
            "INVALID_ARGUMENT",
            `${this.optimizerName}: group ${g} holds something that is not a float32 tensor. Pass module.parameters().`,
          );
        }
        if (seen.has(p)) {
          throw new ProximalError(
            "INVALID_ARGUMENT",
            `${this.optimizerName}: parameter ${p.name ?? formatShape(p.shape)} appears twice (group ${g}). Each parameter may belong to one group only.`,
          );
        }
        seen.add(p);
      }
      const options = { ...defaults, ...withoutUndefined(overrides) } as O;
      this.validateOptions(options);
      return { params: [...groupParams], options };
    });
    if (seen.size === 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.optimizerName} got an empty parameter list. Pass module.parameters() of a module that has parameters.`,
      );
    }
  }

  /** Throw `INVALID_OPTION` for out-of-range hyperparameters (called for each group). */
  protected abstract validateOptions(options: O): void;

  /** Update one parameter in place from its gradient. `state.step` is already incremented. */
  protected abstract updateParameter(
    param: Float32Array,
    grad: Float32Array,
    state: ParamState,
    options: O,
  ): void;

  /** Names and initial fill of the buffers a new parameter state needs. */
  protected abstract initialBuffers(options: O): Record<string, number>;

  /** One update of every parameter that has a gradient. */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        const s = this.stateOf(p, group.options);
        s.step++;
        this.updateParameter(p.values, p.grad.values, s, group.options);
      }
    }
  }

  /** The state of `p`, created (step 0, buffers filled) on its first update. */
  protected stateOf(p: Tensor, options: O): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = { step: 0, buffers: {} };
      for (const [name, fill] of Object.entries(this.initialBuffers(options))) {
        s.buffers[name] = new Float32Array(p.size).fill(fill);
      }
      this.state.set(p, s);
    }
    return s;
  }

  /** Clear the gradient of every parameter. */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.zeroGrad();
  }

  /** The learning rate of the first group (all groups share it unless set per group). */
  get learningRate(): number {
    return this.paramGroups[0].options.lr;
  }

  /** Set the learning rate of every group (what a schedule does each update). */
  set learningRate(lr: number) {
    if (!(lr >= 0)) {
      throw new ProximalError("INVALID_OPTION", `learningRate must be >= 0, got ${lr}. Check the schedule.`);
    }
    for (const group of this.paramGroups) group.options.lr = lr;
  }

  /** Buffers as tensors plus JSON, see {@link OptimizerState}. The buffers are copies. */
  getState(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    const steps: Record<string, number> = {};
    const paramGroups: OptimizerStateJson["paramGroups"] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const indices: number[] = [];
      for (const p of group.params) {
        const s = this.state.get(p);
        if (s !== undefined) {
          steps[index] = s.step;
          for (const [name, buffer] of Object.entries(s.buffers)) {
            tensors[`state.${index}.${name}`] = new Tensor(buffer.slice(), p.shape);
          }
        }
        indices.push(index++);
      }
      const options = JSON.parse(
        JSON.stringify(group.options),
      ) as OptimizerStateJson["paramGroups"][0]["options"];
      paramGroups.push({ options, params: indices });
    }
    return { tensors, json: { type: this.optimizerName, paramGroups, steps } };
  }

  /**
   * Restore a state from {@link Optimizer.getState} of the same optimizer type over parameters of
   * the same shapes, in the same order. Group options (including the learning rate) are restored too.
   */
  setState(state: OptimizerState): void {
    const { json, tensors } = state;
    const name = this.optimizerName;
    if (json.type !== name) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `setState: the state was saved by ${json.type}, but this optimizer is ${name}. Build a ${json.type} to load it.`,
      );
    }
    const sizes = this.paramGroups.map((g) => g.params.length);
    const savedSizes = json.paramGroups.map((g) => g.params.length);
    if (sizes.length !== savedSizes.length || sizes.some((n, i) => n !== savedSizes[i])) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `setState: group sizes differ: saved [${savedSizes.join(", ")}], this optimizer [${sizes.join(", ")}]. Pass the same parameters in the same order.`,
      );
    }
    const params = this.paramGroups.flatMap((g) => g.params);
    const restored = new Map<Tensor, ParamState>();
    for (const [key, step] of Object.entries(json.steps)) {
      const p = params[Number(key)];
      if (p === undefined) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `setState: step entry for parameter ${key}, which does not exist.`,
        );
      }
      restored.set(p, { step, buffers: {} });
    }
    for (const [key, t] of Object.entries(tensors)) {
      const match = /^state\.(\d+)\.(\w+)$/.exec(key);
      const p = match === null ? undefined : params[Number(match[1])];
      const s = p === undefined ? undefined : restored.get(p);
      if (match === null || p === undefined || s === undefined) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `setState: unexpected tensor "${key}". Expected names "state.<param index>.<buffer>" for parameters with a step count.`,
        );
      }
      if (!shapesEqual(t.shape, p.shape)) {
        throw new ProximalError(
          "SHAPE_MISMATCH",
          `setState: "${key}" is ${formatShape(t.shape)} but parameter ${match[1]} (${p.name ?? "unnamed"}) is ${formatShape(p.shape)}.`,
        );
      }
      s.buffers[match[2]] = t.values.slice();
    }
    json.paramGroups.forEach((saved, g) => {
      const options = { ...this.paramGroups[g].options, ...saved.options } as O;
      this.validateOptions(options);
      this.paramGroups[g].options = options;
    });
    this.state.clear();
    for (const [p, s] of restored) this.state.set(p, s);
  }
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
