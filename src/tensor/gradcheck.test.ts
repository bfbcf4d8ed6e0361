import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import * as ops from "./ops.js";
import type { Tensor } from "./tensor.js";
import { grad, noGrad, tensor, withBackend } from "./tensor.js";
import { assertClose, finiteDifference, randomIntegers, randomNormal, randomUniform } from "./testing.js";

// Central finite-difference checks of every differentiable op's gradient rule, on the cpu backend
// (float64 arithmetic, one float32 rounding per op). For each op: L(x) = Σ out(x) ⊙ w for a fixed
// random w, summed in float64; the analytic ∂L/∂x (through grad()) must match
// (L(x + h eᵢ) - L(x - h eᵢ)) / (x⁺ - x⁻) elementwise.
//
// Tolerance, with step h = 1e-2 on inputs of size ~1 kept away from kinks by more than 5h:
// - truncation: h²/6 · |L'''| ≈ 2e-5 · |L'''|, below 1e-3 relative for the smooth ops used here;
// - rounding: each output element carries ≤ a few · 6e-8 relative error, so L carries
//   ~6e-8 · Σ|out ⊙ w| ≲ 1e-5 for these sizes, and dividing by 2h gives ≲ 1e-3 absolute.
// So |analytic - fd| <= 1e-2 · max(|analytic|, |fd|) + 2e-3 holds with margin, while a wrong rule
// (a missing factor, a wrong sign, a gradient sent to the wrong element) is off by O(1).

const STEP = 1e-2;
const RTOL = 1e-2;
const ATOL = 2e-3;

