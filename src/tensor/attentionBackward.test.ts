import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import { composedAttention, PAD, paddingMask } from "./attention.test.util.js";
import type { Backend, BackendName } from "./backend.js";
import { loadNativeBackend } from "./nativeBackend.js";
import { mul, scaledDotProductAttention, sum } from "./ops.js";
import type { Tensor } from "./tensor.js";
import { availableBackends, getBackend, grad, tensor, withBackend } from "./tensor.js";
import { assertClose, finiteDifference, maxAbs, randomNormal } from "./testing.js";

// Attention fused for training (ops.ts trainingAttention, Backend.attentionBackward on cpu and
// native): its gradients against the composed ops' (matmul, softmax, matmul) and against central
// finite differences, its second derivative (createGraph) against the composed one's, masked rows,
// and the native kernel's bits on 1-3 threads.

interface Case {
  name: string;
  shape: [number, number, number, number]; // q: batch, heads, queries, headDim
  keys: number;
  causal: boolean;
  /** Per batch, the keys kept (1) and padded (0), as an additive [B, 1, 1, S] mask. */
  keep?: number[];
}

const CASES: Case[] = [
  { name: "causal self-attention", shape: [2, 3, 6, 8], keys: 6, causal: true },
  { name: "causal, queries aligned to the end of longer keys", shape: [1, 2, 3, 4], keys: 7, causal: true },
  { name: "no mask", shape: [2, 2, 5, 16], keys: 4, causal: false },
  {
    name: "causal with left padding (GPT batches)",
    shape: [2, 2, 5, 8],
    keys: 5,
    causal: true,
    keep: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
  },
];

function inputs(
  c: Case,
  seed: number,
  requiresGrad: boolean,
): { q: Tensor; k: Tensor; v: Tensor; mask?: Tensor } {
  const rng = new Rng(seed);
  const [b, h, t, d] = c.shape;
  const make = (shape: number[]) =>
    tensor(
      randomNormal(
        rng,
        shape.reduce((x, y) => x * y, 1),
      ),
      shape,
      { requiresGrad },
    );
  const q = make([b, h, t, d]);
  const k = make([b, h, c.keys, d]);
  const v = make([b, h, c.keys, d]);
  const mask = c.keep === undefined ? undefined : paddingMask(c.keep, b, c.keys);
  return { q, k, v, mask };
}

const trainingBackends = availableBackends().filter((name) =>
  withBackend(name, () => getBackend().attentionBackward !== undefined),
);

