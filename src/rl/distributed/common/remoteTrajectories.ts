import { ProximalError } from "../../../errors.js";
import type { UpdateStats } from "../../common/onPolicyAlgorithm.js";
import { decodeTrajectory, type Trajectory, type TrajectoryExpectation } from "./trajectoryMessage.js";
import type { Transport } from "./transport.js";

/** Options of {@link RemoteTrajectories}. */
export interface RemoteTrajectoriesOptions {
  /** Drop (and count) trajectories collected more than this many updates ago; null keeps all. */
  maxPolicyLag: number | null;
  /** Fail when no valid trajectory arrived for this long (no actor running). */
  idleTimeoutMs: number;
  /** An actor counts as alive while it sent a trajectory within this window. @defaultValue 30000 */
  actorWindowMs?: number;
}

/**
 * The learner's side of the queue: takes trajectories from a {@link Transport}, validates each with
 * `decodeTrajectory`, and keeps the counts the learner logs. A malformed or foreign message is
 * rejected, counted and acknowledged (so it is never delivered again); it never reaches the loss and
 * never stops the learner. Valid trajectories are acknowledged by the caller once it has trained on
 * them, so a learner that dies mid-update gets them again after a restart.
 */
export class RemoteTrajectories {
  /** Messages that failed validation (wrong run, schema, sizes, bytes). */
  rejected = 0;
  /** Valid trajectories dropped for a policy lag above `maxPolicyLag`. */
  dropped = 0;
  /** Why the last message was rejected (for logs; never contains message bytes). */
  lastRejection: string | null = null;
  private readonly lastSeen = new Map<string, number>();
  private readonly lags: number[] = [];

  constructor(
    readonly transport: Transport,
    private readonly expectation: TrajectoryExpectation,
    private readonly options: RemoteTrajectoriesOptions,
  ) {}

  /**
   * The next `count` valid trajectories with their message ids (to {@link ack} after training).
   * @throws {@link ProximalError} `TRANSPORT_UNAVAILABLE` after `idleTimeoutMs` without one.
   */
  async next(count: number, learnerVersion: number): Promise<{ trajectories: Trajectory[]; ids: string[] }> {
    const trajectories: Trajectory[] = [];
    const ids: string[] = [];
    let lastArrival = Date.now();
    while (trajectories.length < count) {
      const messages = await this.transport.consume(count - trajectories.length, 200);
      const discard: string[] = [];
      for (const message of messages) {
        let trajectory: Trajectory;
        try {
          trajectory = decodeTrajectory(message.data, this.expectation);
          if (trajectory.policyVersion > learnerVersion) {
            throw new ProximalError(
              "MALFORMED_MESSAGE",
              `trajectory message rejected: it claims weights version ${trajectory.policyVersion}, ahead of the learner's ${learnerVersion} (an actor of an earlier learner of this run; it refreshes by itself).`,
            );
          }
        } catch (error) {
          if (!(error instanceof ProximalError)) throw error;
          this.rejected++;
          this.lastRejection = error.message;
          discard.push(message.id);
          continue;
        }
        this.lastSeen.set(trajectory.actorId, Date.now());
        const lag = learnerVersion - trajectory.policyVersion;
        if (this.options.maxPolicyLag !== null && lag > this.options.maxPolicyLag) {
          this.dropped++;
          discard.push(message.id);
          continue;
        }
        this.lags.push(lag);
        trajectories.push(trajectory);
        ids.push(message.id);
        lastArrival = Date.now();
      }
      await this.transport.ack(discard);
      if (trajectories.length < count && Date.now() - lastArrival > this.options.idleTimeoutMs) {
        throw new ProximalError(
          "TRANSPORT_UNAVAILABLE",
          `no trajectory arrived for ${Math.round(this.options.idleTimeoutMs / 1000)} s (${this.rejected} rejected${this.lastRejection === null ? "" : `, last: ${this.lastRejection}`}). Start actors: proximal actor --connect <url> --run ${this.expectation.runId}.`,
        );
      }
    }
    return { trajectories, ids };
  }

  /** Acknowledge trajectories the learner has trained on. */
  ack(ids: string[]): Promise<void> {
    return this.transport.ack(ids);
  }

  /** `distributed/...` metrics since the last call (lag over the trajectories used since then). */
  async stats(): Promise<UpdateStats> {
    const now = Date.now();
    const window = this.options.actorWindowMs ?? 30_000;
    let actors = 0;
    for (const seen of this.lastSeen.values()) if (now - seen <= window) actors++;
    const lags = this.lags.splice(0);
    const meanLag = lags.length === 0 ? 0 : lags.reduce((a, b) => a + b, 0) / lags.length;
    return {
      "distributed/actors": actors,
      "distributed/policyLag": meanLag,
      "distributed/maxPolicyLag": lags.length === 0 ? 0 : Math.max(...lags),
      "distributed/queueDepth": await this.transport.queueDepth(),
      "distributed/rejected": this.rejected,
      "distributed/dropped": this.dropped,
    };
  }
}
