import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { readSafetensors, writeSafetensors } from "../../io/safetensors.js";
import { Rng } from "../../random/rng.js";
import type { ReplayState, TransitionBatch } from "./replayBuffer.js";
import { ReplayBuffer } from "./replayBuffer.js";

const code = (c: string) => (error: unknown) => error instanceof ProximalError && error.code === c;

/** `numEnvs` transitions whose every field encodes the global transition id `start + e`. */
function indexedStep(start: number, numEnvs: number, obsSize = 2): TransitionBatch {
  const observations = new Float32Array(numEnvs * obsSize);
  const nextObservations = new Float32Array(numEnvs * obsSize);
  const actions = new Int32Array(numEnvs);
  const rewards = new Float32Array(numEnvs);
  const terminated = new Uint8Array(numEnvs);
  const truncated = new Uint8Array(numEnvs);
  for (let e = 0; e < numEnvs; e++) {
    const id = start + e;
    for (let k = 0; k < obsSize; k++) {
      observations[e * obsSize + k] = id;
      nextObservations[e * obsSize + k] = -id;
    }
    actions[e] = id;
    rewards[e] = id / 2;
    terminated[e] = id % 3 === 0 ? 1 : 0;
    truncated[e] = id % 5 === 0 ? 1 : 0;
  }
  return { observations, actions, rewards, nextObservations, terminated, truncated };
}

/** Round trip through safetensors bytes, the way a model would save the buffer. */
function throughSafetensors(state: ReplayState): ReplayState {
  const bytes = writeSafetensors(state.tensors, { replay: JSON.stringify(state.json) });
  const { tensors, metadata } = readSafetensors(bytes);
  return { tensors, json: JSON.parse(metadata.replay) };
}

describe("ReplayBuffer.add()", () => {
  test("fills a ring: size grows to capacity, then the oldest rows are overwritten", () => {
    const buffer = new ReplayBuffer({ capacity: 5, obsSize: 2 });
    assert.deepEqual([buffer.size, buffer.position, buffer.full], [0, 0, false]);
    assert.deepEqual([...buffer.add(indexedStep(0, 3))], [0, 1, 2]);
    assert.deepEqual([buffer.size, buffer.position, buffer.full], [3, 3, false]);
    assert.deepEqual([...buffer.add(indexedStep(3, 3))], [3, 4, 0]); // wraps
    assert.deepEqual([buffer.size, buffer.position, buffer.full], [5, 1, true]);
    // slot 0 now holds transition 5, slots 1…4 transitions 1…4
    assert.deepEqual([...buffer.actions], [5, 1, 2, 3, 4]);
    assert.deepEqual([...buffer.observations.subarray(0, 2)], [5, 5]);
    assert.deepEqual([...buffer.nextObservations.subarray(0, 2)], [-5, -5]);
  });

  test("rejects arrays whose length does not match the transition count, and wrong action types", () => {
    const buffer = new ReplayBuffer({ capacity: 4, obsSize: 2 });
    const step = indexedStep(0, 2);
    assert.throws(() => buffer.add({ ...step, observations: new Float32Array(3) }), code("SHAPE_MISMATCH"));
    assert.throws(
      () => buffer.add({ ...step, nextObservations: new Float32Array(2) }),
      code("SHAPE_MISMATCH"),
    );
    assert.throws(() => buffer.add({ ...step, terminated: new Uint8Array(1) }), code("SHAPE_MISMATCH"));
    assert.throws(() => buffer.add({ ...step, actions: new Float32Array(2) }), code("DTYPE_MISMATCH"));
    assert.throws(() => buffer.add({ ...step, steps: new Int32Array([1, 0]) }), code("INVALID_ARGUMENT"));
    assert.equal(buffer.size, 0);
  });

  test("rejects bad options with INVALID_OPTION", () => {
    assert.throws(() => new ReplayBuffer({ capacity: 0, obsSize: 2 }), code("INVALID_OPTION"));
    assert.throws(() => new ReplayBuffer({ capacity: 1.5, obsSize: 2 }), code("INVALID_OPTION"));
    assert.throws(() => new ReplayBuffer({ capacity: 4, obsSize: 0 }), code("INVALID_OPTION"));
    assert.throws(
      () => new ReplayBuffer({ capacity: 4, obsSize: 2, actionWidth: 0 }),
      code("INVALID_OPTION"),
    );
  });
});

