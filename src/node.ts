/**
 * proximal/node: the parts of proximal that only work in Node, behind their own entry point so that
 * the main entry ("proximal") bundles for browsers with no Node built-in in its graph.
 *
 * The main entry still saves to and loads from directories in Node (`model.save("runs/x")`,
 * `PPO.load("runs/x")`, `loadPreset(...)`): it reaches the file system at call time through
 * `process.getBuiltinModule` (see nodeBuiltin.ts), which bundlers cannot follow. What lives here is
 * what has no browser meaning at all: atomic file writes, model directories as archives, run logs,
 * and IMPALA, PPO with a bound on policy lag, Ape-X DQN and Ape-X D4PG with their actors across machines (a Redis client).
 */

export { writeFileAtomic, writeJsonAtomic } from "./io/atomicWrite.js";
export { packModelDirectory, unpackModelArchive } from "./io/modelDirectory.js";
export { DirectoryModelFiles } from "./io/modelFiles.js";
export type { ProgressPosition, ProgressRow } from "./io/progressLog.js";
export { ProgressLog, readProgress } from "./io/progressLog.js";
export { TfEventsWriter } from "./io/tfevents.js";
export type { ApexD4PGOptions } from "./rl/distributed/apexD4pg.js";
export { ApexD4PG } from "./rl/distributed/apexD4pg.js";
export type { ApexDQNOptions } from "./rl/distributed/apexDqn.js";
export { ApexDQN, apexEpsilon, apexPriorities } from "./rl/distributed/apexDqn.js";
export type { ApexPriorityInputs } from "./rl/distributed/common/apexExploration.js";
export type { RedisTransportOptions } from "./rl/distributed/common/redisTransport.js";
export { RedisTransport } from "./rl/distributed/common/redisTransport.js";
export type {
  ApexD4PGRunSpec,
  ApexRunSpec,
  RemoteActorOptions,
  RunSpec,
} from "./rl/distributed/common/remoteActor.js";
export { runRemoteActor } from "./rl/distributed/common/remoteActor.js";
export type { Trajectory, TrajectoryExpectation } from "./rl/distributed/common/trajectoryMessage.js";
export { decodeTrajectory, encodeTrajectory, StepEnd } from "./rl/distributed/common/trajectoryMessage.js";
export type { TransitionExpectation, TransitionMessage } from "./rl/distributed/common/transitionMessage.js";
export { decodeTransitions, encodeTransitions } from "./rl/distributed/common/transitionMessage.js";
export type { DeliveredMessage, PublishedWeights, Transport } from "./rl/distributed/common/transport.js";
export type { DistributedPPOOptions } from "./rl/distributed/distributedPpo.js";
export { DistributedPPO } from "./rl/distributed/distributedPpo.js";
export type { IMPALAOptions, ImpalaLossInputs } from "./rl/distributed/impala.js";
export { IMPALA, impalaLoss } from "./rl/distributed/impala.js";
