import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import type { BackendName } from "./backend.js";
import { RESERVED_BACKENDS } from "./backend.js";
import { chooseDefaultBackend, NATIVE_IS_DEFAULT } from "./defaultBackend.js";
import { loadNativeBackend } from "./nativeBackend.js";
import { availableBackends, backendInfo, setBackend } from "./tensor.js";
import { relaxedMaddFuses, relaxedSimdSupported } from "./wasmBuild.js";
import { NODE_MAJOR, RELAXED_FLAG } from "./wasmBuild.test.util.js";

// The package entry as users load it, run in a fresh process so PROXIMAL_BACKEND and node flags apply
// from the start (the choice is made once per process).
const ENTRY = new URL("../index.js", import.meta.url).href;
// the native addon's path in this checkout (null where it is not built); a child process reports the same
const NATIVE_ISA = loadNativeBackend()?.isa ?? null;
// the wasm build a child without flags loads: relaxed SIMD where the runtime has it (Node >= 22)
const WASM_BUILD = relaxedSimdSupported() ? "relaxed-simd" : "simd128";
const WASM_FMA = WASM_BUILD === "relaxed-simd" && relaxedMaddFuses();

interface ChildResult {
  status: number;
  stderr: string;
  /** What the child printed: backendInfo() and the result of one op, or the thrown error's code and message. */
  report: {
    name?: string;
    reason?: string;
    simd?: boolean;
    wasmBuild?: string | null;
    wasmFma?: boolean;
    nativeIsa?: string | null;
    threads?: number;
    sum?: number;
    code?: string;
    message?: string;
  };
}

/** Import proximal in a child with `env` (PROXIMAL_BACKEND removed unless given) and run two ops. */
function runChild(env: Record<string, string>, nodeFlags: string[] = []): ChildResult {
  const script = `
    const proximal = await import(${JSON.stringify(ENTRY)});
    try {
      // two ops, so a warning printed per op (rather than once) would show twice
      const x = proximal.tensor([1, 2, 3]);
      const sum = proximal.ops.sum(proximal.ops.mul(x, x)).item();
      console.log(JSON.stringify({ ...proximal.backendInfo(), sum }));
    } catch (error) {
      console.log(JSON.stringify({ code: error.code, message: error.message }));
    }`;
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  if (!("PROXIMAL_BACKEND" in env)) delete childEnv.PROXIMAL_BACKEND;
  if (!("PROXIMAL_THREADS" in env)) delete childEnv.PROXIMAL_THREADS;
  if (!("PROXIMAL_WASM_RELAXED" in env)) delete childEnv.PROXIMAL_WASM_RELAXED;
  const r = spawnSync(process.execPath, [...nodeFlags, "--input-type=module", "-e", script], {
    env: childEnv,
    encoding: "utf8",
  });
  const lastLine = r.stdout.trim().split("\n").at(-1) ?? "";
  assert.ok(lastLine.startsWith("{"), `child printed no report; stdout: ${r.stdout} stderr: ${r.stderr}`);
  return { status: r.status ?? -1, stderr: r.stderr, report: JSON.parse(lastLine) };
}

/** Occurrences of the fallback warning's code in `stderr`. */
function fallbackWarnings(stderr: string): number {
  return stderr.split("PROXIMAL_BACKEND_FALLBACK").length - 1;
}

