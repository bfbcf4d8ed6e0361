import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Rng } from "../random/rng.js";
import * as ops from "../tensor/ops.js";
import { Tensor } from "../tensor/tensor.js";
import { assertGradientsMatchFiniteDifferences } from "../tensor/testing.js";
import { NoisyLinear, noisyLayers, scaleNoise } from "./noisyLinear.js";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = "") => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `${what} index ${i}: ${a[i]} vs ${b[i]}`);
};

// fixtures/torch/rainbow.json: scripts/fixtures/makeRainbowFixtures.py (torch 1.13, float64 from
// float32 inputs, seed 0): a 3 -> 2 layer with a fixed noise sample, its output and gradients.
const fx = (
  JSON.parse(readFileSync(new URL("../../fixtures/torch/rainbow.json", import.meta.url), "utf8")) as {
    noisyLinear: Record<string, number[]>;
  }
).noisyLinear;

function fixtureLayer(): NoisyLinear {
  const layer = new NoisyLinear(3, 2, { rng: new Rng(0) });
  for (const name of ["weightMu", "weightSigma", "biasMu", "biasSigma", "epsilonIn", "epsilonOut"] as const) {
    (layer[name].data as Float32Array).set(fx[name]);
  }
  return layer;
}

describe("NoisyLinear", () => {
  test("initialises μ ~ U(−1/√p, 1/√p) and σ = σ₀/√p (Fortunato et al. 2018, §3.2)", () => {
    const layer = new NoisyLinear(16, 8, { rng: new Rng(3) });
    const bound = 1 / 4;
    for (const v of [...layer.weightMu.values, ...layer.biasMu.values]) assert.ok(Math.abs(v) <= bound);
    for (const v of [...layer.weightSigma.values, ...layer.biasSigma.values])
      assert.ok(Math.abs(v - 0.5 / 4) < 1e-7);
    const custom = new NoisyLinear(4, 2, { rng: new Rng(3), sigma0: 0.1 });
    assert.ok(Math.abs(custom.weightSigma.values[0] - 0.05) < 1e-7);
  });

  test("resetNoise draws f(ε) = sgn(ε)√|ε| from the generator, reproducibly", () => {
    const a = new NoisyLinear(3, 2, { rng: new Rng(0) });
    a.resetNoise(new Rng(7));
    const rng = new Rng(7);
    const expected = Array.from({ length: 5 }, () => scaleNoise(rng.normal()));
    close([...a.epsilonIn.values, ...a.epsilonOut.values], expected, 1e-7);
    assert.equal(scaleNoise(-4), -2);
    assert.equal(scaleNoise(0.25), 0.5);
  });

  test("forward and backward match PyTorch with a fixed noise sample", () => {
    const layer = fixtureLayer();
    const x = new Tensor(Float32Array.from(fx.x), [4, 3]).requireGrad();
    const y = layer.forward(x);
    close(y.values, fx.y, 1e-5, "y");
    ops.sum(ops.mul(y, new Tensor(Float32Array.from(fx.upstream), [4, 2]))).backward();
    close(layer.weightMu.grad!.values, fx.gradWeightMu, 1e-5, "dμ_w");
    close(layer.weightSigma.grad!.values, fx.gradWeightSigma, 1e-5, "dσ_w");
    close(layer.biasMu.grad!.values, fx.gradBiasMu, 1e-5, "dμ_b");
    close(layer.biasSigma.grad!.values, fx.gradBiasSigma, 1e-5, "dσ_b");
    close(x.grad!.values, fx.gradX, 1e-5, "dx");
  });

  test("with noise off it is deterministic and uses μ only (PyTorch F.linear(x, μ_w, μ_b))", () => {
    const layer = fixtureLayer();
    layer.noise = false;
    const x = new Tensor(Float32Array.from(fx.x), [4, 3]);
    close(layer.forward(x).values, fx.yMean, 1e-5, "yMean");
    layer.resetNoise(new Rng(1));
    close(layer.forward(x).values, fx.yMean, 1e-5, "yMean after resetNoise");
  });

  test("gradients of μ and σ agree with central finite differences", () => {
    const layer = new NoisyLinear(3, 2, { rng: new Rng(11) });
    layer.resetNoise(new Rng(12));
    const x = new Tensor(Float32Array.from([0.3, -1.2, 0.8, 1.5, 0.1, -0.4]), [2, 3]);
    // a nonlinear scalar, sum(tanh(y)²), so the check is not trivially linear in the parameters
    assertGradientsMatchFiniteDifferences(
      () => ops.sum(ops.square(ops.tanh(layer.forward(x)))),
      [layer.weightMu, layer.weightSigma, layer.biasMu, layer.biasSigma],
      { step: 1e-2, rtol: 0, atol: 2e-3 },
    );
  });

  test("state dict holds μ, σ and the noise sample; noisyLayers finds nested layers", () => {
    const layer = new NoisyLinear(3, 2, { rng: new Rng(0) });
    assert.deepEqual(Object.keys(layer.stateDict()).sort(), [
      "biasMu",
      "biasSigma",
      "epsilonIn",
      "epsilonOut",
      "weightMu",
      "weightSigma",
    ]);
    assert.equal(layer.parameters().length, 4);
    assert.deepEqual(noisyLayers(layer), [layer]);
  });
});
