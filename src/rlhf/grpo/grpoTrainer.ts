/**
 * The GRPO family as options of one trainer, for verifiable (programmatic) rewards:
 * - GRPO: Shao et al. 2024, DeepSeekMath, arXiv:2402.03300, §4.1 (eq. 3 objective, eq. 4 KL, Algorithm 1);
 * - Dr. GRPO: Liu et al. 2025, arXiv:2503.20783, §3;
 * - DAPO: Yu et al. 2025, arXiv:2503.14476, §3 (clip-higher, dynamic sampling, token-level loss,
 *   overlong filtering and soft punishment);
 * - GSPO: Zheng et al. 2025, arXiv:2507.18071, §4 (sequence ratio s_i and the GSPO-token variant);
 * - DCPO: Yang et al. 2025, arXiv:2509.02333, §3 (dynamic clipping, smooth advantage standardisation);
 * - RLOO: Ahmadian et al. 2024, arXiv:2402.14740; REINFORCE++: Hu et al. 2025, arXiv:2501.03262.
 *
 * Each differs from PPO in a few places, and each place is one option of {@link GRPOConfig}:
 * advantage estimator, importance ratio, clipping bounds, loss aggregation, KL placement, sampling.
 * The objective, per token of completion i of a group (loss = minus it, plus `β·KL_t` with KL in the loss):
 * ```
 * min(r_it · A_it, clip(r_it, low_it, high_it) · A_it)      (and ≥ c·A_it for A < 0 with dual-clip)
 * ```
 * then summed up by {@link aggregateLoss}.
 *
 * Follows TRL's `GRPOTrainer` (config names, reward functions, `num_iterations`, `steps_per_generation`,
 * `importance_sampling_level`, `mask_truncated_completions`) and verl's `core_algos.py` (estimators,
 * dual-clip, `loss_agg_mode`, DAPO's `filter_groups` and overlong buffer). Differs from TRL: the old
 * log-probs are always those {@link generate} returned (TRL recomputes them with a forward pass);
 * rewards are computed before the KL, so dynamic sampling filters on task rewards only.
 *
 * The objective is in `loss.ts` ({@link grpoPolicyLoss}), the advantages in `advantages.ts`. Reuses
 * from `rlhf/common`: the sequence batches, `responseLogProbs`, the KL estimators, the clipped
 * surrogate, {@link maskedWhiten}, the frozen reference and the checkpoint checks; and {@link generate}
 * (sampling), AdamW, {@link warmupThenCosine}, {@link clipGradNorm}, `io/checkpoint.ts`.
 */
import { ProximalError } from "../../errors.js";
import { addPrefix, loadCheckpoint, saveCheckpoint, withPrefix } from "../../io/checkpoint.js";
import { AdamW } from "../../optim/adam.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import { warmupThenCosine } from "../../optim/schedules.js";
import { Rng } from "../../random/rng.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { tokenKl } from "../common/kl.js";
import { responseLogProbs } from "../common/logProbs.js";
import { MetricWindow } from "../common/metricWindow.js";
import {
  contextLength,
  modelFromArchitecture,
  type PolicyModel,
  policyArchitecture,
} from "../common/policyModel.js";
import {
  defaultReference,
  type ReferencePolicy,
  referenceTensors,
  restoredReference,
} from "../common/referenceModel.js";
import { collateSequences, maskRows, padRows, subBatch, takeRows } from "../common/sequenceBatch.js";
import type { OnStep, TrainOptions } from "../common/trainer.js";
import {
  checkPromptOrder,
  checkSameConfig,
  checkSamePrompts,
  checkTrainerName,
  modelTensors,
} from "../common/trainerCheckpoint.js";
import { generate } from "../generate.js";
import type { Tokenizer } from "../tokenizer.js";
import {
  type DcpoPromptStatistics,
  dcpoAdvantages,
  drGrpoAdvantages,
  equalRewardGroups,
  grpoAdvantages,
  reinforcePlusPlusAdvantages,
  rlooAdvantages,
} from "./advantages.js";
import {
  GRPO_TRAINER_NAME,
  type GRPOCheckpointJson,
  parseCheckpointJson,
  promptsFingerprint,
  RESUMABLE_CONFIG_FIELDS,
} from "./checkpointJson.js";
import {
  type GRPOConfig,
  type GRPORewardFunction,
  type GRPORow,
  type ResolvedGRPOConfig,
  resolveGRPOConfig,
} from "./grpoConfig.js";
import { grpoPolicyLoss, maskedMean } from "./loss.js";
import { fillDynamicBatch, overlongPenalty } from "./sampling.js";

