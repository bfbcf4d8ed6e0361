import { make } from "../../../envs/make.js";
import { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import type { Rng } from "../../../random/rng.js";
import type { ActorCriticPolicy } from "../../common/policies.js";
import { TrajectoryCollector } from "./trajectoryCollector.js";
import type { Trajectory } from "./trajectoryMessage.js";

/**
 * IMPALA's actors simulated in one process, deterministically: in each round every actor copies the
 * learner's weights, then each collects one trajectory with its copy, and the learner consumes the
 * round's trajectories one batch at a time. With K actors and one trajectory per update, a round's
 * trajectories reach the learner 0, 1, ..., K−1 updates after the weights they were collected with:
 * the policy lag of K actors running at equal speed, which V-trace must correct, but with a fixed
 * schedule, so a seed gives the same run every time (the distributed path cannot).
 *
 * Actor k steps its own env (`make(envId)` seeded `seed + 7919·k`; actor 0 may be given the
 * learner's own env) with its own generator.
 */
export class InProcessActors {
  private readonly collectors: TrajectoryCollector[];
  private readonly queue: Trajectory[] = [];

  constructor(
    /** The learner's network, whose weights the actors copy at the start of each round. */
    private readonly learnerPolicy: ActorCriticPolicy,
    options: {
      envs: VectorRecordEpisodeStatistics[];
      /** Builds the actors' copies of the learner's network (same spaces and options). */
      createPolicy: () => ActorCriticPolicy;
      rng: Rng;
      nSteps: number;
      runId: string;
      seed: number;
    },
  ) {
    this.collectors = options.envs.map(
      (env, k) =>
        new TrajectoryCollector(
          env,
          options.createPolicy(),
          options.rng.spawn(),
          options.nSteps,
          { runId: options.runId, actorId: `in-process-${k}` },
          options.seed + 7919 * k,
        ),
    );
  }

  /** Envs for K actors: `first` (the learner's own, if given) then fresh ones made from `envId`. */
  static makeEnvs(
    envId: string,
    count: number,
    numEnvs: number,
    seed: number,
    first: VectorRecordEpisodeStatistics,
  ): VectorRecordEpisodeStatistics[] {
    const envs = [first];
    for (let k = 1; k < count; k++) {
      envs.push(
        new VectorRecordEpisodeStatistics(
          make(envId, { numEnvs, seed: seed + 7919 * k, autoresetMode: "same-step" }),
        ),
      );
    }
    return envs;
  }

  /** The next trajectory; starts a new round (every actor syncs, then collects) when the last one is used up. */
  next(version: number): Trajectory {
    if (this.queue.length === 0) {
      const weights = this.learnerPolicy.stateDict();
      for (const collector of this.collectors) collector.policy.loadStateDict(weights);
      for (const collector of this.collectors) this.queue.push(collector.collect(version));
    }
    return this.queue.shift() as Trajectory;
  }
}
