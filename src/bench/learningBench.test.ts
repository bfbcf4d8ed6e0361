import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import type { Preset } from "../rl/presets.js";
import { loadPreset } from "../rl/presets.js";
import { learnOnce, RUNS, resolveBenchConfig, selectRuns } from "./learningBench.js";

const malformed = () =>
  Promise.reject(new ProximalError("MALFORMED_FILE", "rlzoo is not valid YAML: bad indentation"));

describe("resolveBenchConfig()", () => {
  test("an algorithm with an rlzoo entry for the env trains with it", async () => {
    const resolved = await resolveBenchConfig({ algo: "A2C", env: "CartPole-v1", steps: 1 });
    assert.equal(resolved.config, "rlzoo");
    assert.equal(resolved.options.useRmsProp, true);
    assert.equal(resolved.options.numEnvs, 8);
  });

  test("an algorithm without presets uses its defaults, and says so", async () => {
    const resolved = await resolveBenchConfig({ algo: "TRPO", env: "CartPole-v1", steps: 1 });
    assert.deepEqual(resolved.options, {});
    assert.equal(resolved.normalize, null);
    assert.equal(resolved.config, "defaults (no presets/trpo/rlzoo.yaml)");
  });

  test("an rlzoo preset without an entry for the env means defaults, and says so", async () => {
    const source = {
      list: async () => ["rlzoo"],
      load: async () => ({ "Acrobot-v1": {} as Preset }),
    };
    const resolved = await resolveBenchConfig({ algo: "A2C", env: "CartPole-v1", steps: 1 }, source);
    assert.equal(resolved.config, "defaults (rlzoo has no CartPole-v1 entry)");
  });

  test("a malformed rlzoo preset fails instead of falling back to defaults", async () => {
    const source = { list: async () => ["rlzoo"], load: malformed };
    await assert.rejects(
      resolveBenchConfig({ algo: "A2C", env: "CartPole-v1", steps: 1 }, source),
      (error: unknown) => error instanceof ProximalError && error.code === "MALFORMED_FILE",
    );
  });

  test("a preset file with an unknown option fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "proximal-bench-"));
    try {
      const file = join(dir, "bad.yaml");
      await writeFile(file, "CartPole-v1:\n  options:\n    nStep: 5\n");
      await assert.rejects(
        resolveBenchConfig({ algo: "A2C", env: "CartPole-v1", steps: 1, preset: file }),
        (error: unknown) => error instanceof ProximalError && error.code === "INVALID_OPTION",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an explicitly named preset must have an entry for the env", async () => {
    await assert.rejects(
      resolveBenchConfig({ algo: "PPO", env: "Acrobot-v1", steps: 1, preset: "fast" }),
      (error: unknown) => error instanceof ProximalError && error.code === "UNKNOWN_ENV",
    );
  });
});

describe("intrinsic-reward rows (issue #14)", () => {
  test("each bonus row has its ablation: the same preset with the bonus off, shown in config", async () => {
    const rows = RUNS.filter((r) => r.preset === "rnd" || r.preset === "icm");
    assert.equal(rows.length, 6);
    for (const spec of rows) {
      const resolved = await resolveBenchConfig(spec);
      const intrinsic = resolved.options.intrinsicReward as Record<string, unknown>;
      if (spec.overrides === undefined) assert.equal(intrinsic.type, spec.preset);
      else {
        assert.ok(intrinsic.type === "none" || intrinsic.coef === 0, JSON.stringify(intrinsic));
        // the other intrinsic options are the preset's (merged one level deep)
        if (intrinsic.type !== "none") assert.equal(typeof intrinsic.learningRate, "number");
        assert.match(resolved.config, /intrinsicReward/);
      }
    }
  });
});

describe("value-based rows (DQN, Rainbow)", () => {
  const VALUE_BASED = [
    "DQN:CartPole-v1",
    "DQN:MountainCar-v0",
    "DQN:LunarLander-v3",
    "DQN:Acrobot-v1",
    "Rainbow:CartPole-v1",
    "Rainbow:LunarLander-v3",
  ];

  test("DQN runs RL Zoo's config for the Zoo's budget on each env; Rainbow its hessel preset", async () => {
    for (const name of VALUE_BASED) {
      const [spec] = selectRuns([name]);
      assert.equal(`${spec.algo}:${spec.env}`, name);
      const resolved = await resolveBenchConfig(spec);
      if (spec.algo === "DQN") {
        assert.equal(resolved.config, "rlzoo");
        const preset = await loadPreset("rlzoo", spec.env, "DQN");
        assert.equal(spec.steps, preset.totalTimesteps, `${name}: the Zoo's n_timesteps`);
      } else {
        assert.equal(resolved.config, "hessel");
        assert.equal(resolved.options.distributional !== undefined, true);
        // the issue compares Rainbow with DQN at the same budget
        assert.equal(spec.steps, selectRuns([`DQN:${spec.env}`])[0].steps);
      }
    }
  });

  test("PROXIMAL_BENCH_ONLY selects by algorithm (any case) or ALGO:env, and rejects a typo", () => {
    const names = (only: string[]) => selectRuns(only).map((r) => `${r.algo}:${r.env}`);
    // issue #14 adds DQN + RND on FrozenLake 8x8 and the same DQN without the bonus
    assert.deepEqual(names(["DQN"]), [
      ...VALUE_BASED.slice(0, 4),
      "DQN:FrozenLake8x8-v1",
      "DQN:FrozenLake8x8-v1",
    ]);
    assert.deepEqual(names(["rainbow"]), ["Rainbow:CartPole-v1", "Rainbow:LunarLander-v3"]);
    assert.deepEqual(names(["DQN:CartPole-v1", "PPO:CartPole-v1"]), ["PPO:CartPole-v1", "DQN:CartPole-v1"]);
    assert.equal(names([]).length, RUNS.length);
    assert.throws(
      () => selectRuns(["DQN:CartPole-v0"]),
      (error: unknown) =>
        error instanceof ProximalError &&
        error.code === "UNKNOWN_NAME" &&
        /DQN:CartPole-v1/.test(error.message),
    );
  });

  test("a DQN row trains and evaluates through learnOnce, with the PPO rows' fields", async () => {
    // 1200 steps of the rlzoo preset: 200 steps after learningStarts, so one phase of gradient steps
    const result = await learnOnce({ algo: "DQN", env: "CartPole-v1", steps: 1200 }, 0, 1200, 2);
    assert.equal(result.status, "ok", result.error);
    assert.deepEqual(Object.keys(result).sort(), [
      "algo",
      "config",
      "env",
      "meanReturn",
      "seed",
      "status",
      "steps",
      "trainReturn",
      "wallSeconds",
    ]);
    assert.equal(result.config, "rlzoo");
    assert.ok(result.meanReturn !== null && result.meanReturn > 0);
  });
});

describe("distributed rows (issue #18)", () => {
  test("Ape-X DQN and IMPALA run their tuned presets at the presets' budgets", async () => {
    const rows = selectRuns(["ApexDQN", "IMPALA"]);
    assert.deepEqual(
      rows.map((r) => `${r.algo}:${r.env}`),
      ["ApexDQN:CartPole-v1", "IMPALA:CartPole-v1", "IMPALA:LunarLander-v3"],
    );
    for (const spec of rows) {
      const resolved = await resolveBenchConfig(spec);
      assert.equal(resolved.config, "tuned");
      assert.equal(resolved.options.numActors, 4, `${spec.algo}:${spec.env}: the issue's 4 actors`);
      const preset = await loadPreset("tuned", spec.env, spec.algo);
      assert.equal(spec.steps, preset.totalTimesteps, `${spec.algo}:${spec.env}: the preset's budget`);
    }
  });

  test("an IMPALA row with in-process actors trains and evaluates through learnOnce", async () => {
    const result = await learnOnce(
      { algo: "IMPALA", env: "CartPole-v1", steps: 800, preset: "tuned" },
      0,
      800,
      2,
    );
    assert.equal(result.status, "ok", result.error);
    assert.equal(result.config, "tuned");
    assert.ok(result.meanReturn !== null && result.meanReturn >= 8 && result.meanReturn <= 500);
  });
});
