import { categoricalSupport } from "../../distributions/categoricalReturns.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import { Linear } from "../../nn/linear.js";
import type { Activation } from "../../nn/mlp.js";
import { applyActivation, MLP } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import { ModuleList } from "../../nn/moduleList.js";
import { NoisyLinear, noisyLayers } from "../../nn/noisyLinear.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { polyakUpdate } from "./continuousLosses.js";
import { encodeObservationTensor, networkInputSize } from "./observationEncoding.js";

/** Options of {@link QPolicy} (SB3's `DQNPolicy` `net_arch` and `activation_fn`). */
export interface QPolicyOptions {
  /** Hidden layer sizes of the Q-network. @defaultValue [64, 64] (SB3 DQN `MlpPolicy`) */
  netArch?: number[];
  /** Hidden activation. @defaultValue "relu" (SB3 DQN `MlpPolicy`, CleanRL `dqn.py`) */
  activation?: Activation;
}

/** Network variants of {@link QNetwork} (all off gives SB3's plain MLP Q-network). */
export interface QNetworkVariant {
  /** Dueling streams (Wang et al. 2016, arXiv:1511.06581). */
  dueling: boolean;
  /** NoisyLinear layers in place of every Linear (Fortunato et al. 2018), with this σ₀; 0 = off. */
  noisySigma0: number;
  /** Atoms of a categorical return distribution per action (C51); 1 = a scalar Q-value. */
  atoms: number;
  /** Support `[vMin, vMax]` of the categorical distribution (ignored when atoms is 1). */
  vMin: number;
  vMax: number;
  /** Quantile values per action (QR-DQN, Dabney et al. 2018); 0 = off. Exclusive with atoms > 1. */
  quantiles: number;
}

/** A stack of NoisyLinear layers with an activation between them (MLP's shape, noisy layers). */
class NoisyMLP extends Module {
  readonly layers: ModuleList<NoisyLinear>;
  private readonly activation: Activation;
  private readonly outputActivation: boolean;

  constructor(
    sizes: number[],
    rng: Rng,
    options: { activation: Activation; outputActivation: boolean; sigma0: number },
  ) {
    super();
    this.layers = this.registerModule("layers", new ModuleList<NoisyLinear>());
    for (let i = 0; i + 1 < sizes.length; i++) {
      this.layers.append(new NoisyLinear(sizes[i], sizes[i + 1], { rng, sigma0: options.sigma0 }));
    }
    this.activation = options.activation;
    this.outputActivation = options.outputActivation;
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      h = this.layers.at(i).forward(h);
      if (i + 1 < this.layers.length || this.outputActivation) h = applyActivation(h, this.activation);
    }
    return h;
  }
}

type Stack = MLP | NoisyMLP;
type Layer = Linear | NoisyLinear;

/**
 * A Q-network `s ↦ Q(s, ·)` for Discrete actions: an MLP with PyTorch's default Linear
 * initialisation (as SB3's `QNetwork` and CleanRL's `QNetwork`). With `dueling`, the last hidden
 * layer feeds a value stream V(s) and an advantage stream A(s, a), combined as
 * `Q(s, a) = V(s) + A(s, a) − mean_a' A(s, a')` (Wang et al. 2016, arXiv:1511.06581, eq. 9).
 * With `noisySigma0 > 0` every layer is a {@link NoisyLinear} (Hessel et al. 2018, arXiv:1710.02298,
 * §"Noisy Nets": "replace all linear layers with their noisy equivalent").
 * With `atoms > 1` (C51, Bellemare et al. 2017, arXiv:1707.06887) the network outputs atom logits
 * `[batch, nActions, atoms]`, `p_i(s, a) = softmax_i`, and `Q(s, a) = Σ_i z_i p_i(s, a)`; dueling
 * then combines the streams per atom before the softmax (Hessel et al. 2018, eq. in §"Dueling
 * networks": `v(s)_i + a(s, a)_i − mean_a' a(s, a')_i`).
 * With `quantiles > 0` (QR-DQN, Dabney et al. 2018, arXiv:1710.10044) the network outputs N quantile
 * values `θ_i(s, a)` `[batch, nActions, N]` at τ̂_i = (2i + 1)/(2N), and `Q(s, a) = (1/N) Σ_i θ_i(s, a)`;
 * dueling combines the streams per quantile, as per atom for C51.
 * Parameter names: `mlp.layers.i.*`, or `trunk.layers.i.*`, `valueHead.*`, `advantageHead.*`
 * (NoisyLinear layers have `weightMu`, `weightSigma`, `biasMu`, `biasSigma` and noise buffers).
 */
