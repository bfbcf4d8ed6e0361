import { ProximalError } from "../../../errors.js";
import type { UpdateStats } from "../../common/onPolicyAlgorithm.js";
import { splitByPolicyLag } from "./policyLag.js";
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

/** What the learner reads from every message kind: who sent it and with which weights. */
export interface VersionedMessage {
  actorId: string;
  policyVersion: number;
}

/**
 * The learner's side of the queue, for any message kind (IMPALA's trajectories, Ape-X's
 * transitions): takes messages from a {@link Transport}, validates each with `decode`, and keeps the
 * counts the learner logs. A malformed or foreign message is rejected, counted and acknowledged (so
 * it is never delivered again); it never reaches the loss and never stops the learner. Valid
 * messages are acknowledged by the caller once it has used them, so a learner that dies mid-update
 * gets them again after a restart.
 */
export class RemoteMessages<T extends VersionedMessage> {
  /** Messages that failed validation (wrong run, schema, sizes, bytes). */
  rejected = 0;
  /** Valid messages dropped for a policy lag above `maxPolicyLag` ({@link splitByPolicyLag}). */
  droppedStale = 0;
  /** Why the last message was rejected (for logs; never contains message bytes). */
  lastRejection: string | null = null;
  private readonly lastSeen = new Map<string, number>();
  private readonly lags: number[] = [];

  constructor(
    readonly transport: Transport,
    /** Parse and validate one message; throws a {@link ProximalError} to reject it. */
    private readonly decode: (bytes: Uint8Array) => T,
    private readonly runId: string,
    private readonly options: RemoteTrajectoriesOptions,
    /** What a message holds, for the idle error ("trajectory", "transition"). */
    private readonly kind = "trajectory",
  ) {}

  /**
   * The valid messages among at most `max` delivered within `blockMs` (possibly none), with their
   * ids (to {@link ack} after use); rejected and lag-dropped ones are counted and acknowledged here.
   */
  async take(
    max: number,
    learnerVersion: number,
    blockMs: number,
  ): Promise<{ messages: T[]; ids: string[] }> {
    const delivered = await this.transport.consume(max, blockMs);
    const valid: { decoded: T; id: string }[] = [];
    const discard: string[] = [];
    for (const message of delivered) {
      let decoded: T;
      try {
        decoded = this.decode(message.data);
        if (decoded.policyVersion > learnerVersion) {
          throw new ProximalError(
            "MALFORMED_MESSAGE",
            `${this.kind} message rejected: it claims weights version ${decoded.policyVersion}, ahead of the learner's ${learnerVersion} (an actor of an earlier learner of this run; it refreshes by itself).`,
          );
        }
      } catch (error) {
        if (!(error instanceof ProximalError)) throw error;
        this.rejected++;
        this.lastRejection = error.message;
        discard.push(message.id);
        continue;
      }
      this.lastSeen.set(decoded.actorId, Date.now());
      valid.push({ decoded, id: message.id });
    }
    const { kept, lags, stale } = splitByPolicyLag(
      valid,
      (v) => v.decoded.policyVersion,
      learnerVersion,
      this.options.maxPolicyLag,
    );
    this.droppedStale += stale.length;
    for (const v of stale) discard.push(v.id);
    this.lags.push(...lags);
    const messages = kept.map((v) => v.decoded);
    const ids = kept.map((v) => v.id);
    await this.transport.ack(discard);
    return { messages, ids };
  }

  /**
   * The next `count` valid messages with their ids (to {@link ack} after use).
   * @throws {@link ProximalError} `TRANSPORT_UNAVAILABLE` after `idleTimeoutMs` without one.
   */
  async next(count: number, learnerVersion: number): Promise<{ messages: T[]; ids: string[] }> {
    const messages: T[] = [];
    const ids: string[] = [];
    let lastArrival = Date.now();
    while (messages.length < count) {
      const got = await this.take(count - messages.length, learnerVersion, 200);
      messages.push(...got.messages);
      ids.push(...got.ids);
      if (got.messages.length > 0) lastArrival = Date.now();
      if (messages.length < count && Date.now() - lastArrival > this.options.idleTimeoutMs) {
        throw new ProximalError(
          "TRANSPORT_UNAVAILABLE",
          `no ${this.kind} arrived for ${Math.round(this.options.idleTimeoutMs / 1000)} s (${this.rejected} rejected${this.lastRejection === null ? "" : `, last: ${this.lastRejection}`}). Start actors: proximal actor --connect <url> --run ${this.runId}.`,
        );
      }
    }
    return { messages, ids };
  }

  /** Acknowledge messages the learner has used. */
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
      "distributed/droppedStale": this.droppedStale,
    };
  }
}

/** {@link RemoteMessages} of IMPALA's trajectories, validated by `decodeTrajectory`. */
export class RemoteTrajectories extends RemoteMessages<Trajectory> {
  constructor(transport: Transport, expectation: TrajectoryExpectation, options: RemoteTrajectoriesOptions) {
    super(transport, (bytes) => decodeTrajectory(bytes, expectation), expectation.runId, options);
  }
}
