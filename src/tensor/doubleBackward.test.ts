import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import * as ops from "./ops.js";
import type { Tensor } from "./tensor.js";
import { grad, tensor, withBackend } from "./tensor.js";
import { assertClose, randomIntegers, randomNormal, randomUniform } from "./testing.js";

// Second derivatives (TRPO's Fisher-vector product needs them): grad(..., { createGraph: true })
// records the backward pass, and a second grad() of g·v must give the Hessian-vector product H v.
// Reference: central differences of the first gradient along v, (g(x + h v) - g(x - h v)) / 2h,
// on the cpu backend. Each op is wrapped as L = Σ w ⊙ tanh(op(x)) so that even ops that are linear
// in x (add, sum, mean, matmul in each operand) have a nonzero Hessian, which then runs through the
// op's own gradient rule a second time.
//
// Tolerance: g is float32 with ~1e-7 relative rounding, so its difference quotient with h = 1e-2
// carries ≲ 1e-5 · |g| / |v h|-scaled error, plus truncation h²/6 · |g'''| ≲ 1e-4; the float32
// rounding of x ± h v changes the step by ≲ 1e-5 relative. 1e-2 relative + 2e-3 absolute covers
// these with margin; a missing second-order term is off by O(1).

const STEP = 1e-2;

interface Input {
  shape: number[];
  data: Float32Array;
}

function firstGradient(
  inputs: Input[],
  datas: Float32Array[],
  fn: (xs: Tensor[]) => Tensor,
  w: Float32Array,
) {
  const leaves = inputs.map((x, i) => tensor(datas[i], x.shape, { requiresGrad: true }));
  const out = ops.tanh(fn(leaves));
  const loss = ops.sum(ops.mul(out, tensor(w, out.shape)));
  return { leaves, loss };
}

function checkHessianVectorProduct(inputs: Input[], fn: (xs: Tensor[]) => Tensor, seed: number): void {
  withBackend("cpu", () => {
    const rng = new Rng(seed);
    const vs = inputs.map((x) => randomNormal(rng, x.data.length));
    const outSize = fn(inputs.map((x) => tensor(x.data, x.shape))).size;
    const w = randomNormal(rng, outSize);

    const { leaves, loss } = firstGradient(
      inputs,
      inputs.map((x) => x.data.slice()),
      fn,
      w,
    );
    const g = grad(loss, leaves, { createGraph: true });
    let gDotV = ops.sum(ops.mul(g[0], tensor(vs[0], g[0].shape)));
    for (let i = 1; i < g.length; i++)
      gDotV = ops.add(gDotV, ops.sum(ops.mul(g[i], tensor(vs[i], g[i].shape))));
    const hv = grad(gDotV, leaves);

    const shifted = (sign: number) => {
      const datas = inputs.map((x, i) => x.data.map((value, j) => value + sign * STEP * vs[i][j]));
      const run = firstGradient(inputs, datas, fn, w);
      return { datas, g: grad(run.loss, run.leaves) };
    };
    const plus = shifted(1);
    const minus = shifted(-1);
    inputs.forEach((x, i) => {
      const numeric = new Float64Array(x.data.length);
      for (let j = 0; j < numeric.length; j++) {
        // divide by the float32 step actually taken along v (x ± h v is rounded on store)
        const taken = (plus.datas[i][j] - minus.datas[i][j]) / vs[i][j];
        numeric[j] = (plus.g[i].values[j] - minus.g[i].values[j]) / (vs[i][j] === 0 ? 2 * STEP : taken);
      }
      assertClose(hv[i].values, numeric, { rtol: 1e-2, atol: 2e-3, label: `H v for input ${i}` });
    });
  });
}

let seed = 100;
const normal = (shape: number[], scale = 1): Input => ({
  shape,
  data: randomNormal(
    new Rng(++seed),
    shape.reduce((p, d) => p * d, 1),
    scale,
  ),
});

