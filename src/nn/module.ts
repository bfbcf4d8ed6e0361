import { didYouMean, ProximalError } from "../errors.js";
import { formatShape, shapesEqual } from "../tensor/shape.js";
import type { Tensor } from "../tensor/tensor.js";

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * Require the dict's names to match this module's parameters and buffers exactly. With
   * `strict: false`, missing and unexpected names are returned instead of thrown; a shape mismatch
   * is an error either way (as in PyTorch).
   * @defaultValue true
   */
  strict?: boolean;
}

/** What {@link Module.loadStateDict} did not match (always empty with `strict: true`). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Base class of every layer and network: a tree of named parameters, buffers and child modules,
 * registered explicitly in the constructor (PyTorch's `nn.Module` finds them by attribute
 * assignment; here registration is a visible call, so nothing is found by accident).
 *
 * Names are dotted paths as in PyTorch (`layers.0.weight`), so state dicts read the same as a
 * PyTorch `state_dict()` of the same architecture.
 *
 * - Parameters are trainable tensors (`requiresGrad` is set on registration).
 * - Buffers are non-trainable state saved with the module (running statistics, masks).
 * - `train()` / `eval()` set {@link Module.training} on the whole tree (Dropout reads it).
 *
 * @example
 * class Head extends Module {
 *   readonly fc: Linear;
 *   constructor(rng: Rng) {
 *     super();
 *     this.fc = this.registerModule("fc", new Linear(4, 2, { rng }));
 *   }
 *   forward(x: Tensor): Tensor {
 *     return this.fc.forward(x);
 *   }
 * }
 * new Head(new Rng(0)).namedParameters().map(([name]) => name); // ["fc.weight", "fc.bias"]
 */
export class Module {
  /** Training mode (true) or evaluation mode (false); see {@link Module.train}. */
  training = true;
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly childModules = new Map<string, Module>();

  /** Register a trainable tensor under `name` (marks it `requiresGrad`); returns it. */
  protected registerParameter(name: string, parameter: Tensor): Tensor {
    this.checkNewName(name);
    parameter.requireGrad();
    parameter.name ??= name;
    this.ownParameters.set(name, parameter);
    return parameter;
  }

  /** Register non-trainable state under `name` (saved in the state dict, never optimized). */
  protected registerBuffer(name: string, buffer: Tensor): Tensor {
    this.checkNewName(name);
    this.ownBuffers.set(name, buffer);
    return buffer;
  }

  /** Register a child module under `name`; its parameters appear as `name.<child name>`. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkNewName(name);
    this.childModules.set(name, module);
    return module;
  }

  /** Remove the child module registered under `name` (an adapter being detached); returns it. */
  protected unregisterModule(name: string): Module {
    const child = this.childModules.get(name);
    if (child === undefined) {
      throw new ProximalError(
        "UNKNOWN_NAME",
        `No child module "${name}" on this ${this.constructor.name}.${didYouMean(name, this.childModules.keys())}`,
      );
    }
    this.childModules.delete(name);
    return child;
  }

