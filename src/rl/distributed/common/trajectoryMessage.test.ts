import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../../errors.js";
import { decodeTrajectory, encodeTrajectory, StepEnd, type Trajectory } from "./trajectoryMessage.js";

/** A CartPole-shaped trajectory: 2 envs, 3 steps, env 1 truncated at step 1. */
export function sampleTrajectory(overrides: Partial<Trajectory> = {}): Trajectory {
  const steps = 6;
  return {
    runId: "run-a",
    actorId: "actor-0",
    policyVersion: 3,
    numEnvs: 2,
    nSteps: 3,
    observationSize: 4,
    actionWidth: 1,
    observations: Float32Array.from({ length: steps * 4 }, (_, i) => i / 10),
    actions: Int32Array.from([0, 1, 1, 0, 1, 1]),
    rewards: Float32Array.from([1, 1, 1, 1, 1, 1]),
    ends: Uint8Array.from([0, 0, 0, StepEnd.truncated, StepEnd.terminated, 0]),
    behaviourLogProbs: Float32Array.from([-0.7, -0.6, -0.65, -0.69, -0.1, -2]),
    finalObservations: Float32Array.from([9, 8, 7, 6]),
    nextObservations: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
    episodeReturns: [2, 3],
    episodeLengths: [2, 3],
    ...overrides,
  };
}

const expectation = { runId: "run-a", observationSize: 4, actionWidth: 1, discreteActions: 2 };

function rejects(bytes: Uint8Array, pattern: RegExp, expected = expectation): void {
  assert.throws(
    () => decodeTrajectory(bytes, expected),
    (e: unknown) => e instanceof ProximalError && e.code === "MALFORMED_MESSAGE" && pattern.test(e.message),
  );
}

describe("trajectory messages", () => {
  test("round-trip bit-exact, every array in place", () => {
    const t = sampleTrajectory();
    const back = decodeTrajectory(encodeTrajectory(t), expectation);
    assert.deepEqual(back, t);
    assert.ok(back.actions instanceof Int32Array);
  });

  test("a 128-step CartPole trajectory is under 4 kB", () => {
    const n = 128;
    const t = sampleTrajectory({
      numEnvs: 1,
      nSteps: n,
      observations: new Float32Array(n * 4),
      actions: new Int32Array(n),
      rewards: new Float32Array(n),
      ends: new Uint8Array(n),
      behaviourLogProbs: new Float32Array(n),
      finalObservations: new Float32Array(0),
      nextObservations: new Float32Array(4),
    });
    const bytes = encodeTrajectory(t).length;
    assert.ok(bytes > n * 29 && bytes < 4000, `${bytes} bytes`);
  });

  test("rejects a foreign run, another schema, another env, a wrong length, bad values", () => {
    const good = encodeTrajectory(sampleTrajectory());
    rejects(
      encodeTrajectory(sampleTrajectory({ runId: "run-b" })),
      /run id "run-b" is not this learner's run "run-a"/,
    );
    rejects(good, /observationSize 4 and actionWidth 1 do not match the learner's env \(8 and 1\)/, {
      ...expectation,
      observationSize: 8,
    });
    rejects(good.subarray(0, good.length - 1), /bytes, but its header describes/);
    rejects(new TextEncoder().encode("hello, learner"), /"PXT1" magic/);
    rejects(new Uint8Array(0), /"PXT1" magic/);
    rejects(
      encodeTrajectory(sampleTrajectory({ actions: Int32Array.from([0, 1, 2, 0, 1, 1]) })),
      /actions\[2\] is 2, outside Discrete\(2\)/,
    );
    rejects(
      encodeTrajectory(sampleTrajectory({ rewards: Float32Array.from([1, Number.NaN, 1, 1, 1, 1]) })),
      /rewards\[1\] is NaN/,
    );
    // a schema bump: rewrite the header's schema field in place (same length, so only the check can catch it)
    const bumped = good.slice();
    const at = Buffer.from(bumped).indexOf('"schema":1') + '"schema":'.length;
    assert.equal(bumped[at], "1".charCodeAt(0));
    bumped[at] = "9".charCodeAt(0);
    rejects(bumped, /schema 9, this learner reads schema 1/);
    // a corrupt header
    const corrupt = good.slice();
    corrupt[9] = 0xff;
    rejects(corrupt, /header is not JSON/);
  });

  test("encode checks the array lengths", () => {
    assert.throws(
      () => encodeTrajectory(sampleTrajectory({ finalObservations: new Float32Array(0) })),
      (e: unknown) =>
        e instanceof ProximalError &&
        e.code === "SHAPE_MISMATCH" &&
        /finalObservations has 0 values, expected 4/.test(e.message),
    );
  });
});
