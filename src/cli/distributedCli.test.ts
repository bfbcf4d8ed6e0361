import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type RedisServerHandle, startRedisServer } from "../rl/distributed/common/localRedisServer.js";
import {
  startTlsRedisServer,
  type TestCertificates,
} from "../rl/distributed/common/tlsCertificates.test.util.js";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
const PASSWORD = "cli-Secret-4f2a9";

/** `proximal args` with `env` (nothing inherited but PATH), killed after `timeoutMs`. */
function cli(args: string[], env: Record<string, string>, cwd: string, timeoutMs = 90_000) {
  return new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

/** `train impala --env CartPole-v1` with `extra` flags. */
const trainImpala = (...extra: string[]) => ["train", "impala", "--env", "CartPole-v1", ...extra];

/**
 * `train <algo> --env <envId> --distributed <url> --local-actors 2 --total-timesteps <total> --set
 * <each of sets> --out <out> --json`.
 */
function trainWithLocalActors(
  algo: string,
  envId: string,
  url: string,
  total: number,
  out: string,
  sets: string[],
): string[] {
  const setFlags = sets.flatMap((s) => ["--set", s]);
  return [
    "train",
    algo,
    "--env",
    envId,
    "--distributed",
    url,
    "--local-actors",
    "2",
    "--total-timesteps",
    String(total),
    ...setFlags,
    "--out",
    out,
    "--json",
  ];
}

/** The rows of a run's progress.jsonl. */
function progressRows(runDir: string): Record<string, number>[] {
  return readFileSync(join(runDir, "progress.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("proximal train impala --distributed / proximal actor, on a server that requires a password", {
  timeout: 180_000,
}, () => {
  let server: RedisServerHandle;
  let work = "";
  before(async () => {
    server = await startRedisServer({ requirePassword: PASSWORD });
    work = mkdtempSync(join(tmpdir(), "proximal-dist-cli-"));
  });
  after(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test("an actor without credentials is refused (exit 2, says which variable to set)", async () => {
    const r = await cli(["actor", "--connect", server.url, "--run", "x"], {}, work);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /refused the connection.*PROXIMAL_REDIS_PASSWORD/);
  });

  test("credentials in the URL are refused without being echoed", async () => {
    const r = await cli(
      trainImpala(
        "--distributed",
        `redis://default:${PASSWORD}@127.0.0.1:${server.port}`,
        "--out",
        "url-run",
      ),
      {},
      work,
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /contains credentials/);
    assert.ok(!r.stderr.includes(PASSWORD) && !r.stdout.includes(PASSWORD));
  });

  test("--local-actors needs --distributed", async () => {
    const r = await cli(trainImpala("--local-actors", "2"), {}, work);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--local-actors and --run need --distributed/);
  });

  test("--resume refuses the distributed flags instead of ignoring them", async () => {
    const r = await cli(["train", "--resume", "nowhere", "--local-actors", "2"], {}, work);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /--resume reconnects to the server and run id saved in nowhere's config.json; drop --local-actors/,
    );
  });

  test("a learner with local actors trains from the password in the environment, and never writes or prints it", async () => {
    const r = await cli(
      trainImpala(
        "--distributed",
        server.url,
        "--local-actors",
        "2",
        "--total-timesteps",
        "1200",
        "--set",
        "nSteps=16",
        "--set",
        "batchSize=2",
        "--out",
        "run",
        "--json",
      ),
      { PROXIMAL_REDIS_PASSWORD: PASSWORD },
      work,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), "the password was printed");
    const files = filesUnder(join(work, "run"));
    assert.ok(files.length > 3);
    for (const file of files) {
      assert.ok(!readFileSync(file).includes(PASSWORD), `the password is in ${file}`);
    }
    const rows = progressRows(join(work, "run"));
    const last = rows[rows.length - 1];
    assert.ok(last.timesteps >= 1200);
    assert.ok(rows.some((row) => row["distributed/actors"] >= 1));
    assert.equal(last["distributed/rejected"], 0);
    const config = JSON.parse(readFileSync(join(work, "run", "config.json"), "utf8"));
    assert.equal(config.options.runId, "run");
  });

  test("train ppo --distributed runs PPO with a bound on policy lag, fed by local actors", async () => {
    const r = await cli(
      trainWithLocalActors("ppo", "CartPole-v1", server.url, 800, "ppo-run", [
        "nSteps=32",
        "trajectoriesPerUpdate=2",
        "maxPolicyLag=1",
      ]),
      { PROXIMAL_REDIS_PASSWORD: PASSWORD },
      work,
    );
    assert.equal(r.status, 0, r.stderr);
    const rows = progressRows(join(work, "ppo-run"));
    const last = rows[rows.length - 1];
    assert.ok(last.timesteps >= 800);
    assert.ok(rows.some((row) => row["distributed/actors"] >= 1));
    assert.equal(typeof last["distributed/droppedStale"], "number");
    assert.ok(rows.every((row) => row["distributed/maxPolicyLag"] <= 1));
    const config = JSON.parse(readFileSync(join(work, "ppo-run", "config.json"), "utf8"));
    assert.equal(config.algorithm, "DistributedPPO");
    assert.equal(config.options.maxPolicyLag, 1);
  });

  test("train d4pg --distributed runs D4PG with Ape-X actors (Box actions) fed by local actors", async () => {
    const r = await cli(
      trainWithLocalActors("d4pg", "Pendulum-v1", server.url, 400, "d4pg-run", [
        "stepsPerMessage=10",
        "learningStarts=100",
        "batchSize=16",
        "atoms=11",
        "policy.netArch=[16]",
      ]),
      { PROXIMAL_REDIS_PASSWORD: PASSWORD },
      work,
    );
    assert.equal(r.status, 0, r.stderr);
    const rows = progressRows(join(work, "d4pg-run"));
    const last = rows[rows.length - 1];
    assert.ok(last.timesteps >= 400);
    assert.ok(last["train/nUpdates"] > 0, "the learner never trained");
    assert.ok(rows.some((row) => row["distributed/actors"] >= 1));
    assert.equal(last["distributed/rejected"], 0);
    const config = JSON.parse(readFileSync(join(work, "d4pg-run", "config.json"), "utf8"));
    assert.equal(config.algorithm, "ApexD4PG");
  });

  test("train apex-dqn with local actors: the actors send transitions, the learner trains on them", async () => {
    const r = await cli(
      trainWithLocalActors("apex-dqn", "CartPole-v1", server.url, 800, "apex-run", [
        "stepsPerMessage=20",
        "learningStarts=200",
        "batchSize=16",
      ]),
      { PROXIMAL_REDIS_PASSWORD: PASSWORD },
      work,
    );
    assert.equal(r.status, 0, r.stderr);
    const rows = progressRows(join(work, "apex-run"));
    const last = rows[rows.length - 1];
    assert.ok(last.timesteps >= 800);
    assert.ok(last["train/nUpdates"] > 0, "the learner never trained");
    assert.ok(rows.some((row) => row["distributed/actors"] >= 1));
    assert.equal(last["distributed/rejected"], 0);
  });
});

