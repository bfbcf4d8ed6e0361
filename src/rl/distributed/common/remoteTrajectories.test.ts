import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../../errors.js";
import { RemoteTrajectories } from "./remoteTrajectories.js";
import { encodeTrajectory, StepEnd, type Trajectory } from "./trajectoryMessage.js";
import type { DeliveredMessage, PublishedWeights, Transport } from "./transport.js";

/** An in-memory queue with the Transport contract (acks recorded), for the learner-side logic. */
class MemoryTransport implements Transport {
  queue: DeliveredMessage[] = [];
  acked: string[] = [];
  private nextId = 0;
  async publish(message: Uint8Array): Promise<string> {
    const id = String(this.nextId++);
    this.queue.push({ id, data: message });
    return id;
  }
  async consume(maxMessages: number): Promise<DeliveredMessage[]> {
    return this.queue.splice(0, maxMessages);
  }
  async ack(ids: string[]): Promise<void> {
    this.acked.push(...ids);
  }
  async queueDepth(): Promise<number> {
    return this.queue.length;
  }
  async discardQueue(): Promise<void> {
    this.queue = [];
  }
  async putWeights(_weights: PublishedWeights): Promise<void> {}
  async weightsVersion(): Promise<number | null> {
    return null;
  }
  async getWeights(): Promise<PublishedWeights | null> {
    return null;
  }
  async putRunSpec(_spec: string): Promise<void> {}
  async getRunSpec(): Promise<string | null> {
    return null;
  }
  async close(): Promise<void> {}
}

function trajectory(policyVersion: number, actorId: string): Trajectory {
  return {
    runId: "r",
    actorId,
    policyVersion,
    numEnvs: 1,
    nSteps: 2,
    observationSize: 4,
    actionWidth: 1,
    observations: new Float32Array(8),
    actions: Int32Array.of(0, 1),
    rewards: Float32Array.of(1, 1),
    ends: Uint8Array.of(StepEnd.running, StepEnd.running),
    behaviourLogProbs: Float32Array.of(-0.7, -0.7),
    finalObservations: new Float32Array(0),
    nextObservations: new Float32Array(4),
    episodeReturns: [],
    episodeLengths: [],
  };
}

const expectation = { runId: "r", observationSize: 4, actionWidth: 1, discreteActions: 2 };

describe("RemoteTrajectories", () => {
  test("drops trajectories older than maxPolicyLag, rejects bad ones, acknowledges both at once; reports lag and actors", async () => {
    const transport = new MemoryTransport();
    for (const [version, actor] of [
      [6, "a"],
      [1, "b"],
      [5, "b"],
    ] as const) {
      await transport.publish(encodeTrajectory(trajectory(version, actor)));
    }
    await transport.publish(Uint8Array.of(1, 2, 3));
    await transport.publish(encodeTrajectory(trajectory(9, "c"))); // ahead of the learner: another learner's actor
    await transport.publish(encodeTrajectory(trajectory(6, "a")));
    const remote = new RemoteTrajectories(transport, expectation, { maxPolicyLag: 2, idleTimeoutMs: 1000 });
    const { messages: trajectories, ids } = await remote.next(3, 6);
    assert.deepEqual(
      trajectories.map((t) => t.policyVersion),
      [6, 5, 6],
    );
    assert.equal(remote.droppedStale, 1);
    assert.equal(remote.rejected, 2);
    assert.match(remote.lastRejection ?? "", /version 9, ahead of the learner's 6/);
    // the dropped and rejected ones are acknowledged at once; the used ones only when the caller says so
    assert.deepEqual(transport.acked.sort(), ["1", "3", "4"]);
    await remote.ack(ids);
    assert.equal(transport.acked.length, 6);
    const stats = await remote.stats();
    assert.equal(stats["distributed/actors"], 2); // a and b; c's message was rejected
    assert.ok(Math.abs(stats["distributed/policyLag"] - 1 / 3) < 1e-12);
    assert.equal(stats["distributed/maxPolicyLag"], 1);
    assert.equal(stats["distributed/queueDepth"], 0);
  });

  test("fails with TRANSPORT_UNAVAILABLE when nothing arrives for idleTimeoutMs", async () => {
    const remote = new RemoteTrajectories(new MemoryTransport(), expectation, {
      maxPolicyLag: null,
      idleTimeoutMs: 50,
    });
    await assert.rejects(
      remote.next(1, 0),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "TRANSPORT_UNAVAILABLE" &&
        /proximal actor --connect <url> --run r/.test(e.message),
    );
  });
});
