import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { loadGRPOPreset } from "../grpo/presets.js";
import { pairedDifferenceInterval } from "./accuracyIntervals.js";
import {
  makeVerifiableTask,
  prepareReasoningDemo,
  presetArgs,
  QUICK_REASONING_OPTIONS,
  reasoningPresetConfig,
  runReasoningDemo,
  runReasoningPreset,
  trainSftBase,
  VERIFIABLE_TASKS,
} from "./reasoningDemo.js";
import { presetCost, runReasoningDemoInParallel } from "./reasoningDemoParallel.js";

describe("makeVerifiableTask()", () => {
  test("builds every shipped task; an unknown name is UNKNOWN_NAME with a suggestion", () => {
    for (const name of Object.keys(VERIFIABLE_TASKS)) assert.equal(makeVerifiableTask(name).name, name);
    assert.throws(
      () => makeVerifiableTask("additon"),
      (e: unknown) =>
        e instanceof ProximalError && e.code === "UNKNOWN_NAME" && e.message.includes("addition"),
    );
  });
});

describe("trainSftBase()", () => {
  test("is deterministic by seed and lowers the loss on addition", () => {
    const task = makeVerifiableTask("addition");
    const { train, heldOut } = task.splits(0, { sft: 0, train: 64, validation: 0, heldOut: 16 });
    const model = { nEmbd: 16, nLayer: 1, nHead: 2 };
    const losses: number[] = [];
    const a = trainSftBase(task, train, {
      steps: 100,
      batchSize: 16,
      model,
      onStep: (_s, _t, loss) => losses.push(loss),
    });
    const b = trainSftBase(task, train, { steps: 100, batchSize: 16, model });
    assert.equal(a.loss, b.loss);
    assert.ok(losses[losses.length - 1] < losses[0], `loss ${losses[0]} → ${losses[losses.length - 1]}`);
    assert.deepEqual(
      task.accuracy(a.model, heldOut).completions,
      task.accuracy(b.model, heldOut).completions,
    );
  });
});

describe("trainSftBase({ stopAt })", () => {
  test("stops at the first check that reaches the accuracy, and trains every step when none does", () => {
    const task = makeVerifiableTask("addition");
    const { sft, validation } = task.splits(0, { sft: 64, train: 0, validation: 16, heldOut: 0 });
    const options = { steps: 40, batchSize: 16, model: { nEmbd: 16, nLayer: 1, nHead: 2 } };
    const reached = trainSftBase(task, sft, {
      ...options,
      stopAt: { prompts: validation, accuracy: 0, every: 10 },
    });
    assert.equal(reached.steps, 10);
    const never = trainSftBase(task, sft, {
      ...options,
      stopAt: { prompts: validation, accuracy: 1.01, every: 10 },
    });
    assert.equal(never.steps, 40);
    assert.throws(
      () => trainSftBase(task, sft, { ...options, stopAt: { prompts: [], accuracy: 0.5 } }),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION",
    );
  });
});

/** Seconds-sized demo options: the CLI's --quick budget, 6 steps per preset. */
const tiny = { ...QUICK_REASONING_OPTIONS, samples: 96, evalEvery: 2 };

describe("reasoningPresetConfig()", () => {
  test("sizes the learning-rate schedule to the sample budget", () => {
    const task = makeVerifiableTask("addition");
    const config = reasoningPresetConfig(task, { numIterations: 2 }, 96_000, 0);
    // 96,000 completions / 64 per generation batch = 1500 batches, each stepped twice
    assert.equal(config.maxSteps, 3000);
    assert.equal(config.maxCompletionLength, task.maxNewTokens);
    assert.equal(reasoningPresetConfig(task, {}, 100, 0, { maxSteps: 7 }).maxSteps, 7);
  });

  test("a preset trains until its budget, past what numTrainEpochs over the prompts would allow", () => {
    const setup = prepareReasoningDemo(tiny);
    // 64 prompts x 3 epochs / 4 prompts per step = 48 steps by epochs; the budget asks for 60
    const options = { ...tiny, samples: 960, evalEvery: 100, presets: {} };
    const run = runReasoningPreset(presetArgs(setup, options, "grpo", {}));
    assert.equal(run.history.length, 60);
    assert.equal(run.samplesDrawn, 960);
    assert.equal(run.curve[run.curve.length - 1].samples, 960);
    // dynamic sampling trains on the same budget and draws more to replace all-equal groups
    const dapo = runReasoningPreset(presetArgs(setup, options, "dapo", { dynamicSampling: true }));
    assert.equal(dapo.history.length, 60);
    assert.ok(dapo.samplesDrawn > 960, `drew ${dapo.samplesDrawn}`);
    assert.equal(dapo.curve[dapo.curve.length - 1].samples, dapo.samplesDrawn);
  });
});

