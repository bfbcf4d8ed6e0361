import { ProximalError } from "../errors.js";
import type { Rng } from "../random/rng.js";
import { gelu, linearAct, relu, tanh } from "../tensor/ops.js";
import type { Tensor } from "../tensor/tensor.js";
import { Linear, type LinearInit } from "./linear.js";
import { Module } from "./module.js";
import { ModuleList } from "./moduleList.js";

/** Elementwise activations an {@link MLP} can use. `"gelu"` is the tanh form (GPT-2). */
export type Activation = "tanh" | "relu" | "gelu";

/** Apply an {@link Activation} by name. */
export function applyActivation(x: Tensor, activation: Activation): Tensor {
  switch (activation) {
    case "tanh":
      return tanh(x);
    case "relu":
      return relu(x);
    case "gelu":
      return gelu(x);
    default:
      activation satisfies never;
      throw new ProximalError(
        "INVALID_OPTION",
        `Unknown activation "${activation as string}". Use "tanh", "relu" or "gelu".`,
      );
  }
}

/** Options of {@link MLP}. */
export interface MLPOptions {
  /** Generator for the initial weights. */
  rng: Rng;
  /** Activation after every hidden layer. @defaultValue "tanh" (SB3 and CleanRL PPO) */
  activation?: Activation;
  /** Activation after the last layer; none when omitted (logits, values, means). */
  outputActivation?: Activation;
  /** Weight initialisation of every layer. @defaultValue "pytorch" */
  init?: LinearInit;
  /** Orthogonal gain of the hidden layers (init "orthogonal" only). @defaultValue √2 */
  gain?: number;
  /**
   * Orthogonal gain of the last layer (init "orthogonal" only): 0.01 for a policy head, 1 for a
   * value head (CleanRL `ppo.py`, SB3 `ActorCriticPolicy`). @defaultValue 1
   */
  outputGain?: number;
}

/**
 * Multi-layer perceptron: `Linear -> activation` for each hidden size, then a final `Linear`.
 * `sizes` lists every width, input first: `[4, 64, 64, 2]` is two hidden layers of 64. Layers are
 * named `layers.0`, `layers.1`, ... (so `layers.0.weight` in the state dict).
 *
 * @example
 * const policy = new MLP([4, 64, 64, 2], { rng: new Rng(1), init: "orthogonal", outputGain: 0.01 });
 * policy.forward(zeros([8, 4])).shape; // [8, 2]
 */
export class MLP extends Module {
  readonly layers: ModuleList<Linear>;
  readonly activation: Activation;
  readonly outputActivation: Activation | undefined;

  constructor(sizes: number[], options: MLPOptions) {
    super();
    if (sizes.length < 2) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `MLP needs at least an input and an output size, got sizes [${sizes.join(", ")}]. Example: [4, 64, 64, 2].`,
      );
    }
    const init = options.init ?? "pytorch";
    if (init !== "orthogonal" && (options.gain !== undefined || options.outputGain !== undefined)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `MLP: gain and outputGain only apply to init "orthogonal", but init is "${init}". Drop them or set init: "orthogonal".`,
      );
    }
    this.activation = options.activation ?? "tanh";
    this.outputActivation = options.outputActivation;
    this.layers = this.registerModule("layers", new ModuleList<Linear>());
    for (let i = 0; i + 1 < sizes.length; i++) {
      const last = i + 2 === sizes.length;
      const gain =
        init === "orthogonal" ? (last ? (options.outputGain ?? 1) : (options.gain ?? Math.SQRT2)) : undefined;
      this.layers.append(new Linear(sizes[i], sizes[i + 1], { rng: options.rng, init, gain }));
    }
  }

  /**
   * x [..., sizes[0]] -> [..., sizes.at(-1)]. A layer followed by relu or tanh runs as one fused op
   * (`linearAct`: the same values as the layer then the activation), unless an adapter (LoRA) is
   * attached, which needs the layer's own output.
   */
  forward(x: Tensor): Tensor {
    let h = x;
    const n = this.layers.length;
    for (let i = 0; i < n; i++) {
      const layer = this.layers.at(i);
      const activation = i + 1 < n ? this.activation : this.outputActivation;
      if (activation !== undefined && activation !== "gelu" && layer.adapter === null) {
        h = linearAct(h, layer.weight, layer.bias, activation);
      } else {
        h = layer.forward(h);
        if (activation !== undefined) h = applyActivation(h, activation);
      }
    }
    return h;
  }
}