describe("ReplayBuffer.sample()", () => {
  test("draws only from the filled part, every field of a row from the same transition", () => {
    const buffer = new ReplayBuffer({ capacity: 100, obsSize: 2 });
    buffer.add(indexedStep(0, 4));
    buffer.add(indexedStep(4, 3));
    const rng = new Rng(0);
    const seen = new Set<number>();
    for (let round = 0; round < 50; round++) {
      const batch = buffer.sample(7, rng);
      for (let j = 0; j < batch.size; j++) {
        const id = batch.actions[j];
        assert.ok(id >= 0 && id < 7);
        assert.equal(batch.indices[j], id);
        assert.equal(batch.observations[2 * j], id);
        assert.equal(batch.nextObservations[2 * j + 1], -id);
        assert.equal(batch.rewards[j], id / 2);
        assert.equal(batch.terminated[j], id % 3 === 0 ? 1 : 0);
        assert.equal(batch.truncated[j], id % 5 === 0 ? 1 : 0);
        assert.equal(batch.steps[j], 1);
        seen.add(id);
      }
    }
    assert.equal(seen.size, 7);
  });

  test("the done mask is terminated only: truncated rows bootstrap from their stored next observation", () => {
    const buffer = new ReplayBuffer({ capacity: 16, obsSize: 2 });
    buffer.add(indexedStep(0, 16));
    const batch = buffer.gather(Int32Array.from({ length: 16 }, (_, i) => i));
    for (let i = 0; i < 16; i++) assert.equal(batch.dones[i], i % 3 === 0 ? 1 : 0);
    assert.equal(batch.truncated[5], 1); // truncated, not terminated
    assert.equal(batch.dones[5], 0);
    assert.equal(batch.nextObservations[10], -5); // its final observation
  });

  test("after wrapping, samples see the newest capacity transitions and never the overwritten ones", () => {
    const buffer = new ReplayBuffer({ capacity: 6, obsSize: 2 });
    for (let t = 0; t < 5; t++) buffer.add(indexedStep(t * 4, 4)); // 20 transitions, last 6 kept: 14…19
    const rng = new Rng(1);
    const seen = new Set<number>();
    for (let round = 0; round < 100; round++) for (const id of buffer.sample(6, rng).actions) seen.add(id);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [14, 15, 16, 17, 18, 19],
    );
  });

  test("is uniform over the stored rows (chi-square, seed 2) and deterministic per seed", () => {
    const buffer = new ReplayBuffer({ capacity: 10, obsSize: 2 });
    buffer.add(indexedStep(0, 10));
    const counts = new Array(10).fill(0);
    const rng = new Rng(2);
    for (let round = 0; round < 2000; round++) for (const i of buffer.sample(10, rng).indices) counts[i]++;
    const expected = 2000;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    assert.ok(chi2 < 27.9, `chi2 ${chi2} (9 d.o.f.; 27.9 is the 0.999 quantile)`);
    assert.deepEqual(buffer.sample(8, new Rng(5)), buffer.sample(8, new Rng(5)));
  });

  test("rejects an empty buffer and batch sizes outside 1…size", () => {
    const buffer = new ReplayBuffer({ capacity: 10, obsSize: 2 });
    const rng = new Rng(0);
    assert.throws(() => buffer.sample(1, rng), code("INVALID_ARGUMENT"));
    buffer.add(indexedStep(0, 3));
    assert.throws(() => buffer.sample(4, rng), code("INVALID_ARGUMENT"));
    assert.throws(() => buffer.sample(0, rng), code("INVALID_ARGUMENT"));
    assert.throws(() => buffer.gather(Int32Array.of(3)), code("INVALID_ARGUMENT"));
    assert.equal(buffer.sample(3, rng).size, 3);
  });

  test("continuous actions are stored as float32 vectors", () => {
    const buffer = new ReplayBuffer({ capacity: 4, obsSize: 1, actionWidth: 2, actionDtype: "float32" });
    buffer.add({
      observations: Float32Array.of(0, 1),
      actions: Float32Array.of(0.5, -0.5, 1.5, -1.5),
      rewards: Float32Array.of(0, 1),
      nextObservations: Float32Array.of(1, 2),
      terminated: Uint8Array.of(0, 0),
      truncated: Uint8Array.of(0, 0),
    });
    const batch = buffer.gather(Int32Array.of(1, 0));
    assert.ok(batch.actions instanceof Float32Array);
    assert.deepEqual([...batch.actions], [1.5, -1.5, 0.5, -0.5]);
  });
});

