import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { make } from "../../envs/make.js";
import { ProximalError } from "../../errors.js";
import { readSafetensors } from "../../io/safetensors.js";
import { evaluatePolicy } from "../common/evaluation.js";
import {
  DEMONSTRATIONS_FILE,
  DEMONSTRATIONS_METADATA_FILE,
  loadDemonstrations,
  saveDemonstrations,
} from "./demonstrationFiles.js";
import { checkDemonstrationSpaces, recordDemonstrations, transitionsOf } from "./demonstrations.js";
import { cartPoleExpert } from "./imitationTestUtil.test.util.js";

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "proximal-demos-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A policy that always pushes left: CartPole episodes of about 10 steps, all terminated. */
const pushLeft = { predict: (obs: Float32Array) => new Int32Array(obs.length / 4) };

describe("recordDemonstrations()", () => {
  test("keeps T + 1 observations per episode (Minari's layout) and the episode boundaries", async () => {
    const demos = await recordDemonstrations(pushLeft, make("CartPole-v1"), { episodes: 3, seed: 7 });
    const steps = demos.episodeSteps.reduce((a, b) => a + b, 0);
    assert.equal(demos.rewards.length, steps);
    assert.equal(demos.observations.length, (steps + 3) * 4);
    assert.deepEqual(Array.from(demos.episodeIds), [0, 1, 2]);
    assert.deepEqual(demos.seeds, [7, null, null]);
    // pushing left always ends by termination, never by the time limit
    let end = -1;
    for (const length of demos.episodeSteps) {
      end += length;
      assert.equal(demos.terminations[end], 1);
    }
    assert.equal(
      demos.terminations.reduce((a, b) => a + b, 0),
      3,
    );
    assert.equal(
      demos.truncations.reduce((a, b) => a + b, 0),
      0,
    );
    // the first observation of each episode is a reset one: the same as a reset with that seed
    const env = make("CartPole-v1");
    assert.deepEqual(
      Array.from(demos.observations.subarray(0, 4)),
      Array.from(env.reset({ seed: 7 }).observation as Float32Array),
    );
  });

  test("records the returns evaluatePolicy measures for the same seed", async () => {
    const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), { episodes: 2, seed: 3 });
    const evaluation = await evaluatePolicy(cartPoleExpert, make("CartPole-v1"), { episodes: 2, seed: 3 });
    assert.deepEqual(
      demos.metadata.returns,
      evaluation.episodes.map((e) => e.return),
    );
    assert.deepEqual(Array.from(demos.truncations).filter((v) => v === 1).length, 2); // 500-step time limit
  });

  test("transitionsOf pairs each action with the observation it was taken in", async () => {
    const demos = await recordDemonstrations(pushLeft, make("CartPole-v1"), { episodes: 2, seed: 1 });
    const [first, second] = demos.episodeSteps;
    const pairs = transitionsOf(demos, [1]);
    assert.equal(pairs.size, second);
    // episode 1's observations start after episode 0's first + 1 rows
    assert.deepEqual(
      Array.from(pairs.observations.subarray(0, 4)),
      Array.from(demos.observations.subarray((first + 1) * 4, (first + 2) * 4)),
    );
    assert.equal(transitionsOf(demos).size, first + second);
  });
});

