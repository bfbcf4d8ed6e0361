import { Categorical } from "../../distributions/categorical.js";
import { clipToBounds, DiagGaussian } from "../../distributions/diagGaussian.js";
import type { Distribution } from "../../distributions/distribution.js";
import { MultiCategorical } from "../../distributions/multiCategorical.js";
import { Box } from "../../envs/spaces/box.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import { MultiDiscrete } from "../../envs/spaces/multiDiscrete.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import type { LinearInit } from "../../nn/linear.js";
import { Linear } from "../../nn/linear.js";
import type { Activation } from "../../nn/mlp.js";
import { MLP } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { isGradEnabled, noGrad, Tensor } from "../../tensor/tensor.js";
import { encodeObservationTensor, networkInputSize } from "./observationEncoding.js";

/** Hidden layer sizes of the actor (`pi`) and critic (`vf`) networks (SB3's `net_arch`). */
export interface NetArch {
  pi: number[];
  vf: number[];
}

/** Options of {@link ActorCriticPolicy}. */
export interface PolicyOptions {
  /**
   * Hidden sizes: one list for both networks, or `{ pi, vf }`.
   * @defaultValue [64, 64] for both (SB3 `MlpPolicy`, CleanRL `ppo.py`)
   */
  netArch?: number[] | NetArch;
  /** Hidden activation. @defaultValue "tanh" (SB3 and CleanRL on-policy defaults) */
  activation?: Activation;
  /**
   * One trunk (the `pi` sizes) feeds both heads instead of two separate networks.
   * @defaultValue false (SB3 ≥ 1.8 and CleanRL use separate networks)
   */
  shareTrunk?: boolean;
  /**
   * Orthogonal initialisation: gain √2 for hidden layers, 0.01 for the policy head, 1 for the value
   * head (CleanRL `layer_init`, SB3 `ortho_init`). false uses PyTorch's default Linear init.
   * @defaultValue true
   */
  orthoInit?: boolean;
  /** Initial log standard deviation of Gaussian policies (state independent). @defaultValue 0 */
  logStdInit?: number;
}

/** What the policy computes for a batch of observations. */
export interface PolicyOutput {
  distribution: Distribution;
  /** V(s), [batch] */
  values: Tensor;
}

/** Actions, values and log-probabilities for one rollout step (plain arrays, no graph). */
export interface RolloutAction {
  /** The sampled actions as stored for the loss (unclipped for Box spaces). */
  actions: Int32Array | Float32Array;
  /** What the env is stepped with (clipped into the bounds for Box spaces). */
  envActions: Int32Array | Float32Array;
  values: Float32Array;
  logProbs: Float32Array;
}

type ActionKind =
  | { kind: "discrete"; n: number }
  | { kind: "box"; dim: number; low: Float64Array; high: Float64Array }
  | { kind: "multiDiscrete"; nvec: number[] };

/** The action head an action space needs; other spaces are rejected with the supported list. */
export function actionKindOf(space: Space): ActionKind {
  if (space instanceof Discrete) return { kind: "discrete", n: space.n };
  if (space instanceof Box) return { kind: "box", dim: space.size, low: space.low, high: space.high };
  if (space instanceof MultiDiscrete) return { kind: "multiDiscrete", nvec: Array.from(space.nvec) };
  throw new ProximalError(
    "UNSUPPORTED_SPACE",
    `Unsupported action space ${JSON.stringify(space.toJSON())}. Policies support Discrete, Box and MultiDiscrete actions.`,
  );
}

function actionOutputs(kind: ActionKind): number {
  switch (kind.kind) {
    case "discrete":
      return kind.n;
    case "box":
      return kind.dim;
    case "multiDiscrete":
      return kind.nvec.reduce((a, b) => a + b, 0);
    default:
      kind satisfies never;
      return 0;
  }
}

/**
 * MLP actor-critic for on-policy algorithms (SB3 `ActorCriticPolicy` with `MlpPolicy`, CleanRL
 * `Agent`): flattened observations → actor network → distribution over actions, critic network →
 * V(s). Discrete actions use a Categorical, Box actions a diagonal Gaussian with a learnable
 * state-independent log-std, MultiDiscrete actions independent Categoricals. Parameter names:
 * `actor.layers.i.*`, `critic.layers.i.*`, `logStd` (or `trunk.*`, `actionHead.*`, `valueHead.*`
 * with a shared trunk).
 */
