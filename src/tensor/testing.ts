import assert from "node:assert/strict";
import type { Rng } from "../random/rng.js";
import type { BackendName } from "./backend.js";
import type { Tensor } from "./tensor.js";

// Shared helpers of the tensor tests (allclose, seeded inputs, finite differences). Not exported from
// src/index.ts; the tests beside the engine import it directly.

/**
 * The backends every kernel test runs on. A fixed list, not `availableBackends()`: wasm must load on
 * Node, so where it does not, its tests fail with BACKEND_UNAVAILABLE instead of silently dropping
 * out of the run (STYLE.md, Tests).
 */
export const TEST_BACKENDS: readonly BackendName[] = ["cpu", "wasm"];

export interface CloseOptions {
  /** Relative tolerance. @defaultValue 1e-5 */
  rtol?: number;
  /** Absolute tolerance added to the relative one. @defaultValue 0 */
  atol?: number;
  /**
   * Magnitude below which errors count as absolute: an element passes when
   * `|a - b| <= rtol * max(|a|, |b|, scale) + atol`. Pass the size of the values that were rounded
   * on the way (e.g. the largest output, or per element Σ|terms| of a sum) when the result may come
   * from cancellation.
   * @defaultValue 0
   */
  scale?: number | ArrayLike<number>;
  /** Prefix of the failure message. */
  label?: string;
}

/**
 * Assert elementwise closeness. NaN matches NaN, and infinities must match exactly, so this also
 * checks NaN/Inf propagation.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: CloseOptions = {},
): void {
  const { rtol = 1e-5, atol = 0, scale = 0, label = "" } = options;
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} vs ${expected.length}`);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (Number.isNaN(a) || Number.isNaN(b)) {
      assert.ok(Number.isNaN(a) && Number.isNaN(b), `${label}: element ${i} is ${a}, expected ${b}`);
      continue;
    }
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      assert.equal(a, b, `${label}: element ${i} is ${a}, expected ${b}`);
      continue;
    }
    const s = typeof scale === "number" ? scale : scale[i];
    const allowed = rtol * Math.max(Math.abs(a), Math.abs(b), s) + atol;
    const ratio = Math.abs(a - b) / (allowed || Number.MIN_VALUE);
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = i;
    }
  }
  if (worstRatio > 1) {
    assert.fail(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|diff| ${Math.abs(actual[worst] - expected[worst]).toExponential(3)} is ${worstRatio.toFixed(1)}x ` +
        `the tolerance; rtol ${rtol}, atol ${atol}, scale ${typeof scale === "number" ? scale : scale[worst]})`,
    );
  }
}

/** Largest |x| (0 for an empty array), ignoring non-finite values. */
export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i])) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** `n` float32 draws from N(shift, scale²). */
export function randomNormal(rng: Rng, n: number, scale = 1, shift = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal(shift, scale);
  return out;
}

/** `n` float32 draws from U(low, high). */
export function randomUniform(rng: Rng, n: number, low: number, high: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(low, high);
  return out;
}

/** `n` int32 draws from {0, ..., high-1}. */
export function randomIntegers(rng: Rng, n: number, high: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.integer(high);
  return out;
}

/**
 * Central finite differences of a scalar function of a float32 array, in float64: element i gets
 * `(f(x + h e_i) - f(x - h e_i)) / (x⁺ - x⁻)` where x± are the float32-rounded perturbed values, so
 * the step actually taken is the one divided by. `f` must not keep a reference to `x`.
 */
export function finiteDifference(
  f: (x: Float32Array) => number,
  x: Float32Array,
  step: number,
): Float64Array {
  const out = new Float64Array(x.length);
  const probe = x.slice();
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    probe[i] = x0 + step;
    const up = probe[i];
    const fUp = f(probe);
    probe[i] = x0 - step;
    const down = probe[i];
    const fDown = f(probe);
    probe[i] = x0;
    out[i] = (fUp - fDown) / (up - down);
  }
  return out;
}

/**
 * Assert that `loss().backward()` gives each of `params` the gradient central finite differences
 * of `loss` give (step `step`, float64 differences of float32 evaluations): an element passes when
 * `|analytic − numeric| <= rtol·|numeric| + atol`. Clears and refills `.grad`.
 */
export function assertGradientsMatchFiniteDifferences(
  loss: () => Tensor,
  params: Tensor[],
  options: { step?: number; rtol?: number; atol?: number } = {},
): void {
  const { step = 1e-2, rtol = 2e-2, atol = 2e-3 } = options;
  for (const p of params) p.grad = null;
  loss().backward();
  for (const [i, p] of params.entries()) {
    const data = p.values;
    const original = data.slice();
    const numeric = finiteDifference(
      (v) => {
        data.set(v);
        const out = loss().item();
        data.set(original);
        return out;
      },
      original,
      step,
    );
    assertClose(p.grad?.values ?? [], numeric, { rtol, atol, label: p.name ?? `parameter ${i}` });
  }
}
