import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { CpuBackend } from "./cpuBackend.js";
import { assertClose, randomNormal } from "./testing.js";
import { loadWasmBuild, requireWasmBackend } from "./wasmBackend.js";
import {
  chooseWasmBuild,
  RELAXED_MADD_OFFSET,
  RELAXED_MADD_PROBE,
  relaxedMaddFuses,
  relaxedSimdSupported,
  wasmBuildLabel,
} from "./wasmBuild.js";
import {
  NODE_MAJOR,
  RELAXED_FLAG,
  RELAXED_HERE,
  testAgainWithRelaxedFlag,
  WITHOUT_RELAXED,
} from "./wasmBuild.test.util.js";

// Where this runtime lacks relaxed SIMD (Node 20), the relaxed build's tests skip here and the whole
// file runs again in a child node with V8's flag (the last test).

describe("relaxed-SIMD feature detection", () => {
  test("the probe is the relaxed_madd instruction in an otherwise baseline-SIMD module", () => {
    assert.deepEqual(
      [...RELAXED_MADD_PROBE.subarray(RELAXED_MADD_OFFSET, RELAXED_MADD_OFFSET + 3)],
      [0xfd, 0x85, 0x02],
    );
    // the same bytes with v128.bitselect (0xfd 0x52, the same stack shape) and a nop in its place
    // validate on every SIMD runtime: a runtime without relaxed SIMD rejects the probe for that one
    // instruction, not for a malformed module
    const baseline = RELAXED_MADD_PROBE.slice();
    baseline.set([0xfd, 0x52, 0x01], RELAXED_MADD_OFFSET);
    assert.equal(WebAssembly.validate(baseline), true);
  });

  test("validates where the runtime has relaxed SIMD: Node >= 22, or Node 20 with its V8 flag", () => {
    const expected = NODE_MAJOR >= 22 || process.execArgv.includes(RELAXED_FLAG);
    assert.equal(RELAXED_HERE, expected);
    assert.equal(WebAssembly.validate(RELAXED_MADD_PROBE), expected);
  });

  test("with an injected validate: true means supported; false or a throw means a runtime without it", () => {
    const seen: Uint8Array[] = [];
    assert.equal(
      relaxedSimdSupported((bytes) => {
        seen.push(bytes);
        return true;
      }),
      true,
    );
    assert.deepEqual(seen, [RELAXED_MADD_PROBE]);
    assert.equal(
      relaxedSimdSupported(() => false),
      false,
    );
    assert.equal(
      relaxedSimdSupported(() => {
        throw new WebAssembly.CompileError("invalid opcode 0xfd105");
      }),
      false,
    );
  });

  test("without relaxed SIMD the SIMD128 build is chosen, and the relaxed build does not load", () => {
    assert.deepEqual(
      chooseWasmBuild(
        undefined,
        relaxedSimdSupported(() => false),
      ).build,
      "simd128",
    );
    if (!RELAXED_HERE) assert.equal(loadWasmBuild("relaxed-simd"), null);
  });

  test("relaxedMaddFuses answers on a = b = 1 + 2^-12, c = -(1 + 2^-11): 2^-24 fused, 0 unfused", {
    skip: RELAXED_HERE ? false : WITHOUT_RELAXED,
  }, () => {
    // both answers are legal for relaxed_madd; which one is the CPU's (x86 FMA3 and ARM fuse)
    assert.equal(typeof relaxedMaddFuses(), "boolean");
    assert.equal(relaxedMaddFuses(), relaxedMaddFuses());
  });
});

describe("chooseWasmBuild (PROXIMAL_WASM_RELAXED)", () => {
  test("unset or empty: relaxed SIMD where the runtime has it, else SIMD128, saying why", () => {
    for (const setting of [undefined, ""]) {
      assert.deepEqual(chooseWasmBuild(setting, true), {
        build: "relaxed-simd",
        reason: "the runtime has relaxed SIMD",
      });
      const without = chooseWasmBuild(setting, false);
      assert.equal(without.build, "simd128");
      assert.match(without.reason, /no relaxed SIMD.*--experimental-wasm-relaxed-simd/);
    }
  });

  test("0 forces SIMD128 even where relaxed SIMD is available", () => {
    assert.deepEqual(chooseWasmBuild("0", true), { build: "simd128", reason: "PROXIMAL_WASM_RELAXED=0" });
    assert.deepEqual(chooseWasmBuild("0", false), { build: "simd128", reason: "PROXIMAL_WASM_RELAXED=0" });
  });

  test("1 requires relaxed SIMD: BACKEND_UNAVAILABLE where the runtime lacks it", () => {
    assert.deepEqual(chooseWasmBuild("1", true), {
      build: "relaxed-simd",
      reason: "PROXIMAL_WASM_RELAXED=1",
    });
    assert.throws(
      () => chooseWasmBuild("1", false),
      (e) =>
        e instanceof ProximalError &&
        e.code === "BACKEND_UNAVAILABLE" &&
        /PROXIMAL_WASM_RELAXED=1.*no relaxed SIMD.*Node >= 22/.test(e.message),
    );
  });

  test("any other value is INVALID_OPTION naming the value and the accepted ones", () => {
    for (const setting of ["yes", "true", "2", " 0", "simd128"]) {
      assert.throws(
        () => chooseWasmBuild(setting, true),
        (e) =>
          e instanceof ProximalError &&
          e.code === "INVALID_OPTION" &&
          e.message.includes(`PROXIMAL_WASM_RELAXED is "${setting}"`) &&
          e.message.includes('"0" (the SIMD128 kernels), "1" (the relaxed-SIMD kernels'),
      );
    }
  });

  test("labels: relaxed-simd fma only where the multiply-adds fuse", () => {
    assert.equal(wasmBuildLabel("relaxed-simd", true), "relaxed-simd fma");
    assert.equal(wasmBuildLabel("relaxed-simd", false), "relaxed-simd (multiply-adds not fused on this CPU)");
    assert.equal(wasmBuildLabel("simd128", false), "simd128");
  });
});

