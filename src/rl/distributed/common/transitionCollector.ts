import type { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import type { Rng } from "../../../random/rng.js";
import type { QPolicy } from "../../common/qPolicy.js";
import { transitionNextObservations } from "../../common/transitionNext.js";
import { NStepAdder } from "../../replay/nStepAdder.js";
import type { TransitionBatch } from "../../replay/replayBuffer.js";
import { apexPriorities } from "./apexExploration.js";
import type { TransitionMessage } from "./transitionMessage.js";

/** What an Ape-X actor needs besides its env and network. */
export interface TransitionCollectorOptions {
  /** This actor's fixed ε ({@link apexEpsilon}). */
  epsilon: number;
  /** n of the n-step returns. */
  nStep: number;
  gamma: number;
  /** Vector-env steps per message (the paper's local buffer of 50 steps). */
  stepsPerMessage: number;
  runId: string;
  actorId: string;
  seed: number;
}

/**
 * An Ape-X actor's stepping loop (Horgan et al. 2018, Algorithm 1, actor): ε-greedy steps with the
 * actor's copy of the Q-network, n-step transitions from an {@link NStepAdder} (episode ends and
 * truncation handled as in the single-process DQN), and every `stepsPerMessage` steps the transitions
 * completed so far with their initial priorities ({@link apexPriorities}) computed by the same copy.
 * The same loop serves the in-process actors of `ApexDQN` and `proximal actor`, so the deterministic
 * learning tests exercise the code that runs across machines.
 */
export class TransitionCollector {
  private observations: Float32Array | null = null;
  private readonly adder: NStepAdder;

  constructor(
    private readonly env: VectorRecordEpisodeStatistics,
    /** The actor's network; the caller loads the learner's weights into `policy.qNet` between messages. */
    readonly policy: QPolicy,
    private readonly rng: Rng,
    private readonly options: TransitionCollectorOptions,
  ) {
    this.adder = new NStepAdder({
      nSteps: options.nStep,
      gamma: options.gamma,
      numEnvs: env.numEnvs,
      obsSize: policy.observationSize,
    });
  }

  /** Step `stepsPerMessage` times with weights of version `policyVersion`; the completed transitions. */
  collect(policyVersion: number): TransitionMessage {
    const env = this.env;
    const n = env.numEnvs;
    const obsSize = this.policy.observationSize;
    const nActions = this.policy.nActions;
    this.observations ??= env.reset({ seed: this.options.seed }).observations.slice();
    const parts: TransitionBatch[] = [];
    const episodeReturns: number[] = [];
    const episodeLengths: number[] = [];
    this.policy.eval();
    let current = this.observations;
    for (let t = 0; t < this.options.stepsPerMessage; t++) {
      const greedy = this.policy.greedyActions(this.policy.qValues(current, n), n);
      const actions = new Int32Array(n);
      // one ε draw per env: each env of the actor explores on its own (Algorithm 1, π_θ ε-greedy)
      for (let i = 0; i < n; i++)
        actions[i] = this.rng.uniform() < this.options.epsilon ? this.rng.integer(nActions) : greedy[i];
      const result = env.step(actions);
      const terminated = result.terminated.slice();
      const truncated = result.truncated.slice();
      const dones = new Uint8Array(n);
      for (let i = 0; i < n; i++) dones[i] = terminated[i] === 1 || truncated[i] === 1 ? 1 : 0;
      const transitionNext = transitionNextObservations(result, dones, obsSize);
      let next = result.observations;
      if (result.finalObservations === null && dones.some((d) => d === 1)) {
        // an env without same-step autoreset: reset the finished ones now
        next = env.reset({ options: { resetMask: dones } }).observations;
      }
      for (const episode of env.drainEpisodes()) {
        episodeReturns.push(episode.return);
        episodeLengths.push(episode.length);
      }
      const completed = this.adder.add({
        observations: current,
        actions,
        rewards: result.rewards.slice(),
        nextObservations: transitionNext,
        terminated,
        truncated,
      });
      if (completed.rewards.length > 0) parts.push(completed);
      current = next.slice(0, n * obsSize);
    }
    this.observations = current;
    const batch = concatBatches(parts, obsSize);
    const count = batch.rewards.length;
    const qTaken = new Float32Array(count);
    let priorities: Float32Array = new Float32Array(0);
    if (count > 0) {
      const q = this.policy.qValues(batch.observations, count);
      for (let i = 0; i < count; i++) qTaken[i] = q[i * nActions + batch.actions[i]];
      priorities = apexPriorities({
        qTaken,
        rewards: batch.rewards,
        dones: batch.terminated,
        steps: batch.steps,
        nextQTarget: this.policy.qValues(batch.nextObservations, count),
        nActions,
        gamma: this.options.gamma,
      });
    }
    return {
      runId: this.options.runId,
      actorId: this.options.actorId,
      policyVersion,
      count,
      observationSize: obsSize,
      batch,
      priorities,
      episodeReturns,
      episodeLengths,
    };
  }
}

/** The n-step adder's outputs of several steps as one batch. */
function concatBatches(parts: TransitionBatch[], obsSize: number): TransitionMessage["batch"] {
  const count = parts.reduce((s, p) => s + p.rewards.length, 0);
  const out: TransitionMessage["batch"] = {
    observations: new Float32Array(count * obsSize),
    nextObservations: new Float32Array(count * obsSize),
    actions: new Int32Array(count),
    rewards: new Float32Array(count),
    terminated: new Uint8Array(count),
    truncated: new Uint8Array(count),
    steps: new Int32Array(count),
  };
  let row = 0;
  for (const p of parts) {
    out.observations.set(p.observations, row * obsSize);
    out.nextObservations.set(p.nextObservations, row * obsSize);
    out.actions.set(p.actions, row);
    out.rewards.set(p.rewards, row);
    out.terminated.set(p.terminated, row);
    out.truncated.set(p.truncated, row);
    out.steps.set(p.steps ?? new Int32Array(p.rewards.length).fill(1), row);
    row += p.rewards.length;
  }
  return out;
}