describe("ReplayBuffer.state()", () => {
  test("round-trips through safetensors; sampling after restore equals sampling without the save", () => {
    const buffer = new ReplayBuffer({ capacity: 7, obsSize: 2 });
    for (let t = 0; t < 3; t++) buffer.add(indexedStep(t * 3, 3)); // wrapped: position 2
    const rng = new Rng(3);
    buffer.sample(4, rng); // advance the generator, as training would
    const saved = throughSafetensors(buffer.state());
    const savedRng = rng.getState();

    const restored = new ReplayBuffer({ capacity: 7, obsSize: 2 });
    restored.loadState(saved);
    assert.deepEqual([restored.size, restored.position], [buffer.size, buffer.position]);
    const restoredRng = new Rng(0);
    restoredRng.setState(savedRng);
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(restored.sample(5, restoredRng), buffer.sample(5, rng));
      buffer.add(indexedStep(100 + round, 1));
      restored.add(indexedStep(100 + round, 1));
    }
    assert.deepEqual(restored.observations, buffer.observations);
    assert.deepEqual(restored.terminated, buffer.terminated);
  });

  test("a partly filled buffer saves only its filled rows", () => {
    const buffer = new ReplayBuffer({ capacity: 100, obsSize: 2 });
    buffer.add(indexedStep(0, 3));
    const state = buffer.state();
    assert.deepEqual(state.tensors.observations.shape, [3, 2]);
    const restored = new ReplayBuffer({ capacity: 100, obsSize: 2 });
    restored.loadState(throughSafetensors(state));
    assert.deepEqual(restored.gather(Int32Array.of(0, 1, 2)), buffer.gather(Int32Array.of(0, 1, 2)));
  });

  test("refuses a state saved with other options or with missing tensors", () => {
    const buffer = new ReplayBuffer({ capacity: 4, obsSize: 2 });
    buffer.add(indexedStep(0, 2));
    const state = buffer.state();
    assert.throws(
      () => new ReplayBuffer({ capacity: 5, obsSize: 2 }).loadState(state),
      code("MALFORMED_FILE"),
    );
    assert.throws(
      () => new ReplayBuffer({ capacity: 4, obsSize: 3 }).loadState(state),
      code("MALFORMED_FILE"),
    );
    const { rewards: _, ...withoutRewards } = state.tensors;
    assert.throws(
      () => new ReplayBuffer({ capacity: 4, obsSize: 2 }).loadState({ ...state, tensors: withoutRewards }),
      code("MALFORMED_FILE"),
    );
    assert.throws(
      () =>
        new ReplayBuffer({ capacity: 4, obsSize: 2 }).loadState({
          ...state,
          json: { ...state.json, position: 3 },
        }),
      code("MALFORMED_FILE"),
    );
  });
});
