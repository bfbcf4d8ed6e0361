/**
 * The networks of D4PG (Barth-Maron et al. 2018, arXiv:1804.08617): a deterministic actor `μ_θ(s)`
 * (tanh output, actions in the scaled space [−1, 1] as DDPG/TD3 here and SB3) and a categorical
 * distributional critic `Z_w(s, a)`: an MLP on `[s, a]` whose `atoms` outputs are the logits of the
 * probabilities `p_i(s, a)` of the fixed support `z_i` (C51's, `categoricalSupport`), with target
 * copies of both. State dict: `actor.*`, `actorTarget.*`, `critic.*`, `criticTarget.*`.
 */
import { categoricalSupport } from "../../distributions/categoricalReturns.js";
import type { Box } from "../../envs/spaces/box.js";
import type { Space } from "../../envs/spaces/space.js";
import { MLP } from "../../nn/mlp.js";
import { Module } from "../../nn/module.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, type Tensor } from "../../tensor/tensor.js";
import type { ContinuousPolicyOptions } from "./continuousPolicies.js";
import {
  continuousSizes,
  DeterministicActor,
  resolvePolicyOptions,
  rowsTensor,
  targetCopy,
} from "./continuousPolicies.js";

/** A critic whose output is a categorical distribution over `atoms` returns (its logits). */
export class DistributionalCritic extends Module {
  readonly net: MLP;

  constructor(
    observationSize: number,
    actionDim: number,
    atoms: number,
    rng: Rng,
    options: Required<ContinuousPolicyOptions>,
  ) {
    super();
    this.net = this.registerModule(
      "net",
      new MLP([observationSize + actionDim, ...options.netArch, atoms], {
        rng,
        activation: options.activation,
      }),
    );
  }

  /** The logits of `p(s, a)`, [B, atoms], for observations [B, obs] and scaled actions [B, dim]. */
  forward(observations: Tensor, actions: Tensor): Tensor {
    return this.net.forward(ops.concat([observations, actions], 1));
  }
}

/** The resolved network options a saved D4PG model records. */
export interface DistributionalPolicyOptions extends Required<ContinuousPolicyOptions> {
  atoms: number;
  vMin: number;
  vMax: number;
}

/** D4PG's actor, critic and their targets, with the critic's support. */
export class DistributionalActorCriticPolicy extends Module {
  readonly observationSize: number;
  readonly actionDim: number;
  readonly options: DistributionalPolicyOptions;
  /** The support `z_i = vMin + i Δz` (float64). */
  readonly support: Float64Array;
  readonly actor: DeterministicActor;
  readonly actorTarget: DeterministicActor;
  readonly critic: DistributionalCritic;
  readonly criticTarget: DistributionalCritic;

  constructor(
    observationSpace: Space,
    actionSpace: Box,
    rng: Rng,
    options: ContinuousPolicyOptions | undefined,
    support: { atoms: number; vMin: number; vMax: number },
    defaultNetArch: number[],
  ) {
    super();
    const resolved = resolvePolicyOptions(options, defaultNetArch);
    this.support = categoricalSupport(support.atoms, support.vMin, support.vMax);
    this.options = { ...resolved, ...support };
    const { observationSize, actionDim } = continuousSizes(observationSpace, actionSpace);
    this.observationSize = observationSize;
    this.actionDim = actionDim;
    this.actor = this.registerModule(
      "actor",
      new DeterministicActor(observationSize, actionDim, rng, resolved),
    );
    this.actorTarget = this.registerModule(
      "actorTarget",
      targetCopy(this.actor, () => new DeterministicActor(observationSize, actionDim, rng.spawn(), resolved)),
    );
    this.critic = this.registerModule(
      "critic",
      new DistributionalCritic(observationSize, actionDim, support.atoms, rng, resolved),
    );
    this.criticTarget = this.registerModule(
      "criticTarget",
      targetCopy(
        this.critic,
        () => new DistributionalCritic(observationSize, actionDim, support.atoms, rng.spawn(), resolved),
      ),
    );
  }

  /** μ(s) in [−1, 1] for observations `[batch * obsSize]`, without a graph. */
  actions(observations: Float32Array, batch: number): Float32Array {
    return noGrad(
      () => this.actor.forward(rowsTensor(observations, batch, this.observationSize, "actor")).values,
    );
  }

  /** The actor's parameters as one flat array (what actor workers receive). */
  actorWeights(): Float32Array {
    const params = this.actor.parameters();
    const out = new Float32Array(params.reduce((n, p) => n + p.size, 0));
    let offset = 0;
    for (const p of params) {
      out.set(p.values, offset);
      offset += p.size;
    }
    return out;
  }

  /** Overwrite the actor's parameters from {@link actorWeights} of a policy of the same shape. */
  setActorWeights(flat: Float32Array): void {
    let offset = 0;
    for (const p of this.actor.parameters()) {
      p.values.set(flat.subarray(offset, offset + p.size));
      offset += p.size;
    }
  }
}
