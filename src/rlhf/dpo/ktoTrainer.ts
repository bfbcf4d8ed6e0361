import { narrow } from "../../tensor/ops.js";
import { noGrad, type Tensor } from "../../tensor/tensor.js";
import type { UnpairedPreferenceRow } from "../common/data.js";
import { sequenceLogProb, tokenLogProbs } from "../common/logProbs.js";
import { ReferenceTrainer, type ReferenceTrainerArgs } from "../common/referenceTrainer.js";
import { collatePairs, tokenizePair } from "../common/sequenceBatch.js";
import type { BatchLoss, OnStep } from "../common/trainer.js";
import { loadSavedGpt } from "../common/trainerCheckpoint.js";
import type { GPT } from "../gpt.js";
import { type KTOConfig, type ResolvedKTOConfig, resolveKTOConfig } from "./ktoConfig.js";
import { type KTOLogProbs, ktoLoss } from "./loss.js";

/** Arguments of {@link KTOTrainer}: {@link ReferenceTrainerArgs} with its rows and config. */
export interface KTOTrainerArgs extends ReferenceTrainerArgs<UnpairedPreferenceRow> {
  /** `{prompt, completion, label}` rows, e.g. from `readJsonl(path, "unpairedPreference")`. */
  trainDataset: UnpairedPreferenceRow[];
  config?: KTOConfig;
  /** Called every `loggingSteps` steps with `train/loss`, `train/kl`, `rewards/chosen`, `rewards/rejected`. */
  onStep?: OnStep;
}

/**
 * Kahneman-Tversky Optimization (Ethayarajh et al. 2024, arXiv:2402.01306) on unpaired
 * desirable/undesirable completions, following TRL's `KTOTrainer`: each batch also scores every
 * prompt with the previous row's completion (a rotation of the batch, as TRL's `_get_kl_dataset`)
 * under `noGrad` for the KL reference point; then {@link ktoLoss}.
 *
 * Logged as TRL: `train/kl` (z₀), `rewards/chosen` and `rewards/rejected` (mean implicit reward of
 * desirable and undesirable rows, NaN when the batch has none), `rewards/margin`.
 */
export class KTOTrainer extends ReferenceTrainer<UnpairedPreferenceRow, ResolvedKTOConfig> {
  protected readonly name = "KTOTrainer";

  constructor(args: KTOTrainerArgs) {
    super("KTOTrainer", args, resolveKTOConfig(args.config));
  }

  /** Sequence log-probs of `rows` and of their mismatched (prompt i, completion i-1) pairs. */
  logProbs(rows: UnpairedPreferenceRow[]): KTOLogProbs & { tokens: number } {
    const maxLength = Math.min(this.config.maxLength, this.policy.config.nPositions);
    const b = rows.length;
    const pairs = [
      ...rows.map((r) => tokenizePair(this.tokenizer, r.prompt, r.completion, maxLength)),
      ...rows.map((r, i) =>
        tokenizePair(this.tokenizer, r.prompt, rows[(i + b - 1) % b].completion, maxLength),
      ),
    ];
    const { inputIds, attentionMask, responseMask, numTokens } = collatePairs(
      pairs,
      this.tokenizer.padTokenId,
    );
    const matched = (t: Tensor) => narrow(t, 0, 0, b);
    const matchedIds = matched(inputIds);
    const matchedAttention = matched(attentionMask);
    const matchedResponse = matched(responseMask);
    const policy = sequenceLogProb(
      tokenLogProbs(this.policy, matchedIds, matchedAttention, matchedResponse),
      matchedResponse,
    );
    const { reference, policyKl, referenceKl } = noGrad(() => {
      const mismatched = (t: Tensor) => narrow(t, 0, b, b);
      const refAll = sequenceLogProb(
        tokenLogProbs(this.reference, inputIds, attentionMask, responseMask),
        responseMask,
      );
      const klResponse = mismatched(responseMask);
      const policyKl = sequenceLogProb(
        tokenLogProbs(this.policy, mismatched(inputIds), mismatched(attentionMask), klResponse),
        klResponse,
      );
      return { reference: narrow(refAll, 0, 0, b), policyKl, referenceKl: narrow(refAll, 0, b, b) };
    });
    return { policy, reference, policyKl, referenceKl, tokens: numTokens * 2 };
  }

  protected computeLoss(rows: UnpairedPreferenceRow[]): BatchLoss {
    const logProbs = this.logProbs(rows);
    const labels = rows.map((r) => r.label);
    const { loss, kl, rewards } = ktoLoss(logProbs, labels, this.config);
    const meanWhere = (label: boolean) => {
      let total = 0;
      let count = 0;
      labels.forEach((l, i) => {
        if (l === label) {
          total += rewards.data[i];
          count++;
        }
      });
      return count === 0 ? Number.NaN : total / count;
    };
    const chosen = meanWhere(true);
    const rejected = meanWhere(false);
    return {
      loss,
      tokens: logProbs.tokens,
      metrics: {
        "train/kl": kl,
        "rewards/chosen": chosen,
        "rewards/rejected": rejected,
        "rewards/margin": chosen - rejected,
      },
    };
  }

  /** The trained policy of a {@link KTOTrainer.save} directory as a new {@link GPT} (weights only). */
  static async loadModel(dir: string): Promise<GPT> {
    return loadSavedGpt(dir, "KTOTrainer");
  }
}
