import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Categorical } from "../../../distributions/categorical.js";
import { DiagGaussian } from "../../../distributions/diagGaussian.js";
import { Tensor, tensor } from "../../../tensor/tensor.js";
import { assertClose } from "../../../tensor/testing.js";
import { meanSquaredActionLoss, negativeLogLikelihoodLoss } from "./cloningLosses.js";

// fixtures/torch/imitation.json: scripts/fixtures/makeImitationFixtures.py, torch 1.13 in float64
// from float32 inputs (seed 0): F.cross_entropy, Independent(Normal) log_prob, F.mse_loss
const fx = JSON.parse(
  readFileSync(new URL("../../../../fixtures/torch/imitation.json", import.meta.url), "utf8"),
) as {
  crossEntropy: { logits: number[]; targets: number[]; entCoef: number; loss: number; gradLogits: number[] };
  gaussian: Record<string, number & number[]>;
};

describe("negativeLogLikelihoodLoss()", () => {
  test("on a Categorical: cross-entropy minus c·entropy, and its gradient, match PyTorch", () => {
    const c = fx.crossEntropy;
    const logits = tensor(Float32Array.from(c.logits), [6, 4]).requireGrad();
    const distribution = new Categorical(logits);
    const actions = new Tensor(Int32Array.from(c.targets), [6]);
    const loss = negativeLogLikelihoodLoss(distribution.logProb(actions), distribution.entropy(), c.entCoef);
    loss.backward();
    assertClose([loss.item()], [c.loss], { rtol: 1e-5 });
    assertClose(logits.grad!.values, c.gradLogits, { rtol: 1e-4, atol: 1e-7 });
  });

  test("on a diagonal Gaussian: negative log-likelihood minus c·entropy and gradients match PyTorch", () => {
    const g = fx.gaussian;
    const mean = tensor(Float32Array.from(g.mean), [5, 3]).requireGrad();
    const logStd = tensor(Float32Array.from(g.logStd), [3]).requireGrad();
    const distribution = new DiagGaussian(mean, logStd);
    const actions = tensor(Float32Array.from(g.actions), [5, 3]);
    const loss = negativeLogLikelihoodLoss(distribution.logProb(actions), distribution.entropy(), g.entCoef);
    loss.backward();
    assertClose([loss.item()], [g.loss], { rtol: 1e-5 });
    assertClose(mean.grad!.values, g.gradMean, { rtol: 1e-4, atol: 1e-7 });
    assertClose(logStd.grad!.values, g.gradLogStd, { rtol: 1e-4, atol: 1e-7 });
  });

  test("by hand: entCoef 0 is −mean log π", () => {
    // −(log 0.5 + log 0.25) / 2
    const loss = negativeLogLikelihoodLoss(tensor([Math.log(0.5), Math.log(0.25)]), tensor([9, 9]), 0);
    assertClose([loss.item()], [-(Math.log(0.5) + Math.log(0.25)) / 2], { rtol: 1e-6 });
  });
});

describe("meanSquaredActionLoss()", () => {
  test("matches PyTorch's mse_loss and its gradient", () => {
    const g = fx.gaussian;
    const mean = tensor(Float32Array.from(g.mean), [5, 3]).requireGrad();
    const loss = meanSquaredActionLoss(mean, tensor(Float32Array.from(g.actions), [5, 3]));
    loss.backward();
    assertClose([loss.item()], [g.mse], { rtol: 1e-5 });
    assertClose(mean.grad!.values, g.gradMeanMse, { rtol: 1e-4, atol: 1e-7 });
  });
});
