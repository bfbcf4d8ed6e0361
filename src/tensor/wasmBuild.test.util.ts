import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { relaxedSimdSupported } from "./wasmBuild.js";

// Shared by the tests of the relaxed-SIMD wasm build (wasmBuild.test.ts, backendParity.test.ts).

export const NODE_MAJOR = Number(process.versions.node.split(".")[0]);
/** Node 20's V8 implements relaxed SIMD behind this flag; Node >= 22 ships it on. */
export const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";
/** Whether this process can load the relaxed-SIMD build. */
export const RELAXED_HERE = relaxedSimdSupported();
/** The skip reason of a relaxed-build test where the runtime lacks relaxed SIMD. */
export const WITHOUT_RELAXED = `this runtime has no relaxed SIMD (Node ${process.versions.node} without ${RELAXED_FLAG})`;

/**
 * Where this runtime lacks relaxed SIMD but V8 has it behind {@link RELAXED_FLAG} (Node 20), one test
 * that runs the test file at `fileUrl` again in a child node with the flag and requires every test to
 * pass, and the top-level tests or suites named `names` to be among them; so the relaxed build is
 * checked on Node 20 too. Elsewhere it skips, saying why. Call it only where `!RELAXED_HERE`.
 */
export function testAgainWithRelaxedFlag(fileUrl: string, names: string[]): void {
  test(`the relaxed-SIMD tests, in a child node ${RELAXED_FLAG}`, {
    skip: NODE_MAJOR === 20 ? false : `Node ${process.versions.node} has no relaxed SIMD, even behind a flag`,
  }, () => {
    // without the runner's NODE_TEST_CONTEXT, which would make the child report to this runner
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(
      process.execPath,
      [RELAXED_FLAG, "--test", "--test-reporter=tap", fileURLToPath(fileUrl)],
      {
        encoding: "utf8",
        env,
      },
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^# fail 0$/m);
    assert.match(r.stdout, /^# skipped 0$/m, "the child skipped relaxed-SIMD tests although it has the flag");
    const passed = r.stdout.split("\n").filter((line) => /^ok \d+ - /.test(line));
    for (const name of names) {
      assert.ok(
        passed.some((line) => line.replace(/^ok \d+ - /, "") === name),
        `"${name}" did not pass in the child:\n${r.stdout}`,
      );
    }
  });
}
