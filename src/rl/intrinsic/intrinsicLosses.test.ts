/**
 * ICM's and RND's losses and rewards against PyTorch (fixtures/torch/intrinsic.json,
 * scripts/fixtures/makeIntrinsicFixtures.py), RND's return normaliser against a re-implementation
 * of the paper's RewardForwardFilter + RunningMeanStd, a finite-difference check of the ICM
 * objective, and RND's combined advantages by hand.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { noGrad, Tensor, withBackend } from "../../tensor/tensor.js";
import { assertClose, finiteDifference } from "../../tensor/testing.js";
import { icmForwardLoss, icmIntrinsicReward, icmInverseLoss, icmLoss } from "./icm.js";
import { IntrinsicReturnNormalizer, resolveIntrinsicOptions } from "./intrinsicReward.js";
import { combineAdvantages } from "./intrinsicRollout.js";
import { rndIntrinsicReward, rndPredictorLoss } from "./rnd.js";

// torch 1.13, float64 from float32 inputs drawn with torch.Generator seed 0
const fx = JSON.parse(
  readFileSync(new URL("../../../fixtures/torch/intrinsic.json", import.meta.url), "utf8"),
) as {
  rnd: Record<string, number & number[]>;
  icm: Record<string, number & number[]>;
  returnNormalizer: { steps: number; numEnvs: number; gamma: number; rollouts: number[][]; stds: number[] };
};

const t = (values: number[], shape: number[]) => new Tensor(Float32Array.from(values), shape);

describe("RND losses", () => {
  const { batch, features } = fx.rnd;
  test("intrinsic reward mean_k (f̂ − f)² per row matches PyTorch", () => {
    const reward = rndIntrinsicReward(
      t(fx.rnd.predicted, [batch, features]),
      t(fx.rnd.target, [batch, features]),
    );
    assertClose(reward.values, fx.rnd.reward, { rtol: 1e-5 });
  });

  test("masked predictor loss and its gradient match PyTorch", () => {
    const predicted = t(fx.rnd.predicted, [batch, features]).requireGrad();
    const loss = rndPredictorLoss(predicted, t(fx.rnd.target, [batch, features]), t(fx.rnd.mask, [batch]));
    loss.backward();
    assertClose([loss.item()], [fx.rnd.loss], { rtol: 1e-5 });
    assertClose(predicted.grad!.values, fx.rnd.grad, { rtol: 1e-5, atol: 1e-7 });
  });

  test("an all-zero mask gives a zero loss, not NaN", () => {
    const loss = rndPredictorLoss(
      t(fx.rnd.predicted, [batch, features]),
      t(fx.rnd.target, [batch, features]),
      new Tensor(new Float32Array(batch), [batch]),
    );
    assert.equal(loss.item(), 0);
  });
});

describe("ICM losses", () => {
  const { batch, features, nActions } = fx.icm;
  test("curiosity reward η/2‖φ̂ − φ‖² per row matches PyTorch", () => {
    const reward = icmIntrinsicReward(
      t(fx.icm.predicted, [batch, features]),
      t(fx.icm.next, [batch, features]),
      fx.icm.eta,
    );
    assertClose(reward.values, fx.icm.reward, { rtol: 1e-5 });
  });

  test("(1 − β)L_I + βL_F over λ and its gradients (logits, φ̂, φ(s')) match PyTorch", () => {
    const logits = t(fx.icm.logits, [batch, nActions]).requireGrad();
    const predicted = t(fx.icm.predicted, [batch, features]).requireGrad();
    const next = t(fx.icm.next, [batch, features]).requireGrad();
    const inverse = icmInverseLoss(logits, new Tensor(Int32Array.from(fx.icm.actions), [batch]), "discrete");
    const forward = icmForwardLoss(predicted, next);
    const loss = icmLoss(inverse, forward, fx.icm.beta, fx.icm.policyWeight);
    loss.backward();
    assertClose([inverse.item()], [fx.icm.inverseLoss], { rtol: 1e-5 });
    assertClose([forward.item()], [fx.icm.forwardLoss], { rtol: 1e-5 });
    assertClose([loss.item()], [fx.icm.loss], { rtol: 1e-5 });
    assertClose(logits.grad!.values, fx.icm.gradLogits, { rtol: 1e-5, atol: 1e-6 });
    assertClose(predicted.grad!.values, fx.icm.gradPredicted, { rtol: 1e-5, atol: 1e-6 });
    assertClose(next.grad!.values, fx.icm.gradNext, { rtol: 1e-5, atol: 1e-6 });
  });

  test("Box inverse loss is the mean squared action error", () => {
    const loss = icmInverseLoss(t(fx.icm.boxPredicted, [batch, 2]), t(fx.icm.boxActions, [batch, 2]), "box");
    assertClose([loss.item()], [fx.icm.inverseLossBox], { rtol: 1e-5 });
  });

  test("finite differences: gradient of the ICM objective w.r.t. φ̂ and the logits", () => {
    withBackend("cpu", () => {
      const actions = new Tensor(Int32Array.from(fx.icm.actions), [batch]);
      const next = t(fx.icm.next, [batch, features]);
      const objective = (logits: Tensor, predicted: Tensor) =>
        icmLoss(icmInverseLoss(logits, actions, "discrete"), icmForwardLoss(predicted, next), 0.2, 0.1);
      const logits0 = Float32Array.from(fx.icm.logits);
      const predicted0 = Float32Array.from(fx.icm.predicted);
      const logits = new Tensor(logits0.slice(), [batch, nActions]).requireGrad();
      const predicted = new Tensor(predicted0.slice(), [batch, features]).requireGrad();
      objective(logits, predicted).backward();
      const value = (l: Float32Array, p: Float32Array) =>
        noGrad(() =>
          objective(
            new Tensor(l.slice(), [batch, nActions]),
            new Tensor(p.slice(), [batch, features]),
          ).item(),
        );
      assertClose(
        logits.grad!.values,
        finiteDifference((l) => value(l, predicted0), logits0, 1e-2),
        {
          rtol: 1e-2,
          atol: 2e-3,
        },
      );
      assertClose(
        predicted.grad!.values,
        finiteDifference((p) => value(logits0, p), predicted0, 1e-2),
        {
          rtol: 1e-2,
          atol: 2e-3,
        },
      );
    });
  });
});

describe("IntrinsicReturnNormalizer", () => {
  test("std of the non-episodic discounted intrinsic returns matches the RND code's filter", () => {
    const { numEnvs, gamma, rollouts, stds } = fx.returnNormalizer;
    const normalizer = new IntrinsicReturnNormalizer(gamma);
    rollouts.forEach((rewards, i) => {
      normalizer.update(Float32Array.from(rewards), numEnvs);
      assertClose([normalizer.std], [stds[i]], { rtol: 1e-5 });
    });
    const scaled = normalizer.scale(Float32Array.of(1, 2));
    assertClose(scaled, [1 / stds[1], 2 / stds[1]], { rtol: 1e-6 });
  });

  test("state round-trips", () => {
    const a = new IntrinsicReturnNormalizer(0.9);
    a.update(Float32Array.of(1, 2, 3, 4), 2);
    const b = new IntrinsicReturnNormalizer(0.9);
    b.restore(JSON.parse(JSON.stringify(a.toJSON())));
    a.update(Float32Array.of(5, 6), 2);
    b.update(Float32Array.of(5, 6), 2);
    assert.equal(a.std, b.std);
  });
});

describe("combineAdvantages()", () => {
  test("A = c_ext·A_ext + c_int·A_int (by hand: 2·1 + 1·0.5 = 2.5)", () => {
    assert.deepEqual(
      Array.from(combineAdvantages(Float32Array.of(1, -2), Float32Array.of(0.5, 3), 2, 1)),
      [2.5, -1],
    );
  });
});

describe("resolveIntrinsicOptions()", () => {
  test('"none" and no options build nothing', () => {
    assert.equal(resolveIntrinsicOptions(undefined), null);
    assert.equal(resolveIntrinsicOptions({ type: "none", coef: 3 }), null);
  });

  test("paper defaults: RND c_ext 2, c_int 1, γ_int 0.99, 25%; ICM β 0.2, λ 0.1, lr 1e-3", () => {
    const rnd = resolveIntrinsicOptions({ type: "rnd" })!;
    assert.deepEqual(
      [rnd.extrinsicCoef, rnd.coef, rnd.gammaIntrinsic, rnd.updateProportion, rnd.learningRate],
      [2, 1, 0.99, 0.25, 1e-4],
    );
    const icm = resolveIntrinsicOptions({ type: "icm" })!;
    assert.deepEqual(
      [icm.beta, icm.policyWeight, icm.learningRate, icm.headHiddenSize],
      [0.2, 0.1, 1e-3, 256],
    );
  });

  test("bad values fail with INVALID_OPTION naming the field", () => {
    assert.throws(() => resolveIntrinsicOptions({ type: "curiosity" as never }), { code: "INVALID_OPTION" });
    assert.throws(() => resolveIntrinsicOptions({ type: "rnd", updateProportion: 0 }), /updateProportion/);
    assert.throws(() => resolveIntrinsicOptions({ type: "icm", beta: 1.5 }), /beta/);
    assert.throws(() => resolveIntrinsicOptions({ type: "rnd", coef: -1 }), /coef/);
  });
});