describe("the two wasm builds' matmul", () => {
  const cpu = new CpuBackend();
  const simd128 = loadWasmBuild("simd128");
  const relaxed = loadWasmBuild("relaxed-simd");
  const skipRelaxed = relaxed === null ? WITHOUT_RELAXED : false;

  /** C (accumulated) = -(1 + 2^-11) + (1 + 2^-12)², k = 1, on a 4 x 8 block (the kernel's widest tile). */
  function fusionProbe(backend: NonNullable<typeof simd128>): Float32Array {
    const x = 1 + 2 ** -12;
    const a = new Float32Array(4).fill(x);
    const b = new Float32Array(8).fill(x);
    const out = new Float32Array(32).fill(-(1 + 2 ** -11));
    backend.matmul(a, b, out, 1, 4, 1, 8, false, false, 0, 0, true);
    return out;
  }

  test("SIMD128 multiplies then adds: the product rounds first, so the probe gives exactly 0", () => {
    assert.ok(simd128 !== null, "the SIMD128 build must load on Node");
    assert.equal(simd128, loadWasmBuild("simd128"));
    assert.equal(simd128.build, "simd128");
    assert.equal(simd128.fma, false);
    assert.deepEqual([...new Set(fusionProbe(simd128))], [0]);
  });

  test("the relaxed build's matmul uses relaxed_madd: 2^-24 where the engine fuses, 0 where it does not", {
    skip: skipRelaxed,
  }, () => {
    assert.ok(relaxed !== null);
    assert.equal(relaxed.build, "relaxed-simd");
    assert.equal(relaxed.fma, relaxedMaddFuses());
    assert.deepEqual([...new Set(fusionProbe(relaxed))], [relaxed.fma ? 2 ** -24 : 0]);
  });

  test("the relaxed build is deterministic and within float32 rounding of SIMD128 and the cpu reference (64x256x256)", {
    skip: skipRelaxed,
  }, () => {
    assert.ok(relaxed !== null && simd128 !== null);
    const [m, k, n] = [64, 256, 256];
    const rng = new Rng(7);
    const a = randomNormal(rng, m * k);
    const b = randomNormal(rng, k * n);
    const run = (backend: NonNullable<typeof relaxed>, transB: boolean) => {
      const out = new Float32Array(m * n);
      backend.matmul(a, b, out, 1, m, k, n, false, transB, 0, 0, false);
      return out;
    };
    const bound = new Float32Array(m * n);
    cpu.matmul(a.map(Math.abs), b.map(Math.abs), bound, 1, m, k, n, false, false, 0, 0, false);
    const reference = new Float32Array(m * n);
    cpu.matmul(a, b, reference, 1, m, k, n, false, false, 0, 0, false);
    const first = run(relaxed, false);
    // within one build the same inputs give the same bits, call after call
    assert.deepEqual(run(relaxed, false), first);
    assertClose(first, reference, { scale: bound, label: "relaxed vs cpu" });
    const plain = run(simd128, false);
    assertClose(first, plain, { scale: bound, label: "relaxed vs simd128" });
    // fused, the accumulations round differently from SIMD128's: the relaxed kernel really ran
    const differing = first.filter((v, i) => v !== plain[i]).length;
    if (relaxed.fma) assert.ok(differing > 0, "a fused relaxed build gave SIMD128's bits on every element");
    else assert.equal(differing, 0);
  });

  test("the wasm backend is the relaxed build where the runtime has relaxed SIMD, unless PROXIMAL_WASM_RELAXED=0", () => {
    const expected = process.env.PROXIMAL_WASM_RELAXED === "0" || !RELAXED_HERE ? "simd128" : "relaxed-simd";
    assert.equal(requireWasmBackend().build, expected);
    assert.equal(requireWasmBackend(), loadWasmBuild(expected));
  });
});

if (!RELAXED_HERE) {
  describe("where the runtime lacks relaxed SIMD", () => {
    testAgainWithRelaxedFlag(import.meta.url, [
      "relaxed-SIMD feature detection",
      "chooseWasmBuild (PROXIMAL_WASM_RELAXED)",
      "the two wasm builds' matmul",
    ]);
  });
}
