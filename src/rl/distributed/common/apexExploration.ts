/**
 * The pieces of Ape-X DQN (Horgan et al. 2018, "Distributed Prioritized Experience Replay",
 * arXiv:1803.00933) that live on the actors: each actor's fixed exploration rate, the initial
 * priority it gives the transitions it sends, and the two as the actor's way of acting.
 */
import { categoricalCrossEntropy } from "../../../distributions/categoricalReturns.js";
import { ProximalError } from "../../../errors.js";
import * as ops from "../../../tensor/ops.js";
import { noGrad, Tensor } from "../../../tensor/tensor.js";
import { categoricalTargets, type TdTargetInputs, tdTargets } from "../../common/deepQLosses.js";
import type { QPolicy } from "../../common/qPolicy.js";
import type { TransitionActing } from "./transitionCollector.js";
import type { TransitionMessage } from "./transitionMessage.js";

/**
 * The ε of actor i of N (Horgan et al. 2018, §4.1): `ε_i = ε^(1 + α·i/(N−1))`, so the actors span
 * from ε (i = 0) to ε^(1+α) (i = N−1); one actor gets ε. The paper uses ε = 0.4 and α = 7. Each
 * actor keeps its ε for the whole run (no annealing): the spread of behaviours replaces the schedule.
 *
 * @example
 * apexEpsilon(0, 4); // 0.4
 * apexEpsilon(3, 4); // 0.4^8 ≈ 6.6e-4
 */
export function apexEpsilon(index: number, numActors: number, epsilon = 0.4, alpha = 7): number {
  if (
    !Number.isInteger(numActors) ||
    numActors < 1 ||
    !Number.isInteger(index) ||
    index < 0 ||
    index >= numActors
  ) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `apexEpsilon: actor index ${index} must be an integer in 0 … numActors − 1, with numActors (${numActors}) an integer >= 1.`,
    );
  }
  if (!(epsilon >= 0 && epsilon <= 1) || !(alpha >= 0) || !Number.isFinite(alpha)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `apexEpsilon: epsilon must be in [0, 1] and alpha a finite number >= 0, got ${epsilon} and ${alpha} (the paper uses 0.4 and 7).`,
    );
  }
  if (numActors === 1) return epsilon;
  return epsilon ** (1 + (alpha * index) / (numActors - 1));
}

/** Inputs of {@link apexPriorities}: the TD target's inputs and the actor's `Q(s, a)` of the taken actions. */
export interface ApexPriorityInputs extends TdTargetInputs {
  /** `Q(s_t, a_t)` of the actor's copy of the online network, [B]. */
  qTaken: ArrayLike<number>;
}

/**
 * Initial priorities of n-step transitions, computed by the actor that collected them (Horgan et al.
 * 2018, §3 and Algorithm 1, line 9: "compute priorities" before adding to the replay): the absolute
 * n-step TD error `p_t = |δ_t|`, `δ_t = G_t + γ^k (1 − done) Q(s_{t+k}, argmax_a Q(s_{t+k}, a)) − Q(s_t, a_t)`
 * with `G_t = Σ_{j<k} γ^j r_{t+j}` (the paper's learner uses double Q-learning with a target network;
 * an actor only has its copy of the online network, so that copy both chooses and values, as the
 * paper's actors do with their local network). The replay buffer then stores `(p + ε)^α` like any
 * other priority. Without these, new transitions would get the buffer's maximum priority and a
 * flood from many actors would swamp the sampling (§3).
 *
 * @example
 * // by hand: Q(s,a) = 1, r = 1, γ = 0.5, k = 1, max Q(s') = 2 → |1 + 0.5·2 − 1| = 1
 * apexPriorities({ qTaken: [1], rewards: [1], dones: [0], nextQTarget: [2, 0], nActions: 2, gamma: 0.5 }); // [1]
 */
export function apexPriorities(inputs: ApexPriorityInputs): Float32Array {
  const targets = tdTargets(inputs);
  if (inputs.qTaken.length !== targets.length) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `apexPriorities: qTaken has ${inputs.qTaken.length} values for ${targets.length} transitions.`,
    );
  }
  const out = new Float32Array(targets.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.abs(targets[i] - inputs.qTaken[i]);
  return out;
}

/** Inputs of {@link apexCategoricalPriorities}: C51 logits of the actor's copy of the online network. */
export interface ApexCategoricalPriorityInputs {
  /** Atom logits of the taken actions at `s_t`, [B * N]. */
  takenLogits: Float32Array;
  /** Atom logits of every action at `s_{t+k}`, [B * A * N]. */
  nextLogits: Float32Array;
  /** The support `z_j`, [N]. */
  support: ArrayLike<number>;
  vMin: number;
  vMax: number;
  rewards: ArrayLike<number>;
  dones: ArrayLike<number>;
  steps?: ArrayLike<number>;
  nActions: number;
  gamma: number;
}

