/**
 * Generative Adversarial Imitation Learning (Ho & Ermon 2016, https://arxiv.org/abs/1606.03476,
 * Algorithm 1): a discriminator D(s, a) learns to tell the expert's state-action pairs from the
 * policy's, and the policy is trained by RL on a reward that is high where D mistakes it for the
 * expert. Inverse RL as a GAN: the discriminator is the (learned) reward.
 *
 * - D = σ(logit), "expert is high" (the `imitation` library's convention; the paper's D is the
 *   probability of the *policy* and its cost log D is our reward −log(1 − D)).
 * - Discriminator loss: {@link discriminatorLoss} (binary cross-entropy, Algorithm 1 step 4).
 * - Reward (`rewardType`): `"gail"` (default) `r = −log(1 − D(s, a)) = softplus(logit)`, the
 *   paper's cost log D_policy with the sign turned (and the `imitation` library's GAIL reward);
 *   it is positive, a survival bonus, which suits CartPole-like tasks. `"logit"`
 *   `r = log D − log(1 − D) = logit`, the AIRL-form reward (Fu et al. 2018,
 *   https://arxiv.org/abs/1710.11248, §5), unbiased in sign.
 * - The RL step is PPO (the paper uses TRPO; PPO is what the `imitation` library's GAIL uses),
 *   composed through PPO's public API: GAIL builds a {@link PPO} on the env wrapped in a
 *   {@link DiscriminatorRewardEnv} (which swaps the reward and keeps the pairs the policy visited),
 *   and trains the discriminator after every PPO update from `learn`'s `onUpdate` hook. GAIL is in
 *   the imitation family; it uses PPO as a user would (no PPO internals), as A3C uses A2C. The
 *   rewards of a rollout come from the discriminator of the previous round (the `imitation`
 *   library trains D on the rollout first, then relabels it; the difference is one round of lag).
 * - The env's own returns stay in `rollout/episodeReturn` (a statistics wrapper sits below the
 *   reward wrapper); the discriminator's diagnostics are `discriminator/...`.
 */
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import type { Checkpoint } from "../../io/checkpoint.js";
import { addPrefix, withPrefix } from "../../io/checkpoint.js";
import { Adam } from "../../optim/adam.js";
import { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import type { Tensor } from "../../tensor/tensor.js";
import { noGrad } from "../../tensor/tensor.js";
import type { AlgorithmLearnOptions } from "../common/algorithm.js";
import type { EnvInput, LoadOptions, UpdateStats } from "../common/onPolicyAlgorithm.js";
import {
  checkInteger,
  findObservationNormalizer,
  loadAlgorithm,
  prepareEnv,
} from "../common/onPolicyAlgorithm.js";
import { checkSavedModel, optionsToJSON } from "../common/savedModel.js";
import type { PPOOptions } from "../ppo.js";
import { PPO } from "../ppo.js";
import type { DemonstrationSource } from "./common/policyLearner.js";
import { resolveDemonstrations, savableOptions } from "./common/policyLearner.js";
import type { Transitions } from "./demonstrations.js";
import { transitionsOf } from "./demonstrations.js";
import type { DiscriminatorOptions } from "./discriminator.js";
import { Discriminator } from "./discriminator.js";
import { DiscriminatorRewardEnv } from "./discriminatorRewardEnv.js";

/** How the discriminator's logit becomes the policy's reward. */
export type AdversarialReward = "gail" | "logit";

/** Options of {@link GAIL}: PPO's options for the inner RL step, plus the discriminator's. */
export interface GAILOptions extends PPOOptions {
  /** The expert's episodes, or the directory `proximal record` wrote them to (CLI: `--demos`). */
  demonstrations?: DemonstrationSource | null;
  /** Adam learning rate of the discriminator. @defaultValue 1e-3 (`imitation`: PyTorch Adam's default) */
  discriminatorLearningRate?: number;
  /** Discriminator gradient steps after each PPO update. @defaultValue 2 (`imitation` `n_disc_updates_per_round`) */
  discriminatorUpdates?: number;
  /**
   * Expert pairs per discriminator step, matched by as many policy pairs from the last rollout.
   * @defaultValue 64 (chosen; `imitation` requires `demo_batch_size` and has no default)
   */
  discriminatorBatchSize?: number;
  /** The discriminator network. @defaultValue { netArch: [32, 32], activation: "relu" } (`BasicRewardNet`) */
  discriminator?: DiscriminatorOptions;
  /** "gail" (−log(1 − D)) or "logit" (log D − log(1 − D)). @defaultValue "gail" */
  rewardType?: AdversarialReward;
}

/**
 * Binary cross-entropy of the discriminator, expert pairs labelled 1 and policy pairs 0 (Ho & Ermon
 * 2016, Algorithm 1 step 4, with D the probability of the expert):
 * `L = (Σ_E −log σ(lᵢ) + Σ_π −log(1 − σ(lⱼ))) / (n_E + n_π) = (Σ_E softplus(−lᵢ) + Σ_π softplus(lⱼ)) / (n_E + n_π)`,
 * PyTorch's `binary_cross_entropy_with_logits` over the concatenated batch (as the `imitation`
 * library computes it).
 *
 * @param expertLogits - logits of expert pairs, [n_E]
 * @param policyLogits - logits of policy pairs, [n_π]
 */
export function discriminatorLoss(expertLogits: Tensor, policyLogits: Tensor): Tensor {
  const n = expertLogits.size + policyLogits.size;
  const expertTerm = ops.sum(ops.softplus(ops.neg(expertLogits)));
  const policyTerm = ops.sum(ops.softplus(policyLogits));
  return ops.div(ops.add(expertTerm, policyTerm), n);
}

/** `r = −log(1 − D) = softplus(logit)`: GAIL's reward (Ho & Ermon 2016, Algorithm 1 step 5, cost log D_policy). */
export function gailReward(logits: Tensor): Tensor {
  return ops.softplus(logits);
}

/** `r = log D − log(1 − D) = logit`: the AIRL-form reward (Fu et al. 2018, arXiv:1710.11248, §5). */
export function logitReward(logits: Tensor): Tensor {
  return logits;
}

/**
 * GAIL with PPO inside.
 *
 * @example
 * const demos = await recordDemonstrations(expert, make("CartPole-v1"), { episodes: 4 });
 * const model = new GAIL("CartPole-v1", { demonstrations: demos, numEnvs: 8, nSteps: 32, batchSize: 256 });
 * await model.learn({ totalTimesteps: 200_000 });
 */
export class GAIL {
  readonly algorithmName = "GAIL";
  readonly options: GAILOptions;
  /** The RL step: a PPO on the env with the discriminator's reward. */
  readonly ppo: PPO;
  readonly discriminator: Discriminator;
  readonly discriminatorUpdates: number;
  readonly discriminatorBatchSize: number;
  readonly discriminatorLearningRate: number;
  readonly rewardType: AdversarialReward;
  private readonly rewardEnv: DiscriminatorRewardEnv;
  private readonly discriminatorOptimizer: Adam;
  /** Draws of the discriminator's minibatches (its own stream, so PPO's draws are PPO's alone). */
  private readonly discriminatorRng: Rng;
  private expertPairs: Transitions | null = null;

  constructor(env: EnvInput, options: GAILOptions = {}) {
    const {
      demonstrations,
      discriminatorLearningRate,
      discriminatorUpdates,
      discriminatorBatchSize,
      discriminator,
      rewardType,
      ...ppoOptions
    } = options;
    this.options = savableOptions(options);
    const seed = options.seed ?? 0;
    checkInteger(seed, "seed", -Number.MAX_SAFE_INTEGER);
    const inner = prepareEnv(env, options.numEnvs ?? 1, seed);
    if (findObservationNormalizer(inner) !== null) {
      throw new ProximalError(
        "INVALID_OPTION",
        "GAIL compares the policy's observations with the demonstrations' raw ones, so the env must not normalise observations; set normalize: false (--set normalize=false).",
      );
    }
    this.rewardType = rewardType ?? "gail";
    if (this.rewardType !== "gail" && this.rewardType !== "logit") {
      throw new ProximalError(
        "INVALID_OPTION",
        `rewardType must be "gail" or "logit", got "${this.rewardType as string}".`,
      );
    }
    this.discriminatorUpdates = discriminatorUpdates ?? 2;
    checkInteger(this.discriminatorUpdates, "discriminatorUpdates", 1);
    this.discriminatorBatchSize = discriminatorBatchSize ?? 64;
    checkInteger(this.discriminatorBatchSize, "discriminatorBatchSize", 1);
    this.discriminatorLearningRate = discriminatorLearningRate ?? 1e-3;
    if (!(this.discriminatorLearningRate > 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `discriminatorLearningRate must be > 0, got ${this.discriminatorLearningRate}. Try 1e-3.`,
      );
    }
    // a stream of its own, derived from the seed, so that PPO's draws are the ones PPO alone makes
    this.discriminatorRng = new Rng(seed).spawn();
    this.discriminator = new Discriminator(
      inner.singleObservationSpace,
      inner.singleActionSpace,
      this.discriminatorRng.spawn(),
      discriminator,
    );
    this.discriminatorOptimizer = new Adam(this.discriminator.parameters(), {
      lr: this.discriminatorLearningRate,
    });
    this.rewardEnv = new DiscriminatorRewardEnv(inner, (obs, actions) => this.rewards(obs, actions));
    this.ppo = new PPO(this.rewardEnv, { ...ppoOptions, seed });
    if (demonstrations !== undefined && demonstrations !== null && typeof demonstrations !== "string") {
      this.expertPairs = transitionsOf(demonstrations);
    }
  }

  get policy() {
    return this.ppo.policy;
  }
  get rng(): Rng {
    return this.ppo.rng;
  }
  get numTimesteps(): number {
    return this.ppo.numTimesteps;
  }
  get env() {
    return this.ppo.env;
  }
  get observationNormalizer() {
    return null;
  }
  get spaces(): { observationSpace: Space; actionSpace: Space } {
    return this.ppo.spaces;
  }

  /** The reward of each env's pair (no graph). */
  private rewards(observations: Float32Array, actions: Int32Array | Float32Array): Float32Array {
    const n = this.rewardEnv.numEnvs;
    return noGrad(() => {
      const logits = this.discriminator.logits(observations, actions, n);
      return (this.rewardType === "gail" ? gailReward(logits) : logitReward(logits)).values.slice();
    });
  }

  /** Alternate PPO updates and discriminator updates until `totalTimesteps` env steps. */
  async learn(options: AlgorithmLearnOptions): Promise<this> {
    const totalTimesteps = options.totalTimesteps;
    if (totalTimesteps === undefined) {
      throw new ProximalError("INVALID_OPTION", "GAIL trains to a budget of env steps: pass totalTimesteps.");
    }
    if (this.expertPairs === null) {
      const demos = await resolveDemonstrations(this.options.demonstrations, this.spaces, "GAIL");
      this.expertPairs = transitionsOf(demos);
    }
    if (this.expertPairs.size === 0) {
      throw new ProximalError("INVALID_ARGUMENT", "The demonstrations hold no steps. Record some episodes.");
    }
    // pairs stepped before this call (an earlier learn) are not this rollout's
    this.rewardEnv.drainPairs();
    const onUpdate = options.onUpdate;
    await this.ppo.learn({
      totalTimesteps,
      resetNumTimesteps: options.resetNumTimesteps,
      onUpdate: async (stats: UpdateStats) => {
        const all = { ...stats, ...this.trainDiscriminator() };
        return onUpdate === undefined ? undefined : onUpdate(all);
      },
    });
    return this;
  }

  /** `discriminatorUpdates` steps on expert vs. the last rollout's pairs; returns `discriminator/...` stats. */
  private trainDiscriminator(): UpdateStats {
    const policyPairs = this.rewardEnv.drainPairs();
    const expert = this.expertPairs!;
    const batch = Math.min(this.discriminatorBatchSize, policyPairs.size);
    let lossSum = 0;
    let expertAccuracy = 0;
    let policyAccuracy = 0;
    let rewardSum = 0;
    for (let update = 0; update < this.discriminatorUpdates; update++) {
      const e = sampleRows(expert, batch, this.discriminatorRng, this.discriminator.observationSize);
      const p = sampleRows(policyPairs, batch, this.discriminatorRng, this.discriminator.observationSize);
      const expertLogits = this.discriminator.logits(e.observations, e.actions, batch);
      const policyLogits = this.discriminator.logits(p.observations, p.actions, batch);
      const loss = discriminatorLoss(expertLogits, policyLogits);
      this.discriminatorOptimizer.zeroGrad();
      loss.backward();
      this.discriminatorOptimizer.step();
      lossSum += loss.item();
      for (const v of expertLogits.values) if (v > 0) expertAccuracy++;
      for (const v of policyLogits.values) {
        if (v < 0) policyAccuracy++;
        rewardSum += this.rewardType === "gail" ? Math.log1p(Math.exp(-Math.abs(v))) + Math.max(v, 0) : v;
      }
    }
    const steps = this.discriminatorUpdates;
    return {
      "discriminator/loss": lossSum / steps,
      "discriminator/expertAccuracy": expertAccuracy / (steps * batch),
      "discriminator/policyAccuracy": policyAccuracy / (steps * batch),
      "discriminator/meanPolicyReward": rewardSum / (steps * batch),
    };
  }

  predict(
    observations: Float32Array,
    options: { deterministic?: boolean; actionMask?: Uint8Array } = {},
  ): Int32Array | Float32Array {
    return this.ppo.predict(observations, options);
  }

  /**
   * PPO's checkpoint (policy, optimizer, training state, env id, spaces) with the discriminator and
   * its optimizer added, as a GAIL model. Node only.
   */
  async save(dir: string): Promise<void> {
    const { loadCheckpoint, saveCheckpoint } = await import("../../io/checkpoint.js");
    // PPO writes its part through its public save; the discriminator is added to the same files
    await this.ppo.save(dir);
    const written = await loadCheckpoint(dir);
    const optimizerState = this.discriminatorOptimizer.getState();
    await saveCheckpoint(dir, {
      tensors: {
        ...written.tensors,
        ...addPrefix(this.discriminator.stateDict(), "discriminator"),
        ...addPrefix(optimizerState.tensors, "discriminatorOptimizer"),
      },
      json: {
        ...written.json,
        algorithm: this.algorithmName,
        options: optionsToJSON(this.options),
        discriminatorOptimizer: optimizerState.json,
        discriminatorRng: this.discriminatorRng.getState(),
      },
    });
  }

  /** Restore a checkpoint written by {@link save}. */
  loadCheckpointState(checkpoint: Checkpoint, options: { restoreEnv?: boolean } = {}): void {
    checkSavedModel(checkpoint.json, this.algorithmName, this.spaces);
    this.ppo.loadCheckpointState(
      { tensors: checkpoint.tensors, json: { ...checkpoint.json, algorithm: "PPO" } },
      options,
    );
    this.discriminator.loadStateDict(withPrefix(checkpoint.tensors, "discriminator"));
    this.discriminatorOptimizer.setState({
      tensors: withPrefix(checkpoint.tensors, "discriminatorOptimizer"),
      json: checkpoint.json.discriminatorOptimizer as never,
    });
    if (checkpoint.json.discriminatorRng)
      this.discriminatorRng.setState(checkpoint.json.discriminatorRng as never);
  }

  /** Rebuild a GAIL model saved with `save(dir)`. */
  static load(dir: string, options: LoadOptions = {}): Promise<GAIL> {
    return loadAlgorithm((env, opts) => new GAIL(env, opts as GAILOptions), dir, options);
  }
}

/** `count` rows drawn uniformly with replacement. */
function sampleRows(data: Transitions, count: number, rng: Rng, obsSize: number): Transitions {
  const width = data.actions.length / data.size;
  const observations = new Float32Array(count * obsSize);
  const actions =
    data.actions instanceof Float32Array ? new Float32Array(count * width) : new Int32Array(count * width);
  for (let i = 0; i < count; i++) {
    const r = rng.integer(data.size);
    observations.set(data.observations.subarray(r * obsSize, (r + 1) * obsSize), i * obsSize);
    actions.set(data.actions.subarray(r * width, (r + 1) * width), i * width);
  }
  return { observations, actions, size: count };
}
