import type { VectorRecordEpisodeStatistics } from "../../../envs/vector/vectorRecordEpisodeStatistics.js";
import type { Rng } from "../../../random/rng.js";
import type { ActorCriticPolicy } from "../../common/policies.js";
import { StepEnd, type Trajectory } from "./trajectoryMessage.js";

/**
 * An actor's stepping loop: `nSteps` steps of a same-step-resetting vector env with the actor's copy
 * of the policy (the behaviour policy μ), recording log μ(a|x) for V-trace, the last observation of
 * every truncated episode (the learner bootstraps it with its own critic), and the observation after
 * the last step. The same loop serves the in-process actors of `IMPALA` and `proximal actor`, so the
 * deterministic learning tests exercise the code that runs across machines.
 */
export class TrajectoryCollector {
  private observations: Float32Array | null = null;

  constructor(
    private readonly env: VectorRecordEpisodeStatistics,
    /** The behaviour policy; the caller loads the learner's weights into it between trajectories. */
    readonly policy: ActorCriticPolicy,
    private readonly rng: Rng,
    private readonly nSteps: number,
    private readonly ids: { runId: string; actorId: string },
    private readonly seed: number,
  ) {}

  /** Collect one trajectory, acting with weights of version `policyVersion`. */
  collect(policyVersion: number): Trajectory {
    const env = this.env;
    const n = env.numEnvs;
    const obsSize = this.policy.observationSize;
    const width = this.policy.actionWidth;
    const steps = this.nSteps * n;
    // the env is reset lazily, so an actor that never collects never touches it
    this.observations ??= env.reset({ seed: this.seed }).observations.slice();
    const observations = new Float32Array(steps * obsSize);
    const actions =
      this.policy.action.kind === "box" ? new Float32Array(steps * width) : new Int32Array(steps * width);
    const rewards = new Float32Array(steps);
    const ends = new Uint8Array(steps);
    const behaviourLogProbs = new Float32Array(steps);
    const finals: number[] = [];
    const episodeReturns: number[] = [];
    const episodeLengths: number[] = [];
    this.policy.eval();
    let current = this.observations;
    for (let t = 0; t < this.nSteps; t++) {
      const act = this.policy.act(current, n, this.rng);
      const result = env.step(act.envActions);
      observations.set(current, t * n * obsSize);
      actions.set(act.actions, t * n * width);
      rewards.set(result.rewards, t * n);
      behaviourLogProbs.set(act.logProbs, t * n);
      let next = result.observations;
      const dones = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const terminated = result.terminated[i] === 1;
        const truncated = result.truncated[i] === 1 && !terminated;
        ends[t * n + i] = terminated ? StepEnd.terminated : truncated ? StepEnd.truncated : StepEnd.running;
        dones[i] = terminated || result.truncated[i] === 1 ? 1 : 0;
        if (truncated) {
          // same-step autoreset reports the final observation apart; otherwise it is the observation
          const final = result.finalObservations ?? result.observations;
          for (let k = 0; k < obsSize; k++) finals.push(final[i * obsSize + k]);
        }
      }
      if (result.finalObservations === null && dones.some((d) => d === 1)) {
        // an env without same-step autoreset (a vector env given by the caller): reset the finished ones now
        next = env.reset({ options: { resetMask: dones } }).observations;
      }
      for (const episode of env.drainEpisodes()) {
        episodeReturns.push(episode.return);
        episodeLengths.push(episode.length);
      }
      current = next.slice(0, n * obsSize);
    }
    this.observations = current;
    return {
      runId: this.ids.runId,
      actorId: this.ids.actorId,
      policyVersion,
      numEnvs: n,
      nSteps: this.nSteps,
      observationSize: obsSize,
      actionWidth: width,
      observations,
      actions,
      rewards,
      ends,
      behaviourLogProbs,
      finalObservations: Float32Array.from(finals),
      nextObservations: current.slice(),
      episodeReturns,
      episodeLengths,
    };
  }
}
