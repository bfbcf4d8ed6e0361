import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import type { AdamStepArgs, Backend, BinaryOp, UnaryOp } from "./backend.js";
import { BINARY_OPS, UNARY_OPS } from "./backend.js";
import { CpuBackend } from "./cpuBackend.js";
import { assertClose, maxAbs, randomNormal, randomUniform } from "./testing.js";

// Every kernel of a backend against the cpu reference on seeded inputs, shared by the wasm
// (backendParity.test.ts) and native (nativeParity.test.ts) backends. The cpu backend computes in
// float64 and rounds once on store; the others compute in float32 (f64 only for a few statistics). So
// an elementwise result may differ by a few float32 ulps (~1e-7 relative) and a sum of terms by up to
// ~len · 6e-8 · Σ|terms| (float32 accumulation; ~sqrt(len) typically). Each check allows
// |other - cpu| <= 1e-5 · max(|other|, |cpu|, scale), where `scale` is Σ|terms| for sums (matmul,
// reduce, layer-norm statistics: the size of what was rounded, which matters when the terms cancel)
// and 0 for elementwise ops (pure relative error). With len <= 64, len · 6e-8 < 4e-6 < 1e-5.

const cpu = new CpuBackend();
const SIZES = [1, 3, 4, 5, 8, 17, 64];

function absArray(x: Float32Array): Float32Array {
  return x.map(Math.abs);
}

