/**
 * {@link Transport} on Redis Streams (https://redis.io/docs/latest/develop/data-types/streams/),
 * through the `ioredis` client. Keys of run `R`:
 * - `proximal:R:trajectories`, a stream: actors `XADD` (capped with `MAXLEN ~`), the learner reads
 *   through the consumer group `learner` (`XREADGROUP`) and `XACK`s what it used or rejected.
 *   Unacknowledged entries stay in the group's pending list, so a learner restarted on the same
 *   server gets them again.
 * - `proximal:R:weights`, a hash `{ version, data }` written in one `HSET` (atomic): actors poll
 *   `version` and fetch `data` only when it changed. Its `spec` field holds the run's description
 *   (env id, sizes, network options) that actors build themselves from.
 *
 * Credentials never travel in the URL (a URL ends up in shell history, process lists and run
 * configs): `redis://host:port` or `rediss://host:port` (TLS) only, with the user and password from
 * `PROXIMAL_REDIS_USERNAME` / `PROXIMAL_REDIS_PASSWORD` and the TLS files from
 * `PROXIMAL_REDIS_TLS_CA` (the CA that signed the server's certificate, when it is not in the
 * system's store) and `PROXIMAL_REDIS_TLS_CERT` / `PROXIMAL_REDIS_TLS_KEY` (this client's
 * certificate and key, for a server with `tls-auth-clients yes`). Their contents are read here
 * and never logged; an error names the variable, never what it holds.
 * Persistence is the server's (`appendonly yes`); see README "Across machines". Node only (it is
 * not reachable from the browser-safe main entry).
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { Redis as RedisClient, RedisOptions } from "ioredis";
import { ProximalError } from "../../../errors.js";
import type { DeliveredMessage, PublishedWeights, Transport } from "./transport.js";

/** Options of {@link RedisTransport.connect}. */
export interface RedisTransportOptions {
  /** Run id: the key prefix; learner and actors of one run must agree. */
  runId: string;
  /** The learner creates the consumer group and reads; actors only publish and read weights. */
  role: "learner" | "actor";
  /** Approximate cap on the stream length (oldest entries are trimmed). @defaultValue 10000 */
  maxQueueLength?: number;
  /** Give up connecting after this long (the first connection only; later drops reconnect forever). @defaultValue 5000 */
  connectTimeoutMs?: number;
  /** Environment to read credentials from. @defaultValue process.env */
  env?: Record<string, string | undefined>;
}

const RUN_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** Check a run id (it becomes part of Redis keys and of the run directory's name). */
export function checkRunId(runId: string): string {
  if (typeof runId !== "string" || !RUN_ID.test(runId)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `run id ${JSON.stringify(runId)} must be 1-100 characters of letters, digits, ".", "_" or "-".`,
    );
  }
  return runId;
}

/** Host, port and TLS of a `redis://` / `rediss://` URL; credentials come from the environment. */
export function redisConnectionOptions(url: string, env: Record<string, string | undefined>): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProximalError("INVALID_OPTION", `${JSON.stringify(url)} is not a URL; use redis://host:6379.`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ProximalError(
      "INVALID_OPTION",
      `unsupported transport ${JSON.stringify(parsed.protocol)}: proximal distributes over Redis Streams, use redis://host:6379 (or rediss:// for TLS).`,
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    // never echo the URL: it holds the secret
    throw new ProximalError(
      "INVALID_OPTION",
      "the transport URL contains credentials; remove them from the URL and set PROXIMAL_REDIS_USERNAME / PROXIMAL_REDIS_PASSWORD instead (a URL is logged, saved in the run config and visible in process lists).",
    );
  }
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: parsed.port === "" ? 6379 : Number(parsed.port),
  };
  if (env.PROXIMAL_REDIS_USERNAME) options.username = env.PROXIMAL_REDIS_USERNAME;
  if (env.PROXIMAL_REDIS_PASSWORD) options.password = env.PROXIMAL_REDIS_PASSWORD;
  const tls = tlsOptions(env);
  // SNI carries host names only (RFC 6066); an IP address is checked against the certificate's SAN without it
  if (parsed.protocol === "rediss:")
    options.tls = { ...(isIP(options.host ?? "") ? {} : { servername: options.host }), ...tls };
  else if (Object.keys(tls).length > 0) {
    throw new ProximalError(
      "INVALID_OPTION",
      "PROXIMAL_REDIS_TLS_* is set but the URL is redis:// (no TLS); use rediss://host:port, or unset the variables.",
    );
  }
  return options;
}

