import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { DQN } from "../rl/dqn.js";
import { PPO } from "../rl/ppo.js";
import { packModelDirectory, unpackModelArchive } from "./modelDirectory.js";
import { ModelArchive } from "./modelFiles.js";
import { readTar, writeTar } from "./tar.js";

const OBSERVATIONS = Float32Array.of(0.01, -0.2, 0.03, 0.1, -0.02, 0.5, 0.1, -0.3, 0.2, 1.1, -0.15, -0.9);

async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "proximal-model-files-"));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every file of `dir`, name -> bytes. */
async function filesOf(dir: string): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = Array.from(await readFile(join(dir, name)));
  return out;
}

describe("writeTar() / readTar()", () => {
  test("round-trips files, pads to 512-byte blocks, and gives the same bytes for the same files", () => {
    const entries = [
      { name: "model.json", data: new TextEncoder().encode('{"a":1}\n') },
      { name: "empty", data: new Uint8Array(0) },
      { name: "block.bin", data: new Uint8Array(512).fill(7) },
    ];
    const bytes = writeTar(entries);
    // 3 headers + 1 + 0 + 1 data blocks + 2 end blocks
    assert.equal(bytes.length, (3 + 2 + 2) * 512);
    assert.deepEqual(writeTar(entries), bytes);
    const back = readTar(bytes);
    assert.deepEqual(
      back.map((e) => [e.name, Array.from(e.data)]),
      entries.map((e) => [e.name, Array.from(e.data)]),
    );
  });

  test("GNU tar lists and extracts what writeTar wrote, and readTar reads what tar -cf wrote", async () => {
    await withTempDir(async (dir) => {
      const archive = join(dir, "a.tar");
      await writeFile(archive, writeTar([{ name: "x.txt", data: new TextEncoder().encode("hello") }]));
      assert.equal(execFileSync("tar", ["-tf", archive], { encoding: "utf8" }), "x.txt\n");
      execFileSync("tar", ["-xf", archive, "-C", dir]);
      assert.equal(await readFile(join(dir, "x.txt"), "utf8"), "hello");
      // a tar of a folder (names "model/x.txt") reads as its files
      await rm(archive);
      execFileSync("mkdir", [join(dir, "model")]);
      await writeFile(join(dir, "model", "y.bin"), Uint8Array.of(1, 2, 3));
      execFileSync("tar", ["-cf", archive, "-C", dir, "model"]);
      const entries = readTar(new Uint8Array(await readFile(archive)));
      assert.deepEqual(
        entries.map((e) => [e.name, Array.from(e.data)]),
        [["y.bin", [1, 2, 3]]],
      );
    });
  });

  test("rejects bytes that are not a tar archive (MALFORMED_FILE) and names that are not flat", () => {
    assert.throws(
      () => readTar(new Uint8Array(1024).fill(65)),
      (e: unknown) => e instanceof ProximalError && e.code === "MALFORMED_FILE",
    );
    const cut = writeTar([{ name: "a", data: new Uint8Array(2000) }]).subarray(0, 1024);
    assert.throws(
      () => readTar(cut),
      (e: unknown) => e instanceof ProximalError && e.code === "MALFORMED_FILE",
    );
    assert.throws(
      () => writeTar([{ name: "dir/a", data: new Uint8Array(1) }]),
      (e: unknown) => e instanceof ProximalError && e.code === "INVALID_ARGUMENT",
    );
  });
});

describe("models as archives (the same files as a directory)", () => {
  test("dir -> archive bytes -> load predicts identically; the archive equals a ModelArchive save; bytes -> dir gives the same files", async () => {
    await withTempDir(async (root) => {
      const model = new PPO("CartPole-v1", { numEnvs: 2, nSteps: 32, batchSize: 32, nEpochs: 1, seed: 3 });
      await model.learn({ totalTimesteps: 64 });
      const dir = join(root, "cli-model");
      await model.save(dir);

      const bytes = await packModelDirectory(dir);
      const fromBytes = await PPO.load(bytes);
      const fromBlob = await PPO.load(new Blob([bytes as Uint8Array<ArrayBuffer>]));
      const fromBuffer = await PPO.load(bytes.slice().buffer);
      const expected = Array.from(model.predict(OBSERVATIONS, { deterministic: true }));
      for (const loaded of [fromBytes, fromBlob, fromBuffer]) {
        assert.deepEqual(Array.from(loaded.predict(OBSERVATIONS, { deterministic: true })), expected);
      }

      // saving in memory (as a page does) writes byte-identical files
      const archive = new ModelArchive();
      await model.save(archive);
      assert.deepEqual(archive.names(), ["model.json", "model.safetensors"]);
      assert.deepEqual(archive.toBytes(), bytes);

      const unpacked = join(root, "from-page");
      await unpackModelArchive(archive.toBlob(), unpacked);
      assert.deepEqual(await filesOf(unpacked), await filesOf(dir));
      const again = await PPO.load(unpacked);
      assert.deepEqual(Array.from(again.predict(OBSERVATIONS, { deterministic: true })), expected);
    });
  });

  test("an off-policy model's replay buffer travels in the archive", async () => {
    const model = new DQN("CartPole-v1", {
      learningStarts: 50,
      bufferSize: 200,
      batchSize: 16,
      trainFreq: 4,
      saveReplayBuffer: true,
      seed: 2,
    });
    await model.learn({ totalTimesteps: 100 });
    const archive = new ModelArchive();
    await model.save(archive);
    assert.deepEqual(archive.names(), ["model.json", "model.safetensors", "replay.safetensors"]);
    const loaded = await DQN.load(archive.toBytes());
    assert.equal(loaded.replayBuffer.size, model.replayBuffer.size);
    const obs = OBSERVATIONS.subarray(0, 4);
    assert.deepEqual(
      Array.from(loaded.predict(obs, { deterministic: true })),
      Array.from(model.predict(obs, { deterministic: true })),
    );
  });

  test("an empty archive or a directory without a model is MALFORMED_FILE naming what is missing", async () => {
    await assert.rejects(PPO.load(new ModelArchive()), (e: unknown) => {
      return e instanceof ProximalError && e.code === "MALFORMED_FILE" && e.message.includes("model.json");
    });
    await withTempDir(async (dir) => {
      await assert.rejects(
        packModelDirectory(dir),
        (e: unknown) => e instanceof ProximalError && e.code === "MALFORMED_FILE",
      );
    });
  });

  test("a path where no Node file system exists (a browser) is UNSUPPORTED_RUNTIME naming the browser way", async () => {
    const runtime = process as { getBuiltinModule?: unknown };
    const original = runtime.getBuiltinModule;
    runtime.getBuiltinModule = undefined;
    const versions = Object.getOwnPropertyDescriptor(process, "versions");
    Object.defineProperty(process, "versions", { value: {}, configurable: true });
    try {
      const model = new PPO("CartPole-v1", { numEnvs: 1, nSteps: 16, batchSize: 16, seed: 0 });
      await assert.rejects(model.save("/tmp/never-written"), (e: unknown) => {
        return (
          e instanceof ProximalError && e.code === "UNSUPPORTED_RUNTIME" && e.message.includes("ModelArchive")
        );
      });
    } finally {
      runtime.getBuiltinModule = original;
      if (versions) Object.defineProperty(process, "versions", versions);
    }
  });
});
