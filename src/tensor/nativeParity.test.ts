import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { describeKernelParity } from "./backendParity.test.util.js";
import { CpuBackend } from "./cpuBackend.js";
import type { NativeBackend } from "./nativeBackend.js";
import { defaultThreads, loadNativeBackend, nativeLoadFailure } from "./nativeBackend.js";
import { assertClose, randomNormal } from "./testing.js";

// Every native kernel against the cpu reference, on every instruction-set path this CPU runs
// (avx512, avx2, generic on x86-64), with the shared cases of backendParity.test.util.ts plus shapes
// that reach the GEMM's blocking (K > 256, N > 512), its ragged edges, the dot-product path for
// one or two rows, and the RL shapes the kernel was tuned for.

const native = loadNativeBackend();

/** Whether this machine has a C++ compiler, i.e. whether `npm run build` should have built the addon. */
function compilerPresent(): boolean {
  return [process.env.CXX, "c++", "g++", "clang++"]
    .filter((cxx): cxx is string => cxx !== undefined && cxx !== "")
    .some((cxx) => spawnSync(cxx, ["--version"], { stdio: "ignore" }).status === 0);
}

if (native === null) {
  // The addon is optional, but its tests must not pass silently where it should exist. A skip is
  // allowed only where the build could not have produced it (no compiler) or was turned off on
  // purpose (PROXIMAL_NATIVE=0); anywhere else the missing addon is a failure naming the cause.
  const why = nativeLoadFailure() ?? "unknown";
  const deliberate = process.env.PROXIMAL_NATIVE === "0";
  if (deliberate || !compilerPresent()) {
    test(`native kernels (skipped: ${why})`, {
      skip: deliberate ? "PROXIMAL_NATIVE=0" : "no C++ compiler",
    }, () => {});
  } else {
    test("the native addon is built where a C++ compiler is present", () => {
      assert.fail(`a C++ compiler is present but the native backend did not load: ${why}`);
    });
  }
} else {
  const backend: NativeBackend = native;
  const cpu = new CpuBackend();
  const runnable = backend.runnableIsas();
  const best = runnable[0];

  test("the best path this CPU supports is the one selected at load", () => {
    assert.ok(runnable.length > 0);
    // tests may have switched it above; the addon started on the first runnable path, best first
    backend.setIsa(best);
    assert.equal(backend.isa, best);
  });

  for (const isa of runnable) {
    describe(`native ${isa}`, () => {
      // node:test runs describe bodies now and tests later, in order: each path's first test
      // switches to it, and the next path's first test switches again
      test(`switch to ${isa}`, () => {
        backend.setIsa(isa);
        assert.equal(backend.isa, isa);
      });
      describeKernelParity(`native ${isa}`, backend);

      test("matmul through the GEMM's K and N blocking, ragged tiles, all transposes, accumulate", () => {
        const rng = new Rng(21);
        const shapes: [number, number, number][] = [
          [13, 300, 70], // K over one 256 block, N ragged
          [3, 257, 530], // N over one 512 block, 3 rows (just past the dot-product path)
          [25, 33, 47], // every tile edge at once
          [64, 4, 256], // DQN first layer
          [64, 256, 256], // DQN hidden layer
          [256, 64, 64], // PPO minibatch, 64-wide
          [1, 256, 256], // rollout: one row (dot-product path with transposed B)
          [2, 65, 33], // two rows, odd K
          [300, 20, 9], // many rows: B packed even when row-major
          [256, 256, 1], // a value head: narrow output (Cᵀ's tiles when A is read down its columns)
          [256, 64, 4], // a first layer's weight gradient into 4 inputs: narrow
          [40, 300, 3], // narrow, K over one 256 block
          [7, 0, 5], // empty K: zeros (or C unchanged when accumulating)
        ];
        for (const [m, k, n] of shapes) {
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              for (const accumulate of [false, true]) {
                const a = randomNormal(rng, m * k);
                const b = randomNormal(rng, k * n);
                const initial = randomNormal(rng, m * n);
                const expected = initial.slice();
                const actual = initial.slice();
                cpu.matmul(a, b, expected, 1, m, k, n, transA, transB, 0, 0, accumulate);
                backend.matmul(a, b, actual, 1, m, k, n, transA, transB, 0, 0, accumulate);
                const bound = accumulate ? initial.map(Math.abs) : new Float32Array(m * n);
                cpu.matmul(a.map(Math.abs), b.map(Math.abs), bound, 1, m, k, n, transA, transB, 0, 0, true);
                assertClose(actual, expected, {
                  scale: bound,
                  label: `${isa} ${m}x${k}x${n} transA ${transA} transB ${transB} accumulate ${accumulate}`,
                });
              }
            }
          }
        }
      });

      test("linear at 1, 2, 3 and 64 rows (dot-product and GEMM paths), with and without bias", () => {
        const rng = new Rng(22);
        for (const [m, k, n] of [
          [1, 4, 256],
          [2, 256, 256],
          [3, 64, 2],
          [64, 300, 33],
        ]) {
          for (const withBias of [false, true]) {
            const x = randomNormal(rng, m * k);
            const w = randomNormal(rng, n * k);
            const bias = withBias ? randomNormal(rng, n) : null;
            const expected = new Float32Array(m * n);
            const actual = new Float32Array(m * n);
            cpu.linear(x, w, bias, expected, m, k, n);
            backend.linear(x, w, bias, actual, m, k, n);
            const bound = new Float32Array(m * n);
            cpu.matmul(x.map(Math.abs), w.map(Math.abs), bound, 1, m, k, n, false, true, 0, 0, false);
            if (bias !== null) for (let i = 0; i < bound.length; i++) bound[i] += Math.abs(bias[i % n]);
            assertClose(actual, expected, {
              scale: bound,
              label: `${isa} linear ${m}x${k}x${n} bias ${withBias}`,
            });
          }
        }
      });

      test("operands that are views into larger buffers (byteOffset) are read at their offset", () => {
        const rng = new Rng(23);
        const big = randomNormal(rng, 100);
        const a = big.subarray(7, 7 + 12); // [3, 4]
        const b = big.subarray(40, 40 + 20); // [4, 5]
        const outBuffer = new Float32Array(30).fill(9);
        const out = outBuffer.subarray(5, 20);
        const expected = new Float32Array(15);
        cpu.matmul(a, b, expected, 1, 3, 4, 5, false, false, 0, 0, false);
        backend.matmul(a, b, out, 1, 3, 4, 5, false, false, 0, 0, false);
        assertClose(out, expected, { scale: 10, label: "view" });
        assert.deepEqual([...outBuffer.subarray(0, 5), ...outBuffer.subarray(20)], new Array(15).fill(9));
      });
    });
  }

  test("avx512 and avx2 GEMMs give the same bits (same summation order, both with FMA)", (t) => {
    if (!(runnable.includes("avx512") && runnable.includes("avx2"))) {
      t.skip("this CPU does not run both avx512 and avx2");
      return;
    }
    const rng = new Rng(24);
    for (const [m, k, n] of [
      [64, 256, 256],
      [13, 300, 530],
      [3, 5, 7],
    ]) {
      const a = randomNormal(rng, m * k);
      const b = randomNormal(rng, k * n);
      const outs = ["avx512", "avx2"].map((isa) => {
        backend.setIsa(isa as "avx512" | "avx2");
        const out = new Float32Array(m * n);
        backend.matmul(a, b, out, 1, m, k, n, false, true, 0, 0, false);
        return out;
      });
      assert.deepEqual(outs[0], outs[1], `${m}x${k}x${n}`);
    }
    backend.setIsa(best);
  });

  /**
   * A product into n < NR columns (the native GEMM's narrow paths, tiles of Cᵀ) against the same
   * columns of a product 48 columns wide (no narrow path): each element must be the tiled product's
   * own sum. `a` is read transposed (gᵀ·x) or B is W [n, k] (x·Wᵀ), as `transA`/`transB` say.
   */
  function checkNarrowAgainstWide(seed: number, shapes: number[][], transA: boolean, transB: boolean): void {
    const rng = new Rng(seed);
    const wide = 48;
    for (const isa of runnable) {
      backend.setIsa(isa as "avx512" | "avx2" | "generic");
      for (const [m, k, n] of shapes) {
        for (const accumulate of [false, true]) {
          const a = randomNormal(rng, m * k);
          const bWide = randomNormal(rng, k * wide);
          // B's first n columns ([k, n]), or W's first n rows ([n, k]) when transposed
          const b = transB ? bWide.slice(0, n * k) : new Float32Array(k * n);
          if (!transB)
            for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) b[p * n + j] = bWide[p * wide + j];
          const startWide = randomNormal(rng, m * wide);
          const start = new Float32Array(m * n);
          for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) start[i * n + j] = startWide[i * wide + j];
          backend.matmul(a, bWide, startWide, 1, m, k, wide, transA, transB, 0, 0, accumulate);
          backend.matmul(a, b, start, 1, m, k, n, transA, transB, 0, 0, accumulate);
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++)
              assert.equal(start[i * n + j], startWide[i * wide + j], `${isa} ${m}x${k}x${n} (${i}, ${j})`);
        }
      }
    }
    backend.setIsa(best);
  }

  test("a narrow output read down A's columns (gᵀ·x) gives the bits of the same columns of a wide product", () => {
    checkNarrowAgainstWide(
      25,
      [
        [256, 256, 4],
        [40, 300, 3],
        [25, 33, 7],
      ],
      true,
      false,
    );
  });

  test("a narrow x·Wᵀ (a policy or value head) gives the bits of the same columns of a wide product", () => {
    checkNarrowAgainstWide(
      26,
      [
        [256, 64, 2],
        [256, 64, 1],
        [40, 300, 3], // K over one 256 block
        [33, 17, 7],
      ],
      false,
      true,
    );
  });

  describe("threads", () => {
    const initial = backend.threads;
    // shapes above the threading threshold (2^24 multiply-adds), with row counts that do and do not
    // divide into the 12-row blocks, batched, transposed and accumulating, and one below it
    const cases: [number, number, number, number, boolean, boolean, boolean][] = [
      [1, 300, 257, 260, false, false, false],
      [1, 2048, 96, 96, false, true, false],
      [1, 197, 300, 400, true, false, true],
      [5, 50, 300, 256, false, false, false],
      [1, 4096, 1024, 4, true, false, true], // narrow output, A transposed: Cᵀ's tiles in row blocks
      [1, 4096, 1024, 4, false, false, false], // narrow output, A row-major: C's own tiles in row blocks
      [1, 4096, 1024, 4, false, true, true], // narrow x·Wᵀ: Cᵀ = W·xᵀ's tiles in row blocks
      [1, 64, 32, 32, false, false, false],
    ];
    for (const isa of runnable) {
      test(`${isa}: products give the same bits on 1, 2 and 3 threads (and match the cpu reference)`, (t) => {
        t.after(() => {
          backend.setThreads(initial);
          backend.setIsa(best);
        });
        backend.setIsa(isa);
        const rng = new Rng(31);
        for (const [batch, m, k, n, transA, transB, accumulate] of cases) {
          const a = randomNormal(rng, batch * m * k);
          const b = randomNormal(rng, batch * k * n);
          const start = randomNormal(rng, batch * m * n);
          const outs = [1, 2, 3].map((threads) => {
            backend.setThreads(threads);
            const out = start.slice();
            backend.matmul(a, b, out, batch, m, k, n, transA, transB, m * k, k * n, accumulate);
            return out;
          });
          const label = `${batch}x${m}x${k}x${n} transA=${transA} transB=${transB} accumulate=${accumulate}`;
          assert.deepEqual(outs[1], outs[0], label);
          assert.deepEqual(outs[2], outs[0], label);
          const reference = start.slice();
          cpu.matmul(a, b, reference, batch, m, k, n, transA, transB, m * k, k * n, accumulate);
          assertClose(outs[0], reference, { rtol: 1e-4, atol: 1e-4, label });
        }
        for (const [m, k, n] of [
          [1500, 128, 96],
          [5, 8, 8],
        ]) {
          const x = randomNormal(rng, m * k);
          const w = randomNormal(rng, n * k);
          const bias = randomNormal(rng, n);
          const outs = [1, 2, 3].map((threads) => {
            backend.setThreads(threads);
            const out = new Float32Array(m * n);
            backend.linear(x, w, bias, out, m, k, n);
            return out;
          });
          assert.deepEqual(outs[1], outs[0], `linear ${m}x${k}x${n}`);
          assert.deepEqual(outs[2], outs[0], `linear ${m}x${k}x${n}`);
          const reference = new Float32Array(m * n);
          cpu.linear(x, w, bias, reference, m, k, n);
          assertClose(outs[0], reference, { rtol: 1e-4, atol: 1e-4, label: `linear ${m}x${k}x${n}` });
        }
      });
    }

    test("fused attention gives the same bits on 1, 2 and 3 threads (blocks split across the pool)", (t) => {
      t.after(() => backend.setThreads(initial));
      const rng = new Rng(32);
      // above the threading threshold: 2·(2·5 blocks)·96·96·100 = 18M multiply-adds; 10 blocks do not
      // divide evenly into 3 threads; grouped-query heads, a cache with room to spare, left padding
      const [batch, heads, kvHeads, queries, keys, hd, capacity] = [2, 5, 5, 96, 96, 100, 120];
      const q = randomNormal(rng, batch * heads * queries * hd);
      const k = randomNormal(rng, batch * kvHeads * capacity * hd);
      const v = randomNormal(rng, batch * kvHeads * capacity * hd);
      const mask = new Float32Array(batch * keys);
      mask.fill(-3.4028234663852886e38, keys, keys + 7);
      for (const groupHeads of [kvHeads, 1]) {
        const outs = [1, 2, 3].map((threads) => {
          backend.setThreads(threads);
          const out = new Float32Array(q.length);
          backend.attention(q, k, v, mask, out, batch, heads, groupHeads, queries, keys, hd, capacity, true);
          return out;
        });
        assert.deepEqual(outs[1], outs[0], `kvHeads ${groupHeads}, 2 threads`);
        assert.deepEqual(outs[2], outs[0], `kvHeads ${groupHeads}, 3 threads`);
        const reference = new Float32Array(q.length);
        cpu.attention(q, k, v, mask, reference, batch, heads, groupHeads, queries, keys, hd, capacity, true);
        assertClose(outs[0], reference, { scale: 4, rtol: 1e-4, label: `kvHeads ${groupHeads}` });
      }
    });

    test("the thread count must be an integer from 1 to 256", () => {
      for (const bad of [0, -1, 1.5, 257, Number.NaN]) {
        assert.throws(
          () => backend.setThreads(bad),
          (e: unknown) =>
            e instanceof ProximalError && e.code === "INVALID_OPTION" && /from 1 to 256/.test(e.message),
        );
      }
      assert.equal(backend.threads, initial);
    });

    test("PROXIMAL_THREADS sets the count at load; a bad value is an error, unset means every core", () => {
      const os = { cpus: () => new Array(6).fill({}), availableParallelism: () => 4 };
      assert.equal(defaultThreads("3", os), 3);
      assert.equal(defaultThreads(undefined, os), 4);
      assert.equal(defaultThreads("", { cpus: os.cpus }), 6);
      for (const bad of ["0", "two", "1.5", "300"]) {
        assert.throws(
          () => defaultThreads(bad, os),
          (e: unknown) => e instanceof ProximalError && /PROXIMAL_THREADS must be an integer/.test(e.message),
        );
      }
    });
  });

  test("a call with an array too short for its shape is a TypeError, not a write out of bounds", () => {
    const a = new Float32Array(6);
    const out = new Float32Array(3);
    assert.throws(
      () => backend.matmul(a, a, out, 1, 2, 3, 2, false, false, 0, 0, false),
      (e: unknown) =>
        e instanceof TypeError &&
        /native matmul: argument 2 has 3 elements where the shape needs 4/.test(e.message),
    );
    assert.throws(
      () => backend.unary("exp", new Float32Array(4), new Float32Array(3)),
      (e: unknown) => e instanceof TypeError && /native unary/.test(e.message),
    );
  });

  test("setIsa names the paths this build has when asked for one it cannot run", () => {
    assert.throws(
      () => backend.setIsa("sse9" as "generic"),
      (e: unknown) => e instanceof Error && /cannot run the "sse9" path here: this build has/.test(e.message),
    );
    backend.setIsa(best);
  });
}
