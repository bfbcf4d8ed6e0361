import { Discrete } from "../../envs/spaces/discrete.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import { Linear } from "../../nn/linear.js";
import type { Activation } from "../../nn/mlp.js";
import { MLP } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";

/** Options of {@link QPolicy} (SB3's `DQNPolicy` `net_arch` and `activation_fn`). */
export interface QPolicyOptions {
  /** Hidden layer sizes of the Q-network. @defaultValue [64, 64] (SB3 DQN `MlpPolicy`) */
  netArch?: number[];
  /** Hidden activation. @defaultValue "relu" (SB3 DQN `MlpPolicy`, CleanRL `dqn.py`) */
  activation?: Activation;
}

/**
 * A Q-network `s ↦ Q(s, ·)` for Discrete actions: an MLP with PyTorch's default Linear
 * initialisation (as SB3's `QNetwork` and CleanRL's `QNetwork`). With `dueling`, the last hidden
 * layer feeds a value stream V(s) and an advantage stream A(s, a), combined as
 * `Q(s, a) = V(s) + A(s, a) − mean_a' A(s, a')` (Wang et al. 2016, arXiv:1511.06581, eq. 9).
 * Parameter names: `mlp.layers.i.*`, or `trunk.layers.i.*`, `valueHead.*`, `advantageHead.*`.
 */
export class QNetwork extends Module {
  private readonly mlp: MLP | null = null;
  private readonly trunk: MLP | null = null;
  private readonly valueHead: Linear | null = null;
  private readonly advantageHead: Linear | null = null;

  constructor(
    observationSize: number,
    nActions: number,
    rng: Rng,
    options: { netArch: number[]; activation: Activation; dueling: boolean },
  ) {
    super();
    const { netArch, activation, dueling } = options;
    if (dueling) {
      if (netArch.length === 0) {
        throw new ProximalError(
          "INVALID_OPTION",
          "dueling needs at least one hidden layer in policy.netArch (the streams split after it). Example: netArch [64, 64].",
        );
      }
      this.trunk = this.registerModule(
        "trunk",
        new MLP([observationSize, ...netArch], { rng, activation, outputActivation: activation }),
      );
      const last = netArch[netArch.length - 1];
      this.valueHead = this.registerModule("valueHead", new Linear(last, 1, { rng }));
      this.advantageHead = this.registerModule("advantageHead", new Linear(last, nActions, { rng }));
    } else {
      this.mlp = this.registerModule(
        "mlp",
        new MLP([observationSize, ...netArch, nActions], { rng, activation }),
      );
    }
  }

  /** Q-values `[batch, nActions]` of observations `[batch, obsSize]`. */
  forward(obs: Tensor): Tensor {
    if (this.mlp !== null) return this.mlp.forward(obs);
    const features = this.trunk!.forward(obs);
    const value = this.valueHead!.forward(features); // [B, 1]
    const advantage = this.advantageHead!.forward(features); // [B, A]
    // identifiability: subtract the mean advantage (Wang et al. 2016, eq. 9)
    return ops.add(value, ops.sub(advantage, ops.mean(advantage, 1, true)));
  }
}

/**
 * The networks of DQN-style algorithms (SB3's `DQNPolicy`): the online network `qNet` and its target
 * copy `qNetTarget` (Mnih et al. 2015), which starts equal to `qNet` and is only changed by
 * {@link QPolicy.updateTarget}. Its state dict holds both (`qNet.*`, `qNetTarget.*`).
 */
export class QPolicy extends Module {
  readonly observationSize: number;
  readonly nActions: number;
  readonly options: Required<QPolicyOptions> & { dueling: boolean };
  readonly qNet: QNetwork;
  readonly qNetTarget: QNetwork;

  constructor(
    observationSpace: Space,
    actionSpace: Space,
    rng: Rng,
    options: QPolicyOptions = {},
    dueling = false,
  ) {
    super();
    if (!(actionSpace instanceof Discrete)) {
      throw new ProximalError(
        "UNSUPPORTED_SPACE",
        `Q-networks need a Discrete action space, got ${JSON.stringify(actionSpace.toJSON())}. For continuous actions use an actor-critic algorithm (PPO, A2C, TRPO).`,
      );
    }
    const netArch = options.netArch ?? [64, 64];
    if (!Array.isArray(netArch) || !netArch.every((h) => Number.isInteger(h) && h >= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `policy.netArch must be a list of positive integers, got ${JSON.stringify(netArch)}. Example: [64, 64].`,
      );
    }
    this.options = { netArch, activation: options.activation ?? "relu", dueling };
    this.observationSize = flatSize(observationSpace);
    this.nActions = actionSpace.n;
    const config = { netArch, activation: this.options.activation, dueling };
    this.qNet = this.registerModule("qNet", new QNetwork(this.observationSize, this.nActions, rng, config));
    this.qNetTarget = this.registerModule(
      "qNetTarget",
      new QNetwork(this.observationSize, this.nActions, rng.spawn(), config),
    );
    this.qNetTarget.loadStateDict(this.qNet.stateDict());
  }

  /** Observations as a tensor [batch, obsSize]. */
  observationTensor(obs: Float32Array, batch: number): Tensor {
    if (obs.length !== batch * this.observationSize) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `The Q-network expects observations of ${this.observationSize} values each; got ${obs.length} values for ${batch} rows.`,
      );
    }
    return new Tensor(obs, [batch, this.observationSize]);
  }

  /** Online Q-values `[batch * nActions]`, without a graph. */
  qValues(obs: Float32Array, batch: number): Float32Array {
    return noGrad(() => this.qNet.forward(this.observationTensor(obs, batch)).values);
  }

  /**
   * Greedy actions `argmax_a Q(s, a)` over the allowed actions of each row (`mask[b * n + a] = 1`),
   * ties to the lowest index (as `torch.argmax`).
   */
  greedyActions(qValues: Float32Array, batch: number, mask?: Uint8Array | null): Int32Array {
    return greedyActions(qValues, batch, this.nActions, mask);
  }

  /**
   * Polyak update of the target network, `θ' ← τ θ + (1 − τ) θ'` (Lillicrap et al. 2016,
   * arXiv:1509.02971, §7; SB3 `polyak_update`); τ = 1 copies `θ` (the hard update of Mnih et al. 2015).
   */
  updateTarget(tau: number): void {
    const online = this.qNet.namedParameters();
    const target = new Map(this.qNetTarget.namedParameters());
    for (const [name, p] of online) {
      const t = target.get(name)!;
      const src = p.data as Float32Array;
      const dst = t.data as Float32Array;
      if (tau === 1) dst.set(src);
      else for (let i = 0; i < dst.length; i++) dst[i] = (1 - tau) * dst[i] + tau * src[i];
    }
  }
}

/** Row-wise `argmax` of `values [batch, n]` restricted to `mask` (1 = allowed) when given. */
export function greedyActions(
  values: ArrayLike<number>,
  batch: number,
  n: number,
  mask?: Uint8Array | null,
): Int32Array {
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let a = 0; a < n; a++) {
      if (mask && mask[b * n + a] === 0) continue;
      const v = values[b * n + a];
      if (best === -1 || v > bestValue) {
        best = a;
        bestValue = v;
      }
    }
    if (best === -1) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `Action mask row ${b} allows no action. Every state needs at least one allowed action.`,
      );
    }
    out[b] = best;
  }
  return out;
}