export function describeKernelParity(label: string, other: Backend): void {
  /** Run the same kernel on both backends with fresh output buffers; returns [cpu, other] outputs. */
  function both(sizes: number[], run: (backend: Backend, outs: Float32Array[]) => void): Float32Array[][] {
    const results: Float32Array[][] = [];
    for (const backend of [cpu, other]) {
      const outs = sizes.map((n) => new Float32Array(n));
      run(backend, outs);
      results.push(outs);
    }
    return results;
  }

  describe(`${label} kernels match the cpu reference`, () => {
    describe("matmul", () => {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        test(`all m, k, n in {${SIZES.join(",")}} with transA ${transA}, transB ${transB}`, () => {
          const rng = new Rng(1);
          for (const m of SIZES) {
            for (const k of SIZES) {
              for (const n of SIZES) {
                const a = randomNormal(rng, m * k);
                const b = randomNormal(rng, k * n);
                const [[c], [w]] = both([m * n], (be, [out]) =>
                  be.matmul(a, b, out, 1, m, k, n, transA, transB, 0, 0, false),
                );
                // Σ_p |a_ip b_pj|: the bound on what float32 accumulation rounds
                const bound = new Float32Array(m * n);
                cpu.matmul(absArray(a), absArray(b), bound, 1, m, k, n, transA, transB, 0, 0, false);
                assertClose(w, c, { scale: bound, label: `m=${m} k=${k} n=${n}` });
              }
            }
          }
        });
      }

      for (const [strideName, sharedA, sharedB] of [
        ["both batched", false, false],
        ["shared A", true, false],
        ["shared B", false, true],
      ] as const) {
        test(`batched (${strideName}) with accumulate, odd sizes, all transposes`, () => {
          const rng = new Rng(2);
          const batch = 3;
          for (const [m, k, n] of [
            [5, 17, 3],
            [4, 8, 9],
            [1, 64, 17],
          ]) {
            for (const transA of [false, true]) {
              for (const transB of [false, true]) {
                const a = randomNormal(rng, (sharedA ? 1 : batch) * m * k);
                const b = randomNormal(rng, (sharedB ? 1 : batch) * k * n);
                const initial = randomNormal(rng, batch * m * n);
                const strideA = sharedA ? 0 : m * k;
                const strideB = sharedB ? 0 : k * n;
                const [[c], [w]] = both([batch * m * n], (be, [out]) => {
                  out.set(initial);
                  be.matmul(a, b, out, batch, m, k, n, transA, transB, strideA, strideB, true);
                });
                const bound = absArray(initial);
                cpu.matmul(
                  absArray(a),
                  absArray(b),
                  bound,
                  batch,
                  m,
                  k,
                  n,
                  transA,
                  transB,
                  strideA,
                  strideB,
                  true,
                );
                assertClose(w, c, {
                  scale: bound,
                  label: `${m}x${k}x${n} transA ${transA} transB ${transB}`,
                });
              }
            }
          }
        });
      }
    });

    for (const withBias of [false, true]) {
      test(`fused linear ${withBias ? "with" : "without"} bias, all m, k, n in {${SIZES.join(",")}}`, () => {
        const rng = new Rng(13);
        for (const m of SIZES) {
          for (const k of SIZES) {
            for (const n of SIZES) {
              const x = randomNormal(rng, m * k);
              const w = randomNormal(rng, n * k);
              const bias = withBias ? randomNormal(rng, n) : null;
              const [[c], [o]] = both([m * n], (be, [out]) => be.linear(x, w, bias, out, m, k, n));
              // Σ_p |x_ip w_jp| + |bias_j|: what float32 accumulation rounds
              const bound = new Float32Array(m * n);
              cpu.matmul(absArray(x), absArray(w), bound, 1, m, k, n, false, true, 0, 0, false);
              if (bias !== null) for (let i = 0; i < bound.length; i++) bound[i] += Math.abs(bias[i % n]);
              assertClose(o, c, { scale: bound, label: `m=${m} k=${k} n=${n}` });
            }
          }
        }
      });
    }

    describe("binary", () => {
      // [outer, inner, aOuter, aInner, bOuter, bInner]: the views ops.ts builds for each broadcast pattern
      const patterns: [string, number, number, number, number, number, number][] = [
        ["same shape", 3, 13, 13, 1, 13, 1],
        ["row broadcast (bias)", 5, 7, 7, 1, 0, 1],
        ["column broadcast", 6, 9, 9, 1, 1, 0],
        ["scalar b", 1, 11, 0, 1, 0, 0],
        ["scalar a", 1, 11, 0, 0, 0, 1],
        ["a row broadcast", 4, 6, 0, 1, 6, 1],
        ["both scalar", 1, 1, 0, 0, 0, 0],
        ["outer product", 5, 7, 1, 0, 0, 1],
      ];
      for (const op of BINARY_OPS) {
        test(`${op} over every broadcast pattern`, () => {
          const rng = new Rng(3);
          for (const [name, outer, inner, aOuter, aInner, bOuter, bInner] of patterns) {
            const aSize = (outer - 1) * aOuter + (inner - 1) * aInner + 1;
            const bSize = (outer - 1) * bOuter + (inner - 1) * bInner + 1;
            const a = op === "pow" ? randomUniform(rng, aSize, 0.1, 3) : randomNormal(rng, aSize);
            const b = randomNormal(rng, bSize);
            if (op === "div") for (let i = 0; i < b.length; i++) b[i] += Math.sign(b[i]) * 0.1;
            const [[c], [w]] = both([outer * inner], (be, [out]) =>
              be.binary(op, a, b, out, outer, inner, aOuter, aInner, bOuter, bInner),
            );
            assertClose(w, c, { label: `${op} ${name}` });
          }
        });
      }

      for (const op of ["maximum", "minimum"] as BinaryOp[]) {
        test(`${op} propagates NaN from either side and orders ±Infinity (SIMD body and scalar tail)`, () => {
          const a = Float32Array.from([NaN, 1, -Infinity, Infinity, 2, NaN, -0, 3, NaN]);
          const b = Float32Array.from([1, NaN, 0, -5, Infinity, NaN, 0, -Infinity, 1]);
          const [[c], [w]] = both([a.length], (be, [out]) =>
            be.binary(op, a, b, out, 1, a.length, 0, 1, 0, 1),
          );
          const expected =
            op === "maximum"
              ? [NaN, NaN, 0, Infinity, Infinity, NaN, 0, 3, NaN]
              : [NaN, NaN, -Infinity, -5, 2, NaN, -0, -Infinity, NaN];
          assertClose(c, expected, { label: `cpu ${op}` });
          assertClose(w, expected, { label: `${label} ${op}` });
        });
      }
    });

    describe("unary", () => {
      const domains: Partial<Record<UnaryOp, (rng: Rng, n: number) => Float32Array>> = {
        log: (rng, n) => randomUniform(rng, n, 1e-3, 50),
        sqrt: (rng, n) => randomUniform(rng, n, 0, 50),
        reciprocal: (rng, n) => randomUniform(rng, n, 0.05, 20).map((v, i) => (i % 2 ? v : -v)),
      };
      for (const op of UNARY_OPS) {
        test(`${op} on 1027 seeded values (SIMD body and tail), small and large magnitudes`, () => {
          const rng = new Rng(4);
          const n = 1027;
          const x =
            domains[op]?.(rng, n) ??
            randomNormal(rng, n, 3).map((v, i) => (i % 3 === 0 ? v * 1e-3 : i % 3 === 1 ? v : v * 4));
          const [[c], [w]] = both([n], (be, [out]) => be.unary(op, x, out));
          // gelu = x·Φ(x) with Φ from (1 + tanh)/2 or (1 + erf)/2: float32 leaves Φ an absolute error
          // ~6e-8 (as torch's float32 kernels), so for x << 0 the error is relative to |x|, not to gelu
          const isGelu = op === "geluTanh" || op === "geluErf";
          assertClose(w, c, { scale: isGelu ? absArray(x) : 0, label: op });
        });
      }

      test("relu keeps NaN and maps ±Infinity to Infinity/0 (SIMD body and scalar tail)", () => {
        const x = Float32Array.from([NaN, -Infinity, Infinity, -1, NaN, 2, -0, 0.5, NaN]);
        const expected = [NaN, 0, Infinity, 0, NaN, 2, 0, 0.5, NaN];
        const [[c], [w]] = both([x.length], (be, [out]) => be.unary("relu", x, out));
        assertClose(c, expected, { label: "cpu relu" });
        assertClose(w, expected, { label: `${label} relu` });
      });
    });

    test("clamp, including values outside, at and between the bounds, NaN and ±Infinity", () => {
      const rng = new Rng(5);
      const x = randomNormal(rng, 1003, 2);
      x.set([NaN, Infinity, -Infinity, -0.5, 1]);
      const [[c], [w]] = both([x.length], (be, [out]) => be.clamp(x, out, -0.5, 1));
      assertClose(w, c, { rtol: 0, label: "clamp" });
      assertClose(c.subarray(0, 5), [NaN, 1, -0.5, -0.5, 1], { rtol: 0, label: "cpu clamp specials" });
    });

    describe("reduce", () => {
      const shapes = [
        [1, 1, 1],
        [3, 17, 1],
        [2, 64, 1],
        [1, 5, 7],
        [4, 3, 9],
        [2, 1, 4],
        [5, 0, 3],
      ];
      for (const op of ["sum", "max"] as const) {
        test(`${op} over the middle axis of [outer, len, inner] views (contiguous and strided)`, () => {
          const rng = new Rng(6);
          for (const [outer, len, inner] of shapes) {
            if (op === "max" && len === 0) continue;
            const x = randomNormal(rng, outer * len * inner, 3);
            const [[c], [w]] = both([outer * inner], (be, [out]) => be.reduce(op, x, out, outer, len, inner));
            const bound = new Float32Array(outer * inner);
            cpu.reduce("sum", absArray(x), bound, outer, len, inner);
            assertClose(w, c, { scale: bound, label: `${op} [${outer}, ${len}, ${inner}]` });
          }
        });
      }

      test("max propagates NaN wherever it sits in the row, contiguous and strided", () => {
        for (const [len, inner] of [
          [6, 1],
          [6, 3],
        ]) {
          for (let at = 0; at < len; at++) {
            const x = Float32Array.from({ length: len * inner }, (_, i) => i - 4);
            x[at * inner] = NaN;
            const [[c], [w]] = both([inner], (be, [out]) => be.reduce("max", x, out, 1, len, inner));
            assert.ok(
              Number.isNaN(c[0]) && Number.isNaN(w[0]),
              `NaN at ${at}, inner ${inner}: ${c[0]}, ${w[0]}`,
            );
          }
        }
      });
    });

    describe("attention (fused)", () => {
      // [batch, heads, kvHeads, queries, keys, headDim, capacity, causal, padded]: prefill, a decoding
      // step reading a preallocated cache (capacity > keys), grouped-query heads, head sizes that
      // are not a multiple of any vector width (5, 13) and one that is (64), left padding
      const cases: [number, number, number, number, number, number, number, boolean, boolean][] = [
        [2, 4, 4, 5, 5, 8, 5, true, false],
        [2, 4, 2, 1, 9, 13, 16, true, true],
        [1, 3, 1, 3, 7, 5, 7, false, true],
        [3, 2, 2, 4, 6, 64, 10, true, true],
        [1, 1, 1, 1, 1, 3, 1, true, false],
        [2, 2, 1, 17, 17, 17, 20, true, false],
      ];
      test("matches the cpu reference on every case", () => {
        const rng = new Rng(11);
        for (const [batch, heads, kvHeads, queries, keys, hd, capacity, causal, padded] of cases) {
          const q = randomNormal(rng, batch * heads * queries * hd);
          const k = randomNormal(rng, batch * kvHeads * capacity * hd);
          const v = randomNormal(rng, batch * kvHeads * capacity * hd);
          let mask: Float32Array | null = null;
          if (padded) {
            // HF's padding value on the first b keys of sequence b
            mask = new Float32Array(batch * keys);
            for (let b = 0; b < batch; b++)
              for (let j = 0; j < Math.min(b, keys - 1); j++) mask[b * keys + j] = -3.4028234663852886e38;
          }
          const [[c], [w]] = both([batch * heads * queries * hd], (be, [out]) =>
            be.attention(q, k, v, mask, out, batch, heads, kvHeads, queries, keys, hd, capacity, causal),
          );
          // outputs are convex combinations of values: errors in the scores (dot products of hd
          // terms) move the weights by ~hd·6e-8 relative, so the bound is max|v| at a looser rtol
          assertClose(w, c, {
            scale: maxAbs(v),
            rtol: 1e-4,
            label: `attention ${batch}x${heads}/${kvHeads}x${queries}x${keys}x${hd} cap ${capacity} causal ${causal} padded ${padded}`,
          });
        }
      });

      test("a query with no visible key (causal, more queries than keys) is NaN, as softmax's", () => {
        const q = Float32Array.from([1, 0, 0, 1]);
        const kv = Float32Array.from([2, 3]);
        const [[c], [w]] = both([4], (be, [out]) =>
          be.attention(q, kv, kv, null, out, 1, 1, 1, 2, 1, 2, 1, true),
        );
        for (const out of [c, w]) {
          assert.ok(Number.isNaN(out[0]) && Number.isNaN(out[1]), `first query: ${out}`);
          assert.deepEqual(Array.from(out.subarray(2)), [2, 3]);
        }
      });
    });

    describe("softmax family", () => {
      for (const log of [false, true]) {
        test(`${log ? "logSoftmax" : "softmax"}Rows over rows of every size`, () => {
          const rng = new Rng(7);
          for (const cols of SIZES) {
            const rows = 3;
            const x = randomNormal(rng, rows * cols, 4);
            const [[c], [w]] = both([rows * cols], (be, [out]) => be.softmaxRows(x, out, rows, cols, log));
            // log-softmax is x - lse: an entry near 0 is the difference of two numbers of size ~max|x|
            assertClose(w, c, { scale: log ? maxAbs(x) : 0, label: `cols ${cols}` });
          }
        });
      }

      test("logsumexpRows over rows of every size", () => {
        const rng = new Rng(8);
        for (const cols of SIZES) {
          const x = randomNormal(rng, 4 * cols, 4);
          const [[c], [w]] = both([4], (be, [out]) => be.logsumexpRows(x, out, 4, cols));
          assertClose(w, c, { scale: maxAbs(x), label: `cols ${cols}` });
        }
      });

      test("a fully -Infinity row gives NaN softmax/logSoftmax and -Infinity logsumexp, as torch 1.13", () => {
        // torch.softmax(tensor([-inf, -inf, -inf])) is [nan, nan, nan]; logsumexp is -inf
        const x = Float32Array.from([-Infinity, -Infinity, -Infinity, 0, -Infinity, 1]);
        for (const log of [false, true]) {
          const [[c], [w]] = both([6], (be, [out]) => be.softmaxRows(x, out, 2, 3, log));
          const expected = log
            ? [NaN, NaN, NaN, -1.3132617, -Infinity, -0.3132617]
            : [NaN, NaN, NaN, 0.26894142, 0, 0.7310586];
          assertClose(c, expected, { label: `cpu log=${log}` });
          assertClose(w, expected, { label: `${label} log=${log}` });
        }
        const [[c], [w]] = both([2], (be, [out]) => be.logsumexpRows(x, out, 2, 3));
        assertClose(c, [-Infinity, 1.3132617], { label: "cpu logsumexp" });
        assertClose(w, [-Infinity, 1.3132617], { label: `${label} logsumexp` });
      });
    });

    describe("layer norm", () => {
      test("forward: output, mean and rstd for rows of every size", () => {
        const rng = new Rng(9);
        for (const cols of SIZES) {
          const rows = 5;
          const x = randomNormal(rng, rows * cols, 2, 0.5);
          const gamma = randomNormal(rng, cols, 0.5, 1);
          const beta = randomNormal(rng, cols);
          const [[c, cm, cr], [w, wm, wr]] = both([rows * cols, rows, rows], (be, [out, mean, rstd]) =>
            be.layerNormRows(x, gamma, beta, out, mean, rstd, rows, cols, 1e-5),
          );
          // out = x̂·γ + β: x̂·γ and β may cancel, so the scale is |x̂·γ| + |β| ~ max|out| + max|β|
          assertClose(w, c, { scale: maxAbs(c) + maxAbs(beta), label: `out cols ${cols}` });
          assertClose(wm, cm, { scale: maxAbs(x), label: `mean cols ${cols}` });
          assertClose(wr, cr, { label: `rstd cols ${cols}` });
        }
      });

      test("backward: dx, dgamma and dbeta for rows of every size", () => {
        const rng = new Rng(10);
        for (const cols of SIZES) {
          const rows = 6;
          const x = randomNormal(rng, rows * cols, 2, 0.5);
          const gamma = randomNormal(rng, cols, 0.5, 1);
          const beta = randomNormal(rng, cols);
          const g = randomNormal(rng, rows * cols);
          const mean = new Float32Array(rows);
          const rstd = new Float32Array(rows);
          cpu.layerNormRows(x, gamma, beta, new Float32Array(rows * cols), mean, rstd, rows, cols, 1e-5);
          const [[cdx, cdg, cdb], [wdx, wdg, wdb]] = both([rows * cols, cols, cols], (be, [dx, dg, db]) =>
            be.layerNormBackwardRows(x, gamma, mean, rstd, g, dx, dg, db, rows, cols),
          );
          // dx = rstd·(gγ - mean(gγ) - x̂·mean(gγx̂)) cancels by construction (it sums to 0 per row);
          // dgamma/dbeta are sums over rows of g·x̂ and g: scale by the sums of |terms|
          let dxScale = 0;
          for (let r = 0; r < rows; r++) {
            for (let col = 0; col < cols; col++) dxScale = Math.max(dxScale, rstd[r] * Math.abs(gamma[col]));
          }
          assertClose(wdx, cdx, { scale: dxScale * maxAbs(g) * 3, label: `dx cols ${cols}` });
          const gammaScale = new Float32Array(cols);
          const betaScale = new Float32Array(cols);
          for (let r = 0; r < rows; r++) {
            for (let col = 0; col < cols; col++) {
              const i = r * cols + col;
              gammaScale[col] += Math.abs(g[i] * (x[i] - mean[r]) * rstd[r]);
              betaScale[col] += Math.abs(g[i]);
            }
          }
          assertClose(wdg, cdg, { scale: gammaScale, label: `dgamma cols ${cols}` });
          assertClose(wdb, cdb, { scale: betaScale, label: `dbeta cols ${cols}` });
        }
      });
    });

    describe("adamStep", () => {
      const variants: [string, number, boolean][] = [
        ["Adam", 0, false],
        ["Adam with L2 weight decay", 0.1, false],
        ["AdamW (decoupled decay)", 0.1, true],
      ];
      for (const [name, weightDecay, decoupled] of variants) {
        test(`${name}: parameters and both moments over 5 steps`, () => {
          const rng = new Rng(11);
          const n = 1031;
          const p0 = randomNormal(rng, n);
          const results = [cpu, other].map((be) => {
            const p = p0.slice();
            const m = new Float32Array(n);
            const v = new Float32Array(n);
            const gradRng = new Rng(12);
            for (let t = 1; t <= 5; t++) {
              const args: AdamStepArgs = {
                lr: 1e-2,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weightDecay,
                decoupled,
                biasCorrection1: 1 - 0.9 ** t,
                biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** t),
              };
              be.adamStep(p, randomNormal(gradRng, n), m, v, args);
            }
            return [p, m, v];
          });
          const [[cp, cm, cv], [wp, wm, wv]] = results;
          assertClose(wp, cp, { label: "p" });
          assertClose(wm, cm, { label: "m" });
          assertClose(wv, cv, { label: "v" });
        });
      }
    });

    describe("linearAct", () => {
      // rows 1-2 reach the native dot-product path; 300x64x64 crosses the wasm small-op cutoffs
      const shapes = [
        [1, 5, 3],
        [2, 16, 8],
        [9, 17, 5],
        [300, 64, 64],
      ];
      for (const act of ["relu", "tanh"] as const) {
        test(`${act}: forward is linear then unary, bit for bit, and close to the cpu reference`, () => {
          const rng = new Rng(31);
          for (const [m, k, n] of shapes) {
            const x = randomNormal(rng, m * k);
            const w = randomNormal(rng, n * k);
            const bias = randomNormal(rng, n);
            for (const b of [bias, null]) {
              const fused = new Float32Array(m * n);
              other.linearAct(x, w, b, fused, m, k, n, act);
              const unfused = new Float32Array(m * n);
              other.linear(x, w, b, unfused, m, k, n);
              other.unary(act, unfused, unfused);
              assert.deepEqual(fused, unfused, `${m}x${k}x${n}`);
              const reference = new Float32Array(m * n);
              cpu.linearAct(x, w, b, reference, m, k, n, act);
              // tanh is 1-Lipschitz and relu too: the linear layer's error bound carries over
              const bound = new Float32Array(m * n);
              cpu.linear(absArray(x), absArray(w), b && absArray(b), bound, m, k, n);
              assertClose(fused, reference, { scale: bound, label: `${m}x${k}x${n} vs cpu` });
            }
          }
        });

        test(`${act}: backward is the unfused binary, matmul and reduce calls, bit for bit`, () => {
          const rng = new Rng(32);
          for (const [m, k, n] of shapes) {
            const x = randomNormal(rng, m * k);
            const w = randomNormal(rng, n * k);
            const y = new Float32Array(m * n);
            other.linearAct(x, w, randomNormal(rng, n), y, m, k, n, act);
            const g = randomNormal(rng, m * n);
            const [dx, dw, db] = [m * k, n * k, n].map((len) => new Float32Array(len));
            other.linearActBackward(x, w, y, g, dx, dw, db, m, k, n, act);
            const dz = new Float32Array(m * n);
            other.binary(act === "relu" ? "reluBackward" : "tanhBackward", y, g, dz, 1, m * n, 0, 1, 0, 1);
            const [ex, ew, eb] = [m * k, n * k, n].map((len) => new Float32Array(len));
            other.matmul(dz, w, ex, 1, m, n, k, false, false, 0, 0, false);
            other.matmul(dz, x, ew, 1, n, m, k, true, false, 0, 0, false);
            other.reduce("sum", dz, eb, 1, m, n);
            assert.deepEqual(dx, ex, `dx ${m}x${k}x${n}`);
            assert.deepEqual(dw, ew, `dw ${m}x${k}x${n}`);
            assert.deepEqual(db, eb, `db ${m}x${k}x${n}`);
            // skipped outputs: only the weight's gradient
            const onlyDw = new Float32Array(n * k);
            other.linearActBackward(x, w, y, g, null, onlyDw, null, m, k, n, act);
            assert.deepEqual(onlyDw, ew);
          }
        });
      }
    });

    describe("multi-tensor kernels", () => {
      // tensors of a small network's sizes (a 17-wide bias, a 5x64 weight, ...), some below the wasm
      // backend's small-op cutoff on their own
      const sizes = [17, 320, 64, 1, 1031];

      for (const [name, weightDecay, decoupled] of [
        ["Adam", 0, false],
        ["Adam with L2 weight decay", 0.1, false],
        ["AdamW (decoupled decay)", 0.1, true],
      ] as const) {
        test(`adamSteps (${name}) is bit-identical to adamStep per tensor, 4 steps`, () => {
          const rng = new Rng(21);
          const p0 = sizes.map((n) => randomNormal(rng, n));
          const grads = [1, 2, 3, 4].map(() => sizes.map((n) => randomNormal(rng, n)));
          const run = (be: Backend, fused: boolean): Float32Array[] => {
            const p = p0.map((x) => x.slice());
            const m = sizes.map((n) => new Float32Array(n));
            const v = sizes.map((n) => new Float32Array(n));
            grads.forEach((g, i) => {
              const t = i + 1;
              const args: AdamStepArgs = {
                lr: 1e-2,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weightDecay,
                decoupled,
                biasCorrection1: 1 - 0.9 ** t,
                biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** t),
              };
              if (fused) be.adamSteps(p, g, m, v, args);
              else for (let j = 0; j < p.length; j++) be.adamStep(p[j], g[j], m[j], v[j], args);
            });
            return [...p, ...m, ...v];
          };
          const perTensor = run(other, false);
          const fused = run(other, true);
          for (let i = 0; i < perTensor.length; i++) {
            const x = perTensor[i];
            assert.deepEqual(fused[i], x, `array ${i}`);
          }
          // and the cpu reference's per-tensor results (float64 rounded at each step = float32)
          const reference = run(cpu, false);
          for (let i = 0; i < reference.length; i++) {
            const x = reference[i];
            assertClose(fused[i], x, { label: `vs cpu, array ${i}` });
          }
        });
      }

      for (const tau of [0.005, 0.5, 1]) {
        test(`polyakUpdate with tau ${tau} is bit-identical to the float64 JavaScript loop`, () => {
          const rng = new Rng(22);
          const source = sizes.map((n) => randomNormal(rng, n));
          const target0 = sizes.map((n) => randomNormal(rng, n));
          const expected = target0.map((dst, t) =>
            tau === 1 ? source[t].slice() : dst.map((d, i) => (1 - tau) * d + tau * source[t][i]),
          );
          const target = target0.map((x) => x.slice());
          other.polyakUpdate(target, source, tau);
          for (let t = 0; t < target.length; t++) {
            const x = target[t];
            assert.deepEqual(x, expected[t], `tensor ${t}`);
          }
        });
      }

      test("sumOfSquares adds in float64 in the order the Backend defines; scaleInPlace rounds a float64 product", () => {
        const rng = new Rng(23);
        const xs = sizes.map((n) => randomNormal(rng, n, 3));
        // the order spelled out: 16 lanes by index mod 16, a pairwise tree, arrays in order
        let expected = 0;
        for (const x of xs) {
          let level: number[] = new Array(16).fill(0);
          for (let i = 0; i < x.length; i++) level[i % 16] += x[i] * x[i];
          while (level.length > 1)
            level = level.filter((_, j) => j % 2 === 0).map((v, j) => v + level[2 * j + 1]);
          expected += level[0];
        }
        assert.equal(other.sumOfSquares(xs), expected);
        assert.equal(other.sumOfSquares([]), 0);
        const scale = 0.123456789;
        const scaled = xs.map((x) => x.map((v) => v * scale));
        other.scaleInPlace(xs, scale);
        for (let t = 0; t < xs.length; t++) {
          const x = xs[t];
          assert.deepEqual(x, scaled[t], `tensor ${t}`);
        }
      });
    });
  });
}
