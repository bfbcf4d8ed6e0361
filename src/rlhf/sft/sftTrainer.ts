import type { PromptResponseRow } from "../common/data.js";
import { collatePairs, tokenizePair } from "../common/sequenceBatch.js";
import { type BatchLoss, type OnStep, Trainer } from "../common/trainer.js";
import { loadSavedGpt } from "../common/trainerCheckpoint.js";
import type { GPT } from "../gpt.js";
import type { Tokenizer } from "../tokenizer.js";
import { sftLoss } from "./loss.js";
import { type ResolvedSFTConfig, resolveSFTConfig, type SFTConfig } from "./sftConfig.js";

/** Arguments of {@link SFTTrainer}. */
export interface SFTTrainerArgs {
  /** The language model to fine-tune (trained in place). */
  model: GPT;
  tokenizer: Tokenizer;
  /** `{prompt, response}` rows, e.g. from `readJsonl(path, "promptResponse")`. */
  trainDataset: PromptResponseRow[];
  config?: SFTConfig;
  /** Called every `loggingSteps` steps with `train/loss` (mean per response token), `time/tokensPerSecond`, ... */
  onStep?: OnStep;
}

/**
 * Supervised fine-tuning on responses only: the mean next-token cross-entropy over response tokens,
 * `L = -Σ_t m_t log π(y_t | x, y_<t) / Σ_t m_t`, with the prompt in context but masked out of the loss
 * (Ouyang et al. 2022, arXiv:2203.02155 §3.5). Follows TRL's `SFTTrainer` with
 * `completion_only_loss=True`: the mean runs over every response token of the batch (not per
 * sequence). Tokenization and truncation: {@link tokenizePair}; batches are right-padded.
 *
 * @example
 * const trainer = new SFTTrainer({ model: gpt, tokenizer, trainDataset: rows, config: { maxSteps: 100 } });
 * trainer.train();
 * await trainer.save("runs/sft");
 */
export class SFTTrainer extends Trainer<PromptResponseRow, ResolvedSFTConfig> {
  protected readonly name = "SFTTrainer";
  readonly tokenizer: Tokenizer;
  private readonly gpt: GPT;

  constructor(args: SFTTrainerArgs) {
    super(args.model, resolveSFTConfig(args.config), args.trainDataset, args.onStep);
    this.gpt = args.model;
    this.tokenizer = args.tokenizer;
  }

  protected computeLoss(rows: PromptResponseRow[]): BatchLoss {
    const maxLength = Math.min(this.config.maxLength, this.gpt.config.nPositions);
    const pairs = rows.map((r) => tokenizePair(this.tokenizer, r.prompt, r.response, maxLength));
    const batch = collatePairs(pairs, this.tokenizer.padTokenId);
    const { logits } = this.gpt.forward(batch.inputIds, { attentionMask: batch.attentionMask });
    const loss = sftLoss(logits!, batch.inputIds, batch.responseMask);
    return { loss, tokens: batch.numTokens, metrics: { "train/responseTokens": batch.numResponseTokens } };
  }

  /**
   * The fine-tuned {@link GPT} of a {@link SFTTrainer.save} directory (weights only), e.g. to start PPO,
   * DPO or a reward model from.
   */
  static async loadModel(dir: string): Promise<GPT> {
    return loadSavedGpt(dir, "SFTTrainer");
  }

  protected override checkpointJson(): Record<string, unknown> {
    return { gptConfig: this.gpt.config };
  }
}
