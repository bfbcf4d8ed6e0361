import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { Body } from "planck";
import { Rng } from "../../random/rng.js";
import type { Env, RenderFrame } from "../env.js";
import { make } from "../make.js";
import { registry } from "../registry.js";
import { Box } from "../spaces/box.js";
import { BipedalWalkerEnv, BipedalWalkerHeuristics } from "./bipedalWalker.js";

type Walker = Env<Float32Array, Float32Array | number[]>;

const terrainStep = 14 / 30;
const terrainHeight = 400 / 30 / 4;

/** Observations and rewards of `steps` seeded random actions. */
function randomRollout(seed: number, steps: number): { observations: number[][]; rewards: number[] } {
  const env = make("BipedalWalker-v3") as Walker;
  const rng = new Rng(100 + seed);
  const observations = [Array.from(env.reset({ seed }).observation)];
  const rewards: number[] = [];
  for (let t = 0; t < steps; t++) {
    const r = env.step(Array.from({ length: 4 }, () => rng.uniform(-1, 1)));
    observations.push(Array.from(r.observation));
    rewards.push(r.reward);
    if (r.terminated || r.truncated) break;
  }
  return { observations, rewards };
}

/** Gymnasium's `__main__` demo: a zero action first, then the heuristic's. */
function heuristicEpisode(
  id: string,
  seed: number,
  maxSteps: number,
): { steps: number; total: number; fell: boolean; maxX: number } {
  const env = new BipedalWalkerEnv({ hardcore: id.includes("Hardcore") });
  env.reset({ seed });
  const controller = new BipedalWalkerHeuristics();
  let action = [0, 0, 0, 0];
  let total = 0;
  let steps = 0;
  let maxX = 0;
  for (; steps < maxSteps; ) {
    const r = env.step(action);
    steps++;
    total += r.reward;
    maxX = Math.max(maxX, hullOf(env).getPosition().x);
    if (r.terminated) return { steps, total, fell: r.reward === -100, maxX };
    action = controller.stepHeuristic(r.observation);
  }
  return { steps, total, fell: false, maxX };
}

/** White-box access to the hull, to check the reward against its position. */
function hullOf(env: BipedalWalkerEnv): Body {
  return (env as unknown as { hull: Body }).hull;
}

