// Worker-thread side of A3C (see a3c.ts): an A2C model whose update, instead of stepping an
// optimizer, hands its gradient to the master through shared memory, waits for the verdict, and
// refreshes its parameters from the shared copy before the next rollout (Mnih et al. 2016, arXiv:1602.01783, Algorithm S3: "synchronize thread-specific parameters θ' = θ").

import { workerData } from "node:worker_threads";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import { A2C } from "./a2c.js";
import type { A3CWorkerSetup } from "./a3c.js";
import { control, slotStatKeys } from "./a3c.js";
import type { EpisodeSummary, UpdateStats } from "./common/onPolicyAlgorithm.js";

const setup = workerData as A3CWorkerSetup;
const ctl = new Int32Array(setup.control);
const sharedParams = new Float32Array(setup.params);
const slot = control.slots + setup.index * control.slotFields;
const gradients = new Float32Array(setup.gradients, 4 * setup.index * setup.paramCount, setup.paramCount);
const statsStride = slotStatKeys.length + 2 * setup.maxEpisodes;
const stats = new Float64Array(setup.stats, 8 * setup.index * statsStride, statsStride);

function stopRequested(): boolean {
  return Atomics.load(ctl, control.stop) === 1;
}

class A3CWorkerModel extends A2C {
  /** Episodes finished since the last gradient was posted. */
  private readonly finished: EpisodeSummary[] = [];
  /** Update count of the parameters this worker's copy holds. */
  private snapshotVersion = 0;

  /** Copy a consistent snapshot of the shared parameters (seqlock: retry if the master wrote meanwhile). */
  refreshParameters(): void {
    const params = this.policy.parameters();
    for (;;) {
      const before = Atomics.load(ctl, control.version);
      if ((before & 1) === 1) continue; // the master is writing; its copy takes microseconds
      let offset = 0;
      for (const p of params) {
        p.values.set(sharedParams.subarray(offset, offset + p.size));
        offset += p.size;
      }
      if (Atomics.load(ctl, control.version) === before) {
        this.snapshotVersion = before / 2;
        return;
      }
    }
  }

  protected override recordEpisode(episode: EpisodeSummary): void {
    super.recordEpisode(episode);
    this.finished.push(episode);
  }

  /** A2C's loss and gradient on this worker's rollout, posted to the master instead of applied. */
  protected override train(): UpdateStats {
    const { loss, stats: lossStats } = this.rolloutLoss();
    this.optimizer.zeroGrad();
    loss.backward();
    const gradNorm = clipGradNorm(this.policy.parameters(), this.maxGradNorm);
    let offset = 0;
    for (const p of this.policy.parameters()) {
      if (p.grad === null) gradients.fill(0, offset, offset + p.size);
      else gradients.set(p.grad.values, offset);
      offset += p.size;
    }
    const all: UpdateStats = { ...lossStats, "train/gradNorm": gradNorm };
    slotStatKeys.forEach((key, k) => {
      stats[k] = all[key];
    });
    const episodes = this.finished.splice(0, setup.maxEpisodes);
    episodes.forEach((e, i) => {
      stats[slotStatKeys.length + 2 * i] = e.return;
      stats[slotStatKeys.length + 2 * i + 1] = e.length;
    });
    Atomics.store(ctl, slot + control.slotVersion, this.snapshotVersion);
    Atomics.store(ctl, slot + control.slotSteps, this.rolloutSize);
    Atomics.store(ctl, slot + control.slotEpisodes, episodes.length);
    Atomics.store(ctl, slot + control.slotFull, 1);
    Atomics.add(ctl, control.inbox, 1);
    Atomics.notify(ctl, control.inbox);
    // at most one gradient in flight: wait for the master's verdict, then sync before the next rollout
    while (Atomics.load(ctl, slot + control.slotFull) === 1 && !stopRequested()) {
      Atomics.wait(ctl, slot + control.slotFull, 1, 1000);
    }
    if (!stopRequested()) this.refreshParameters();
    return all;
  }
}

const model = new A3CWorkerModel(setup.envId, setup.options);
model.refreshParameters();
await model.learn({
  totalTimesteps: Number.MAX_SAFE_INTEGER,
  onUpdate: () => !stopRequested(),
});
model.env.close();
