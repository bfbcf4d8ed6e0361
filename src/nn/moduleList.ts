import { ProximalError } from "../errors.js";
import { Module } from "./module.js";

/**
 * An ordered list of child modules registered as "0", "1", ... (torch.nn.ModuleList), so their
 * parameters are named `<list name>.0.weight` and so on.
 *
 * @example
 * const layers = new ModuleList([new Linear(4, 8, { rng }), new Linear(8, 2, { rng })]);
 * layers.at(1).outFeatures; // 2
 */
export class ModuleList<M extends Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Add a module at the end; returns it. */
  append(module: M): M {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return module;
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): M {
    const m = this.items.at(index);
    if (m === undefined) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `ModuleList index ${index} is out of range for length ${this.items.length}.`,
      );
    }
    return m;
  }

  /** The modules in order, for `for (const layer of list)`. */
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
