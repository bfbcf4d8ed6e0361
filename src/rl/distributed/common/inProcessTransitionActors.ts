import type { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import type { Rng } from "../../../random/rng.js";
import { type TransitionActing, TransitionCollector } from "./transitionCollector.js";
import type { TransitionMessage } from "./transitionMessage.js";
import type { PublishedWeights } from "./transport.js";
import { loadWeights } from "./weightsMessage.js";

/**
 * Ape-X's actors simulated in one process, deterministically (as IMPALA's `InProcessActors`): in
 * each round every actor loads the learner's last published weights if they changed, then each
 * collects one message of transitions with its copy and its own way of acting (Ape-X DQN: its ε
 * from the ladder; Ape-X D4PG: its noise). Actors therefore act with weights up to
 * `publishInterval` updates old, as remote ones do, but on a fixed schedule, so a seed gives the
 * same run every time.
 *
 * Actor k steps env `envs[k]` (made by `InProcessActors.makeEnvs`, seeded `seed + 7919·k`) with its
 * own generator.
 */
export class InProcessTransitionActors {
  private readonly collectors: TransitionCollector[];
  private readonly loaded: number[];

  constructor(options: {
    envs: VectorRecordEpisodeStatistics[];
    /** Builds actor k's way of acting, around its own copy of the learner's network. */
    createActing: (k: number, numActors: number) => TransitionActing;
    rng: Rng;
    stepsPerMessage: number;
    nStep: number;
    gamma: number;
    runId: string;
    seed: number;
  }) {
    const n = options.envs.length;
    this.collectors = options.envs.map(
      (env, k) =>
        new TransitionCollector(env, options.createActing(k, n), options.rng.spawn(), {
          nStep: options.nStep,
          gamma: options.gamma,
          stepsPerMessage: options.stepsPerMessage,
          runId: options.runId,
          actorId: `in-process-${k}`,
          seed: options.seed + 7919 * k,
        }),
    );
    this.loaded = options.envs.map(() => -1);
  }

  /** One round: every actor refreshes its weights from `weights` (the learner's last publication) and collects a message. */
  round(weights: PublishedWeights, runId: string): TransitionMessage[] {
    return this.collectors.map((collector, k) => {
      if (this.loaded[k] !== weights.version)
        this.loaded[k] = loadWeights(collector.acting.network, weights.data, runId);
      return collector.collect(this.loaded[k]);
    });
  }
}
