/**
 * The discriminator of adversarial imitation (GAIL): an MLP on a state-action pair that outputs
 * one logit, positive when it judges the pair to come from the expert (`D(s, a) = σ(logit)`, the
 * `imitation` library's convention, "expert is high"). Actions enter one-hot for Discrete spaces
 * (one block per component for MultiDiscrete) and as they are for Box spaces.
 */

import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import type { Activation } from "../../nn/mlp.js";
import { MLP } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import { encodeObservations, networkInputSize } from "../common/observationEncoding.js";
import { actionKindOf } from "../common/policies.js";

/** Options of {@link Discriminator}. */
export interface DiscriminatorOptions {
  /** Hidden sizes. @defaultValue [32, 32] (the `imitation` library's `BasicRewardNet` `hid_sizes`) */
  netArch?: number[];
  /** Hidden activation. @defaultValue "relu" (`BasicRewardNet`) */
  activation?: Activation;
}

/**
 * GAIL's discriminator: `logit(s, a) = MLP([s, encode(a)])`, `D = σ(logit)` the probability that the
 * pair is the expert's. Parameters: `net.layers.i.*`.
 *
 * @example
 * const d = new Discriminator(env.observationSpace, env.actionSpace, new Rng(0));
 * d.logits(observations, actions, batch); // [batch]
 */
export class Discriminator extends Module {
  readonly observationSize: number;
  /** Width of the observation part of the input ({@link networkInputSize}: a Discrete index one-hot). */
  readonly observationInputSize: number;
  private readonly observationSpace: Space;
  /** Width of the encoded action (n for Discrete, Σ nvec for MultiDiscrete, dim for Box). */
  readonly actionEncodingSize: number;
  private readonly net: MLP;
  private readonly encode: (
    actions: Int32Array | Float32Array,
    row: number,
    out: Float32Array,
    offset: number,
  ) => void;
  private readonly actionWidth: number;

  constructor(observationSpace: Space, actionSpace: Space, rng: Rng, options: DiscriminatorOptions = {}) {
    super();
    this.observationSpace = observationSpace;
    this.observationSize = flatSize(observationSpace);
    this.observationInputSize = networkInputSize(observationSpace);
    const kind = actionKindOf(actionSpace);
    switch (kind.kind) {
      case "discrete":
        this.actionWidth = 1;
        this.actionEncodingSize = kind.n;
        this.encode = (actions, row, out, offset) => {
          out[offset + actions[row]] = 1;
        };
        break;
      case "multiDiscrete": {
        const nvec = kind.nvec;
        this.actionWidth = nvec.length;
        this.actionEncodingSize = nvec.reduce((a, b) => a + b, 0);
        this.encode = (actions, row, out, offset) => {
          let block = offset;
          nvec.forEach((n, k) => {
            out[block + actions[row * nvec.length + k]] = 1;
            block += n;
          });
        };
        break;
      }
      case "box":
        this.actionWidth = kind.dim;
        this.actionEncodingSize = kind.dim;
        this.encode = (actions, row, out, offset) => {
          for (let k = 0; k < kind.dim; k++) out[offset + k] = actions[row * kind.dim + k];
        };
        break;
      default:
        kind satisfies never;
        throw new ProximalError("INTERNAL", "unreachable action kind; please report a bug");
    }
    const hidden = options.netArch ?? [32, 32];
    this.net = this.registerModule(
      "net",
      new MLP([this.observationInputSize + this.actionEncodingSize, ...hidden, 1], {
        rng,
        activation: options.activation ?? "relu",
      }),
    );
  }

  /**
   * The network input `[batch, obsInput + actionEncodingSize]`: the observation (a Discrete index
   * one-hot, as the policies read it), then the encoded action.
   */
  inputs(observations: Float32Array, actions: Int32Array | Float32Array, batch: number): Tensor {
    const obsWidth = this.observationInputSize;
    const width = obsWidth + this.actionEncodingSize;
    const encoded = encodeObservations(
      this.observationSpace,
      observations.subarray(0, batch * this.observationSize),
      batch,
    );
    const out = new Float32Array(batch * width);
    for (let i = 0; i < batch; i++) {
      out.set(encoded.subarray(i * obsWidth, (i + 1) * obsWidth), i * width);
      this.encode(actions, i, out, i * width + obsWidth);
    }
    return new Tensor(out, [batch, width]);
  }

  /** Logits `[batch]` of "this pair is the expert's". */
  logits(observations: Float32Array, actions: Int32Array | Float32Array, batch: number): Tensor {
    if (actions.length !== batch * this.actionWidth) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `Discriminator: ${actions.length} action values for ${batch} rows; expected ${this.actionWidth} per row.`,
      );
    }
    return ops.reshape(this.net.forward(this.inputs(observations, actions, batch)), [batch]);
  }
}
