/**
 * REINFORCE, the Monte-Carlo policy gradient (Williams 1992, https://doi.org/10.1007/BF00992696;
 * Sutton & Barto 2018, §13.3-13.4, with its two usual tricks, a baseline and reward-to-go):
 * ```
 * ∇J ≈ (1/N) Σ_n Σ_t (G_t^n - b) ∇ log π(a_t^n | s_t^n)
 * G_t = Σ_{t'≥t} γ^{t'-t} r_{t'}      (reward-to-go, trick 2 "分配合适的分数")
 * G_t = G_0 for every t              (rewardToGo: false, the plain R(τ) weight of eq. "∇R̄_θ")
 * b   = 0 | running mean of returns | V(s_t)            (trick 1 "增加基线")
 * ```
 * Returns are true episode returns: every update trains on whole episodes that finished since the
 * last update, so nothing is bootstrapped except time-limit truncations, which (with the learned
 * `"value"` baseline) add `γ·V(final observation)` to their last reward, as the other algorithms do.
 * Without a value function a truncated episode's return is the sum it collected.
 *
 * Collection: all `numEnvs` envs keep stepping; an update happens once `episodesPerUpdate` episodes
 * have finished, and trains on exactly those. Episodes still running carry over into the next
 * update, so their first steps were sampled by a slightly older policy; with `numEnvs: 1` and
 * `episodesPerUpdate: 1` each update is one fresh episode, as in Williams's algorithm
 * (and PyTorch's `examples/reinforcement_learning/reinforce.py`).
 *
 * The discounted returns come from `discountedReturns` (`computeGae` with λ = 1 and zero values:
 * SB3's `buffers.py` notes λ = 1 is the Monte-Carlo estimate). Not SB3 (which has no REINFORCE);
 * the network is {@link OnPolicyAlgorithm}'s actor-critic policy, whose critic is used only by the
 * `"value"` baseline. Env handling, the learn loop, `predict` and checkpoints are the base class's.
 */

