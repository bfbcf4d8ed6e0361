/**
 * A throwaway `redis-server` for the distributed tests and `proximal bench distributed`: started on a
 * free loopback port with its data in a fresh temporary directory (append-only file on, as README
 * "Across machines" asks of a production server), stopped with a bounded wait. A missing binary is
 * an error naming the package to install, never a skip: CI must run these tests. Node only; not
 * part of the library's API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CANDIDATES = ["/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"];

/** The redis-server binary, or an error telling how to install it. */
export function redisServerBinary(): string {
  for (const dir of (process.env.PATH ?? "").split(":").filter(Boolean)) {
    const candidate = join(dir, "redis-server");
    if (existsSync(candidate)) return candidate;
  }
  const found = CANDIDATES.find((c) => existsSync(c));
  if (found !== undefined) return found;
  throw new Error(
    "redis-server is not installed, and the distributed tests need a real server. Install it: apt-get install -y redis-server",
  );
}

/** A free TCP port on 127.0.0.1 (the OS picks it; we release it just before the server binds). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerHandle {
  url: string;
  port: number;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after 3 s; removes the data directory unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  dataDir: string;
}

/**
 * Start redis-server on a free loopback port and wait (at most 10 s) until it accepts connections.
 * @param requirePassword - when set, the server's default user needs this password (AUTH).
 */
export async function startRedisServer(
  options: {
    requirePassword?: string;
    dataDir?: string;
    port?: number;
    /** `appendfsync`: "always" (the tests: nothing acknowledged is lost) or "everysec" (README's production setting). @defaultValue "always" */
    fsync?: "always" | "everysec";
    /**
     * Serve TLS only (`tls-port`, no plain port; `rediss://` URL) with these PEM files; `authClients`
     * asks every client for a certificate signed by `caFile` (`tls-auth-clients yes`).
     */
    tls?: { certFile: string; keyFile: string; caFile: string; authClients: boolean };
  } = {},
): Promise<RedisServerHandle> {
  const binary = redisServerBinary();
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "proximal-redis-"));
  const tls = options.tls;
  const args =
    tls === undefined
      ? ["--port", String(port)]
      : [
          "--port",
          "0",
          "--tls-port",
          String(port),
          "--tls-cert-file",
          tls.certFile,
          "--tls-key-file",
          tls.keyFile,
          "--tls-ca-cert-file",
          tls.caFile,
          "--tls-auth-clients",
          tls.authClients ? "yes" : "no",
        ];
  args.push("--bind", "127.0.0.1", "--dir", dataDir, "--save", "");
  args.push(
    "--appendonly",
    "yes",
    "--appendfsync",
    options.fsync ?? "always",
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
  );
  if (options.requirePassword !== undefined) args.push("--requirepass", options.requirePassword);
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`redis-server exited (${child.exitCode}) at start: ${output}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not accept connections on port ${port} within 10 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `${tls === undefined ? "redis" : "rediss"}://127.0.0.1:${port}`,
    port,
    process: child,
    dataDir,
    async stop(stopOptions = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      if (!stopOptions.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, "127.0.0.1");
  });
}
