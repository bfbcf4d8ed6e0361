/**
 * The Intrinsic Curiosity Module (Pathak, Agrawal, Efros & Darrell 2017, "Curiosity-driven
 * Exploration by Self-supervised Prediction", https://arxiv.org/abs/1705.05363, §2.1-2.2).
 *
 * An encoder φ embeds observations; an inverse model g predicts the action a_t from
 * (φ(s_t), φ(s_{t+1})) (eq. 2-3), which shapes φ to keep what the agent can control; a forward
 * model f predicts φ̂(s_{t+1}) = f(φ(s_t), a_t) (eq. 4). The curiosity reward is the forward
 * model's surprise `r_i = η/2·‖φ̂(s_{t+1}) − φ(s_{t+1})‖²` (eq. 6), added to the extrinsic reward;
 * η is `intrinsicReward.coef` (the module itself reports the bonus for η = 1). With
 * `intrinsicReward.episodic: false` (not in the paper) the bonus goes to a separate non-episodic
 * stream instead, as RND's (see `intrinsicReward.ts`, `episodic`).
 * The module minimises `(1 − β)L_I + βL_F` (eq. 7) with β = 0.2; the paper's joint objective
 * weights the policy loss by λ = 0.1 against it, and since the policy and the module share no
 * parameters here we divide the module's loss by λ instead (the same minimiser, the same ratio of
 * gradients). As in the paper the forward loss also trains φ (no stop-gradient on φ(s_{t+1})).
 * Differences: MLPs for vector observations instead of the paper's convolutional encoder; for Box
 * actions the inverse model regresses the action with a squared error (the paper has discrete
 * actions only).
 */

import { Box } from "../../envs/spaces/box.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import { addPrefix, withPrefix } from "../../io/checkpoint.js";
import { MLP } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import { Adam } from "../../optim/adam.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { encodeObservationTensor, networkInputSize } from "../common/observationEncoding.js";
import type { IntrinsicRewardModule, IntrinsicState, ResolvedIntrinsicOptions } from "./intrinsicReward.js";

/**
 * ICM's curiosity reward per row, `η/2·‖φ̂(s') − φ(s')‖²` (Pathak et al. 2017, eq. 6), `[batch]`
 * from `[batch, k]` inputs.
 */
export function icmIntrinsicReward(predictedFeatures: Tensor, nextFeatures: Tensor, eta: number): Tensor {
  return ops.mul(ops.sum(ops.square(ops.sub(predictedFeatures, nextFeatures)), -1), eta / 2);
}

/** ICM's forward loss `L_F = ½·mean_b ‖φ̂(s'_b) − φ(s'_b)‖²` (Pathak et al. 2017, eq. 5). */
export function icmForwardLoss(predictedFeatures: Tensor, nextFeatures: Tensor): Tensor {
  return ops.mean(icmIntrinsicReward(predictedFeatures, nextFeatures, 1));
}

/**
 * ICM's inverse loss L_I (Pathak et al. 2017, eq. 3): for Discrete actions the cross-entropy of the
 * predicted action logits `[batch, n]` against the actions taken `[batch]` (the paper's maximum
 * likelihood of a softmax); for Box actions (not in the paper) the mean squared error
 * `mean_b ‖â_b − a_b‖²` of predicted `[batch, d]` against taken `[batch, d]` actions.
 */
export function icmInverseLoss(prediction: Tensor, actions: Tensor, kind: "discrete" | "box"): Tensor {
  if (kind === "discrete") return ops.crossEntropy(prediction, actions);
  return ops.mean(ops.sum(ops.square(ops.sub(prediction, actions)), -1));
}

/**
 * The module's share of ICM's objective (Pathak et al. 2017, eq. 7):
 * `min λ·L_PG + (1 − β)L_I + βL_F`, divided by λ: `((1 − β)L_I + βL_F)/λ`.
 */
export function icmLoss(
  inverseLoss: Tensor,
  forwardLoss: Tensor,
  beta: number,
  policyWeight: number,
): Tensor {
  return ops.div(ops.add(ops.mul(inverseLoss, 1 - beta), ops.mul(forwardLoss, beta)), policyWeight);
}

/** Encoder, inverse and forward models of {@link ICM} as one module (for one optimizer and one state dict). */
class ICMNetworks extends Module {
  readonly encoder: MLP;
  readonly inverse: MLP;
  readonly forwardModel: MLP;

  constructor(observationSize: number, actionSize: number, options: ResolvedIntrinsicOptions, rng: Rng) {
    super();
    const { hiddenSizes, featureSize, headHiddenSize } = options;
    // ELU in the paper; ReLU here (the activations proximal has), with PyTorch's default Linear init
    this.encoder = this.registerModule(
      "encoder",
      new MLP([observationSize, ...hiddenSizes, featureSize], { rng: rng.spawn(), activation: "relu" }),
    );
    this.inverse = this.registerModule(
      "inverse",
      new MLP([2 * featureSize, headHiddenSize, actionSize], { rng: rng.spawn(), activation: "relu" }),
    );
    this.forwardModel = this.registerModule(
      "forwardModel",
      new MLP([featureSize + actionSize, headHiddenSize, featureSize], {
        rng: rng.spawn(),
        activation: "relu",
      }),
    );
  }
}

