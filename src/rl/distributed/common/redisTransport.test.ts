import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { ProximalError } from "../../../errors.js";
import { type RedisServerHandle, startRedisServer } from "./localRedisServer.js";
import { RedisTransport, redisConnectionOptions } from "./redisTransport.js";

const isCode = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof ProximalError && e.code === code && (pattern === undefined || pattern.test(e.message));

describe("RedisTransport on a real redis-server", { timeout: 60_000 }, () => {
  let server: RedisServerHandle;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    await server?.stop();
  });

  test("trajectories: publish, consume, ack; the queue depth follows", async () => {
    const learner = await RedisTransport.connect(server.url, { runId: "queue", role: "learner" });
    const actor = await RedisTransport.connect(server.url, { runId: "queue", role: "actor" });
    try {
      assert.deepEqual(await learner.consume(10, 20), []);
      for (let i = 0; i < 5; i++) await actor.publish(Uint8Array.from([i, 255, 0, i]));
      assert.equal(await learner.queueDepth(), 5);
      const first = await learner.consume(3, 100);
      assert.deepEqual(
        first.map((m) => Array.from(m.data)),
        [0, 1, 2].map((i) => [i, 255, 0, i]),
      );
      assert.equal(await learner.queueDepth(), 2);
      await learner.ack(first.map((m) => m.id));
      const rest = await learner.consume(10, 100);
      assert.deepEqual(
        rest.map((m) => m.data[0]),
        [3, 4],
      );
      await learner.ack(rest.map((m) => m.id));
      assert.equal(await learner.queueDepth(), 0);
    } finally {
      await Promise.all([learner.close(), actor.close()]);
    }
  });

  test("a learner that reconnects gets the messages the previous one took but never acknowledged", async () => {
    const actor = await RedisTransport.connect(server.url, { runId: "redeliver", role: "actor" });
    const first = await RedisTransport.connect(server.url, { runId: "redeliver", role: "learner" });
    for (let i = 0; i < 3; i++) await actor.publish(Uint8Array.of(i));
    const taken = await first.consume(2, 100);
    await first.ack([taken[0].id]);
    await first.close(); // "crashes" holding message 1
    const second = await RedisTransport.connect(server.url, { runId: "redeliver", role: "learner" });
    try {
      const again = await second.consume(10, 100);
      assert.deepEqual(
        again.map((m) => m.data[0]),
        [1],
      );
      const fresh = await second.consume(10, 100);
      assert.deepEqual(
        fresh.map((m) => m.data[0]),
        [2],
      );
    } finally {
      await Promise.all([second.close(), actor.close()]);
    }
  });

  test("after a reconnection the learner gets what the server delivered but the connection lost, and nothing it holds twice", async () => {
    const actor = await RedisTransport.connect(server.url, { runId: "lost-reply", role: "actor" });
    const learner = await RedisTransport.connect(server.url, { runId: "lost-reply", role: "learner" });
    const raw = new Redis({
      host: "127.0.0.1",
      port: server.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    raw.on("error", () => {});
    await raw.connect();
    try {
      for (let i = 0; i < 3; i++) await actor.publish(Uint8Array.of(i));
      const held = await learner.consume(1, 100);
      assert.deepEqual(
        held.map((m) => m.data[0]),
        [0],
      );
      // the server hands message 1 to the learner's consumer, and the reply never arrives
      await raw.call(
        "XREADGROUP",
        "GROUP",
        "learner",
        "learner",
        "COUNT",
        "1",
        "STREAMS",
        "proximal:lost-reply:trajectories",
        ">",
      );
      await raw.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"); // every other connection drops
      const got: number[] = [];
      for (let i = 0; i < 20 && got.length < 2; i++) {
        for (const m of await learner.consume(10, 100)) got.push(m.data[0]);
      }
      assert.deepEqual(got.sort(), [1, 2]);
      assert.deepEqual(await learner.consume(10, 50), []);
    } finally {
      raw.disconnect();
      await Promise.all([learner.close(), actor.close()]);
    }
  });

  test("weights: the latest version wins, and runs do not see each other's", async () => {
    const learner = await RedisTransport.connect(server.url, { runId: "weights", role: "learner" });
    const actor = await RedisTransport.connect(server.url, { runId: "weights", role: "actor" });
    const other = await RedisTransport.connect(server.url, { runId: "weights-other", role: "actor" });
    try {
      assert.equal(await actor.weightsVersion(), null);
      assert.equal(await actor.getWeights(), null);
      await learner.putWeights({ version: 1, data: Uint8Array.of(1, 1) });
      await learner.putWeights({ version: 2, data: Uint8Array.of(2, 2, 2) });
      assert.equal(await actor.weightsVersion(), 2);
      const got = await actor.getWeights();
      assert.equal(got?.version, 2);
      assert.deepEqual(Array.from(got?.data ?? []), [2, 2, 2]);
      assert.equal(await other.weightsVersion(), null);
    } finally {
      await Promise.all([learner.close(), actor.close(), other.close()]);
    }
  });

  test("a broker restart loses no published message (append-only file, fsync always)", async () => {
    const restartable = await startRedisServer();
    const actor = await RedisTransport.connect(restartable.url, { runId: "persist", role: "actor" });
    const learner = await RedisTransport.connect(restartable.url, { runId: "persist", role: "learner" });
    try {
      for (let i = 0; i < 4; i++) await actor.publish(Uint8Array.of(i));
      await learner.putWeights({ version: 7, data: Uint8Array.of(7) });
      await Promise.all([actor.close(), learner.close()]);
      await restartable.stop({ keepData: true });
      const again = await startRedisServer({ dataDir: restartable.dataDir, port: restartable.port });
      const reader = await RedisTransport.connect(again.url, { runId: "persist", role: "learner" });
      try {
        const messages = await reader.consume(10, 200);
        assert.deepEqual(
          messages.map((m) => m.data[0]),
          [0, 1, 2, 3],
        );
        assert.equal(await reader.weightsVersion(), 7);
      } finally {
        await reader.close();
        await again.stop();
      }
    } finally {
      await restartable.stop();
    }
  });

  test("an unreachable server is TRANSPORT_UNAVAILABLE within the time limit", async () => {
    const started = Date.now();
    await assert.rejects(
      RedisTransport.connect("redis://127.0.0.1:1", { runId: "x", role: "actor", connectTimeoutMs: 500 }),
      isCode("TRANSPORT_UNAVAILABLE", /cannot reach the Redis server at 127\.0\.0\.1:1/),
    );
    assert.ok(Date.now() - started < 5000);
  });
});