describe("proximal train --distributed rediss:// (TLS only, client certificates, a password)", {
  timeout: 180_000,
}, () => {
  let server: RedisServerHandle | null = null;
  let work = "";
  let certificates: TestCertificates;
  let skip: string | null = null;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "proximal-dist-tls-"));
    const started = await startTlsRedisServer(work, { requirePassword: PASSWORD });
    if ("skip" in started) skip = started.skip;
    else ({ server, certificates } = started);
  });
  after(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test("a learner and its local actors train over TLS; no secret reaches the output or the run directory", async (t) => {
    if (skip !== null) return t.skip(skip);
    const r = await cli(
      trainImpala(
        "--distributed",
        (server as RedisServerHandle).url,
        "--local-actors",
        "1",
        "--total-timesteps",
        "320",
        "--set",
        "nSteps=16",
        "--set",
        "batchSize=2",
        "--out",
        "tls-run",
        "--json",
      ),
      {
        PROXIMAL_REDIS_PASSWORD: PASSWORD,
        PROXIMAL_REDIS_TLS_CA: certificates.caFile,
        PROXIMAL_REDIS_TLS_CERT: certificates.clientCertFile,
        PROXIMAL_REDIS_TLS_KEY: certificates.clientKeyFile,
      },
      work,
    );
    assert.equal(r.status, 0, r.stderr);
    // the secrets: the password and the client's private key (any line of its PEM body)
    const keyLines = readFileSync(certificates.clientKeyFile, "utf8")
      .split("\n")
      .filter((line) => line.length > 20 && !line.startsWith("-----"));
    assert.ok(keyLines.length > 0);
    const secrets = [PASSWORD, ...keyLines];
    for (const secret of secrets) {
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), "a secret was printed");
    }
    const files = filesUnder(join(work, "tls-run"));
    assert.ok(files.length > 3);
    for (const file of files) {
      const text = readFileSync(file);
      for (const secret of secrets) assert.ok(!text.includes(secret), `a secret is in ${file}`);
    }
    const rows = progressRows(join(work, "tls-run"));
    assert.ok(rows[rows.length - 1].timesteps >= 320);
    assert.ok(rows.some((row) => row["distributed/actors"] >= 1));
  });
});
