import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Rng } from "../../random/rng.js";
import * as ops from "../../tensor/ops.js";
import { noGrad, Tensor, withBackend } from "../../tensor/tensor.js";
import { assertClose, finiteDifference, randomNormal } from "../../tensor/testing.js";
import {
  clippedDoubleQTargets,
  continuousCriticLoss,
  deterministicActorLoss,
  entCoefLoss,
  polyakUpdate,
  sacActorLoss,
  smoothTargetActions,
  squashedGaussianLogProb,
  squashedGaussianSample,
  tanhLogDetJacobian,
} from "./continuousLosses.js";

// fixtures/torch/continuous.json: scripts/fixtures/makeContinuousFixtures.py, torch 1.13 in float64
// from float32 inputs (seed 0): SB3's TD3/SAC targets and losses, the squashed Gaussian, Polyak.
const fx = (
  JSON.parse(readFileSync(new URL("../../../fixtures/torch/continuous.json", import.meta.url), "utf8")) as {
    continuous: Record<string, number & number[] & number[][]>;
  }
).continuous;

const f32 = (values: number[], shape: number[]) => new Tensor(Float32Array.from(values), shape);

describe("clippedDoubleQTargets()", () => {
  test("by hand: r + γ^k (1 − done)(min_j Q'_j − α log π)", () => {
    // 1 + 0.9·min(2, 3) = 2.8; terminal row: 1; 0 + 0.9²·(min(4, 5) − 0.5·2) = 2.43
    const y = clippedDoubleQTargets({
      rewards: [1, 1, 0],
      dones: [0, 1, 0],
      steps: [1, 1, 2],
      nextQ: [
        [2, 5, 4],
        [3, 4, 5],
      ],
      nextLogProb: [0, 0, 2],
      entCoef: 0.5,
      gamma: 0.9,
    });
    assertClose(y, [2.8, 1, 2.43], { rtol: 1e-6 });
  });

  test("TD3 and SAC targets match PyTorch (n-step γ^k, a terminal row)", () => {
    const base = { rewards: fx.rewards, dones: fx.dones, steps: fx.steps, gamma: fx.gamma };
    assertClose(clippedDoubleQTargets({ ...base, nextQ: [fx.nextQ1, fx.nextQ2] }), fx.td3Target, {
      rtol: 1e-6,
      atol: 1e-6,
    });
    const sac = clippedDoubleQTargets({
      ...base,
      nextQ: [fx.nextQ1, fx.nextQ2],
      nextLogProb: fx.nextLogProb,
      entCoef: fx.alpha,
    });
    assertClose(sac, fx.sacTarget, { rtol: 1e-6, atol: 1e-6 });
  });

  test("one critic (DDPG) uses it as is; mismatched sizes are refused", () => {
    assertClose(clippedDoubleQTargets({ rewards: [1], dones: [0], nextQ: [[-2]], gamma: 0.5 }), [0]);
    assert.throws(() => clippedDoubleQTargets({ rewards: [1, 2], dones: [0, 0], nextQ: [[1]], gamma: 0.5 }), {
      code: "SHAPE_MISMATCH",
    });
  });
});

describe("smoothTargetActions()", () => {
  test("matches PyTorch: clip(a' + clip(σ n, −c, c), −1, 1)", () => {
    const out = smoothTargetActions(fx.nextActions, fx.normals, fx.policyNoise, fx.noiseClip);
    assertClose(out, fx.smoothed, { rtol: 1e-6, atol: 1e-7 });
  });

  test("by hand: the noise is clipped to ±c, the action to [−1, 1]", () => {
    // 0.5 + clip(0.2·10, −0.5, 0.5) = 1.0; 0.9 + 0.2·1 → clipped to 1; −0.2 + 0.2·(−1) = −0.4
    assertClose(smoothTargetActions([0.5, 0.9, -0.2], [10, 1, -1], 0.2, 0.5), [1, 1, -0.4], { rtol: 1e-6 });
  });
});

