import type { Tensor } from "../../tensor/tensor.js";
import type { GPT } from "../gpt.js";
import type { Tokenizer } from "../tokenizer.js";
import {
  type ReferencePolicy,
  referenceModel,
  referenceTensors,
  restoredReference,
} from "./referenceModel.js";
import { type OnStep, Trainer } from "./trainer.js";
import type { ResolvedTrainingConfig } from "./trainingConfig.js";

/** What a {@link ReferenceTrainer} is built from (the trainer's own arguments add its config). */
export interface ReferenceTrainerArgs<Row> {
  /** The policy (trained in place), usually the SFT model. */
  model: GPT;
  /**
   * The frozen reference. @defaultValue a frozen copy of `model` as it is when the trainer is built
   * (TRL), or, when `model` has LoRA adapters, `model` itself with the adapters off (no copy)
   */
  refModel?: GPT;
  tokenizer: Tokenizer;
  trainDataset: Row[];
  onStep?: OnStep;
}

/**
 * The supervised loop against a frozen reference π_ref, shared by the preference trainers that score
 * given responses under both models (DPO, IPO, KTO): it holds the policy and the reference, saves
 * the reference under `refModel.*` with the policy's GPT config, and a {@link Trainer.load} replaces
 * the reference with the saved one (a new frozen copy; the model passed in is not modified).
 */
export abstract class ReferenceTrainer<Row, C extends ResolvedTrainingConfig> extends Trainer<Row, C> {
  readonly tokenizer: Tokenizer;
  protected readonly policy: GPT;
  protected reference: ReferencePolicy;

  protected constructor(trainer: string, args: ReferenceTrainerArgs<Row>, config: C) {
    super(args.model, config, args.trainDataset, args.onStep);
    this.policy = args.model;
    this.reference = referenceModel(trainer, args.model, args.refModel);
    this.tokenizer = args.tokenizer;
  }

  /** The frozen reference; {@link Trainer.load} replaces it with the one saved in the checkpoint. */
  get refModel(): ReferencePolicy {
    return this.reference;
  }

  protected override checkpointJson(): Record<string, unknown> {
    return { gptConfig: this.policy.config };
  }

  protected override checkpointTensors(): Record<string, Tensor> {
    return referenceTensors(this.reference);
  }

  protected override restoreCheckpointTensors(tensors: Record<string, Tensor>, dir: string): () => void {
    const reference = restoredReference(this.reference, tensors, dir, this.name);
    return () => {
      this.reference = reference;
    };
  }
}