export class QNetwork extends Module {
  readonly nActions: number;
  readonly atoms: number;
  /** Quantiles per action (QR-DQN), 0 when off. */
  readonly quantiles: number;
  /** The support `z_i` when distributional (atoms > 1), else null. */
  readonly support: Float32Array | null;
  /** Outputs per action: C51's atoms, QR-DQN's quantiles, or 1 (a scalar Q-value). */
  private readonly perAction: number;
  private readonly mlp: Stack | null = null;
  private readonly trunk: Stack | null = null;
  private readonly valueHead: Layer | null = null;
  private readonly advantageHead: Layer | null = null;

  constructor(
    observationSize: number,
    nActions: number,
    rng: Rng,
    options: { netArch: number[]; activation: Activation } & Partial<QNetworkVariant>,
  ) {
    super();
    const { netArch, activation } = options;
    const dueling = options.dueling ?? false;
    const sigma0 = options.noisySigma0 ?? 0;
    this.nActions = nActions;
    this.atoms = options.atoms ?? 1;
    this.quantiles = options.quantiles ?? 0;
    if (this.atoms > 1 && this.quantiles > 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        "A Q-network is either categorical (atoms > 1, C51) or quantile (QR-DQN), not both. Set distributional or quantile, not both.",
      );
    }
    this.perAction = this.atoms > 1 ? this.atoms : this.quantiles > 0 ? this.quantiles : 1;
    this.support =
      this.atoms > 1
        ? Float32Array.from(categoricalSupport(this.atoms, options.vMin ?? -10, options.vMax ?? 10))
        : null;
    const stack = (sizes: number[], outputActivation: boolean): Stack =>
      sigma0 > 0
        ? new NoisyMLP(sizes, rng, { activation, outputActivation, sigma0 })
        : new MLP(sizes, { rng, activation, outputActivation: outputActivation ? activation : undefined });
    const layer = (inFeatures: number, outFeatures: number): Layer =>
      sigma0 > 0
        ? new NoisyLinear(inFeatures, outFeatures, { rng, sigma0 })
        : new Linear(inFeatures, outFeatures, { rng });
    const outputs = nActions * this.perAction;
    if (dueling) {
      if (netArch.length === 0) {
        throw new ProximalError(
          "INVALID_OPTION",
          "dueling needs at least one hidden layer in policy.netArch (the streams split after it). Example: netArch [64, 64].",
        );
      }
      this.trunk = this.registerModule("trunk", stack([observationSize, ...netArch], true));
      const last = netArch[netArch.length - 1];
      this.valueHead = this.registerModule("valueHead", layer(last, this.perAction));
      this.advantageHead = this.registerModule("advantageHead", layer(last, outputs));
    } else {
      this.mlp = this.registerModule("mlp", stack([observationSize, ...netArch, outputs], false));
    }
  }

  /**
   * Atom logits `[batch, nActions, atoms]` (C51), quantile values `[batch, nActions, quantiles]`
   * (QR-DQN), or Q-values `[batch, nActions]` otherwise, of observations `[batch, obsSize]`.
   */
  forwardLogits(obs: Tensor): Tensor {
    const batch = obs.shape[0];
    const k = this.perAction;
    // a 3-d output whenever the head is distributional, even with a single quantile
    const perActionAxis = this.atoms > 1 || this.quantiles > 0;
    const shape = perActionAxis ? [batch, this.nActions, k] : [batch, this.nActions];
    if (this.mlp !== null) return ops.reshape(this.mlp.forward(obs), shape);
    const features = this.trunk!.forward(obs);
    const valueShape = perActionAxis ? [batch, 1, k] : [batch, 1];
    const value = ops.reshape(this.valueHead!.forward(features), valueShape);
    const advantage = ops.reshape(this.advantageHead!.forward(features), shape);
    // identifiability: subtract the mean advantage over actions (Wang et al. 2016, eq. 9), per atom
    // or quantile
    return ops.add(value, ops.sub(advantage, ops.mean(advantage, 1, true)));
  }

  /**
   * Q-values `[batch, nActions]`: the expected return `Σ_i z_i p_i` (C51), or the mean of the N
   * quantiles (QR-DQN: each quantile carries probability 1/N).
   */
  forward(obs: Tensor): Tensor {
    const logits = this.forwardLogits(obs);
    if (this.quantiles > 0) return ops.mean(logits, -1);
    if (this.support === null) return logits;
    const z = new Tensor(this.support, [this.atoms]);
    return ops.sum(ops.mul(ops.softmax(logits, -1), z), -1);
  }

  /** Draw new noise in every NoisyLinear layer (no-op without noisy layers). */
  resetNoise(rng: Rng): void {
    for (const layer of noisyLayers(this)) layer.resetNoise(rng);
  }

  /** Add the noise (true) or use μ only (false) in every NoisyLinear layer. */
  setNoise(enabled: boolean): void {
    for (const layer of noisyLayers(this)) layer.noise = enabled;
  }
}

