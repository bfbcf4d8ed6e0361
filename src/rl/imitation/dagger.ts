/**
 * DAgger, dataset aggregation (Ross, Gordon & Bagnell 2011, https://arxiv.org/abs/1011.0686,
 * Algorithm 3.1): round i rolls out the mixture `πᵢ = βᵢ π* + (1 − βᵢ) π̂ᵢ` (per step, the expert's
 * action with probability βᵢ, else the learner's), has the expert label *every* visited state with
 * its action, adds those pairs to the dataset D, and trains π̂ᵢ₊₁ on all of D by behaviour cloning.
 * Labelling the learner's own states is what removes BC's compounding error (regret O(Tε) instead
 * of O(T²ε), §4).
 *
 * - β schedule: `"linear"` (default) `βᵢ = max(0, 1 − i/R)` with R = `betaRampdownRounds` = 15, the
 *   `imitation` library's `LinearBetaSchedule` default; `"exponential"` `βᵢ = pⁱ` (the paper's
 *   §3 suggestion, i counted from 0 so β₀ = 1), p = `betaDecay`.
 * - The expert is any {@link Predictor} (a loaded PPO/DQN/... model; CLI `--expert <run>`), queried
 *   deterministically; `dagger/expertLabels` counts every label it gave (plus the pairs of the
 *   optional initial demonstrations).
 * - One "timestep" is one env step of the mixture policy; one update is one round.
 *
 * The supervised part (loss, minibatches, policy class, saving) is shared with {@link BC} through
 * {@link PolicyLearner}.
 */
import { ProximalError } from "../../errors.js";
import { addPrefix, withPrefix } from "../../io/checkpoint.js";
import { Tensor } from "../../tensor/tensor.js";
import type { AlgorithmLearnOptions } from "../common/algorithm.js";
import { EpisodeWindow } from "../common/episodeWindow.js";
import type { Predictor } from "../common/evaluation.js";
import { withModelNormalization } from "../common/evaluation.js";
import type { EnvInput, LoadOptions, UpdateStats } from "../common/onPolicyAlgorithm.js";
import { checkInteger, loadAlgorithm, yieldToEventLoop } from "../common/onPolicyAlgorithm.js";
import type { DemonstrationSource, PolicyLearnerOptions } from "./common/policyLearner.js";
import { PolicyLearner, resolveDemonstrations, savableOptions } from "./common/policyLearner.js";
import type { Transitions } from "./demonstrations.js";
import { transitionsOf } from "./demonstrations.js";

/** Options specific to {@link DAgger}; shared fields live in {@link PolicyLearnerOptions}. */
export interface DAggerOptions extends PolicyLearnerOptions {
  /**
   * The expert queried on the learner's states: a model, or (CLI `--expert`) a run or model
   * directory, which the CLI loads.
   */
  expert?: string | Predictor | null;
  /** Optional expert episodes to start the dataset with (CLI `--demos`). @defaultValue null */
  demonstrations?: DemonstrationSource | null;
  /** Env steps (over all envs) per round. @defaultValue 500 (`imitation` `rollout_round_min_timesteps`) */
  rolloutSteps?: number;
  /**
   * BC epochs over the aggregated dataset after each round. @defaultValue 4 (the `imitation`
   * library's `train_imitation` script for DAgger: `n_epochs` 4)
   */
  epochsPerRound?: number;
  /** "linear" (βᵢ = max(0, 1 − i/R)) or "exponential" (βᵢ = pⁱ). @defaultValue "linear" (`imitation`) */
  betaSchedule?: "linear" | "exponential";
  /** R of the linear schedule: rounds until β reaches 0. @defaultValue 15 (`imitation` `LinearBetaSchedule`) */
  betaRampdownRounds?: number;
  /** p of the exponential schedule. @defaultValue 0.5 */
  betaDecay?: number;
}

/** β of round `round` (from 0): the probability that the expert, not the learner, acts. */
export function daggerBeta(
  round: number,
  schedule: "linear" | "exponential",
  rampdownRounds: number,
  decay: number,
): number {
  if (schedule === "exponential") return decay ** round;
  return Math.min(1, Math.max(0, 1 - round / rampdownRounds));
}

/**
 * DAgger with an expert model.
 *
 * @example
 * const expert = await PPO.load("runs/cartpole/model");
 * const model = new DAgger("CartPole-v1", { expert, rolloutSteps: 200 });
 * await model.learn({ totalTimesteps: 2_000 });
 * console.log(model.expertLabels);
 */
