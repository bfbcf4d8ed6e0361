import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../../random/rng.js";
import { judgeSentiment, sentimentCorpus, sentimentTokenizer } from "./sentiment.js";
import {
  type DemoProgress,
  type EncodedPair,
  QUICK_DEMO_OPTIONS,
  runSentimentDemo,
  splitByComparison,
} from "./sentimentDemo.js";

describe("sentiment task", () => {
  test("the judge counts positive minus negative words", () => {
    assert.equal(judgeSentiment(" great but dull, and fun."), 1);
    assert.equal(judgeSentiment(" awful, boring and long."), -2);
    assert.equal(judgeSentiment(" greatly loud."), 0); // whole words only
  });

  test("the corpus is seeded, tokenizable and balanced around 0", () => {
    const a = sentimentCorpus(400, new Rng(5));
    assert.deepEqual(a, sentimentCorpus(400, new Rng(5)));
    const tokenizer = sentimentTokenizer();
    for (const r of a) tokenizer.encode(r.prompt + r.response); // throws on a character outside the alphabet
    const mean = a.reduce((s, r) => s + judgeSentiment(r.response), 0) / a.length;
    assert.ok(Math.abs(mean) < 0.3, `mean judge score ${mean}`);
  });
});

/** The comparison as the test spells it, independently of heldOut.ts's comparisonKey: prompt + sorted responses. */
function triple(pair: EncodedPair): string {
  return JSON.stringify([pair.prompt, ...[pair.chosen, pair.rejected].map((r) => JSON.stringify(r)).sort()]);
}

/**
 * 60 pairs over 12 comparisons (3 prompts × 4 response pairs), drawn in a seeded order, every third
 * one with chosen and rejected swapped.
 */
function repeatedPairs(): EncodedPair[] {
  const rng = new Rng(3);
  const comparisons: EncodedPair[] = [];
  for (const prompt of [
    [1, 4],
    [1, 5, 6],
    [1, 6],
  ])
    for (const [chosen, rejected] of [
      [
        [7, 2],
        [8, 2],
      ],
      [[7, 7, 2], [9]],
      [[8], [9, 9, 2]],
      [[9, 2], [7]],
    ])
      comparisons.push({ prompt, chosen, rejected });
  return Array.from({ length: 60 }, (_, i) => {
    const c = comparisons[rng.integer(comparisons.length)];
    return i % 3 === 0 ? { prompt: c.prompt, chosen: c.rejected, rejected: c.chosen } : { ...c };
  });
}

describe("splitByComparison()", () => {
  test("held-out and training pairs share no comparison, swapped sides included", () => {
    const pairs = repeatedPairs();
    // the fixture has the leak a split by position would make: the first fifth repeats later pairs
    const naiveTrain = new Set(pairs.slice(12).map(triple));
    assert.ok(pairs.slice(0, 12).some((p) => naiveTrain.has(triple(p))));

    const { train, heldOut } = splitByComparison(pairs, 0.2, new Rng(0));
    const trainTriples = new Set(train.map(triple));
    const leaked = heldOut.filter((p) => trainTriples.has(triple(p)));
    assert.deepEqual(leaked, []);
    assert.ok(heldOut.length > 0 && train.length > 0, `${train.length} train, ${heldOut.length} held out`);
    // every pair lands on exactly one side, each side in sampled order
    assert.equal(train.length + heldOut.length, pairs.length);
    assert.deepEqual(
      train,
      pairs.filter((p) => !heldOut.includes(p)),
    );
    assert.deepEqual(
      heldOut,
      pairs.filter((p) => heldOut.includes(p)),
    );
    // seeded
    assert.deepEqual(splitByComparison(pairs, 0.2, new Rng(0)), { train, heldOut });
  });

  test("distinct pairs split exactly by position: the first fifth is held out", () => {
    const pairs = Array.from({ length: 23 }, (_, i) => ({ prompt: [1], chosen: [i + 3], rejected: [2] }));
    const { train, heldOut } = splitByComparison(pairs, 0.2, new Rng(0));
    assert.deepEqual(heldOut, pairs.slice(0, 4)); // floor(23 · 0.2) = 4
    assert.deepEqual(train, pairs.slice(4));
  });

  test("throws INVALID_ARGUMENT when a single comparison leaves nothing to train on", () => {
    const pair = { prompt: [1], chosen: [7], rejected: [8] };
    const pairs = [pair, pair, { prompt: [1], chosen: [8], rejected: [7] }];
    assert.throws(() => splitByComparison(pairs, 0.2, new Rng(0)), {
      name: "ProximalError",
      code: "INVALID_ARGUMENT",
    });
  });
});

describe("runSentimentDemo()", () => {
  test("tiny model: the reward model beats chance, PPO raises its score, KL is finite", async () => {
    // seed 0, QUICK_DEMO_OPTIONS (1 layer, width 32): 14-19 s on 2 cores under a load average of
    // about 15 (2026-12-01). Only the cheap half of the demo's claim is checked here: PPO climbs the
    // reward model it is given. The headline, that PPO raises the judge score over the SFT model
    // (about +1.5 points, BENCHMARKS.md "rlhf demo"), needs the full budget (a reward model that
    // agrees with the judge on 93-96% of held-out pairs, 60 PPO updates; 6-8 minutes per seed). At
    // this budget the judge does not move beyond sampling noise on 32 prompts; measured for seeds
    // 0 / 1 / 2: judge -0.03 → 0.00 / 0.03 → 0.06 / -0.13 → 0.03, and with 12 PPO updates
    // 0.03 → -0.16 for seed 1. What does hold on all three seeds: held-out RM accuracy 0.78 / 0.61 /
    // 0.64 (18 / 38 / 42 pairs) and RM score rising by 0.73 / 0.47 / 0.32.
    const shown: DemoProgress[] = [];
    const result = await runSentimentDemo({
      ...QUICK_DEMO_OPTIONS,
      seed: 0,
      samplesPerUpdate: 2,
      onProgress: (event) => {
        if (event.samples !== undefined) shown.push(event);
      },
    });
    // the samples stream in: once before the first update, then with every update
    assert.deepEqual(
      shown.map((event) => [event.stage, event.step]),
      Array.from({ length: QUICK_DEMO_OPTIONS.ppoSteps! + 1 }, (_, step) => ["ppo", step]),
    );
    for (const event of shown) {
      assert.equal(event.samples!.length, 2);
      for (const sample of event.samples!) assert.equal(sample.judge, judgeSentiment(sample.response));
    }
    assert.ok(result.rewardModel.heldOutAccuracy > 0.5, `RM accuracy ${result.rewardModel.heldOutAccuracy}`);
    assert.ok(
      result.ppo.rmAfter > result.ppo.rmBefore,
      `RM score ${result.ppo.rmBefore} → ${result.ppo.rmAfter}`,
    );
    assert.ok(Number.isFinite(result.ppo.klToRef), `KL ${result.ppo.klToRef}`);
    assert.equal(result.ppo.history.length, QUICK_DEMO_OPTIONS.ppoSteps);
    for (const row of result.ppo.history) assert.ok(Number.isFinite(row["rollout/klToRef"]));
    assert.ok(Number.isFinite(result.sft.loss));
  });
});
