// Test helper: the built `proximal` command run as a subprocess in a temporary working directory,
// made before the test file's tests and removed after them.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

/** Exit status and output of one `proximal` run. */
export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Register `before`/`after` hooks for a temporary directory named `prefix...`; `cli(...args)` runs
 * `proximal args` there and `work()` is its path (valid once the tests run).
 */
export function temporaryCli(prefix: string): { cli: (...args: string[]) => CliResult; work: () => string } {
  let work = "";
  before(async () => {
    work = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });
  return {
    cli(...args: string[]): CliResult {
      const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: work, encoding: "utf8" });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    work: () => work,
  };
}
