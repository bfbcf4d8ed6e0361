import { ProximalError } from "../../errors.js";
import type { Env, ResetOptions, ResetResult, StepResult } from "../env.js";
import type { TransitionTable } from "../toyText/transitionTableEnv.js";
import { Wrapper } from "./wrapper.js";

/**
 * The shaping reward of one transition, `F(s, s') = γ·Φ(s') − Φ(s)` (Ng, Harada & Russell 1999,
 * "Policy invariance under reward transformations: theory and application to reward shaping",
 * ICML, Theorem 1), with `Φ(s') = 0` when the transition `terminated`: the episode ends in an
 * absorbing state whose potential must be 0 for the shaped returns of every policy to differ from
 * the unshaped ones by exactly `−Φ(s_0)` (Ng et al. 1999, §3 for undiscounted episodic tasks; Grześ
 * 2017, "Reward shaping in episodic reinforcement learning", AAMAS, for why a nonzero terminal
 * potential breaks the guarantee). A truncated transition (a time limit, not an MDP end) keeps
 * `γΦ(s')`: the agent bootstraps from s' there, so the potential of s' still counts.
 */
export function shapingReward(
  potential: number,
  nextPotential: number,
  gamma: number,
  terminated: boolean,
): number {
  return gamma * (terminated ? 0 : nextPotential) - potential;
}

/** Options of {@link PotentialShaping}. */
export interface PotentialShapingOptions<Obs> {
  /** The potential Φ(s) of an observation (any function of the state). */
  potential: (observation: Obs) => number;
  /** The discount γ of F = γΦ(s') − Φ(s); use the learner's γ for the policy-invariance guarantee. @defaultValue 0.99 */
  gamma?: number;
}

/**
 * Potential-based reward shaping (Ng et al. 1999): adds `F = γΦ(s') − Φ(s)` to every reward, with
 * `Φ(terminal) = 0` (see {@link shapingReward}). Any Φ leaves the optimal policies unchanged
 * (Theorem 1): Q*_shaped(s, a) = Q*(s, a) − Φ(s). A good Φ (an estimate of V*) makes the learner
 * see progress before the sparse reward arrives. The unshaped reward is kept in
 * `info.unshapedReward`; wrap `RecordEpisodeStatistics` inside this wrapper to log episode returns
 * in the env's own units.
 *
 * @example
 * // FrozenLake 8x8: potential = −(Manhattan distance to the goal) / 14
 * const env = new PotentialShaping(make("FrozenLake8x8-v1"), {
 *   potential: (s: number) => -((7 - Math.floor(s / 8)) + (7 - (s % 8))) / 14,
 *   gamma: 0.99,
 * });
 */
export class PotentialShaping<Obs = unknown, Act = unknown> extends Wrapper<Obs, Act> {
  readonly gamma: number;
  private readonly potential: (observation: Obs) => number;
  /** Φ of the current observation; null before the first reset. */
  private current: number | null = null;

  constructor(env: Env<Obs, Act>, options: PotentialShapingOptions<Obs>) {
    super(env);
    if (typeof options?.potential !== "function") {
      throw new ProximalError(
        "INVALID_OPTION",
        "PotentialShaping needs options.potential, a function from an observation to a number.",
      );
    }
    this.potential = options.potential;
    this.gamma = options.gamma ?? 0.99;
    if (!(this.gamma >= 0 && this.gamma <= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `PotentialShaping: gamma must be in [0, 1], got ${this.gamma}.`,
      );
    }
  }

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    const result = super.reset(opts);
    this.current = this.checkedPotential(result.observation);
    return result;
  }

  override step(action: Act): StepResult<Obs> {
    if (this.current === null) {
      throw new ProximalError("RESET_NEEDED", `${this.name}: call reset() before step() (PotentialShaping).`);
    }
    const result = super.step(action);
    const next = this.checkedPotential(result.observation);
    const shaping = shapingReward(this.current, next, this.gamma, result.terminated);
    this.current = next;
    return {
      ...result,
      reward: result.reward + shaping,
      info: { ...result.info, unshapedReward: result.reward },
    };
  }

  protected override wrapperState(): unknown {
    return { current: this.current };
  }

  protected override restoreWrapperState(state: unknown): void {
    const current = (state as { current?: number | null } | undefined)?.current;
    this.current = typeof current === "number" ? current : null;
  }

  private checkedPotential(observation: Obs): number {
    const value = this.potential(observation);
    if (!Number.isFinite(value)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `PotentialShaping: the potential returned ${value} for observation ${JSON.stringify(observation)}; it must be a finite number.`,
      );
    }
    return value;
  }
}

/**
 * A transition table with potential-based shaping applied to every reward (for dynamic programming
 * on the shaped MDP): `r + γ·Φ(s') − Φ(s)`, `Φ(s') = 0` on terminating transitions (see
 * {@link shapingReward}). `potential[s]` is Φ of state s.
 */
export function shapeTransitionTable(
  P: TransitionTable,
  potential: ArrayLike<number>,
  gamma: number,
): TransitionTable {
  if (potential.length !== P.length) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `shapeTransitionTable: ${potential.length} potentials for ${P.length} states; give one per state.`,
    );
  }
  return P.map((actions, s) =>
    actions.map((outcomes) =>
      outcomes.map(([probability, next, reward, terminated]) => [
        probability,
        next,
        reward + shapingReward(potential[s], potential[next], gamma, terminated),
        terminated,
      ]),
    ),
  ) as TransitionTable;
}
