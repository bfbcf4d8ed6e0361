import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../../errors.js";
import {
  decodeTransitions,
  encodeTransitions,
  TRANSITION_SCHEMA,
  type TransitionMessage,
} from "./transitionMessage.js";

const expected = { runId: "run-a", observationSize: 2, nActions: 3, actionWidth: 1, maxSteps: 3 };

function message(): TransitionMessage {
  return {
    runId: "run-a",
    actorId: "actor-1",
    policyVersion: 7,
    count: 3,
    observationSize: 2,
    actionWidth: 1,
    batch: {
      observations: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
      nextObservations: Float32Array.from([1.1, 1.2, 1.3, 1.4, 1.5, 1 / 3]),
      actions: Int32Array.from([0, 2, 1]),
      rewards: Float32Array.from([1, 0.5, -2]),
      terminated: Uint8Array.from([0, 0, 1]),
      truncated: Uint8Array.from([0, 1, 0]),
      steps: Int32Array.from([3, 2, 1]),
    },
    priorities: Float32Array.from([0.25, 0, 3.5]),
    episodeReturns: [12.5],
    episodeLengths: [9],
  };
}

/** A copy of `bytes` with the JSON header's `field` replaced (same length kept by padding the JSON). */
function withHeader(bytes: Uint8Array, edit: (header: Record<string, unknown>) => void): Uint8Array {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  assert.ok(json.length <= length, "test helper: the edited header must not grow");
  const out = bytes.slice();
  out.fill(0x20, 8, 8 + length); // JSON allows trailing spaces
  out.set(json, 8);
  return out;
}

const rejected = (pattern: RegExp) => (e: unknown) =>
  e instanceof ProximalError && e.code === "MALFORMED_MESSAGE" && pattern.test(e.message);

describe("transition messages", () => {
  test("round trip: every array bit-exact, ids, version and episodes kept", () => {
    const m = message();
    const back = decodeTransitions(encodeTransitions(m), expected);
    assert.equal(back.actorId, "actor-1");
    assert.equal(back.policyVersion, 7);
    assert.equal(back.count, 3);
    assert.deepEqual(back.batch, m.batch);
    assert.deepEqual(back.priorities, m.priorities);
    assert.deepEqual(back.episodeReturns, [12.5]);
    assert.deepEqual(back.episodeLengths, [9]);
  });

  test("refuses to encode arrays of the wrong length", () => {
    const m = message();
    m.priorities = new Float32Array(2);
    assert.throws(
      () => encodeTransitions(m),
      (e: unknown) =>
        e instanceof ProximalError && e.code === "SHAPE_MISMATCH" && /priorities has 2/.test(e.message),
    );
  });

  test("rejects foreign, malformed and out-of-range messages, naming the problem", () => {
    const good = encodeTransitions(message());
    assert.throws(() => decodeTransitions(good, { ...expected, runId: "run-b" }), rejected(/run id "run-a"/));
    assert.throws(
      () => decodeTransitions(good, { ...expected, observationSize: 4 }),
      rejected(/observationSize 2/),
    );
    assert.throws(() => decodeTransitions(good, { ...expected, nActions: 2 }), rejected(/actions\[1\] is 2/));
    assert.throws(() => decodeTransitions(good, { ...expected, maxSteps: 2 }), rejected(/steps\[0\] is 3/));
    assert.throws(
      () =>
        decodeTransitions(
          withHeader(good, (h) => void (h.schema = TRANSITION_SCHEMA + 1)),
          expected,
        ),
      rejected(new RegExp(`schema ${TRANSITION_SCHEMA + 1}`)),
    );
    assert.throws(() => decodeTransitions(good.subarray(0, good.length - 1), expected), rejected(/bytes/));
    assert.throws(
      () => decodeTransitions(new TextEncoder().encode("hello world"), expected),
      rejected(/PXQ1/),
    );
    const nan = message();
    nan.batch.rewards[1] = Number.NaN;
    assert.throws(() => decodeTransitions(encodeTransitions(nan), expected), rejected(/rewards\[1\] is NaN/));
    const negative = message();
    negative.priorities[0] = -1;
    assert.throws(
      () => decodeTransitions(encodeTransitions(negative), expected),
      rejected(/priorities\[0\] is -1/),
    );
    const flag = message();
    flag.batch.terminated[0] = 2;
    assert.throws(() => decodeTransitions(encodeTransitions(flag), expected), rejected(/terminated\[0\]/));
  });

  test("Box actions: float32 rows of actionWidth round-trip bit-exact; outside [−1, 1], NaN or the wrong dtype are rejected", () => {
    const box = { ...expected, nActions: null, actionWidth: 2 };
    const m = message();
    m.actionWidth = 2;
    m.batch.actions = Float32Array.from([0.5, -1, 1, 1 / 3, -0.25, 0]);
    const back = decodeTransitions(encodeTransitions(m), box);
    assert.equal(back.actionWidth, 2);
    assert.deepEqual(back.batch.actions, m.batch.actions);
    assert.deepEqual(back.batch.observations, m.batch.observations);
    assert.throws(() => decodeTransitions(encodeTransitions(m), expected), rejected(/actionWidth 2/));
    assert.throws(
      () => decodeTransitions(encodeTransitions(message()), { ...box, actionWidth: 1 }),
      rejected(/actionDtype "I32", expected "F32"/),
    );
    const outside = { ...m, batch: { ...m.batch, actions: Float32Array.from([0, 0, 1.5, 0, 0, 0]) } };
    assert.throws(() => decodeTransitions(encodeTransitions(outside), box), rejected(/actions\[2\] is 1.5/));
    const nan = { ...m, batch: { ...m.batch, actions: Float32Array.from([0, 0, 0, Number.NaN, 0, 0]) } };
    assert.throws(() => decodeTransitions(encodeTransitions(nan), box), rejected(/actions\[3\] is NaN/));
  });

  test("an IMPALA trajectory is not a transition message", async () => {
    const { encodeTrajectory } = await import("./trajectoryMessage.js");
    const trajectory = encodeTrajectory({
      runId: "run-a",
      actorId: "a",
      policyVersion: 0,
      numEnvs: 1,
      nSteps: 1,
      observationSize: 2,
      actionWidth: 1,
      observations: new Float32Array(2),
      actions: new Int32Array(1),
      rewards: new Float32Array(1),
      ends: new Uint8Array(1),
      behaviourLogProbs: new Float32Array(1),
      finalObservations: new Float32Array(0),
      nextObservations: new Float32Array(2),
      episodeReturns: [],
      episodeLengths: [],
    });
    assert.throws(() => decodeTransitions(trajectory, expected), rejected(/PXQ1/));
  });
});
