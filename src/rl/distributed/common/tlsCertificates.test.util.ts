// Test helper: a throwaway certificate authority, a server certificate for 127.0.0.1 and a client
// certificate, made with the `openssl` command at test time (nothing secret is committed).
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RedisServerHandle, startRedisServer } from "./localRedisServer.js";

/** PEM files under one directory. */
export interface TestCertificates {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** Why TLS tests cannot run here (no `openssl`), or null when they can. */
export function opensslMissing(): string | null {
  const probe = spawnSync("openssl", ["version"], { stdio: "ignore" });
  return probe.error === undefined && probe.status === 0 ? null : "the openssl command is not installed";
}

/** A CA valid for a day, and a server (SAN IP 127.0.0.1) and a client certificate it signed, in `dir`. */
export function makeTestCertificates(dir: string): TestCertificates {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) =>
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ecKey,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.crt"),
    "-days",
    "1",
    "-subj",
    "/CN=proximal test CA",
  );
  for (const [name, extensions] of [
    ["server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"],
    ["client", "extendedKeyUsage=clientAuth\n"],
  ] as const) {
    writeFileSync(file(`${name}.ext`), extensions);
    openssl(
      "req",
      ...ecKey,
      "-keyout",
      file(`${name}.key`),
      "-out",
      file(`${name}.csr`),
      "-subj",
      `/CN=proximal test ${name}`,
    );
    openssl(
      "x509",
      "-req",
      "-in",
      file(`${name}.csr`),
      "-CA",
      file("ca.crt"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
      "-out",
      file(`${name}.crt`),
      "-days",
      "1",
      "-extfile",
      file(`${name}.ext`),
    );
  }
  return {
    caFile: file("ca.crt"),
    serverCertFile: file("server.crt"),
    serverKeyFile: file("server.key"),
    clientCertFile: file("client.crt"),
    clientKeyFile: file("client.key"),
  };
}

/**
 * A redis-server that serves TLS only and asks every client for a certificate, with certificates
 * made in `dir`; or the reason it cannot run here (no openssl, a redis-server built without TLS).
 */
export async function startTlsRedisServer(
  dir: string,
  options: { requirePassword?: string } = {},
): Promise<{ server: RedisServerHandle; certificates: TestCertificates } | { skip: string }> {
  const missing = opensslMissing();
  if (missing !== null) return { skip: missing };
  const certificates = makeTestCertificates(dir);
  try {
    const server = await startRedisServer({
      ...options,
      tls: {
        certFile: certificates.serverCertFile,
        keyFile: certificates.serverKeyFile,
        caFile: certificates.caFile,
        authClients: true,
      },
    });
    return { server, certificates };
  } catch (error) {
    // a redis-server built without TLS refuses the tls-* directives at start
    if (/Bad directive|tls/i.test(String((error as Error).message)))
      return { skip: "redis-server was built without TLS" };
    throw error;
  }
}
