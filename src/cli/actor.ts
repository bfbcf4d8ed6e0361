/**
 * `proximal actor --connect <url> --run <id>`: an actor for a learner started with
 * `proximal train impala|ppo|apex-dqn|d4pg --distributed <url> --run <id>`, on this machine or another. It reads the
 * env, sizes and network from the run's description, follows the learner's weights, and publishes
 * trajectories until Ctrl-C (or `--max-trajectories`). Credentials come from the environment
 * (`PROXIMAL_REDIS_USERNAME`, `PROXIMAL_REDIS_PASSWORD`, `PROXIMAL_REDIS_TLS_CA`, `PROXIMAL_REDIS_TLS_CERT`,
 * `PROXIMAL_REDIS_TLS_KEY`), never from flags.
 *
 * {@link spawnLocalActors} starts such actors as child processes for `train --local-actors N`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { stopChildProcesses } from "../childProcesses.js";
import { ProximalError } from "../errors.js";
import { RedisTransport } from "../rl/distributed/common/redisTransport.js";
import { runRemoteActor } from "../rl/distributed/common/remoteActor.js";

/** Flags of `actor` as commander hands them over. */
export interface ActorFlags {
  connect?: string;
  run?: string;
  seed?: string;
  actorId?: string;
  maxTrajectories?: string;
  actorIndex?: string;
  json?: boolean;
}

function integerFlag(text: string | undefined, flag: string, fallback: number | null): number | null {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value)) {
    throw new ProximalError("INVALID_ARGUMENT", `${flag} must be an integer, got "${text}".`);
  }
  return value;
}

/** Run `actor`; resolves to the exit status. */
export async function actorCommand(flags: ActorFlags): Promise<number> {
  if (flags.connect === undefined || flags.run === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "actor needs --connect <url> and --run <id>, e.g. proximal actor --connect redis://learner-host:6379 --run cartpole-1",
    );
  }
  const seed = integerFlag(flags.seed, "--seed", Math.floor(Math.random() * 2 ** 31)) as number;
  const maxTrajectories = integerFlag(flags.maxTrajectories, "--max-trajectories", null);
  const actorIndex = integerFlag(flags.actorIndex, "--actor-index", null);
  const actorId = flags.actorId ?? `${hostname()}-${process.pid}`;
  const transport = await RedisTransport.connect(flags.connect, { runId: flags.run, role: "actor" });
  const stop = new AbortController();
  const onSignal = () => {
    // finish the trajectory in progress; a server that stopped answering must not keep us alive
    stop.abort();
    setTimeout(() => process.exit(130), 5000).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const say = (event: Record<string, unknown>, text: string) =>
      process.stdout.write(flags.json ? `${JSON.stringify(event)}\n` : `${text}\n`);
    say(
      { event: "start", actorId, runId: flags.run, seed },
      `actor ${actorId} joining run ${flags.run} (seed ${seed})`,
    );
    const { trajectories } = await runRemoteActor(transport, {
      runId: flags.run,
      actorId,
      seed,
      maxTrajectories,
      actorIndex,
      signal: stop.signal,
      onTrajectory: ({ count, version, episodeReturns }) => {
        if (flags.json) say({ event: "trajectory", count, version, episodeReturns }, "");
      },
    });
    say({ event: "done", actorId, trajectories }, `actor ${actorId}: ${trajectories} trajectories sent`);
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await transport.close();
  }
}

/** Child `proximal actor` processes for `train --local-actors N`; `stop()` ends them (SIGTERM, then SIGKILL). */
export function spawnLocalActors(
  count: number,
  options: { url: string; runId: string; seed: number },
): { children: ChildProcess[]; stop(): Promise<void> } {
  const main = fileURLToPath(new URL("./main.js", import.meta.url));
  const children = Array.from({ length: count }, (_, k) =>
    spawn(
      process.execPath,
      [
        main,
        "actor",
        "--connect",
        options.url,
        "--run",
        options.runId,
        "--seed",
        String(options.seed + 7919 * (k + 1)),
        "--actor-id",
        `local-${k}`,
        // an Ape-X run spreads its local actors over the ε ladder (IMPALA ignores the index)
        "--actor-index",
        String(k),
      ],
      // the environment passes through: the actors read the same PROXIMAL_REDIS_* credentials
      { stdio: ["ignore", "ignore", "inherit"] },
    ),
  );
  return { children, stop: () => stopChildProcesses(children) };
}
