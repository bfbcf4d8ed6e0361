/**
 * Random Network Distillation (Burda, Edwards, Storkey & Klimov 2018, "Exploration by Random
 * Network Distillation", https://arxiv.org/abs/1810.12894).
 *
 * A fixed, randomly initialised target network f maps an observation to an embedding; a predictor
 * f̂ is trained to match it on the states the agent visits. The prediction error
 * `‖f̂(s') − f(s')‖²` is large on novel states and shrinks where the agent has been: that error is
 * the intrinsic reward (§2.2). As in the paper:
 * - observations are normalised with running statistics and clipped to [−5, 5] before both
 *   networks (§2.4);
 * - rewards are divided by a running std of the non-episodic intrinsic return (§2.4);
 * - the predictor trains on a random `updateProportion` of each minibatch (appendix A.4: 25%);
 * - in the on-policy algorithms the bonus is its own non-episodic return stream with its own critic
 *   and discount γ_int, combined as `A = c_ext·A_ext + c_int·A_int` (§2.3; see `intrinsicRollout.ts`).
 * Differences: MLPs for vector observations instead of the paper's convolutional networks; the
 * observation statistics are updated with each rollout before its rewards are computed, instead of
 * from a random-agent warm-up.
 */

import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { addPrefix, withPrefix } from "../../io/checkpoint.js";
import { MLP } from "../../nn/mlp.js";
import { Adam } from "../../optim/adam.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { encodeObservations, networkInputSize } from "../common/observationEncoding.js";
import {
  IntrinsicObservationNormalizer,
  IntrinsicReturnNormalizer,
  type IntrinsicRewardModule,
  type IntrinsicState,
  type ResolvedIntrinsicOptions,
} from "./intrinsicReward.js";

/**
 * RND's intrinsic reward of each row, `mean_k (f̂(s')_k − f(s')_k)²` (Burda et al. 2018, §2.2; the
 * paper's code averages over the embedding), `[batch]` from `[batch, k]` inputs.
 */
export function rndIntrinsicReward(predicted: Tensor, target: Tensor): Tensor {
  return ops.mean(ops.square(ops.sub(predicted, target)), -1);
}

/**
 * RND's predictor loss (Burda et al. 2018, §2.2 and appendix A.4): the per-row squared error
 * `mean_k (f̂(s')_k − f(s')_k)²` averaged over the rows whose `mask` is 1 (a random
 * `updateProportion` of the minibatch), `Σ_b m_b·e_b / max(Σ_b m_b, 1)`. The target is a constant.
 */
export function rndPredictorLoss(predicted: Tensor, target: Tensor, mask: Tensor): Tensor {
  const perRow = rndIntrinsicReward(predicted, target);
  const count = Math.max(
    mask.values.reduce((a, b) => a + b, 0),
    1,
  );
  return ops.div(ops.sum(ops.mul(perRow, mask)), count);
}

/**
 * The RND module: a frozen target, a trained predictor, observation and return normalisers.
 * Discrete observations are one-hot before normalisation ({@link encodeObservations}): as an index,
 * neighbouring states would get nearly equal targets and the predictor would learn them all at once.
 */
export class RND implements IntrinsicRewardModule {
  readonly separateStream = true;
  /** Values one stored observation takes (`flatSize`). */
  readonly observationSize: number;
  /** Width of the networks' input: Discrete observations are one-hot ({@link networkInputSize}). */
  readonly inputSize: number;
  private readonly observationSpace: Space;
  readonly target: MLP;
  readonly predictor: MLP;
  readonly optimizer: Adam;
  readonly observationNormalizer: IntrinsicObservationNormalizer;
  readonly returnNormalizer: IntrinsicReturnNormalizer;

