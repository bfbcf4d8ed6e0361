import type { ChildProcess } from "node:child_process";

/**
 * Stop child processes: SIGTERM (they finish what they are doing and exit), then SIGKILL after
 * `graceMs`; resolves once every one has exited. Node only.
 */
export async function stopChildProcesses(children: ChildProcess[], graceMs = 5000): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
}
