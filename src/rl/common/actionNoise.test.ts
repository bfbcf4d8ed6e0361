import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Box } from "../../envs/spaces/box.js";
import { Rng } from "../../random/rng.js";
import { ActionNoise } from "./actionNoise.js";
import { checkBoundedBox, scaleAction, unscaleAction } from "./actionScaling.js";

describe("ActionNoise", () => {
  test("Ornstein-Uhlenbeck follows x ← x − θ x dt + σ √dt n with the generator's draws", () => {
    const noise = new ActionNoise({ type: "ornstein-uhlenbeck", sigma: 0.5, theta: 0.15, dt: 0.01 }, 1, 2);
    const rng = new Rng(4);
    const draws = new Rng(4);
    let x = [0, 0];
    for (let t = 0; t < 5; t++) {
      const out = noise.sample(rng, 1);
      x = x.map((v) => v - 0.15 * v * 0.01 + 0.5 * Math.sqrt(0.01) * draws.normal());
      for (let k = 0; k < 2; k++)
        assert.ok(Math.abs(out[k] - x[k]) < 1e-6, `step ${t}: ${out[k]} vs ${x[k]}`);
    }
  });

  test("Ornstein-Uhlenbeck: stationary mean 0, variance σ² dt / (1 − (1 − θ dt)²), lag-1 correlation 1 − θ dt", () => {
    // AR(1) with coefficient φ = 1 − θ dt = 0.5 (θ = 50, dt = 0.01) so the chain mixes in a few steps;
    // stationary variance σ² dt / (1 − φ²) = 0.01 · 0.04 / 0.75 = 5.333e-4 (σ = 0.2)
    const noise = new ActionNoise({ type: "ornstein-uhlenbeck", sigma: 0.2, theta: 50, dt: 0.01 }, 1, 1);
    const rng = new Rng(0);
    for (let t = 0; t < 100; t++) noise.sample(rng, 1);
    const n = 100_000;
    const xs = new Float64Array(n);
    for (let t = 0; t < n; t++) xs[t] = noise.sample(rng, 1)[0];
    let mean = 0;
    for (const v of xs) mean += v / n;
    let variance = 0;
    let lag = 0;
    for (let t = 0; t < n; t++) {
      variance += (xs[t] - mean) ** 2 / n;
      if (t > 0) lag += ((xs[t] - mean) * (xs[t - 1] - mean)) / (n - 1);
    }
    const expected = (0.04 * 0.01) / 0.75;
    // standard errors at n = 1e5 with φ = 0.5: mean ≈ 1.3e-4, variance ≈ 1%, correlation ≈ 0.3%
    assert.ok(Math.abs(mean) < 5e-4, `mean ${mean}`);
    assert.ok(Math.abs(variance / expected - 1) < 0.05, `variance ${variance} vs ${expected}`);
    assert.ok(Math.abs(lag / variance - 0.5) < 0.02, `lag-1 correlation ${lag / variance}`);
  });

  test("reset zeroes only the envs whose episode ended; state round-trips", () => {
    const noise = new ActionNoise({ type: "ornstein-uhlenbeck", sigma: 1 }, 2, 2);
    const rng = new Rng(1);
    for (let t = 0; t < 10; t++) noise.sample(rng, 1);
    noise.reset(Uint8Array.of(1, 0));
    const state = noise.state();
    assert.deepEqual(state.slice(0, 2), [0, 0]);
    assert.ok(state[2] !== 0 && state[3] !== 0);
    const copy = new ActionNoise({ type: "ornstein-uhlenbeck", sigma: 1 }, 2, 2);
    copy.loadState(state);
    assert.deepEqual(copy.sample(new Rng(9), 1), noise.sample(new Rng(9), 1));
    assert.throws(() => copy.loadState([1, 2]), { code: "MALFORMED_FILE" });
  });

  test("Gaussian noise has standard deviation σ; σ anneals linearly to finalSigma over sigmaFraction", () => {
    const noise = new ActionNoise({ type: "normal", sigma: 0.3, finalSigma: 0.1, sigmaFraction: 0.5 }, 1, 1);
    const rng = new Rng(2);
    let s2 = 0;
    const n = 50_000;
    for (let t = 0; t < n; t++) s2 += noise.sample(rng, 1)[0] ** 2 / n;
    assert.ok(Math.abs(Math.sqrt(s2) - 0.3) < 0.005, `std ${Math.sqrt(s2)}`);
    // by hand: a quarter of the way (half the fraction) σ = 0.2; after the fraction 0.1
    assert.ok(Math.abs(noise.sigmaAt(0.75) - 0.2) < 1e-12);
    assert.equal(noise.sigmaAt(0.4), 0.1);
  });

  test("bad options fail with the fix", () => {
    assert.throws(() => new ActionNoise({ type: "uniform" as never, sigma: 1 }, 1, 1), {
      code: "INVALID_OPTION",
    });
    assert.throws(() => new ActionNoise({ type: "normal", sigma: -1 }, 1, 1), { code: "INVALID_OPTION" });
    assert.throws(() => new ActionNoise({ type: "normal", sigma: 1, sigmaFraction: 0 }, 1, 1), {
      code: "INVALID_OPTION",
    });
  });
});

describe("action scaling (SB3 scale_action / unscale_action)", () => {
  const space = new Box([-2, 0], [2, 10]);

  test("by hand: low → −1, high → 1, the middle → 0", () => {
    assert.deepEqual(Array.from(scaleAction([-2, 0, 2, 10, 0, 5], space)), [-1, -1, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(unscaleAction([-1, -1, 1, 1, 0, 0], space)), [-2, 0, 2, 10, 0, 5]);
  });

  test("round trip env units → [−1, 1] → env units", () => {
    const rng = new Rng(0);
    const actions = new Float32Array(200);
    for (let i = 0; i < 200; i++) actions[i] = i % 2 === 0 ? rng.uniform(-2, 2) : rng.uniform(0, 10);
    const back = unscaleAction(scaleAction(actions, space), space);
    for (let i = 0; i < 200; i++)
      assert.ok(Math.abs(back[i] - actions[i]) < 2e-6, `${back[i]} vs ${actions[i]}`);
  });

  test("unbounded boxes are refused with the fix", () => {
    assert.throws(() => checkBoundedBox(new Box(-Infinity, Infinity, [2]), "TD3"), {
      code: "UNSUPPORTED_SPACE",
    });
  });
});
