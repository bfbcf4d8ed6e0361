/** Shared helpers of the imitation tests: a scripted CartPole expert (no training needed). */
import type { Predictor } from "../common/evaluation.js";

/**
 * Push towards the side the pole falls to, with small cart-position and velocity terms: 500 on every
 * one of 20 evaluation episodes of CartPole-v1 (seed 0), so it serves as an expert in tests.
 */
export const cartPoleExpert: Predictor = {
  predict(observations: Float32Array): Int32Array {
    const n = observations.length / 4;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const [x, xDot, theta, thetaDot] = observations.subarray(4 * i, 4 * i + 4);
      out[i] = theta + 0.5 * thetaDot + 0.01 * x + 0.1 * xDot > 0 ? 1 : 0;
    }
    return out;
  },
};
