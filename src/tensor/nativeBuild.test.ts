import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

// The native build is optional: where it cannot run, `npm run build` (and so `npm ci`) must still
// succeed, with one notice naming the cause and the fix, and a status file the backend reports.
// Built into a temporary directory (PROXIMAL_NATIVE_OUT) so the real addon is never touched.
const SCRIPT = fileURLToPath(new URL("../../scripts/buildNative.mjs", import.meta.url));

function build(env: Record<string, string>): {
  status: number | null;
  stderr: string;
  stdout: string;
  out: string;
} {
  const out = mkdtempSync(join(tmpdir(), "proximal-native-"));
  const r = spawnSync(process.execPath, [SCRIPT], {
    env: { ...process.env, PROXIMAL_NATIVE: "", ...env, PROXIMAL_NATIVE_OUT: out },
    encoding: "utf8",
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, out };
}

describe("scripts/buildNative.mjs when it cannot build", () => {
  for (const [name, env, cause] of [
    ["PROXIMAL_NATIVE=0", { PROXIMAL_NATIVE: "0" }, /PROXIMAL_NATIVE=0/],
    // no compiler: an empty PATH and a CXX that does not exist
    ["no C++ compiler", { PATH: "", CXX: "/nonexistent/c++" }, /no C\+\+ compiler found/],
  ] as const) {
    test(`${name}: exits 0 with exactly one notice, and records why`, () => {
      const r = build(env);
      try {
        assert.equal(r.status, 0, r.stderr);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], /^proximal: native backend not built: .*will use its WebAssembly backend/);
        assert.match(lines[0], cause);
        assert.equal(existsSync(join(r.out, "proximal.node")), false);
        const status = JSON.parse(readFileSync(join(r.out, "status.json"), "utf8"));
        assert.equal(status.built, false);
        assert.match(status.reason, cause);
      } finally {
        rmSync(r.out, { recursive: true, force: true });
      }
    });
  }

  test("PROXIMAL_NATIVE=1 turns the notice into a failing exit (for machines that must have it)", () => {
    const r = build({ PROXIMAL_NATIVE: "1", PATH: "", CXX: "/nonexistent/c++" });
    rmSync(r.out, { recursive: true, force: true });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no C\+\+ compiler found.*\n\(PROXIMAL_NATIVE=1 makes this an error\.\)/);
  });
});
