// Public-API test of the replay layer: a vector env feeds an n-step adder and a prioritised buffer,
// the way an off-policy collector will (issue #12).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { betaSchedule, make, NStepAdder, PrioritizedReplayBuffer, Rng } from "proximal";

describe("replay buffers fed by a vector env", () => {
  test("keep every step, store truncations' final observations and sample with weights", () => {
    const numEnvs = 2;
    const env = make("CartPole-v1", { numEnvs, seed: 0, autoresetMode: "same-step", maxEpisodeSteps: 12 });
    const obsSize = 4;
    const adder = new NStepAdder({ nSteps: 3, gamma: 0.99, numEnvs, obsSize });
    const buffer = new PrioritizedReplayBuffer({ capacity: 1000, obsSize });
    const rng = new Rng(0);
    let { observations } = env.reset({ seed: 0 });
    let stored = 0;
    let truncations = 0;
    const steps = 100;
    for (let t = 0; t < steps; t++) {
      const actions = Int32Array.from({ length: numEnvs }, () => rng.integer(2));
      const result = env.step(actions);
      // where an episode ended, the transition leads to its final observation, not the reset one
      const nextObservations = result.observations.slice();
      for (let e = 0; e < numEnvs; e++) {
        if (result.terminated[e] || result.truncated[e]) {
          nextObservations.set(
            result.finalObservations.subarray(e * obsSize, (e + 1) * obsSize),
            e * obsSize,
          );
        }
      }
      const batch = adder.add({
        observations: observations.slice(0, numEnvs * obsSize),
        actions,
        rewards: Float32Array.from(result.rewards),
        nextObservations,
        terminated: Uint8Array.from(result.terminated),
        truncated: Uint8Array.from(result.truncated),
      });
      for (let j = 0; j < batch.rewards.length; j++) {
        if (batch.truncated[j] && !batch.terminated[j]) {
          truncations++;
          assert.ok(batch.steps[j] <= 3);
        }
      }
      stored += buffer.add(batch).length;
      observations = result.observations;
    }
    assert.ok(truncations > 0, "the 12-step time limit should truncate some random episodes");
    assert.equal(stored + adder.pending(0) + adder.pending(1), steps * numEnvs);
    const sample = buffer.sample(32, rng, betaSchedule(0.4)(0.5));
    assert.equal(sample.weights.length, 32);
    assert.ok(sample.weights.every((w) => w > 0 && w <= 1));
    env.close?.();
  });
});
