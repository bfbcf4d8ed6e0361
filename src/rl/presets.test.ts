import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tunedEntries } from "../bench/presetsBench.js";
import { registry } from "../envs/registry.js";
import { A2C } from "./a2c.js";
import { ApexDQN } from "./distributed/apexDqn.js";
import { IMPALA } from "./distributed/impala.js";
import { DQN } from "./dqn.js";
import { PPO } from "./ppo.js";
import { listPresets, loadPreset, loadPresetFile, parsePresetText, parseScheduleValue } from "./presets.js";

describe("loadPreset()", () => {
  test("rlzoo CartPole-v1 is RL Zoo's published config, with lin_ strings as linear schedules", async () => {
    // rl-baselines3-zoo hyperparams/ppo.yml @208b6fd, CartPole-v1
    const preset = await loadPreset("rlzoo", "CartPole-v1");
    assert.deepEqual(preset.options, {
      numEnvs: 8,
      nSteps: 32,
      batchSize: 256,
      gaeLambda: 0.8,
      gamma: 0.98,
      nEpochs: 20,
      entCoef: 0,
      vfCoef: 0.5,
      maxGradNorm: 0.5,
      learningRate: { schedule: "linear", initial: 1e-3 },
      clipRange: { schedule: "linear", initial: 0.2 },
      policy: { netArch: [64, 64], activation: "tanh", orthoInit: true, logStdInit: 0 },
    });
    assert.equal(preset.totalTimesteps, 100_000);
    assert.equal(preset.normalize, null);
    assert.match(preset.source ?? "", /rl-baselines3-zoo/);
  });

  test("normalisation comes back separately from the algorithm options", async () => {
    const preset = await loadPreset("rlzoo", "Acrobot-v1");
    assert.deepEqual(preset.normalize, {
      observation: true,
      reward: true,
      clipObservation: 10,
      clipReward: 10,
    });
    assert.equal("normalize" in preset.options, false);
    assert.equal("totalTimesteps" in preset.options, false);
  });

  test("cleanrl CartPole-v1 has CleanRL ppo.py's defaults (4 envs x 128 steps, 4 minibatches)", async () => {
    const { options, totalTimesteps } = await loadPreset("cleanrl", "CartPole-v1");
    assert.equal(totalTimesteps, 500_000);
    assert.equal(options.batchSize, (4 * 128) / 4);
    assert.deepEqual(options.learningRate, { schedule: "linear", initial: 2.5e-4 });
    assert.equal(options.entCoef, 0.01);
  });

  test("every entry of every shipped PPO preset builds a PPO on a registered env", async () => {
    const names = await listPresets("PPO");
    for (const name of ["cleanrl", "fast", "rlzoo"]) assert.ok(names.includes(name), `no preset ${name}`);
    for (const name of names) {
      for (const [envId, preset] of Object.entries(await loadPresetFile(name))) {
        assert.ok(registry.has(envId), `${name}: ${envId} is not a registered env`);
        // on the env id: the constructor validates every option; LunarLander needs Box2D, skip building it
        if (envId.startsWith("LunarLander")) continue;
        const model = new PPO(envId, preset.options);
        model.env.close();
      }
    }
  });

  test("every DQN preset entry builds a DQN; fast CartPole-v1 is ours and `bench presets` checks it", async () => {
    // rnd: DQN + RND on FrozenLake8x8-v1 (issue #14)
    assert.deepEqual(await listPresets("DQN"), ["fast", "rlzoo", "rnd"]);
    for (const name of ["fast", "rlzoo", "rnd"]) {
      for (const [envId, preset] of Object.entries(await loadPresetFile(name, "DQN"))) {
        assert.ok(registry.has(envId), `${name}: ${envId} is not a registered env`);
        if (envId.startsWith("LunarLander")) continue;
        const model = new DQN(envId, preset.options);
        model.env.close();
      }
    }
    const fast = await loadPreset("fast", "CartPole-v1", "DQN");
    assert.ok(fast.source?.startsWith("proximal"));
    assert.deepEqual(fast.options.distributional, { atoms: 51, vMin: 0, vMax: 100 });
    const entries = await tunedEntries();
    assert.ok(entries.some((e) => e.algo === "DQN" && e.preset === "fast" && e.env === "CartPole-v1"));
  });

  test("the tuned Ape-X DQN and IMPALA presets build their algorithms with 4 actors", async () => {
    assert.deepEqual(await listPresets("ApexDQN"), ["tuned"]);
    const apex = await loadPreset("tuned", "CartPole-v1", "ApexDQN");
    assert.equal(apex.totalTimesteps, 100_000);
    assert.deepEqual(apex.options.learningRate, { schedule: "linear", initial: 1e-3 });
    const model = new ApexDQN("CartPole-v1", apex.options);
    assert.equal(model.numActors, 4);
    assert.equal(model.tau, 0.005);
    // the categorical head chosen in the second tuning round (the preset's header)
    assert.equal(model.policy.qNet.atoms, 51);
    model.env.close();
    assert.deepEqual(await listPresets("IMPALA"), ["tuned"]);
    for (const [envId, preset] of Object.entries(await loadPresetFile("tuned", "IMPALA"))) {
      assert.ok(registry.has(envId), `${envId} is not a registered env`);
      assert.equal(preset.options.numActors, 4);
      assert.ok(preset.totalTimesteps !== null);
      if (envId.startsWith("LunarLander")) continue;
      new IMPALA(envId, preset.options).env.close();
    }
    // deployment options are not preset options
    await assert.rejects(
      parsePresetText("CartPole-v1:\n  options:\n    distributed: redis://h:6379\n", "t", "ApexDQN"),
      { code: "INVALID_OPTION" },
    );
  });

  test("an algorithm without a presets/<algorithm>/ folder has no presets", async () => {
    assert.deepEqual(await listPresets("REINFORCE"), []);
  });

  test("every entry of the A2C rlzoo preset builds an A2C with RL Zoo's values", async () => {
    assert.deepEqual(await listPresets("A2C"), ["rlzoo"]);
    const entries = await loadPresetFile("rlzoo", "A2C");
    // hyperparams/a2c.yml: CartPole-v1 n_envs 8, 5e5 steps, ent_coef 0 (the rest SB3 defaults)
    assert.equal(entries["CartPole-v1"].options.numEnvs, 8);
    assert.equal(entries["CartPole-v1"].totalTimesteps, 500000);
    for (const [envId, preset] of Object.entries(entries)) {
      assert.ok(registry.has(envId), `${envId} is not a registered env`);
      if (envId.startsWith("LunarLander")) continue;
      const model = new A2C(envId, preset.options);
      model.env.close();
    }
  });

  test("an unknown key fails with INVALID_OPTION, naming the key and the closest valid name", async () => {
    const text = "CartPole-v1:\n  options:\n    nStep: 32\n";
    await assert.rejects(parsePresetText(text, "test.yaml", "PPO"), (e: Error & { code: string }) => {
      assert.equal(e.code, "INVALID_OPTION");
      assert.match(e.message, /"nStep"/);
      assert.match(e.message, /Did you mean "nSteps"\?/);
      return true;
    });
    await assert.rejects(
      parsePresetText("CartPole-v1:\n  options:\n    policy: { netArc: [8] }\n", "t", "PPO"),
      /Did you mean "netArch"\?/,
    );
    await assert.rejects(
      parsePresetText("CartPole-v1:\n  option: {}\n", "t", "PPO"),
      /Did you mean "options"\?/,
    );
  });

  test("unknown preset names and env ids fail with the available ones", async () => {
    await assert.rejects(loadPreset("rlzo", "CartPole-v1"), (e: Error & { code: string }) => {
      assert.equal(e.code, "UNKNOWN_NAME");
      assert.match(e.message, /Did you mean "rlzoo"\?/);
      return true;
    });
    await assert.rejects(loadPreset("rlzoo", "CartPole-v0"), { code: "UNKNOWN_ENV" });
  });

  test("reads a preset from a path, with RL Zoo merge keys and !!float", async () => {
    const dir = await mkdtemp(join(tmpdir(), "proximal-preset-"));
    try {
      const file = join(dir, "mine.yaml");
      await writeFile(
        file,
        [
          "CartPole-v1:",
          "  options: &base",
          "    nSteps: 16",
          "    batchSize: 16",
          "    totalTimesteps: !!float 2e4",
          "Acrobot-v1:",
          "  options:",
          "    <<: *base",
          "    learningRate: lin_3e-4",
          "",
        ].join("\n"),
      );
      const acrobot = await loadPreset(file, "Acrobot-v1");
      assert.deepEqual(acrobot.options, {
        nSteps: 16,
        batchSize: 16,
        learningRate: { schedule: "linear", initial: 3e-4 },
      });
      assert.equal(acrobot.totalTimesteps, 20_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("bad values fail with INVALID_OPTION", async () => {
    await assert.rejects(parsePresetText("A-v0:\n  options:\n    nSteps: 1.5\n", "t", "PPO"), {
      code: "INVALID_OPTION",
    });
    await assert.rejects(parsePresetText("A-v0:\n  options:\n    learningRate: lin_x\n", "t", "PPO"), {
      code: "INVALID_OPTION",
    });
    await assert.rejects(parsePresetText("- 1\n", "t", "PPO"), { code: "MALFORMED_FILE" });
  });
});

describe("parseScheduleValue()", () => {
  test("converts RL Zoo's lin_X and numeric strings, passes numbers and specs through", () => {
    assert.deepEqual(parseScheduleValue("lin_1e-3", "lr"), { schedule: "linear", initial: 1e-3 });
    assert.deepEqual(parseScheduleValue("lin_0.2", "clip"), { schedule: "linear", initial: 0.2 });
    assert.equal(parseScheduleValue("3e-4", "lr"), 3e-4);
    assert.equal(parseScheduleValue(0.1, "clip"), 0.1);
    assert.deepEqual(parseScheduleValue({ schedule: "cosine", initial: 1 }, "lr"), {
      schedule: "cosine",
      initial: 1,
    });
    assert.throws(() => parseScheduleValue({ schedule: "step" }, "lr"), { code: "INVALID_OPTION" });
  });
});
