import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ActionMasking } from "../wrappers/actionMasking.js";
import { TaxiEnv, taxiDecode, taxiEncode } from "./taxi.js";

describe("TaxiEnv", () => {
  test("taxiEncode and taxiDecode are inverse over the 500 states", () => {
    for (let s = 0; s < 500; s++) assert.equal(taxiEncode(...taxiDecode(s)), s);
  });

  test("info.actionMask is info.action_mask, and marks exactly the actions that change the state", () => {
    const env = new TaxiEnv();
    for (let s = 0; s < 500; s++) {
      const { info } = env.reset({ options: { state: s } });
      assert.equal(info.actionMask, info.action_mask);
      const mask = info.actionMask as Uint8Array;
      assert.ok(mask instanceof Uint8Array && mask.length === 6);
      for (let a = 0; a < 6; a++)
        assert.equal(mask[a], env.P[s][a][0][1] !== s ? 1 : 0, `state ${s} action ${a}`);
    }
  });

  test("resets start with the passenger waiting away from the destination; the mask works with ActionMasking", () => {
    const env = new ActionMasking(new TaxiEnv(), (inner) =>
      (inner as TaxiEnv).actionMask((inner as TaxiEnv).state),
    );
    for (let seed = 0; seed < 50; seed++) {
      const { observation, info } = env.reset({ seed });
      const [, , passenger, destination] = taxiDecode(observation);
      assert.ok(passenger < 4 && passenger !== destination);
      assert.deepEqual(info.actionMask, info.action_mask);
    }
  });

  test("isRainy: moves have three outcomes with probabilities 0.8, 0.1, 0.1; pickup and dropoff one", () => {
    const env = new TaxiEnv({ isRainy: true });
    for (let s = 0; s < 500; s++) {
      for (let a = 0; a < 6; a++) {
        const outcomes = env.P[s][a];
        assert.equal(outcomes.length, a < 4 ? 3 : 1);
        assert.ok(Math.abs(outcomes.reduce((sum, t) => sum + t[0], 0) - 1) < 1e-12);
      }
    }
    // From (2, 2) going north: intended (1, 2), slips west to (2, 1) and east to (2, 3).
    const s = taxiEncode(2, 2, 0, 1);
    assert.deepEqual(
      env.P[s][1].map((t) => [t[0], taxiDecode(t[1]).slice(0, 2)]),
      [
        [0.8, [1, 2]],
        [0.09999999999999998, [2, 1]],
        [0.09999999999999998, [2, 3]],
      ],
    );
  });

  test("ficklePassenger: with probability 1 the destination changes once, on the first move with the passenger", () => {
    const env = new TaxiEnv({ ficklePassenger: true, fickleProbability: 1 });
    const start = taxiEncode(0, 0, 0, 3); // taxi at R with the passenger there, going to B
    env.reset({ seed: 0, options: { state: start } });
    const boarded = env.step(4).observation;
    assert.deepEqual(taxiDecode(boarded), [0, 0, 4, 3]);
    const moved = taxiDecode(env.step(0).observation);
    assert.deepEqual(moved.slice(0, 3), [1, 0, 4]);
    assert.notEqual(moved[3], 3);
    const again = taxiDecode(env.step(0).observation);
    assert.equal(again[3], moved[3], "only once per episode");
  });
});
