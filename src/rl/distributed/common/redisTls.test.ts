/**
 * The transport over TLS, against a redis-server that serves TLS only and asks for client
 * certificates, with a certificate authority made at test time by `openssl`. Skipped, with the
 * reason, where `openssl` is missing or redis-server was built without TLS (Debian's has it).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ProximalError } from "../../../errors.js";
import type { RedisServerHandle } from "./localRedisServer.js";
import { RedisTransport, redisConnectionOptions } from "./redisTransport.js";
import { startTlsRedisServer, type TestCertificates } from "./tlsCertificates.test.util.js";

const isCode = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof ProximalError && e.code === code && (pattern === undefined || pattern.test(e.message));

describe("RedisTransport over TLS (rediss://)", { timeout: 60_000 }, () => {
  let server: RedisServerHandle | null = null;
  let certificates: TestCertificates;
  let dir = "";
  let skip: string | null = null;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "proximal-tls-"));
    const started = await startTlsRedisServer(dir);
    if ("skip" in started) skip = started.skip;
    else ({ server, certificates } = started);
  });
  after(async () => {
    await server?.stop();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  /** The environment of a client that trusts the test CA and presents the client certificate. */
  const trusted = () => ({
    PROXIMAL_REDIS_TLS_CA: certificates.caFile,
    PROXIMAL_REDIS_TLS_CERT: certificates.clientCertFile,
    PROXIMAL_REDIS_TLS_KEY: certificates.clientKeyFile,
  });

  test("a client with the CA and a client certificate connects, publishes and consumes", async (t) => {
    if (skip !== null) return t.skip(skip);
    const url = (server as RedisServerHandle).url;
    assert.match(url, /^rediss:\/\//);
    const learner = await RedisTransport.connect(url, { runId: "tls", role: "learner", env: trusted() });
    const actor = await RedisTransport.connect(url, { runId: "tls", role: "actor", env: trusted() });
    try {
      await actor.publish(Uint8Array.of(4, 2));
      const got = await learner.consume(10, 200);
      assert.deepEqual(
        got.map((m) => Array.from(m.data)),
        [[4, 2]],
      );
    } finally {
      await Promise.all([learner.close(), actor.close()]);
    }
  });

  test("a client without the CA is refused (the server's certificate is not trusted), and quickly", async (t) => {
    if (skip !== null) return t.skip(skip);
    const { PROXIMAL_REDIS_TLS_CERT, PROXIMAL_REDIS_TLS_KEY } = trusted();
    const started = Date.now();
    await assert.rejects(
      RedisTransport.connect((server as RedisServerHandle).url, {
        runId: "tls",
        role: "actor",
        env: { PROXIMAL_REDIS_TLS_CERT, PROXIMAL_REDIS_TLS_KEY },
      }),
      isCode("TRANSPORT_AUTH", /TLS handshake .* failed .*PROXIMAL_REDIS_TLS_CA/),
    );
    assert.ok(Date.now() - started < 3000, "a TLS refusal is not retried");
  });

  test("a client that trusts the CA but has no certificate is refused (tls-auth-clients yes)", async (t) => {
    if (skip !== null) return t.skip(skip);
    await assert.rejects(
      RedisTransport.connect((server as RedisServerHandle).url, {
        runId: "tls",
        role: "actor",
        env: { PROXIMAL_REDIS_TLS_CA: certificates.caFile },
        connectTimeoutMs: 2000,
      }),
      isCode("TRANSPORT_AUTH", /PROXIMAL_REDIS_TLS_CERT/),
    );
  });

  test("a plain redis:// client cannot talk to the TLS port", async (t) => {
    if (skip !== null) return t.skip(skip);
    const plain = (server as RedisServerHandle).url.replace("rediss://", "redis://");
    await assert.rejects(
      RedisTransport.connect(plain, { runId: "tls", role: "actor", env: {}, connectTimeoutMs: 1000 }),
      isCode("TRANSPORT_UNAVAILABLE"),
    );
    // and a rediss:// client facing no server at all hears that, not a TLS diagnosis
    await assert.rejects(
      RedisTransport.connect("rediss://127.0.0.1:1", {
        runId: "tls",
        role: "actor",
        env: {},
        connectTimeoutMs: 500,
      }),
      isCode("TRANSPORT_UNAVAILABLE", /cannot reach/),
    );
  });

  test("TLS variables are checked: files must exist, certificate and key go together, redis:// refuses them", (t) => {
    if (skip !== null) return t.skip(skip);
    const url = "rediss://127.0.0.1:6380";
    const missing = join(dir, "no-such.pem");
    assert.throws(
      () => redisConnectionOptions(url, { PROXIMAL_REDIS_TLS_CA: missing }),
      (e: unknown) =>
        isCode("INVALID_OPTION", /cannot read the file PROXIMAL_REDIS_TLS_CA names \(ENOENT\)/)(e) &&
        !(e as Error).message.includes(missing),
    );
    assert.throws(
      () => redisConnectionOptions(url, { PROXIMAL_REDIS_TLS_CERT: certificates.clientCertFile }),
      isCode("INVALID_OPTION", /go together/),
    );
    assert.throws(
      () => redisConnectionOptions("redis://127.0.0.1:6379", { PROXIMAL_REDIS_TLS_CA: certificates.caFile }),
      isCode("INVALID_OPTION", /use rediss:\/\//),
    );
    assert.throws(
      () => redisConnectionOptions(url, { PROXIMAL_REDIS_CA: certificates.caFile }),
      isCode("INVALID_OPTION", /renamed PROXIMAL_REDIS_TLS_CA/),
    );
    const options = redisConnectionOptions(url, trusted());
    assert.ok(options.tls !== undefined && options.tls.ca !== undefined && options.tls.key !== undefined);
  });
});
