import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import * as ops from "./ops.js";
import type { Tensor } from "./tensor.js";
import { grad, tensor, withBackend } from "./tensor.js";
import { assertClose, maxAbs, TEST_BACKENDS } from "./testing.js";

// Replays fixtures/torch/ops.json (scripts/fixtures/makeTensorFixtures.py, torch 1.13, seed 0): every
// op's output and the gradients of (out * w).sum() on both backends. The reference is float64 math on
// the same float32 inputs, so the only error allowed is the engine's float32 rounding.
//
// Tolerance: |engine - torch| <= 1e-5 * max(|engine|, |torch|, scale) with scale = the largest
// |value| of the array compared. float32 rounds each intermediate to ~6e-8 of its own size, and
// intermediates are about as large as the largest output element, so an element that is small only
// because of cancellation (a softmax gradient g - Σ g·y, a centred layer-norm input) carries absolute
// error ~1e-7 * scale. 1e-5 * scale leaves a 100x margin over that and still catches any wrong rule.

interface EncodedTensor {
  shape: number[];
  dtype: "float32" | "int32";
  data: number[];
}

interface FixtureCase {
  name: string;
  op: string;
  params: Record<string, unknown>;
  inputs: EncodedTensor[];
  w: EncodedTensor;
  out: EncodedTensor;
  grads: (EncodedTensor | null)[];
}

interface Fixture {
  source: string;
  cases: FixtureCase[];
  hessianVectorProduct: {
    params: EncodedTensor[];
    obs: EncodedTensor;
    actions: EncodedTensor;
    vector: EncodedTensor[];
    logLikelihood: number;
    grad: EncodedTensor[];
    hvp: EncodedTensor[];
  };
}

const fixture = JSON.parse(
  readFileSync(new URL("../../fixtures/torch/ops.json", import.meta.url), "utf8"),
) as Fixture;

function decode(e: EncodedTensor, requiresGrad = false): Tensor {
  const data = e.dtype === "int32" ? Int32Array.from(e.data) : Float32Array.from(e.data);
  return tensor(data, e.shape, { requiresGrad });
}

type P = Record<string, unknown>;
type OpFn = (inputs: Tensor[], p: P) => Tensor;

const num = (v: unknown): number => v as number;
const axisOf = (v: unknown): number | number[] | undefined =>
  v === null ? undefined : (v as number | number[]);

const unary =
  (f: (x: Tensor) => Tensor): OpFn =>
  ([x]) =>
    f(x);
const binary =
  (f: (a: Tensor, b: Tensor) => Tensor): OpFn =>
  ([a, b]) =>
    f(a, b);

/** How each fixture `op` runs on the engine (names as in the Python script). */
const OPS: Record<string, OpFn> = {
  add: binary(ops.add),
  sub: binary(ops.sub),
  mul: binary(ops.mul),
  div: binary(ops.div),
  pow: binary(ops.pow),
  powScalar: ([x], p) => ops.pow(x, num(p.exponent)),
  maximum: binary(ops.maximum),
  minimum: binary(ops.minimum),
  where: ([c, a, b]) => ops.where(c, a, b),
  neg: unary(ops.neg),
  exp: unary(ops.exp),
  log: unary(ops.log),
  sqrt: unary(ops.sqrt),
  square: unary(ops.square),
  reciprocal: unary(ops.reciprocal),
  tanh: unary(ops.tanh),
  relu: unary(ops.relu),
  sigmoid: unary(ops.sigmoid),
  softplus: unary(ops.softplus),
  abs: unary(ops.abs),
  geluTanh: unary((x) => ops.gelu(x, "tanh")),
  geluErf: unary((x) => ops.gelu(x, "none")),
  clamp: ([x], p) => ops.clamp(x, num(p.min), num(p.max)),
  sum: ([x], p) => ops.sum(x, axisOf(p.axis), p.keepdims as boolean),
  mean: ([x], p) => ops.mean(x, axisOf(p.axis), p.keepdims as boolean),
  max: ([x], p) => ops.max(x, axisOf(p.axis), p.keepdims as boolean),
  min: ([x], p) => ops.min(x, axisOf(p.axis), p.keepdims as boolean),
  variance: ([x], p) =>
    ops.variance(x, axisOf(p.axis), p.keepdims as boolean, (p.correction as number | undefined) ?? 1),
  logsumexp: ([x], p) => ops.logsumexp(x, num(p.axis), p.keepdims as boolean),
  reshape: ([x], p) => ops.reshape(x, p.shape as number[]),
  permute: ([x], p) => ops.permute(x, p.axes as number[]),
  transpose: ([x], p) => ops.transpose(x, num(p.axis0), num(p.axis1)),
  expand: ([x], p) => ops.expand(x, p.shape as number[]),
  slice: ([x], p) => ops.slice(x, p.starts as number[], p.ends as number[]),
  narrow: ([x], p) => ops.narrow(x, num(p.axis), num(p.start), num(p.length)),
  concat: (xs, p) => ops.concat(xs, num(p.axis)),
  stack: (xs, p) => ops.stack(xs, num(p.axis)),
  gather: ([x, index], p) => ops.gather(x, num(p.axis), index),
  embedding: binary(ops.embedding),
  takeAlongLastAxis: binary(ops.takeAlongLastAxis),
  matmul: binary(ops.matmul),
  matmulT: ([a, b], p) => ops.matmulT(a, b, p.transA as boolean, p.transB as boolean),
  linear: ([x, w, b]) => ops.linear(x, w, b),
  softmax: ([x], p) => ops.softmax(x, num(p.axis)),
  logSoftmax: ([x], p) => ops.logSoftmax(x, num(p.axis)),
  crossEntropy: ([logits, targets, mask]) =>
    ops.crossEntropy(logits, targets, mask === undefined ? {} : { mask }),
  layerNorm: ([x, gamma, beta], p) => ops.layerNorm(x, gamma, beta, num(p.eps)),
  attention: ([q, k, v], p) => ops.scaledDotProductAttention(q, k, v, { causal: p.causal as boolean }),
  mlp: ([x, w1, b1, w2, b2, w3, b3]) =>
    ops.linear(ops.tanh(ops.linear(ops.tanh(ops.linear(x, w1, b1)), w2, b2)), w3, b3),
};

