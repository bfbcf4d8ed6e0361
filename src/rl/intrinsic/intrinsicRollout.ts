/**
 * The on-policy side of intrinsic rewards, used by {@link OnPolicyAlgorithm} (so PPO and A2C get it
 * without code of their own): it keeps each rollout's next observations, turns the module's bonus
 * into rewards and advantages after the rollout, and trains the module (and RND's intrinsic
 * critic) after the algorithm's update.
 *
 * - ICM (one stream, Pathak et al. 2017, §2): `r = r_ext + η·r_i`, then GAE as usual (episodic);
 *   with `episodic: false` (not in the paper), RND's two streams below instead.
 * - RND (two streams, Burda et al. 2018, §2.3): the extrinsic GAE is computed as usual (episodic,
 *   the algorithm's γ); the intrinsic one with γ_int, its own critic and no episode ends
 *   ("non-episodic": a reset does not stop the intrinsic return, since novelty found after it is
 *   still a consequence of the policy); the buffer's advantages become
 *   `A = c_ext·A_ext + c_int·A_int` ({@link combineAdvantages}); the policy's critic keeps
 *   regressing the extrinsic returns. Not in the paper: the intrinsic value function is a separate
 *   network (as the policy's own critic is, SB3's default) with its own Adam, trained after the
 *   algorithm's update on the same epochs × minibatches as the predictor, instead of a second
 *   head in the PPO loss; PPO and A2C stay unchanged.
 */

import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { addPrefix, withPrefix } from "../../io/checkpoint.js";
import { MLP } from "../../nn/mlp.js";
import { Adam } from "../../optim/adam.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { computeGae } from "../common/gae.js";
import { encodeObservationTensor, networkInputSize } from "../common/observationEncoding.js";
import type { RolloutBuffer } from "../common/rolloutBuffer.js";
import { createIntrinsicReward } from "./createIntrinsicReward.js";
import type { IntrinsicRewardModule, IntrinsicState, ResolvedIntrinsicOptions } from "./intrinsicReward.js";

/**
 * RND's combined advantage `A = c_ext·A_ext + c_int·A_int` (Burda et al. 2018, §2.3; paper:
 * c_ext = 2, c_int = 1), elementwise over `[nSteps * numEnvs]`.
 */
export function combineAdvantages(
  extrinsic: Float32Array,
  intrinsic: Float32Array,
  extrinsicCoef: number,
  intrinsicCoef: number,
): Float32Array {
  const out = new Float32Array(extrinsic.length);
  for (let i = 0; i < out.length; i++) out[i] = extrinsicCoef * extrinsic[i] + intrinsicCoef * intrinsic[i];
  return out;
}

/** Intrinsic rewards for an on-policy rollout buffer; see the file comment. */
export class IntrinsicRollout {
  readonly module: IntrinsicRewardModule;
  readonly options: ResolvedIntrinsicOptions;
  /** RND's intrinsic value function V_int(s) and its optimizer (null for ICM). */
  readonly critic: MLP | null;
  readonly criticOptimizer: Adam | null;
  readonly observationSize: number;
  private readonly observationSpace: Space;
  /** s_{t+1} of every stored transition (the final observation where an episode ended). */
  readonly nextObservations: Float32Array; // [nSteps, numEnvs, obsSize]
  /** The intrinsic λ-returns of the last rollout (RND), the critic's regression target. */
  private intrinsicReturns: Float32Array | null = null;
  private rewardMean = 0;

  constructor(
    options: ResolvedIntrinsicOptions,
    observationSpace: Space,
    actionSpace: Space,
    rng: Rng,
    readonly nSteps: number,
    readonly numEnvs: number,
    criticHiddenSizes: number[],
  ) {
    this.options = options;
    this.observationSpace = observationSpace;
    this.observationSize = flatSize(observationSpace);
    this.module = createIntrinsicReward(options, observationSpace, actionSpace, rng);
    this.nextObservations = new Float32Array(nSteps * numEnvs * this.observationSize);
    if (this.module.separateStream) {
      // the same shape and init as the policy's critic (orthogonal, value-head gain 1)
      this.critic = new MLP([networkInputSize(observationSpace), ...criticHiddenSizes, 1], {
        rng: rng.spawn(),
        activation: "tanh",
        init: "orthogonal",
        outputGain: 1,
      });
      this.criticOptimizer = new Adam(this.critic.parameters(), { lr: options.learningRate, eps: 1e-5 });
    } else {
      this.critic = null;
      this.criticOptimizer = null;
    }
  }

  /** Store s_{t+1} of step `step` for every env (`[numEnvs * obsSize]`). */
  recordStep(step: number, nextObservations: Float32Array): void {
    const width = this.numEnvs * this.observationSize;
    this.nextObservations.set(nextObservations.subarray(0, width), step * width);
  }