/**
 * Initial priorities of n-step transitions for an Ape-X actor whose Q-network is categorical (C51,
 * Bellemare et al. 2017): the cross-entropy `−Σ_j m_j log p_j(s_t, a_t)` between the projected
 * target `m` ({@link categoricalTargets}: `r + γ^k (1 − done) z` under `p(s_{t+k}, a*)`,
 * `a* = argmax_a Σ_j z_j p_j(s_{t+k}, a)`) and the predicted distribution. It is the quantity the
 * learner's prioritised C51 update writes back as the priority (Hessel et al. 2018, §"Prioritized
 * replay": the KL loss, which differs from this cross-entropy by the target's entropy only), so the
 * actors' and the learner's priorities are on one scale. As for {@link apexPriorities}, the actor's
 * one network both chooses and values the bootstrap.
 */
export function apexCategoricalPriorities(inputs: ApexCategoricalPriorityInputs): Float32Array {
  const atoms = inputs.support.length;
  const b = inputs.rewards.length;
  if (inputs.takenLogits.length !== b * atoms || inputs.nextLogits.length !== b * inputs.nActions * atoms) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `apexCategoricalPriorities: expected ${b * atoms} taken logits and ${b * inputs.nActions * atoms} next logits (${b} rows, ${inputs.nActions} actions, ${atoms} atoms), got ${inputs.takenLogits.length} and ${inputs.nextLogits.length}.`,
    );
  }
  return noGrad(() => {
    const nextProbs = ops.softmax(new Tensor(inputs.nextLogits, [b * inputs.nActions, atoms]), -1).values;
    const target = categoricalTargets({
      nextProbs,
      support: inputs.support,
      rewards: inputs.rewards,
      dones: inputs.dones,
      steps: inputs.steps,
      nActions: inputs.nActions,
      gamma: inputs.gamma,
      vMin: inputs.vMin,
      vMax: inputs.vMax,
    });
    return categoricalCrossEntropy(new Tensor(inputs.takenLogits, [b, atoms]), target).perSample;
  });
}

/**
 * Ape-X DQN's way of acting ({@link TransitionActing}): ε-greedy on the actor's copy of the
 * Q-network with its fixed ε ({@link apexEpsilon}), one ε draw per env (each env of the actor
 * explores on its own, Algorithm 1's π_θ ε-greedy), and {@link apexPriorities} from the same copy
 * ({@link apexCategoricalPriorities} when the network is categorical).
 */
export function apexDqnActing(policy: QPolicy, epsilon: number, gamma: number): TransitionActing {
  const nActions = policy.nActions;
  return {
    network: policy.qNet,
    observationSize: policy.observationSize,
    actionWidth: 1,
    actionDtype: "int32",
    act(observations, n, rng) {
      const greedy = policy.greedyActions(policy.qValues(observations, n), n);
      const actions = new Int32Array(n);
      for (let i = 0; i < n; i++) actions[i] = rng.uniform() < epsilon ? rng.integer(nActions) : greedy[i];
      return { envActions: actions, bufferActions: actions };
    },
    episodesDone() {},
    priorities(batch, count) {
      const support = policy.qNet.support;
      if (support !== null) return categoricalPriorities(policy, support, batch, count, gamma);
      const q = policy.qValues(batch.observations, count);
      const qTaken = new Float32Array(count);
      for (let i = 0; i < count; i++) qTaken[i] = q[i * nActions + batch.actions[i]];
      return apexPriorities({
        qTaken,
        rewards: batch.rewards,
        dones: batch.terminated,
        steps: batch.steps,
        nextQTarget: policy.qValues(batch.nextObservations, count),
        nActions,
        gamma,
      });
    },
  };
}

/** {@link apexCategoricalPriorities} of a message's transitions, from the actor's categorical network. */
function categoricalPriorities(
  policy: QPolicy,
  support: Float32Array,
  batch: TransitionMessage["batch"],
  count: number,
  gamma: number,
): Float32Array {
  const nActions = policy.nActions;
  const atoms = support.length;
  const logitsOf = (obs: Float32Array) =>
    noGrad(() => policy.qNet.forwardLogits(policy.observationTensor(obs, count)).values);
  const all = logitsOf(batch.observations);
  const takenLogits = new Float32Array(count * atoms);
  for (let i = 0; i < count; i++) {
    const from = (i * nActions + batch.actions[i]) * atoms;
    takenLogits.set(all.subarray(from, from + atoms), i * atoms);
  }
  return apexCategoricalPriorities({
    takenLogits,
    nextLogits: logitsOf(batch.nextObservations),
    support,
    vMin: support[0],
    vMax: support[atoms - 1],
    rewards: batch.rewards,
    dones: batch.terminated,
    steps: batch.steps,
    nActions,
    gamma,
  });
}