describe("double backward: Hessian-vector products against differences of the first gradient", () => {
  const cases: [string, Input[], (xs: Tensor[]) => Tensor][] = [
    ["tanh", [normal([3, 4])], ([x]) => ops.tanh(x)],
    ["exp", [normal([3, 4], 0.5)], ([x]) => ops.exp(x)],
    ["log", [{ shape: [3, 4], data: randomUniform(new Rng(7), 12, 0.5, 2) }], ([x]) => ops.log(x)],
    ["mul (both operands, broadcast)", [normal([3, 4]), normal([4])], ([a, b]) => ops.mul(a, b)],
    ["add (both operands, broadcast)", [normal([3, 4]), normal([3, 1])], ([a, b]) => ops.add(a, b)],
    ["sum over an axis", [normal([3, 4])], ([x]) => ops.sum(x, 1)],
    ["mean over all axes", [normal([3, 4], 3)], ([x]) => ops.mean(x)],
    ["matmul (both operands)", [normal([3, 5]), normal([5, 4])], ([a, b]) => ops.matmul(a, b)],
    [
      "linear (input, weight and bias)",
      [normal([4, 3]), normal([5, 3]), normal([5])],
      ([x, w, b]) => ops.linear(x, w, b),
    ],
    [
      "linearAct tanh (fused; the second derivative runs through the unfused rules)",
      [normal([4, 3]), normal([5, 3]), normal([5])],
      ([x, w, b]) => ops.linearAct(x, w, b, "tanh"),
    ],
    [
      "linearAct relu, pre-activations off the kink",
      [normal([4, 3]), normal([5, 3], 0.1), { shape: [5], data: Float32Array.from([1, -1, 1.2, -0.9, 1.1]) }],
      ([x, w, b]) => ops.linearAct(x, w, b, "relu"),
    ],
    ["softmax", [normal([3, 5], 2)], ([x]) => ops.softmax(x)],
    ["logSoftmax", [normal([3, 5], 2)], ([x]) => ops.logSoftmax(x)],
    [
      // the second derivative flows through relu's gradient kernel into b; inputs stay off the kink
      "relu times a tensor (both operands)",
      [
        {
          shape: [3, 4],
          data: Float32Array.from(randomUniform(new Rng(11), 12, 0.5, 1.5), (v, i) => (i % 3 ? v : -v)),
        },
        normal([3, 4]),
      ],
      ([a, b]) => ops.mul(ops.relu(ops.mul(a, b)), b),
    ], // the fused gradient kernel's own rule: gelu'' for x, the same kernel for the incoming gradient
    ["gelu, tanh form", [normal([3, 4], 1.5)], ([x]) => ops.gelu(x, "tanh")],
    [
      "gelu, tanh form, times a tensor (both operands)",
      [normal([3, 4], 1.5), normal([3, 4])],
      ([a, b]) => ops.mul(ops.gelu(ops.mul(a, b), "tanh"), b),
    ],
  ];
  for (const [name, inputs, fn] of cases) {
    test(name, () => checkHessianVectorProduct(inputs, fn, ++seed));
  }

  test("an MLP policy's surrogate loss with entropy bonus (tanh, linear, softmax, logSoftmax, exp, log, mean)", () => {
    const rng = new Rng(42);
    const obs = tensor(randomNormal(rng, 6 * 4), [6, 4]);
    const actions = tensor(randomIntegers(rng, 6, 3), [6], { dtype: "int32" });
    const oldLogProbs = tensor(randomNormal(rng, 6, 0.1, -1.1), [6]);
    const advantages = tensor(randomNormal(rng, 6), [6]);
    const params = [normal([8, 4], 0.5), normal([8], 0.5), normal([3, 8], 0.5), normal([3], 0.5)];
    checkHessianVectorProduct(
      params,
      ([w1, b1, w2, b2]) => {
        const logits = ops.linear(ops.tanh(ops.linear(obs, w1, b1)), w2, b2);
        const logProbs = ops.takeAlongLastAxis(ops.logSoftmax(logits), actions);
        const ratio = ops.exp(ops.sub(logProbs, oldLogProbs));
        const probs = ops.softmax(logits);
        const entropy = ops.neg(ops.sum(ops.mul(probs, ops.log(probs)), -1));
        return ops.reshape(
          ops.add(ops.mean(ops.mul(ratio, advantages)), ops.mul(ops.mean(entropy), 0.01)),
          [1],
        );
      },
      ++seed,
    );
  });
});
