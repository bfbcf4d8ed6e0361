/**
 * A vector-env wrapper that replaces the env's reward with a learned one, `r(s, a)`, computed from
 * the observation each action was taken in (GAIL's discriminator reward), and keeps every
 * (s, a) pair it saw until {@link DiscriminatorRewardEnv.drainPairs} so the discriminator can be
 * trained on the policy's own samples. Put a `VectorRecordEpisodeStatistics` below it to keep the
 * env's true returns in the logs (the on-policy base reads the innermost one).
 */
import type {
  VectorEnv,
  VectorResetOptions,
  VectorResetResult,
  VectorStepResult,
} from "../../envs/vector/vectorEnv.js";
import { VectorWrapper } from "../../envs/vector/vectorWrapper.js";
import { ProximalError } from "../../errors.js";
import type { Transitions } from "./demonstrations.js";

/** Rewards `[numEnvs]` for observations `[numEnvs * obsSize]` and the actions taken in them. */
export type PairReward = (observations: Float32Array, actions: Int32Array | Float32Array) => Float32Array;

/**
 * Replaces each step's reward with `reward(observations, actions)` of the observations the actions
 * were taken in, and keeps those pairs for {@link DiscriminatorRewardEnv.drainPairs}.
 */
export class DiscriminatorRewardEnv extends VectorWrapper {
  private lastObservations: Float32Array | null = null;
  private readonly observationChunks: Float32Array[] = [];
  private readonly actionChunks: (Int32Array | Float32Array)[] = [];

  constructor(
    env: VectorEnv,
    private readonly reward: PairReward,
  ) {
    super(env);
  }

  override reset(opts?: VectorResetOptions): VectorResetResult {
    const result = this.env.reset(opts);
    // a masked reset returns every row, the others unchanged
    this.lastObservations = result.observations.slice();
    return result;
  }

  override step(actions: Int32Array | Float32Array): VectorStepResult {
    const observations = this.lastObservations;
    if (observations === null) {
      throw new ProximalError("RESET_NEEDED", "DiscriminatorRewardEnv: call reset() before step().");
    }
    const result = this.env.step(actions);
    this.observationChunks.push(observations);
    this.actionChunks.push(actions.slice());
    this.lastObservations = result.observations.slice();
    return { ...result, rewards: this.reward(observations, actions) };
  }

  // resuming a run restores the env and steps on without a reset: the last observations go with it
  protected override wrapperState(): unknown {
    return this.lastObservations === null ? null : Array.from(this.lastObservations);
  }

  protected override restoreWrapperState(state: unknown): void {
    this.lastObservations = Array.isArray(state) ? Float32Array.from(state as number[]) : null;
  }

  /** The (s, a) pairs stepped since the last call, and forget them. */
  drainPairs(): Transitions {
    const size = this.observationChunks.length * this.numEnvs;
    const observations = new Float32Array(this.observationChunks.reduce((a, c) => a + c.length, 0));
    const isFloat = this.actionChunks[0] instanceof Float32Array;
    const actionLength = this.actionChunks.reduce((a, c) => a + c.length, 0);
    const actions = isFloat ? new Float32Array(actionLength) : new Int32Array(actionLength);
    let o = 0;
    let a = 0;
    for (let k = 0; k < this.observationChunks.length; k++) {
      observations.set(this.observationChunks[k], o);
      actions.set(this.actionChunks[k], a);
      o += this.observationChunks[k].length;
      a += this.actionChunks[k].length;
    }
    this.observationChunks.length = 0;
    this.actionChunks.length = 0;
    return { observations, actions, size };
  }
}
