import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { readSafetensors, writeSafetensors } from "../../io/safetensors.js";
import { Rng } from "../../random/rng.js";
import { betaSchedule, PrioritizedReplayBuffer } from "./prioritizedReplayBuffer.js";
import type { ReplayState, TransitionBatch } from "./replayBuffer.js";
import { ReplayBuffer } from "./replayBuffer.js";

const code = (c: string) => (error: unknown) => error instanceof ProximalError && error.code === c;

/** `count` one-number transitions whose observation and action are the id `start + j`. */
function transitions(start: number, count: number): TransitionBatch {
  const ids = Float32Array.from({ length: count }, (_, j) => start + j);
  return {
    observations: ids,
    actions: Int32Array.from(ids),
    rewards: new Float32Array(count),
    nextObservations: ids.map((v) => v + 1),
    terminated: new Uint8Array(count),
    truncated: new Uint8Array(count),
  };
}

function throughSafetensors(state: ReplayState): ReplayState {
  const bytes = writeSafetensors(state.tensors, { replay: JSON.stringify(state.json) });
  const { tensors, metadata } = readSafetensors(bytes);
  return { tensors, json: JSON.parse(metadata.replay) };
}

describe("PrioritizedReplayBuffer.sample()", () => {
  test("draws i with frequency p_i^α / Σ_k p_k^α (seed 0, 100k draws, within 0.005)", () => {
    const buffer = new PrioritizedReplayBuffer({ capacity: 8, obsSize: 1, alpha: 0.6 });
    buffer.add(transitions(0, 6));
    const tdErrors = [0.1, 0.5, 1, 2, 4, 0];
    buffer.updatePriorities(Int32Array.of(0, 1, 2, 3, 4, 5), tdErrors);
    const powered = tdErrors.map((d) => (d + 1e-6) ** 0.6);
    const total = powered.reduce((a, b) => a + b, 0);
    const rng = new Rng(0);
    const counts = new Array(6).fill(0);
    const rounds = 25_000;
    for (let r = 0; r < rounds; r++) for (const i of buffer.sample(4, rng, 0.4).indices) counts[i]++;
    for (let i = 0; i < 6; i++) {
      const frequency = counts[i] / (rounds * 4);
      assert.ok(
        Math.abs(frequency - powered[i] / total) < 0.005,
        `index ${i}: ${frequency} vs ${powered[i] / total}`,
      );
    }
    assert.ok(counts[5] < 10); // |δ| = 0 is rare but still possible through ε
  });

  test("importance weights (N·P(i))^(−β) / max_j w_j, by hand", () => {
    // α = 0.5, ε = 1 and δ = 0, 3, 8, 15 give p^α = 1, 2, 3, 4: P = 0.1, 0.2, 0.3, 0.4, N = 4
    const buffer = new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1, alpha: 0.5, epsilon: 1 });
    buffer.add(transitions(0, 4));
    buffer.updatePriorities([0, 1, 2, 3], [0, -3, 8, -15]);
    assert.equal(buffer.totalPriority, 10);
    // β = 0.5: w = (4·P)^(−0.5) / (4·0.1)^(−0.5) = (P / 0.1)^(−0.5) = 1, 1/√2, 1/√3, 1/2
    const expected = [1, Math.SQRT1_2, 1 / Math.sqrt(3), 0.5];
    const batch = buffer.sample(4, new Rng(0), 0.5);
    // stratified: one index from each quarter of the mass [0, 2.5), [2.5, 5), [5, 7.5), [7.5, 10)
    const possible = [[0, 1], [1, 2], [2, 3], [3]];
    for (let j = 0; j < 4; j++) {
      const i = batch.indices[j];
      assert.ok(possible[j].includes(i), `segment ${j} gave ${i}`);
      assert.ok(Math.abs(batch.weights[j] - expected[i]) < 1e-7, `w[${i}] = ${batch.weights[j]}`);
    }
    assert.ok(buffer.sample(4, new Rng(0), 0).weights.every((w) => w === 1)); // β = 0: no correction
  });

  test("new and overwritten transitions get the largest priority seen so far", () => {
    const buffer = new PrioritizedReplayBuffer({ capacity: 3, obsSize: 1, alpha: 1, epsilon: 0.5 });
    buffer.add(transitions(0, 2));
    assert.equal(buffer.priority(0), 1); // the initial max priority, as in the paper
    buffer.updatePriorities([0, 1], [2.5, 0]); // p = 3, 0.5
    assert.deepEqual([buffer.priority(0), buffer.priority(1)], [3, 0.5]);
    buffer.add(transitions(2, 2)); // slot 2, then slot 0 is overwritten
    assert.deepEqual([buffer.priority(0), buffer.priority(1), buffer.priority(2)], [3, 0.5, 3]);
    buffer.updatePriorities([0], [0.5]); // a lower priority does not lower the max
    buffer.add(transitions(4, 1));
    assert.equal(buffer.priority(1), 3);
  });

  test("α = 0 samples uniformly and all weights are 1", () => {
    const buffer = new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1, alpha: 0 });
    buffer.add(transitions(0, 4));
    buffer.updatePriorities([0, 1, 2, 3], [0, 1, 10, 100]);
    assert.equal(buffer.totalPriority, 4);
    assert.ok(buffer.sample(4, new Rng(1), 1).weights.every((w) => w === 1));
  });

  test("is deterministic per seed", () => {
    const buffer = new PrioritizedReplayBuffer({ capacity: 64, obsSize: 1 });
    buffer.add(transitions(0, 50));
    buffer.updatePriorities(
      Int32Array.from({ length: 50 }, (_, i) => i),
      Float32Array.from({ length: 50 }, (_, i) => Math.sin(i)),
    );
    assert.deepEqual(buffer.sample(16, new Rng(9), 0.7), buffer.sample(16, new Rng(9), 0.7));
  });

  test("rejects bad α, ε, β, batch sizes, indices and NaN TD errors with a code", () => {
    assert.throws(
      () => new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1, alpha: 1.5 }),
      code("INVALID_OPTION"),
    );
    assert.throws(
      () => new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1, alpha: -0.1 }),
      code("INVALID_OPTION"),
    );
    assert.throws(
      () => new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1, epsilon: 0 }),
      code("INVALID_OPTION"),
    );
    assert.throws(() => new PrioritizedReplayBuffer({ capacity: 0, obsSize: 1 }), code("INVALID_OPTION"));
    const buffer = new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1 });
    const rng = new Rng(0);
    assert.throws(() => buffer.sample(1, rng), code("INVALID_ARGUMENT"));
    buffer.add(transitions(0, 2));
    assert.throws(() => buffer.sample(3, rng), code("INVALID_ARGUMENT"));
    assert.throws(() => buffer.sample(2, rng, 1.1), code("INVALID_ARGUMENT"));
    assert.throws(() => buffer.updatePriorities([2], [1]), code("INVALID_ARGUMENT"));
    assert.throws(() => buffer.updatePriorities([0, 1], [1]), code("SHAPE_MISMATCH"));
    assert.throws(() => buffer.updatePriorities([0], [Number.NaN]), code("NUMERICAL_ERROR"));
  });
});