describe("Redis authentication", { timeout: 60_000 }, () => {
  const password = "s3cret-Pa55word";
  let server: RedisServerHandle;
  before(async () => {
    server = await startRedisServer({ requirePassword: password });
  });
  after(async () => {
    await server?.stop();
  });

  test("a client without credentials, or with a wrong password, is refused", async () => {
    await assert.rejects(
      RedisTransport.connect(server.url, { runId: "auth", role: "actor", env: {} }),
      isCode("TRANSPORT_AUTH", /PROXIMAL_REDIS_PASSWORD/),
    );
    await assert.rejects(
      RedisTransport.connect(server.url, {
        runId: "auth",
        role: "actor",
        env: { PROXIMAL_REDIS_PASSWORD: "wrong" },
      }),
      (e: unknown) => isCode("TRANSPORT_AUTH")(e) && !String((e as Error).message).includes("wrong"),
    );
  });

  test("the password from PROXIMAL_REDIS_PASSWORD gets in", async () => {
    const t = await RedisTransport.connect(server.url, {
      runId: "auth",
      role: "learner",
      env: { PROXIMAL_REDIS_PASSWORD: password },
    });
    await t.putWeights({ version: 1, data: Uint8Array.of(1) });
    assert.equal(await t.weightsVersion(), 1);
    await t.close();
  });

  test("credentials in the URL are refused, and the message does not repeat them", () => {
    assert.throws(
      () => redisConnectionOptions(`redis://default:${password}@127.0.0.1:6379`, {}),
      (e: unknown) =>
        isCode("INVALID_OPTION", /PROXIMAL_REDIS_PASSWORD/)(e) && !(e as Error).message.includes(password),
    );
    assert.throws(
      () => redisConnectionOptions("nats://127.0.0.1:4222", {}),
      isCode("INVALID_OPTION", /Redis Streams/),
    );
  });
});
