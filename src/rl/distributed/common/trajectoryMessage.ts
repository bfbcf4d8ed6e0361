/**
 * The trajectory an actor sends to the learner, and its wire format.
 *
 * A message is `"PXT1"`, a little-endian u32 header length, a JSON header (run id, schema, sizes,
 * the episodes that ended), zero padding to a multiple of 4, then the arrays back to back in a fixed
 * order. Binary arrays, not JSON numbers: a 128-step CartPole trajectory is 3.8 kB instead of ~15 kB,
 * and float32 values arrive bit-exact.
 *
 * {@link decodeTrajectory} checks everything a learner relies on before it touches a number: the
 * magic, the schema version, the run id, every size against the learner's env, the exact byte
 * length, finite values, actions inside the action space. A message that fails any check is a
 * `MALFORMED_MESSAGE` error naming the field; the learner counts it and drops it.
 */
import { ProximalError } from "../../../errors.js";
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
export const TRAJECTORY_SCHEMA = 1;
const MAGIC = [0x50, 0x58, 0x54, 0x31]; // "PXT1"

/** How each step of a trajectory ended (Gymnasium's two flags as one byte). */
export const StepEnd = { running: 0, terminated: 1, truncated: 2 } as const;

/** `nSteps` steps of `numEnvs` envs collected by one actor with one version of the weights. */
export interface Trajectory {
  runId: string;
  actorId: string;
  /** Version of the weights the behaviour policy μ had when it acted (for the policy lag). */
  policyVersion: number;
  numEnvs: number;
  nSteps: number;
  observationSize: number;
  /** Numbers per action: 1 for Discrete, the dimension for Box. */
  actionWidth: number;
  /** Observations x_t, `[nSteps * numEnvs * observationSize]`, step-major. */
  observations: Float32Array;
  /** a_t, `[nSteps * numEnvs * actionWidth]`; Int32Array for discrete actions. */
  actions: Int32Array | Float32Array;
  /** r_t, `[nSteps * numEnvs]`. */
  rewards: Float32Array;
  /** {@link StepEnd} per step, `[nSteps * numEnvs]`. */
  ends: Uint8Array;
  /** log μ(a_t|x_t) at acting time, `[nSteps * numEnvs]`. */
  behaviourLogProbs: Float32Array;
  /** The last observation of each truncated episode, in step-major order of the truncated steps. */
  finalObservations: Float32Array;
  /** x_T, the observation after the last step of each env (the bootstrap), `[numEnvs * observationSize]`. */
  nextObservations: Float32Array;
  /** Returns and lengths of the episodes that ended in this trajectory. */
  episodeReturns: number[];
  episodeLengths: number[];
}

/** What the learner expects of every trajectory (from its env and run). */
export interface TrajectoryExpectation {
  runId: string;
  observationSize: number;
  actionWidth: number;
  /** Number of discrete actions, or null for continuous actions. */
  discreteActions: number | null;
}

/** The JSON header: the trajectory's scalars, plus what the reader needs to size the arrays. */
type Header = Pick<
  Trajectory,
  | "runId"
  | "actorId"
  | "policyVersion"
  | "numEnvs"
  | "nSteps"
  | "observationSize"
  | "actionWidth"
  | "episodeReturns"
  | "episodeLengths"
> & { schema: number; actionDtype: "I32" | "F32"; truncatedSteps: number };

/** Serialise a trajectory (checks its array lengths first). */
export function encodeTrajectory(trajectory: Trajectory): Uint8Array {
  const t = trajectory;
  const steps = t.nSteps * t.numEnvs;
  let truncatedSteps = 0;
  for (const end of t.ends) if (end === StepEnd.truncated) truncatedSteps++;
  const lengths: [string, number, number][] = [
    ["observations", t.observations.length, steps * t.observationSize],
    ["actions", t.actions.length, steps * t.actionWidth],
    ["rewards", t.rewards.length, steps],
    ["ends", t.ends.length, steps],
    ["behaviourLogProbs", t.behaviourLogProbs.length, steps],
    ["finalObservations", t.finalObservations.length, truncatedSteps * t.observationSize],
    ["nextObservations", t.nextObservations.length, t.numEnvs * t.observationSize],
  ];
  for (const [name, actual, expected] of lengths) {
    if (actual !== expected) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `encodeTrajectory: ${name} has ${actual} values, expected ${expected} (nSteps ${t.nSteps}, numEnvs ${t.numEnvs}, observationSize ${t.observationSize}, actionWidth ${t.actionWidth}).`,
      );
    }
  }
  const header: Header = {
    schema: TRAJECTORY_SCHEMA,
    runId: t.runId,
    actorId: t.actorId,
    policyVersion: t.policyVersion,
    numEnvs: t.numEnvs,
    nSteps: t.nSteps,
    observationSize: t.observationSize,
    actionWidth: t.actionWidth,
    actionDtype: t.actions instanceof Int32Array ? "I32" : "F32",
    truncatedSteps,
    episodeReturns: t.episodeReturns,
    episodeLengths: t.episodeLengths,
  };
  return writeMessage(MAGIC, header, [
    t.observations,
    t.actions,
    t.rewards,
    t.behaviourLogProbs,
    t.finalObservations,
    t.nextObservations,
    t.ends, // last: the only one whose length is not a multiple of 4
  ]);
}

