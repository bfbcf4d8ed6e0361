/**
 * Faults of a distributed IMPALA run, on a real redis-server with real actor processes
 * (`proximal actor`): these test plumbing, not learning (a distributed run is not deterministic).
 * Every wait is bounded; the server and the actors are stopped whatever happens.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { stopChildProcesses } from "../../childProcesses.js";
import { type RedisServerHandle, startRedisServer } from "./common/localRedisServer.js";
import { RedisTransport } from "./common/redisTransport.js";
import { runRemoteActor } from "./common/remoteActor.js";
import { oneStepTrajectory } from "./common/remoteActors.test.util.js";
import { encodeTrajectory } from "./common/trajectoryMessage.js";
import { IMPALA } from "./impala.js";

const cliMain = fileURLToPath(new URL("../../cli/main.js", import.meta.url));

function startActor(
  url: string,
  runId: string,
  seed: number,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  return spawn(
    process.execPath,
    [cliMain, "actor", "--connect", url, "--run", runId, "--seed", String(seed), "--actor-id", `a${seed}`],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env,
    },
  );
}

/** A small, quick learner of `runId`. */
function learner(url: string, runId: string): IMPALA {
  return new IMPALA("CartPole-v1", {
    distributed: url,
    runId,
    nSteps: 16,
    batchSize: 2,
    idleTimeoutSeconds: 30,
    policy: { netArch: [16] },
  });
}

describe("distributed IMPALA faults (real redis-server, real actor processes)", { timeout: 120_000 }, () => {
  let server: RedisServerHandle;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });

  test("an actor killed mid-trajectory loses only its own data; the learner goes on with the other", async () => {
    const model = learner(server.url, "kill");
    const actors = [startActor(server.url, "kill", 1), startActor(server.url, "kill", 2)];
    try {
      let killedAt: number | null = null;
      const actorsSeen: number[] = [];
      await model.learn({
        totalTimesteps: 2400,
        onUpdate: (stats) => {
          actorsSeen.push(stats["distributed/actors"]);
          if (killedAt === null && stats["distributed/actors"] === 2 && stats["time/iteration"] >= 5) {
            actors[0].kill("SIGKILL"); // no goodbye: whatever it was collecting is lost
            killedAt = stats["time/iteration"];
          }
        },
      });
      assert.ok(killedAt !== null, `both actors never reported (actor counts ${actorsSeen.join(",")})`);
      assert.ok(model.numTimesteps >= 2400);
      assert.ok(model.iteration > (killedAt as number) + 5, "the learner stopped updating after the kill");
      assert.equal(actors[1].exitCode, null, "the surviving actor is still running");
    } finally {
      await stopChildProcesses(actors);
    }
  });

  test("an actor that joins late acts with the current weights, not the first ones", async () => {
    const model = learner(server.url, "late");
    const early = startActor(server.url, "late", 3);
    const transport = await RedisTransport.connect(server.url, { runId: "late", role: "actor" });
    try {
      // the late actor runs beside the learner (awaiting it inside onUpdate would deadlock once the
      // early actor has filled the queue: the late one waits for room the paused learner never makes)
      let joining: Promise<void> | null = null;
      let joinedAt = -1;
      let actorVersion = -1;
      await model.learn({
        totalTimesteps: 1_000_000,
        onUpdate: async (stats) => {
          if (joining === null && stats["time/iteration"] >= 10) {
            joinedAt = (await transport.weightsVersion()) ?? -1;
            joining = runRemoteActor(transport, {
              runId: "late",
              actorId: "late-joiner",
              seed: 9,
              maxTrajectories: 1,
              onTrajectory: ({ version }) => {
                actorVersion = version;
              },
            }).then(() => undefined);
          }
          return actorVersion < 0; // stop once the late actor has sent its trajectory
        },
      });
      await joining;
      assert.ok(joinedAt >= 10, `the learner was at version ${joinedAt} when the actor joined`);
      // it acted with the weights current when it collected: never older than those at its arrival
      assert.ok(
        actorVersion >= joinedAt,
        `the late actor acted with version ${actorVersion}, the learner was at ${joinedAt}`,
      );
    } finally {
      await transport.close();
      await stopChildProcesses([early]);
    }
  });

  test("a learner restarted from its checkpoint resumes; the running actor follows it by itself", async () => {
    const dir = mkdtempSync(join(tmpdir(), "impala-restart-"));
    const actor = startActor(server.url, "restart", 5);
    try {
      const first = learner(server.url, "restart");
      await first.learn({ totalTimesteps: 640 });
      await first.save(dir); // then the learner process "dies": nothing of it stays connected
      const stoppedAt = first.iteration;
      const resumed = await IMPALA.load(dir);
      assert.equal(resumed.iteration, stoppedAt);
      const actorsAfter: number[] = [];
      await resumed.learn({
        totalTimesteps: 1280,
        resetNumTimesteps: false,
        onUpdate: (stats) => {
          actorsAfter.push(stats["distributed/actors"]);
        },
      });
      assert.ok(resumed.numTimesteps >= 1280);
      assert.ok(resumed.iteration > stoppedAt);
      // the same actor process, never restarted, fed the resumed learner
      assert.ok(
        actorsAfter.some((n) => n === 1),
        `actor counts after the restart: ${actorsAfter.join(",")}`,
      );
      assert.equal(actor.exitCode, null);
    } finally {
      await stopChildProcesses([actor]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("malformed and foreign messages are rejected and counted; the learner never crashes", async () => {
    const model = learner(server.url, "reject");
    const actor = startActor(server.url, "reject", 4);
    const intruder = await RedisTransport.connect(server.url, { runId: "reject", role: "actor" });
    const foreign = oneStepTrajectory("another-run", 0);
    const wrongEnv = {
      ...foreign,
      runId: "reject",
      observationSize: 3,
      observations: new Float32Array(3),
      nextObservations: new Float32Array(3),
    };
    try {
      let rejected = 0;
      let sent = false;
      await model.learn({
        totalTimesteps: 1600,
        onUpdate: async (stats) => {
          rejected = stats["distributed/rejected"];
          if (!sent && stats["time/iteration"] >= 2) {
            sent = true;
            await intruder.publish(new TextEncoder().encode("not a trajectory"));
            await intruder.publish(encodeTrajectory(foreign));
            await intruder.publish(encodeTrajectory(wrongEnv));
            await intruder.publish(new Uint8Array(0));
          }
        },
      });
      assert.ok(sent);
      assert.equal(rejected, 4);
      assert.ok(model.numTimesteps >= 1600);
    } finally {
      await intruder.close();
      await stopChildProcesses([actor]);
    }
  });
});
