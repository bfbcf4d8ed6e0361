import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { tensor } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import { KL_ESTIMATORS, klEstimate, klEstimateValue, tokenKl } from "./kl.js";

describe("klEstimate() and klEstimateValue()", () => {
  test("give Schulman's k1, k2 and k3 on a worked token", () => {
    // by hand: logp -1, ref -1.5 → logr -0.5: k1 0.5, k2 0.125, k3 e^-0.5 - 1 + 0.5 = 0.10653
    const expected = { k1: 0.5, k2: 0.125, k3: Math.exp(-0.5) - 0.5 };
    for (const estimator of KL_ESTIMATORS) {
      assertClose([klEstimateValue(-1, -1.5, estimator)], [expected[estimator]], { atol: 1e-12 });
      assertClose(klEstimate(tensor([[-1]]), tensor([[-1.5]]), estimator).values, [expected[estimator]], {
        atol: 1e-6,
      });
    }
  });

  test("are 0 when the policy equals the reference", () => {
    for (const estimator of KL_ESTIMATORS) assert.ok(klEstimateValue(-2, -2, estimator) === 0); // k1 is -0
  });
});

describe("tokenKl()", () => {
  test("estimates on the masked tokens and leaves the others 0", () => {
    const kl = tokenKl(tensor([[-1, -2, -3]]), tensor([[-1.5, -2, 0]]), tensor([[1, 1, 0]]), "k1");
    assert.deepEqual(kl.shape, [1, 3]);
    assertClose(kl.values, [0.5, 0, 0], { rtol: 0 });
  });
});
