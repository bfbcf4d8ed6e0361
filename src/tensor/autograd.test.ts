import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import type { BackendName } from "./backend.js";
import * as ops from "./ops.js";
import type { Tensor } from "./tensor.js";
import { grad, noGrad, tensor, withBackend } from "./tensor.js";
import { randomNormal, TEST_BACKENDS } from "./testing.js";

const hasCode = (code: string) => (error: unknown) => error instanceof ProximalError && error.code === code;

describe("Tensor.backward()", () => {
  test("accumulates leaf gradients across two backward calls on separate graphs", () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    ops.sum(ops.mul(x, x)).backward();
    ops.sum(ops.mul(x, 3)).backward();
    // by hand: 2x + 3
    assert.deepEqual(x.grad?.toArray(), [5, 7, 9]);
  });

  test("zeroGrad clears the accumulated gradient so the next backward starts fresh", () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    ops.sum(ops.mul(x, 4)).backward();
    x.zeroGrad();
    assert.ok(x.grad === null);
    ops.sum(ops.mul(x, 3)).backward();
    // read through a function: the assertion above narrowed x.grad to null for the type checker
    const gradOf = (t: Tensor) => t.grad;
    assert.deepEqual(gradOf(x)?.toArray(), [3, 3]);
  });

  test("a tensor used twice receives the sum of both gradients", () => {
    const x = tensor([1, -2, 0.5], [3], { requiresGrad: true });
    ops.sum(ops.add(ops.mul(x, x), x)).backward();
    // by hand: d(x² + x) = 2x + 1
    assert.deepEqual(x.grad?.toArray(), [3, -3, 2]);
  });

  test("detach stops the gradient through the detached branch", () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    ops.sum(ops.mul(x, x.detach())).backward();
    // only the attached factor contributes: x, not 2x
    assert.deepEqual(x.grad?.toArray(), [1, 2, 3]);
  });

  test("a non-scalar output without an explicit gradient fails with SHAPE_MISMATCH", () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    assert.throws(() => ops.mul(x, 2).backward(), hasCode("SHAPE_MISMATCH"));
  });

  test("a non-scalar output accepts an explicit gradient of its shape", () => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    ops.mul(x, 2).backward(tensor([1, 0, -1], [3]));
    assert.deepEqual(x.grad?.toArray(), [2, 0, -2]);
  });

  test("retainGraph lets a second backward through the same graph accumulate again", () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const loss = ops.sum(ops.mul(x, x));
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    assert.deepEqual(x.grad?.toArray(), [4, 8]);
  });

  test("a second backward through a freed graph fails instead of silently dropping gradients", () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const loss = ops.sum(ops.mul(x, x));
    loss.backward();
    assert.throws(() => loss.backward(), hasCode("INVALID_ARGUMENT"));
    assert.deepEqual(x.grad?.toArray(), [2, 4]);
  });

  test("a plain backward after a createGraph backward leaves other leaves' gradients untouched", () => {
    // add hands the same gradient tensor to both inputs; accumulating into x.grad in place used to
    // change y.grad as well
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = tensor([3, 4], [2], { requiresGrad: true });
    ops.sum(ops.add(x, y)).backward(undefined, { createGraph: true });
    ops.sum(ops.mul(x, 3)).backward();
    assert.deepEqual(x.grad?.toArray(), [4, 4]);
    assert.deepEqual(y.grad?.toArray(), [1, 1]);
  });
});

describe("noGrad()", () => {
  test("records no graph: results do not require gradients and have no inputs", () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = noGrad(() => ops.sum(ops.mul(x, x)));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.inputs, null);
    assert.throws(() => y.backward(), hasCode("INVALID_ARGUMENT"));
  });

  test("restores recording afterwards", () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    noGrad(() => ops.mul(x, 2));
    assert.equal(ops.mul(x, 2).requiresGrad, true);
  });
});

describe("grad()", () => {
  test("returns gradients without accumulating into .grad", () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const [g] = grad(ops.sum(ops.mul(x, x)), [x]);
    assert.deepEqual(g.toArray(), [2, 4]);
    assert.equal(x.grad, null);
  });

  test("gives zeros for an input the output does not depend on", () => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const unused = tensor([5], [1], { requiresGrad: true });
    const [, g] = grad(ops.sum(x), [x, unused]);
    assert.deepEqual(g.toArray(), [0]);
  });

  test("repeated Hessian-vector products through one createGraph gradient need retainGraph", () => {
    // TRPO's conjugate gradient calls H·v many times on one first-order gradient (torch needs
    // retain_graph=True there too)
    const x = tensor([0.5, -1, 2], [3], { requiresGrad: true });
    const [g] = grad(ops.sum(ops.tanh(ops.mul(x, x))), [x], { createGraph: true });
    const v = tensor([1, 2, -1], [3]);
    const first = grad(ops.sum(ops.mul(g, v)), [x], { retainGraph: true })[0].toArray();
    const second = grad(ops.sum(ops.mul(g, v)), [x])[0].toArray();
    assert.deepEqual(second, first);
    assert.throws(() => grad(ops.sum(ops.mul(g, v)), [x]), hasCode("INVALID_ARGUMENT"));
  });
});

describe("determinism", () => {
  // 100 steps of plain SGD (p -= lr · grad) on a 4-16-16-2 tanh MLP regressing a fixed target
  function train(backend: BackendName): Float32Array[] {
    return withBackend(backend, () => {
      const rng = new Rng(2024);
      const shapes = [[16, 4], [16], [16, 16], [16], [2, 16], [2]];
      const params = shapes.map((shape) =>
        tensor(
          randomNormal(
            rng,
            shape.reduce((p, d) => p * d, 1),
            0.5,
          ),
          shape,
          { requiresGrad: true },
        ),
      );
      const obs = tensor(randomNormal(rng, 32 * 4), [32, 4]);
      const target = tensor(randomNormal(rng, 32 * 2), [32, 2]);
      const lr = 0.05;
      for (let step = 0; step < 100; step++) {
        const [w1, b1, w2, b2, w3, b3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
        const out = ops.linear(ops.tanh(ops.linear(ops.tanh(ops.linear(obs, w1, b1)), w2, b2)), w3, b3);
        const loss = ops.mean(ops.square(ops.sub(out, target)));
        const grads = grad(loss, params);
        params.forEach((p, i) => {
          const pv = p.values;
          const gv = grads[i].values;
          for (let j = 0; j < pv.length; j++) pv[j] -= lr * gv[j];
        });
      }
      return params.map((p) => p.values.slice());
    });
  }

  for (const backend of TEST_BACKENDS) {
    test(`100 seeded SGD steps give bit-identical parameters twice on ${backend}`, () => {
      const first = train(backend);
      const second = train(backend);
      first.forEach((p, i) => {
        assert.deepEqual(new Uint32Array(p.buffer), new Uint32Array(second[i].buffer), `parameter ${i}`);
      });
    });
  }
});
