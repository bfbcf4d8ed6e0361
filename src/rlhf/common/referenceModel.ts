/**
 * The frozen reference model π_ref of the KL-regularised trainers (PPO, DPO, IPO, KTO, GRPO): a copy of
 * the policy as training starts, with gradients off, that the policy is kept close to. A resumed
 * trainer no longer has the policy it was copied from, so checkpoints carry it under `refModel.*`.
 *
 * A policy with LoRA adapters (nn/lora.ts) needs no copy: its frozen base is the reference, so the
 * reference is a {@link LoraBaseReference}, the policy itself run with its adapters switched off, and
 * aligning a model costs one copy of its weights. Checkpoints then carry no `refModel.*` tensors (the
 * base weights are in the policy's own).
 */
import { ProximalError } from "../../errors.js";
import { addPrefix, withPrefix } from "../../io/checkpoint.js";
import { hasLora, loraAdapters, withLoraDisabled } from "../../nn/lora.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { CausalLM } from "../generate.js";
import type { GPTForwardOptions } from "../gpt.js";
import { cloneModel, type PolicyModel } from "./policyModel.js";

/**
 * The reference of a LoRA policy: the policy's own frozen base, i.e. the policy run with its adapters
 * disabled ({@link withLoraDisabled}). It holds no weights of its own.
 */
export class LoraBaseReference implements CausalLM {
  /** The LoRA policy whose base this is (a GPT or a Llama-family model). */
  readonly policy: PolicyModel;

  constructor(policy: PolicyModel) {
    if (!hasLora(policy)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "LoraBaseReference: the policy has no LoRA adapters, so its base would move with training. Use a frozen copy (frozenCopy) instead.",
      );
    }
    this.policy = policy;
  }

  /** The policy's forward pass with its adapters off: the base model's output. */
  forward(ids: Tensor, options?: GPTForwardOptions): ReturnType<PolicyModel["forward"]> {
    return withLoraDisabled(this.policy, () => this.policy.forward(ids, options));
  }

  /** The base weights (shared with the policy, not copied): the policy's parameters but the adapters'. */
  parameters(): Tensor[] {
    const adapterTensors = new Set([...loraAdapters(this.policy).values()].flatMap((a) => a.parameters()));
    return this.policy.parameters().filter((p) => !adapterTensors.has(p));
  }
}

/** What a trainer's frozen reference is: a frozen copy of the policy, or a LoRA policy's own base. */
export type ReferencePolicy = PolicyModel | LoraBaseReference;

/** A frozen copy of `model` (same config and weights, gradients off): the reference policy. */
export function frozenCopy<M extends PolicyModel>(model: M): M {
  const copy = cloneModel(model);
  for (const p of copy.parameters()) p.requireGrad(false);
  return copy;
}

/**
 * The frozen reference of a trainer: the one given (which must not be the policy itself, or it would
 * move with training); else, for a policy with LoRA adapters, its base ({@link LoraBaseReference});
 * else a frozen copy of the policy as it is now (TRL).
 */
export function referenceModel(
  trainer: string,
  model: PolicyModel,
  refModel: PolicyModel | undefined,
): ReferencePolicy {
  if (refModel === model) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${trainer}: refModel is the policy itself, so it would move with training. Leave refModel out to get a frozen copy.`,
    );
  }
  return refModel ?? defaultReference(model);
}

/**
 * The reference a trainer builds when none is given: for a policy with LoRA adapters its base
 * ({@link LoraBaseReference}, no copy), else a frozen copy of the policy as it is now.
 */
export function defaultReference(model: PolicyModel): ReferencePolicy {
  return hasLora(model) ? new LoraBaseReference(model) : frozenCopy(model);
}

/** The reference's tensors for a checkpoint, under `refModel.*` (none for a LoRA base: the policy's own hold it). */
export function referenceTensors(reference: ReferencePolicy): Record<string, Tensor> {
  return reference instanceof LoraBaseReference ? {} : addPrefix(reference.stateDict(), "refModel");
}

/**
 * The reference a checkpoint restores: a new frozen copy of `reference` holding the saved
 * `refModel.*` tensors ({@link savedReference}), or a LoRA base reference as it is (its weights are
 * restored with the policy's). Throws, changing nothing, if the saved tensors do not fit.
 */
export function restoredReference(
  reference: ReferencePolicy,
  tensors: Record<string, Tensor>,
  dir: string,
  trainer: string,
): ReferencePolicy {
  if (reference instanceof LoraBaseReference) return reference;
  return savedReference(reference, tensors, dir, trainer);
}

/**
 * The `refModel.*` tensors of a checkpoint as a new frozen copy of `like` (the reference a trainer
 * was built with, which is not modified): a resumed trainer no longer has the policy the reference
 * was copied from, so checkpoints carry it. Throws, changing nothing, if they are missing or do not fit.
 */
export function savedReference<M extends PolicyModel>(
  like: M,
  tensors: Record<string, Tensor>,
  dir: string,
  trainer: string,
): M {
  const saved = withPrefix(tensors, "refModel");
  if (Object.keys(saved).length === 0) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${dir}: model.safetensors has no refModel.* tensors, so it was not written by ${trainer}.save (or by a version before resuming was supported). Start a new run from its model with ${trainer}.loadModel.`,
    );
  }
  const reference = frozenCopy(like);
  reference.loadStateDict(saved);
  return reference;
}