export class DAgger extends PolicyLearner {
  readonly algorithmName = "DAgger";
  readonly options: DAggerOptions;
  readonly rolloutSteps: number;
  readonly epochsPerRound: number;
  readonly betaSchedule: "linear" | "exponential";
  readonly betaRampdownRounds: number;
  readonly betaDecay: number;
  /** Expert labels in the dataset: initial demonstration pairs plus every state the expert labelled. */
  expertLabels = 0;
  private expert: Predictor | null = null;
  private dataset: Transitions | null = null;
  private lastObservations: Float32Array | null = null;
  private readonly episodeWindow = new EpisodeWindow(100);
  private episodesSeen = 0;

  constructor(env: EnvInput, options: DAggerOptions = {}) {
    super(env, options);
    this.options = savableOptions({
      ...options,
      expert: typeof options.expert === "string" ? options.expert : null,
    });
    this.rolloutSteps = options.rolloutSteps ?? 500;
    checkInteger(this.rolloutSteps, "rolloutSteps", 1);
    this.epochsPerRound = options.epochsPerRound ?? 4;
    checkInteger(this.epochsPerRound, "epochsPerRound", 1);
    this.betaSchedule = options.betaSchedule ?? "linear";
    if (this.betaSchedule !== "linear" && this.betaSchedule !== "exponential") {
      throw new ProximalError(
        "INVALID_OPTION",
        `betaSchedule must be "linear" or "exponential", got "${this.betaSchedule as string}".`,
      );
    }
    this.betaRampdownRounds = options.betaRampdownRounds ?? 15;
    checkInteger(this.betaRampdownRounds, "betaRampdownRounds", 1);
    this.betaDecay = options.betaDecay ?? 0.5;
    if (!(this.betaDecay >= 0 && this.betaDecay <= 1)) {
      throw new ProximalError("INVALID_OPTION", `betaDecay must be in [0, 1], got ${this.betaDecay}.`);
    }
    if (options.expert !== undefined && options.expert !== null && typeof options.expert !== "string") {
      this.setExpert(options.expert);
    }
  }

  /** Give the expert (the CLI calls this with the model `--expert` names). */
  setExpert(expert: Predictor): void {
    // an expert trained behind an observation normaliser gets its statistics, as in evaluation
    this.expert = withModelNormalization(expert, this.env);
  }

  /** Train until `totalTimesteps` env steps of the mixture policy: roll out, label, aggregate, fit. */
  async learn(options: AlgorithmLearnOptions): Promise<this> {
    const totalTimesteps = options.totalTimesteps;
    if (totalTimesteps === undefined) {
      throw new ProximalError(
        "INVALID_OPTION",
        "DAgger trains to a budget of env steps: pass totalTimesteps.",
      );
    }
    checkInteger(totalTimesteps, "totalTimesteps", 1);
    const expert = this.expert;
    if (expert === null) {
      throw new ProximalError(
        "INVALID_OPTION",
        "DAgger needs an expert to label the learner's states: pass options.expert (a trained model), or on the CLI --expert <run-dir>.",
      );
    }
    if (options.resetNumTimesteps ?? true) {
      this.numTimesteps = 0;
      this.iteration = 0;
      this.dataset = null;
      this.expertLabels = 0;
      this.lastObservations = null;
    }
    if (this.dataset === null) {
      if (this.options.demonstrations !== undefined && this.options.demonstrations !== null) {
        this.dataset = transitionsOf(
          await resolveDemonstrations(this.options.demonstrations, this.spaces, "DAgger"),
        );
      } else {
        this.dataset = emptyTransitions(this.policy.action.kind === "box");
      }
      this.expertLabels = this.dataset.size;
    }
    if (this.lastObservations === null) {
      this.lastObservations = this.env.reset({ seed: this.seed }).observations.slice();
    }
    const start = performance.now();
    const startTimesteps = this.numTimesteps;
    while (this.numTimesteps < totalTimesteps) {
      const beta = daggerBeta(this.iteration, this.betaSchedule, this.betaRampdownRounds, this.betaDecay);
      const collected = this.collectRound(expert, beta);
      this.dataset = concatTransitions(this.dataset, collected);
      this.expertLabels += collected.size;
      let loss = 0;
      for (let epoch = 0; epoch < this.epochsPerRound; epoch++) loss = this.fitEpoch(this.dataset);
      this.iteration++;
      const stats: UpdateStats = {
        ...this.timeStats(start, startTimesteps),
        ...this.episodeWindow.stats(this.episodesSeen),
        "train/loss": loss,
        "train/learningRate": this.learningRate,
        "dagger/beta": beta,
        "dagger/expertLabels": this.expertLabels,
        "dagger/datasetSize": this.dataset.size,
      };
      if (!Number.isFinite(loss)) {
        throw new ProximalError(
          "NUMERICAL_ERROR",
          `DAgger: the loss became ${loss} in round ${this.iteration}. Lower learningRate.`,
        );
      }
      if (options.onUpdate !== undefined && (await options.onUpdate(stats)) === false) break;
      await yieldToEventLoop();
    }
    return this;
  }

