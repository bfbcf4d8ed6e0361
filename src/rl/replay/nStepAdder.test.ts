import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { readSafetensors, writeSafetensors } from "../../io/safetensors.js";
import { Rng } from "../../random/rng.js";
import type { VectorStep } from "./nStepAdder.js";
import { NStepAdder } from "./nStepAdder.js";
import type { ReplayState, TransitionBatch } from "./replayBuffer.js";
import { ReplayBuffer } from "./replayBuffer.js";

const code = (c: string) => (error: unknown) => error instanceof ProximalError && error.code === c;

/** A step of `numEnvs` envs with one-number observations and integer actions equal to the observation. */
function step(
  observations: number[],
  rewards: number[],
  nextObservations: number[],
  terminated: number[] = observations.map(() => 0),
  truncated: number[] = observations.map(() => 0),
): VectorStep {
  return {
    observations: Float32Array.from(observations),
    actions: Int32Array.from(observations),
    rewards: Float32Array.from(rewards),
    nextObservations: Float32Array.from(nextObservations),
    terminated: Uint8Array.from(terminated),
    truncated: Uint8Array.from(truncated),
  };
}

/** Rows of a batch as plain tuples [s, a, R, s', terminated, truncated, steps]. */
function rows(batch: TransitionBatch): number[][] {
  return Array.from(batch.rewards, (r, j) => [
    batch.observations[j],
    batch.actions[j],
    r,
    batch.nextObservations[j],
    batch.terminated[j],
    batch.truncated[j],
    batch.steps![j],
  ]);
}

// γ = 0.5, n = 3, two envs. Env 0 pays 1, 2, 3, 4, 5 and terminates at t = 4 (final obs 4.5).
// Env 1 pays 10, 20 and is truncated at t = 1 (final obs 101.5), then pays 30, 40, 50 from reset 150.
const sequence: VectorStep[] = [
  step([0, 100], [1, 10], [1, 101]),
  step([1, 101], [2, 20], [2, 101.5], [0, 0], [0, 1]),
  step([2, 150], [3, 30], [3, 151]),
  step([3, 151], [4, 40], [4, 152]),
  step([4, 152], [5, 50], [4.5, 153], [1, 0], [0, 0]),
];

