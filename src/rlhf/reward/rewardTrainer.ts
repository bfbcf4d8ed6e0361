import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { add, mean, mul, narrow, neg, softplus, square, sub } from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import type { PreferenceRow } from "../common/data.js";
import { GPTRewardModel } from "../common/rewardHead.js";
import { collatePairs, tokenizePair } from "../common/sequenceBatch.js";
import { type BatchLoss, type OnStep, Trainer } from "../common/trainer.js";
import type { GPTConfig } from "../gpt.js";
import type { Tokenizer } from "../tokenizer.js";
import { type ResolvedRewardConfig, type RewardConfig, resolveRewardConfig } from "./rewardConfig.js";

/** Options of {@link bradleyTerryLoss}. */
export interface BradleyTerryLossOptions {
  /**
   * Per-pair margin `m` subtracted inside the sigmoid, `-log σ(r_c - r_r - m)` (Touvron et al. 2023,
   * Llama 2, arXiv:2307.09288 eq. 2; TRL's `margin` column). @defaultValue no margin
   */
  margin?: Tensor | null;
  /** `c` of the centering term `+ c · mean((r_c + r_r)²)`, see {@link RewardConfig}. @defaultValue 0 */
  centerRewardsCoefficient?: number;
}

/**
 * The Bradley-Terry loss of a reward model on preference pairs (Ouyang et al. 2022,
 * arXiv:2203.02155 eq. 1), as TRL's `RewardTrainer.compute_loss`:
 * `mean(-log σ(r_chosen - r_rejected - margin)) + c · mean((r_chosen + r_rejected)²)`.
 * `-log σ(z)` is computed as `softplus(-z)`, which stays finite for large |z|.
 *
 * @param chosenRewards [batch]
 * @param rejectedRewards [batch]
 * @returns scalar
 * @example
 * bradleyTerryLoss(tensor([1]), tensor([1])).item(); // ln 2 ≈ 0.6931 (by hand: -log σ(0))
 */
export function bradleyTerryLoss(
  chosenRewards: Tensor,
  rejectedRewards: Tensor,
  options: BradleyTerryLossOptions = {},
): Tensor {
  let logits = sub(chosenRewards, rejectedRewards);
  if (options.margin) logits = sub(logits, options.margin);
  let loss = mean(softplus(neg(logits)));
  const c = options.centerRewardsCoefficient ?? 0;
  if (c !== 0) loss = add(loss, mul(mean(square(add(chosenRewards, rejectedRewards))), c));
  return loss;
}

/** Fraction of pairs whose chosen reward is strictly above the rejected one (TRL's `accuracy`). */
export function preferenceAccuracy(chosenRewards: Tensor, rejectedRewards: Tensor): number {
  let correct = 0;
  for (let i = 0; i < chosenRewards.size; i++) if (chosenRewards.data[i] > rejectedRewards.data[i]) correct++;
  return correct / Math.max(chosenRewards.size, 1);
}

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