/**
 * The networks of DQN-style algorithms (SB3's `DQNPolicy`): the online network `qNet` and its target
 * copy `qNetTarget` (Mnih et al. 2015), which starts equal to `qNet` and is only changed by
 * {@link QPolicy.updateTarget}; `variant` picks dueling, noisy and distributional networks
 * ({@link QNetworkVariant}; a boolean is `dueling`, for compatibility). Its state dict holds both (`qNet.*`, `qNetTarget.*`).
 */
export class QPolicy extends Module {
  /** Values one stored observation takes (`flatSize`: 1 for a Discrete index). */
  readonly observationSize: number;
  /** Width of the network's input ({@link networkInputSize}: Discrete observations are one-hot). */
  readonly inputSize: number;
  readonly observationSpace: Space;
  readonly nActions: number;
  readonly options: Required<QPolicyOptions> & QNetworkVariant;
  readonly qNet: QNetwork;
  readonly qNetTarget: QNetwork;

  constructor(
    observationSpace: Space,
    actionSpace: Space,
    rng: Rng,
    options: QPolicyOptions = {},
    variant: boolean | Partial<QNetworkVariant> = false,
  ) {
    super();
    const v = typeof variant === "boolean" ? { dueling: variant } : variant;
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
    this.options = {
      netArch,
      activation: options.activation ?? "relu",
      dueling: v.dueling ?? false,
      noisySigma0: v.noisySigma0 ?? 0,
      atoms: v.atoms ?? 1,
      vMin: v.vMin ?? -10,
      vMax: v.vMax ?? 10,
      quantiles: v.quantiles ?? 0,
    };
    this.observationSpace = observationSpace;
    this.observationSize = flatSize(observationSpace);
    this.inputSize = networkInputSize(observationSpace);
    this.nActions = actionSpace.n;
    const config = this.options;
    this.qNet = this.registerModule("qNet", new QNetwork(this.inputSize, this.nActions, rng, config));
    this.qNetTarget = this.registerModule(
      "qNetTarget",
      new QNetwork(this.inputSize, this.nActions, rng.spawn(), config),
    );
    this.qNetTarget.loadStateDict(this.qNet.stateDict());
  }

  /** Stored observations `[batch * observationSize]` as the network's input `[batch, inputSize]` (one-hot for Discrete). */
  observationTensor(obs: Float32Array, batch: number): Tensor {
    if (obs.length !== batch * this.observationSize) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `The Q-network expects observations of ${this.observationSize} values each; got ${obs.length} values for ${batch} rows.`,
      );
    }
    return encodeObservationTensor(this.observationSpace, obs, batch);
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
    polyakUpdate(this.qNet.namedParameters(), this.qNetTarget.namedParameters(), tau);
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