  /**
   * Replace the buffer's plain GAE: add the bonus (ICM) or the intrinsic stream (RND), then compute
   * returns and advantages. `lastValues` is V_ext of `lastObservations`.
   */
  computeReturnsAndAdvantage(
    buffer: RolloutBuffer,
    lastObservations: Float32Array,
    lastValues: Float32Array,
    gamma: number,
    gaeLambda: number,
  ): void {
    const total = buffer.size;
    const module = this.module;
    module.observe(this.nextObservations, total);
    const raw = module.rewards(buffer.observations, buffer.actions, this.nextObservations, total);
    module.updateRewardStatistics(raw, this.numEnvs);
    const bonus = module.scaleRewards(raw);
    let sum = 0;
    for (let i = 0; i < total; i++) sum += bonus[i];
    this.rewardMean = sum / total;
    if (!module.separateStream) {
      for (let i = 0; i < total; i++) buffer.rewards[i] += this.options.coef * bonus[i];
      buffer.computeReturnsAndAdvantage(lastValues, gamma, gaeLambda);
      return;
    }
    buffer.computeReturnsAndAdvantage(lastValues, gamma, gaeLambda);
    const values = this.intrinsicValues(buffer.observations, total);
    const last = this.intrinsicValues(lastObservations, this.numEnvs);
    const intrinsic = computeGae({
      rewards: bonus,
      values,
      dones: new Uint8Array(total), // non-episodic (Burda et al. 2018, §2.3)
      lastValues: last,
      numEnvs: this.numEnvs,
      gamma: this.options.gammaIntrinsic,
      gaeLambda,
    });
    this.intrinsicReturns = intrinsic.returns;
    buffer.advantages = combineAdvantages(
      buffer.advantages,
      intrinsic.advantages,
      this.options.extrinsicCoef,
      this.options.coef,
    );
  }

  /**
   * Train the module (and RND's critic) on the rollout: `epochs` passes of `minibatches` shuffled
   * minibatches. Returns `intrinsic/...` diagnostics averaged over the steps.
   */
  train(buffer: RolloutBuffer, rng: Rng): Record<string, number> {
    const total = buffer.size;
    const obsSize = this.observationSize;
    const width = buffer.actionWidth;
    const size = Math.ceil(total / this.options.minibatches);
    const sums: Record<string, number> = {};
    let steps = 0;
    for (let epoch = 0; epoch < this.options.epochs; epoch++) {
      const order = rng.permutation(total);
      for (let start = 0; start < total; start += size) {
        const rows = order.subarray(start, Math.min(start + size, total));
        const m = rows.length;
        const obs = new Float32Array(m * obsSize);
        const next = new Float32Array(m * obsSize);
        const actions =
          buffer.actionDtype === "int32" ? new Int32Array(m * width) : new Float32Array(m * width);
        for (let j = 0; j < m; j++) {
          const i = rows[j];
          obs.set(buffer.observations.subarray(i * obsSize, (i + 1) * obsSize), j * obsSize);
          next.set(this.nextObservations.subarray(i * obsSize, (i + 1) * obsSize), j * obsSize);
          for (let k = 0; k < width; k++) actions[j * width + k] = buffer.actions[i * width + k];
        }
        const stats = this.module.update(obs, actions, next, m, rng);
        if (this.critic !== null) stats["intrinsic/valueLoss"] = this.criticStep(obs, rows, m);
        for (const [key, value] of Object.entries(stats)) sums[key] = (sums[key] ?? 0) + value;
        steps++;
      }
    }
    const out: Record<string, number> = { "intrinsic/rewardMean": this.rewardMean };
    for (const [key, value] of Object.entries(sums)) out[key] = value / Math.max(steps, 1);
    return out;
  }

  state(): IntrinsicState {
    const inner = this.module.state();
    const tensors: Record<string, Tensor> = addPrefix(inner.tensors, "module");
    const json: Record<string, unknown> = { module: inner.json, rewardMean: this.rewardMean };
    if (this.critic !== null && this.criticOptimizer !== null) {
      const optimizer = this.criticOptimizer.getState();
      Object.assign(tensors, addPrefix(this.critic.stateDict(), "critic"));
      Object.assign(tensors, addPrefix(optimizer.tensors, "criticOptimizer"));
      json.criticOptimizer = optimizer.json;
    }
    return { tensors, json };
  }

  loadState(state: IntrinsicState): void {
    this.module.loadState({
      tensors: withPrefix(state.tensors, "module"),
      json: state.json.module as Record<string, unknown>,
    });
    this.rewardMean = Number(state.json.rewardMean ?? 0);
    if (this.critic !== null && this.criticOptimizer !== null) {
      this.critic.loadStateDict(withPrefix(state.tensors, "critic"));
      this.criticOptimizer.setState({
        tensors: withPrefix(state.tensors, "criticOptimizer"),
        json: state.json.criticOptimizer as never,
      });
    }
  }

  /** Observations `[batch * observationSize]` as the critic reads them (Discrete indices one-hot). */
  private criticInput(observations: Float32Array, batch: number): Tensor {
    return encodeObservationTensor(
      this.observationSpace,
      observations.subarray(0, batch * this.observationSize),
      batch,
    );
  }

  private intrinsicValues(observations: Float32Array, batch: number): Float32Array {
    return noGrad(() =>
      Float32Array.from(this.critic!.forward(this.criticInput(observations, batch)).values),
    );
  }

  /** One MSE step of V_int toward the intrinsic λ-returns of `rows`; returns the loss. */
  private criticStep(observations: Float32Array, rows: Int32Array, m: number): number {
    const targets = new Float32Array(m);
    for (let j = 0; j < m; j++) targets[j] = this.intrinsicReturns![rows[j]];
    const values = ops.reshape(this.critic!.forward(this.criticInput(observations, m)), [m]);
    const loss = ops.mean(ops.square(ops.sub(values, new Tensor(targets, [m]))));
    this.criticOptimizer!.zeroGrad();
    loss.backward();
    this.criticOptimizer!.step();
    return loss.item();
  }
}