// ============================================================================================
// the trainer

/** Arguments of {@link GRPOTrainer}. */
export interface GRPOTrainerArgs {
  /** The policy, usually an SFT model: a {@link GPT} or a Llama-family model from a Hugging Face folder; trained in place. */
  model: PolicyModel;
  /**
   * The frozen reference of the KL term. {@link GRPOTrainer.load} replaces it with the reference saved
   * in the checkpoint (a new frozen copy; the model passed here is not modified).
   * @defaultValue a frozen copy of `model` taken at construction when `beta > 0` and `klPlacement` is
   * not "none" (when `model` has LoRA adapters, `model` itself with the adapters off, no copy:
   * `LoraBaseReference`); otherwise none is built
   */
  refModel?: PolicyModel;
  tokenizer: Tokenizer;
  /** Prompt rows (`{prompt}` plus any fields the reward functions read). */
  trainDataset: GRPORow[];
  /** One reward function or several, summed with `rewardWeights` (TRL `reward_funcs`). */
  rewardFunctions: GRPORewardFunction | GRPORewardFunction[];
  config?: GRPOConfig;
  /**
   * Called after the generation batch that crosses each `loggingSteps` optimizer steps (and after the
   * last) with the metrics averaged since the previous call; return false to stop.
   */
  onStep?: OnStep;
}

/** One sampled completion with its rewards. */
interface Completion {
  /** Index of the prompt row in the dataset. */
  row: number;
  promptIds: number[];
  /** Generated ids, the stop token included. */
  responseIds: number[];
  /** Log-probs of `responseIds` at generation time (the old policy). */
  logProbs: number[];
  /** Ran into `maxCompletionLength` without a stop token. */
  truncated: boolean;
  /** Each reward function's value. */
  rewards: number[];
  /** Weighted sum of `rewards` plus the overlong penalty: what the advantages see (before any KL). */
  reward: number;
}

/** Metrics of one {@link GRPOTrainer.step} (one generation batch), keyed `group/name`. */
export interface GRPOStepStats {
  /** Mean reward (weighted sum plus overlong penalty) over every completion drawn this step. */
  "rollout/reward": number;
  /** Mean number of completion tokens (stop token included) over every completion drawn. */
  "rollout/completionLength": number;
  /** Fraction of drawn completions cut off at `maxCompletionLength`. */
  "rollout/truncatedFraction": number;
  /** Fraction of drawn groups whose rewards were all equal (TRL `frac_reward_zero_std`). */
  "rollout/zeroStdFraction": number;
  /** Sampling rounds run (more than 1 only with dynamic sampling). */
  "rollout/generationRounds": number;
  /** Completions generated this step, over all rounds. */
  "rollout/samplesDrawn": number;
  /** Completions trained on. */
  "rollout/samplesUsed": number;
  /** Mean per-token KL of the sampled tokens to the reference (NaN without a reference). */
  "rollout/klToRef": number;
  /** Mean of the policy loss over the updates (NaN when there was nothing to train on). */
  "train/policyLoss": number;
  "train/loss": number;
  "train/clipFraction": number;
  "train/dualClipFraction": number;
  /** k3 estimate of KL(old ‖ new) over response tokens, mean over updates. */
  "train/approxKl": number;
  /** Mean entropy (nats) of the policy's next-token distribution over response tokens. */
  "train/entropy": number;
  "train/gradNorm": number;
  "train/learningRate": number;
  /** Optimizer steps taken so far. */
  "train/globalStep": number;
  /** Each reward function's mean, keyed by the function's name (`rollout/rewards/<name>`). */
  [key: `rollout/rewards/${string}`]: number;
}