/** The ICM module: encoder φ, inverse model and forward model, trained with one Adam. */
export class ICM implements IntrinsicRewardModule {
  /** false (the paper's use) unless `episodic: false` asks for RND's non-episodic second stream. */
  readonly separateStream: boolean;
  readonly observationSize: number;
  readonly actionKind: "discrete" | "box";
  /** Logits (Discrete) or action dimensions (Box). */
  readonly actionSize: number;
  readonly networks: ICMNetworks;
  readonly optimizer: Adam;
  private readonly observationSpace: Space;

  constructor(
    readonly options: ResolvedIntrinsicOptions,
    observationSpace: Space,
    actionSpace: Space,
    rng: Rng,
  ) {
    this.separateStream = !options.episodic;
    this.observationSize = flatSize(observationSpace);
    if (actionSpace instanceof Discrete) {
      this.actionKind = "discrete";
      this.actionSize = actionSpace.n;
    } else if (actionSpace instanceof Box) {
      this.actionKind = "box";
      this.actionSize = actionSpace.size;
    } else {
      throw new ProximalError(
        "UNSUPPORTED_SPACE",
        `intrinsicReward "icm" supports Discrete and Box actions, got ${JSON.stringify(actionSpace.toJSON())}. Use type "rnd", which does not look at actions.`,
      );
    }
    this.observationSpace = observationSpace;
    this.networks = new ICMNetworks(networkInputSize(observationSpace), this.actionSize, options, rng);
    this.optimizer = new Adam(this.networks.parameters(), { lr: options.learningRate });
  }

  observe(_nextObservations: Float32Array, _batch: number): void {}

  rewards(
    observations: Float32Array,
    actions: Int32Array | Float32Array,
    nextObservations: Float32Array,
    batch: number,
  ): Float32Array {
    return noGrad(() => {
      const { predicted, next } = this.forwardPass(observations, actions, nextObservations, batch);
      return Float32Array.from(icmIntrinsicReward(predicted, next, 1).values);
    });
  }

  updateRewardStatistics(_rewards: Float32Array, _numEnvs: number): void {}

  scaleRewards(rewards: Float32Array): Float32Array {
    return rewards;
  }

  update(
    observations: Float32Array,
    actions: Int32Array | Float32Array,
    nextObservations: Float32Array,
    batch: number,
    _rng: Rng,
  ): Record<string, number> {
    const { features, predicted, next } = this.forwardPass(observations, actions, nextObservations, batch);
    const inverseLogits = this.networks.inverse.forward(ops.concat([features, next], 1));
    const inverseLoss = icmInverseLoss(inverseLogits, this.actionTargets(actions, batch), this.actionKind);
    const forwardLoss = icmForwardLoss(predicted, next);
    const loss = icmLoss(inverseLoss, forwardLoss, this.options.beta, this.options.policyWeight);
    this.optimizer.zeroGrad();
    loss.backward();
    this.optimizer.step();
    return { "intrinsic/forwardLoss": forwardLoss.item(), "intrinsic/inverseLoss": inverseLoss.item() };
  }

  state(): IntrinsicState {
    const optimizer = this.optimizer.getState();
    return {
      tensors: {
        ...addPrefix(this.networks.stateDict(), "networks"),
        ...addPrefix(optimizer.tensors, "optimizer"),
      },
      json: { optimizer: optimizer.json },
    };
  }

  loadState(state: IntrinsicState): void {
    this.networks.loadStateDict(withPrefix(state.tensors, "networks"));
    this.optimizer.setState({
      tensors: withPrefix(state.tensors, "optimizer"),
      json: state.json.optimizer as never,
    });
  }

  /** φ(s), φ(s') and the forward model's φ̂(s') = f(φ(s), a). */
  private forwardPass(
    observations: Float32Array,
    actions: Int32Array | Float32Array,
    nextObservations: Float32Array,
    batch: number,
  ): { features: Tensor; predicted: Tensor; next: Tensor } {
    const size = this.observationSize;
    const both = new Float32Array(2 * batch * size);
    both.set(observations.subarray(0, batch * size));
    both.set(nextObservations.subarray(0, batch * size), batch * size);
    // the encoder reads Discrete indices one-hot, as the policies do (rl/common/observationEncoding.ts)
    const encoded = this.networks.encoder.forward(
      encodeObservationTensor(this.observationSpace, both, 2 * batch),
    );
    const features = ops.narrow(encoded, 0, 0, batch);
    const next = ops.narrow(encoded, 0, batch, batch);
    const predicted = this.networks.forwardModel.forward(
      ops.concat([features, this.actionInputs(actions, batch)], 1),
    );
    return { features, predicted, next };
  }

  /** One-hot Discrete actions or the Box action values, `[batch, actionSize]`. */
  private actionInputs(actions: Int32Array | Float32Array, batch: number): Tensor {
    const width = this.actionSize;
    const out = new Float32Array(batch * width);
    if (this.actionKind === "discrete") for (let b = 0; b < batch; b++) out[b * width + actions[b]] = 1;
    else out.set(actions.subarray(0, batch * width));
    return new Tensor(out, [batch, width]);
  }

  private actionTargets(actions: Int32Array | Float32Array, batch: number): Tensor {
    if (this.actionKind === "discrete")
      return new Tensor(Int32Array.from(actions.subarray(0, batch)), [batch]);
    return this.actionInputs(actions, batch);
  }
}
