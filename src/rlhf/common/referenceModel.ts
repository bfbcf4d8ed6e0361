/**
 * The frozen reference model π_ref of the KL-regularised trainers (PPO, DPO, IPO, KTO, GRPO): a copy of
 * the policy as training starts, with gradients off, that the policy is kept close to. A resumed
 * trainer no longer has the policy it was copied from, so checkpoints carry it under `refModel.*`.
 */
import { ProximalError } from "../../errors.js";
import { withPrefix } from "../../io/checkpoint.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { GPT } from "../gpt.js";
import { cloneModel, type PolicyModel } from "./policyModel.js";

/** A frozen copy of `model` (same config and weights, gradients off): the reference policy. */
export function frozenCopy<M extends PolicyModel>(model: M): M {
  const copy = cloneModel(model);
  for (const p of copy.parameters()) p.requireGrad(false);
  return copy;
}

/**
 * The frozen reference of a preference trainer: the one given (which must not be the policy itself,
 * or it would move with training), else a frozen copy of the policy as it is now (TRL).
 */
export function referenceModel(trainer: string, model: GPT, refModel: GPT | undefined): GPT {
  if (refModel === model) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${trainer}: refModel is the policy itself, so it would move with training. Leave refModel out to get a frozen copy.`,
    );
  }
  return refModel ?? frozenCopy(model);
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
