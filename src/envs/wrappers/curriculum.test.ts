import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { make } from "../make.js";
import { Curriculum, CurriculumSchedule, type EpisodeOutcome } from "./curriculum.js";

const episode = (terminated: boolean): EpisodeOutcome => ({ return: 0, length: 1, terminated, info: {} });

describe("CurriculumSchedule", () => {
  test("moves on once the last `window` episodes of a stage reach the threshold, and only forward", () => {
    const schedule = new CurriculumSchedule({
      stages: [{ a: 1 }, { a: 2 }, { a: 3 }],
      threshold: 0.75,
      window: 4,
    });
    for (const ok of [true, true, true]) schedule.record(episode(ok));
    assert.equal(schedule.stage, 0, "the window is not full yet");
    schedule.record(episode(false)); // 3/4 = 0.75
    assert.equal(schedule.stage, 1);
    assert.deepEqual(schedule.options, { a: 2 });
    assert.equal(schedule.successRate, 0, "a new stage starts a new window");
    for (let i = 0; i < 10; i++) schedule.record(episode(i % 2 === 0)); // 50%: stays
    assert.equal(schedule.stage, 1);
    for (let i = 0; i < 8; i++) schedule.record(episode(true));
    assert.equal(schedule.stage, 2);
    for (let i = 0; i < 8; i++) schedule.record(episode(true));
    assert.equal(schedule.stage, 2, "the last stage is the task: it stays");
    assert.equal(schedule.episodes, 30);
  });

  test("state round-trips; bad options fail with INVALID_OPTION", () => {
    const a = new CurriculumSchedule({ stages: [{}, {}], window: 3 });
    a.record(episode(true));
    const b = new CurriculumSchedule({ stages: [{}, {}], window: 3 });
    b.setState(a.getState());
    a.record(episode(true));
    a.record(episode(true));
    b.record(episode(true));
    b.record(episode(true));
    assert.equal(b.stage, a.stage);
    assert.equal(a.stage, 1);
    assert.throws(() => new CurriculumSchedule({ stages: [] }), { code: "INVALID_OPTION" });
    assert.throws(() => new CurriculumSchedule({ stages: [{}], threshold: 0 }), { code: "INVALID_OPTION" });
    assert.throws(() => new CurriculumSchedule({ stages: [{}], window: 0 }), { code: "INVALID_OPTION" });
  });
});

describe("Curriculum", () => {
  test("resets MountainCar with the stage's start range and reports episodes to the schedule", () => {
    const schedule = new CurriculumSchedule({
      stages: [
        { low: 0.4, high: 0.45 },
        { low: -0.6, high: -0.4 },
      ],
      threshold: 1,
      window: 1,
    });
    const env = new Curriculum(make<Float32Array, number>("MountainCar-v0"), schedule);
    const first = env.reset({ seed: 0 });
    assert.ok(first.observation[0] >= 0.4 && first.observation[0] <= 0.45);
    assert.equal(first.info.curriculumStage, 0);
    // push right from near the flag: reaches it (terminated), which moves the schedule on
    let step = env.step(2);
    for (let t = 0; t < 200 && !step.terminated && !step.truncated; t++) step = env.step(2);
    assert.equal(step.terminated, true);
    assert.equal(schedule.stage, 1);
    const second = env.reset();
    assert.ok(second.observation[0] >= -0.6 && second.observation[0] <= -0.4);
    // explicit reset options win over the stage's
    const third = env.reset({ options: { low: 0.1, high: 0.1 } });
    assert.ok(Math.abs(third.observation[0] - 0.1) < 1e-6);
  });
});