describe("PrioritizedReplayBuffer.state()", () => {
  test("round-trips through safetensors: same trees, and the same samples with the same Rng state", () => {
    const options = { capacity: 10, obsSize: 1, alpha: 0.7 };
    const buffer = new PrioritizedReplayBuffer(options);
    const rng = new Rng(4);
    for (let t = 0; t < 4; t++) {
      buffer.add(transitions(t * 4, 4)); // 16 added: wrapped
      const batch = buffer.sample(3, rng, 0.5);
      buffer.updatePriorities(
        batch.indices,
        Float32Array.from(batch.indices, (i) => Math.cos(i) * 3),
      );
    }
    const saved = throughSafetensors(buffer.state());
    const savedRng = rng.getState();
    const restored = new PrioritizedReplayBuffer(options);
    restored.loadState(saved);
    assert.equal(restored.totalPriority, buffer.totalPriority);
    const restoredRng = new Rng(0);
    restoredRng.setState(savedRng);
    for (let round = 0; round < 3; round++) {
      const expected = buffer.sample(5, rng, 0.6);
      assert.deepEqual(restored.sample(5, restoredRng, 0.6), expected);
      const tdErrors = Float32Array.from(expected.indices, (i) => i / 3);
      buffer.updatePriorities(expected.indices, tdErrors);
      restored.updatePriorities(expected.indices, tdErrors);
      buffer.add(transitions(100 + round, 1)); // gets the restored max priority
      restored.add(transitions(100 + round, 1));
    }
    assert.equal(restored.totalPriority, buffer.totalPriority);
  });

  test("refuses a uniform buffer's state and a state with another α", () => {
    const buffer = new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1, alpha: 0.6 });
    buffer.add(transitions(0, 2));
    const state = buffer.state();
    assert.throws(
      () => new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1, alpha: 0.5 }).loadState(state),
      code("MALFORMED_FILE"),
    );
    const uniform = new ReplayBuffer({ capacity: 4, obsSize: 1 });
    uniform.add(transitions(0, 2));
    assert.throws(
      () => new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1 }).loadState(uniform.state()),
      code("MALFORMED_FILE"),
    );
    const { priorities: _, ...withoutPriorities } = state.tensors;
    assert.throws(
      () =>
        new PrioritizedReplayBuffer({ capacity: 4, obsSize: 1 }).loadState({
          ...state,
          tensors: withoutPriorities,
        }),
      code("MALFORMED_FILE"),
    );
  });
});

describe("betaSchedule()", () => {
  test("anneals β linearly from β₀ at progress remaining 1 to 1 at 0, clamped", () => {
    const beta = betaSchedule(0.4);
    assert.equal(beta(1), 0.4);
    assert.ok(Math.abs(beta(0.5) - 0.7) < 1e-12); // by hand: 1 + 0.5·(0.4 − 1) = 0.7
    assert.equal(beta(0), 1);
    assert.equal(beta(-0.2), 1);
    assert.equal(betaSchedule(0.5, 0.8)(0), 0.8);
    assert.throws(() => betaSchedule(1.2), code("INVALID_OPTION"));
  });
});
