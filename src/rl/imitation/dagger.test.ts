import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { make } from "../../envs/make.js";
import { evaluatePolicy } from "../common/evaluation.js";
import { BC } from "./bc.js";
import { DAgger, daggerBeta } from "./dagger.js";
import { recordDemonstrations } from "./demonstrations.js";
import { cartPoleExpert } from "./imitationTestUtil.test.util.js";

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

describe("daggerBeta()", () => {
  test("linear: 1 at round 0, down by 1/R a round, 0 from round R on (imitation's LinearBetaSchedule)", () => {
    assert.deepEqual(
      [0, 1, 5, 10, 11].map((i) => daggerBeta(i, "linear", 10, 0.5)),
      [1, 0.9, 0.5, 0, 0],
    );
  });

  test("exponential: p^i (Ross et al. 2011, §3)", () => {
    assert.deepEqual(
      [0, 1, 3].map((i) => daggerBeta(i, "exponential", 15, 0.5)),
      [1, 0.5, 0.125],
    );
  });
});

describe("DAgger", () => {
  test("needs fewer expert labels than BC on CartPole (seed 0: 300 labels reach 475, BC's 1000 do not)", {
    skip: quick,
  }, async () => {
    const policy = { netArch: [32, 32] };
    const evaluate = async (model: BC | DAgger) =>
      (await evaluatePolicy(model, make("CartPole-v1"), { episodes: 10, seed: 1000 })).meanReturn;
    const dagger = new DAgger("CartPole-v1", {
      expert: cartPoleExpert,
      seed: 0,
      rolloutSteps: 50,
      epochsPerRound: 10,
      betaSchedule: "exponential",
      policy,
    });
    await dagger.learn({ totalTimesteps: 300 });
    assert.equal(dagger.expertLabels, 300);
    const daggerReturn = await evaluate(dagger);
    // BC on two whole expert episodes: 1000 labels, more than three times DAgger's
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 2, seed: 5 });
    assert.equal(demos.rewards.length, 1000);
    const bc = new BC("CartPole-v1", { demonstrations: demos, seed: 0, validationFraction: 0, policy });
    await bc.learn({ totalTimesteps: 20_000 });
    const bcReturn = await evaluate(bc);
    assert.ok(daggerReturn >= 475, `DAgger with 300 labels: ${daggerReturn}`);
    assert.ok(bcReturn < 475, `BC with 1000 labels: ${bcReturn} (seed 0 measured 307)`);
  });

  test("labels every visited state and reports β and the labels", async () => {
    const model = new DAgger("CartPole-v1", {
      expert: cartPoleExpert,
      seed: 1,
      numEnvs: 2,
      rolloutSteps: 20,
      epochsPerRound: 1,
    });
    const rows: Record<string, number>[] = [];
    await model.learn({ totalTimesteps: 60, onUpdate: (stats) => void rows.push(stats) });
    assert.deepEqual(
      rows.map((r) => r["dagger/expertLabels"]),
      [20, 40, 60],
    );
    assert.deepEqual(
      rows.map((r) => r["dagger/beta"]),
      [1, 1 - 1 / 15, 1 - 2 / 15],
    );
    assert.equal(model.numTimesteps, 60);
  });

  test("without an expert, learn fails with INVALID_OPTION naming --expert", async () => {
    await assert.rejects(
      new DAgger("CartPole-v1").learn({ totalTimesteps: 10 }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "INVALID_OPTION");
        assert.match(e.message, /--expert/);
        return true;
      },
    );
  });
});
