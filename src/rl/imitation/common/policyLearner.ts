/**
 * The shared core of the supervised imitation learners ({@link BC}, {@link DAgger}): the same
 * {@link ActorCriticPolicy} as PPO's, so the learned policy predicts, evaluates, saves and loads as
 * any on-policy model does (`proximal eval`, `enjoy`, run directories); Adam; minibatch epochs of a
 * cloning loss over (state, action) pairs; and the checkpoint layout of the on-policy family
 * (`saveNetworkCheckpoint`), plus the best weights of early stopping.
 */
import type { Space } from "../../../envs/spaces/space.js";
import type { VectorNormalizeObservation } from "../../../envs/vector/vectorNormalizeObservation.js";
import type { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import { ProximalError } from "../../../errors.js";
import type { Checkpoint } from "../../../io/checkpoint.js";
import { Adam } from "../../../optim/adam.js";
import { Rng } from "../../../random/rng.js";
import { noGrad, Tensor } from "../../../tensor/tensor.js";
import type { AlgorithmLearnOptions } from "../../common/algorithm.js";
import type { Predictor } from "../../common/evaluation.js";
import type { EnvInput, UpdateStats } from "../../common/onPolicyAlgorithm.js";
import { checkInteger, findObservationNormalizer, prepareEnv } from "../../common/onPolicyAlgorithm.js";
import type { PolicyOptions } from "../../common/policies.js";
import { ActorCriticPolicy } from "../../common/policies.js";
import { checkSavedModel, restoreNetworkCheckpoint, saveNetworkCheckpoint } from "../../common/savedModel.js";
import type { Demonstrations, Transitions } from "../demonstrations.js";
import { checkDemonstrationSpaces } from "../demonstrations.js";
import type { CloningLoss } from "./cloningLosses.js";
import { meanSquaredActionLoss, negativeLogLikelihoodLoss } from "./cloningLosses.js";

/** Options every supervised imitation learner shares. */
export interface PolicyLearnerOptions {
  /** Adam learning rate. @defaultValue 1e-3 (the `imitation` library's BC, PyTorch Adam's default) */
  learningRate?: number;
  /** Minibatch size of the supervised updates. @defaultValue 32 (`imitation` BC `batch_size`) */
  batchSize?: number;
  /**
   * "logLikelihood" (cross-entropy for Discrete actions, Gaussian negative log-likelihood for Box)
   * or "mse" (mean squared error of the Gaussian mean; Box actions only). @defaultValue "logLikelihood"
   */
  lossType?: CloningLoss;
  /** Entropy bonus weight of the log-likelihood loss. @defaultValue 1e-3 (`imitation` BC `ent_weight`) */
  entCoef?: number;
  /** Network architecture and initialisation (PPO's policy, so its options carry over). */
  policy?: PolicyOptions;
  /** Seed of every random draw: network init, splits, minibatch order, env resets. @defaultValue 0 */
  seed?: number;
  /** Number of parallel envs when the env is given by id. @defaultValue 1 */
  numEnvs?: number;
}

/** Demonstrations given directly, or the directory `proximal record` wrote them to (Node only). */
export type DemonstrationSource = Demonstrations | string;

/** Load demonstrations given by directory (lazily: file access is Node-only) and check their spaces. */
export async function resolveDemonstrations(
  source: DemonstrationSource | null | undefined,
  spaces: { observationSpace: Space; actionSpace: Space },
  algorithmName: string,
): Promise<Demonstrations> {
  if (source === undefined || source === null) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${algorithmName} needs demonstrations: pass options.demonstrations (a dataset, or the directory \`proximal record\` wrote; on the CLI --demos <dir>).`,
    );
  }
  if (typeof source === "string") {
    const { loadDemonstrations } = await import("../demonstrationFiles.js");
    return loadDemonstrations(source, { env: spaces });
  }
  checkDemonstrationSpaces(source, spaces);
  return source;
}

/** Options as saved: a dataset given in memory is not saved with the model (its directory is). */
export function savableOptions<T extends { demonstrations?: DemonstrationSource | null }>(options: T): T {
  if (options.demonstrations === undefined || typeof options.demonstrations === "string") return options;
  return { ...options, demonstrations: null };
}

