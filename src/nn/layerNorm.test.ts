import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mul } from "../tensor/ops.js";
import { withBackend } from "../tensor/tensor.js";
import { assertClose, TEST_BACKENDS } from "../tensor/testing.js";
import { LayerNorm } from "./layerNorm.js";
import { fromFixture, loadFixture } from "./testing.js";

for (const backend of TEST_BACKENDS) {
  describe(`LayerNorm (${backend})`, () => {
    test("forward and gradients match torch.nn.LayerNorm(6) (torch 1.13 float32)", () => {
      withBackend(backend, () => {
        const c = loadFixture().layerNorm;
        const norm = new LayerNorm(6);
        norm.loadStateDict({ weight: fromFixture(c.weight), bias: fromFixture(c.bias) });
        const x = fromFixture(c.x).requireGrad();
        const out = norm.forward(x);
        assertClose(out.values, c.output.values, { rtol: 1e-5, atol: 1e-6, label: "output" });
        mul(out, fromFixture(c.r)).sum().backward();
        assertClose(x.grad!.values, c.gradX.values, { rtol: 1e-5, atol: 1e-6, label: "gradX" });
        assertClose(norm.weight.grad!.values, c.gradWeight.values, {
          rtol: 1e-5,
          atol: 1e-6,
          label: "gradWeight",
        });
        assertClose(norm.bias.grad!.values, c.gradBias.values, { rtol: 1e-5, atol: 1e-6, label: "gradBias" });
      });
    });
  });
}

describe("LayerNorm options", () => {
  test("elementwiseAffine: false has no parameters", () => {
    assert.equal(new LayerNorm(4, { elementwiseAffine: false }).numParameters(), 0);
  });
});