/** The CA, certificate and key of {@link redisConnectionOptions}, read from the files the environment names. */
function tlsOptions(env: Record<string, string | undefined>): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  if (env.PROXIMAL_REDIS_CA) {
    throw new ProximalError(
      "INVALID_OPTION",
      "PROXIMAL_REDIS_CA was renamed PROXIMAL_REDIS_TLS_CA (beside PROXIMAL_REDIS_TLS_CERT and PROXIMAL_REDIS_TLS_KEY); rename the variable.",
    );
  }
  const read = (variable: string): Buffer | undefined => {
    const path = env[variable];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ProximalError(
        "INVALID_OPTION",
        `cannot read the file ${variable} names (${(error as NodeJS.ErrnoException).code ?? "error"}); point it at a readable PEM file.`,
      );
    }
  };
  const ca = read("PROXIMAL_REDIS_TLS_CA");
  const cert = read("PROXIMAL_REDIS_TLS_CERT");
  const key = read("PROXIMAL_REDIS_TLS_KEY");
  if ((cert === undefined) !== (key === undefined)) {
    throw new ProximalError(
      "INVALID_OPTION",
      "PROXIMAL_REDIS_TLS_CERT and PROXIMAL_REDIS_TLS_KEY go together (the client's certificate and its key); set both or neither.",
    );
  }
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function isAuthError(error: unknown): boolean {
  return /NOAUTH|WRONGPASS|NOPERM|invalid password|invalid username/i.test(String((error as Error)?.message));
}

/** A TLS handshake that failed on either side: an unverified server certificate, or a client certificate refused. */
function isTlsError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException | null;
  return (
    /certificate|self[- ]signed|SSL|TLS|handshake|alert/i.test(String(e?.message)) ||
    /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(String(e?.code))
  );
}

/** {@link Transport} on Redis Streams (see this file's header); make one with {@link RedisTransport.connect}. */
export class RedisTransport implements Transport {
  private reader: RedisClient | null = null;
  /**
   * Where this learner is in re-reading the messages an earlier learner took but never acknowledged
   * (the group's pending list, from id 0); null once it has read them all and moved on to new ones.
   */
  private pendingCursor: string | null = "0";
  /**
   * Messages delivered to this learner and not yet acknowledged. After a reconnection the pending
   * list is read again (see {@link consume}); these are skipped there, since the learner holds them.
   */
  private readonly held = new Set<string>();

  private constructor(
    private readonly client: RedisClient,
    private readonly keys: { trajectories: string; weights: string },
    private readonly maxQueueLength: number,
  ) {}