describe("BipedalWalker-v3", () => {
  test("spaces, ids, time limits and thresholds are Gymnasium's", () => {
    const env = make("BipedalWalker-v3");
    const obs = env.observationSpace as Box;
    assert.ok(obs instanceof Box);
    assert.deepEqual(obs.shape, [24]);
    assert.equal(obs.dtype, "float32");
    // the bounds Gymnasium declares (float32): pi for angles, 5 for speeds, [0, 5] for contacts, [-1, 1] lidar
    const pi = Math.fround(Math.PI);
    assert.deepEqual(Array.from(obs.high), [
      pi,
      5,
      5,
      5,
      pi,
      5,
      pi,
      5,
      5,
      pi,
      5,
      pi,
      5,
      5,
      ...new Array(10).fill(1),
    ]);
    assert.ok(obs.low[8] === 0 && obs.low[13] === 0); // Gymnasium declares -0.0
    assert.equal(obs.low[14], -1);
    const act = env.actionSpace as Box;
    assert.deepEqual(act.shape, [4]);
    assert.deepEqual(Array.from(act.low), [-1, -1, -1, -1]);
    assert.deepEqual(Array.from(act.high), [1, 1, 1, 1]);
    assert.equal(env.metadata.renderFps, 50);

    const normal = registry.get("BipedalWalker-v3");
    const hard = registry.get("BipedalWalkerHardcore-v3");
    assert.equal(normal.maxEpisodeSteps, 1600);
    assert.equal(hard.maxEpisodeSteps, 2000);
    assert.equal(normal.rewardThreshold, 300);
    assert.equal(hard.rewardThreshold, 300);
    assert.deepEqual(hard.kwargs, { hardcore: true });
    const observation = env.reset({ seed: 0 }).observation;
    assert.equal(observation.length, 24);
    assert.ok(observation instanceof Float32Array);
  });

  test("same seed, same trajectory; another seed, another terrain", () => {
    const a = randomRollout(3, 80);
    const b = randomRollout(3, 80);
    assert.deepEqual(a, b);
    const terrain = (seed: number, hardcore = false) => {
      const env = new BipedalWalkerEnv({ hardcore });
      env.reset({ seed });
      return env.terrainProfile().y;
    };
    assert.deepEqual(terrain(1), terrain(1));
    assert.notDeepEqual(terrain(1), terrain(2));
    assert.notDeepEqual(terrain(1, true), terrain(2, true));
    // reset() without a seed continues the generator: a new terrain, reproducible from the first seed
    const env = new BipedalWalkerEnv();
    env.reset({ seed: 1 });
    env.reset();
    const second = env.terrainProfile().y;
    assert.notDeepEqual(second, terrain(1));
    const again = new BipedalWalkerEnv();
    again.reset({ seed: 1 });
    again.reset();
    assert.deepEqual(again.terrainProfile().y, second);
  });

  test("terrain: 200 points one step apart, a flat start pad, obstacles only in hardcore", () => {
    for (const seed of [0, 1, 2, 3]) {
      const env = new BipedalWalkerEnv();
      env.reset({ seed });
      const { x, y } = env.terrainProfile();
      assert.equal(x.length, 200);
      assert.equal(y.length, 200);
      for (let i = 0; i < 200; i++) assert.ok(Math.abs(x[i] - i * terrainStep) < 1e-12);
      // the grass's velocity stays 0 until the pad ends (Gymnasium's `i > TERRAIN_STARTPAD`)
      for (let i = 0; i <= 20; i++) assert.equal(y[i], terrainHeight);
      // grass is pulled back towards TERRAIN_HEIGHT: it stays within a few metres of it
      for (const v of y) assert.ok(Math.abs(v - terrainHeight) < 3, `grass height ${v}`);
      assert.equal(env.obstacles().length, 0);
    }
    let obstacles = 0;
    for (const seed of [0, 1, 2, 3]) {
      const env = new BipedalWalkerEnv({ hardcore: true });
      env.reset({ seed });
      const { x, y } = env.terrainProfile();
      for (let i = 0; i <= 20; i++)
        assert.equal(y[i], terrainHeight, "the start pad is flat in hardcore too");
      for (const poly of env.obstacles()) {
        assert.equal(poly.length, 4); // stumps, pit walls and stair steps are all quadrilaterals
        for (const [px] of poly) assert.ok(px >= x[20] && px <= x[199] + 8 * terrainStep);
      }
      obstacles += env.obstacles().length;
    }
    assert.ok(obstacles > 10, `hardcore terrain has obstacles (${obstacles} in 4 seeds)`);
  });

  test("reward = shaping difference - 0.028 per unit of |torque|, clipped at 1", () => {
    const env = new BipedalWalkerEnv();
    env.reset({ seed: 4 });
    const shaping = () => (130 * hullOf(env).getPosition().x) / 30 - 5 * Math.abs(hullOf(env).getAngle());
    let previous = shaping();
    const rng = new Rng(9);
    for (let t = 0; t < 40; t++) {
      const action = Array.from({ length: 4 }, () => rng.uniform(-1.5, 1.5));
      const r = env.step(action);
      const cost = action.reduce((s, a) => s + 0.00035 * 80 * Math.min(Math.abs(Math.fround(a)), 1), 0);
      assert.ok(cost > 0);
      const now = shaping();
      assert.ok(Math.abs(r.reward - (now - previous - cost)) < 1e-9, `step ${t}`);
      previous = now;
    }
  });

  test("out-of-range torques act as their clipped values, as Gymnasium's np.clip does", () => {
    const run = (scale: number) => {
      const env = make("BipedalWalker-v3") as Walker;
      env.reset({ seed: 6 });
      const out: number[] = [];
      for (let t = 0; t < 20; t++) {
        const r = env.step([scale, -scale, scale, -scale]);
        out.push(r.reward, ...Array.from(r.observation));
      }
      return out;
    };
    // |a| >= 1 gives the same torque limit (80) and motor speed; only the sign matters past 1
    assert.deepEqual(run(1), run(7));
    assert.notDeepEqual(run(1), run(0.5));
  });

  test("falling: limp legs drop the hull on the ground, -100 and terminated", () => {
    const env = make("BipedalWalker-v3") as Walker;
    env.reset({ seed: 0 });
    let r = env.step([0, 0, 0, 0]);
    let steps = 1;
    while (!r.terminated && !r.truncated) {
      r = env.step([0, 0, 0, 0]);
      steps++;
    }
    assert.equal(r.terminated, true);
    assert.equal(r.reward, -100);
    assert.ok(steps < 200, `fell after ${steps} steps`);
    assert.throws(() => env.step([0, 0, 0, 0]), { code: "RESET_NEEDED" });
  });

  test("the time limit truncates (registered 1600; overridable)", () => {
    const env = make("BipedalWalker-v3", { maxEpisodeSteps: 5 }) as Walker;
    env.reset({ seed: 0 });
    for (let t = 0; t < 4; t++) assert.equal(env.step([0, 0, 0, 0]).truncated, false);
    const last = env.step([0, 0, 0, 0]);
    assert.equal(last.truncated, true);
    assert.equal(last.terminated, false);
    assert.equal(make("BipedalWalker-v3").spec?.maxEpisodeSteps, 1600);
    assert.equal(make("BipedalWalkerHardcore-v3").spec?.maxEpisodeSteps, 2000);
  });

  test("bad actions, early steps and checkpoints fail clearly", () => {
    const env = make("BipedalWalker-v3") as Walker;
    assert.throws(() => env.step([0, 0, 0, 0]), { code: "RESET_NEEDED" });
    env.reset({ seed: 0 });
    assert.throws(() => env.step([0, Number.NaN, 0, 0]), {
      code: "INVALID_ACTION",
      message: /BipedalWalker-v3: .*index 1/,
    });
    assert.throws(() => env.step([0, 0]), { code: "SHAPE_MISMATCH", message: /expected 4/ });
    assert.throws(
      () => env.getState!(),
      (e: Error & { code: string }) => e.code === "INVALID_ARGUMENT" && /not supported/.test(e.message),
    );
    // a vector of them says the same, which checkpointing reads as "resume from a fresh reset"
    const vector = make("BipedalWalker-v3", { numEnvs: 2 });
    vector.reset({ seed: 0 });
    vector.step(new Float32Array(8));
    assert.throws(() => vector.getState(), { code: "INVALID_ARGUMENT" });
    vector.close();
    assert.throws(() => new BipedalWalkerEnv({ hardcore: "yes" as unknown as boolean }), {
      code: "INVALID_OPTION",
    });
  });

  test("renders a 600x400 RGB frame of the walker, and a text picture in ansi mode", () => {
    for (const id of ["BipedalWalker-v3", "BipedalWalkerHardcore-v3"]) {
      const env = make(id) as Walker;
      env.reset({ seed: 0 });
      for (let t = 0; t < 30; t++) env.step([0.5, -0.5, 0.5, -0.5]);
      const frame = env.render() as RenderFrame;
      assert.equal(frame.width, 600);
      assert.equal(frame.height, 400);
      assert.equal(frame.data.length, 600 * 400 * 3);
      let hull = false;
      let sky = false;
      for (let i = 0; i < frame.data.length; i += 3) {
        const [r, g, b] = [frame.data[i], frame.data[i + 1], frame.data[i + 2]];
        if (r === 127 && g === 51 && b === 229) hull = true;
        if (r === 215 && g === 215 && b === 255) sky = true;
      }
      assert.ok(hull && sky, "the hull's purple and the sky are drawn");
    }
    const text = make("BipedalWalker-v3", { renderMode: "ansi" });
    text.reset({ seed: 0 });
    const picture = text.render() as string;
    assert.equal(typeof picture, "string");
    assert.ok(/H/.test(picture) && /\|/.test(picture) && /_/.test(picture), picture);
  });

  test("matches Box2D 2.3 (C++) on the same terrain: 40 steps of random torques to 1e-3", () => {
    // fixtures/box2d/BipedalWalker-v3.json, from scripts/fixtures/makeBipedalWalkerBox2dFixture.mjs.
    // Box2D runs in float32 and planck in float64, so trajectories part ways eventually: measured
    // gaps stay below 6e-5 for 40 steps on both seeds, then a contact that starts a step apart
    // opens them to 4e-2 (seed 1, step 45). So: the first 40 of the 60 recorded steps, at 1e-3.
    const fixture = JSON.parse(
      readFileSync(new URL("../../../fixtures/box2d/BipedalWalker-v3.json", import.meta.url), "utf8"),
    ) as {
      episodes: {
        reset_seed: number;
        initial_observation: number[];
        steps: { action: number[]; reward: number; observation: number[] }[];
      }[];
    };
    for (const episode of fixture.episodes) {
      const env = new BipedalWalkerEnv();
      const first = env.reset({ seed: episode.reset_seed }).observation;
      const near = (actual: ArrayLike<number>, expected: number[], what: string) => {
        for (let i = 0; i < expected.length; i++)
          assert.ok(
            Math.abs(actual[i] - expected[i]) < 1e-3,
            `${what}[${i}]: ${actual[i]} vs Box2D ${expected[i]}`,
          );
      };
      near(first, episode.initial_observation, `seed ${episode.reset_seed} reset`);
      episode.steps.slice(0, 40).forEach((expected, t) => {
        const r = env.step(expected.action);
        near(r.observation, expected.observation, `seed ${episode.reset_seed} step ${t}`);
        assert.ok(
          Math.abs(r.reward - expected.reward) < 1e-3,
          `step ${t} reward ${r.reward} vs ${expected.reward}`,
        );
      });
    }
  });

  // The issue's acceptance test. Gymnasium's heuristic is no perfect walker ("walks up to the end
  // about 80% of the time", said its author of gym's v2; Gymnasium's doc says it "has no notion of
  // balance"). On seeds 0-9 it falls after 316-1350 steps here; on Box2D 2.3's C++ with the same
  // terrains (scripts/reference/bipedalWalkerBox2d.cpp) it falls after 314-1365 steps or reaches the
  // 1600-step limit (2 seeds). It walks 1000 steps on 3 of the 10 seeds here, 4 there; seeds 2, 6
  // and 8 are the three here.
  test("Gymnasium's heuristic walks forward without falling for 1000 steps on 3 seeds", () => {
    for (const seed of [2, 6, 8]) {
      const { steps, fell, maxX } = heuristicEpisode("BipedalWalker-v3", seed, 1000);
      assert.equal(fell, false, `seed ${seed}: fell after ${steps} steps`);
      assert.equal(steps, 1000);
      // 1000 steps of this gait cover about 50 m of the 88 m course
      assert.ok(maxX > 40, `seed ${seed}: walked to x = ${maxX.toFixed(1)}`);
    }
  });
});
