// Action masks in the bootstrap target of the deep Q family: the TD target's max (DQN), Double DQN's
// argmax and C51's greedy next action range over the next state's allowed actions only; the replay
// buffer and the n-step adder store the next state's mask; Taxi-v4 trains end to end with masks.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { StepResult } from "../envs/env.js";
import { make } from "../envs/make.js";
import { RotatingMaskEnv } from "../envs/testing/rotatingMaskEnv.test.util.js";
import { TaxiEnv } from "../envs/toyText/taxi.js";
import { SyncVectorEnv } from "../envs/vector/syncVectorEnv.js";
import { ProximalError } from "../errors.js";
import { readSafetensors, writeSafetensors } from "../io/safetensors.js";
import { Rng } from "../random/rng.js";
import { categoricalTargets, tdTargets } from "./common/deepQLosses.js";
import { DQN } from "./dqn.js";
import { Rainbow } from "./rainbow.js";
import { NStepAdder } from "./replay/nStepAdder.js";
import { PrioritizedReplayBuffer } from "./replay/prioritizedReplayBuffer.js";
import type { ReplayState, TransitionBatch } from "./replay/replayBuffer.js";
import { ReplayBuffer } from "./replay/replayBuffer.js";

const code = (c: string) => (error: unknown) => error instanceof ProximalError && error.code === c;

function throughSafetensors(state: ReplayState): ReplayState {
  const bytes = writeSafetensors(state.tensors, { replay: JSON.stringify(state.json) });
  const { tensors, metadata } = readSafetensors(bytes);
  return { tensors, json: JSON.parse(metadata.replay) };
}

describe("masked bootstrap targets (hand-made batch)", () => {
  // Two rows, three actions, γ = 0.5. Row 0: the next state forbids action 2, which has the largest
  // target value (10); the allowed best is action 1 (4). Row 1: terminal, its mask allows nothing.
  const rewards = [1, 2];
  const dones = [0, 1];
  const nextQTarget = [3, 4, 10, 7, 8, 9];
  const nextMasks = Uint8Array.of(1, 1, 0, 0, 0, 0);

  test("DQN: max over allowed next actions only", () => {
    const unmasked = tdTargets({ rewards, dones, nextQTarget, nActions: 3, gamma: 0.5 });
    assert.deepEqual(Array.from(unmasked), [1 + 0.5 * 10, 2]); // the forbidden action wins without masks
    const masked = tdTargets({ rewards, dones, nextQTarget, nextMasks, nActions: 3, gamma: 0.5 });
    assert.deepEqual(Array.from(masked), [1 + 0.5 * 4, 2]);
  });

  test("Double DQN: the online argmax over allowed actions, valued by the target network", () => {
    // online values prefer the forbidden action 2, then action 0 among the allowed ones
    const nextQOnline = [6, 5, 9, 0, 0, 0];
    const unmasked = tdTargets({ rewards, dones, nextQTarget, nextQOnline, nActions: 3, gamma: 0.5 });
    assert.deepEqual(Array.from(unmasked), [1 + 0.5 * 10, 2]);
    const masked = tdTargets({
      rewards,
      dones,
      nextQTarget,
      nextQOnline,
      nextMasks,
      nActions: 3,
      gamma: 0.5,
    });
    assert.deepEqual(Array.from(masked), [1 + 0.5 * 3, 2]);
  });

  test("a non-terminal next state that allows no action fails clearly", () => {
    assert.throws(
      () =>
        tdTargets({
          rewards: [0],
          dones: [0],
          nextQTarget: [1, 2],
          nextMasks: Uint8Array.of(0, 0),
          nActions: 2,
          gamma: 0.9,
        }),
      (e: unknown) => code("INVALID_ARGUMENT")(e) && /allows no action/.test((e as Error).message),
    );
  });

  test("C51 (plain and Double): the bootstrap distribution is the best allowed action's", () => {
    // support {0, 1, 2}; each action's next distribution is a point mass: action 0 at z=0, action 1
    // at z=1, action 2 (forbidden in row 0) at z=2. γ = 0.5, reward 0, not done: the target puts
    // all mass at 0.5·z* — split between atoms 0 and 1 for z* = 1, all on atom 1 for z* = 2.
    const support = [0, 1, 2];
    const point = (j: number) => [0, 1, 2].map((k) => (k === j ? 1 : 0));
    const nextProbs = [...point(0), ...point(1), ...point(2)];
    const base = {
      nextProbs,
      support,
      rewards: [0],
      dones: [0],
      nActions: 3,
      gamma: 0.5,
      vMin: 0,
      vMax: 2,
    };
    assert.deepEqual(Array.from(categoricalTargets(base)), [0, 1, 0]); // unmasked: action 2, 0.5·2 = 1
    const mask = Uint8Array.of(1, 1, 0);
    assert.deepEqual(Array.from(categoricalTargets({ ...base, nextMasks: mask })), [0.5, 0.5, 0]); // action 1
    // Double: the online means prefer 2, then 0 among the allowed: all mass at 0
    const nextQOnline = [5, 1, 9];
    assert.deepEqual(Array.from(categoricalTargets({ ...base, nextQOnline })), [0, 1, 0]);
    assert.deepEqual(Array.from(categoricalTargets({ ...base, nextQOnline, nextMasks: mask })), [1, 0, 0]);
    // a terminal row's (empty) mask is not read
    const terminal = categoricalTargets({
      ...base,
      rewards: [2],
      dones: [1],
      nextMasks: Uint8Array.of(0, 0, 0),
    });
    assert.deepEqual(Array.from(terminal), [0, 0, 1]);
  });
});

