import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { mean, narrow } from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import type { PreferenceRow } from "../common/data.js";
import { preferenceAccuracy } from "../common/preferenceAccuracy.js";
import { GPTRewardModel } from "../common/rewardHead.js";
import { collatePairs, tokenizePair } from "../common/sequenceBatch.js";
import { type BatchLoss, type OnStep, Trainer } from "../common/trainer.js";
import type { GPTConfig } from "../gpt.js";
import type { Tokenizer } from "../tokenizer.js";
import { bradleyTerryLoss } from "./loss.js";
import { type ResolvedRewardConfig, type RewardConfig, resolveRewardConfig } from "./rewardConfig.js";

/** A {@link PreferenceRow} with an optional per-pair margin (TRL's `margin` column). */
export type RewardRow = PreferenceRow & { margin?: number };

/** Arguments of {@link RewardTrainer}. */
export interface RewardTrainerArgs {
  /** The reward model (trained in place), usually built on the SFT model's GPT. */
  model: GPTRewardModel;
  tokenizer: Tokenizer;
  /** `{prompt, chosen, rejected}` rows (optionally with `margin`), e.g. from `readJsonl(path, "preference")`. */
  trainDataset: RewardRow[];
  config?: RewardConfig;
  /** Called every `loggingSteps` steps with `train/loss`, `train/accuracy`, `rewards/chosen`, ... */
  onStep?: OnStep;
}

/**
 * Trains a {@link GPTRewardModel} on preference pairs with {@link bradleyTerryLoss}, as TRL's
 * `RewardTrainer`: chosen and rejected sequences go through the model in one batch of 2·B rows, the
 * reward is read at each sequence's last real token. The margin is used when rows carry one;
 * centering when `centerRewardsCoefficient` > 0. Logged: `train/accuracy` (chosen reward above
 * rejected), `rewards/chosen`, `rewards/rejected`, `rewards/margin` (batch means).
 *
 * @example
 * const rm = new GPTRewardModel(sftGpt, { rng: new Rng(0) });
 * new RewardTrainer({ model: rm, tokenizer, trainDataset: pairs, config: { numTrainEpochs: 1 } }).train();
 */
export class RewardTrainer extends Trainer<RewardRow, ResolvedRewardConfig> {
  protected readonly name = "RewardTrainer";
  readonly tokenizer: Tokenizer;
  private readonly rewardModel: GPTRewardModel;

  constructor(args: RewardTrainerArgs) {
    super(args.model, resolveRewardConfig(args.config), args.trainDataset, args.onStep);
    this.rewardModel = args.model;
    this.tokenizer = args.tokenizer;
    const withMargin = args.trainDataset.filter((r) => r.margin !== undefined).length;
    if (withMargin !== 0 && withMargin !== args.trainDataset.length) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `RewardTrainer: ${withMargin} of ${args.trainDataset.length} rows have a margin. Give every row a margin, or none.`,
      );
    }
  }

  /** Rewards [batch] of `rows`' chosen and rejected responses, in one forward pass. */
  rewards(rows: PreferenceRow[]): { chosen: Tensor; rejected: Tensor; tokens: number } {
    const maxLength = Math.min(this.config.maxLength, this.rewardModel.transformer.config.nPositions);
    const pairs = [
      ...rows.map((r) => tokenizePair(this.tokenizer, r.prompt, r.chosen, maxLength)),
      ...rows.map((r) => tokenizePair(this.tokenizer, r.prompt, r.rejected, maxLength)),
    ];
    const batch = collatePairs(pairs, this.tokenizer.padTokenId);
    const all = this.rewardModel.forward(batch.inputIds, { attentionMask: batch.attentionMask }); // [2B]
    return {
      chosen: narrow(all, 0, 0, rows.length),
      rejected: narrow(all, 0, rows.length, rows.length),
      tokens: batch.numTokens,
    };
  }

  protected computeLoss(rows: RewardRow[]): BatchLoss {
    const { chosen, rejected, tokens } = this.rewards(rows);
    const margin =
      rows[0].margin === undefined
        ? null
        : new Tensor(
            Float32Array.from(rows, (r) => r.margin ?? 0),
            [rows.length],
          );
    const loss = bradleyTerryLoss(chosen, rejected, {
      margin,
      centerRewardsCoefficient: this.config.centerRewardsCoefficient,
    });
    const chosenMean = mean(chosen).item();
    const rejectedMean = mean(rejected).item();
    return {
      loss,
      tokens,
      metrics: {
        "train/accuracy": preferenceAccuracy(chosen, rejected),
        "rewards/chosen": chosenMean,
        "rewards/rejected": rejectedMean,
        "rewards/margin": chosenMean - rejectedMean,
      },
    };
  }

  /** The trained {@link GPTRewardModel} of a {@link RewardTrainer.save} directory (weights only), e.g. for PPO. */
  static async loadModel(dir: string): Promise<GPTRewardModel> {
    const { tensors, json } = await Trainer.readModelCheckpoint(dir, "RewardTrainer");
    const model = new GPTRewardModel(json.gptConfig as GPTConfig, { rng: new Rng(0) });
    model.loadStateDict(tensors);
    return model;
  }

  protected override checkpointJson(): Record<string, unknown> {
    return { gptConfig: this.rewardModel.transformer.config };
  }
}
