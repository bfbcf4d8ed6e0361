import { mean, narrow } from "../../tensor/ops.js";
import { noGrad } from "../../tensor/tensor.js";
import type { PreferenceRow } from "../common/data.js";
import { sequenceLogProb, tokenLogProbs } from "../common/logProbs.js";
import { preferenceAccuracy } from "../common/preferenceAccuracy.js";
import { ReferenceTrainer, type ReferenceTrainerArgs } from "../common/referenceTrainer.js";
import { collatePairs, tokenizePair } from "../common/sequenceBatch.js";
import type { BatchLoss, OnStep } from "../common/trainer.js";
import { loadSavedGpt } from "../common/trainerCheckpoint.js";
import type { GPT } from "../gpt.js";
import { type DPOConfig, type ResolvedDPOConfig, resolveDPOConfig } from "./dpoConfig.js";
import { dpoLoss, type PreferenceLogProbs } from "./loss.js";

/** Arguments of {@link DPOTrainer}: {@link ReferenceTrainerArgs} with its rows and config. */
export interface DPOTrainerArgs extends ReferenceTrainerArgs<PreferenceRow> {
  /** `{prompt, chosen, rejected}` rows, e.g. from `readJsonl(path, "preference")`. */
  trainDataset: PreferenceRow[];
  config?: DPOConfig;
  /** Called every `loggingSteps` steps with `train/loss`, `rewards/chosen`, `rewards/margin`, ... */
  onStep?: OnStep;
}

/**
 * Direct Preference Optimization (Rafailov et al. 2023, arXiv:2305.18290, eq. 7)
 * and IPO (Azar et al. 2023, arXiv:2310.12036) on a {@link GPT}, following TRL's `DPOTrainer`:
 * chosen and rejected sequences of a batch run through the policy in one pass of 2·B rows and
 * through the frozen reference under `noGrad`; sequence log-probs are the sums of response-token
 * log-probs ({@link tokenLogProbs}), length-averaged for IPO; then {@link dpoLoss}.
 *
 * Logged as TRL: `rewards/chosen`, `rewards/rejected` (implicit rewards `β (log π - log π_ref)`),
 * `rewards/accuracy` (chosen above rejected), `rewards/margin`, `logps/chosen`, `logps/rejected`.
 *
 * @example
 * const trainer = new DPOTrainer({ model: sftGpt, tokenizer, trainDataset: pairs, config: { beta: 0.1 } });
 * trainer.train();
 */
export class DPOTrainer extends ReferenceTrainer<PreferenceRow, ResolvedDPOConfig> {
  protected readonly name = "DPOTrainer";

  constructor(args: DPOTrainerArgs) {
    super("DPOTrainer", args, resolveDPOConfig(args.config));
  }

  /** Sequence log-probs of `rows`' chosen and rejected responses under the policy and the reference. */
  logProbs(rows: PreferenceRow[]): PreferenceLogProbs & { tokens: number } {
    const maxLength = Math.min(this.config.maxLength, this.policy.config.nPositions);
    const pairs = [
      ...rows.map((r) => tokenizePair(this.tokenizer, r.prompt, r.chosen, maxLength)),
      ...rows.map((r) => tokenizePair(this.tokenizer, r.prompt, r.rejected, maxLength)),
    ];
    const { inputIds, attentionMask, responseMask, numTokens } = collatePairs(
      pairs,
      this.tokenizer.padTokenId,
    );
    const average = this.config.loss === "ipo";
    const policy = sequenceLogProb(
      tokenLogProbs(this.policy, inputIds, attentionMask, responseMask),
      responseMask,
      {
        average,
      },
    ); // [2B]
    const reference = noGrad(() =>
      sequenceLogProb(tokenLogProbs(this.reference, inputIds, attentionMask, responseMask), responseMask, {
        average,
      }),
    );
    const b = rows.length;
    return {
      policyChosen: narrow(policy, 0, 0, b),
      policyRejected: narrow(policy, 0, b, b),
      referenceChosen: narrow(reference, 0, 0, b),
      referenceRejected: narrow(reference, 0, b, b),
      tokens: numTokens * 2, // policy and reference passes
    };
  }

  protected computeLoss(rows: PreferenceRow[]): BatchLoss {
    const logProbs = this.logProbs(rows);
    const { loss, chosenRewards, rejectedRewards } = dpoLoss(logProbs, this.config);
    const chosen = mean(chosenRewards).item();
    const rejected = mean(rejectedRewards).item();
    return {
      loss,
      tokens: logProbs.tokens,
      metrics: {
        "rewards/chosen": chosen,
        "rewards/rejected": rejected,
        "rewards/accuracy": preferenceAccuracy(chosenRewards, rejectedRewards),
        "rewards/margin": chosen - rejected,
        "logps/chosen": mean(logProbs.policyChosen).item(),
        "logps/rejected": mean(logProbs.policyRejected).item(),
      },
    };
  }

  /** The trained policy of a {@link DPOTrainer.save} directory as a new {@link GPT} (weights only). */
  static async loadModel(dir: string): Promise<GPT> {
    return loadSavedGpt(dir, "DPOTrainer");
  }
}
