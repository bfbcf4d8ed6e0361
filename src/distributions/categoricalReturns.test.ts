import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Tensor } from "../tensor/tensor.js";
import { categoricalCrossEntropy, categoricalProjection, categoricalSupport } from "./categoricalReturns.js";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6, what = "") => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what} index ${i}: ${a[i]} vs ${b[i]}`);
};

// support [-1, -0.5, 0, 0.5, 1] (5 atoms, Δz = 0.5) for the hand-worked cases
const small = { atoms: 5, vMin: -1, vMax: 1 };

describe("categoricalSupport()", () => {
  test("is vMin + iΔz, ending exactly at vMax", () => {
    close(categoricalSupport(5, -1, 1), [-1, -0.5, 0, 0.5, 1]);
    assert.equal(categoricalSupport(51, -10, 10)[50], 10);
  });

  test("rejects fewer than 2 atoms and an empty range", () => {
    assert.throws(() => categoricalSupport(1, -1, 1), { code: "INVALID_OPTION" });
    assert.throws(() => categoricalSupport(5, 1, 1), { code: "INVALID_OPTION" });
  });
});

describe("categoricalProjection()", () => {
  test("mass landing exactly on an atom stays whole there (l = u)", () => {
    // by hand: r = 0.5, γ = 1, all mass at z = 0 → T̂z = 0.5, atom 3 exactly
    const m = categoricalProjection({
      nextProbs: [0, 0, 1, 0, 0],
      rewards: [0.5],
      dones: [0],
      gamma: 1,
      ...small,
    });
    close(m, [0, 0, 0, 1, 0]);
  });

  test("mass between atoms is split linearly by distance", () => {
    // by hand: r = 0.2, γ = 1, all mass at z = 0 → T̂z = 0.2, b = 2.4: 0.6 to atom 2, 0.4 to atom 3
    const m = categoricalProjection({
      nextProbs: [0, 0, 1, 0, 0],
      rewards: [0.2],
      dones: [0],
      gamma: 1,
      ...small,
    });
    close(m, [0, 0, 0.6, 0.4, 0]);
  });

  test("values outside the support are clipped to its bounds", () => {
    // by hand: r = 0.75, γ = 1, p = 0.5 at z = 0.5 and 0.5 at z = 1 → T̂z = 1.25, 1.75 → both clip to 1;
    // r = −3 sends everything to −1
    const m = categoricalProjection({
      nextProbs: [0, 0, 0, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2],
      rewards: [0.75, -3],
      dones: [0, 0],
      gamma: 1,
      ...small,
    });
    close(m, [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
  });

  test("done = 1 ignores the next distribution: all mass around r", () => {
    // by hand: r = −0.25 → b = 1.5: half to atom 1 (−0.5), half to atom 2 (0), whatever p is
    const m = categoricalProjection({
      nextProbs: [0.1, 0.2, 0.3, 0.2, 0.2],
      rewards: [-0.25],
      dones: [1],
      gamma: 0.9,
      ...small,
    });
    close(m, [0, 0.5, 0.5, 0, 0]);
  });

  test("n-step rows shrink the support by γ^k", () => {
    // by hand: γ = 0.5, k = 2 → γ^k = 0.25; all mass at z = 1, r = 0 → T̂z = 0.25, b = 2.5: half to atoms 2 and 3
    // (with k = 1: T̂z = 0.5 → atom 3 whole)
    const m = categoricalProjection({
      nextProbs: [0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
      rewards: [0, 0],
      dones: [0, 0],
      steps: [2, 1],
      gamma: 0.5,
      ...small,
    });
    close(m, [0, 0, 0.5, 0.5, 0, 0, 0, 0, 1, 0]);
  });

  test("keeps total probability 1 on every row", () => {
    const m = categoricalProjection({
      nextProbs: [0.1, 0.2, 0.3, 0.25, 0.15],
      rewards: [0.37],
      dones: [0],
      gamma: 0.93,
      ...small,
    });
    close([m.reduce((s, v) => s + v, 0)], [1]);
  });

  test("rejects mismatched shapes", () => {
    assert.throws(
      () => categoricalProjection({ nextProbs: [1, 0], rewards: [0], dones: [0], gamma: 1, ...small }),
      { code: "SHAPE_MISMATCH" },
    );
  });
});

// fixtures/torch/rainbow.json: scripts/fixtures/makeRainbowFixtures.py (torch 1.13, float64 from
// float32 inputs, seed 0). The target comes from Dopamine's formulation of the projection
// (Σ_j clip(1 − |T̂z_j − z_i|/Δz, 0, 1) p_j), an independent route to the same Algorithm 1.
const fx = (
  JSON.parse(readFileSync(new URL("../../fixtures/torch/rainbow.json", import.meta.url), "utf8")) as {
    c51: Record<string, number & number[]>;
  }
).c51;

describe("C51 projection and loss against PyTorch", () => {
  test("the projected target matches (terminal row, k = 3 rows, clipping at both bounds)", () => {
    const m = categoricalProjection({
      nextProbs: fx.nextProbs,
      rewards: fx.rewards,
      dones: fx.dones,
      steps: fx.steps,
      gamma: fx.gamma,
      atoms: fx.atoms,
      vMin: fx.vMin,
      vMax: fx.vMax,
    });
    close(m, fx.target, 1e-6, "target");
  });

  test("the importance-weighted cross-entropy, its per-row values and its gradient match", () => {
    const rows = fx.rewards.length;
    const logits = new Tensor(Float32Array.from(fx.logits), [rows, fx.atoms]).requireGrad();
    const { loss, perSample } = categoricalCrossEntropy(
      logits,
      fx.target,
      new Tensor(Float32Array.from(fx.weights), [rows]),
    );
    close([loss.item()], [fx.loss], 1e-5, "loss");
    close(perSample, fx.perSample, 1e-5, "perSample");
    loss.backward();
    close(logits.grad!.values, fx.gradLogits, 1e-6, "gradLogits");
  });

  test("unweighted: uniform logits over 2 atoms give ln 2", () => {
    const { loss } = categoricalCrossEntropy(new Tensor(new Float32Array([0, 0]), [1, 2]), [1, 0]);
    close([loss.item()], [Math.LN2]);
  });
});