describe("continuousCriticLoss()", () => {
  for (const [name, scale, loss, grads] of [
    ["TD3 (Σ_j mse)", 1, fx.criticLossTd3, fx.criticGradTd3],
    ["SAC (½ Σ_j mse)", 0.5, fx.criticLossSac, fx.criticGradSac],
  ] as const) {
    test(`${name} and its gradients match PyTorch`, () => {
      const target = scale === 1 ? fx.td3Target : fx.sacTarget;
      const q1 = f32(fx.q1, [fx.batch]).requireGrad();
      const q2 = f32(fx.q2, [fx.batch]).requireGrad();
      const l = continuousCriticLoss([q1, q2], f32(target, [fx.batch]), scale);
      l.backward();
      assertClose([l.item()], [loss], { rtol: 1e-5 });
      assertClose(q1.grad!.values, grads[0], { rtol: 1e-5, atol: 1e-6 });
      assertClose(q2.grad!.values, grads[1], { rtol: 1e-5, atol: 1e-6 });
    });
  }
});

describe("actor losses", () => {
  test("deterministic: −mean Q_1, gradient −1/B each", () => {
    const q = new Tensor(Float32Array.of(1, 2, 6), [3]).requireGrad();
    const l = deterministicActorLoss(q);
    l.backward();
    assertClose([l.item()], [-3]);
    assertClose(q.grad!.values, [-1 / 3, -1 / 3, -1 / 3]);
  });

  test("SAC: mean(α log π − min_j Q_j) and its gradients match PyTorch", () => {
    const lp = f32(fx.logProbPi, [fx.batch]).requireGrad();
    const q1 = f32(fx.qPi1, [fx.batch]).requireGrad();
    const q2 = f32(fx.qPi2, [fx.batch]).requireGrad();
    const l = sacActorLoss(lp, [q1, q2], fx.alpha);
    l.backward();
    assertClose([l.item()], [fx.actorLoss], { rtol: 1e-5 });
    assertClose(lp.grad!.values, fx.actorGrads[0], { rtol: 1e-5, atol: 1e-7 });
    assertClose(q1.grad!.values, fx.actorGrads[1], { rtol: 1e-5, atol: 1e-7 });
    assertClose(q2.grad!.values, fx.actorGrads[2], { rtol: 1e-5, atol: 1e-7 });
  });

  test("temperature: −mean log α (log π + H̄) and ∂/∂ log α match PyTorch", () => {
    const logAlpha = new Tensor(Float32Array.of(fx.logAlpha), [1]).requireGrad();
    const l = entCoefLoss(logAlpha, fx.logProbPi, fx.targetEntropy);
    l.backward();
    assertClose([l.item()], [fx.entCoefLoss], { rtol: 1e-5 });
    assertClose(logAlpha.grad!.values, [fx.entCoefGrad], { rtol: 1e-5 });
  });
});

