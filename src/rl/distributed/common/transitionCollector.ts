import type { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import type { Module } from "../../../nn/module.js";
import type { Rng } from "../../../random/rng.js";
import { transitionNextObservations } from "../../common/transitionNext.js";
import { NStepAdder } from "../../replay/nStepAdder.js";
import type { TransitionBatch } from "../../replay/replayBuffer.js";
import type { TransitionMessage } from "./transitionMessage.js";

/**
 * How an Ape-X actor acts and rates what it collected: Ape-X DQN's ε-greedy Q-network
 * (`apexDqnActing`), Ape-X D4PG's deterministic actor with exploration noise (`apexD4pgActing`).
 */
export interface TransitionActing {
  /** The network the learner's published weights are loaded into. */
  readonly network: Module;
  readonly observationSize: number;
  /** Numbers per action: 1 for Discrete, the dimension for Box. */
  readonly actionWidth: number;
  readonly actionDtype: "int32" | "float32";
  /**
   * Actions for `n` envs at `observations`: what the env is given, and what the replay stores
   * (the same for Discrete; scaled to [−1, 1] for Box).
   */
  act(
    observations: Float32Array,
    n: number,
    rng: Rng,
  ): { envActions: Int32Array | Float32Array; bufferActions: Int32Array | Float32Array };
  /** The envs whose episode ended on the last step (1 = ended): resets per-episode state such as correlated noise. */
  episodesDone(dones: Uint8Array): void;
  /** Initial priorities of `count` completed n-step transitions (Horgan et al. 2018, Algorithm 1, line 9). */
  priorities(batch: TransitionMessage["batch"], count: number): Float32Array;
}

/** What an Ape-X actor needs besides its env and its way of acting. */
export interface TransitionCollectorOptions {
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
 * An Ape-X actor's stepping loop (Horgan et al. 2018, Algorithm 1, actor): steps chosen by its
 * {@link TransitionActing} with the actor's copy of the network, n-step transitions from an
 * {@link NStepAdder} (episode ends and truncation handled as in the single-process DQN and D4PG),
 * and every `stepsPerMessage` steps the transitions completed so far with their initial priorities
 * computed by the same copy. The same loop serves the in-process actors of `ApexDQN` and
 * `ApexD4PG` and `proximal actor`, so the deterministic learning tests exercise the code that runs
 * across machines.
 */
export class TransitionCollector {
  private observations: Float32Array | null = null;
  private readonly adder: NStepAdder;

  constructor(
    private readonly env: VectorRecordEpisodeStatistics,
    /** How the actor acts; the caller loads the learner's weights into `acting.network` between messages. */
    readonly acting: TransitionActing,
    private readonly rng: Rng,
    private readonly options: TransitionCollectorOptions,
  ) {
    this.adder = new NStepAdder({
      nSteps: options.nStep,
      gamma: options.gamma,
      numEnvs: env.numEnvs,
      obsSize: acting.observationSize,
      actionWidth: acting.actionWidth,
      actionDtype: acting.actionDtype,
    });
  }

  /** Step `stepsPerMessage` times with weights of version `policyVersion`; the completed transitions. */
  collect(policyVersion: number): TransitionMessage {
    const env = this.env;
    const n = env.numEnvs;
    const acting = this.acting;
    const obsSize = acting.observationSize;
    this.observations ??= env.reset({ seed: this.options.seed }).observations.slice();
    const parts: TransitionBatch[] = [];
    const episodeReturns: number[] = [];
    const episodeLengths: number[] = [];
    acting.network.eval();
    let current = this.observations;
    for (let t = 0; t < this.options.stepsPerMessage; t++) {
      const { envActions, bufferActions } = acting.act(current, n, this.rng);
      const result = env.step(envActions);
      const terminated = result.terminated.slice();
      const truncated = result.truncated.slice();
      const dones = new Uint8Array(n);
      for (let i = 0; i < n; i++) dones[i] = terminated[i] === 1 || truncated[i] === 1 ? 1 : 0;
      const transitionNext = transitionNextObservations(result, dones, obsSize);
      let next = result.observations;
      if (dones.some((d) => d === 1)) {
        acting.episodesDone(dones);
        // an env without same-step autoreset: reset the finished ones now
        if (result.finalObservations === null)
          next = env.reset({ options: { resetMask: dones } }).observations;
      }
      for (const episode of env.drainEpisodes()) {
        episodeReturns.push(episode.return);
        episodeLengths.push(episode.length);
      }
      const completed = this.adder.add({
        observations: current,
        actions: bufferActions,
        rewards: result.rewards.slice(),
        nextObservations: transitionNext,
        terminated,
        truncated,
      });
      if (completed.rewards.length > 0) parts.push(completed);
      current = next.slice(0, n * obsSize);
    }
    this.observations = current;
    const batch = concatBatches(parts, obsSize, acting);
    const count = batch.rewards.length;
    return {
      runId: this.options.runId,
      actorId: this.options.actorId,
      policyVersion,
      count,
      observationSize: obsSize,
      actionWidth: acting.actionWidth,
      batch,
      priorities: count > 0 ? acting.priorities(batch, count) : new Float32Array(0),
      episodeReturns,
      episodeLengths,
    };
  }
}

/** The n-step adder's outputs of several steps as one batch. */
function concatBatches(
  parts: TransitionBatch[],
  obsSize: number,
  action: { actionWidth: number; actionDtype: "int32" | "float32" },
): TransitionMessage["batch"] {
  const count = parts.reduce((s, p) => s + p.rewards.length, 0);
  const width = action.actionWidth;
  const out: TransitionMessage["batch"] = {
    observations: new Float32Array(count * obsSize),
    nextObservations: new Float32Array(count * obsSize),
    actions: action.actionDtype === "int32" ? new Int32Array(count * width) : new Float32Array(count * width),
    rewards: new Float32Array(count),
    terminated: new Uint8Array(count),
    truncated: new Uint8Array(count),
    steps: new Int32Array(count),
  };
  let row = 0;
  for (const p of parts) {
    out.observations.set(p.observations, row * obsSize);
    out.nextObservations.set(p.nextObservations, row * obsSize);
    out.actions.set(p.actions, row * width);
    out.rewards.set(p.rewards, row);
    out.terminated.set(p.terminated, row);
    out.truncated.set(p.truncated, row);
    out.steps.set(p.steps ?? new Int32Array(p.rewards.length).fill(1), row);
    row += p.rewards.length;
  }
  return out;
}