const KIND = "trajectory";

/**
 * Parse and validate a message against what the learner expects.
 * @throws {@link ProximalError} `MALFORMED_MESSAGE` naming the first problem found.
 */
export function decodeTrajectory(bytes: Uint8Array, expected: TrajectoryExpectation): Trajectory {
  const { data, header: h, headerEnd } = readMessage(bytes, MAGIC, KIND);
  const actorId = checkIdentity(KIND, h, TRAJECTORY_SCHEMA, expected.runId);
  const policyVersion = checkCount(KIND, h, "policyVersion", 0);
  const numEnvs = checkCount(KIND, h, "numEnvs", 1);
  const nSteps = checkCount(KIND, h, "nSteps", 1);
  const observationSize = checkCount(KIND, h, "observationSize", 1);
  const actionWidth = checkCount(KIND, h, "actionWidth", 1);
  const truncatedSteps = checkCount(KIND, h, "truncatedSteps", 0);
  if (observationSize !== expected.observationSize || actionWidth !== expected.actionWidth) {
    throw malformed(
      KIND,
      `observationSize ${observationSize} and actionWidth ${actionWidth} do not match the learner's env (${expected.observationSize} and ${expected.actionWidth}): the actor runs another env.`,
    );
  }
  const actionDtype = expected.discreteActions === null ? "F32" : "I32";
  if (h.actionDtype !== actionDtype)
    throw malformed(KIND, `actionDtype ${JSON.stringify(h.actionDtype)}, expected "${actionDtype}".`);
  const { episodeReturns, episodeLengths } = checkEpisodes(KIND, h);
  const steps = nSteps * numEnvs;
  const sizes = {
    observations: steps * observationSize,
    actions: steps * actionWidth,
    rewards: steps,
    behaviourLogProbs: steps,
    finalObservations: truncatedSteps * observationSize,
    nextObservations: numEnvs * observationSize,
  };
  const floats = Object.values(sizes).reduce((a, b) => a + b, 0);
  const expectedBytes = headerEnd + 4 * floats + steps;
  if (data.length !== expectedBytes) {
    throw malformed(KIND, `it is ${data.length} bytes, but its header describes ${expectedBytes}.`);
  }
  let offset = headerEnd;
  const take = <T>(n: number, make: (buffer: ArrayBuffer, offset: number, n: number) => T): T => {
    const view = make(data.buffer, offset, n);
    offset += 4 * n;
    return view;
  };
  const f32 = (b: ArrayBuffer, o: number, n: number) => new Float32Array(b, o, n);
  const observations = take(sizes.observations, f32);
  const actions =
    actionDtype === "I32"
      ? take(sizes.actions, (b, o, n) => new Int32Array(b, o, n))
      : take(sizes.actions, f32);
  const rewards = take(sizes.rewards, f32);
  const behaviourLogProbs = take(sizes.behaviourLogProbs, f32);
  const finalObservations = take(sizes.finalObservations, f32);
  const nextObservations = take(sizes.nextObservations, f32);
  const ends = new Uint8Array(data.buffer, offset, steps);
  checkFinite(KIND, "observations", observations);
  checkFinite(KIND, "rewards", rewards);
  checkFinite(KIND, "finalObservations", finalObservations);
  checkFinite(KIND, "nextObservations", nextObservations);
  // a log-probability is ≤ 0 for discrete actions; densities can exceed 1, so only finiteness for Box
  checkFinite(KIND, "behaviourLogProbs", behaviourLogProbs);
  if (actions instanceof Float32Array) checkFinite(KIND, "actions", actions);
  else checkDiscreteActions(KIND, actions, expected.discreteActions ?? 0);
  let truncatedCount = 0;
  for (let i = 0; i < steps; i++) {
    if (ends[i] > StepEnd.truncated) throw malformed(KIND, `ends[${i}] is ${ends[i]}, expected 0, 1 or 2.`);
    if (ends[i] === StepEnd.truncated) truncatedCount++;
  }
  if (truncatedCount !== truncatedSteps) {
    throw malformed(
      KIND,
      `${truncatedCount} steps are marked truncated, but the header says ${truncatedSteps}.`,
    );
  }
  return {
    runId: expected.runId,
    actorId,
    policyVersion,
    numEnvs,
    nSteps,
    observationSize,
    actionWidth,
    observations,
    actions,
    rewards,
    ends,
    behaviourLogProbs,
    finalObservations,
    nextObservations,
    episodeReturns,
    episodeLengths,
  };
}
