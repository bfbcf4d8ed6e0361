import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadFixture } from "./classic/fixtureReplay.test.js";
import { make } from "./make.js";
import { register, registry } from "./registry.js";
import { Discrete } from "./spaces/discrete.js";
import { isVectorEnv } from "./vector/vectorEnv.js";

describe("make()", () => {
  test("registers Gymnasium's ids and time limits", () => {
    const limits = Object.fromEntries(registry.list().map((e) => [e.id, e.maxEpisodeSteps]));
    assert.deepEqual(
      { ...limits, "Faulty-v0": undefined },
      {
        "CartPole-v1": 500,
        "Acrobot-v1": 500,
        "MountainCar-v0": 200,
        "MountainCarContinuous-v0": 999,
        "Pendulum-v1": 200,
        "BipedalWalker-v3": 1600,
        "BipedalWalkerHardcore-v3": 2000,
        "LunarLander-v3": 1000,
        "LunarLanderContinuous-v3": 1000,
        "FrozenLake-v1": 100,
        "FrozenLake8x8-v1": 200,
        "CliffWalking-v1": null,
        "CliffWalkingSlippery-v1": null,
        "Taxi-v4": 200,
        "Blackjack-v1": null,
        "Faulty-v0": undefined,
      },
    );
  });

  test("an unknown id fails with the known ids and the closest match", () => {
    assert.throws(
      () => make("CartPole-v0"),
      (e: Error & { code: string }) => {
        assert.equal(e.code, "UNKNOWN_ENV");
        assert.match(e.message, /Did you mean "CartPole-v1"\?/);
        assert.match(
          e.message,
          /Acrobot-v1, BipedalWalker-v3, BipedalWalkerHardcore-v3, Blackjack-v1, CartPole-v1/,
        );
        return true;
      },
    );
  });

  test("register() adds user envs that make() creates, single and vector", () => {
    register(
      { id: "TinyCartPole-v0", entryPoint: (kw) => make("CartPole-v1", kw), maxEpisodeSteps: 3 },
      { override: true },
    );
    const env = make("TinyCartPole-v0");
    env.reset({ seed: 0 });
    env.step(0);
    env.step(1);
    assert.equal(env.step(0).truncated, true);
    const vector = make("TinyCartPole-v0", { numEnvs: 2 });
    assert.ok(isVectorEnv(vector) && !isVectorEnv(env));
    assert.equal(vector.reset({ seed: 0 }).observations.length, 8);
  });

  test("stepping before reset, after the end, or with bad actions names env, space and value", () => {
    const env = make("CartPole-v1");
    assert.throws(() => env.step(0), { code: "RESET_NEEDED" });
    env.reset({ seed: 0 });
    assert.throws(
      () => env.step(2),
      (e: Error & { code: string }) => {
        assert.equal(e.code, "INVALID_ACTION");
        assert.match(e.message, /CartPole-v1: action 2 is not in the action space Discrete\(2\)/);
        return true;
      },
    );
    assert.throws(() => env.step(Number.NaN), /action NaN/);
    let r = env.step(1);
    while (!r.terminated) r = env.step(1);
    assert.throws(() => env.step(1), { code: "RESET_NEEDED" });
    const pendulum = make("Pendulum-v1");
    pendulum.reset();
    assert.throws(() => pendulum.step([Number.NaN]), { code: "INVALID_ACTION" });
    assert.throws(
      () => pendulum.step([1, 2]),
      (e: Error & { code: string }) => {
        assert.equal(e.code, "SHAPE_MISMATCH");
        assert.match(e.message, /Pendulum-v1: action \[1, 2\].*Box\(-2, 2, \[1\], float32\)/);
        return true;
      },
    );
    assert.throws(() => pendulum.step(1 as unknown as number[]), /Wrap a scalar/);
  });

  test("a free MountainCar run truncates at exactly 200 steps (fixture actions)", () => {
    const fixture = loadFixture("MountainCar-v0");
    const episode = fixture.episodes.find((e) => e.steps.length === 200 && !e.steps.at(-1)!.terminated)!;
    const env = make("MountainCar-v0");
    env.reset({ options: { state: episode.initial_state } });
    episode.steps.forEach((step, t) => {
      const r = env.step(step.action as number);
      assert.equal(r.truncated, t === 199, `step ${t}`);
      assert.equal(r.terminated, false);
    });
  });

  test("same seed, same first observation and same step (checkEnv) for every built-in", () => {
    for (const id of registry.ids().filter((i) => i !== "Faulty-v0" && !i.startsWith("Tiny"))) {
      const a = make(id);
      const b = make(id);
      const first = a.reset({ seed: 42 }).observation;
      assert.deepEqual(b.reset({ seed: 42 }).observation, first, id);
      const action =
        a.actionSpace instanceof Discrete ? 0 : new Float32Array(a.actionSpace.shape[0]).fill(0.7);
      assert.deepEqual(a.step(action), b.step(action), id);
    }
  });

  test("single-env getState/setState resumes bit-exactly through the wrappers", () => {
    const env = make("Acrobot-v1");
    env.reset({ seed: 9 });
    for (let t = 0; t < 10; t++) env.step(t % 3);
    const saved = JSON.parse(JSON.stringify(env.getState!()));
    const next = Array.from({ length: 5 }, (_, t) => env.step(t % 3));
    const other = make("Acrobot-v1");
    other.setState!(saved);
    assert.deepEqual(
      Array.from({ length: 5 }, (_, t) => other.step(t % 3)),
      next,
    );
  });
});