export class ActorCriticPolicy extends Module {
  /** Values one stored observation takes (`flatSize`: 1 for a Discrete index). */
  readonly observationSize: number;
  /** Width of the networks' input ({@link networkInputSize}: Discrete observations are one-hot). */
  readonly inputSize: number;
  readonly observationSpace: Space;
  readonly action: ActionKind;
  readonly options: Required<Omit<PolicyOptions, "netArch">> & { netArch: NetArch };
  private readonly actor: MLP | null = null;
  private readonly critic: MLP | null = null;
  private readonly trunk: MLP | null = null;
  private readonly actionHead: Linear | null = null;
  private readonly valueHead: Linear | null = null;
  readonly logStd: Tensor | null = null;

  constructor(observationSpace: Space, actionSpace: Space, rng: Rng, options: PolicyOptions = {}) {
    super();
    const arch = options.netArch ?? [64, 64];
    const netArch: NetArch = Array.isArray(arch) ? { pi: arch, vf: arch } : arch;
    this.options = {
      netArch,
      activation: options.activation ?? "tanh",
      shareTrunk: options.shareTrunk ?? false,
      orthoInit: options.orthoInit ?? true,
      logStdInit: options.logStdInit ?? 0,
    };
    this.observationSpace = observationSpace;
    this.observationSize = flatSize(observationSpace);
    this.inputSize = networkInputSize(observationSpace);
    this.action = actionKindOf(actionSpace);
    const outputs = actionOutputs(this.action);
    const init: LinearInit = this.options.orthoInit ? "orthogonal" : "pytorch";
    const activation = this.options.activation;
    const gains = (g: number) => (init === "orthogonal" ? { gain: Math.SQRT2, outputGain: g } : {});
    if (this.options.shareTrunk) {
      const hidden = netArch.pi;
      if (hidden.length === 0) {
        throw new ProximalError(
          "INVALID_OPTION",
          "shareTrunk needs at least one hidden layer in netArch.pi.",
        );
      }
      this.trunk = this.registerModule(
        "trunk",
        new MLP([this.inputSize, ...hidden], {
          rng,
          activation,
          outputActivation: activation,
          init,
          ...gains(Math.SQRT2),
        }),
      );
      const last = hidden[hidden.length - 1];
      const headInit = (gain: number): { init: LinearInit; gain?: number } =>
        init === "orthogonal" ? { init, gain } : { init };
      this.actionHead = this.registerModule(
        "actionHead",
        new Linear(last, outputs, { rng, ...headInit(0.01) }),
      );
      this.valueHead = this.registerModule("valueHead", new Linear(last, 1, { rng, ...headInit(1) }));
    } else {
      this.actor = this.registerModule(
        "actor",
        new MLP([this.inputSize, ...netArch.pi, outputs], { rng, activation, init, ...gains(0.01) }),
      );
      this.critic = this.registerModule(
        "critic",
        new MLP([this.inputSize, ...netArch.vf, 1], { rng, activation, init, ...gains(1) }),
      );
    }
    if (this.action.kind === "box") {
      const logStd = new Tensor(new Float32Array(this.action.dim).fill(this.options.logStdInit), [
        this.action.dim,
      ]);
      this.logStd = this.registerParameter("logStd", logStd);
    }
  }

  /**
   * Observations [batch, obsSize] as the networks read them: Discrete indices one-hot
   * (`rl/common/observationEncoding.ts`, as SB3's `preprocess_obs`), other spaces as they are.
   */
  protected networkInput(obs: Tensor): Tensor {
    if (this.inputSize === this.observationSize) return obs;
    return encodeObservationTensor(this.observationSpace, obs.values, obs.shape[0]);
  }

  /** Actor output (logits or Gaussian means) and V(s) for observations [batch, obsSize]. */
  private heads(stored: Tensor): { actionOut: Tensor; values: Tensor } {
    const obs = this.networkInput(stored);
    const batch = obs.shape[0];
    if (this.trunk !== null) {
      const features = this.trunk.forward(obs);
      return {
        actionOut: this.actionHead!.forward(features),
        values: ops.reshape(this.valueHead!.forward(features), [batch]),
      };
    }
    return { actionOut: this.actor!.forward(obs), values: ops.reshape(this.critic!.forward(obs), [batch]) };
  }

  /** The action distribution from the actor's output. */
  distributionFrom(actionOut: Tensor, actionMask?: Uint8Array | null): Distribution {
    switch (this.action.kind) {
      case "discrete":
        return new Categorical(actionOut, actionMask);
      case "box":
        // the log-std is the parameter itself, not an op result: under noGrad, detach it so a
        // distribution built as "old" (TRPO, KL diagnostics) carries no gradient back into it
        return new DiagGaussian(actionOut, isGradEnabled() ? this.logStd! : this.logStd!.detach());
      case "multiDiscrete":
        return new MultiCategorical(actionOut, this.action.nvec);
      default:
        this.action satisfies never;
        throw new ProximalError("INTERNAL", "unreachable action kind");
    }
  }

