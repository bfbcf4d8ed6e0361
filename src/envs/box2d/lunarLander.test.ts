import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { make } from "../make.js";
import { LunarLanderEnv, lunarLanderHeuristic } from "./lunarLander.js";

function heuristicEpisode(
  id: string,
  seed: number,
  continuous: boolean,
  options: Record<string, unknown> = {},
): { total: number; legsTouched: boolean } {
  const env = make(id, options);
  let { observation } = env.reset({ seed });
  let total = 0;
  let legsTouched = false;
  for (;;) {
    const r = env.step(lunarLanderHeuristic(observation, continuous));
    total += r.reward;
    observation = r.observation;
    if (observation[6] === 1 && observation[7] === 1) legsTouched = true;
    if (r.terminated || r.truncated) return { total, legsTouched };
  }
}

describe("LunarLander-v3", () => {
  test("Gymnasium's heuristic controller averages > 200 over 20 seeded episodes (discrete)", () => {
    const returns = Array.from(
      { length: 20 },
      (_, seed) => heuristicEpisode("LunarLander-v3", seed, false).total,
    );
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    assert.ok(mean > 200, `mean return ${mean.toFixed(1)} (${returns.map((r) => r.toFixed(0)).join(", ")})`);
  });

  test("the heuristic also lands the continuous version (> 200 on average)", () => {
    const returns = Array.from(
      { length: 20 },
      (_, seed) => heuristicEpisode("LunarLanderContinuous-v3", seed, true).total,
    );
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    assert.ok(mean > 200, `mean return ${mean.toFixed(1)}`);
  });

  test("free fall: with engines off, vertical speed drops by g*dt per step in observation units", () => {
    const env = new LunarLanderEnv();
    let previous = env.reset({ seed: 3 }).observation;
    for (let t = 0; t < 10; t++) {
      const { observation } = env.step(0);
      // vy is scaled by (H/2)/FPS: -10 m/s^2 * (1/50 s) * (400/30/2) / 50 = -0.02667; the leg
      // joints' motors push on the body a little, so allow 10%
      const dvy = observation[3] - previous[3];
      assert.ok(Math.abs(dvy + 0.02667) < 0.0027, `step ${t}: dvy ${dvy}`);
      assert.ok(observation[1] < previous[1], "falling");
      previous = observation;
    }
  });

  test("legs touch the ground before the episode ends in a landing, and landing pays +100", () => {
    const { legsTouched, total } = heuristicEpisode("LunarLander-v3", 0, false);
    assert.ok(legsTouched);
    assert.ok(total > 100);
  });

  test("crashing (no engines) terminates with -100", () => {
    const env = make("LunarLander-v3");
    env.reset({ seed: 0 });
    let r = env.step(0);
    while (!r.terminated && !r.truncated) r = env.step(0);
    assert.equal(r.terminated, true);
    assert.equal(r.reward, -100);
  });

  test("wind and turbulence change the trajectory; same seed is reproducible", () => {
    const run = (options: Record<string, unknown>) => {
      const env = make("LunarLander-v3", options);
      env.reset({ seed: 5 });
      let o: ArrayLike<number> = [];
      for (let t = 0; t < 30; t++) o = env.step(0).observation;
      return Array.from(o);
    };
    assert.deepEqual(run({ enableWind: true }), run({ enableWind: true }));
    assert.notDeepEqual(run({ enableWind: true }), run({}));
  });

  test("bad actions and checkpoints fail clearly", () => {
    const env = make("LunarLanderContinuous-v3");
    env.reset({ seed: 0 });
    assert.throws(() => env.step([0, Number.NaN]), { code: "INVALID_ACTION" });
    assert.throws(() => env.step([0]), { code: "SHAPE_MISMATCH" });
    env.step([5, -5]); // clipped to [-1, 1], as Gymnasium does
    assert.throws(
      () => env.getState!(),
      (e: Error & { code: string }) => e.code === "INVALID_ARGUMENT" && /not supported/.test(e.message),
    );
    const discrete = make("LunarLander-v3");
    discrete.reset();
    assert.throws(
      () => discrete.step(4),
      /LunarLander-v3: action 4 is not in the action space Discrete\(4\)/,
    );
  });

  test("renders an RGB frame", () => {
    const env = make("LunarLander-v3");
    env.reset({ seed: 0 });
    const frame = env.render() as { data: Uint8Array; width: number; height: number };
    assert.equal(frame.data.length, 600 * 400 * 3);
    assert.ok(
      frame.data.some((v) => v === 230),
      "the lander's purple is drawn",
    );
  });

  // fixtures/box2d/LunarLander-v3.json, from scripts/fixtures/makeLunarLanderBox2dFixture.mjs: the
  // same worlds (terrain, initial force, every step's engine dispersion) on Box2D 2.3's C++.
  const fixture = JSON.parse(
    readFileSync(new URL("../../../fixtures/box2d/LunarLander-v3.json", import.meta.url), "utf8"),
  ) as {
    episodes: {
      env_id: string;
      reset_seed: number;
      initial_observation: number[];
      steps: { action: number | number[]; reward: number; terminated: boolean; observation: number[] }[];
    }[];
    heuristic: { box2d: { steps: number[]; returns: number[] } };
  };

  test("matches Box2D 2.3 (C++) step for step: 60 random actions, discrete and continuous, to 1e-3", () => {
    // Measured gaps: at most 1.2e-4 (float32 there, float64 here). Before the lander's mass data,
    // the contact order, the legs' reference angles and the floor's friction were matched, the
    // reset observation was already 2e-3 off and the gaps grew to 0.1-0.5 within 60 steps.
    for (const episode of fixture.episodes) {
      const env = new LunarLanderEnv({ continuous: episode.env_id === "LunarLanderContinuous-v3" });
      const near = (actual: ArrayLike<number>, expected: number[], what: string) => {
        for (let i = 0; i < expected.length; i++)
          assert.ok(
            Math.abs(actual[i] - expected[i]) < 1e-3,
            `${what}[${i}]: ${actual[i]} vs Box2D ${expected[i]}`,
          );
      };
      const where = `${episode.env_id} seed ${episode.reset_seed}`;
      near(
        env.reset({ seed: episode.reset_seed }).observation,
        episode.initial_observation,
        `${where} reset`,
      );
      episode.steps.forEach((expected, t) => {
        const r = env.step(expected.action);
        near(r.observation, expected.observation, `${where} step ${t}`);
        assert.ok(
          Math.abs(r.reward - expected.reward) < 1e-3,
          `${where} step ${t} reward ${r.reward} vs ${expected.reward}`,
        );
        assert.equal(r.terminated, expected.terminated, `${where} step ${t} terminated`);
      });
    }
  });

  test("Gymnasium's heuristic lands as on Box2D: same length and return on at least 8 of seeds 0-9", () => {
    // Closed-loop episodes are chaotic in both engines (float32 vs float64): measured, 8 of 10 agree
    // to the step and to 0.5 in return; seed 1 and 4 part ways near touchdown (202 vs 216 steps, 290
    // vs 292). With planck's own centroid and contact order none of the 10 agreed.
    let agree = 0;
    for (let seed = 0; seed < 10; seed++) {
      const env = new LunarLanderEnv();
      let { observation } = env.reset({ seed });
      let total = 0;
      let t = 0;
      for (; t < 1000; ) {
        const r = env.step(lunarLanderHeuristic(observation, false));
        total += r.reward;
        observation = r.observation;
        t++;
        if (r.terminated) break;
      }
      if (
        t === fixture.heuristic.box2d.steps[seed] &&
        Math.abs(total - fixture.heuristic.box2d.returns[seed]) < 0.5
      )
        agree++;
    }
    assert.ok(agree >= 8, `${agree} of 10 heuristic episodes agree with Box2D`);
  });
});
