// Worker-thread side of D4PG's actors (see d4pg.ts): a synchronous D4PG model whose replay writes
// are posted to the learner instead of stored, and which never trains. It steps its own envs with
// μ(s) + noise (the learner's collect loop, so n-step windows, truncation and final observations are
// handled exactly as in the synchronous mode), copies the learner's latest actor weights whenever
// the version moves, and waits when it is more than ACTOR_LEAD_STEPS ahead of the learner.

import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import type { EpisodeSummary, UpdateStats } from "./common/onPolicyAlgorithm.js";
import type { D4PGActorMessage, D4PGActorSetup, D4PGOptions } from "./d4pg.js";
import { ACTOR_LEAD_STEPS, actorControl, D4PG } from "./d4pg.js";
import type { TransitionBatch } from "./replay/replayBuffer.js";

const setup = workerData as D4PGActorSetup;
const ctl = new Int32Array(setup.control);
const sharedWeights = new Float32Array(setup.weights);

if (setup.actorEnvModule !== null) {
  const spec = setup.actorEnvModule;
  await import(isAbsolute(spec) ? pathToFileURL(spec).href : spec);
}

const stopRequested = (): boolean => Atomics.load(ctl, actorControl.stop) === 1;

class D4PGActorModel extends D4PG {
  private batches: TransitionBatch[] = [];
  private episodes: EpisodeSummary[] = [];
  private weightsVersion = -1;
  /** Env steps this actor has posted. */
  private posted = 0;

  protected override addToReplay(batch: TransitionBatch): void {
    this.batches.push(batch);
  }

  protected override recordEpisode(episode: EpisodeSummary): void {
    super.recordEpisode(episode);
    this.episodes.push({ return: episode.return, length: episode.length });
  }

  protected override train(): UpdateStats {
    return {}; // the learner trains; an actor's buffer stays empty anyway
  }

  /** Copy the learner's actor weights if they changed (seqlock: retry while the learner writes). */
  refreshWeights(): void {
    for (;;) {
      const before = Atomics.load(ctl, actorControl.version);
      if (before === this.weightsVersion) return;
      if ((before & 1) === 1) continue;
      const copy = sharedWeights.slice();
      if (Atomics.load(ctl, actorControl.version) === before) {
        this.policy.setActorWeights(copy);
        this.weightsVersion = before;
        return;
      }
    }
  }

  /** Post what the last collect phase produced, then wait while too far ahead of the learner. */
  flush(steps: number): void {
    const message: D4PGActorMessage = {
      actor: setup.index,
      steps,
      batches: this.batches,
      episodes: this.episodes,
    };
    parentPort!.postMessage(message);
    this.batches = [];
    this.episodes = [];
    this.posted += steps;
    for (;;) {
      const consumed = Atomics.load(ctl, actorControl.consumed);
      if (stopRequested() || this.posted - consumed / setup.numActors <= ACTOR_LEAD_STEPS) break;
      Atomics.wait(ctl, actorControl.consumed, consumed, 100);
    }
    this.refreshWeights();
  }
}

const model = new D4PGActorModel(setup.envId, setup.options as D4PGOptions);
model.refreshWeights();
let previous = 0;
await model.learn({
  totalTimesteps: Number.MAX_SAFE_INTEGER,
  onUpdate: () => {
    model.flush(model.numTimesteps - previous);
    previous = model.numTimesteps;
    return !stopRequested();
  },
});
model.env.close();