describe("chooseDefaultBackend()", () => {
  test("picks native when PROXIMAL_BACKEND is unset on Node and the addon loads", () => {
    assert.equal(NATIVE_IS_DEFAULT, true);
    const choice = chooseDefaultBackend({
      requested: undefined,
      wasmFailure: undefined,
      nativeFailure: undefined,
      nativeIsa: "avx512",
      nativeDefault: true,
    });
    assert.deepEqual(choice, { name: "native", reason: "default: native kernels loaded (avx512)" });
  });

  test("picks wasm when unset where native is not the default (browsers), without a warning", () => {
    const choice = chooseDefaultBackend({
      requested: undefined,
      wasmFailure: undefined,
      nativeFailure: "not Node",
    });
    assert.deepEqual(choice, { name: "wasm", reason: "default: WebAssembly SIMD kernels loaded" });
  });

  test("unset on Node without the addon: wasm with one warning naming the cause", () => {
    const choice = chooseDefaultBackend({
      requested: undefined,
      wasmFailure: undefined,
      nativeFailure: "no C++ compiler",
      nativeDefault: true,
    });
    assert.equal(choice.name, "wasm");
    assert.equal(choice.reason, "fallback: native backend unavailable (no C++ compiler)");
    assert.match(
      choice.warning ?? "",
      /^proximal: The native backend \(the default on Node\) is unavailable \(no C\+\+ compiler\); using the wasm backend/,
    );
  });

  test("PROXIMAL_BACKEND=native chooses native, naming its instruction-set path", () => {
    const choice = chooseDefaultBackend({
      requested: "native",
      wasmFailure: undefined,
      nativeFailure: undefined,
      nativeIsa: "avx2",
    });
    assert.deepEqual(choice, { name: "native", reason: "PROXIMAL_BACKEND=native (avx2 kernels)" });
  });

  test("PROXIMAL_BACKEND=native without the addon falls back to wasm with a warning naming the cause", () => {
    const choice = chooseDefaultBackend({
      requested: "native",
      wasmFailure: undefined,
      nativeFailure: "not built",
    });
    assert.equal(choice.name, "wasm");
    assert.match(choice.reason, /^fallback: native backend unavailable \(not built\)/);
    assert.match(
      choice.warning ?? "",
      /native backend, which is unavailable \(not built\); using the wasm backend/,
    );
  });

  test("PROXIMAL_BACKEND=native with neither native nor wasm falls back to cpu with a warning", () => {
    const choice = chooseDefaultBackend({
      requested: "native",
      wasmFailure: "no SIMD",
      nativeFailure: "not built",
    });
    assert.equal(choice.name, "cpu");
    assert.match(choice.warning ?? "", /not built.*no SIMD/);
  });

  test("treats an empty PROXIMAL_BACKEND as unset", () => {
    assert.equal(chooseDefaultBackend({ requested: "", wasmFailure: undefined }).name, "wasm");
  });

  test("falls back to cpu with a warning naming the cause when the kernels fail to load", () => {
    const choice = chooseDefaultBackend({ requested: undefined, wasmFailure: "no SIMD here" });
    assert.equal(choice.name, "cpu");
    assert.match(choice.reason, /^fallback: .*no SIMD here/);
    assert.match(choice.warning ?? "", /no SIMD here.*PROXIMAL_BACKEND=cpu/);
  });

  test("PROXIMAL_BACKEND=cpu chooses cpu even where wasm loads, without a warning", () => {
    const choice = chooseDefaultBackend({ requested: "cpu", wasmFailure: undefined });
    assert.deepEqual(choice, { name: "cpu", reason: "PROXIMAL_BACKEND=cpu" });
  });

  test("PROXIMAL_BACKEND=wasm throws BACKEND_UNAVAILABLE with the cause where the kernels fail", () => {
    assert.throws(
      () => chooseDefaultBackend({ requested: "wasm", wasmFailure: "no SIMD here" }),
      (e: unknown) =>
        e instanceof ProximalError && e.code === "BACKEND_UNAVAILABLE" && /no SIMD here/.test(e.message),
    );
  });

  test("PROXIMAL_BACKEND=webgpu, the slot reserved for a GPU backend, is BACKEND_UNAVAILABLE naming what exists", () => {
    assert.throws(
      () => chooseDefaultBackend({ requested: "webgpu", wasmFailure: undefined, nativeFailure: undefined }),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "BACKEND_UNAVAILABLE" &&
        e.message.includes("PROXIMAL_BACKEND=webgpu") &&
        e.message.includes('"native"') &&
        e.message.includes('"wasm"'),
    );
  });

  test("setBackend of the reserved webgpu name throws BACKEND_UNAVAILABLE, leaves the backend as it was, and availableBackends never lists it", () => {
    const before = backendInfo().name;
    assert.throws(
      () => setBackend("webgpu" as BackendName),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "BACKEND_UNAVAILABLE" &&
        /setBackend\("webgpu"\)/.test(e.message),
    );
    assert.equal(backendInfo().name, before);
    assert.deepEqual(
      availableBackends().filter((n) => (RESERVED_BACKENDS as readonly string[]).includes(n)),
      [],
    );
  });

  test("an unknown PROXIMAL_BACKEND throws INVALID_OPTION naming the valid values", () => {
    assert.throws(
      () => chooseDefaultBackend({ requested: "wasn", wasmFailure: undefined }),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "INVALID_OPTION" &&
        e.message.includes('"cpu", "wasm" or "native"') &&
        e.message.includes('Did you mean "wasm"?'),
    );
  });
});

