/**
 * The pieces of Ape-X D4PG (Barth-Maron et al. 2018, arXiv:1804.08617, Algorithm 1 "Actor", with
 * Ape-X's actor-side priorities, Horgan et al. 2018, arXiv:1803.00933, Algorithm 1) that live on
 * the actors: acting with the deterministic actor plus exploration noise, and the initial priority
 * of each n-step transition.
 */
import type { Box } from "../../../envs/spaces/box.js";
import { Module } from "../../../nn/module.js";
import * as ops from "../../../tensor/ops.js";
import { noGrad } from "../../../tensor/tensor.js";
import type { ActionNoise } from "../../common/actionNoise.js";
import { clipUnit, noisyEnvActions, scaleAction } from "../../common/actionScaling.js";
import { rowsTensor } from "../../common/continuousPolicies.js";
import type { DistributionalActorCriticPolicy } from "../../common/distributionalActorCritic.js";
import { distributionalCriticLoss } from "../../common/distributionalLosses.js";
import type { TransitionActing } from "./transitionCollector.js";

/**
 * The networks a learner publishes to Ape-X D4PG actors: the actor μ (to act) and the critic Z (to
 * rate transitions), without the target copies the actors never use (half the bytes). State dict
 * `actor.*`, `critic.*`, the same tensors as the policy's.
 */
export class D4PGActingNetworks extends Module {
  constructor(policy: DistributionalActorCriticPolicy) {
    super();
    this.registerModule("actor", policy.actor);
    this.registerModule("critic", policy.critic);
  }
}

/**
 * Ape-X D4PG's way of acting ({@link TransitionActing}): `clip(μ(s) + noise, −1, 1)` in the scaled
 * space, rescaled to the env's bounds (as the single-process D4PG explores), the replay row holding
 * the scaled action; `noise` null acts greedily. The initial priority of a transition is the
 * per-sample cross-entropy of the critic loss (the learner's priority, Rainbow's choice for a
 * distributional critic) computed with the actor's copies: its critic both rates `(s, a)` and, with
 * its actor, gives the bootstrap distribution at `s'` (an actor has no target networks, as Ape-X's
 * actors compute `|δ|` with their local network).
 */
export function apexD4pgActing(
  policy: DistributionalActorCriticPolicy,
  noise: ActionNoise | null,
  box: Box,
  gamma: number,
): TransitionActing {
  const obsSize = policy.observationSize;
  const d = policy.actionDim;
  return {
    network: new D4PGActingNetworks(policy),
    observationSize: obsSize,
    actionWidth: d,
    actionDtype: "float32",
    act(observations, n, rng) {
      const scaled = policy.actions(observations, n);
      // the actors see no training progress: the noise keeps its initial σ (as D4PG's actor threads)
      const envActions = noisyEnvActions(scaled, noise?.sample(rng, 1) ?? null, box);
      return { envActions, bufferActions: clipUnit(scaleAction(envActions, box)) };
    },
    episodesDone(dones) {
      noise?.reset(dones);
    },
    priorities(batch, count) {
      return noGrad(() => {
        const next = rowsTensor(batch.nextObservations, count, obsSize, "next observations");
        const nextProbs = ops.softmax(policy.critic.forward(next, policy.actor.forward(next)), -1).values;
        const obs = rowsTensor(batch.observations, count, obsSize, "observations");
        const actions = rowsTensor(batch.actions as Float32Array, count, d, "actions");
        return distributionalCriticLoss({
          logits: policy.critic.forward(obs, actions),
          nextProbs,
          rewards: batch.rewards,
          dones: batch.terminated,
          steps: batch.steps,
          gamma,
          vMin: policy.options.vMin,
          vMax: policy.options.vMax,
        }).perSample;
      });
    },
  };
}