/**
 * Base of BC and DAgger: a policy fitted to (state, action) pairs. A subclass gives `learn`, which
 * decides where the pairs come from (a fixed dataset, or expert labels of the learner's own states).
 */
export abstract class PolicyLearner implements Predictor {
  abstract readonly algorithmName: string;
  abstract readonly options: PolicyLearnerOptions;
  readonly env: VectorRecordEpisodeStatistics;
  readonly policy: ActorCriticPolicy;
  readonly rng: Rng;
  readonly seed: number;
  readonly batchSize: number;
  readonly lossType: CloningLoss;
  readonly entCoef: number;
  readonly learningRate: number;
  protected readonly optimizer: Adam;
  /** Counted by the subclass (see its TSDoc for what one timestep is). */
  numTimesteps = 0;
  /** Updates (epochs or rounds) so far. */
  iteration = 0;

  protected constructor(env: EnvInput, options: PolicyLearnerOptions) {
    this.seed = options.seed ?? 0;
    checkInteger(this.seed, "seed", -Number.MAX_SAFE_INTEGER);
    this.rng = new Rng(this.seed);
    const numEnvs = options.numEnvs ?? 1;
    checkInteger(numEnvs, "numEnvs", 1);
    this.env = prepareEnv(env, numEnvs, this.seed);
    if (findObservationNormalizer(this.env) !== null) {
      throw new ProximalError(
        "INVALID_OPTION",
        "Imitation learns from the env's own observations (as demonstrations and experts see them), so the env must not normalise observations; set normalize: false (--set normalize=false).",
      );
    }
    this.batchSize = options.batchSize ?? 32;
    checkInteger(this.batchSize, "batchSize", 1);
    this.learningRate = options.learningRate ?? 1e-3;
    if (!(this.learningRate > 0) || !Number.isFinite(this.learningRate)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `learningRate must be a positive number, got ${this.learningRate}. Try 1e-3.`,
      );
    }
    this.entCoef = options.entCoef ?? 1e-3;
    if (!(this.entCoef >= 0)) {
      throw new ProximalError("INVALID_OPTION", `entCoef must be >= 0, got ${this.entCoef}.`);
    }
    this.policy = new ActorCriticPolicy(
      this.env.singleObservationSpace,
      this.env.singleActionSpace,
      this.rng.spawn(),
      options.policy,
    );
    this.lossType = options.lossType ?? "logLikelihood";
    if (this.lossType !== "logLikelihood" && this.lossType !== "mse") {
      throw new ProximalError(
        "INVALID_OPTION",
        `lossType must be "logLikelihood" or "mse", got "${this.lossType as string}".`,
      );
    }
    if (this.lossType === "mse" && this.policy.action.kind !== "box") {
      throw new ProximalError(
        "INVALID_OPTION",
        `lossType "mse" fits a Gaussian mean and needs Box actions; this env's actions are ${this.policy.action.kind}. Use lossType "logLikelihood" (cross-entropy).`,
      );
    }
    this.optimizer = new Adam(this.policy.parameters(), { lr: this.learningRate });
  }

  abstract learn(options: AlgorithmLearnOptions): Promise<this>;

  /** The spaces of one env. */
  get spaces(): { observationSpace: Space; actionSpace: Space } {
    return { observationSpace: this.env.singleObservationSpace, actionSpace: this.env.singleActionSpace };
  }

  /** Always null: imitation trains on the env's own observations (the constructor refuses a normaliser). */
  get observationNormalizer(): VectorNormalizeObservation | null {
    return null;
  }

  /** The `time/...` statistics of an update, as the other families report them. */
  protected timeStats(startMs: number, startTimesteps: number): UpdateStats {
    const elapsed = (performance.now() - startMs) / 1000;
    return {
      "time/iteration": this.iteration,
      "time/timesteps": this.numTimesteps,
      "time/elapsedSeconds": elapsed,
      "time/stepsPerSecond": (this.numTimesteps - startTimesteps) / Math.max(elapsed, 1e-9),
    };
  }

  /** The cloning loss of a minibatch (graph kept for backward). */
  protected minibatchLoss(
    observations: Float32Array,
    actions: Int32Array | Float32Array,
    size: number,
  ): Tensor {
    const obs = this.policy.observationTensor(observations, size);
    const actionTensor = this.policy.actionTensor(actions, size);
    if (this.lossType === "mse") {
      const distribution = this.policy.distribution(obs) as unknown as { mean: Tensor };
      return meanSquaredActionLoss(distribution.mean, actionTensor);
    }
    const distribution = this.policy.distribution(obs);
    return negativeLogLikelihoodLoss(
      distribution.logProb(actionTensor),
      distribution.entropy(),
      this.entCoef,
    );
  }

  /** One pass over `data` in shuffled minibatches; returns the mean minibatch loss. */
  protected fitEpoch(data: Transitions): number {
    const obsSize = this.policy.observationSize;
    const width = data.size === 0 ? 0 : data.actions.length / data.size;
    const order = this.rng.permutation(data.size);
    let lossSum = 0;
    let batches = 0;
    this.policy.train();
    for (let start = 0; start < data.size; start += this.batchSize) {
      const rows = order.subarray(start, Math.min(start + this.batchSize, data.size));
      const observations = new Float32Array(rows.length * obsSize);
      const actions =
        data.actions instanceof Float32Array
          ? new Float32Array(rows.length * width)
          : new Int32Array(rows.length * width);
      rows.forEach((r, i) => {
        observations.set(data.observations.subarray(r * obsSize, (r + 1) * obsSize), i * obsSize);
        actions.set(data.actions.subarray(r * width, (r + 1) * width), i * width);
      });
      const loss = this.minibatchLoss(observations, actions, rows.length);
      this.optimizer.zeroGrad();
      loss.backward();
      this.optimizer.step();
      lossSum += loss.item();
      batches++;
    }
    return lossSum / Math.max(batches, 1);
  }

  /** The cloning loss over a whole dataset, without gradients (validation). */
  protected datasetLoss(data: Transitions): number {
    if (data.size === 0) return Number.NaN;
    return noGrad(() => this.minibatchLoss(data.observations, data.actions, data.size).item());
  }

  /** Actions for observations `[batch * obsSize]`: the mode when `deterministic`, else a sample. */
  predict(
    observations: Float32Array,
    options: { deterministic?: boolean; actionMask?: Uint8Array } = {},
  ): Int32Array | Float32Array {
    return this.policy.predict(observations, this.rng, options);
  }

  /** Weights, optimizer, counters and generator into `dir` (the on-policy layout). Node only. */
  async save(dir: string): Promise<void> {
    await saveNetworkCheckpoint(dir, this, this.optimizer, {}, this.extraTensors());
  }

  /** Tensors besides the policy and optimizer to save (prefixed names). */
  protected extraTensors(): Record<string, Tensor> {
    return {};
  }

  /** Restore what {@link extraTensors} saved. */
  protected restoreExtraTensors(_tensors: Record<string, Tensor>): void {}

  /** Load weights, optimizer and training state from a checkpoint of the same algorithm. */
  loadCheckpointState(checkpoint: Checkpoint, options: { restoreEnv?: boolean } = {}): void {
    checkSavedModel(checkpoint.json, this.algorithmName, this.spaces);
    const state = restoreNetworkCheckpoint(checkpoint, this.policy, this.optimizer, options.restoreEnv);
    this.restoreExtraTensors(checkpoint.tensors);
    this.restoreTrainingState(state);
  }

  trainingState(): Record<string, unknown> {
    return { numTimesteps: this.numTimesteps, iteration: this.iteration, rng: this.rng.getState() };
  }

  restoreTrainingState(state: Record<string, unknown>): void {
    this.numTimesteps = Number(state.numTimesteps ?? 0);
    this.iteration = Number(state.iteration ?? 0);
    if (state.rng) this.rng.setState(state.rng as never);
  }
}

/** A copy of a module's weights (a snapshot that later steps do not change). */
export function snapshotWeights(weights: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(weights))
    out[name] = new Tensor(Float32Array.from(t.data as Float32Array), t.shape.slice());
  return out;
}
