/**
 * Behaviour cloning: supervised learning of the expert's actions from its states (Pomerleau 1991,
 * "Efficient training of artificial neural networks for autonomous navigation"; the baseline of Ross
 * et al. 2011, https://arxiv.org/abs/1011.0686, §2, whose analysis shows its failure under
 * distribution shift: errors compound as O(T²ε) because the learner visits states the expert never
 * showed it).
 *
 * - Loss: {@link negativeLogLikelihoodLoss} (cross-entropy for Discrete actions, Gaussian
 *   log-likelihood for Box) or {@link meanSquaredActionLoss} (`lossType: "mse"`).
 * - Held-out validation: a fraction of the *episodes* (never of the transitions, which are
 *   correlated within an episode and would leak) is kept out of training; its loss is reported
 *   every epoch, and training stops after `patience` epochs without improvement, with the weights of
 *   the best epoch restored.
 * - One update is one epoch over the training episodes; one "timestep" is one demonstration
 *   transition trained on, so `totalTimesteps` is the budget in samples (epochs × training pairs),
 *   as the `imitation` library's BC counts `n_batches × batch_size`.
 *
 * Defaults follow the `imitation` library's `bc.BC` (Adam 1e-3, batch 32, entropy weight 1e-3);
 * the policy is PPO's {@link ActorCriticPolicy}, so a BC model evaluates, plays and loads as a PPO
 * one does (and can initialise PPO by its weights).
 */
import { ProximalError } from "../../errors.js";
import { addPrefix, withPrefix } from "../../io/checkpoint.js";
import { Rng } from "../../random/rng.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { AlgorithmLearnOptions } from "../common/algorithm.js";
import type { EnvInput, LoadOptions, UpdateStats } from "../common/onPolicyAlgorithm.js";
import { checkInteger, loadAlgorithm, yieldToEventLoop } from "../common/onPolicyAlgorithm.js";
import type { DemonstrationSource, PolicyLearnerOptions } from "./common/policyLearner.js";
import {
  PolicyLearner,
  resolveDemonstrations,
  savableOptions,
  snapshotWeights,
} from "./common/policyLearner.js";
import type { Demonstrations, Transitions } from "./demonstrations.js";
import { transitionsOf } from "./demonstrations.js";

/** Options specific to {@link BC}; shared fields live in {@link PolicyLearnerOptions}. */
export interface BCOptions extends PolicyLearnerOptions {
  /** The expert's episodes, or the directory `proximal record` wrote them to (CLI: `--demos`). */
  demonstrations?: DemonstrationSource | null;
  /**
   * Fraction of the episodes held out for the validation loss (split by episode; at least one
   * episode when > 0). 0 trains on everything and turns early stopping off.
   * @defaultValue 0.2 (chosen: an 80/20 split; the `imitation` library has no validation)
   */
  validationFraction?: number;
  /**
   * Epochs without a lower validation loss before training stops (the best epoch's weights are then
   * restored). @defaultValue 5 (chosen; no reference default)
   */
  patience?: number;
}

/** The training and validation pairs of a dataset, split by episode with a generator of the seed. */
export function splitByEpisode(
  demos: Demonstrations,
  validationFraction: number,
  seed: number,
): { train: Transitions; validation: Transitions; validationEpisodes: number[] } {
  const episodes = demos.episodeSteps.length;
  let validationCount = validationFraction > 0 ? Math.max(1, Math.round(episodes * validationFraction)) : 0;
  if (validationCount > 0 && episodes < 2) {
    throw new ProximalError(
      "INVALID_OPTION",
      `validationFraction ${validationFraction} needs at least 2 episodes to hold one out, but the demonstrations have ${episodes}. Record more episodes, or set validationFraction 0.`,
    );
  }
  validationCount = Math.min(validationCount, episodes - 1);
  // a generator of its own, so the split is the same however far training has gone (resume)
  const order = Array.from(new Rng(seed).permutation(episodes));
  const validationEpisodes = order.slice(0, validationCount).sort((a, b) => a - b);
  const trainEpisodes = order.slice(validationCount).sort((a, b) => a - b);
  return {
    train: transitionsOf(demos, trainEpisodes),
    validation: transitionsOf(demos, validationEpisodes),
    validationEpisodes,
  };
}

/**
 * Behaviour cloning with a held-out validation loss and early stopping.
 *
 * @example
 * const demos = await recordDemonstrations(expert, make("CartPole-v1"), { episodes: 10 });
 * const model = new BC("CartPole-v1", { demonstrations: demos, seed: 0 });
 * await model.learn({ totalTimesteps: 100_000 });
 */
export class BC extends PolicyLearner {
  readonly algorithmName = "BC";
  readonly options: BCOptions;
  readonly validationFraction: number;
  readonly patience: number;
  /** Lowest validation loss so far (Infinity before the first epoch). */
  bestValidationLoss = Number.POSITIVE_INFINITY;
  /** Epochs since the validation loss last improved. */
  epochsSinceBest = 0;
  /** Whether the last `learn` ended by early stopping. */
  stoppedEarly = false;
  private bestWeights: Record<string, Tensor> | null = null;
  private demonstrations: Demonstrations | null = null;