describe("runReasoningDemoInParallel()", () => {
  test("two worker threads give the sequential demo's result", async () => {
    const presets = {
      grpo: { beta: 0.04 },
      dapo: { lossAggregation: "token-mean" as const, beta: 0 },
      drgrpo: {},
    };
    const sequential = runReasoningDemo({ ...tiny, presets });
    const parallel = await runReasoningDemoInParallel({ ...tiny, presets, workers: 2 });
    assert.deepEqual(Object.keys(parallel.presets), Object.keys(presets));
    assert.deepEqual(parallel.base, { ...sequential.base, wallSeconds: parallel.base.wallSeconds });
    for (const name of Object.keys(presets)) {
      const a = sequential.presets[name as keyof typeof presets];
      const b = parallel.presets[name as keyof typeof presets];
      assert.deepEqual(b.curve, a.curve, name);
      assert.deepEqual(
        b.history.map((h) => h["train/loss"]),
        a.history.map((h) => h["train/loss"]),
        name,
      );
    }
  });

  test("orders work longest first: dynamic sampling, then a reference model, then the rest", async () => {
    const cost = async (name: string) => presetCost((await loadGRPOPreset(name)).algorithm);
    assert.ok((await cost("dapo")) > (await cost("grpo")));
    assert.ok((await cost("grpo")) > (await cost("drgrpo")));
    assert.equal(await cost("gspo"), await cost("drgrpo"));
  });

  test("a preset that fails in a worker rejects with its name", async () => {
    await assert.rejects(
      runReasoningDemoInParallel({ ...tiny, presets: { ok: {}, bad: { epsilon: 2 } }, workers: 2 }),
      (e: unknown) => e instanceof ProximalError && e.message.includes('"bad"'),
    );
  });
});

describe("runReasoningDemo() headline: GRPO on the clean split", () => {
  // The demo's claim is that GRPO raises held-out accuracy after its 192,000-sample schedule, which
  // takes minutes. In seconds, RL does not gain yet: every run first dips (BENCHMARKS.md "rlhf
  // reasoning demo"; a 2-layer width-32 base at 37.5% fell to 22% after 1920 samples). So this test
  // checks the strongest cheap version: on held-out problems disjoint from every training split,
  // GRPO with the demo's settings changes the policy without a significant loss: the 95% interval of
  // the paired held-out gain reaches 0 or above (seed 0; measured: 4.5% → 3.0% of 200, gain interval
  // [-4.4, +1.4] points).
  test("does not significantly lose held-out accuracy at a small budget (seed 0)", async () => {
    const result = runReasoningDemo({
      seed: 0,
      sftExamples: 500,
      trainPrompts: 500,
      validationPrompts: 100,
      heldOutPrompts: 200,
      sft: { steps: 400, batchSize: 32, model: { nEmbd: 32, nLayer: 1, nHead: 2 } },
      samples: 1920,
      evalEvery: 1000,
      presets: { grpo: (await loadGRPOPreset("grpo")).algorithm },
    });
    const task = makeVerifiableTask("addition");
    const trained = new Set([...result.splits.sft, ...result.splits.train].map((p) => task.problemKey(p)));
    assert.equal(result.splits.heldOut.filter((p) => trained.has(task.problemKey(p))).length, 0);
    const before = result.base.heldOutCorrect;
    const after = result.presets.grpo.heldOutCorrect;
    assert.ok(
      before.some((c) => c === 1),
      "the base gets some held-out problems right",
    );
    assert.notDeepEqual(after, before, "GRPO changed which problems the policy gets right");
    const gain = pairedDifferenceInterval(before, after);
    assert.ok(gain.high >= 0, `held-out gain ${JSON.stringify(gain)}`);
  });
});
