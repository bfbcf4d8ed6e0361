import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import * as ops from "./ops.js";
import { availableBackends, grad, tensor, withBackend } from "./tensor.js";
import {
  assertClose,
  assertGradientsMatchFiniteDifferences,
  randomIntegers,
  randomNormal,
} from "./testing.js";

// logSoftmaxAt is takeAlongLastAxis(logSoftmax(x), index) without the [..., C] log-softmax, with a
// fused first-order gradient and the composed one under createGraph: checked against the composed
// form (values and gradients, every backend), finite differences, and a second derivative.

const SHAPE = [3, 4, 37];
const rows = SHAPE[0] * SHAPE[1];
const cols = SHAPE[2];

function inputs(seed: number) {
  const rng = new Rng(seed);
  return {
    logits: randomNormal(rng, rows * cols, 3),
    index: randomIntegers(rng, rows, cols),
    weights: randomNormal(rng, rows),
  };
}

describe("logSoftmaxAt()", () => {
  for (const backend of availableBackends()) {
    test(`matches takeAlongLastAxis(logSoftmax(x), index), values and gradient (${backend})`, () => {
      withBackend(backend, () => {
        const { logits, index, weights } = inputs(1);
        const run = (fused: boolean) => {
          const x = tensor(logits.slice(), SHAPE, { requiresGrad: true });
          const ids = tensor(index, SHAPE.slice(0, -1), { dtype: "int32" });
          const y = fused ? ops.logSoftmaxAt(x, ids) : ops.takeAlongLastAxis(ops.logSoftmax(x), ids);
          const [g] = grad(ops.sum(ops.mul(y, tensor(weights, y.shape))), [x]);
          return { y, g };
        };
        const fused = run(true);
        const composed = run(false);
        assert.deepEqual(fused.y.shape, SHAPE.slice(0, -1));
        assertClose(fused.y.values, composed.y.values, { rtol: 1e-6, atol: 1e-6, label: "values" });
        assertClose(fused.g.values, composed.g.values, { rtol: 1e-5, atol: 1e-7, label: "gradient" });
      });
    });
  }

  test("its gradient matches finite differences", () => {
    withBackend("cpu", () => {
      const { logits, index, weights } = inputs(2);
      const x = tensor(logits, SHAPE, { requiresGrad: true });
      const ids = tensor(index, SHAPE.slice(0, -1), { dtype: "int32" });
      const w = tensor(weights, SHAPE.slice(0, -1));
      assertGradientsMatchFiniteDifferences(() => ops.sum(ops.mul(ops.logSoftmaxAt(x, ids), w)), [x]);
    });
  });

  test("a second derivative (createGraph) matches the composed form's", () => {
    withBackend("cpu", () => {
      const { logits, index, weights } = inputs(3);
      const v = randomNormal(new Rng(4), rows * cols);
      const hessianVector = (fused: boolean) => {
        const x = tensor(logits.slice(), SHAPE, { requiresGrad: true });
        const ids = tensor(index, SHAPE.slice(0, -1), { dtype: "int32" });
        const y = fused ? ops.logSoftmaxAt(x, ids) : ops.takeAlongLastAxis(ops.logSoftmax(x), ids);
        const [g] = grad(ops.sum(ops.mul(y, tensor(weights, y.shape))), [x], { createGraph: true });
        return grad(ops.sum(ops.mul(g, tensor(v, SHAPE))), [x])[0].values;
      };
      const fused = hessianVector(true);
      assert.ok(
        fused.some((value) => Math.abs(value) > 1e-3),
        "the Hessian-vector product is all zeros",
      );
      assertClose(fused, hessianVector(false), { rtol: 1e-5, atol: 1e-6 });
    });
  });

  test("rejects an index of the wrong shape or out of range, naming both", () => {
    const x = tensor(new Float32Array(12), [3, 4]);
    const isShape = (e: unknown) =>
      e instanceof ProximalError && e.code === "SHAPE_MISMATCH" && /\[3, 4\]/.test(e.message);
    assert.throws(() => ops.logSoftmaxAt(x, tensor([0, 1], [2], { dtype: "int32" })), isShape);
    assert.throws(
      () => ops.logSoftmaxAt(x, tensor([0, 1, 4], [3], { dtype: "int32" })),
      (e: unknown) => e instanceof ProximalError && /out of range/.test(e.message),
    );
  });
});