  /** Roll out the β-mixture for `rolloutSteps` steps; every visited state gets the expert's label. */
  private collectRound(expert: Predictor, beta: number): Transitions {
    const env = this.env;
    const n = env.numEnvs;
    const obsSize = this.policy.observationSize;
    const width = this.policy.actionWidth;
    const steps = Math.ceil(this.rolloutSteps / n);
    const observations = new Float32Array(steps * n * obsSize);
    const isBox = this.policy.action.kind === "box";
    const labels = isBox ? new Float32Array(steps * n * width) : new Int32Array(steps * n * width);
    let current = this.lastObservations!;
    for (let t = 0; t < steps; t++) {
      const expertActions = expert.predict(current.slice(), { deterministic: true });
      const learnerActions = this.predict(current, { deterministic: false });
      observations.set(current, t * n * obsSize);
      labels.set(expertActions, t * n * width);
      const actions = learnerActions.slice();
      for (let i = 0; i < n; i++) {
        // per step, the expert acts with probability β (Ross et al. 2011, Algorithm 3.1)
        if (this.rng.uniform() < beta) {
          actions.set(expertActions.subarray(i * width, (i + 1) * width), i * width);
        }
      }
      const result = env.step(actions);
      this.numTimesteps += n;
      let next = result.observations;
      if (result.terminated.some((v) => v === 1) || result.truncated.some((v) => v === 1)) {
        if (result.finalObservations === null) {
          const dones = Uint8Array.from(result.terminated, (v, i) =>
            v === 1 || result.truncated[i] === 1 ? 1 : 0,
          );
          next = env.reset({ options: { resetMask: dones } }).observations;
        }
        for (const episode of env.drainEpisodes()) {
          this.episodesSeen++;
          this.episodeWindow.record(episode);
        }
      }
      current = next.slice(0, n * obsSize);
    }
    this.lastObservations = current;
    return { observations, actions: labels, size: steps * n };
  }

  protected override extraTensors(): Record<string, Tensor> {
    if (this.dataset === null) return {};
    const d = this.dataset;
    const width = this.policy.actionWidth;
    return addPrefix(
      {
        observations: new Tensor(d.observations, [d.size, this.policy.observationSize]),
        actions: new Tensor(d.actions, [d.size, width]),
      },
      "dataset",
    );
  }

  protected override restoreExtraTensors(tensors: Record<string, Tensor>): void {
    const saved = withPrefix(tensors, "dataset");
    if (saved.observations === undefined || saved.actions === undefined) return;
    const size = saved.observations.shape[0];
    this.dataset = {
      observations: Float32Array.from(saved.observations.data as Float32Array),
      actions:
        this.policy.action.kind === "box"
          ? Float32Array.from(saved.actions.data as Float32Array)
          : Int32Array.from(saved.actions.data as Int32Array),
      size,
    };
  }

  override trainingState(): Record<string, unknown> {
    return {
      ...super.trainingState(),
      expertLabels: this.expertLabels,
      recentEpisodes: this.episodeWindow.toJSON(),
      episodesSeen: this.episodesSeen,
    };
  }

  override restoreTrainingState(state: Record<string, unknown>): void {
    super.restoreTrainingState(state);
    this.expertLabels = Number(state.expertLabels ?? 0);
    this.episodeWindow.restore(state.recentEpisodes as never);
    this.episodesSeen = Number(state.episodesSeen ?? 0);
  }

  /** Rebuild a DAgger model saved with `save(dir)`; to train on, give the expert again (`setExpert`). */
  static load(dir: string, options: LoadOptions = {}): Promise<DAgger> {
    return loadAlgorithm((env, opts) => new DAgger(env, opts as DAggerOptions), dir, options);
  }
}

function emptyTransitions(isBox: boolean): Transitions {
  return {
    observations: new Float32Array(0),
    actions: isBox ? new Float32Array(0) : new Int32Array(0),
    size: 0,
  };
}

function concatTransitions(a: Transitions, b: Transitions): Transitions {
  const observations = new Float32Array(a.observations.length + b.observations.length);
  observations.set(a.observations, 0);
  observations.set(b.observations, a.observations.length);
  const actions =
    b.actions instanceof Float32Array
      ? new Float32Array(a.actions.length + b.actions.length)
      : new Int32Array(a.actions.length + b.actions.length);
  actions.set(a.actions, 0);
  actions.set(b.actions, a.actions.length);
  return { observations, actions, size: a.size + b.size };
}
