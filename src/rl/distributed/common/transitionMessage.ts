/**
 * The n-step transitions an Ape-X actor sends to the learner (Horgan et al. 2018, arXiv:1803.00933,
 * Algorithm 1: actors compute the initial priorities and add transitions with them to the shared
 * replay), and their wire format: the envelope of `wireFormat.ts` behind the magic `"PXQ1"`, a JSON
 * header (run id, schema, sizes, the episodes that ended) and the arrays observations,
 * nextObservations, rewards, priorities (float32), actions (int32 for Ape-X DQN's Discrete actions,
 * float32 in [−1, 1] for Ape-X D4PG's scaled Box actions, `actionWidth` per transition), steps
 * (int32), terminated, truncated (u8).
 *
 * {@link decodeTransitions} checks everything the learner relies on before a transition reaches the
 * replay buffer: the magic, the schema, the run id, the sizes against the learner's env, the exact
 * byte length, finite values, actions inside Discrete(n) or [−1, 1], priorities ≥ 0, steps within
 * 1 … nStep and flags 0 or 1. A message that fails any check is a `MALFORMED_MESSAGE` error naming the field; the
 * learner counts it and drops it.
 */
import { ProximalError } from "../../../errors.js";
import type { TransitionBatch } from "../../replay/replayBuffer.js";
import {
  checkCount,
  checkDiscreteActions,
  checkEpisodes,
  checkFinite,
  checkIdentity,
  malformed,
  readMessage,
  writeMessage,
} from "./wireFormat.js";

/** Bumped whenever the layout changes; a learner rejects any other. */
export const TRANSITION_SCHEMA = 2; // 2: actionWidth and float32 actions
const MAGIC = [0x50, 0x58, 0x51, 0x31]; // "PXQ1"
const KIND = "transition";

/** `count` n-step transitions collected by one actor with one version of the weights. */
export interface TransitionMessage {
  runId: string;
  actorId: string;
  /** Version of the weights the actor acted (and computed priorities) with. */
  policyVersion: number;
  count: number;
  observationSize: number;
  /** Numbers per action: 1 for Discrete, the dimension for Box. */
  actionWidth: number;
  /**
   * The transitions, as the replay buffer stores them (`steps` always present; no action masks):
   * Int32Array actions for Discrete, Float32Array scaled to [−1, 1] for Box, `[count * actionWidth]`.
   */
  batch: Required<Omit<TransitionBatch, "nextActionMasks">>;
  /** Initial priorities `|δ_i|` computed by the actor ({@link apexPriorities}), `[count]`. */
  priorities: Float32Array;
  /** Returns and lengths of the episodes that ended while the actor collected these transitions. */
  episodeReturns: number[];
  episodeLengths: number[];
}

/** What the learner expects of every transition message (from its env and run). */
export interface TransitionExpectation {
  runId: string;
  observationSize: number;
  /** Number of discrete actions, or null for Box actions (float32, scaled to [−1, 1]). */
  nActions: number | null;
  /** Numbers per action: 1 for Discrete, the dimension for Box. */
  actionWidth: number;
  /** Largest `steps` a transition may have (the run's n). */
  maxSteps: number;
}

/** Serialise transitions (checks the array lengths first). */
export function encodeTransitions(message: TransitionMessage): Uint8Array {
  const m = message;
  const b = m.batch;
  const lengths: [string, number, number][] = [
    ["observations", b.observations.length, m.count * m.observationSize],
    ["nextObservations", b.nextObservations.length, m.count * m.observationSize],
    ["rewards", b.rewards.length, m.count],
    ["priorities", m.priorities.length, m.count],
    ["actions", b.actions.length, m.count * m.actionWidth],
    ["steps", b.steps.length, m.count],
    ["terminated", b.terminated.length, m.count],
    ["truncated", b.truncated.length, m.count],
  ];
  for (const [name, actual, expected] of lengths) {
    if (actual !== expected) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `encodeTransitions: ${name} has ${actual} values, expected ${expected} (count ${m.count}, observationSize ${m.observationSize}, actionWidth ${m.actionWidth}).`,
      );
    }
  }
  const header = {
    schema: TRANSITION_SCHEMA,
    runId: m.runId,
    actorId: m.actorId,
    policyVersion: m.policyVersion,
    count: m.count,
    observationSize: m.observationSize,
    actionWidth: m.actionWidth,
    actionDtype: b.actions instanceof Int32Array ? "I32" : "F32",
    episodeReturns: m.episodeReturns,
    episodeLengths: m.episodeLengths,
  };
  return writeMessage(MAGIC, header, [
    b.observations,
    b.nextObservations,
    b.rewards,
    m.priorities,
    b.actions,
    b.steps,
    b.terminated, // the byte arrays last: their lengths need not be multiples of 4
    b.truncated,
  ]);
}