interface Input {
  shape: number[];
  data: Float32Array;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Check ∂/∂inputs of Σ fn(inputs) ⊙ w against central differences. */
function gradcheck(inputs: Input[], fn: (xs: Tensor[]) => Tensor, seed = 0): void {
  withBackend("cpu", () => {
    const leaves = inputs.map((x) => tensor(x.data.slice(), x.shape, { requiresGrad: true }));
    const out = fn(leaves);
    const w = randomNormal(new Rng(1000 + seed), out.size);
    const analytic = grad(ops.sum(ops.mul(out, tensor(w, out.shape))), leaves);
    inputs.forEach((input, k) => {
      const loss = (probe: Float32Array): number =>
        noGrad(() => {
          const xs = inputs.map((x, j) => tensor(j === k ? probe : x.data, x.shape));
          const o = fn(xs).values;
          let s = 0;
          for (let i = 0; i < o.length; i++) s += o[i] * w[i];
          return s;
        });
      const numeric = finiteDifference(loss, input.data, STEP);
      assertClose(analytic[k].values, numeric, { rtol: RTOL, atol: ATOL, label: `input ${k}` });
    });
  });
}

let seed = 0;
const rng = (): Rng => new Rng(++seed);
const normal = (shape: number[], scale = 1, shift = 0): Input => ({
  shape,
  data: randomNormal(rng(), sizeOf(shape), scale, shift),
});
const uniform = (shape: number[], low: number, high: number): Input => ({
  shape,
  data: randomUniform(rng(), sizeOf(shape), low, high),
});
/** Normal draws at least `gap` from zero (relu, abs, reciprocal). */
const awayFromZero = (shape: number[], gap = 0.2): Input => {
  const x = normal(shape);
  x.data = x.data.map((v) => v + Math.sign(v || 1) * gap);
  return x;
};
/** Distinct values on a shuffled grid 0.1 apart, so max/min have no near-ties. */
const distinct = (shape: number[]): Input => {
  const n = sizeOf(shape);
  const order = rng().permutation(n);
  return { shape, data: Float32Array.from(order, (v) => (v - n / 2) * 0.1 + 0.013) };
};
const ints = (shape: number[], high: number): Tensor =>
  tensor(randomIntegers(rng(), sizeOf(shape), high), shape, { dtype: "int32" });

describe("finite-difference gradient checks (cpu backend)", () => {
  describe("elementwise binary with broadcasting", () => {
    test("add: [2,3,4] + [3,1]", () =>
      gradcheck([normal([2, 3, 4]), normal([3, 1])], ([a, b]) => ops.add(a, b)));
    test("sub: [3,1] - [2,1,4]", () =>
      gradcheck([normal([3, 1]), normal([2, 1, 4])], ([a, b]) => ops.sub(a, b)));
    test("mul: [2,3,4] * [4]", () => gradcheck([normal([2, 3, 4]), normal([4])], ([a, b]) => ops.mul(a, b)));
    test("mul: scalar * [3,4]", () => gradcheck([normal([]), normal([3, 4])], ([a, b]) => ops.mul(a, b)));
    test("div: [3,4] / [3,1] with denominators away from 0", () =>
      gradcheck([normal([3, 4]), uniform([3, 1], 0.5, 2)], ([a, b]) => ops.div(a, b)));
    test("pow with a tensor exponent: [3,4] ** [4]", () =>
      gradcheck([uniform([3, 4], 0.5, 2), normal([4], 0.5)], ([a, b]) => ops.pow(a, b)));
    test("pow with a scalar exponent", () => gradcheck([uniform([2, 5], 0.5, 2)], ([a]) => ops.pow(a, 2.5)));
    test("maximum: [3,4] vs [4] with no near-ties", () => {
      const a = normal([3, 4]);
      const b = normal([4]);
      for (let i = 0; i < a.data.length; i++) {
        const d = a.data[i] - b.data[i % 4];
        if (Math.abs(d) < 0.1) a.data[i] += d < 0 ? -0.2 : 0.2;
      }
      gradcheck([a, b], ([x, y]) => ops.maximum(x, y));
    });
    test("minimum: [2,3] vs [2,3] with no near-ties", () => {
      const a = normal([2, 3]);
      const b = { shape: [2, 3], data: a.data.map((v, i) => v + (i % 2 ? 0.3 : -0.4)) };
      gradcheck([a, b], ([x, y]) => ops.minimum(x, y));
    });
    test("where: broadcast condition [3,1], operands [3,4] and [4]", () => {
      const cond = tensor([1, 0, 1], [3, 1]);
      gradcheck([normal([3, 4]), normal([4])], ([a, b]) => ops.where(cond, a, b));
    });
  });

  describe("elementwise unary", () => {
    const smooth: [string, (x: Tensor) => Tensor, () => Input][] = [
      ["neg", ops.neg, () => normal([2, 5])],
      ["exp", ops.exp, () => normal([2, 5])],
      ["log", ops.log, () => uniform([2, 5], 0.3, 3)],
      ["sqrt", ops.sqrt, () => uniform([2, 5], 0.3, 3)],
      ["square", ops.square, () => normal([2, 5])],
      ["reciprocal", ops.reciprocal, () => awayFromZero([2, 5], 0.5)],
      ["tanh", ops.tanh, () => normal([2, 5])],
      ["relu (inputs away from the kink)", ops.relu, () => awayFromZero([2, 5])],
      ["sigmoid", ops.sigmoid, () => normal([2, 5], 2)],
      ["softplus", ops.softplus, () => normal([2, 5], 2)],
      ["abs (inputs away from the kink)", ops.abs, () => awayFromZero([2, 5])],
      ["gelu, tanh form", (x) => ops.gelu(x, "tanh"), () => normal([2, 5], 1.5)],
      ["gelu, erf form", (x) => ops.gelu(x, "none"), () => normal([2, 5], 1.5)],
    ];
    for (const [name, f, input] of smooth) test(name, () => gradcheck([input()], ([x]) => f(x)));
    test("clamp (inputs away from both bounds)", () => {
      const x = normal([3, 5], 1.5);
      x.data = x.data.map((v) => (Math.abs(v - 1) < 0.1 || Math.abs(v + 0.5) < 0.1 ? v + 0.25 : v));
      gradcheck([x], ([t]) => ops.clamp(t, -0.5, 1));
    });
  });

  describe("reduce", () => {
    const axesCases: [string, number | number[] | undefined, boolean][] = [
      ["all axes", undefined, false],
      ["axis 1", 1, false],
      ["axis -1 keepdims", -1, true],
      ["axes [0, 2]", [0, 2], false],
      ["axes [0, 1] keepdims", [0, 1], true],
    ];
    for (const [label, axis, keepdims] of axesCases) {
      test(`sum over ${label}`, () => gradcheck([normal([2, 3, 4])], ([x]) => ops.sum(x, axis, keepdims)));
      test(`mean over ${label}`, () => gradcheck([normal([2, 3, 4])], ([x]) => ops.mean(x, axis, keepdims)));
      test(`max over ${label}`, () => gradcheck([distinct([2, 3, 4])], ([x]) => ops.max(x, axis, keepdims)));
      test(`min over ${label}`, () => gradcheck([distinct([2, 3, 4])], ([x]) => ops.min(x, axis, keepdims)));
      test(`variance over ${label}`, () =>
        gradcheck([normal([2, 3, 4])], ([x]) => ops.variance(x, axis, keepdims)));
    }
    test("variance without Bessel's correction", () =>
      gradcheck([normal([3, 5])], ([x]) => ops.variance(x, 1, false, 0)));
    for (const [axis, keepdims] of [
      [-1, false],
      [-1, true],
      [1, false],
      [0, true],
    ] as const) {
      test(`logsumexp over axis ${axis}${keepdims ? " keepdims" : ""}`, () =>
        gradcheck([normal([3, 4, 2], 2)], ([x]) => ops.logsumexp(x, axis, keepdims)));
    }
  });

  describe("movement", () => {
    test("reshape", () =>
      gradcheck([normal([2, 6])], ([x]) => ops.mul(ops.reshape(x, [3, -1]), ops.reshape(x, [3, 4]))));
    test("permute", () => gradcheck([normal([2, 3, 4])], ([x]) => ops.permute(x, [2, 0, 1])));
    test("transpose", () => gradcheck([normal([2, 3, 4])], ([x]) => ops.transpose(x, 0, 2)));
    test("expand", () => gradcheck([normal([3, 1])], ([x]) => ops.expand(x, [2, 3, 4])));
    test("slice with negative bounds", () =>
      gradcheck([normal([4, 5, 3])], ([x]) => ops.slice(x, [1, -4], [3, -1])));
    test("narrow", () => gradcheck([normal([3, 6])], ([x]) => ops.narrow(x, 1, 2, 3)));
    test("concat along axis 1", () =>
      gradcheck([normal([2, 3]), normal([2, 1]), normal([2, 2])], (xs) => ops.concat(xs, 1)));
    test("stack along axis 1", () => gradcheck([normal([2, 3]), normal([2, 3])], (xs) => ops.stack(xs, 1)));
    test("gather along axis 1 with repeated indices", () => {
      const index = tensor(Int32Array.from([0, 3, 3, 1, 2, 2]), [3, 2], { dtype: "int32" });
      gradcheck([normal([3, 4])], ([x]) => ops.gather(x, 1, index));
    });
    test("embedding with repeated rows", () => {
      const ids = tensor(Int32Array.from([0, 4, 4, 2, 0, 1]), [2, 3], { dtype: "int32" });
      gradcheck([normal([5, 3])], ([w]) => ops.embedding(w, ids));
    });
    test("takeAlongLastAxis", () => {
      const index = ints([2, 3], 5);
      gradcheck([normal([2, 3, 5])], ([x]) => ops.takeAlongLastAxis(x, index));
    });
  });

  describe("matmul", () => {
    test("2-D", () => gradcheck([normal([3, 5]), normal([5, 4])], ([a, b]) => ops.matmul(a, b)));
    test("batched", () => gradcheck([normal([2, 3, 5]), normal([2, 5, 4])], ([a, b]) => ops.matmul(a, b)));
    test("batched with a shared 2-D right operand", () =>
      gradcheck([normal([2, 3, 5]), normal([5, 4])], ([a, b]) => ops.matmul(a, b)));
    test("batched with a shared 2-D left operand", () =>
      gradcheck([normal([3, 5]), normal([2, 5, 4])], ([a, b]) => ops.matmul(a, b)));
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        test(`matmulT transA ${transA} transB ${transB}`, () => {
          const a = normal(transA ? [2, 5, 3] : [2, 3, 5]);
          const b = normal(transB ? [4, 5] : [5, 4]);
          gradcheck([a, b], ([x, y]) => ops.matmulT(x, y, transA, transB));
        });
      }
    }
    test("linear with bias on a 3-D input", () =>
      gradcheck([normal([2, 3, 4]), normal([5, 4]), normal([5])], ([x, w, b]) => ops.linear(x, w, b)));
    test("linearAct tanh (fused linear + tanh) on a 3-D input", () =>
      gradcheck([normal([2, 3, 4]), normal([5, 4]), normal([5])], ([x, w, b]) =>
        ops.linearAct(x, w, b, "tanh"),
      ));
    test("linearAct relu (fused linear + relu), pre-activations off the kink", () => {
      // small weights and biases of ±1 keep |x·Wᵀ + b| > 0.3, far beyond a step's reach; half the
      // outputs are cut by relu, half pass
      const bias = Float32Array.from([1, -1, 1.2, -0.9, 1.1]);
      gradcheck([normal([2, 3, 4]), normal([5, 4], 0.1), { shape: [5], data: bias }], ([x, w, b]) =>
        ops.linearAct(x, w, b, "relu"),
      );
    });
    test("linearAct without bias, input not requiring a gradient for the weight's sake", () =>
      gradcheck([normal([3, 4]), normal([2, 4])], ([x, w]) => ops.linearAct(x, w, null, "tanh")));
  });

