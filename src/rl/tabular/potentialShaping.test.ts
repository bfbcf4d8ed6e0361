/**
 * Potential-based shaping's guarantee (Ng, Harada & Russell 1999, Theorem 1) checked with value
 * iteration on the shaped and unshaped transition tables, and a cheap learning test where a good
 * potential lets Q-learning find the goal that it does not find unshaped.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { make } from "../../envs/make.js";
import { CliffWalkingEnv } from "../../envs/toyText/cliffWalking.js";
import { FrozenLakeEnv } from "../../envs/toyText/frozenLake.js";
import type { TransitionTable } from "../../envs/toyText/transitionTableEnv.js";
import { PotentialShaping, shapeTransitionTable } from "../../envs/wrappers/potentialShaping.js";
import { Rng } from "../../random/rng.js";
import { policyEvaluation, valueIteration } from "./dynamicProgramming.js";
import { QLearning } from "./qLearning.js";

/** FrozenLake 8x8: 1 − (Manhattan distance to the goal at (7, 7))/14, in [0, 1]. */
const distancePotential = (s: number) => 1 - (7 - Math.floor(s / 8) + (7 - (s % 8))) / 14;

function checkInvariance(P: TransitionTable, potential: Float64Array, gamma: number): void {
  const plain = valueIteration(P, { gamma, theta: 1e-12 });
  const shaped = valueIteration(shapeTransitionTable(P, potential, gamma), { gamma, theta: 1e-12 });
  const numActions = P[0].length;
  for (let s = 0; s < P.length; s++) {
    // Q*_shaped(s, a) = Q*(s, a) − Φ(s) (Ng et al. 1999, proof of Theorem 1) ...
    for (let a = 0; a < numActions; a++) {
      const i = s * numActions + a;
      assert.ok(Math.abs(shaped.Q[i] - (plain.Q[i] - potential[s])) < 1e-6, `Q(${s}, ${a})`);
    }
    // ... so the shaped greedy action is optimal for the unshaped MDP (ties may break either way)
    let best = Number.NEGATIVE_INFINITY;
    for (let a = 0; a < numActions; a++) best = Math.max(best, plain.Q[s * numActions + a]);
    assert.ok(plain.Q[s * numActions + shaped.policy[s]] >= best - 1e-6, `state ${s}`);
  }
  // and the shaped greedy policy is worth exactly as much as the optimal one in the unshaped MDP
  const value = policyEvaluation(P, shaped.policy, { gamma, theta: 1e-12 });
  for (let s = 0; s < P.length; s++) assert.ok(Math.abs(value[s] - plain.V[s]) < 1e-6);
}

describe("potential-based shaping keeps the optimal policy (value iteration)", () => {
  test("slippery FrozenLake 8x8, distance potential and a random potential (γ = 0.99)", () => {
    const P = new FrozenLakeEnv({ mapName: "8x8" }).P;
    checkInvariance(
      P,
      Float64Array.from({ length: 64 }, (_, s) => distancePotential(s)),
      0.99,
    );
    const rng = new Rng(0);
    checkInvariance(
      P,
      Float64Array.from({ length: 64 }, () => rng.normal(0, 5)),
      0.99,
    );
  });

  test("CliffWalking with a random potential (γ = 0.9)", () => {
    const P = new CliffWalkingEnv().P;
    const rng = new Rng(1);
    checkInvariance(
      P,
      Float64Array.from({ length: P.length }, () => rng.uniform(-20, 20)),
      0.9,
    );
  });
});

describe("potential-based shaping helps learning", () => {
  test("Q-learning finds deterministic FrozenLake 8x8's goal in 100 episodes with the distance potential, not without (seeds 0-2)", async () => {
    const P = new FrozenLakeEnv({ isSlippery: false, mapName: "8x8" }).P;
    const greedyValue = async (shaped: boolean, seed: number) => {
      const base = make<number>("FrozenLake8x8-v1", { isSlippery: false });
      const env = shaped ? new PotentialShaping(base, { potential: distancePotential, gamma: 0.99 }) : base;
      const model = new QLearning(env, { learningRate: 0.5, explorationFraction: 0.5, seed });
      await model.learn({ totalEpisodes: 100 });
      // the learned greedy policy's value in the unshaped MDP: 0.99^13 when it reaches the goal
      return policyEvaluation(P, model.greedyPolicy(), { gamma: 0.99 })[0];
    };
    for (const seed of [0, 1, 2]) {
      assert.ok((await greedyValue(true, seed)) > 0.8, `shaped, seed ${seed}`);
      assert.equal(await greedyValue(false, seed), 0, `unshaped, seed ${seed}`);
    }
  });
});
