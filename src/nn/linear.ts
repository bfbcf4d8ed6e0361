import { ProximalError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import { linear } from "../tensor/ops.js";
import { type Tensor, zeros } from "../tensor/tensor.js";
import { orthogonal, pytorchLinearInit, zeros_ } from "./init.js";
import { Module } from "./module.js";

/**
 * How a layer's weights start:
 * - `"pytorch"` (default): torch.nn.Linear's own init, `U(-1/√in, 1/√in)` for weight and bias.
 * - `"orthogonal"`: orthogonal weight times `gain`, zero bias (CleanRL `layer_init`, SB3 `ortho_init`).
 * - `"none"`: zeros and no random draws, for weights set right after (a checkpoint about to be
 *   loaded, or a model with its own init scheme such as HF's `N(0, initializer_range)`).
 */
export type LinearInit = "pytorch" | "orthogonal" | "none";

/**
 * Something that changes a {@link Linear} layer's output, such as a LoRA adapter (`nn/lora.ts`):
 * given the layer's input `x` and its own output `y = x Wᵀ + b`, the output to use instead. Its child
 * modules are registered on the layer under their own names (`lora_A`, `lora_B`), so they appear in
 * the layer's parameters and state dict as PEFT names them (`q_proj.lora_A.weight`).
 */
export interface LinearAdapter extends Module {
  adapt(x: Tensor, y: Tensor): Tensor;
}

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Generator for the initial weights (required: every random draw is seeded). */
  rng: Rng;
  /** Learn an additive bias. @defaultValue true */
  bias?: boolean;
  /** Weight initialisation, see {@link LinearInit}. @defaultValue "pytorch" */
  init?: LinearInit;
  /** Gain of the `"orthogonal"` init (an error with `"pytorch"`). @defaultValue √2 (CleanRL) */
  gain?: number;
}

/**
 * Affine layer `y = x Wᵀ + b` with PyTorch's layout, `weight: [out, in]` and `bias: [out]`, so state
 * dicts move between the two without transposes.
 *
 * @example
 * const layer = new Linear(4, 2, { rng: new Rng(0) });
 * layer.forward(zeros([3, 4])).shape; // [3, 2]
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** [outFeatures, inFeatures] */
  readonly weight: Tensor;
  /** [outFeatures], or null without bias */
  readonly bias: Tensor | null;
  private attached: LinearAdapter | null = null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions) {
    super();
    for (const [name, value] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `Linear: ${name} must be a positive integer, got ${value}.`,
        );
      }
    }
    const init = options.init ?? "pytorch";
    if (options.gain !== undefined && init !== "orthogonal") {
      throw new ProximalError(
        "INVALID_OPTION",
        `Linear: gain (${options.gain}) only applies to init "orthogonal", but init is "${init}". Drop gain or set init: "orthogonal".`,
      );
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter("weight", zeros([outFeatures, inFeatures]));
    this.bias = options.bias === false ? null : this.registerParameter("bias", zeros([outFeatures]));
    switch (init) {
      case "pytorch":
        pytorchLinearInit(this.weight, this.bias, options.rng);
        break;
      case "orthogonal":
        orthogonal(this.weight, options.gain ?? Math.SQRT2, options.rng);
        if (this.bias !== null) zeros_(this.bias);
        break;
      case "none":
        break;
      default:
        init satisfies never;
        throw new ProximalError(
          "INVALID_OPTION",
          `Linear: unknown init "${init as string}". Use "pytorch", "orthogonal" or "none".`,
        );
    }
  }

  /** x [..., inFeatures] -> [..., outFeatures], through the adapter when one is attached. */
  forward(x: Tensor): Tensor {
    const y = linear(x, this.weight, this.bias);
    return this.attached === null ? y : this.attached.adapt(x, y);
  }

  /** The attached adapter, or null. */
  get adapter(): LinearAdapter | null {
    return this.attached;
  }

  /**
   * Attach `adapter` (its children become this layer's children), or detach the current one with
   * null. A layer holds at most one adapter: detach before attaching another.
   */
  setAdapter(adapter: LinearAdapter | null): void {
    if (adapter !== null && this.attached !== null) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "Linear.setAdapter: this layer already has an adapter. Detach it first with setAdapter(null) (or mergeLora/unloadLora).",
      );
    }
    if (this.attached !== null) {
      for (const [name] of this.attached.namedChildren()) this.unregisterModule(name);
    }
    if (adapter !== null) {
      for (const [name, child] of adapter.namedChildren()) this.registerModule(name, child);
    }
    this.attached = adapter;
  }
}