/** `count` transitions with obsSize 1; next-state mask of row j allows action j % 3 only. */
function maskedBatch(start: number, count: number): TransitionBatch {
  const masks = new Uint8Array(count * 3);
  for (let j = 0; j < count; j++) masks[j * 3 + ((start + j) % 3)] = 1;
  return {
    observations: Float32Array.from({ length: count }, (_, j) => start + j),
    actions: Int32Array.from({ length: count }, (_, j) => (start + j) % 3),
    rewards: new Float32Array(count),
    nextObservations: Float32Array.from({ length: count }, (_, j) => -(start + j)),
    terminated: new Uint8Array(count),
    truncated: new Uint8Array(count),
    nextActionMasks: masks,
  };
}

describe("replay with next-state masks", () => {
  test("masks ride with their rows through the ring, sampling and save/restore", () => {
    for (const make of [
      () => new ReplayBuffer({ capacity: 5, obsSize: 1 }),
      () => new PrioritizedReplayBuffer({ capacity: 5, obsSize: 1 }),
    ]) {
      const buffer = make();
      buffer.add(maskedBatch(0, 4));
      buffer.add(maskedBatch(4, 3)); // wraps: slots 4, 0, 1 now hold ids 4, 5, 6
      assert.equal(buffer.maskWidth, 3);
      const all = buffer.gather(Int32Array.from([0, 1, 2, 3, 4]));
      const check = (sample: typeof all) => {
        for (let j = 0; j < sample.size; j++) {
          const id = -sample.nextObservations[j];
          const row = Array.from(sample.nextActionMasks!.subarray(j * 3, j * 3 + 3));
          assert.deepEqual(
            row,
            [0, 1, 2].map((a) => (a === id % 3 ? 1 : 0)),
            `row of id ${id}`,
          );
        }
      };
      check(all);
      const restored = make();
      restored.loadState(throughSafetensors(buffer.state()));
      assert.equal(restored.maskWidth, 3);
      assert.deepEqual(restored.gather(Int32Array.from([0, 1, 2, 3, 4])), all);
      check(restored.sample(4, new Rng(1)));
    }
  });

  test("an unmasked buffer stores, samples and saves no mask (as before masks existed)", () => {
    const buffer = new ReplayBuffer({ capacity: 4, obsSize: 1 });
    const { nextActionMasks: _, ...plain } = maskedBatch(0, 2);
    buffer.add(plain);
    assert.equal(buffer.maskWidth, null);
    assert.equal("nextActionMasks" in buffer.gather(Int32Array.of(0, 1)), false);
    const state = buffer.state();
    assert.equal(state.tensors.nextActionMasks, undefined);
    assert.equal(state.json.maskWidth, undefined);
  });

  test("a buffer that stores masks refuses batches without them, and the reverse", () => {
    const masked = new ReplayBuffer({ capacity: 8, obsSize: 1 });
    masked.add(maskedBatch(0, 2));
    const { nextActionMasks: _, ...plain } = maskedBatch(2, 2);
    assert.throws(
      () => masked.add(plain),
      (e: unknown) => code("INVALID_ARGUMENT")(e) && /must keep reporting/.test((e as Error).message),
    );
    const unmasked = new ReplayBuffer({ capacity: 8, obsSize: 1 });
    unmasked.add(plain);
    assert.throws(
      () => unmasked.add(maskedBatch(4, 2)),
      (e: unknown) => code("INVALID_ARGUMENT")(e) && /have none/.test((e as Error).message),
    );
  });

  test("the n-step adder emits the mask of the n-th next state (or the final one)", () => {
    const adder = new NStepAdder({ nSteps: 3, gamma: 1, numEnvs: 1, obsSize: 1 });
    const emitted: TransitionBatch[] = [];
    for (let t = 0; t < 5; t++) {
      const step = maskedBatch(t, 1);
      step.terminated[0] = t === 4 ? 1 : 0;
      const { steps: _, ...vectorStep } = step;
      emitted.push(adder.add(vectorStep));
    }
    // t = 2 emits s_0 → s_3 (the next state of step 2, id 2); t = 3 emits s_1 → s_4 (id 3); t = 4
    // terminates and flushes s_2, s_3, s_4, all leading to the final state (id 4)
    const ids = emitted.flatMap((b) => Array.from(b.nextObservations, (v) => -v));
    assert.deepEqual(ids, [2, 3, 4, 4, 4]);
    const masks = emitted.flatMap((b) => Array.from(b.nextActionMasks ?? []));
    assert.deepEqual(masks, [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]);
  });
});