describe("saveDemonstrations() / loadDemonstrations()", () => {
  test("round-trips every field under Minari's names", async () => {
    await withTempDir(async (dir) => {
      const demos = await recordDemonstrations(cartPoleExpert, make("CartPole-v1"), {
        episodes: 2,
        seed: 0,
        sourceModel: "scripted",
      });
      await saveDemonstrations(dir, demos);
      const loaded = await loadDemonstrations(dir, { env: make("CartPole-v1") });
      assert.deepEqual(loaded.observations, demos.observations);
      assert.deepEqual(loaded.actions, demos.actions);
      assert.deepEqual(loaded.rewards, demos.rewards);
      assert.deepEqual(loaded.terminations, demos.terminations);
      assert.deepEqual(loaded.truncations, demos.truncations);
      assert.deepEqual(loaded.episodeSteps, demos.episodeSteps);
      assert.deepEqual(loaded.seeds, demos.seeds);
      assert.equal(loaded.envId, "CartPole-v1");
      assert.equal(loaded.metadata.sourceModel, "scripted");
      const { tensors } = readSafetensors(new Uint8Array(await readFile(join(dir, DEMONSTRATIONS_FILE))));
      assert.deepEqual(Object.keys(tensors).sort(), [
        "actions",
        "episode_ids",
        "episode_total_steps",
        "observations",
        "rewards",
        "terminations",
        "truncations",
      ]);
      assert.deepEqual(tensors.observations.shape, [1002, 4]);
      assert.deepEqual(tensors.actions.shape, [1000]);
    });
  });

  test("refuses to overwrite a dataset without force (FILE_EXISTS), replaces it with force", async () => {
    await withTempDir(async (dir) => {
      const a = await recordDemonstrations(pushLeft, make("CartPole-v1"), { episodes: 1, seed: 0 });
      const b = await recordDemonstrations(pushLeft, make("CartPole-v1"), { episodes: 2, seed: 0 });
      await saveDemonstrations(dir, a);
      await assert.rejects(
        saveDemonstrations(dir, b),
        (e: unknown) => e instanceof ProximalError && e.code === "FILE_EXISTS",
      );
      await saveDemonstrations(dir, b, { force: true });
      assert.equal((await loadDemonstrations(dir)).episodeSteps.length, 2);
    });
  });

  test("a dataset of another env's spaces fails with UNSUPPORTED_SPACE naming both", async () => {
    await withTempDir(async (dir) => {
      await saveDemonstrations(
        dir,
        await recordDemonstrations(pushLeft, make("CartPole-v1"), { episodes: 1 }),
      );
      await assert.rejects(loadDemonstrations(dir, { env: make("Acrobot-v1") }), (e: unknown) => {
        assert.ok(e instanceof ProximalError);
        assert.equal(e.code, "UNSUPPORTED_SPACE");
        assert.match(e.message, /observation space .* differs .*CartPole-v1/);
        return true;
      });
    });
    const demos = await recordDemonstrations(pushLeft, make("CartPole-v1"), { episodes: 1 });
    const mountainCar = make("MountainCar-v0");
    assert.throws(() => checkDemonstrationSpaces(demos, mountainCar), { code: "UNSUPPORTED_SPACE" });
  });

  test("missing, foreign and truncated files fail with MALFORMED_FILE", async () => {
    await withTempDir(async (dir) => {
      await assert.rejects(loadDemonstrations(dir), { code: "MALFORMED_FILE" });
      await saveDemonstrations(
        dir,
        await recordDemonstrations(pushLeft, make("CartPole-v1"), { episodes: 2 }),
      );
      const metadataPath = join(dir, DEMONSTRATIONS_METADATA_FILE);
      const metadata = JSON.parse(await readFile(metadataPath, "utf8"));
      await writeFile(metadataPath, JSON.stringify({ ...metadata, format: "proximal-model" }));
      await assert.rejects(
        loadDemonstrations(dir),
        (e: unknown) =>
          e instanceof ProximalError &&
          e.code === "MALFORMED_FILE" &&
          /not a demonstrations file/.test(e.message),
      );
      await writeFile(metadataPath, JSON.stringify(metadata));
      // drop the last episode from the boundaries only: the arrays no longer add up
      const bytes = new Uint8Array(await readFile(join(dir, DEMONSTRATIONS_FILE)));
      const { tensors } = readSafetensors(bytes);
      const { writeSafetensors } = await import("../../io/safetensors.js");
      const shorter = {
        ...tensors,
        episode_total_steps: {
          dtype: "I32" as const,
          shape: [1],
          data: tensors.episode_total_steps.data.slice(0, 1),
        },
      };
      await writeFile(join(dir, DEMONSTRATIONS_FILE), writeSafetensors(shorter));
      await assert.rejects(
        loadDemonstrations(dir),
        (e: unknown) =>
          e instanceof ProximalError && e.code === "MALFORMED_FILE" && /observations/.test(e.message),
      );
    });
  });
});