describe("attention fused for training", () => {
  test("the cpu and native backends have the fused backward; wasm composes", () => {
    assert.ok(trainingBackends.includes("cpu"));
    assert.equal(trainingBackends.includes("native"), loadNativeBackend() !== null);
    assert.ok(!trainingBackends.includes("wasm"));
  });

  for (const backend of trainingBackends) {
    for (const c of CASES) {
      test(`${backend}: ${c.name}: output and gradients match the composed ops`, () => {
        const { q, k, v, mask } = inputs(c, 7, true);
        const w = tensor(randomNormal(new Rng(8), q.size), q.shape);
        const [fusedOut, fusedGrads] = withBackend(backend, () => {
          const out = scaledDotProductAttention(q, k, v, { causal: c.causal, mask });
          return [out, grad(sum(mul(out, w)), [q, k, v])] as const;
        });
        const [refOut, refGrads] = withBackend("cpu", () => {
          const out = composedAttention(q, k, v, c.causal, mask);
          return [out, grad(sum(mul(out, w)), [q, k, v])] as const;
        });
        assertClose(fusedOut.values, refOut.values, { scale: maxAbs(v.values), rtol: 1e-5, label: "out" });
        ["dq", "dk", "dv"].forEach((name, i) => {
          const scale = Math.max(maxAbs(refGrads[i].values), 1);
          assertClose(fusedGrads[i].values, refGrads[i].values, {
            scale,
            rtol: 2e-5,
            label: `${backend} ${name}`,
          });
        });
      });
    }
  }

  test("cpu: the fused gradient matches central finite differences", () => {
    // not the padded case: a row whose visible keys are all padded scores float32's lowest plus a
    // term that rounding absorbs, so finite differences see no dependence (the comparison with the
    // composed gradient above covers that case)
    for (const c of CASES.filter((x) => x.keep === undefined)) {
      const { q, k, v, mask } = inputs(c, 11, true);
      const w = randomNormal(new Rng(12), q.size);
      const leaves = [q, k, v];
      withBackend("cpu", () => {
        const loss = (xs: Tensor[]) =>
          sum(
            mul(
              scaledDotProductAttention(xs[0], xs[1], xs[2], { causal: c.causal, mask }),
              tensor(w, q.shape),
            ),
          );
        const analytic = grad(loss(leaves), leaves);
        leaves.forEach((leaf, i) => {
          const numeric = finiteDifference(
            (x) => {
              const probe = leaves.map((t, j) => (j === i ? tensor(x, t.shape) : tensor(t.values, t.shape)));
              return loss(probe).item();
            },
            leaf.values.slice(),
            1e-2,
          );
          assertClose(analytic[i].values, numeric, { rtol: 1e-2, atol: 2e-3, label: `${c.name} input ${i}` });
        });
      });
    }
  });

  for (const backend of trainingBackends) {
    test(`${backend}: a second derivative (createGraph) matches the composed ops'`, () => {
      const c = CASES[3];
      const { q, k, v, mask } = inputs(c, 13, true);
      const w = tensor(randomNormal(new Rng(14), q.size), q.shape);
      const u = tensor(randomNormal(new Rng(15), q.size), q.shape);
      // d/dq of <∂L/∂q, u>: a Hessian-vector product through the attention's gradient
      const hvp = (attend: (q: Tensor, k: Tensor, v: Tensor) => Tensor) => {
        const [dq] = grad(sum(mul(attend(q, k, v), w)), [q], { createGraph: true });
        return grad(sum(mul(dq, u)), [q, k, v]);
      };
      const fused = withBackend(backend, () =>
        hvp((a, b, cc) => scaledDotProductAttention(a, b, cc, { causal: c.causal, mask })),
      );
      const reference = withBackend("cpu", () =>
        hvp((a, b, cc) => composedAttention(a, b, cc, c.causal, mask)),
      );
      fused.forEach((g, i) => {
        assertClose(g.values, reference[i].values, {
          scale: Math.max(maxAbs(reference[i].values), 1),
          rtol: 1e-4,
          label: `hvp ${i}`,
        });
      });
    });
  }

  for (const backend of trainingBackends) {
    test(`${backend}: a row with every key masked is NaN in dq and in its block's dk and dv, as composed`, () => {
      const c: Case = { name: "all masked", shape: [2, 1, 2, 4], keys: 2, causal: false };
      const { q, k, v } = inputs(c, 17, true);
      const minusInf = tensor(
        Float32Array.from([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 0]),
        [2, 1, 1, 2],
      );
      const w = tensor(randomNormal(new Rng(18), q.size), q.shape);
      const run = (attend: () => Tensor) => grad(sum(mul(attend(), w)), [q, k, v]);
      const fused = withBackend(backend, () =>
        run(() => scaledDotProductAttention(q, k, v, { causal: false, mask: minusInf })),
      );
      const reference = withBackend("cpu", () => run(() => composedAttention(q, k, v, false, minusInf)));
      fused.forEach((g, i) => {
        const nanAt = (t: Tensor) => Array.from(t.values, Number.isNaN);
        assert.deepEqual(nanAt(g), nanAt(reference[i]), `NaN positions of gradient ${i}`);
        // batch 0 is all NaN, batch 1 finite and equal to the composed gradient
        const half = g.size / 2;
        assertClose(g.values.subarray(half), reference[i].values.subarray(half), { rtol: 1e-5, atol: 1e-6 });
      });
    });
  }

  test("native: the gradient has the same bits on 1, 2 and 3 threads (key/value blocks split)", (t) => {
    const native = loadNativeBackend();
    if (native === null) {
      t.skip("the native backend is not loaded (nativeParity.test.ts says why)");
      return;
    }
    const initial = native.threads;
    t.after(() => native.setThreads(initial));
    // above the pool's threshold: 4·B·H·T·S·d = 4·2·4·128·128·64 = 33.5M multiply-adds
    const [b, h, n, d] = [2, 4, 128, 64];
    const rng = new Rng(19);
    const [q, k, v, g] = [0, 1, 2, 3].map(() => randomNormal(rng, b * h * n * d));
    const mask = Float32Array.from({ length: b * n }, (_, i) => (i % n < 3 && i >= n ? PAD : 0));
    const runs = [1, 2, 3].map((threads) => {
      native.setThreads(threads);
      const out = [0, 1, 2].map(() => new Float32Array(b * h * n * d).fill(Number.NaN));
      (native as Backend).attentionBackward?.(
        q,
        k,
        v,
        mask,
        g,
        out[0],
        out[1],
        out[2],
        b,
        h,
        h,
        n,
        n,
        d,
        true,
      );
      return out;
    });
    for (const threads of [1, 2]) {
      for (let i = 0; i < 3; i++)
        assert.deepEqual(runs[threads][i], runs[0][i], `threads ${threads + 1} grad ${i}`);
    }
    // and close to the cpu reference
    const cpuOut = [0, 1, 2].map(() => new Float32Array(b * h * n * d));
    withBackend("cpu", () =>
      getBackend().attentionBackward?.(
        q,
        k,
        v,
        mask,
        g,
        cpuOut[0],
        cpuOut[1],
        cpuOut[2],
        b,
        h,
        h,
        n,
        n,
        d,
        true,
      ),
    );
    for (let i = 0; i < 3; i++) assertClose(runs[0][i], cpuOut[i], { scale: maxAbs(cpuOut[i]), rtol: 1e-4 });
  });

  test("wasm runs the composed gradient (no fused backward there), with the same values", (t) => {
    if (!availableBackends().includes("wasm" as BackendName)) {
      t.skip("no wasm build here");
      return;
    }
    const c = CASES[0];
    const { q, k, v } = inputs(c, 21, true);
    const w = tensor(randomNormal(new Rng(22), q.size), q.shape);
    const run = () => grad(sum(mul(scaledDotProductAttention(q, k, v, { causal: true }), w)), [q, k, v]);
    const wasm = withBackend("wasm", run);
    const cpu = withBackend("cpu", run);
    wasm.forEach((g, i) => {
      assertClose(g.values, cpu[i].values, { scale: Math.max(maxAbs(cpu[i].values), 1), rtol: 1e-4 });
    });
  });
});
