import { describe, test } from "node:test";
import { Tensor, zeros } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import { sftLoss } from "./loss.js";

describe("sftLoss()", () => {
  test("is ln(vocab) under uniform logits and counts only response tokens", () => {
    const inputIds = new Tensor(Int32Array.from([1, 2, 3, 0]), [1, 4], "int32");
    // by hand: uniform over 5 tokens → -log(1/5) = ln 5 per scored token, whatever the mask covers
    const mask = new Tensor(Float32Array.from([0, 0, 1, 1]), [1, 4]);
    assertClose([sftLoss(zeros([1, 4, 5]), inputIds, mask).item()], [Math.log(5)], { rtol: 1e-6 });
  });

  test("is the mean -log p of the response tokens predicted by the previous position", () => {
    // vocab 2; position 0 predicts token 1 with p = σ(2), position 1 predicts token 0 with p = σ(1)
    const logits = new Tensor(Float32Array.from([0, 2, 1, 0, 0, 0]), [1, 3, 2]);
    const inputIds = new Tensor(Int32Array.from([0, 1, 0]), [1, 3], "int32");
    const mask = new Tensor(Float32Array.from([0, 1, 1]), [1, 3]);
    const softplus = (x: number) => Math.log1p(Math.exp(x));
    const expected = (softplus(-2) + softplus(-1)) / 2; // -log σ(z) = softplus(-z)
    assertClose([sftLoss(logits, inputIds, mask).item()], [expected], { rtol: 1e-6 });
  });
});