describe("NStepAdder.add()", () => {
  // by hand, rows [s, a, R, s', terminated, truncated, steps]
  const expected: number[][][] = [
    [],
    // truncated inside the window: sums stop at the cut, bootstrap from the final obs with γ^2, γ^1
    [
      [100, 100, 10 + 0.5 * 20, 101.5, 0, 1, 2],
      [101, 101, 20, 101.5, 0, 1, 1],
    ],
    [[0, 0, 1 + 0.5 * 2 + 0.25 * 3, 3, 0, 0, 3]], // 2.75
    [[1, 1, 2 + 0.5 * 3 + 0.25 * 4, 4, 0, 0, 3]], // 4.5
    [
      // terminated: the whole window is flushed, each marked done
      [2, 2, 3 + 0.5 * 4 + 0.25 * 5, 4.5, 1, 0, 3], // 6.25
      [3, 3, 4 + 0.5 * 5, 4.5, 1, 0, 2], // 6.5
      [4, 4, 5, 4.5, 1, 0, 1],
      [150, 150, 30 + 0.5 * 40 + 0.25 * 50, 153, 0, 0, 3], // 62.5
    ],
  ];

  test("sums γ^k r over n steps per env and stops at termination and truncation (hand-computed)", () => {
    const adder = new NStepAdder({ nSteps: 3, gamma: 0.5, numEnvs: 2, obsSize: 1 });
    sequence.forEach((s, t) => {
      assert.deepEqual(rows(adder.add(s)), expected[t], `step ${t}`);
    });
    assert.deepEqual([adder.pending(0), adder.pending(1)], [0, 2]); // env 1's 151, 152 still wait
  });

  test("n = 1 returns the plain transitions unchanged", () => {
    const rng = new Rng(0);
    const adder = new NStepAdder({ nSteps: 1, gamma: 0.9, numEnvs: 3, obsSize: 2 });
    for (let t = 0; t < 20; t++) {
      const input: VectorStep = {
        observations: Float32Array.from({ length: 6 }, () => rng.normal()),
        actions: Int32Array.from({ length: 3 }, () => rng.integer(4)),
        rewards: Float32Array.from({ length: 3 }, () => rng.normal()),
        nextObservations: Float32Array.from({ length: 6 }, () => rng.normal()),
        terminated: Uint8Array.from({ length: 3 }, () => (rng.uniform() < 0.2 ? 1 : 0)),
        truncated: Uint8Array.from({ length: 3 }, () => (rng.uniform() < 0.2 ? 1 : 0)),
      };
      assert.deepEqual(adder.add(input), { ...input, steps: Int32Array.of(1, 1, 1) });
    }
  });

  test("loses no transition: every step comes out exactly once once its episode ends", () => {
    const rng = new Rng(1);
    const adder = new NStepAdder({ nSteps: 4, gamma: 0.99, numEnvs: 3, obsSize: 1 });
    const seen: number[] = [];
    let id = 0;
    for (let t = 0; t < 200; t++) {
      const ids = [id++, id++, id++];
      const ended = ids.map(() => (rng.uniform() < 0.15 ? 1 : 0));
      const kinds = ended.map((e) => (e && rng.uniform() < 0.5 ? 1 : 0));
      const out = adder.add(
        step(
          ids,
          [1, 1, 1],
          ids.map((i) => i + 0.5),
          ended.map((e, k) => e * (1 - kinds[k])),
          ended.map((e, k) => e * kinds[k]),
        ),
      );
      for (const a of out.actions) seen.push(a);
    }
    const pending = adder.pending(0) + adder.pending(1) + adder.pending(2);
    assert.equal(seen.length + pending, id);
    assert.equal(new Set(seen).size, seen.length);
  });

  test("feeds a ReplayBuffer, which keeps steps for the γ^k bootstrap", () => {
    const adder = new NStepAdder({ nSteps: 3, gamma: 0.5, numEnvs: 2, obsSize: 1 });
    const buffer = new ReplayBuffer({ capacity: 16, obsSize: 1 });
    for (const s of sequence) buffer.add(adder.add(s));
    assert.equal(buffer.size, 8);
    const all = buffer.gather(Int32Array.from({ length: 8 }, (_, i) => i));
    assert.deepEqual([...all.steps], [2, 1, 3, 3, 3, 2, 1, 3]);
    assert.deepEqual([...all.dones], [0, 0, 0, 0, 1, 1, 1, 0]);
  });

  test("rejects wrong lengths, action types and options with a code", () => {
    const adder = new NStepAdder({ nSteps: 2, numEnvs: 2, obsSize: 1 });
    assert.throws(() => adder.add(step([0], [1], [1])), code("SHAPE_MISMATCH"));
    assert.throws(
      () => adder.add({ ...step([0, 1], [1, 1], [1, 2]), actions: new Float32Array(2) }),
      code("DTYPE_MISMATCH"),
    );
    assert.throws(() => new NStepAdder({ nSteps: 0, numEnvs: 1, obsSize: 1 }), code("INVALID_OPTION"));
    assert.throws(() => new NStepAdder({ gamma: 1.5, numEnvs: 1, obsSize: 1 }), code("INVALID_OPTION"));
    assert.throws(() => new NStepAdder({ numEnvs: 0, obsSize: 1 }), code("INVALID_OPTION"));
  });
});

describe("NStepAdder.state()", () => {
  test("pending windows round-trip through safetensors and the adder continues identically", () => {
    const options = { nSteps: 3, gamma: 0.5, numEnvs: 2, obsSize: 1 };
    const adder = new NStepAdder(options);
    for (const s of sequence.slice(0, 2)) adder.add(s);
    const state: ReplayState = adder.state();
    const bytes = writeSafetensors(state.tensors, { adder: JSON.stringify(state.json) });
    const { tensors, metadata } = readSafetensors(bytes);
    const restored = new NStepAdder(options);
    restored.loadState({ tensors, json: JSON.parse(metadata.adder) });
    for (const s of sequence.slice(2)) assert.deepEqual(restored.add(s), adder.add(s));
    assert.throws(
      () => new NStepAdder({ ...options, nSteps: 2 }).loadState(adder.state()),
      code("MALFORMED_FILE"),
    );
  });
});