  /**
   * Connect, check the credentials with a `PING`, and (for the learner) create the consumer group.
   * @throws {@link ProximalError} `TRANSPORT_AUTH` when the server refuses the credentials (or needs
   *   some), `TRANSPORT_UNAVAILABLE` when it cannot be reached in time, `INVALID_OPTION` for a bad URL.
   */
  static async connect(url: string, options: RedisTransportOptions): Promise<RedisTransport> {
    const runId = checkRunId(options.runId);
    const env = options.env ?? process.env;
    const maxQueueLength = options.maxQueueLength ?? 10_000;
    const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    const connection = redisConnectionOptions(url, env);
    const { Redis } = await import("ioredis");
    let connected = false;
    const started = Date.now();
    // ioredis reports connection errors as events; an AUTH refusal during its ready check arrives only
    // there (the awaited connect just sees the connection close), so keep the last one
    let lastError: unknown = null;
    const client = new Redis({
      ...connection,
      lazyConnect: true,
      // RESP2: the reply shapes below (XREADGROUP as [[stream, entries]]) and a plain NOAUTH on PING
      // where RESP3's HELLO would close the connection; works with Redis >= 5 as well
      protocol: 2,
      connectTimeout: connectTimeoutMs,
      // a command waits through up to 20 reconnection attempts (~20 s with the delays below: a
      // broker restart), then fails, so a learner or actor never hangs on a server that is gone
      maxRetriesPerRequest: 20,
      // until the first connection: retry briefly (a TLS refusal not at all: it will not change),
      // then fail; afterwards keep reconnecting
      retryStrategy: (times) =>
        connected
          ? Math.min(100 * times, 2000)
          : Date.now() - started > connectTimeoutMs || isTlsError(lastError)
            ? null
            : 200,
    });
    client.on("error", (error) => {
      lastError = error;
    });
    const where = `${connection.host}:${connection.port}`;
    try {
      await client.connect();
      await client.ping();
      connected = true;
    } catch (error) {
      client.disconnect();
      const cause = isAuthError(error) ? error : lastError;
      if (isAuthError(cause)) {
        throw new ProximalError(
          "TRANSPORT_AUTH",
          `the Redis server at ${where} refused the connection (${String((cause as Error).message).split("\n")[0]}). Set PROXIMAL_REDIS_PASSWORD (and PROXIMAL_REDIS_USERNAME for an ACL user other than "default").`,
        );
      }
      const tlsError = [error, lastError].find(isTlsError);
      // a server that asks for client certificates closes the connection on a client without one
      // (reset, where an unreachable server refuses the connection)
      const resetByTlsServer = /^(ECONNRESET|EPIPE)$/.test(
        String((lastError as NodeJS.ErrnoException)?.code),
      );
      if (connection.tls !== undefined && (tlsError !== undefined || resetByTlsServer)) {
        throw new ProximalError(
          "TRANSPORT_AUTH",
          `the TLS handshake with the Redis server at ${where} failed (${String(((tlsError ?? lastError) as Error).message).split("\n")[0]}). Point PROXIMAL_REDIS_TLS_CA at the CA that signed the server's certificate, and, if the server asks for client certificates (tls-auth-clients), PROXIMAL_REDIS_TLS_CERT / PROXIMAL_REDIS_TLS_KEY at this client's.`,
        );
      }
      throw new ProximalError(
        "TRANSPORT_UNAVAILABLE",
        `cannot reach the Redis server at ${where} within ${connectTimeoutMs} ms (${(error as Error).message}). Start it (redis-server, see README "Across machines") or fix --connect/--distributed.`,
        { cause: error },
      );
    }
    const keys = { trajectories: `proximal:${runId}:trajectories`, weights: `proximal:${runId}:weights` };
    if (options.role === "learner") {
      try {
        // from id 0: trajectories published before the learner started are used too
        await client.xgroup("CREATE", keys.trajectories, "learner", "0", "MKSTREAM");
      } catch (error) {
        if (!/BUSYGROUP/.test(String((error as Error).message))) throw error;
      }
    }
    return new RedisTransport(client, keys, maxQueueLength);
  }

  async publish(message: Uint8Array): Promise<string> {
    const id = await this.client.xadd(
      this.keys.trajectories,
      "MAXLEN",
      "~",
      this.maxQueueLength,
      "*",
      "data",
      Buffer.from(message.buffer, message.byteOffset, message.byteLength),
    );
    return String(id);
  }

