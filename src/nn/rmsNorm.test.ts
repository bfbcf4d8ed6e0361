import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import { square, sum, tanh } from "../tensor/ops.js";
import { Tensor, tensor } from "../tensor/tensor.js";
import { assertClose, assertGradientsMatchFiniteDifferences, randomNormal } from "../tensor/testing.js";
import { RMSNorm, rmsNorm } from "./rmsNorm.js";

describe("rmsNorm()", () => {
  test("divides by the root mean square and scales by the weight", () => {
    // by hand: rms([3, 4]) = √12.5 = 3.5355, so [3, 4] / 3.5355 · [1, 2] = [0.8485, 2.2627]
    const y = rmsNorm(tensor([[3, 4]]), tensor([1, 2]), 0);
    assertClose(y.values, [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)], { rtol: 1e-6 });
  });

  test("gradients of x and weight agree with central finite differences", () => {
    const rng = new Rng(0);
    const x = new Tensor(randomNormal(rng, 12), [2, 6]).requireGrad();
    const w = new Tensor(randomNormal(rng, 6, 0.3, 1), [6]).requireGrad();
    // a nonlinear scalar so the check is not trivially linear
    assertGradientsMatchFiniteDifferences(() => sum(square(tanh(rmsNorm(x, w, 1e-5)))), [x, w]);
  });

  test("RMSNorm refuses an input of the wrong width", () => {
    assert.throws(() => new RMSNorm(4).forward(tensor([[1, 2, 3]])), { code: "SHAPE_MISMATCH" });
  });
});
