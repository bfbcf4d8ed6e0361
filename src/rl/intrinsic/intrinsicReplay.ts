/**
 * The off-policy side of intrinsic rewards, used by {@link OffPolicyAlgorithm} (so DQN and its
 * family get it without code of their own). The bonus is computed when a minibatch is sampled,
 * with the module as it is now, not when the transition was stored: novelty fades as the module
 * learns, and a bonus frozen into the buffer would keep paying for states long since explored
 * (as in Burda et al. 2018's and Pathak et al. 2017's on-policy use, where rewards are always
 * fresh). The minibatch then also trains the module (one gradient step per sampled batch). The
 * statistics the bonus depends on (RND's observation and return normalisers) are updated from the
 * transitions as they are collected, in the order the env produced them.
 *
 * Two ways to use the bonus:
 * - one stream (the default, and ICM's): `r = r_ext + coef·r_int`, bootstrapped episodically like
 *   the extrinsic reward;
 * - RND's two streams (Burda et al. 2018, §2.3), for an algorithm with scalar Q-values that calls
 *   {@link IntrinsicReplay.enableIntrinsicCritic} (DQN): the replayed rewards stay extrinsic, and a
 *   separate intrinsic Q-function learns the non-episodic intrinsic return,
 *   `y_int = r_int + γ_int·max_a Q_int_target(s', a)` whether or not the episode ended there
 *   ({@link intrinsicQTargets}); the agent explores ε-greedily on `Q_ext + coef·Q_int` and its
 *   greedy (evaluation) policy is `Q_ext`'s alone. Not in the paper (which is on-policy: two
 *   value heads and `A = c_ext·A_ext + c_int·A_int`): the off-policy analogue of its two heads,
 *   with `coef` in the role of c_int / c_ext. Where an episode ended, s' is the final observation
 *   (the reset one is not stored), so the intrinsic return continues from the state the episode
 *   ended in.
 */