/**
 * GRPO and its family (see the file header), critic-free RL on programmatic rewards. Each
 * {@link GRPOTrainer.step}: draw prompts → sample `numGenerations` completions each with
 * {@link generate} (keeping their log-probs as the old policy's) → score them with the reward
 * functions (+ DAPO's overlong penalty) → with dynamic sampling, drop equal-reward groups and sample
 * more ({@link fillDynamicBatch}) → reference log-probs if the KL is used → advantages
 * ({@link AdvantageEstimator}) → `numIterations` passes of `stepsPerGeneration` minibatches, each one
 * AdamW step on {@link grpoPolicyLoss}.
 *
 * Follows TRL's `GRPOTrainer` config and loop (generation batch = `perDeviceTrainBatchSize ·
 * stepsPerGeneration` completions, reused `numIterations` times) with verl's estimators and DAPO
 * recipe.
 *
 * Checkpoints: {@link GRPOTrainer.save} writes everything a run carries from one step to the next,
 * and {@link GRPOTrainer.load} into a trainer built with the same config and prompts continues it
 * bit-identically (same seed, same backend): the policy's state dict under its own names (so
 * {@link GRPOTrainer.loadModel} or `gpt.loadStateDict` reads it back), the AdamW moments and step
 * counts under `optimizer.*`, the reference under `refModel.*` (it is a copy of the policy at
 * construction, which a resumed trainer no longer has, so it is saved rather than rebuilt), and in
 * `model.json` the config, `globalStep`, `generationStep`, the sampling {@link Rng}'s state, the
 * prompt order and position in it, and DCPO's per-prompt statistics. Export the policy as a Hugging
 * Face folder with `savePretrained(trainer.model, dir)` (GPT-2 or Llama layout).
 *
 * @example
 * const trainer = new GRPOTrainer({
 *   model: sft, tokenizer, trainDataset: prompts.map((prompt) => ({ prompt })),
 *   rewardFunctions: [exactMatch, formatReward], config: { numGenerations: 8, maxCompletionLength: 8, maxSteps: 100 },
 * });
 * trainer.train();
 */
export class GRPOTrainer {
  readonly model: PolicyModel;
  readonly tokenizer: Tokenizer;
  readonly config: ResolvedGRPOConfig;
  readonly optimizer: AdamW;
  /** Optimizer steps taken (counting the planned steps of a batch that had nothing to train on). */
  globalStep = 0;
  /** Generation batches drawn. */
  generationStep = 0;
  private readonly trainDataset: GRPORow[];
  private readonly promptIds: number[][];
  private readonly rewardFunctions: GRPORewardFunction[];
  private readonly rewardNames: string[];
  private readonly rewardWeights: number[];
  private readonly onStep: OnStep | undefined;
  private readonly rng: Rng;
  /** Row order of the current pass over the prompts and the position in it. */
  private order: Int32Array;
  private cursor = 0;
  /** DCPO's per-prompt cumulative reward statistics, keyed by prompt text. */
  private readonly dcpoHistory = new Map<string, DcpoPromptStatistics>();
  /** The frozen reference (see {@link GRPOTrainer.refModel}); {@link GRPOTrainer.load} replaces it. */
  private reference: ReferencePolicy | null;

