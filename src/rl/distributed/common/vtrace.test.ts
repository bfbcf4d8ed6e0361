import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ProximalError } from "../../../errors.js";
import { assertClose } from "../../../tensor/testing.js";
import { computeGae } from "../../common/gae.js";
import { computeVtrace } from "./vtrace.js";

// fixtures/torch/vtrace.json: scripts/fixtures/makeVtraceFixtures.py sums eq. 1 of the paper
// explicitly (not the recursion used here) on 2 envs x 8 steps with episode ends in the middle and on
// the last step, once with the paper's ρ̄ = c̄ = 1 and once with every knob away from 1.
interface VtraceCase {
  gamma: number;
  rhoBar: number;
  cBar: number;
  pgRhoBar: number;
  lambda: number;
  vs: number[];
  pgAdvantages: number[];
  ratios: number[];
}
const fixture = JSON.parse(
  readFileSync(new URL("../../../../fixtures/torch/vtrace.json", import.meta.url), "utf8"),
) as {
  numEnvs: number;
  behaviourLogProbs: number[];
  targetLogProbs: number[];
  rewards: number[];
  values: number[];
  dones: number[];
  bootstrapValues: number[];
  cases: VtraceCase[];
};

const inputs = {
  behaviourLogProbs: Float32Array.from(fixture.behaviourLogProbs),
  targetLogProbs: Float32Array.from(fixture.targetLogProbs),
  rewards: Float32Array.from(fixture.rewards),
  values: Float32Array.from(fixture.values),
  dones: Uint8Array.from(fixture.dones),
  bootstrapValues: Float32Array.from(fixture.bootstrapValues),
  numEnvs: fixture.numEnvs,
};

describe("computeVtrace()", () => {
  for (const c of fixture.cases) {
    test(`matches eq. 1 summed in PyTorch (γ ${c.gamma}, ρ̄ ${c.rhoBar}, c̄ ${c.cBar}, ρ̄_pg ${c.pgRhoBar}, λ ${c.lambda})`, () => {
      const out = computeVtrace({ ...inputs, ...c });
      assertClose(out.ratios, c.ratios, { rtol: 1e-5, label: "ratios" });
      assertClose(out.vs, c.vs, { rtol: 1e-5, scale: 1, label: "vs" });
      assertClose(out.pgAdvantages, c.pgAdvantages, { rtol: 1e-5, scale: 1, label: "pgAdvantages" });
    });
  }

  test("the fixture's ratios are clipped somewhere (both sides of ρ̄ and c̄ are exercised)", () => {
    const ratios = fixture.cases[0].ratios;
    assert.ok(ratios.some((r) => r > 2) && ratios.some((r) => r < 0.5));
  });

  test("on-policy (π = μ) V-trace equals the n-step return and GAE(λ = 1)", () => {
    const total = inputs.rewards.length;
    const logProbs = Float32Array.from({ length: total }, (_, i) => -0.3 - 0.1 * (i % 5));
    const gamma = 0.97;
    const out = computeVtrace({ ...inputs, behaviourLogProbs: logProbs, targetLogProbs: logProbs, gamma });
    const gae = computeGae({
      rewards: inputs.rewards,
      values: inputs.values,
      dones: inputs.dones,
      lastValues: inputs.bootstrapValues,
      numEnvs: inputs.numEnvs,
      gamma,
      gaeLambda: 1,
    });
    assertClose(out.vs, gae.returns, { rtol: 1e-5, scale: 1, label: "vs vs GAE returns" });
    assertClose(out.pgAdvantages, gae.advantages, { rtol: 1e-5, scale: 1, label: "A_pg vs GAE(1)" });
    // and the n-step return written out for env 0's first episode (steps 0..2, ended at 2)
    const r = (t: number) => inputs.rewards[t * inputs.numEnvs];
    assert.ok(Math.abs(out.vs[0] - (r(0) + gamma * r(1) + gamma ** 2 * r(2))) < 1e-5);
  });

  test("c̄ → 0 leaves the one-step target; ρ̄ → 0 leaves V", () => {
    const noTrace = computeVtrace({ ...inputs, gamma: 0.99, cBar: 1e-12 });
    const oneStep = computeVtrace({ ...inputs, gamma: 0.99, lambda: 0 });
    assertClose(noTrace.vs, oneStep.vs, { rtol: 1e-5, scale: 1 });
    const frozen = computeVtrace({ ...inputs, gamma: 0.99, rhoBar: 1e-12 });
    assertClose(frozen.vs, inputs.values, { rtol: 1e-5, scale: 1 });
  });

  test("rejects mismatched shapes and bad clipping thresholds with a typed error", () => {
    assert.throws(
      () => computeVtrace({ ...inputs, gamma: 0.99, bootstrapValues: new Float32Array(3) }),
      (e: unknown) =>
        e instanceof ProximalError && e.code === "SHAPE_MISMATCH" && /bootstrapValues \(3\)/.test(e.message),
    );
    assert.throws(
      () => computeVtrace({ ...inputs, gamma: 0.99, rhoBar: 0 }),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION" && /rhoBar/.test(e.message),
    );
  });
});