import type { Space } from "../../envs/spaces/space.js";
import { addPrefix, withPrefix } from "../../io/checkpoint.js";
import { Adam } from "../../optim/adam.js";
import { clipGradNorm } from "../../optim/clipGradNorm.js";
import type { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { huberLoss, tdTargets } from "../common/deepQLosses.js";
import { QPolicy, type QPolicyOptions } from "../common/qPolicy.js";
import type { ReplaySample } from "../replay/replayBuffer.js";
import { createIntrinsicReward } from "./createIntrinsicReward.js";
import type { IntrinsicRewardModule, IntrinsicState, ResolvedIntrinsicOptions } from "./intrinsicReward.js";

/**
 * Targets of the intrinsic Q-function, the non-episodic intrinsic return (Burda et al. 2018, §2.3,
 * "non-episodic"): `y_int = r_int + γ_int·max_a Q_int_target(s', a)` for every row, episode end or
 * not, since novelty found after a reset is still a consequence of the agent's behaviour.
 * `nextQTarget` is `[batch * nActions]`.
 *
 * @example
 * // by hand: 0.5 + 0.9·max(1, 2) = 2.3 for both rows; there is no done mask to pass
 * intrinsicQTargets(new Float32Array([0.5, 0.5]), new Float32Array([1, 2, 2, 1]), 2, 0.9);
 * // Float32Array [2.3, 2.3]
 */
export function intrinsicQTargets(
  rewards: Float32Array,
  nextQTarget: Float32Array,
  nActions: number,
  gammaIntrinsic: number,
): Float32Array {
  const n = rewards.length;
  return tdTargets({
    rewards,
    dones: new Float32Array(n), // never cut: non-episodic
    nextQTarget,
    nextQOnline: null,
    nextMasks: null,
    nActions,
    gamma: gammaIntrinsic,
  });
}

/** Intrinsic rewards for replayed minibatches; see the file comment. */
export class IntrinsicReplay {
  readonly module: IntrinsicRewardModule;
  /** RND's intrinsic Q-function Q_int (online and target) and its optimizer; null for one stream. */
  private critic: { policy: QPolicy; optimizer: Adam; maxGradNorm: number } | null = null;
  private collectedSum = 0;
  private collectedCount = 0;
  private sums: Record<string, number> = {};
  private updates = 0;

  constructor(
    readonly options: ResolvedIntrinsicOptions,
    observationSpace: Space,
    actionSpace: Space,
    rng: Rng,
  ) {
    this.module = createIntrinsicReward(options, observationSpace, actionSpace, rng);
  }

  /**
   * true once {@link enableIntrinsicCritic} has built the intrinsic Q-function: replayed rewards stay
   * extrinsic and the agent should act on {@link actingValues}.
   */
  get separateStream(): boolean {
    return this.critic !== null;
  }

  /**
   * Give RND its own non-episodic intrinsic Q-function (see the file comment), with the agent's
   * Q-network architecture and gradient clipping and the module's learning rate. A no-op for
   * modules whose bonus is one stream with the extrinsic reward (ICM); call it right after
   * construction (it draws the network's initial weights from `rng`).
   */
  enableIntrinsicCritic(
    observationSpace: Space,
    actionSpace: Space,
    rng: Rng,
    policy: QPolicyOptions | undefined,
    maxGradNorm: number,
  ): void {
    if (!this.module.separateStream) return;
    const q = new QPolicy(observationSpace, actionSpace, rng, policy);
    this.critic = {
      policy: q,
      optimizer: new Adam(q.qNet.parameters(), { lr: this.options.learningRate }),
      maxGradNorm,
    };
  }

  /** `Q_ext + coef·Q_int` (`[batch * nActions]`) for exploring actions; `qExtrinsic` unchanged for one stream. */
  actingValues(qExtrinsic: Float32Array, observations: Float32Array, batch: number): Float32Array {
    if (this.critic === null) return qExtrinsic;
    const qIntrinsic = this.critic.policy.qValues(observations, batch);
    const out = new Float32Array(qExtrinsic.length);
    for (let i = 0; i < out.length; i++) out[i] = qExtrinsic[i] + this.options.coef * qIntrinsic[i];
    return out;
  }

  /** Move Q_int's target network toward the online one (with the agent's own target updates). */
  updateTarget(tau: number): void {
    this.critic?.policy.updateTarget(tau);
  }

  /** Update the module's statistics with one collected vector step (`n` transitions). */
  observeStep(
    observations: Float32Array,
    actions: Int32Array | Float32Array,
    nextObservations: Float32Array,
    n: number,
  ): void {
    this.module.observe(nextObservations, n);
    const raw = this.module.rewards(observations, actions, nextObservations, n);
    this.module.updateRewardStatistics(raw, n);
    const scaled = this.module.scaleRewards(raw);
    for (let i = 0; i < n; i++) this.collectedSum += scaled[i];
    this.collectedCount += n;
  }

  /**
   * One stream: the minibatch with `r + coef·r_int` as its rewards (a new sample). Two streams: the
   * minibatch unchanged, after one step of Q_int toward {@link intrinsicQTargets}. Either way the
   * module then takes one step on the minibatch.
   */
  augment(batch: ReplaySample, rng: Rng): ReplaySample {
    const { observations, actions, nextObservations, size } = batch;
    const bonus = this.module.scaleRewards(
      this.module.rewards(observations, actions, nextObservations, size),
    );
    let out = batch;
    if (this.critic === null) {
      const rewards = new Float32Array(size);
      for (let i = 0; i < size; i++) rewards[i] = batch.rewards[i] + this.options.coef * bonus[i];
      out = { ...batch, rewards };
    } else {
      this.accumulate(this.criticStep(batch, bonus));
    }
    this.accumulate(this.module.update(observations, actions, nextObservations, size, rng));
    this.updates++;
    return out;
  }

  /** `intrinsic/...` diagnostics since the last call: the mean bonus collected and the module's losses. */
  drainStats(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.collectedCount > 0) out["intrinsic/rewardMean"] = this.collectedSum / this.collectedCount;
    for (const [key, value] of Object.entries(this.sums)) out[key] = value / this.updates;
    this.collectedSum = 0;
    this.collectedCount = 0;
    this.sums = {};
    this.updates = 0;
    return out;
  }

  state(): IntrinsicState {
    const inner = this.module.state();
    const tensors: Record<string, Tensor> = { ...inner.tensors };
    const json: Record<string, unknown> = {
      module: inner.json,
      collectedSum: this.collectedSum,
      collectedCount: this.collectedCount,
      sums: this.sums,
      updates: this.updates,
    };
    if (this.critic !== null) {
      const optimizer = this.critic.optimizer.getState();
      Object.assign(tensors, addPrefix(this.critic.policy.stateDict(), "intrinsicQ"));
      Object.assign(tensors, addPrefix(optimizer.tensors, "intrinsicQOptimizer"));
      json.intrinsicQOptimizer = optimizer.json;
    }
    return { tensors, json };
  }

  loadState(state: IntrinsicState): void {
    const own = (name: string) => name.startsWith("intrinsicQ.") || name.startsWith("intrinsicQOptimizer.");
    const moduleTensors = Object.fromEntries(Object.entries(state.tensors).filter(([k]) => !own(k)));
    this.module.loadState({ tensors: moduleTensors, json: state.json.module as Record<string, unknown> });
    this.collectedSum = Number(state.json.collectedSum ?? 0);
    this.collectedCount = Number(state.json.collectedCount ?? 0);
    this.sums = { ...((state.json.sums as Record<string, number>) ?? {}) };
    this.updates = Number(state.json.updates ?? 0);
    if (this.critic !== null) {
      this.critic.policy.loadStateDict(withPrefix(state.tensors, "intrinsicQ"));
      this.critic.optimizer.setState({
        tensors: withPrefix(state.tensors, "intrinsicQOptimizer"),
        json: state.json.intrinsicQOptimizer as never,
      });
    }
  }

  private accumulate(stats: Record<string, number>): void {
    for (const [key, value] of Object.entries(stats)) this.sums[key] = (this.sums[key] ?? 0) + value;
  }

  /** One Huber-loss step of Q_int(s, a) toward {@link intrinsicQTargets}; returns its diagnostics. */
  private criticStep(batch: ReplaySample, bonus: Float32Array): Record<string, number> {
    const { policy, optimizer, maxGradNorm } = this.critic!;
    const b = batch.size;
    const nextQ = noGrad(
      () => policy.qNetTarget.forward(policy.observationTensor(batch.nextObservations, b)).values,
    );
    const targets = intrinsicQTargets(
      bonus,
      nextQ as Float32Array,
      policy.nActions,
      this.options.gammaIntrinsic,
    );
    const q = policy.qNet.forward(policy.observationTensor(batch.observations, b));
    const taken = ops.takeAlongLastAxis(q, new Tensor(batch.actions as Int32Array, [b]));
    const loss = huberLoss(taken, new Tensor(targets, [b]));
    optimizer.zeroGrad();
    loss.backward();
    clipGradNorm(policy.qNet.parameters(), maxGradNorm);
    optimizer.step();
    let sum = 0;
    for (const v of taken.values) sum += v;
    return { "intrinsic/valueLoss": loss.item(), "intrinsic/qValue": sum / b };
  }
}
