import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import type { Preset } from "../rl/presets.js";
import { resolveBenchConfig } from "./learningBench.js";

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
