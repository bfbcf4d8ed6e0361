/**
 * The networks of the continuous-action off-policy family, after SB3's `td3/policies.py` and
 * `sac/policies.py` with the MLP feature extractor (`FlattenExtractor`, which has no parameters, so
 * SB3's `share_features_extractor` changes nothing for these networks): a deterministic actor
 * `μ(s) ∈ [−1, 1]^d`, a squashed Gaussian actor, and `nCritics` Q-networks `Q_j(s, a)` on the
 * concatenation `[s, a]` (SB3 `ContinuousCritic`), each an MLP with PyTorch's default Linear init,
 * plus their target copies. Actions are always in the scaled space [−1, 1] here.
 */
import type { Box } from "../../envs/spaces/box.js";
import { flatSize } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import { Linear } from "../../nn/linear.js";
import type { Activation } from "../../nn/mlp.js";
import { MLP } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import { ModuleList } from "../../nn/moduleList.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { Tensor } from "../../tensor/tensor.js";
import { polyakUpdate } from "./continuousLosses.js";

/** Network options of DDPG, TD3 and SAC (SB3's `net_arch` list form and `activation_fn`). */
export interface ContinuousPolicyOptions {
  /** Hidden layer sizes of the actor and of each critic. @defaultValue [400, 300] for DDPG/TD3, [256, 256] for SAC (SB3) */
  netArch?: number[];
  /** Hidden activation. @defaultValue "relu" (SB3's TD3 and SAC policies) */
  activation?: Activation;
}

/** Resolve and check {@link ContinuousPolicyOptions}. */
export function resolvePolicyOptions(
  options: ContinuousPolicyOptions | undefined,
  defaultNetArch: number[],
): Required<ContinuousPolicyOptions> {
  const netArch = options?.netArch ?? defaultNetArch;
  if (!Array.isArray(netArch) || !netArch.every((h) => Number.isInteger(h) && h >= 1)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `policy.netArch must be a list of positive integers, got ${JSON.stringify(netArch)}. Example: [256, 256].`,
    );
  }
  return { netArch: [...netArch], activation: options?.activation ?? "relu" };
}

/** `[B, n]` rows as a tensor, with the size checked. */
export function rowsTensor(values: Float32Array, rows: number, width: number, what: string): Tensor {
  if (values.length !== rows * width) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${what}: expected ${rows} rows of ${width} values (${rows * width}), got ${values.length}.`,
    );
  }
  return new Tensor(values, [rows, width]);
}

/** `nCritics` Q-networks `Q_j(s, a)`, each an MLP on `[s, a]` with one output (SB3 `ContinuousCritic`). */
export class ContinuousCritic extends Module {
  readonly qNets: ModuleList<MLP>;

  constructor(
    observationSize: number,
    actionDim: number,
    nCritics: number,
    rng: Rng,
    options: Required<ContinuousPolicyOptions>,
  ) {
    super();
    this.qNets = this.registerModule("qNets", new ModuleList<MLP>());
    for (let j = 0; j < nCritics; j++) {
      this.qNets.append(
        new MLP([observationSize + actionDim, ...options.netArch, 1], {
          rng,
          activation: options.activation,
        }),
      );
    }
  }

  /** Every critic's `Q_j(s, a)`, each [B], for observations [B, obs] and scaled actions [B, dim]. */
  forward(observations: Tensor, actions: Tensor): Tensor[] {
    const input = ops.concat([observations, actions], 1);
    const out: Tensor[] = [];
    for (let j = 0; j < this.qNets.length; j++) {
      out.push(ops.reshape(this.qNets.at(j).forward(input), [observations.shape[0]]));
    }
    return out;
  }

  /** The first critic only (SB3 `q1_forward`, used by the deterministic actor's loss). */
  q1(observations: Tensor, actions: Tensor): Tensor {
    const input = ops.concat([observations, actions], 1);
    return ops.reshape(this.qNets.at(0).forward(input), [observations.shape[0]]);
  }
}

/** `μ(s) = tanh(MLP(s))` in [−1, 1]^d (SB3 TD3 `Actor`, `squash_output=True`). */
export class DeterministicActor extends Module {
  readonly mu: MLP;

  constructor(
    observationSize: number,
    actionDim: number,
    rng: Rng,
    options: Required<ContinuousPolicyOptions>,
  ) {
    super();
    this.mu = this.registerModule(
      "mu",
      new MLP([observationSize, ...options.netArch, actionDim], {
        rng,
        activation: options.activation,
        outputActivation: "tanh",
      }),
    );
  }

  forward(observations: Tensor): Tensor {
    return this.mu.forward(observations);
  }
}

/**
 * SAC's actor (SB3 `sac/policies.py` `Actor` without gSDE): a trunk `MLP(s)` with the activation after
 * every layer, then linear heads for the mean μ and the log standard deviation `log σ` (clamped to
 * [−20, 2] where it is used, {@link squashedGaussianSample}).
 */
export class SquashedGaussianActor extends Module {
  readonly latent: MLP | null;
  readonly mu: Linear;
  readonly logStd: Linear;

  constructor(
    observationSize: number,
    actionDim: number,
    rng: Rng,
    options: Required<ContinuousPolicyOptions>,
  ) {
    super();
    const { netArch, activation } = options;
    this.latent =
      netArch.length === 0
        ? null
        : this.registerModule(
            "latent",
            new MLP([observationSize, ...netArch], { rng, activation, outputActivation: activation }),
          );
    const last = netArch.length === 0 ? observationSize : netArch[netArch.length - 1];
    this.mu = this.registerModule("mu", new Linear(last, actionDim, { rng }));
    this.logStd = this.registerModule("logStd", new Linear(last, actionDim, { rng }));
  }

  /** μ and the unclamped log σ, each [B, dim]. */
  forward(observations: Tensor): { mean: Tensor; logStd: Tensor } {
    const h = this.latent === null ? observations : this.latent.forward(observations);
    return { mean: this.mu.forward(h), logStd: this.logStd.forward(h) };
  }
}

/** Sizes of the continuous-action networks, from the env's spaces. */
export function continuousSizes(
  observationSpace: Space,
  actionSpace: Box,
): { observationSize: number; actionDim: number } {
  return { observationSize: flatSize(observationSpace), actionDim: actionSpace.size };
}

/** A target copy of `online`: built by `make`, then loaded with `online`'s weights. */
export function targetCopy<M extends Module>(online: M, make: () => M): M {
  const target = make();
  target.loadStateDict(online.stateDict());
  target.eval();
  return target;
}

/** θ' ← (1 − τ) θ' + τ θ for a module and its target copy ({@link polyakUpdate}). */
export function updateTargetModule(online: Module, target: Module, tau: number): void {
  polyakUpdate(online.namedParameters(), target.namedParameters(), tau);
}
