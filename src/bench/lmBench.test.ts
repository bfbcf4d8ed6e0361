import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { lmConfigurations } from "./lmBench.js";

// Which backends and thread counts one `bench lm` run reports (issue 16: 1-thread and 2-thread
// figures, and wasm beside native, in one output). No speed is checked here.
describe("bench lm configurations", () => {
  test("native measures 1 thread, every core, then wasm on one thread", () => {
    assert.deepEqual(
      lmConfigurations({ active: "native", wasmAvailable: true, threadsEnv: undefined, cores: 2 }),
      [
        { backend: "native", threads: 1 },
        { backend: "native", threads: 2 },
        { backend: "wasm", threads: 1 },
      ],
    );
  });

  test("one core gives one native row; no wasm build gives no wasm row", () => {
    assert.deepEqual(lmConfigurations({ active: "native", wasmAvailable: false, threadsEnv: "", cores: 1 }), [
      { backend: "native", threads: 1 },
    ]);
  });

  test("PROXIMAL_THREADS=n measures n threads alone (and wasm beside it)", () => {
    assert.deepEqual(lmConfigurations({ active: "native", wasmAvailable: true, threadsEnv: "3", cores: 8 }), [
      { backend: "native", threads: 3 },
      { backend: "wasm", threads: 1 },
    ]);
  });

  test("a wasm or cpu backend measures itself on one thread", () => {
    for (const active of ["wasm", "cpu"] as const) {
      assert.deepEqual(lmConfigurations({ active, wasmAvailable: true, threadsEnv: "4", cores: 8 }), [
        { backend: active, threads: 1 },
      ]);
    }
  });

  test("a bad PROXIMAL_THREADS is INVALID_OPTION naming the value and the fix", () => {
    for (const bad of ["0", "1.5", "two"]) {
      assert.throws(
        () => lmConfigurations({ active: "native", wasmAvailable: true, threadsEnv: bad, cores: 2 }),
        (e: unknown) =>
          e instanceof ProximalError &&
          e.code === "INVALID_OPTION" &&
          e.message.includes(`"${bad}"`) &&
          /Unset it/.test(e.message),
      );
    }
  });
});
