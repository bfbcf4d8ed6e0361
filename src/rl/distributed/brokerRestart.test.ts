/**
 * A broker restart under a live run (issue 18, "a broker restart loses no data that was
 * acknowledged"): redis-server with persistence on (append-only file, `appendfsync always`) is
 * killed with SIGKILL mid-run and restarted on the same port and data directory. The learner and
 * the actors reconnect by themselves, every message whose publication the server acknowledged
 * before the crash is consumed by the learner, and the run finishes. Plumbing, not learning: every
 * wait is bounded, and the servers and actors are stopped whatever happens.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { stopChildProcesses } from "../../childProcesses.js";
import { type RedisServerHandle, startRedisServer } from "./common/localRedisServer.js";
import { RedisTransport } from "./common/redisTransport.js";
import { runRemoteActor } from "./common/remoteActor.js";
import type { DeliveredMessage, PublishedWeights, Transport } from "./common/transport.js";
import { IMPALA } from "./impala.js";

const cliMain = fileURLToPath(new URL("../../cli/main.js", import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A transport that records the id of every message the server acknowledged (publish resolved). */
class RecordingTransport implements Transport {
  readonly published: string[] = [];
  constructor(private readonly inner: Transport) {}
  async publish(message: Uint8Array): Promise<string> {
    const id = await this.inner.publish(message);
    this.published.push(id);
    return id;
  }
  consume(maxMessages: number, blockMs: number): Promise<DeliveredMessage[]> {
    return this.inner.consume(maxMessages, blockMs);
  }
  ack(ids: string[]): Promise<void> {
    return this.inner.ack(ids);
  }
  queueDepth(): Promise<number> {
    return this.inner.queueDepth();
  }
  putWeights(weights: PublishedWeights): Promise<void> {
    return this.inner.putWeights(weights);
  }
  weightsVersion(): Promise<number | null> {
    return this.inner.weightsVersion();
  }
  getWeights(): Promise<PublishedWeights | null> {
    return this.inner.getWeights();
  }
  discardQueue(): Promise<void> {
    return this.inner.discardQueue();
  }
  putRunSpec(spec: string): Promise<void> {
    return this.inner.putRunSpec(spec);
  }
  getRunSpec(): Promise<string | null> {
    return this.inner.getRunSpec();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe("a broker restart under a live run (real redis-server, persistence on)", {
  timeout: 150_000,
}, () => {
  let server: RedisServerHandle | null = null;
  after(async () => {
    await server?.stop();
  });

  test("kill -9 the server mid-run, restart it: nothing acknowledged is lost, everyone reconnects, the run finishes", async () => {
    const first = await startRedisServer({ fsync: "always" });
    server = first;
    const runId = "restart-broker";
    const model = new IMPALA("CartPole-v1", {
      distributed: first.url,
      runId,
      nSteps: 16,
      batchSize: 2,
      idleTimeoutSeconds: 60,
      policy: { netArch: [16] },
    });
    // every id the learner acknowledges (only the learner acknowledges: actors publish)
    const acked = new Set<string>();
    const ack = RedisTransport.prototype.ack;
    RedisTransport.prototype.ack = async function (this: RedisTransport, ids: string[]) {
      await ack.call(this, ids);
      for (const id of ids) acked.add(id);
    };
    const stop = new AbortController();
    const recorders: RecordingTransport[] = [];
    const actors = [1, 2].map((seed) =>
      (async () => {
        const transport = new RecordingTransport(
          await RedisTransport.connect(first.url, { runId, role: "actor" }),
        );
        recorders.push(transport);
        try {
          return await runRemoteActor(transport, {
            runId,
            actorId: `in-process-${seed}`,
            seed,
            signal: stop.signal,
          });
        } finally {
          await transport.close();
        }
      })(),
    );
    // and one actor process, whose progress we read from its --json lines
    const processActor: ChildProcess = spawn(
      process.execPath,
      [
        cliMain,
        "actor",
        "--connect",
        first.url,
        "--run",
        runId,
        "--seed",
        "3",
        "--actor-id",
        "proc",
        "--json",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const processVersions: number[] = [];
    let processErrors = "";
    let buffered = "";
    processActor.stdout?.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const event = JSON.parse(line) as { event: string; version?: number };
        if (event.event === "trajectory") processVersions.push(event.version as number);
      }
    });
    processActor.stderr?.on("data", (d: Buffer) => {
      processErrors += d.toString();
    });

    // a plain client that reads the stream just before the crash
    const probe = new Redis({
      host: "127.0.0.1",
      port: first.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    probe.on("error", () => {});
    await probe.connect();
    let crash: { iteration: number; published: string[]; acked: Set<string> } | null = null;
    let restarted: Promise<void> | null = null;
    let restartedAtIteration = -1;
    let restartDeadline: number | null = null;
    try {
      await model.learn({
        totalTimesteps: 1_000_000,
        onUpdate: async (stats) => {
          const iteration = stats["time/iteration"];
          if (crash === null && iteration >= 6 && processVersions.length > 0) {
            // the learner pauses here, so the actors fill the queue up to its bound
            await sleep(500);
            // what the server acknowledged so far: the in-process actors' publications, and every
            // message still queued (the actor process's included); then no goodbye: SIGKILL
            const queued = (await probe.xrange(`proximal:${runId}:trajectories`, "-", "+")).map(([id]) => id);
            crash = {
              iteration,
              published: [...new Set([...recorders.flatMap((r) => r.published), ...queued])],
              acked: new Set(acked),
            };
            probe.disconnect();
            first.process.kill("SIGKILL");
            restarted = (async () => {
              await new Promise<void>((resolve) => {
                if (first.process.exitCode !== null || first.process.signalCode !== null) resolve();
                else first.process.once("exit", () => resolve());
              });
              await sleep(1500); // the clients notice and start retrying
              server = await startRedisServer({ port: first.port, dataDir: first.dataDir, fsync: "always" });
            })();
            void restarted.then(() => {
              restartedAtIteration = model.iteration;
            });
          }
          // finish 15 updates after the restart, once the actor process has caught up (or after 60 s)
          if (restartedAtIteration < 0) return true;
          restartDeadline ??= Date.now() + 60_000;
          const caughtUp = Math.max(...processVersions) > (crash?.iteration ?? 0);
          return !((iteration >= restartedAtIteration + 15 && caughtUp) || Date.now() > restartDeadline);
        },
      });
    } finally {
      stop.abort();
      RedisTransport.prototype.ack = ack;
      probe.disconnect();
      await stopChildProcesses([processActor]);
    }
    await restarted;
    const results = await Promise.all(actors);
    assert.ok(crash !== null, "the run never reached the crash point");
    const atCrash = crash as { iteration: number; published: string[]; acked: Set<string> };
    assert.ok(
      restartedAtIteration >= 0 && model.iteration >= restartedAtIteration + 15,
      "the run did not finish",
    );
    // some acknowledged messages were still queued (or in the learner's hands) when the server died...
    const inFlight = atCrash.published.filter((id) => !atCrash.acked.has(id));
    assert.ok(inFlight.length > 0, "nothing was in flight at the crash: the test proves nothing");
    // ...and every message acknowledged before the crash was consumed by the learner
    const lost = atCrash.published.filter((id) => !acked.has(id));
    assert.deepEqual(lost, [], `acknowledged before the crash, never consumed: ${lost.join(", ")}`);
    // the actors reconnected by themselves: all published after the restart, the process one with
    // weights newer than the crash
    const publishedAfter = recorders.map(
      (r) => r.published.filter((id) => !atCrash.published.includes(id)).length,
    );
    assert.ok(
      publishedAfter.every((n) => n > 0),
      `in-process actors' messages after the restart: ${publishedAfter}`,
    );
    assert.ok(
      Math.max(...processVersions) > atCrash.iteration,
      `the actor process never acted with weights newer than ${atCrash.iteration} (${processErrors})`,
    );
    assert.ok(results.every((r) => r.trajectories > 0));
  });
});
