/**
 * The off-policy side of intrinsic rewards, used by {@link OffPolicyAlgorithm} (so DQN and its
 * family get it without code of their own). The bonus is computed when a minibatch is sampled,
 * with the module as it is now, not when the transition was stored: novelty fades as the module
 * learns, and a bonus frozen into the buffer would keep paying for states long since explored
 * (as in Burda et al. 2018's and Pathak et al. 2017's on-policy use, where rewards are always
 * fresh). The minibatch then also trains the module (one gradient step per sampled batch). The
 * statistics the bonus depends on (RND's observation and return normalisers) are updated from the
 * transitions as they are collected, in the order the env produced them. Off-policy there is one
 * stream: `r = r_ext + coef·r_int`, bootstrapped episodically like the extrinsic reward (a replayed
 * transition has no separate intrinsic critic; not in either paper).
 */
import type { Space } from "../../envs/spaces/space.js";
import type { Rng } from "../../random/rng.js";
import type { ReplaySample } from "../replay/replayBuffer.js";
import { createIntrinsicReward } from "./createIntrinsicReward.js";
import type { IntrinsicRewardModule, IntrinsicState, ResolvedIntrinsicOptions } from "./intrinsicReward.js";

/** Intrinsic rewards for replayed minibatches; see the file comment. */
export class IntrinsicReplay {
  readonly module: IntrinsicRewardModule;
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

  /** The minibatch with `r + coef·r_int` as its rewards (a new sample), after one module step on it. */
  augment(batch: ReplaySample, rng: Rng): ReplaySample {
    const { observations, actions, nextObservations, size } = batch;
    const bonus = this.module.scaleRewards(
      this.module.rewards(observations, actions, nextObservations, size),
    );
    const rewards = new Float32Array(size);
    for (let i = 0; i < size; i++) rewards[i] = batch.rewards[i] + this.options.coef * bonus[i];
    const stats = this.module.update(observations, actions, nextObservations, size, rng);
    for (const [key, value] of Object.entries(stats)) this.sums[key] = (this.sums[key] ?? 0) + value;
    this.updates++;
    return { ...batch, rewards };
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
    return {
      tensors: inner.tensors,
      json: {
        module: inner.json,
        collectedSum: this.collectedSum,
        collectedCount: this.collectedCount,
        sums: this.sums,
        updates: this.updates,
      },
    };
  }

  loadState(state: IntrinsicState): void {
    this.module.loadState({ tensors: state.tensors, json: state.json.module as Record<string, unknown> });
    this.collectedSum = Number(state.json.collectedSum ?? 0);
    this.collectedCount = Number(state.json.collectedCount ?? 0);
    this.sums = { ...((state.json.sums as Record<string, number>) ?? {}) };
    this.updates = Number(state.json.updates ?? 0);
  }
}
