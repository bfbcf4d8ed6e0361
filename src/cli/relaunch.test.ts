import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  RELAUNCHED_ENV,
  relaunchPlan,
  SEMI_SPACE_FLAG,
  SEMI_SPACE_MIB,
  SINGLE_THREADED_GC_FLAG,
} from "./relaunch.js";

describe("relaunchPlan", () => {
  test("train ppo relaunches with small semi-spaces, a one-thread collector, a capped malloc arena count and the child marker", () => {
    const plan = relaunchPlan(["train", "ppo", "--env", "CartPole-v1"], ["--enable-source-maps"], {
      HOME: "/h",
    });
    assert.ok(plan !== null);
    assert.deepEqual(plan.execArgv, [
      "--enable-source-maps",
      `${SEMI_SPACE_FLAG}=${SEMI_SPACE_MIB}`,
      SINGLE_THREADED_GC_FLAG,
    ]);
    assert.equal(plan.env.HOME, "/h");
    assert.equal(plan.env[RELAUNCHED_ENV], "1");
    assert.equal(plan.env.MALLOC_ARENA_MAX, "2");
    // a user's own arena setting is kept
    assert.equal(relaunchPlan(["train", "ppo"], [], { MALLOC_ARENA_MAX: "8" })?.env.MALLOC_ARENA_MAX, "8");
  });

  test("no relaunch: other commands and algorithms, the child itself, PROXIMAL_RELAUNCH=0, a young generation sized already", () => {
    assert.equal(relaunchPlan(["info"], [], {}), null);
    assert.equal(relaunchPlan(["train", "sac"], [], {}), null);
    assert.equal(relaunchPlan(["train"], [], {}), null);
    assert.equal(relaunchPlan([], [], {}), null);
    assert.equal(relaunchPlan(["train", "ppo"], [], { [RELAUNCHED_ENV]: "1" }), null);
    assert.equal(relaunchPlan(["train", "ppo"], [], { PROXIMAL_RELAUNCH: "0" }), null);
    assert.equal(relaunchPlan(["train", "ppo"], ["--max-semi-space-size=16"], {}), null);
    assert.equal(relaunchPlan(["train", "ppo"], [], { NODE_OPTIONS: "--max_semi_space_size=8" }), null);
  });
});

describe("the launcher", () => {
  const main = fileURLToPath(new URL("./main.js", import.meta.url));
  test("passes the child's exit status and output through", () => {
    const r = spawnSync(process.execPath, [main, "train", "ppo", "--env", "NoSuchEnv-v0"], {
      encoding: "utf8",
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /NoSuchEnv-v0/);
  });

  test("the child runs with the semi-space and collector flags (visible in its own execArgv)", () => {
    // --import runs in the relaunched child too (the launcher passes its Node flags on)
    const probe = `data:text/javascript,if (process.env.${RELAUNCHED_ENV} === "1") process.stderr.write("child flags: " + process.execArgv.join(" ") + "\\n");`;
    const r = spawnSync(
      process.execPath,
      ["--import", probe, main, "train", "ppo", "--env", "NoSuchEnv-v0"],
      {
        encoding: "utf8",
      },
    );
    assert.match(r.stderr, new RegExp(`child flags: .*${SEMI_SPACE_FLAG}=${SEMI_SPACE_MIB}`));
    assert.match(r.stderr, new RegExp(`child flags: .*${SINGLE_THREADED_GC_FLAG}`));
  });
});