  /** The action distribution and V(s) for observations [batch, obsSize]. */
  forward(obs: Tensor, actionMask?: Uint8Array | null): PolicyOutput {
    const { actionOut, values } = this.heads(obs);
    return { distribution: this.distributionFrom(actionOut, actionMask), values };
  }

  /** Only the actor's distribution (skips the critic where it is separate). */
  distribution(obs: Tensor, actionMask?: Uint8Array | null): Distribution {
    if (this.actor !== null)
      return this.distributionFrom(this.actor.forward(this.networkInput(obs)), actionMask);
    return this.forward(obs, actionMask).distribution;
  }

  /** Only V(s), [batch]. */
  predictValues(obs: Tensor): Tensor {
    if (this.critic !== null) return ops.reshape(this.critic.forward(this.networkInput(obs)), [obs.shape[0]]);
    return this.heads(obs).values;
  }

  /**
   * Values, log-probabilities and entropies of stored actions (SB3 `evaluate_actions`).
   * `entropyGradient: false` computes the entropy without a graph, for a loss that weighs it by 0
   * (an entropy coefficient of 0, RL Zoo's CartPole PPO among others): its gradient would be
   * 0 · ∂H, and skipping that backward pass changes no bit of the other gradients.
   */
  evaluateActions(
    obs: Tensor,
    actions: Tensor,
    actionMask?: Uint8Array | null,
    entropyGradient = true,
  ): { values: Tensor; logProb: Tensor; entropy: Tensor } {
    const { distribution, values } = this.forward(obs, actionMask);
    const entropy = entropyGradient ? distribution.entropy() : noGrad(() => distribution.entropy());
    return { values, logProb: distribution.logProb(actions), entropy };
  }

  /** Observations as a tensor [batch, obsSize]. */
  observationTensor(obs: Float32Array, batch: number): Tensor {
    if (obs.length !== batch * this.observationSize) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `The policy expects observations of ${this.observationSize} values each; got ${obs.length} values for ${batch} rows.`,
      );
    }
    return new Tensor(obs, [batch, this.observationSize]);
  }

  /** Actions tensor as stored in a buffer: int32 [batch] or [batch, k], float32 [batch, dim]. */
  actionTensor(actions: Int32Array | Float32Array, batch: number): Tensor {
    const width = actions.length / batch;
    return new Tensor(actions, width === 1 && this.action.kind === "discrete" ? [batch] : [batch, width]);
  }

  /** Width of one stored action (1 for Discrete). */
  get actionWidth(): number {
    switch (this.action.kind) {
      case "discrete":
        return 1;
      case "box":
        return this.action.dim;
      case "multiDiscrete":
        return this.action.nvec.length;
      default:
        return 0;
    }
  }

  /**
   * Env actions for observations `[batch * obsSize]` (SB3's `predict`), in eval mode: the mode when
   * `deterministic`, else a sample from `rng`; Box actions clipped into the space. The `predict` of
   * every algorithm built on this policy (the on-policy family, BC, DAgger).
   */
  predict(
    observations: Float32Array,
    rng: Rng,
    options: { deterministic?: boolean; actionMask?: Uint8Array } = {},
  ): Int32Array | Float32Array {
    const batch = observations.length / this.observationSize;
    if (!Number.isInteger(batch)) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `predict: ${observations.length} values is not a whole number of observations of size ${this.observationSize}. Pass the observation array itself, not Gymnasium's (obs, info) pair.`,
      );
    }
    const wasTraining = this.training;
    this.eval();
    const { envActions } = this.act(
      observations,
      batch,
      rng,
      options.deterministic ?? false,
      options.actionMask,
    );
    this.train(wasTraining);
    return envActions;
  }

  /** Sample (or take the mode of) actions for a batch of observations, without recording a graph. */
  act(
    obs: Float32Array,
    batch: number,
    rng: Rng,
    deterministic = false,
    actionMask?: Uint8Array | null,
  ): RolloutAction {
    return noGrad(() => {
      const { distribution, values } = this.forward(this.observationTensor(obs, batch), actionMask);
      const actions = deterministic ? distribution.mode() : distribution.sample(rng);
      const logProbs = distribution.logProb(this.actionTensor(actions, batch)).values;
      const envActions =
        this.action.kind === "box"
          ? clipToBounds(actions as Float32Array, this.action.low, this.action.high)
          : actions;
      return { actions, envActions, values: values.values, logProbs };
    });
  }
}