  async consume(maxMessages: number, blockMs: number): Promise<DeliveredMessage[]> {
    // a blocking read holds its connection: give it its own so weight publishing never waits behind it
    if (this.reader === null) {
      this.reader = this.client.duplicate();
      this.reader.on("error", () => {});
      let connections = 0;
      this.reader.on("ready", () => {
        // a read the server executed (and, with appendfsync always, persisted) whose reply the
        // connection lost put its entries in the group's pending list and nowhere else: after a
        // reconnection (a broker restart, a network cut) read the pending list again, or they
        // would never be delivered
        if (++connections > 1) this.pendingCursor = "0";
      });
    }
    // first the group's pending list (id 0: delivered before, e.g. to a learner that then crashed), then new entries (">")
    const from = this.pendingCursor ?? ">";
    const reply = (await this.reader.callBuffer(
      "XREADGROUP",
      "GROUP",
      "learner",
      "learner",
      "COUNT",
      String(maxMessages),
      "BLOCK",
      String(Math.max(1, Math.round(blockMs))),
      "STREAMS",
      this.keys.trajectories,
      from,
    )) as [Buffer, [Buffer, Buffer[] | null][]][] | null;
    // a reconnection during the read moved the cursor back to "0": leave it there
    const pendingRead = from !== ">" && this.pendingCursor === from;
    if (pendingRead && (reply === null || reply.every(([, entries]) => entries.length === 0))) {
      this.pendingCursor = null;
      return this.consume(maxMessages, blockMs);
    }
    if (reply === null) return [];
    const out: DeliveredMessage[] = [];
    let lastId: string | null = null;
    for (const [, entries] of reply) {
      for (const [idBytes, fields] of entries) {
        const id = idBytes.toString();
        lastId = id;
        if (this.held.has(id)) continue; // re-read from the pending list, but already in the learner's hands
        // a foreign writer may add entries without our field: deliver them empty, so they are rejected and counted
        let data = new Uint8Array(0);
        for (let i = 0; fields !== null && i + 1 < fields.length; i += 2) {
          if (fields[i].toString() === "data") data = new Uint8Array(fields[i + 1]);
        }
        out.push({ id, data });
        this.held.add(id);
      }
    }
    if (pendingRead && lastId !== null) this.pendingCursor = lastId;
    return out;
  }

  async ack(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids) this.held.delete(id);
    // XDEL as well: an acknowledged trajectory is used up, and memory should not wait for MAXLEN trimming
    await this.client
      .multi()
      .xack(this.keys.trajectories, "learner", ...ids)
      .xdel(this.keys.trajectories, ...ids)
      .exec();
  }

  async queueDepth(): Promise<number> {
    const groups = (await this.client.xinfo("GROUPS", this.keys.trajectories)) as unknown[][];
    for (const group of groups) {
      const fields = new Map<string, unknown>();
      for (let i = 0; i + 1 < group.length; i += 2) fields.set(String(group[i]), group[i + 1]);
      if (fields.get("name") === "learner") {
        const lag = fields.get("lag");
        if (typeof lag === "number") return lag;
      }
    }
    // no group yet, or Redis cannot tell the lag (after deletions): every entry left is undelivered or pending
    return this.client.xlen(this.keys.trajectories);
  }

  async putWeights(weights: PublishedWeights): Promise<void> {
    await this.client.hset(this.keys.weights, {
      version: String(weights.version),
      data: Buffer.from(weights.data.buffer, weights.data.byteOffset, weights.data.byteLength),
    });
  }

  async weightsVersion(): Promise<number | null> {
    const version = await this.client.hget(this.keys.weights, "version");
    return version === null ? null : Number(version);
  }

  async getWeights(): Promise<PublishedWeights | null> {
    const [version, data] = await this.client.hmgetBuffer(this.keys.weights, "version", "data");
    if (version === null || data === null) return null;
    return { version: Number(version.toString()), data: new Uint8Array(data) };
  }

  async discardQueue(): Promise<void> {
    // XTRIM to 0 empties the stream; SETID then moves the group past everything it held, pending included
    await this.client
      .multi()
      .xtrim(this.keys.trajectories, "MAXLEN", 0)
      .xgroup("SETID", this.keys.trajectories, "learner", "$")
      .exec();
    this.pendingCursor = null;
    this.held.clear();
  }

  async putRunSpec(spec: string): Promise<void> {
    await this.client.hset(this.keys.weights, "spec", spec);
  }

  async getRunSpec(): Promise<string | null> {
    return this.client.hget(this.keys.weights, "spec");
  }

  /** Close politely (QUIT) when the server answers within a second, else drop the connection. */
  async close(): Promise<void> {
    const clients = this.reader === null ? [this.client] : [this.client, this.reader];
    await Promise.all(
      clients.map(async (c) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const gone = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 1000);
        });
        await Promise.race([c.quit().catch(() => undefined), gone]);
        clearTimeout(timer);
        c.disconnect();
      }),
    );
  }
}