/**
 * Parse and validate a transition message against what the learner expects.
 * @throws {@link ProximalError} `MALFORMED_MESSAGE` naming the first problem found.
 */
export function decodeTransitions(bytes: Uint8Array, expected: TransitionExpectation): TransitionMessage {
  const { data, header: h, headerEnd } = readMessage(bytes, MAGIC, KIND);
  const actorId = checkIdentity(KIND, h, TRANSITION_SCHEMA, expected.runId);
  const policyVersion = checkCount(KIND, h, "policyVersion", 0);
  const count = checkCount(KIND, h, "count", 1);
  const observationSize = checkCount(KIND, h, "observationSize", 1);
  const actionWidth = checkCount(KIND, h, "actionWidth", 1);
  if (observationSize !== expected.observationSize || actionWidth !== expected.actionWidth) {
    throw malformed(
      KIND,
      `observationSize ${observationSize} and actionWidth ${actionWidth} do not match the learner's env (${expected.observationSize} and ${expected.actionWidth}): the actor runs another env.`,
    );
  }
  const actionDtype = expected.nActions === null ? "F32" : "I32";
  if (h.actionDtype !== actionDtype)
    throw malformed(KIND, `actionDtype ${JSON.stringify(h.actionDtype)}, expected "${actionDtype}".`);
  const { episodeReturns, episodeLengths } = checkEpisodes(KIND, h);
  const obsValues = count * observationSize;
  const actionValues = count * actionWidth;
  const expectedBytes = headerEnd + 4 * (2 * obsValues + 3 * count + actionValues) + 2 * count;
  if (data.length !== expectedBytes) {
    throw malformed(KIND, `it is ${data.length} bytes, but its header describes ${expectedBytes}.`);
  }
  let offset = headerEnd;
  const f32 = (n: number) => {
    const view = new Float32Array(data.buffer, offset, n);
    offset += 4 * n;
    return view;
  };
  const i32 = (n: number) => {
    const view = new Int32Array(data.buffer, offset, n);
    offset += 4 * n;
    return view;
  };
  const observations = f32(obsValues);
  const nextObservations = f32(obsValues);
  const rewards = f32(count);
  const priorities = f32(count);
  const actions = actionDtype === "I32" ? i32(actionValues) : f32(actionValues);
  const steps = i32(count);
  const terminated = new Uint8Array(data.buffer, offset, count);
  const truncated = new Uint8Array(data.buffer, offset + count, count);
  checkFinite(KIND, "observations", observations);
  checkFinite(KIND, "nextObservations", nextObservations);
  checkFinite(KIND, "rewards", rewards);
  checkFinite(KIND, "priorities", priorities);
  if (actions instanceof Int32Array) checkDiscreteActions(KIND, actions, expected.nActions ?? 0);
  else {
    checkFinite(KIND, "actions", actions);
    // the replay stores Box actions scaled to [−1, 1] (clipped by the actor, as the learner's own buffer)
    for (let i = 0; i < actions.length; i++) {
      if (actions[i] < -1 || actions[i] > 1)
        throw malformed(KIND, `actions[${i}] is ${actions[i]}, outside the scaled action range [−1, 1].`);
    }
  }
  for (let i = 0; i < count; i++) {
    if (priorities[i] < 0)
      throw malformed(KIND, `priorities[${i}] is ${priorities[i]}, a priority is |δ| >= 0.`);
    if (steps[i] < 1 || steps[i] > expected.maxSteps) {
      throw malformed(
        KIND,
        `steps[${i}] is ${steps[i]}, outside 1 … ${expected.maxSteps} (the run's nStep).`,
      );
    }
    if (terminated[i] > 1 || truncated[i] > 1) {
      throw malformed(
        KIND,
        `terminated[${i}] / truncated[${i}] are ${terminated[i]} / ${truncated[i]}, expected 0 or 1.`,
      );
    }
  }
  return {
    runId: expected.runId,
    actorId,
    policyVersion,
    count,
    observationSize,
    actionWidth,
    batch: { observations, actions, rewards, nextObservations, terminated, truncated, steps },
    priorities,
    episodeReturns,
    episodeLengths,
  };
}
