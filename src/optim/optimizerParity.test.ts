import { describe, test } from "node:test";
import { fixtureProblem, loadFixture, type OptimizerCase } from "../nn/testing.js";
import type { Tensor } from "../tensor/tensor.js";
import { withBackend } from "../tensor/tensor.js";
import { assertClose, TEST_BACKENDS } from "../tensor/testing.js";
import { Adam, AdamW } from "./adam.js";
import type { Optimizer } from "./optimizer.js";
import { RMSprop } from "./rmsprop.js";
import { SGD } from "./sgd.js";

// Ten steps of each optimizer on the fixture's MLP, against torch 1.13 float32
// (scripts/fixtures/makeNnOptimFixtures.py). Gradients come from our engine, so this checks the
// forward, the backward and the update rule together.

// biome-ignore lint/suspicious/noExplicitAny: options come from JSON
function build(c: OptimizerCase, params: Tensor[]): Optimizer<any> {
  switch (c.class) {
    case "SGD":
      return new SGD(params, c.options);
    case "Adam":
      return new Adam(params, c.options);
    case "AdamW":
      return new AdamW(params, c.options);
    case "RMSprop":
      return new RMSprop(params, c.options);
    default:
      c.class satisfies never;
      throw new Error(`unknown optimizer ${c.class as string}`);
  }
}

for (const backend of TEST_BACKENDS) {
  describe(`optimizers vs torch 1.13 (${backend})`, () => {
    for (const [name, c] of Object.entries(loadFixture().optimizers)) {
      test(`${name}: parameters after each of ${c.params.length} steps match to 1e-5`, () => {
        withBackend(backend, () => {
          const { model, loss } = fixtureProblem();
          const optimizer = build(c, model.parameters());
          const named = model.namedParameters();
          c.params.forEach((expected, step) => {
            optimizer.zeroGrad();
            loss().backward();
            optimizer.step();
            for (const [paramName, p] of named) {
              assertClose(p.values, expected[paramName], {
                rtol: 1e-5,
                atol: 1e-6,
                label: `${name} step ${step + 1} ${paramName}`,
              });
            }
          });
        });
      });
    }
  });
}