  constructor(
    readonly options: ResolvedIntrinsicOptions,
    observationSpace: Space,
    _actionSpace: Space,
    rng: Rng,
  ) {
    this.observationSpace = observationSpace;
    this.observationSize = flatSize(observationSpace);
    this.inputSize = networkInputSize(observationSpace);
    const { hiddenSizes, featureSize } = options;
    // orthogonal init with gain √2 and ReLU-family hidden units, as the paper's code; the predictor
    // is deeper than the target (paper: two extra dense layers) so it can fit it
    this.target = new MLP([this.inputSize, ...hiddenSizes, featureSize], {
      rng: rng.spawn(),
      activation: "relu",
      init: "orthogonal",
    });
    this.predictor = new MLP([this.inputSize, ...hiddenSizes, featureSize, featureSize], {
      rng: rng.spawn(),
      activation: "relu",
      init: "orthogonal",
    });
    for (const p of this.target.parameters()) p.requiresGrad = false;
    this.optimizer = new Adam(this.predictor.parameters(), { lr: options.learningRate });
    this.observationNormalizer = new IntrinsicObservationNormalizer(this.inputSize, options.clipObservation);
    this.returnNormalizer = new IntrinsicReturnNormalizer(options.gammaIntrinsic);
  }

  observe(nextObservations: Float32Array, batch: number): void {
    this.observationNormalizer.update(
      encodeObservations(this.observationSpace, nextObservations, batch),
      batch,
    );
  }

  rewards(
    _observations: Float32Array,
    _actions: Int32Array | Float32Array,
    nextObservations: Float32Array,
    batch: number,
  ): Float32Array {
    const x = this.input(nextObservations, batch);
    return noGrad(() =>
      Float32Array.from(rndIntrinsicReward(this.predictor.forward(x), this.target.forward(x)).values),
    );
  }

  updateRewardStatistics(rewards: Float32Array, numEnvs: number): void {
    this.returnNormalizer.update(rewards, numEnvs);
  }

  scaleRewards(rewards: Float32Array): Float32Array {
    return this.returnNormalizer.scale(rewards);
  }

  update(
    _observations: Float32Array,
    _actions: Int32Array | Float32Array,
    nextObservations: Float32Array,
    batch: number,
    rng: Rng,
  ): Record<string, number> {
    const x = this.input(nextObservations, batch);
    const mask = new Float32Array(batch);
    for (let i = 0; i < batch; i++) mask[i] = rng.uniform() < this.options.updateProportion ? 1 : 0;
    const target = noGrad(() => this.target.forward(x));
    const loss = rndPredictorLoss(this.predictor.forward(x), target, new Tensor(mask, [batch]));
    this.optimizer.zeroGrad();
    loss.backward();
    this.optimizer.step();
    return { "intrinsic/predictorLoss": loss.item(), "intrinsic/returnStd": this.returnNormalizer.std };
  }

  state(): IntrinsicState {
    const optimizer = this.optimizer.getState();
    return {
      tensors: {
        ...addPrefix(this.target.stateDict(), "target"),
        ...addPrefix(this.predictor.stateDict(), "predictor"),
        ...addPrefix(optimizer.tensors, "optimizer"),
      },
      json: {
        optimizer: optimizer.json,
        observationStatistics: this.observationNormalizer.statistics.getState(),
        returnNormalizer: this.returnNormalizer.toJSON(),
      },
    };
  }

  loadState(state: IntrinsicState): void {
    this.target.loadStateDict(withPrefix(state.tensors, "target"));
    this.predictor.loadStateDict(withPrefix(state.tensors, "predictor"));
    this.optimizer.setState({
      tensors: withPrefix(state.tensors, "optimizer"),
      json: state.json.optimizer as never,
    });
    this.observationNormalizer.statistics.setState(state.json.observationStatistics as never);
    this.returnNormalizer.restore(state.json.returnNormalizer as never);
  }

  private input(observations: Float32Array, batch: number): Tensor {
    const encoded = encodeObservations(this.observationSpace, observations, batch);
    return new Tensor(this.observationNormalizer.normalize(encoded, batch), [batch, this.inputSize]);
  }
}
