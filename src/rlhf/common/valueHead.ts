import { Linear } from "../../nn/linear.js";
import { Module } from "../../nn/module.js";
import type { Rng } from "../../random/rng.js";
import { reshape } from "../../tensor/ops.js";
import type { Tensor } from "../../tensor/tensor.js";
import { GPT, type GPTCache, type GPTConfig, type GPTForwardOptions } from "../gpt.js";

/**
 * A per-token value estimate `V(s_t)` read off the final hidden states, as TRL's `ValueHead`
 * (`summary`: Linear(nEmbd, 1) with bias), so the state dict reads `v_head.summary.weight/bias`.
 * TRL puts dropout (0.1) in front; here there is none, as elsewhere in the RLHF stack.
 * Initialised N(0, 0.02) with a zero bias, so early values are near 0.
 */
export class ValueHead extends Module {
  readonly summary: Linear;

  constructor(nEmbd: number, options: { rng: Rng; initializerRange?: number }) {
    super();
    this.summary = this.registerModule("summary", new Linear(nEmbd, 1, { rng: options.rng }));
    const std = options.initializerRange ?? 0.02;
    for (let i = 0; i < this.summary.weight.size; i++)
      this.summary.weight.values[i] = options.rng.normal(0, std);
    this.summary.bias?.values.fill(0);
  }

  /** hidden [batch, time, nEmbd] → values [batch, time] */
  forward(hidden: Tensor): Tensor {
    return reshape(this.summary.forward(hidden), hidden.shape.slice(0, -1));
  }
}

/** What {@link GPTWithValueHead.forward} returns. */
export interface GPTWithValueHeadOutput {
  /** [batch, time, vocabSize], or null when `computeLogits` is false. */
  logits: Tensor | null;
  /** `[batch, time]`: the value of the state after each token. */
  values: Tensor;
  hidden: Tensor;
  cache: GPTCache | null;
}

/**
 * A policy and value function sharing one GPT trunk (TRL's `AutoModelForCausalLMWithValueHead`):
 * the language-model logits and a {@link ValueHead} on the same final hidden states. Names are
 * `transformer.*` (the GPT) and `v_head.summary.*`.
 *
 * @example
 * const model = new GPTWithValueHead(GPT.fromSafetensors(bytes, { nHead: 12 }), { rng: new Rng(0) });
 * const { logits, values } = model.forward(ids); // [B, T, V], [B, T]
 */
export class GPTWithValueHead extends Module {
  readonly transformer: GPT;
  readonly v_head: ValueHead;

  constructor(gptOrConfig: GPT | GPTConfig, options: { rng: Rng }) {
    super();
    const gpt = gptOrConfig instanceof GPT ? gptOrConfig : new GPT(gptOrConfig, options);
    this.transformer = this.registerModule("transformer", gpt);
    this.v_head = this.registerModule(
      "v_head",
      new ValueHead(gpt.config.nEmbd, { rng: options.rng, initializerRange: gpt.config.initializerRange }),
    );
  }

  /** The GPT's outputs plus the value of each position, [batch, time]. */
  forward(ids: Tensor, options: GPTForwardOptions = {}): GPTWithValueHeadOutput {
    const { logits, hidden, cache } = this.transformer.forward(ids, options);
    return { logits, values: this.v_head.forward(hidden), hidden, cache };
  }
}
