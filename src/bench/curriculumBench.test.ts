import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runArm } from "./curriculumBench.js";

describe("bench curriculum (reverse curriculum over FrozenLake 8x8's start state)", () => {
  test("200 episodes: the curriculum reaches the task and its optimum (0.99^13), direct training does not (seeds 0-2)", async () => {
    for (const seed of [0, 1, 2]) {
      const curriculum = await runArm("curriculum", seed, 200);
      assert.equal(curriculum.stage, 5, `seed ${seed}: the curriculum ends on the task`);
      assert.ok(
        Math.abs(curriculum.startValue - 0.99 ** 13) < 1e-9,
        `seed ${seed}: ${curriculum.startValue}`,
      );
      const direct = await runArm("direct", seed, 200);
      assert.equal(direct.solved, false, `seed ${seed}`);
    }
  });
});
