import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { Tensor, tensor } from "../../tensor/tensor.js";
import { assertClose } from "../../tensor/testing.js";
import { GPTRewardModel } from "../common/rewardHead.js";
import { maskedWhiten } from "../common/whiten.js";
import { GPT } from "../gpt.js";
import { actorLoss, adaptiveKlCoef, computeTokenRewards, criticLoss, gaeOverTokens } from "./loss.js";
import { resolvePPOConfig } from "./ppoConfig.js";
import { PPOTrainer } from "./ppoTrainer.js";

// fixtures/torch/rlhfPpo.json: scripts/fixtures/makeRlhfPpoFixtures.py, torch 1.13, float64 from
// float32 inputs; DeepSpeed-Chat's compute_rewards / get_advantages_and_returns / actor_loss_fn /
// critic_loss_fn as DeepSpeed-Chat's step-3 ppo_trainer.py writes them, on a [3, 5] batch with response lengths 5, 2, 3.
type Numbers = number[];
interface Fixture {
  shape: [number, number];
  rewards: {
    mask: Numbers;
    logProbs: Numbers;
    refLogProbs: Numbers;
    scores: Numbers;
    klCoef: number;
    clipRewardValue: number;
    rewardsK1: Numbers;
    rewardsK3: Numbers;
  };
  gae: GaeCase;
  gaeDiscounted: GaeCase;
  actorLoss: {
    cliprange: number;
    mask: Numbers;
    logProbs: Numbers;
    oldLogProbs: Numbers;
    advantages: Numbers;
    loss: number;
    gradLogProbs: Numbers;
  };
  criticLoss: {
    cliprangeValue: number;
    mask: Numbers;
    values: Numbers;
    oldValues: Numbers;
    returns: Numbers;
    loss: number;
    gradValues: Numbers;
  };
}
interface GaeCase {
  gamma: number;
  lam: number;
  mask: Numbers;
  rewards: Numbers;
  values: Numbers;
  advantages: Numbers;
  returns: Numbers;
  whitenedAdvantages: Numbers;
}
const fixture = JSON.parse(
  readFileSync(new URL("../../../fixtures/torch/rlhfPpo.json", import.meta.url), "utf8"),
) as Fixture;
const shape = fixture.shape;
const t2 = (values: Numbers): Tensor => new Tensor(Float32Array.from(values), shape);