for (const backend of TEST_BACKENDS) {
  describe(`torch parity (${backend} backend)`, () => {
    for (const c of fixture.cases) {
      test(`${c.name}: output and gradients of (out * w).sum()`, () => {
        withBackend(backend, () => {
          const run = OPS[c.op];
          if (run === undefined) throw new Error(`no engine op for fixture op "${c.op}"`);
          const inputs = c.inputs.map((e, i) => decode(e, c.grads[i] !== null));
          const out = run(inputs, c.params);
          assertClose(out.shape, c.out.shape, { rtol: 0, label: `${c.name} shape` });
          assertClose(out.values, c.out.data, { scale: maxAbs(c.out.data), label: `${c.name} output` });
          const withGrad = inputs.filter((_, i) => c.grads[i] !== null);
          if (withGrad.length === 0) return;
          const grads = grad(ops.sum(ops.mul(out, decode(c.w))), withGrad);
          let k = 0;
          c.grads.forEach((expected, i) => {
            if (expected === null) return;
            const g = grads[k++];
            assertClose(g.values, expected.data, {
              scale: maxAbs(expected.data),
              label: `${c.name} gradient of input ${i}`,
            });
          });
        });
      });
    }

    test("Hessian-vector product of a Categorical log-likelihood matches torch.autograd.grad(create_graph=True)", () => {
      withBackend(backend, () => {
        const h = fixture.hessianVectorProduct;
        const params = h.params.map((e) => decode(e, true));
        const [w1, b1, w2, b2] = params;
        const logits = ops.linear(ops.tanh(ops.linear(decode(h.obs), w1, b1)), w2, b2);
        const logLikelihood = ops.mean(ops.takeAlongLastAxis(ops.logSoftmax(logits), decode(h.actions)));
        assertClose([logLikelihood.item()], [h.logLikelihood], { label: "log-likelihood" });
        const first = grad(logLikelihood, params, { createGraph: true });
        first.forEach((g, i) => {
          assertClose(g.values, h.grad[i].data, { scale: maxAbs(h.grad[i].data), label: `gradient ${i}` });
        });
        let gradDotV = ops.sum(ops.mul(first[0], decode(h.vector[0])));
        for (let i = 1; i < first.length; i++) {
          gradDotV = ops.add(gradDotV, ops.sum(ops.mul(first[i], decode(h.vector[i]))));
        }
        const hvp = grad(gradDotV, params);
        // 1e-4: the second-order terms are sums of products of first-order intermediates that were
        // each rounded to float32 and partly cancel (softmax Jacobian p(δ - p)), so the error bound
        // compounds one more level than a first-order gradient.
        hvp.forEach((g, i) => {
          assertClose(g.values, h.hvp[i].data, {
            rtol: 1e-4,
            scale: maxAbs(h.hvp[i].data),
            label: `Hessian-vector product ${i}`,
          });
        });
      });
    });
  });
}