/** RotatingMaskEnv that stops reporting its mask after `reportSteps` steps. */
class ForgetfulMaskEnv extends RotatingMaskEnv {
  private steps = 0;
  constructor(private readonly reportSteps: number) {
    super();
  }
  override step(action: number): StepResult<Float32Array> {
    const result = super.step(action);
    if (++this.steps <= this.reportSteps) return result;
    const { actionMask: _, ...info } = result.info;
    return { ...result, info };
  }
}

describe("DQN with an env that reports masks", () => {
  test("Taxi-v4: trains with masks stored for the states each transition reached", async () => {
    const model = new DQN("Taxi-v4", {
      learningStarts: 200,
      batchSize: 32,
      bufferSize: 5000,
      trainFreq: 4,
      targetUpdateInterval: 100,
      nStep: 3,
      policy: { netArch: [32] },
      seed: 3,
    });
    await model.learn({ totalTimesteps: 1500 });
    const buffer = model.replayBuffer;
    assert.equal(buffer.maskWidth, 6);
    // every stored mask is Taxi's own mask of the stored next state (the observation is the state);
    // 1500 steps include truncations at 200 steps, whose final state's mask comes from finalInfo
    const taxi = new TaxiEnv();
    const sample = buffer.gather(Int32Array.from({ length: buffer.size }, (_, i) => i));
    let truncated = 0;
    for (let j = 0; j < sample.size; j++) {
      if (sample.terminated[j]) continue;
      truncated += sample.truncated[j];
      const state = sample.nextObservations[j];
      assert.deepEqual(sample.nextActionMasks!.subarray(j * 6, (j + 1) * 6), taxi.actionMask(state));
    }
    assert.ok(truncated > 0, "the run should include truncated episodes");
    assert.ok(Number.isFinite(model.policy.qValues(Float32Array.of(0), 1)[0]));
  });

  test("Taxi-v4 with Rainbow (C51, Double, n-step, PER): a short run trains on masked targets", async () => {
    const model = new Rainbow("Taxi-v4", {
      learningStarts: 100,
      batchSize: 16,
      bufferSize: 1000,
      targetUpdateInterval: 50,
      distributional: { atoms: 11, vMin: -20, vMax: 20 },
      policy: { netArch: [16] },
      seed: 1,
    });
    await model.learn({ totalTimesteps: 400 });
    assert.equal(model.replayBuffer.maskWidth, 6);
    assert.ok(model.nUpdates > 0);
  });

  test("the masks survive save and load with the replay buffer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "proximal-dqn-masks-"));
    try {
      const env = new SyncVectorEnv([() => new RotatingMaskEnv()], { autoresetMode: "same-step" });
      const model = new DQN(env, {
        learningStarts: 16,
        batchSize: 8,
        bufferSize: 64,
        saveReplayBuffer: true,
        policy: { netArch: [8] },
      });
      await model.learn({ totalTimesteps: 40 });
      await model.save(dir);
      const loaded = await DQN.load(dir, { env: new SyncVectorEnv([() => new RotatingMaskEnv()]) });
      assert.equal(loaded.replayBuffer.maskWidth, 4);
      const all = Int32Array.from({ length: model.replayBuffer.size }, (_, i) => i);
      assert.deepEqual(loaded.replayBuffer.gather(all), model.replayBuffer.gather(all));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an env that stops reporting masks fails with a clear error", async () => {
    const env = new SyncVectorEnv([() => new ForgetfulMaskEnv(5)], { autoresetMode: "same-step" });
    const model = new DQN(env, { learningStarts: 100, policy: { netArch: [8] } });
    await assert.rejects(
      model.learn({ totalTimesteps: 50 }),
      (e: unknown) =>
        code("INVALID_ARGUMENT")(e) && /reported no info\.actionMask/.test((e as Error).message),
    );
  });

  test("CartPole reports no masks: nothing is stored", async () => {
    const model = new DQN(make("CartPole-v1", { numEnvs: 1, seed: 0, autoresetMode: "same-step" }), {
      learningStarts: 50,
      batchSize: 8,
      policy: { netArch: [8] },
    });
    await model.learn({ totalTimesteps: 100 });
    assert.equal(model.replayBuffer.maskWidth, null);
  });
});