describe("computeTokenRewards()", () => {
  const c = fixture.rewards;
  test("matches DeepSpeed-Chat's compute_rewards with variable response lengths (k1)", () => {
    const rewards = computeTokenRewards(
      t2(c.logProbs),
      t2(c.refLogProbs),
      tensor(c.scores),
      t2(c.mask),
      c.klCoef,
      c.clipRewardValue,
    );
    assertClose(rewards.values, c.rewardsK1, { rtol: 1e-5, atol: 1e-6, label: "rewards" });
  });

  test("puts the clipped score on the last real token of each response", () => {
    const rewards = computeTokenRewards(
      t2(c.logProbs),
      t2(c.refLogProbs),
      tensor(c.scores),
      t2(c.mask),
      0,
      c.clipRewardValue,
    );
    // klCoef 0: only the scores remain, at columns 4, 1, 2 (lengths 5, 2, 3), clipped to ±5
    assert.deepEqual(
      Array.from(rewards.values, (x) => x + 0),
      [0, 0, 0, 0, 1.25, 0, 5, 0, 0, 0, 0, 0, -5, 0, 0],
    );
  });

  test("matches TRL's k3 estimator", () => {
    const rewards = computeTokenRewards(
      t2(c.logProbs),
      t2(c.refLogProbs),
      tensor(c.scores),
      t2(c.mask),
      c.klCoef,
      c.clipRewardValue,
      "k3",
    );
    assertClose(rewards.values, c.rewardsK3, { rtol: 1e-5, atol: 1e-6, label: "rewards k3" });
  });

  test("rejects an empty response", () => {
    assert.throws(
      () => computeTokenRewards(tensor([[0, 0]]), tensor([[0, 0]]), tensor([1]), tensor([[0, 0]]), 0.1, 5),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});

describe("gaeOverTokens()", () => {
  for (const name of ["gae", "gaeDiscounted"] as const) {
    const c = fixture[name];
    test(`matches get_advantages_and_returns over masked tokens (gamma ${c.gamma}, lam ${c.lam})`, () => {
      const { advantages, returns } = gaeOverTokens(t2(c.rewards), t2(c.values), t2(c.mask), c.gamma, c.lam);
      assertClose(advantages.values, c.advantages, { rtol: 1e-5, atol: 1e-6, label: "advantages" });
      assertClose(returns.values, c.returns, { rtol: 1e-5, atol: 1e-6, label: "returns" });
    });
  }

  test("ignores rewards and values after the end of a response", () => {
    const c = fixture.gae;
    const noisy = (xs: Numbers) => t2(xs.map((x, i) => (c.mask[i] === 0 ? 100 + i : x)));
    const { advantages } = gaeOverTokens(noisy(c.rewards), noisy(c.values), t2(c.mask), c.gamma, c.lam);
    assertClose(advantages.values, c.advantages, { rtol: 1e-5, atol: 1e-6 });
  });

  test("whitening matches TRL's masked_whiten", () => {
    const c = fixture.gae;
    const whitened = maskedWhiten(t2(c.advantages), t2(c.mask));
    assertClose(whitened.values, c.whitenedAdvantages, { rtol: 1e-5, atol: 1e-6 });
  });
});

describe("actorLoss()", () => {
  const c = fixture.actorLoss;
  test("matches actor_loss_fn in value and gradient", () => {
    const logProbs = t2(c.logProbs).requireGrad();
    const loss = actorLoss(logProbs, t2(c.oldLogProbs), t2(c.advantages), t2(c.mask), c.cliprange);
    assertClose([loss.item()], [c.loss], { rtol: 1e-5 });
    loss.backward();
    assertClose(logProbs.grad?.values ?? [], c.gradLogProbs, { rtol: 1e-5, atol: 1e-7 });
  });

  test("by hand: ratio 1.5, eps 0.2 gives -1.2 for A = +1 and 1.5 for A = -1", () => {
    const logRatio = Math.log(1.5);
    const loss = (a: number) =>
      actorLoss(tensor([[logRatio]]), tensor([[0]]), tensor([[a]]), tensor([[1]]), 0.2).item();
    assertClose([loss(1), loss(-1)], [-1.2, 1.5], { rtol: 1e-6 });
  });
});

describe("criticLoss()", () => {
  const c = fixture.criticLoss;
  test("matches critic_loss_fn in value and gradient", () => {
    const values = t2(c.values).requireGrad();
    const loss = criticLoss(values, t2(c.oldValues), t2(c.returns), t2(c.mask), c.cliprangeValue);
    assertClose([loss.item()], [c.loss], { rtol: 1e-5 });
    loss.backward();
    assertClose(values.grad?.values ?? [], c.gradValues, { rtol: 1e-5, atol: 1e-7 });
  });
});

describe("adaptiveKlCoef()", () => {
  test("by hand: KL twice the target raises beta by 0.2 * n/horizon, half lowers it by 0.2 * ... / 2", () => {
    // 0.1 · (1 + 0.2 · 256/10000) = 0.1·1.00512; KL/target - 1 = -0.5 clips to -0.2
    assertClose([adaptiveKlCoef(0.1, 12, 6, 256, 10000)], [0.100512], { rtol: 1e-12 });
    assertClose([adaptiveKlCoef(0.1, 3, 6, 256, 10000)], [0.1 * (1 - (0.2 * 256) / 10000)], { rtol: 1e-12 });
    assertClose([adaptiveKlCoef(0.1, 6.6, 6, 100, 1000)], [0.1 * (1 + 0.1 * 0.1)], { rtol: 1e-12 });
  });
});

describe("resolvePPOConfig()", () => {
  test("defaults are DeepSpeed-Chat's", () => {
    const c = resolvePPOConfig();
    assert.deepEqual(
      [c.klCoef, c.clipRewardValue, c.gamma, c.lam, c.cliprange, c.cliprangeValue, c.klTarget],
      [0.1, 5, 1, 0.95, 0.2, 0.2, null],
    );
  });

  test("rejects bad values with INVALID_OPTION", () => {
    for (const bad of [{ lam: 1.5 }, { miniBatchSize: 0 }, { klTarget: -1 }, { klEstimator: "k2" as "k1" }]) {
      assert.throws(
        () => resolvePPOConfig(bad),
        (e: unknown) => e instanceof ProximalError && e.code === "INVALID_OPTION",
      );
    }
  });
});

describe("PPOTrainer", () => {
  const config = { vocabSize: 8, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2 };
  const makeTrainer = (options = {}) =>
    new PPOTrainer(
      {
        actor: new GPT(config, { rng: new Rng(1) }),
        rewardModel: new GPTRewardModel(config, { rng: new Rng(2) }),
      },
      {
        maxNewTokens: 5,
        miniBatchSize: 2,
        ppoEpochs: 2,
        learningRate: 1e-3,
        criticLearningRate: 1e-3,
        ...options,
      },
      { eosTokenId: 2, padTokenId: 0 },
    );
  const prompts = [[1, 3], [1, 4, 5], [1], [1, 6]];

  test("one step reports finite metrics and leaves the reference frozen", () => {
    const trainer = makeTrainer();
    const before = (trainer.reference as GPT).wte.weight.values.slice();
    const stats = trainer.step(prompts);
    for (const [key, value] of Object.entries(stats)) assert.ok(Number.isFinite(value), `${key} = ${value}`);
    assert.ok(stats["rollout/responseLength"] >= 1 && stats["rollout/responseLength"] <= 5);
    assert.deepEqual((trainer.reference as GPT).wte.weight.values, before);
    assert.notDeepEqual(trainer.actor.wte.weight.values, before);
  });

  test("is deterministic for a seed", () => {
    const a = makeTrainer({ seed: 3 }).step(prompts);
    const b = makeTrainer({ seed: 3 }).step(prompts);
    assert.deepEqual(a, b);
  });

  test("nonEosPenalty changes the update when a response misses EOS", () => {
    // one new token from 8 ids: most responses miss EOS (id 2), so their scores become -3
    const plain = makeTrainer({ seed: 4, maxNewTokens: 1 });
    const penalized = makeTrainer({ seed: 4, maxNewTokens: 1, nonEosPenalty: true, penaltyRewardValue: -3 });
    const a = plain.step(prompts);
    const b = penalized.step(prompts);
    assert.ok(a["rollout/eosFraction"] < 1);
    assert.equal(a["rollout/score"], b["rollout/score"]); // logged before the penalty
    assert.notDeepEqual(
      plain.critic.v_head.summary.weight.values,
      penalized.critic.v_head.summary.weight.values,
    );
  });

  test("rejects a batch that does not split into minibatches", () => {
    assert.throws(
      () => makeTrainer({ miniBatchSize: 3 }).step(prompts),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});
