import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { make } from "../../envs/make.js";
import { VectorNormalizeObservation } from "../../envs/vector/vectorNormalizeObservation.js";
import { evaluatePolicy } from "../common/evaluation.js";
import type { UpdateStats } from "../common/onPolicyAlgorithm.js";
import { BC, splitByEpisode } from "./bc.js";
import { recordDemonstrations } from "./demonstrations.js";
import { cartPoleExpert } from "./imitationTestUtil.test.util.js";

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

describe("splitByEpisode()", () => {
  test("holds out whole episodes, the same ones for the same seed", async () => {
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 5, seed: 0 });
    const a = splitByEpisode(demos, 0.4, 3);
    const b = splitByEpisode(demos, 0.4, 3);
    assert.deepEqual(a.validationEpisodes, b.validationEpisodes);
    assert.equal(a.validationEpisodes.length, 2);
    // whole episodes: the sizes are sums of episode lengths, and together they are every step
    const held = a.validationEpisodes.reduce((sum, e) => sum + demos.episodeSteps[e], 0);
    assert.equal(a.validation.size, held);
    assert.equal(a.train.size + a.validation.size, demos.rewards.length);
  });

  test("one episode cannot be split: INVALID_OPTION names validationFraction 0", async () => {
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 1, seed: 0 });
    assert.throws(
      () => splitByEpisode(demos, 0.2, 0),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "INVALID_OPTION");
        assert.match(e.message, /validationFraction 0/);
        return true;
      },
    );
  });
});

describe("BC", () => {
  test("clones a CartPole expert from 4 episodes to >= 475 (seed 0)", { skip: quick }, async () => {
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 4, seed: 0 });
    const model = new BC("CartPole-v1", { demonstrations: demos, seed: 0 });
    await model.learn({ totalTimesteps: 60_000 });
    const result = await evaluatePolicy(model, make("CartPole-v1"), { episodes: 10, seed: 100 });
    assert.ok(result.meanReturn >= 475, `mean return ${result.meanReturn}`);
  });

  test("stops early once the validation loss stops improving, and keeps the best epoch", async () => {
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 3, seed: 1 });
    // a high learning rate on few pairs overfits quickly, so the validation loss turns up
    const model = new BC("CartPole-v1", { demonstrations: demos, seed: 0, learningRate: 0.01, patience: 2 });
    const history: UpdateStats[] = [];
    await model.learn({ totalTimesteps: 10_000_000, onUpdate: (stats) => void history.push(stats) });
    assert.ok(model.stoppedEarly);
    assert.ok(model.numTimesteps < 10_000_000);
    const last = history[history.length - 1];
    assert.equal(last["train/epochsSinceBest"], 2);
    const best = Math.min(...history.map((s) => s["train/validationLoss"]));
    assert.equal(model.bestValidationLoss, best);
    // the restored weights are the best epoch's: their validation loss is the best one
    const { validation } = splitByEpisode(demos, model.validationFraction, model.seed);
    const loss = (model as unknown as { datasetLoss(d: typeof validation): number }).datasetLoss(validation);
    assert.ok(Math.abs(loss - best) < 1e-6, `${loss} vs ${best}`);
  });

  test("save and load predict the same actions; demonstrations given in memory are not saved", async () => {
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 2, seed: 0 });
    const model = new BC("CartPole-v1", { demonstrations: demos, seed: 0 });
    await model.learn({ totalTimesteps: 2_000 });
    const dir = await mkdtemp(join(tmpdir(), "proximal-bc-"));
    try {
      await model.save(dir);
      const loaded = await BC.load(dir);
      assert.equal(loaded.options.demonstrations, null);
      assert.equal(loaded.numTimesteps, model.numTimesteps);
      assert.equal(loaded.bestValidationLoss, model.bestValidationLoss);
      const observations = Float32Array.from([0.01, 0.2, -0.03, -0.1, 0.05, -0.3, 0.1, 0.4]);
      assert.deepEqual(
        loaded.predict(observations, { deterministic: true }),
        model.predict(observations, { deterministic: true }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("bad options fail with INVALID_OPTION naming the fix", async () => {
    assert.throws(() => new BC("CartPole-v1", { lossType: "mse" }), /needs Box actions/);
    assert.throws(() => new BC("CartPole-v1", { validationFraction: 1 }), { code: "INVALID_OPTION" });
    const normalized = new VectorNormalizeObservation(
      make("CartPole-v1", { numEnvs: 1, autoresetMode: "same-step" }),
    );
    assert.throws(() => new BC(normalized), /must not normalise observations/);
    await assert.rejects(
      new BC("CartPole-v1").learn({ totalTimesteps: 10 }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "INVALID_OPTION");
        assert.match(e.message, /--demos/);
        return true;
      },
    );
  });

  test("continuous actions: the mse loss fits the Gaussian mean", async () => {
    // a linear 'expert' on Pendulum: torque = −2·sin-angle component, clipped by the env
    const expert = {
      predict: (obs: Float32Array) => {
        const out = new Float32Array(obs.length / 3);
        for (let i = 0; i < out.length; i++) out[i] = Math.max(-2, Math.min(2, -2 * obs[3 * i + 1]));
        return out;
      },
    };
    const demos = await recordDemonstrations(expert, make("Pendulum-v1"), { episodes: 2, seed: 0 });
    const model = new BC("Pendulum-v1", {
      demonstrations: demos,
      seed: 0,
      lossType: "mse",
      validationFraction: 0,
    });
    const history: UpdateStats[] = [];
    await model.learn({ totalTimesteps: 8_000, onUpdate: (stats) => void history.push(stats) });
    assert.ok(history[history.length - 1]["train/loss"] < history[0]["train/loss"] / 4);
    const obs = Float32Array.from([0, 0.5, 0]);
    const action = model.predict(obs, { deterministic: true })[0];
    assert.ok(Math.abs(action - -1) < 0.3, `predicted ${action} for a target of −1`);
  });
});
