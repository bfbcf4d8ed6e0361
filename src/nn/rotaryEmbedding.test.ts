import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import { mul, square, sum, tanh } from "../tensor/ops.js";
import { Tensor, tensor } from "../tensor/tensor.js";
import { assertClose, assertGradientsMatchFiniteDifferences, randomNormal } from "../tensor/testing.js";
import { applyRotaryEmbedding, ropeInverseFrequencies, ropeTables } from "./rotaryEmbedding.js";

const positions = (rows: number[][]) => tensor(rows, undefined, { dtype: "int32" });

describe("ropeInverseFrequencies()", () => {
  test("θ_i = base^(−2i/d)", () => {
    assertClose(ropeInverseFrequencies(8, 10000), [1, 0.1, 0.01, 0.001], { rtol: 1e-6 });
  });

  test("llama3 scaling keeps short wavelengths, divides long ones and blends the band between", () => {
    // wavelengths 2π/θ: 6.28 (< 64/4: kept), 62.8 (between: blended), 628 and 6283 (> 64/1: divided by 8)
    const scaled = ropeInverseFrequencies(8, 10000, {
      ropeType: "llama3",
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 64,
    });
    // by hand for θ = 0.1: s = (64 / 62.83 − 1) / 3 = 0.00620; (1 − s)·0.1/8 + s·0.1 = 0.013043
    const s = (64 / ((2 * Math.PI) / 0.1) - 1) / 3;
    assertClose(scaled, [1, (1 - s) * 0.0125 + s * 0.1, 0.01 / 8, 0.001 / 8], { rtol: 1e-6 });
  });
});

describe("applyRotaryEmbedding()", () => {
  test("rotates each (x_i, x_{i+d/2}) pair by position · θ_i and preserves the norm", () => {
    const tables = ropeTables(positions([[0, 3]]), ropeInverseFrequencies(4, 100));
    const x = tensor([
      [
        [
          [1, 2, 3, 4],
          [1, 2, 3, 4],
        ],
      ],
    ]); // [1, 1, 2, 4]
    const y = applyRotaryEmbedding(x, tables).values;
    assertClose(y.subarray(0, 4), [1, 2, 3, 4], { rtol: 1e-7 }); // position 0: identity
    // position 3, pair (x0, x2) = (1, 3) at angle 3·1, pair (x1, x3) = (2, 4) at angle 3·0.1
    const [c0, s0, c1, s1] = [Math.cos(3), Math.sin(3), Math.cos(0.3), Math.sin(0.3)];
    assertClose(y.subarray(4), [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1], {
      rtol: 1e-6,
    });
  });

  test("the gradient agrees with central finite differences", () => {
    const rng = new Rng(1);
    const tables = ropeTables(
      positions([
        [0, 1, 5],
        [2, 7, 9],
      ]),
      ropeInverseFrequencies(6, 10),
    );
    const x = new Tensor(randomNormal(rng, 2 * 2 * 3 * 6), [2, 2, 3, 6]).requireGrad();
    const weights = new Tensor(randomNormal(rng, x.size), x.shape);
    assertGradientsMatchFiniteDifferences(
      () => sum(square(tanh(mul(applyRotaryEmbedding(x, tables), weights)))),
      [x],
    );
  });

  test("refuses heads whose shape does not match the tables", () => {
    const tables = ropeTables(positions([[0, 1]]), ropeInverseFrequencies(4, 100));
    assert.throws(() => applyRotaryEmbedding(tensor([[[[1, 2, 3, 4]]]]), tables), { code: "SHAPE_MISMATCH" });
  });
});