import { ProximalError } from "../errors.js";
import type { ModelSource } from "../io/modelFiles.js";
import { Adam } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import * as ops from "../tensor/ops.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { discountedReturns, explainedVariance, normalizeInPlace } from "./common/gae.js";
import type { EnvInput, LoadOptions, OnPolicyOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { checkInteger, loadAlgorithm, OnPolicyAlgorithm } from "./common/onPolicyAlgorithm.js";

/** Baselines subtracted from the returns (Sutton & Barto 2018, §13.4). */
export type ReinforceBaseline = "none" | "mean" | "value";

/**
 * Options specific to {@link REINFORCE}. Of the shared fields, `nSteps`, `gaeLambda` and
 * `normalizeAdvantage` do not apply (whole episodes, Monte-Carlo returns, see `normalizeReturns`).
 * Changed defaults: `learningRate` 1e-3 (Adam), `maxGradNorm` Infinity (no clipping, as the paper).
 */
export interface REINFORCEOptions
  extends Omit<OnPolicyOptions, "nSteps" | "gaeLambda" | "normalizeAdvantage"> {
  /** Finished episodes per update (over all envs). @defaultValue numEnvs */
  episodesPerUpdate?: number;
  /**
   * Weight each step by its reward-to-go `G_t` (true) or by the whole episode's return `G_0`
   * (false). @defaultValue true (the "reward-to-go" form: Sutton & Barto 2018,
   * §13.3, eq. 13.8; OpenAI Spinning Up, "Don't let the past distract you")
   */
  rewardToGo?: boolean;
  /**
   * - `"none"`: weights are the returns themselves.
   * - `"mean"`: subtract a running mean of the returns (Sutton & Barto 2018, §13.4);
   *   an exponential average over updates, `b ← 0.95 b + 0.05 mean(G)` (the
   *   `running_reward` rate of PyTorch's `examples/reinforcement_learning/reinforce.py`), taken before the update so it does not depend on its actions.
   * - `"value"` (default): subtract a learned V(s_t) (the critic), trained by `vfCoef · mean((G - V)²)`.
   * @defaultValue "value"
   */
  baseline?: ReinforceBaseline;
  /**
   * Standardise the weights `G_t - b` over the batch (zero mean, unit std). With baseline "none"
   * this is the return normalisation of PyTorch's `examples/reinforcement_learning/reinforce.py`.
   * @defaultValue true
   */
  normalizeReturns?: boolean;
}

/** EMA rate of the "mean" baseline (PyTorch's `examples/reinforcement_learning/reinforce.py`:
 * `running_reward = 0.05 * ep_reward + 0.95 * running_reward`). */
const MEAN_BASELINE_RATE = 0.05;

/**
 * Per-step returns of one whole episode: reward-to-go `G_t = r_t + γ G_{t+1}` (via
 * `discountedReturns`), or `G_0` at every step when `rewardToGo` is false. `bootstrap` is
 * `V(final observation)` for a truncated episode (added as `γ·V` to the last reward), else 0.
 */
export function episodeReturns(
  rewards: Float32Array,
  gamma: number,
  rewardToGo: boolean,
  bootstrap = 0,
): Float32Array {
  const length = rewards.length;
  const withBootstrap = rewards.slice();
  if (length > 0) withBootstrap[length - 1] += gamma * bootstrap;
  const dones = new Uint8Array(length);
  if (length > 0) dones[length - 1] = 1;
  const returns = discountedReturns(withBootstrap, dones, 1, gamma);
  if (!rewardToGo) returns.fill(returns[0]);
  return returns;
}

/** `-(1/N) Σ_t log π(a_t|s_t) · ψ_t` over the steps of N episodes, ψ = G - b constant (Williams 1992; Sutton & Barto 2018, §13.4). */
export function reinforceLoss(logProb: Tensor, weights: Tensor, numEpisodes: number): Tensor {
  return ops.neg(ops.div(ops.sum(ops.mul(logProb, weights)), numEpisodes));
}

/** One episode as collected: flattened observations, actions, rewards, and how it ended. */
interface Episode {
  observations: number[]; // [length * obsSize]
  actions: number[]; // [length * actionWidth]
  rewards: number[]; // [length]
  /** The observation a truncated (not terminated) episode was cut at, for the value bootstrap. */
  truncatedAt: Float32Array | null;
}

function emptyEpisode(): Episode {
  return { observations: [], actions: [], rewards: [], truncatedAt: null };
}

/**
 * REINFORCE with reward-to-go, a baseline and (by default) normalised weights, on Adam.
 *
 * @example
 * const model = new REINFORCE("CartPole-v1", { numEnvs: 4, seed: 1 });
 * await model.learn({ totalTimesteps: 200_000 });
 */
export class REINFORCE extends OnPolicyAlgorithm {
  readonly algorithmName = "REINFORCE";
  readonly options: REINFORCEOptions;
  readonly episodesPerUpdate: number;
  readonly rewardToGo: boolean;
  readonly baseline: ReinforceBaseline;
  readonly normalizeReturns: boolean;
  /** Current value of the "mean" baseline (null before the first update). */
  meanBaseline: number | null = null;
  protected readonly optimizer: Adam;
  /** Episodes in progress, one per env (they carry over between updates). */
  private running: Episode[];
  /** Finished episodes waiting for the next update. */
  private finished: Episode[] = [];
  /** The observations the last collection ended on; anything else means `learn` reset the envs. */
  private collectedUpTo: Float32Array | null = null;

  constructor(env: EnvInput, options: REINFORCEOptions = {}) {
    for (const key of ["nSteps", "gaeLambda", "normalizeAdvantage"]) {
      if ((options as Record<string, unknown>)[key] !== undefined) {
        throw new ProximalError(
          "INVALID_OPTION",
          `REINFORCE has no ${key}: it trains on whole episodes with Monte-Carlo returns. Use episodesPerUpdate${key === "normalizeAdvantage" ? " and normalizeReturns" : ""} instead.`,
        );
      }
    }
    super(env, options, {
      learningRate: 1e-3,
      nSteps: 1, // unused: REINFORCE keeps whole episodes instead of the rollout buffer
      gamma: 0.99,
      gaeLambda: 1,
      entCoef: 0,
      vfCoef: 0.5,
      maxGradNorm: Number.POSITIVE_INFINITY,
      normalizeAdvantage: false,
    });
    this.options = options;
    this.episodesPerUpdate = options.episodesPerUpdate ?? this.env.numEnvs;
    checkInteger(this.episodesPerUpdate, "episodesPerUpdate", 1);
    this.rewardToGo = options.rewardToGo ?? true;
    this.baseline = options.baseline ?? "value";
    if (this.baseline !== "none" && this.baseline !== "mean" && this.baseline !== "value") {
      throw new ProximalError(
        "INVALID_OPTION",
        `baseline must be "none", "mean" or "value", got ${JSON.stringify(this.baseline)}.`,
      );
    }
    this.normalizeReturns = options.normalizeReturns ?? true;
    this.running = Array.from({ length: this.env.numEnvs }, emptyEpisode);
    this.optimizer = new Adam(this.policy.parameters(), { lr: this.learningRate(1) });
  }

  /** Step every env until `episodesPerUpdate` episodes have finished since the last update. */
  protected override collectRollout(): void {
    const env = this.env;
    const n = env.numEnvs;
    const obsSize = this.policy.observationSize;
    const width = this.policy.actionWidth;
    let observations = this.lastObservations!;
    if (observations !== this.collectedUpTo) {
      // learn() reset the envs: episodes in progress are gone
      this.running = Array.from({ length: n }, emptyEpisode);
      this.finished = [];
    }
    this.policy.eval();
    const done = new Uint8Array(n);
    while (this.finished.length < this.episodesPerUpdate) {
      const { actions, envActions } = this.policy.act(observations, n, this.rng);
      const result = env.step(envActions);
      this.numTimesteps += n;
      let anyDone = false;
      for (let i = 0; i < n; i++) {
        const episode = this.running[i];
        for (let k = 0; k < obsSize; k++) episode.observations.push(observations[i * obsSize + k]);
        for (let k = 0; k < width; k++) episode.actions.push(actions[i * width + k]);
        episode.rewards.push(result.rewards[i]);
        done[i] = result.terminated[i] === 1 || result.truncated[i] === 1 ? 1 : 0;
        anyDone ||= done[i] === 1;
      }
      let next = result.observations;
      if (anyDone) {
        // same-step autoreset reports the final observations separately; otherwise reset by hand
        const finals = result.finalObservations ?? result.observations.slice();
        if (result.finalObservations === null) {
          next = env.reset({ options: { resetMask: done } }).observations;
        }
        for (let i = 0; i < n; i++) {
          if (done[i] === 0) continue;
          const episode = this.running[i];
          if (result.truncated[i] === 1 && result.terminated[i] === 0) {
            episode.truncatedAt = finals.slice(i * obsSize, (i + 1) * obsSize);
          }
          this.finished.push(episode);
          this.running[i] = emptyEpisode();
        }
        for (const summary of env.drainEpisodes()) this.recordEpisode(summary);
      }
      observations = next.slice(0, n * obsSize);
    }
    this.lastObservations = observations;
    this.collectedUpTo = observations;
    this.policy.train();
  }

  protected train(): UpdateStats {
    const lr = this.updateLearningRate();
    const episodes = this.finished;
    this.finished = [];
    const obsSize = this.policy.observationSize;
    const total = episodes.reduce((sum, e) => sum + e.rewards.length, 0);
    const observations = new Float32Array(total * obsSize); // [total, obsSize]
    const actionData =
      this.policy.action.kind === "box"
        ? new Float32Array(total * this.policy.actionWidth)
        : new Int32Array(total * this.policy.actionWidth);
    const returns = new Float32Array(total); // [total]
    let row = 0;
    for (const episode of episodes) {
      const bootstrap =
        this.baseline === "value" && episode.truncatedAt !== null
          ? noGrad(() =>
              this.policy.predictValues(this.policy.observationTensor(episode.truncatedAt!, 1)).item(),
            )
          : 0;
      const g = episodeReturns(Float32Array.from(episode.rewards), this.gamma, this.rewardToGo, bootstrap);
      returns.set(g, row);
      observations.set(episode.observations, row * obsSize);
      actionData.set(episode.actions, row * this.policy.actionWidth);
      row += episode.rewards.length;
    }
    const obs = this.policy.observationTensor(observations, total);
    const actions = this.policy.actionTensor(actionData, total);
    const { values, logProb, entropy } = this.policy.evaluateActions(obs, actions);

    // ψ_t = G_t - b, a constant for the policy loss
    const weights = returns.slice();
    let baselineValue = 0;
    if (this.baseline === "mean") {
      const batchMean = returns.reduce((a, b) => a + b, 0) / total;
      baselineValue = this.meanBaseline ?? batchMean;
      for (let i = 0; i < total; i++) weights[i] -= baselineValue;
      this.meanBaseline = baselineValue + MEAN_BASELINE_RATE * (batchMean - baselineValue);
    } else if (this.baseline === "value") {
      const v = values.values;
      for (let i = 0; i < total; i++) weights[i] -= v[i];
    }
    if (this.normalizeReturns) normalizeInPlace(weights);

    const policyLoss = reinforceLoss(logProb, new Tensor(weights, [total]), episodes.length);
    const entropyLoss = ops.neg(ops.mean(entropy));
    let loss = ops.add(policyLoss, ops.mul(entropyLoss, this.entCoef));
    let valueLoss: Tensor | null = null;
    if (this.baseline === "value") {
      valueLoss = ops.mean(ops.square(ops.sub(new Tensor(returns, [total]), values)));
      loss = ops.add(loss, ops.mul(valueLoss, this.vfCoef));
    }
    this.optimizer.zeroGrad();
    loss.backward();
    const gradNorm = clipGradNorm(this.policy.parameters(), this.maxGradNorm);
    this.optimizer.step();

    const stats: UpdateStats = {
      "train/policyLoss": policyLoss.item(),
      "train/entropy": -entropyLoss.item(),
      "train/loss": loss.item(),
      "train/gradNorm": gradNorm,
      "train/learningRate": lr,
      "train/episodes": episodes.length,
      "train/batchSize": total,
    };
    if (valueLoss !== null) {
      stats["train/valueLoss"] = valueLoss.item();
      stats["train/explainedVariance"] = explainedVariance(values.values, returns);
    }
    if (this.baseline === "mean") stats["train/baseline"] = baselineValue;
    return stats;
  }

  /** Rebuild a REINFORCE model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<REINFORCE> {
    return loadAlgorithm((env, opts) => new REINFORCE(env, opts as REINFORCEOptions), source, options);
  }

  override trainingState(): Record<string, unknown> {
    return { ...super.trainingState(), meanBaseline: this.meanBaseline };
  }

  /** Episodes in progress are not saved, so a resumed run starts them afresh from a reset. */
  override restoreTrainingState(state: Record<string, unknown>): void {
    super.restoreTrainingState(state);
    this.lastObservations = null;
    this.meanBaseline = typeof state.meanBaseline === "number" ? state.meanBaseline : null;
  }
}