describe("the backend a fresh Node process runs on", () => {
  test("is native by default where the addon is built (else wasm with one notice), and wasm SIMD loads", () => {
    const { report, stderr } = runChild({});
    if (NATIVE_ISA !== null) {
      assert.deepEqual(report, {
        name: "native",
        reason: `default: native kernels loaded (${NATIVE_ISA})`,
        simd: true,
        wasmBuild: WASM_BUILD,
        wasmFma: WASM_FMA,
        nativeIsa: NATIVE_ISA,
        threads: availableParallelism(),
        sum: 14,
      });
      assert.equal(fallbackWarnings(stderr), 0);
      // PROXIMAL_THREADS sets the native thread count; a value that is not a count is an error
      assert.equal(runChild({ PROXIMAL_THREADS: "1" }).report.threads, 1);
      const bad = runChild({ PROXIMAL_THREADS: "many" }).report;
      assert.equal(bad.code, "INVALID_OPTION");
      assert.match(bad.message ?? "", /PROXIMAL_THREADS must be an integer from 1 to 256, got "many"/);
    } else {
      // nativeParity.test.ts fails where a compiler is present but the addon is missing
      assert.equal(report.name, "wasm");
      assert.equal(report.simd, true);
      assert.equal(fallbackWarnings(stderr), 1, stderr);
    }
  });

  test("is wasm with one notice when the addon is unavailable (PROXIMAL_NATIVE=0), so wasm stays covered", () => {
    const { report, stderr } = runChild({ PROXIMAL_NATIVE: "0" });
    assert.deepEqual(report, {
      name: "wasm",
      reason: "fallback: native backend unavailable (PROXIMAL_NATIVE=0 disables it)",
      simd: true,
      wasmBuild: WASM_BUILD,
      wasmFma: WASM_FMA,
      nativeIsa: null,
      threads: 1,
      sum: 14,
    });
    assert.equal(fallbackWarnings(stderr), 1, stderr);
  });

  test("is wasm with PROXIMAL_BACKEND=wasm, without a notice", () => {
    const { report, stderr } = runChild({ PROXIMAL_BACKEND: "wasm" });
    assert.equal(report.name, "wasm");
    assert.equal(report.reason, "PROXIMAL_BACKEND=wasm");
    assert.equal(fallbackWarnings(stderr), 0);
  });

  test("is cpu with PROXIMAL_BACKEND=cpu", () => {
    const { report } = runChild({ PROXIMAL_BACKEND: "cpu" });
    assert.deepEqual(report, {
      name: "cpu",
      reason: "PROXIMAL_BACKEND=cpu",
      simd: true,
      wasmBuild: WASM_BUILD,
      wasmFma: WASM_FMA,
      nativeIsa: NATIVE_ISA,
      threads: 1,
      sum: 14,
    });
  });

  test("is an INVALID_OPTION error for PROXIMAL_BACKEND=gpu", () => {
    const { report } = runChild({ PROXIMAL_BACKEND: "gpu" });
    assert.equal(report.code, "INVALID_OPTION");
    assert.match(report.message ?? "", /PROXIMAL_BACKEND is "gpu".*"cpu", "wasm" or "native"/);
  });

  test("is native with PROXIMAL_BACKEND=native where the addon is built, with its path in the reason", (t) => {
    if (NATIVE_ISA === null) {
      // nativeParity.test.ts fails where a compiler is present but the addon is missing
      t.skip("the native addon is not built here");
      return;
    }
    const { report, stderr } = runChild({ PROXIMAL_BACKEND: "native" });
    assert.equal(report.name, "native");
    assert.equal(report.reason, `PROXIMAL_BACKEND=native (${NATIVE_ISA} kernels)`);
    assert.equal(report.sum, 14);
    assert.equal(fallbackWarnings(stderr), 0);
  });

  test("falls back to wasm with exactly one notice when PROXIMAL_BACKEND=native and the addon is unavailable", () => {
    // PROXIMAL_NATIVE=0 hides the addon, as a machine without a compiler would
    const { report, stderr } = runChild({ PROXIMAL_BACKEND: "native", PROXIMAL_NATIVE: "0" });
    assert.equal(report.name, "wasm");
    assert.equal(report.nativeIsa, null);
    assert.equal(report.sum, 14);
    assert.match(
      report.reason ?? "",
      /^fallback: native backend unavailable \(PROXIMAL_NATIVE=0 disables it\)/,
    );
    assert.equal(fallbackWarnings(stderr), 1, stderr);
    const notice = stderr.split("\n").filter((line) => line.includes("PROXIMAL_BACKEND_FALLBACK"));
    assert.equal(notice.length, 1, stderr);
    assert.match(
      notice[0],
      /native backend, which is unavailable \(PROXIMAL_NATIVE=0 disables it\); using the wasm backend/,
    );
  });

  test("falls back to cpu with exactly one warning without native and WebAssembly (node --jitless)", () => {
    const { report, stderr } = runChild({ PROXIMAL_NATIVE: "0" }, ["--jitless"]);
    assert.equal(report.name, "cpu");
    assert.equal(report.simd, false);
    assert.equal(report.sum, 14);
    assert.match(
      report.reason ?? "",
      /^fallback: native backend unavailable \(PROXIMAL_NATIVE=0 disables it\) and WebAssembly SIMD kernels failed to load \(.*no WebAssembly/,
    );
    assert.equal(fallbackWarnings(stderr), 1, stderr);
  });

  test("is a BACKEND_UNAVAILABLE error with PROXIMAL_BACKEND=wasm when WebAssembly is missing", () => {
    const { report } = runChild({ PROXIMAL_BACKEND: "wasm" }, ["--jitless"]);
    assert.equal(report.code, "BACKEND_UNAVAILABLE");
    assert.match(report.message ?? "", /no WebAssembly.*PROXIMAL_BACKEND/);
  });
});

describe("the wasm build a fresh Node process loads (PROXIMAL_WASM_RELAXED)", () => {
  test("unset: relaxed SIMD where the runtime has it (Node >= 22; Node 20 with its V8 flag), else SIMD128", () => {
    const plain = runChild({ PROXIMAL_BACKEND: "wasm" }).report;
    assert.deepEqual([plain.name, plain.wasmBuild, plain.wasmFma], ["wasm", WASM_BUILD, WASM_FMA]);
    assert.equal(plain.sum, 14);
    if (NODE_MAJOR === 20) {
      assert.equal(plain.wasmBuild, "simd128");
      const flagged = runChild({ PROXIMAL_BACKEND: "wasm" }, [RELAXED_FLAG]).report;
      assert.equal(flagged.wasmBuild, "relaxed-simd");
      assert.equal(typeof flagged.wasmFma, "boolean");
      assert.equal(flagged.sum, 14);
    }
  });

  test("0 forces SIMD128, whose multiply-adds never fuse, even where relaxed SIMD is available", () => {
    const flags = NODE_MAJOR === 20 ? [RELAXED_FLAG] : [];
    const { report } = runChild({ PROXIMAL_BACKEND: "wasm", PROXIMAL_WASM_RELAXED: "0" }, flags);
    assert.deepEqual(
      [report.name, report.wasmBuild, report.wasmFma, report.sum],
      ["wasm", "simd128", false, 14],
    );
  });

  test("1 requires relaxed SIMD: BACKEND_UNAVAILABLE on a runtime without it", () => {
    const { report } = runChild({ PROXIMAL_BACKEND: "wasm", PROXIMAL_WASM_RELAXED: "1" });
    if (WASM_BUILD === "relaxed-simd") {
      assert.deepEqual([report.wasmBuild, report.sum], ["relaxed-simd", 14]);
    } else {
      assert.equal(report.code, "BACKEND_UNAVAILABLE");
      assert.match(report.message ?? "", /^PROXIMAL_WASM_RELAXED=1 asks for the relaxed-SIMD wasm kernels/);
    }
  });

  test("any other value is an INVALID_OPTION error naming the accepted values, whatever the backend", () => {
    for (const backend of ["wasm", "cpu"]) {
      const { report } = runChild({ PROXIMAL_BACKEND: backend, PROXIMAL_WASM_RELAXED: "on" });
      assert.equal(report.code, "INVALID_OPTION");
      assert.match(
        report.message ?? "",
        /^PROXIMAL_WASM_RELAXED is "on", which is not a valid value. Set it to "0" .*"1" .*or unset/,
      );
    }
  });
});