  constructor(args: GRPOTrainerArgs) {
    const c = resolveGRPOConfig(args.config);
    this.config = c;
    this.model = args.model;
    this.tokenizer = args.tokenizer;
    this.trainDataset = args.trainDataset;
    this.onStep = args.onStep;
    if (this.trainDataset.length === 0)
      throw new ProximalError("INVALID_ARGUMENT", "GRPOTrainer: the training dataset has no prompts.");
    this.rewardFunctions = Array.isArray(args.rewardFunctions)
      ? args.rewardFunctions
      : [args.rewardFunctions];
    if (this.rewardFunctions.length === 0)
      throw new ProximalError("INVALID_ARGUMENT", "GRPOTrainer: pass at least one reward function.");
    if (c.rewardWeights !== null && c.rewardWeights.length !== this.rewardFunctions.length) {
      throw new ProximalError(
        "INVALID_OPTION",
        `GRPOConfig: rewardWeights has ${c.rewardWeights.length} entries for ${this.rewardFunctions.length} reward functions. Give one weight per function, or null for 1 each.`,
      );
    }
    this.rewardWeights = c.rewardWeights ?? this.rewardFunctions.map(() => 1);
    this.rewardNames = this.rewardFunctions.map((f, i) => f.name || `reward${i}`);
    // prompts as every trainer here tokenizes them: bos + encode(prompt) (common/sequenceBatch.ts tokenizePair)
    const nPositions = contextLength(this.model);
    this.promptIds = this.trainDataset.map((row, i) => {
      if (typeof row?.prompt !== "string") {
        throw new ProximalError("INVALID_ARGUMENT", `GRPOTrainer: row ${i} has no string "prompt".`);
      }
      const ids = [this.tokenizer.bosTokenId, ...this.tokenizer.encode(row.prompt)];
      if (ids.length + c.maxCompletionLength > nPositions) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `GRPOTrainer: row ${i}'s prompt has ${ids.length} tokens; with maxCompletionLength ${c.maxCompletionLength} that exceeds the model's context length (${nPositions}). Shorten the prompt or lower maxCompletionLength.`,
        );
      }
      return ids;
    });
    const usesKl = c.beta > 0 && c.klPlacement !== "none";
    this.reference = usesKl ? (args.refModel ?? defaultReference(args.model)) : null;
    this.rng = new Rng(c.seed);
    this.order = this.rng.permutation(this.trainDataset.length);
    this.optimizer = new AdamW(this.model.trainableParameters(), {
      lr: c.learningRate,
      betas: c.adamBetas,
      eps: c.adamEpsilon,
      weightDecay: c.weightDecay,
    });
  }

  /** The frozen reference, or null when no KL is used. */
  get refModel(): ReferencePolicy | null {
    return this.reference;
  }

  /** Prompts per generation batch: `perDeviceTrainBatchSize · stepsPerGeneration / numGenerations`. */
  get promptsPerGeneration(): number {
    const c = this.config;
    return (c.perDeviceTrainBatchSize * c.stepsPerGeneration) / c.numGenerations;
  }

  /** Optimizer steps per generation batch: `stepsPerGeneration · numIterations`. */
  get stepsPerBatch(): number {
    return this.config.stepsPerGeneration * this.config.numIterations;
  }

  /**
   * Optimizer steps of a full run: `maxSteps`, or `ceil(numTrainEpochs · prompts / promptsPerGeneration)`
   * generation batches of {@link GRPOTrainer.stepsPerBatch} steps.
   */
  get totalSteps(): number {
    const c = this.config;
    if (c.maxSteps > 0) return c.maxSteps;
    const batches = Math.ceil((c.numTrainEpochs * this.trainDataset.length) / this.promptsPerGeneration);
    return batches * this.stepsPerBatch;
  }

  /**
   * Train until {@link GRPOTrainer.totalSteps} optimizer steps (continuing from `globalStep` after a
   * {@link GRPOTrainer.load}), until `options.untilStep`, or until `onStep` returns false:
   * {@link GRPOTrainer.step} after step (each a generation batch and its optimizer steps), and `onStep`
   * with the metrics averaged since its last call after the batch that crosses each `loggingSteps`
   * steps and after the last. Returns the last logged metrics.
   */
  train(options: TrainOptions = {}): Record<string, number> {
    const c = this.config;
    const totalSteps = this.totalSteps;
    const untilStep = Math.min(options.untilStep ?? totalSteps, totalSteps);
    const window = new MetricWindow();
    let samples = 0;
    let started = performance.now();
    let last: Record<string, number> = {};
    while (this.globalStep < untilStep) {
      const before = this.globalStep;
      const stats = this.step() as unknown as Record<string, number>;
      samples += stats["rollout/samplesDrawn"];
      window.add(stats);
      const crossed = Math.floor(this.globalStep / c.loggingSteps) > Math.floor(before / c.loggingSteps);
      if (crossed || this.globalStep >= totalSteps) {
        const seconds = (performance.now() - started) / 1000;
        last = window.means();
        last["train/globalStep"] = this.globalStep;
        last["time/samplesPerSecond"] = samples / Math.max(seconds, 1e-9);
        const keepGoing = this.onStep?.({ step: this.globalStep, totalSteps, metrics: last });
        window.clear();
        samples = 0;
        started = performance.now();
        if (keepGoing === false) break;
      }
    }
    return last;
  }

  /** One generation batch and its optimizer steps; returns its metrics. */
  step(): GRPOStepStats {
    const c = this.config;
    const G = c.numGenerations;
    const promptsWanted = this.promptsPerGeneration;

    // 1. sample and score, refilling with new prompts under dynamic sampling (DAPO §3.2)
    const drawn: Completion[] = [];
    const sampleRound = (): { groups: Completion[][]; rewards: number[][] } => {
      const completions = this.sampleCompletions(this.nextRows(promptsWanted));
      drawn.push(...completions);
      const groups = Array.from({ length: promptsWanted }, (_, g) => completions.slice(g * G, (g + 1) * G));
      return { groups, rewards: groups.map((group) => group.map((x) => x.reward)) };
    };
    let groups: Completion[][];
    let rounds = 1;
    if (c.dynamicSampling) {
      const filled = fillDynamicBatch(promptsWanted, c.maxGenerationRounds, sampleRound);
      groups = filled.groups;
      rounds = filled.rounds;
    } else {
      groups = sampleRound().groups;
    }
    this.generationStep++;
    const drawnRewards = drawn.map((x) => x.reward);
    const stats: GRPOStepStats = {
      "rollout/reward": mean1(drawnRewards),
      "rollout/completionLength": mean1(drawn.map((x) => x.responseIds.length)),
      "rollout/truncatedFraction": mean1(drawn.map((x) => (x.truncated ? 1 : 0))),
      "rollout/zeroStdFraction": mean1(equalRewardGroups(drawnRewards, G).map((e) => (e ? 1 : 0))),
      "rollout/generationRounds": rounds,
      "rollout/samplesDrawn": drawn.length,
      "rollout/samplesUsed": groups.length * G,
      "rollout/klToRef": Number.NaN,
      "train/policyLoss": Number.NaN,
      "train/loss": Number.NaN,
      "train/clipFraction": Number.NaN,
      "train/dualClipFraction": Number.NaN,
      "train/approxKl": Number.NaN,
      "train/entropy": Number.NaN,
      "train/gradNorm": Number.NaN,
      "train/learningRate": this.learningRateAt(this.globalStep),
      "train/globalStep": this.globalStep,
    };
    for (const [f, name] of this.rewardNames.entries())
      stats[`rollout/rewards/${name}`] = mean1(drawn.map((x) => x.rewards[f]));
    const completions = groups.flat();
    if (completions.length === 0) {
      // every group had equal rewards in every round: nothing to learn from; keep the schedule on plan
      this.globalStep = Math.min(this.globalStep + this.stepsPerBatch, this.totalSteps);
      stats["train/globalStep"] = this.globalStep;
      return stats;
    }

    // 2. the batch: left-padded prompts, right-padded completions, old log-probs from generation time
    const batch = collateSequences(
      completions.map((x) => x.promptIds),
      completions.map((x) => x.responseIds),
      this.tokenizer.padTokenId,
    );
    const mask = batch.responseMask; // [N, R]
    const [N, R] = mask.shape;
    const oldLogProbs = padRows(
      completions.map((x) => x.logProbs),
      R,
    );
    const reference = this.reference;
    const refLogProbs =
      reference === null ? null : noGrad(() => responseLogProbs(reference, batch, c.temperature).logProbs);
    const sampledKl = refLogProbs === null ? null : tokenKl(oldLogProbs, refLogProbs, mask, c.klEstimator);
    if (sampledKl !== null) stats["rollout/klToRef"] = maskedMean(sampledKl.values, mask.values);

    // 3. advantages [N, R]
    const advantages = this.advantages(completions, mask, c.klPlacement === "reward" ? sampledKl : null);

    // 4. the loss mask: overlong filtering drops truncated completions (DAPO §3.4)
    const lossMask =
      c.maskTruncatedCompletions && completions.some((x) => x.truncated)
        ? maskRows(
            mask,
            completions.map((x) => !x.truncated),
          )
        : mask;

    // 5. numIterations passes of stepsPerGeneration minibatches (GRPO Algorithm 1, μ iterations)
    const params = this.model.trainableParameters();
    const totals = {
      policyLoss: 0,
      loss: 0,
      clipFraction: 0,
      dualClipFraction: 0,
      approxKl: 0,
      entropy: 0,
      gradNorm: 0,
    };
    let updates = 0;
    const end = Math.min(this.globalStep + this.stepsPerBatch, this.totalSteps);
    for (let iteration = 0; iteration < c.numIterations && this.globalStep < end; iteration++) {
      const order = this.rng.permutation(N);
      const size = Math.ceil(N / c.stepsPerGeneration);
      for (let start = 0; start < N && this.globalStep < end; start += size) {
        const rows = order.subarray(start, Math.min(N, start + size));
        const minibatch = subBatch(batch, rows);
        const { logProbs, entropy } = responseLogProbs(this.model, minibatch, c.temperature);
        const out = grpoPolicyLoss(
          {
            logProbs,
            oldLogProbs: takeRows(oldLogProbs, rows),
            refLogProbs: refLogProbs === null ? null : takeRows(refLogProbs, rows),
            advantages: takeRows(advantages, rows),
            mask: takeRows(lossMask, rows),
          },
          c,
        );
        this.optimizer.learningRate = this.learningRateAt(this.globalStep);
        this.optimizer.zeroGrad();
        out.loss.backward();
        totals.gradNorm += c.maxGradNorm > 0 ? clipGradNorm(params, c.maxGradNorm) : Number.NaN;
        this.optimizer.step();
        this.globalStep++;
        totals.policyLoss += out.policyLoss;
        totals.loss += out.loss.item();
        totals.clipFraction += out.clipFraction;
        totals.dualClipFraction += out.dualClipFraction;
        totals.approxKl += out.approxKl;
        totals.entropy += entropy;
        updates++;
      }
    }
    // a short batch (dynamic sampling ran out of rounds) may have fewer minibatches than planned
    this.globalStep = end;
    for (const [key, value] of Object.entries(totals))
      (stats as unknown as Record<string, number>)[`train/${key}`] = value / updates;
    stats["train/globalStep"] = this.globalStep;
    return stats;
  }

  /**
   * Mean reward (each function and their weighted sum, plus the overlong penalty) and completion
   * length over `rows`, decoding greedily (`doSample: false`) unless told otherwise; sampling draws
   * from its own generator (`seed`, default the config's), so evaluating never changes training.
   */
  evaluate(
    rows: GRPORow[],
    options: { doSample?: boolean; batchSize?: number; seed?: number } = {},
  ): Record<string, number> {
    if (rows.length === 0) throw new ProximalError("INVALID_ARGUMENT", "GRPOTrainer.evaluate: no rows.");
    const batchSize = options.batchSize ?? 256;
    const rng = new Rng(options.seed ?? this.config.seed);
    const completions: Completion[] = [];
    for (let start = 0; start < rows.length; start += batchSize) {
      const chunk = rows.slice(start, start + batchSize);
      const ids = chunk.map((row) => [this.tokenizer.bosTokenId, ...this.tokenizer.encode(row.prompt)]);
      completions.push(...this.generateAndScore(chunk, ids, options.doSample ?? false, rng));
    }
    const out: Record<string, number> = {
      "eval/reward": mean1(completions.map((x) => x.reward)),
      "eval/completionLength": mean1(completions.map((x) => x.responseIds.length)),
      "eval/truncatedFraction": mean1(completions.map((x) => (x.truncated ? 1 : 0))),
    };
    for (const [f, name] of this.rewardNames.entries())
      out[`eval/rewards/${name}`] = mean1(completions.map((x) => x.rewards[f]));
    return out;
  }

  /**
   * Write a checkpoint of the run to `dir` (created if missing; see `saveCheckpoint`): what
   * {@link GRPOTrainer.load} needs to continue it exactly (listed in the class doc).
   */
  async save(dir: string): Promise<void> {
    const optimizerState = this.optimizer.getState();
    const tensors: Record<string, Tensor> = {
      ...this.model.stateDict(),
      ...addPrefix(optimizerState.tensors, "optimizer"),
    };
    if (this.reference !== null) Object.assign(tensors, referenceTensors(this.reference));
    const json: GRPOCheckpointJson = {
      trainer: GRPO_TRAINER_NAME,
      ...policyArchitecture(this.model),
      config: this.config,
      globalStep: this.globalStep,
      generationStep: this.generationStep,
      optimizer: optimizerState.json,
      rng: this.rng.getState(),
      order: Array.from(this.order),
      cursor: this.cursor,
      dcpoHistory: [...this.dcpoHistory.entries()],
      dataset: { rows: this.trainDataset.length, fingerprint: promptsFingerprint(this.trainDataset) },
      rewardFunctions: this.rewardNames,
      hasRefModel: this.reference !== null,
    };
    await saveCheckpoint(dir, { tensors, json: json as unknown as Record<string, unknown> });
  }

  /**
   * Restore a {@link GRPOTrainer.save} into this trainer, which must have been built with the same
   * config (every field but `loggingSteps`), the same prompts in the same order and a policy of the
   * same shape; then {@link GRPOTrainer.step} and {@link GRPOTrainer.train} continue the saved run
   * bit-identically. The policy is loaded in place; the reference is replaced by a new frozen copy
   * holding the saved one. A refused checkpoint (missing, malformed, another trainer's, another
   * config, prompts or architecture) changes nothing.
   */
  async load(dir: string): Promise<void> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, GRPO_TRAINER_NAME);
    const saved = parseCheckpointJson(json, dir);
    checkSameConfig(GRPO_TRAINER_NAME, saved.config, this.config, dir, RESUMABLE_CONFIG_FIELDS);
    const n = this.trainDataset.length;
    checkSamePrompts(GRPO_TRAINER_NAME, saved.dataset, n, promptsFingerprint(this.trainDataset), dir);
    checkPromptOrder(saved.order, saved.cursor, n, dir);
    if (saved.rewardFunctions.length !== this.rewardFunctions.length) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `GRPOTrainer.load: ${dir} was saved with ${saved.rewardFunctions.length} reward functions (${saved.rewardFunctions.join(", ")}), this trainer has ${this.rewardFunctions.length} (${this.rewardNames.join(", ")}). Pass the same reward functions.`,
      );
    }
    if (saved.hasRefModel !== (this.reference !== null)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${dir}: hasRefModel is ${saved.hasRefModel}, but the config ${this.reference === null ? "uses no" : "uses a"} reference model.`,
      );
    }
    // everything that can fail runs before the first change to this trainer: a throwaway AdamW over
    // the same parameters checks the optimizer state, and loadStateDict checks before it copies
    const reference =
      this.reference === null ? null : restoredReference(this.reference, tensors, dir, GRPO_TRAINER_NAME);
    const optimizerState = { tensors: withPrefix(tensors, "optimizer"), json: saved.optimizer };
    new AdamW(this.model.trainableParameters()).setState(optimizerState);
    this.model.loadStateDict(modelTensors(tensors));
    this.optimizer.setState(optimizerState);
    this.reference = reference;
    this.globalStep = saved.globalStep;
    this.generationStep = saved.generationStep;
    this.rng.setState(saved.rng);
    this.order = Int32Array.from(saved.order);
    this.cursor = saved.cursor;
    this.dcpoHistory.clear();
    for (const [prompt, statistics] of saved.dcpoHistory) this.dcpoHistory.set(prompt, statistics);
  }

  /**
   * The policy of a {@link GRPOTrainer.save} directory as a new {@link GPT} or {@link LlamaForCausalLM}
   * (its config and state dict; the optimizer state and the reference are left out), as
   * `SFTTrainer.loadModel` reads an SFT one.
   */
  static async loadModel(dir: string): Promise<PolicyModel> {
    const { tensors, json } = await loadCheckpoint(dir);
    checkTrainerName(json, dir, GRPO_TRAINER_NAME);
    const model = modelFromArchitecture(json, dir);
    model.loadStateDict(modelTensors(tensors));
    return model;
  }

  /** The next `count` row indices of the shuffled prompt order (reshuffled after each pass). */
  private nextRows(count: number): number[] {
    const rows: number[] = [];
    while (rows.length < count) {
      if (this.cursor >= this.order.length) {
        this.order = this.rng.permutation(this.trainDataset.length);
        this.cursor = 0;
      }
      rows.push(this.order[this.cursor++]);
    }
    return rows;
  }

  /** `numGenerations` sampled completions of each row, in contiguous groups, scored. */
  private sampleCompletions(rows: number[]): Completion[] {
    const G = this.config.numGenerations;
    const repeated = rows.flatMap((r) => new Array<number>(G).fill(r));
    return this.generateAndScore(
      repeated.map((r) => this.trainDataset[r]),
      repeated.map((r) => this.promptIds[r]),
      true,
      this.rng,
      repeated,
    );
  }

  /** Decode `promptIds` (of `rows`; dataset indices `rowIndices`) and score every completion. */
  private generateAndScore(
    rows: GRPORow[],
    promptIds: number[][],
    doSample: boolean,
    rng: Rng,
    rowIndices: number[] = rows.map(() => -1),
  ): Completion[] {
    const c = this.config;
    const out = generate(this.model, promptIds, {
      maxNewTokens: c.maxCompletionLength,
      doSample,
      temperature: c.temperature,
      topK: c.topK,
      topP: c.topP,
      eosTokenId: this.tokenizer.eosTokenId,
      padTokenId: this.tokenizer.padTokenId,
      rng,
    });
    const width = c.maxCompletionLength;
    return rows.map((row, b) => {
      const length = out.responseLengths[b];
      const responseIds = Array.from(out.responseIds.data.subarray(b * width, b * width + length));
      const logProbs = Array.from(out.logProbs.values.subarray(b * width, b * width + length));
      const truncated = responseIds[length - 1] !== this.tokenizer.eosTokenId;
      const text = this.tokenizer.decode(responseIds, { skipSpecialTokens: true });
      const rewards = this.rewardFunctions.map((f, i) => {
        const value = f(row.prompt, text, row);
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw new ProximalError(
            "INVALID_ARGUMENT",
            `GRPOTrainer: reward function "${this.rewardNames[i]}" returned ${String(value)} for prompt ${JSON.stringify(row.prompt)} and completion ${JSON.stringify(text)}. Reward functions must return finite numbers.`,
          );
        }
        return value;
      });
      let reward = 0;
      for (let i = 0; i < rewards.length; i++) reward += this.rewardWeights[i] * rewards[i];
      if (c.overlongBuffer > 0)
        reward += overlongPenalty(length, c.maxCompletionLength, c.overlongBuffer, c.overlongPenaltyFactor);
      return {
        row: rowIndices[b],
        promptIds: promptIds[b],
        responseIds,
        logProbs,
        truncated,
        rewards,
        reward,
      };
    });
  }

  /** Per-token advantages [N, R] of the configured estimator (KL in the reward already applied). */
  private advantages(completions: Completion[], mask: Tensor, rewardKl: Tensor | null): Tensor {
    const c = this.config;
    const G = c.numGenerations;
    const [N, R] = mask.shape;
    const beta = c.beta;
    if (c.advantageEstimator === "reinforce++" || c.advantageEstimator === "reinforce++_baseline") {
      return reinforcePlusPlusAdvantages(
        completions.map((x) => x.reward),
        mask,
        {
          tokenKl: rewardKl,
          klCoef: beta,
          gamma: c.gamma,
          groupSize: c.advantageEstimator === "reinforce++_baseline" ? G : null,
        },
      ).advantages;
    }
    // group estimators see r_i - β Σ_t KL_t with the KL in the reward (verl: per-token, then summed)
    const rewards = completions.map((x, b) => {
      if (rewardKl === null) return x.reward;
      let kl = 0;
      for (let t = 0; t < R; t++) kl += rewardKl.values[b * R + t];
      return x.reward - beta * kl;
    });
    let sequenceAdvantages: Float64Array;
    switch (c.advantageEstimator) {
      case "grpo":
        sequenceAdvantages = grpoAdvantages(rewards, G, c.advantageEpsilon);
        break;
      case "drgrpo":
        sequenceAdvantages = drGrpoAdvantages(rewards, G);
        break;
      case "rloo":
        sequenceAdvantages = rlooAdvantages(rewards, G);
        break;
      case "dcpo": {
        const keys = Array.from(
          { length: N / G },
          (_, g) => this.trainDataset[completions[g * G].row].prompt,
        );
        const out = dcpoAdvantages(
          rewards,
          G,
          keys.map((k) => this.dcpoHistory.get(k) ?? null),
        );
        for (const [g, key] of keys.entries()) this.dcpoHistory.set(key, out.statistics[g]);
        sequenceAdvantages = out.advantages;
        break;
      }
      default:
        throw new ProximalError(
          "INTERNAL",
          `GRPOTrainer: unhandled estimator ${c.advantageEstimator}. Please report a bug.`,
        );
    }
    const values = new Float32Array(N * R);
    for (let b = 0; b < N; b++)
      for (let t = 0; t < R; t++)
        values[b * R + t] = mask.values[b * R + t] === 0 ? 0 : sequenceAdvantages[b];
    return new Tensor(values, [N, R]);
  }

  private learningRateAt(step: number): number {
    const c = this.config;
    const total = this.totalSteps;
    return warmupThenCosine(step, total, Math.ceil(c.warmupRatio * total), c.learningRate, c.minLearningRate);
  }
}

function mean1(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return values.length === 0 ? Number.NaN : total / values.length;
}