describe("squashed Gaussian", () => {
  const b = fx.batch;
  const d = fx.actionDim;
  const eps = Float32Array.from(fx.eps);
  const lossOf = (mean: Tensor, logStd: Tensor) => {
    const { actions, logProb } = squashedGaussianSample(mean, logStd, eps);
    const w = f32(fx.w, [d]);
    return ops.mean(ops.sub(ops.mul(logProb, fx.alpha), ops.sum(ops.mul(actions, w), -1)));
  };

  test("actions, log π (tanh correction, log σ clamped to [−20, 2]) and gradients match PyTorch", () => {
    const mean = f32(fx.mean, [b, d]).requireGrad();
    const logStd = f32(fx.logStd, [b, d]).requireGrad();
    const { actions, logProb } = squashedGaussianSample(mean, logStd, eps);
    assertClose(actions.values, fx.actions, { rtol: 1e-6, atol: 1e-7 });
    // row 1 has σ = e⁻²⁰: log N ≈ 19, so 1e-6 relative is float32's resolution there
    assertClose(logProb.values, fx.logProb, { rtol: 2e-6, atol: 2e-5 });
    const l = lossOf(mean, logStd);
    l.backward();
    assertClose([l.item()], [fx.squashedLoss], { rtol: 1e-5 });
    assertClose(mean.grad!.values, fx.gradMean, { rtol: 1e-4, atol: 1e-6 });
    assertClose(logStd.grad!.values, fx.gradLogStd, { rtol: 1e-4, atol: 1e-6 });
    // the clamped entries get no gradient (log σ = 3 and −25)
    assert.equal(Math.abs(logStd.grad!.values[0]), 0);
    assert.equal(Math.abs(logStd.grad!.values[3]), 0);
  });

  test("the exact correction stays finite where tanh(u) rounds to ±1, unlike log(1 − tanh²)", () => {
    // by hand: log(1 − tanh(u)²) → 2 log 2 − 2|u| for large |u|; at u = ±20: 1.3863 − 40
    const u = new Tensor(Float32Array.of(20, -20, 0), [3, 1]);
    const exact = tanhLogDetJacobian(u).values;
    assertClose(exact, [2 * Math.LN2 - 40, 2 * Math.LN2 - 40, 0], { rtol: 1e-6, atol: 1e-6 });
    const naive = noGrad(() => ops.log(ops.sub(1, ops.square(ops.tanh(u)))).values);
    assert.equal(naive[0], Number.NEGATIVE_INFINITY);
    // row 5 has u ≈ 9: SB3's +1e-6 floors the correction, the exact form does not (the fixture's logProbSb3)
    assert.ok(Math.abs(fx.logProb[5] - fx.logProbSb3[5]) > 1);
  });

  test("the general log-density agrees with the sampled one away from tiny σ", () => {
    const mean = f32(fx.mean, [b, d]);
    const logStd = ops.clamp(f32(fx.logStd, [b, d]), -20, 2);
    const u = ops.add(mean, ops.mul(ops.exp(logStd), new Tensor(eps, [b, d])));
    const general = squashedGaussianLogProb(u, mean, logStd).values;
    for (const row of [0, 2, 3, 4, 5])
      assertClose([general[row]], [fx.logProb[row]], { rtol: 1e-5, atol: 1e-4 });
  });

  test("finite differences: ∂/∂μ and ∂/∂ log σ of the squashed-Gaussian loss", () => {
    withBackend("cpu", () => {
      const rng = new Rng(3);
      const mean0 = randomNormal(rng, b * d);
      const logStd0 = randomNormal(rng, b * d, 0.5, -0.5);
      const mean = new Tensor(mean0.slice(), [b, d]).requireGrad();
      const logStd = new Tensor(logStd0.slice(), [b, d]).requireGrad();
      lossOf(mean, logStd).backward();
      const value = (m: Float32Array, s: Float32Array) =>
        noGrad(() => lossOf(new Tensor(m.slice(), [b, d]), new Tensor(s.slice(), [b, d])).item());
      const fdMean = finiteDifference((m) => value(m, logStd0), mean0, 1e-2);
      const fdStd = finiteDifference((s) => value(mean0, s), logStd0, 1e-2);
      assertClose(mean.grad!.values, fdMean, { rtol: 1e-2, atol: 2e-3 });
      assertClose(logStd.grad!.values, fdStd, { rtol: 1e-2, atol: 2e-3 });
    });
  });
});

describe("polyakUpdate()", () => {
  test("θ' ← (1 − τ) θ' + τ θ matches SB3's float32 polyak_update", () => {
    const online = f32(fx.polyakOnline, [8]);
    const target = f32(fx.polyakTarget, [8]);
    polyakUpdate([["w", online]], [["w", target]], fx.tau);
    assertClose(target.values, fx.polyakUpdated, { rtol: 1e-6, atol: 1e-7 });
  });

  test("τ = 1 copies; a target of another architecture is refused", () => {
    const online = new Tensor(Float32Array.of(1, 2), [2]);
    const target = new Tensor(Float32Array.of(5, 6), [2]);
    polyakUpdate([["w", online]], [["w", target]], 1);
    assert.deepEqual(Array.from(target.values), [1, 2]);
    assert.throws(() => polyakUpdate([["w", online]], [["v", target]], 0.5), { code: "SHAPE_MISMATCH" });
  });
});