  describe("nn", () => {
    test("softmax over the last axis", () => gradcheck([normal([3, 5], 2)], ([x]) => ops.softmax(x)));
    test("softmax over axis 0", () => gradcheck([normal([3, 2, 4], 2)], ([x]) => ops.softmax(x, 0)));
    test("logSoftmax over the last axis", () => gradcheck([normal([3, 5], 2)], ([x]) => ops.logSoftmax(x)));
    test("logSoftmax over axis 1", () => gradcheck([normal([3, 2, 4], 2)], ([x]) => ops.logSoftmax(x, 1)));
    test("crossEntropy", () => {
      const targets = ints([6], 4);
      gradcheck([normal([6, 4], 2)], ([z]) => ops.crossEntropy(z, targets));
    });
    test("crossEntropy with a mask", () => {
      const targets = ints([2, 3], 4);
      const mask = tensor([1, 1, 0, 1, 0, 0], [2, 3]);
      gradcheck([normal([2, 3, 4], 2)], ([z]) => ops.crossEntropy(z, targets, { mask }));
    });
    test("layerNorm: x, gamma and beta", () =>
      gradcheck([normal([2, 3, 6], 2, 0.5), normal([6], 0.5, 1), normal([6])], ([x, g, b]) =>
        ops.layerNorm(x, g, b),
      ));
    test("scaledDotProductAttention, causal", () =>
      gradcheck([normal([2, 4, 3]), normal([2, 4, 3]), normal([2, 4, 3])], ([q, k, v]) =>
        ops.scaledDotProductAttention(q, k, v, { causal: true }),
      ));
    test("scaledDotProductAttention, causal with a KV cache (T < S)", () =>
      gradcheck([normal([2, 2, 3]), normal([2, 5, 3]), normal([2, 5, 3])], ([q, k, v]) =>
        ops.scaledDotProductAttention(q, k, v, { causal: true }),
      ));
  });
});
