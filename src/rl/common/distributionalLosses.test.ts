import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import * as categoricalReturns from "../../distributions/categoricalReturns.js";
import { Tensor } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import {
  categoricalMeans,
  distributionalActorLoss,
  distributionalCriticLoss,
} from "./distributionalLosses.js";

// fixtures/torch/d4pg.json: scripts/fixtures/makeD4pgFixtures.py (torch 1.13, float64 from float32
// inputs, seed 0), with its own vectorised C51 projection written independently of ours.
interface Fixture {
  critic: {
    batch: number;
    atoms: number;
    gamma: number;
    vMin: number;
    vMax: number;
    logits: number[];
    nextProbs: number[];
    rewards: number[];
    dones: number[];
    steps: number[];
    weights: number[];
    target: number[];
    perSample: number[];
    loss: number;
    gradLogits: number[];
  };
  actor: { batch: number; support: number[]; logits: number[]; loss: number; gradLogits: number[] };
}
const fx = JSON.parse(
  readFileSync(new URL("../../../fixtures/torch/d4pg.json", import.meta.url), "utf8"),
) as Fixture;

describe("distributionalCriticLoss()", () => {
  test("matches PyTorch: projected target, per-sample CE, weighted loss and its gradient", () => {
    const c = fx.critic;
    const logits = new Tensor(Float32Array.from(c.logits), [c.batch, c.atoms]).requireGrad();
    const { loss, perSample, target } = distributionalCriticLoss({
      logits,
      nextProbs: Float32Array.from(c.nextProbs),
      rewards: c.rewards,
      dones: c.dones,
      steps: c.steps,
      gamma: c.gamma,
      vMin: c.vMin,
      vMax: c.vMax,
      weights: new Tensor(Float32Array.from(c.weights), [c.batch]),
    });
    assertClose(target, c.target, { rtol: 1e-5, atol: 1e-6, label: "target" });
    assertClose(perSample, c.perSample, { rtol: 1e-5, atol: 1e-6, label: "perSample" });
    assertClose([loss.item()], [c.loss], { rtol: 1e-5, label: "loss" });
    loss.backward();
    assertClose(logits.grad!.values, c.gradLogits, { rtol: 1e-4, atol: 1e-6, label: "grad" });
  });

  test("uses C51's projection (the one categoricalReturns exports), not a copy", () => {
    const c = fx.critic;
    const expected = categoricalReturns.categoricalProjection({
      nextProbs: c.nextProbs,
      rewards: c.rewards,
      dones: c.dones,
      steps: c.steps,
      gamma: c.gamma,
      atoms: c.atoms,
      vMin: c.vMin,
      vMax: c.vMax,
    });
    const { target } = distributionalCriticLoss({
      logits: new Tensor(Float32Array.from(c.logits), [c.batch, c.atoms]),
      nextProbs: c.nextProbs,
      rewards: c.rewards,
      dones: c.dones,
      steps: c.steps,
      gamma: c.gamma,
      vMin: c.vMin,
      vMax: c.vMax,
    });
    assert.deepEqual(Array.from(target), Array.from(expected));
    // and the source says so: no second projection in rl/common
    const source = readFileSync(
      new URL("../../../src/rl/common/distributionalLosses.ts", import.meta.url),
      "utf8",
    );
    assert.match(
      source,
      /import \{[^}]*categoricalProjection[^}]*\} from "..\/..\/distributions\/categoricalReturns.js"/s,
    );
    assert.doesNotMatch(source, /Math\.floor/);
  });

  test("by hand: a terminal r = 0.5 on [-1, 0, 1] splits half-half between 0 and 1", () => {
    const logits = new Tensor(new Float32Array([0, 0, 0]), [1, 3]);
    const { target, perSample } = distributionalCriticLoss({
      logits,
      nextProbs: [1, 0, 0],
      rewards: [0.5],
      dones: [1],
      gamma: 0.99,
      vMin: -1,
      vMax: 1,
    });
    assert.deepEqual(Array.from(target), [0, 0.5, 0.5]);
    assertClose(perSample, [Math.log(3)], { rtol: 1e-6 });
  });

  test("refuses logits that are not [batch, atoms]", () => {
    assert.throws(
      () =>
        distributionalCriticLoss({
          logits: new Tensor(new Float32Array(3), [3]),
          nextProbs: [1, 0, 0],
          rewards: [0],
          dones: [0],
          gamma: 0.9,
          vMin: -1,
          vMax: 1,
        }),
      /\[batch, atoms\]/,
    );
  });
});

describe("distributionalActorLoss()", () => {
  test("matches PyTorch: −mean Σ z_i softmax(logits)_i and its gradient", () => {
    const a = fx.actor;
    const n = a.support.length;
    const logits = new Tensor(Float32Array.from(a.logits), [a.batch, n]).requireGrad();
    const loss = distributionalActorLoss(logits, a.support);
    assertClose([loss.item()], [a.loss], { rtol: 1e-5, label: "loss" });
    loss.backward();
    assertClose(logits.grad!.values, a.gradLogits, { rtol: 1e-4, atol: 1e-6, label: "grad" });
  });

  test("equals −mean of categoricalMeans", () => {
    const probs = [0.2, 0.3, 0.5, 1, 0, 0];
    const logits = new Tensor(Float32Array.from(probs.map((p) => Math.log(Math.max(p, 1e-30)))), [2, 3]);
    const q = categoricalMeans(probs, [-1, 0, 2]);
    assertClose(q, [0.8, -1], { rtol: 1e-12 });
    assertClose([distributionalActorLoss(logits, [-1, 0, 2]).item()], [-(0.8 - 1) / 2], { rtol: 1e-5 });
  });

  test("refuses a support of the wrong length", () => {
    assert.throws(
      () => distributionalActorLoss(new Tensor(new Float32Array(4), [2, 2]), [0, 1, 2]),
      /one column per atom/,
    );
  });
});