  private checkNewName(name: string): void {
    if (name === "" || name.includes(".")) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `Module names must be non-empty and contain no ".", got "${name}". Nest modules to build dotted paths.`,
      );
    }
    if (this.ownParameters.has(name) || this.ownBuffers.has(name) || this.childModules.has(name)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `"${name}" is already registered on this ${this.constructor.name}. Pick a different name.`,
      );
    }
  }

  /** Direct children with their names, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.childModules];
  }

  /** This module and all descendants with dotted names ("" for this one), depth first. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.childModules) {
      out.push(...child.namedModules(prefix === "" ? name : `${prefix}.${name}`));
    }
    return out;
  }

  /**
   * Every parameter with its dotted name (`layers.0.weight`), in registration order. A tensor
   * registered twice (weight tying) is listed once, under its first name, as in PyTorch.
   */
  namedParameters(): [string, Tensor][] {
    return this.collect((m) => m.ownParameters, true);
  }

  /** Every buffer with its dotted name. */
  namedBuffers(): [string, Tensor][] {
    return this.collect((m) => m.ownBuffers, true);
  }

  /** The parameters, in the order of {@link Module.namedParameters} (what an optimizer takes). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  private collect(pick: (m: Module) => Map<string, Tensor>, dedupe: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [path, module] of this.namedModules()) {
      for (const [name, t] of pick(module)) {
        if (dedupe && seen.has(t)) continue;
        seen.add(t);
        out.push([path === "" ? name : `${path}.${name}`, t]);
      }
    }
    return out;
  }

  /**
   * The parameters an optimizer should update: those with `requiresGrad` (all of them, unless some
   * were frozen, as LoRA freezes the base model's). Trainers build their optimizer from this.
   */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  /** Number of scalar parameters (each shared tensor counted once). */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /**
   * Parameters and buffers by dotted name. The tensors are detached views sharing this module's
   * data (as PyTorch's `state_dict()`): clone them to keep a snapshot while training goes on.
   * Tied tensors appear under every name, so the dict loads into an untied copy too.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.collect((m) => m.ownParameters, false)) out[name] = t.detach();
    for (const [name, t] of this.collect((m) => m.ownBuffers, false)) out[name] = t.detach();
    return out;
  }

  /**
   * Copy values from `dict` into this module's parameters and buffers, in place (optimizers holding
   * the parameters keep working). Shapes must match; with `strict` (the default) the names must match
   * exactly, otherwise the missing and unexpected names are returned. Nothing is copied unless every
   * check passes ({@link Module.checkStateDict}).
   */
  loadStateDict(dict: Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const result = this.checkStateDict(dict, options);
    for (const [name, target] of this.stateTargets()) {
      const source = dict[name];
      if (source !== undefined && source.data !== target.data) target.data.set(source.data);
    }
    return result;
  }

  /**
   * What {@link Module.loadStateDict} would check, without copying: throws SHAPE_MISMATCH for a
   * tensor of another shape or dtype and, with `strict`, UNKNOWN_NAME for missing or unexpected names;
   * returns those names otherwise. Lets a caller loading several modules check them all first.
   */
  checkStateDict(dict: Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const targets = this.stateTargets();
    const missingKeys = [...targets.keys()].filter((name) => !(name in dict));
    const unexpectedKeys = Object.keys(dict).filter((name) => !targets.has(name));
    const mismatched: string[] = [];
    for (const [name, target] of targets) {
      const source = dict[name];
      if (source === undefined) continue;
      if (!shapesEqual(source.shape, target.shape) || source.dtype !== target.dtype) {
        mismatched.push(
          `"${name}": checkpoint ${source.dtype} ${formatShape(source.shape)}, module ${target.dtype} ${formatShape(target.shape)}`,
        );
      }
    }
    if (mismatched.length > 0) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `loadStateDict: ${mismatched.length} tensor(s) differ in shape or dtype: ${mismatched.join("; ")}. The checkpoint was saved from a different architecture; build the module with the same sizes.`,
      );
    }
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts: string[] = [];
      if (missingKeys.length > 0) parts.push(`missing: ${missingKeys.map((k) => `"${k}"`).join(", ")}`);
      if (unexpectedKeys.length > 0) {
        const hints = unexpectedKeys.map((k) => `"${k}"${didYouMean(k, missingKeys)}`);
        parts.push(`unexpected: ${hints.join(", ")}`);
      }
      throw new ProximalError(
        "UNKNOWN_NAME",
        `loadStateDict: names do not match (${parts.join("; ")}). Rename the entries, or pass { strict: false } to load only the matching ones.`,
      );
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Parameters and buffers under every name they are registered as (tied tensors more than once). */
  private stateTargets(): Map<string, Tensor> {
    return new Map([
      ...this.collect((m) => m.ownParameters, false),
      ...this.collect((m) => m.ownBuffers, false),
    ]);
  }

  /** Set training mode (`true`) or evaluation mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, module] of this.namedModules()) module.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)` (Dropout becomes the identity). */
  eval(): this {
    return this.train(false);
  }

  /** Clear the gradients of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }
}
