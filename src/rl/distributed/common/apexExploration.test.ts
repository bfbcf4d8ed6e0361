import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { make } from "../../../envs/make.js";
import { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import { ProximalError } from "../../../errors.js";
import { Rng } from "../../../random/rng.js";
import { type QNetworkVariant, QPolicy } from "../../common/qPolicy.js";
import { apexCategoricalPriorities, apexDqnActing, apexEpsilon, apexPriorities } from "./apexExploration.js";
import { TransitionCollector } from "./transitionCollector.js";

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

/**
 * One message of an ε = 0.3 actor on 2 CartPole envs (3-step, γ 0.9) with a [8] Q-network of the
 * given variant, and that network, to recompute the priorities from.
 */
function actorMessage(variant: Partial<QNetworkVariant>, stepsPerMessage: number) {
  const env = new VectorRecordEpisodeStatistics(
    make("CartPole-v1", { numEnvs: 2, autoresetMode: "same-step" }),
  );
  const policy = new QPolicy(
    env.singleObservationSpace,
    env.singleActionSpace,
    new Rng(3),
    { netArch: [8] },
    variant,
  );
  const collector = new TransitionCollector(env, apexDqnActing(policy, 0.3, 0.9), new Rng(4), {
    nStep: 3,
    gamma: 0.9,
    stepsPerMessage,
    runId: "r",
    actorId: "a",
    seed: 5,
  });
  return { policy, m: collector.collect(0) };
}

describe("apexEpsilon()", () => {
  test("ε_i = ε^(1 + α·i/(N−1)) with the paper's ε 0.4, α 7", () => {
    close(
      [0, 1, 2, 3].map((i) => apexEpsilon(i, 4)),
      [0.4, 0.4 ** (1 + 7 / 3), 0.4 ** (1 + 14 / 3), 0.4 ** 8],
      1e-12,
    );
    assert.ok(Math.abs(apexEpsilon(3, 4) - 6.5536e-4) < 1e-12); // 0.4^8 by hand
    assert.equal(apexEpsilon(0, 1), 0.4); // a single actor gets ε
    assert.equal(apexEpsilon(1, 2, 0.5, 1), 0.25);
  });

  test("refuses an index outside the ladder", () => {
    assert.throws(
      () => apexEpsilon(4, 4),
      (e: unknown) => e instanceof ProximalError && /0 … numActors − 1/.test(e.message),
    );
    assert.throws(
      () => apexEpsilon(0, 4, 1.5),
      (e: unknown) => e instanceof ProximalError && /epsilon/.test(e.message),
    );
  });
});

describe("apexPriorities()", () => {
  test("|n-step TD error| against hand values: bootstrapped, terminal, k-step and negative errors", () => {
    // 2 actions, γ = 0.5
    // row 0: G 1, k 1, max Q(s') = max(2, 0) = 2, Q(s,a) 1 → |1 + 0.5·2 − 1| = 1
    // row 1: terminal: |3 − 5| = 2
    // row 2: G 0.5, k 3, max Q(s') = 4 → 0.5 + 0.125·4 = 1; Q(s,a) 1 → 0
    // row 3: G −1, k 2, max Q(s') = max(−2, −4) = −2 → −1 + 0.25·(−2) = −1.5; Q(s,a) 2 → 3.5
    const p = apexPriorities({
      qTaken: [1, 5, 1, 2],
      rewards: [1, 3, 0.5, -1],
      dones: [0, 1, 0, 0],
      steps: [1, 1, 3, 2],
      nextQTarget: [2, 0, 9, 9, -0, 4, -2, -4],
      nActions: 2,
      gamma: 0.5,
    });
    close(p, [1, 2, 0, 3.5]);
  });

  test("an actor's message carries |TD| of its own network for every transition", () => {
    const { policy, m } = actorMessage({}, 40);
    // 2 envs × 40 steps, minus at most n − 1 = 2 steps per env still waiting in the n-step window
    assert.ok(m.count >= 76 && m.count <= 80, `count ${m.count}`);
    assert.ok(m.episodeReturns.length > 0, "no CartPole episode ended in 40 steps under ε 0.3");
    const q = policy.qValues(m.batch.observations, m.count);
    const next = policy.qValues(m.batch.nextObservations, m.count);
    for (let i = 0; i < m.count; i++) {
      const k = m.batch.steps[i];
      assert.ok(k >= 1 && k <= 3);
      const bootstrap = m.batch.terminated[i] ? 0 : Math.max(next[2 * i], next[2 * i + 1]);
      const td = m.batch.rewards[i] + 0.9 ** k * bootstrap - q[2 * i + m.batch.actions[i]];
      assert.ok(Math.abs(m.priorities[i] - Math.abs(td)) < 1e-5, `row ${i}: ${m.priorities[i]} vs |${td}|`);
    }
  });
});

describe("apexCategoricalPriorities()", () => {
  test("C51 cross-entropy of the projected n-step target, against hand values", () => {
    // support [0, 1], one action, γ = 0.5
    // row 0: terminal, r = 1 → m = [0, 1]; p(s, a) = softmax([0, 0]) = [1/2, 1/2] → ln 2
    // row 1: r = 0, k = 1, p(s') = softmax([0, ln 3]) = [1/4, 3/4]; 0.5·z = [0, 0.5] → the 3/4 at 0.5
    //   splits evenly: m = [5/8, 3/8]; p(s, a) = [1/4, 3/4] → −(5/8 ln 1/4 + 3/8 ln 3/4)
    const p = apexCategoricalPriorities({
      takenLogits: Float32Array.from([0, 0, 0, Math.log(3)]),
      nextLogits: Float32Array.from([5, -5, 0, Math.log(3)]),
      support: [0, 1],
      vMin: 0,
      vMax: 1,
      rewards: [1, 0],
      dones: [1, 0],
      steps: [1, 1],
      nActions: 1,
      gamma: 0.5,
    });
    close(p, [Math.LN2, -((5 / 8) * Math.log(1 / 4) + (3 / 8) * Math.log(3 / 4))], 1e-6);
  });

  test("refuses logits of the wrong size", () => {
    assert.throws(
      () =>
        apexCategoricalPriorities({
          takenLogits: new Float32Array(3),
          nextLogits: new Float32Array(4),
          support: [0, 1],
          vMin: 0,
          vMax: 1,
          rewards: [1, 0],
          dones: [1, 0],
          nActions: 1,
          gamma: 0.5,
        }),
      (e: unknown) => e instanceof ProximalError && e.code === "SHAPE_MISMATCH",
    );
  });

  test("an actor with a categorical network sends its cross-entropy priorities", () => {
    const { policy, m } = actorMessage({ dueling: true, atoms: 5, vMin: 0, vMax: 20 }, 30);
    assert.ok(m.count > 0);
    const logits = (obs: Float32Array) => {
      const out: number[] = [];
      for (let i = 0; i < m.count; i++) {
        const row = policy.qNet.forwardLogits(policy.observationTensor(obs.subarray(i * 4, i * 4 + 4), 1));
        out.push(...row.values);
      }
      return Float32Array.from(out);
    };
    const all = logits(m.batch.observations);
    const taken = new Float32Array(m.count * 5);
    for (let i = 0; i < m.count; i++) {
      const from = (i * 2 + m.batch.actions[i]) * 5;
      taken.set(all.subarray(from, from + 5), i * 5);
    }
    const expected = apexCategoricalPriorities({
      takenLogits: taken,
      nextLogits: logits(m.batch.nextObservations),
      support: policy.qNet.support as Float32Array,
      vMin: 0,
      vMax: 20,
      rewards: m.batch.rewards,
      dones: m.batch.terminated,
      steps: m.batch.steps,
      nActions: 2,
      gamma: 0.9,
    });
    close(m.priorities, Array.from(expected), 1e-5);
    // a cross-entropy of 5 atoms: positive, and not the scalar |TD| path (CartPole's rewards are 1 a step)
    assert.ok(m.priorities.every((p) => p > 0 && Number.isFinite(p)));
  });
});
