import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

const moduleUrl = new URL("./workerThread.js", import.meta.url).href;

// A hot function in a worker started through startWorker must be compiled by TurboFan on the worker's
// own thread (V8's --trace-opt says `compiling method ... mode: ConcurrencyMode::kSynchronous`), so no
// background compile job can outlive the worker's JavaScript and deadlock its exit (workerThread.ts).
const script = `
import * as threads from "node:worker_threads";
import { startWorker } from ${JSON.stringify(moduleUrl)};
const body =
  "function hotInWorker(x) { return Math.sqrt(x) % 3; }" +
  "let s = 0; for (let j = 0; j < 300; j++) for (let i = 0; i < 1e4; i++) s += hotInWorker(i + j);" +
  "require('node:worker_threads').parentPort.postMessage(s);";
startWorker(threads, body, { eval: true });
`;

describe("startWorker()", () => {
  test("workers it starts optimise synchronously (no background TurboFan job to outlive them)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "proximal-worker-"));
    try {
      const file = join(dir, "start.mjs");
      await writeFile(file, script);
      const run = spawnSync(process.execPath, ["--trace-opt", file], { encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      const compiles = run.stdout
        .split("\n")
        .filter((l) => l.startsWith("[compiling method") && l.includes("hotInWorker"));
      assert.ok(
        compiles.length > 0,
        `no compilation of the worker's hot function traced:\n${run.stdout.slice(0, 1500)}`,
      );
      for (const line of compiles) assert.match(line, /ConcurrencyMode::kSynchronous/, line);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