  constructor(env: EnvInput, options: BCOptions = {}) {
    super(env, options);
    this.options = savableOptions(options);
    this.validationFraction = options.validationFraction ?? 0.2;
    if (!(this.validationFraction >= 0 && this.validationFraction < 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `validationFraction must be in [0, 1), got ${this.validationFraction}. Try 0.2.`,
      );
    }
    this.patience = options.patience ?? 5;
    checkInteger(this.patience, "patience", 1);
    if (
      options.demonstrations !== undefined &&
      options.demonstrations !== null &&
      typeof options.demonstrations !== "string"
    ) {
      this.demonstrations = options.demonstrations;
    }
  }

  /**
   * Train for `totalTimesteps` demonstration samples (whole epochs), or until the validation loss
   * has not improved for `patience` epochs; the best epoch's weights are kept at the end.
   */
  async learn(options: AlgorithmLearnOptions): Promise<this> {
    const totalTimesteps = options.totalTimesteps;
    if (totalTimesteps === undefined) {
      throw new ProximalError(
        "INVALID_OPTION",
        "BC trains to a budget of samples: pass totalTimesteps, not totalEpisodes.",
      );
    }
    checkInteger(totalTimesteps, "totalTimesteps", 1);
    if (options.resetNumTimesteps ?? true) {
      this.numTimesteps = 0;
      this.iteration = 0;
      this.bestValidationLoss = Number.POSITIVE_INFINITY;
      this.epochsSinceBest = 0;
      this.bestWeights = null;
    }
    this.demonstrations ??= await resolveDemonstrations(this.options.demonstrations, this.spaces, "BC");
    const { train, validation } = splitByEpisode(this.demonstrations, this.validationFraction, this.seed);
    if (train.size === 0) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "The demonstrations' training episodes hold no steps. Record longer episodes.",
      );
    }
    const validating = validation.size > 0;
    const start = performance.now();
    const startTimesteps = this.numTimesteps;
    this.stoppedEarly = false;
    while (this.numTimesteps < totalTimesteps) {
      const trainLoss = this.fitEpoch(train);
      this.numTimesteps += train.size;
      this.iteration++;
      const stats: UpdateStats = { "train/loss": trainLoss, "train/learningRate": this.learningRate };
      if (!Number.isFinite(trainLoss)) {
        throw new ProximalError(
          "NUMERICAL_ERROR",
          `BC: the loss became ${trainLoss} at epoch ${this.iteration}. Lower learningRate.`,
        );
      }
      if (validating) {
        const validationLoss = this.datasetLoss(validation);
        if (validationLoss < this.bestValidationLoss) {
          this.bestValidationLoss = validationLoss;
          this.bestWeights = snapshotWeights(this.policy.stateDict());
          this.epochsSinceBest = 0;
        } else {
          this.epochsSinceBest++;
        }
        stats["train/validationLoss"] = validationLoss;
        stats["train/bestValidationLoss"] = this.bestValidationLoss;
        stats["train/epochsSinceBest"] = this.epochsSinceBest;
      }
      this.stoppedEarly = validating && this.epochsSinceBest >= this.patience;
      const all: UpdateStats = {
        ...this.timeStats(start, startTimesteps),
        ...stats,
      };
      // the best weights are restored before the last report, so an evaluation there sees them
      const finished = this.stoppedEarly || this.numTimesteps >= totalTimesteps;
      if (finished && this.bestWeights !== null) this.policy.loadStateDict(snapshotWeights(this.bestWeights));
      if (options.onUpdate !== undefined && (await options.onUpdate(all)) === false) break;
      if (this.stoppedEarly) break;
      await yieldToEventLoop();
    }
    return this;
  }

  protected override extraTensors(): Record<string, Tensor> {
    return this.bestWeights === null ? {} : addPrefix(this.bestWeights, "best");
  }

  protected override restoreExtraTensors(tensors: Record<string, Tensor>): void {
    const best = withPrefix(tensors, "best");
    this.bestWeights = Object.keys(best).length === 0 ? null : best;
  }

  override trainingState(): Record<string, unknown> {
    return {
      ...super.trainingState(),
      // JSON has no Infinity: null before the first validation
      bestValidationLoss: Number.isFinite(this.bestValidationLoss) ? this.bestValidationLoss : null,
      epochsSinceBest: this.epochsSinceBest,
    };
  }

  override restoreTrainingState(state: Record<string, unknown>): void {
    super.restoreTrainingState(state);
    this.bestValidationLoss =
      typeof state.bestValidationLoss === "number" ? state.bestValidationLoss : Number.POSITIVE_INFINITY;
    this.epochsSinceBest = Number(state.epochsSinceBest ?? 0);
  }

  /** Rebuild a BC model saved with `save(dir)` (its demonstrations are needed only to train further). */
  static load(dir: string, options: LoadOptions = {}): Promise<BC> {
    return loadAlgorithm((env, opts) => new BC(env, opts as BCOptions), dir, options);
  }
}
