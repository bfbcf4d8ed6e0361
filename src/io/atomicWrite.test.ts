import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "./atomicWrite.js";

const root = mkdtempSync(join(tmpdir(), "proximal-atomic-"));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh, empty directory per test, so "no temp files left" can be checked with readdir. */
function freshDir(): string {
  const dir = join(root, `case${counter++}`);
  mkdirSync(dir);
  return dir;
}

describe("writeFileAtomic()", () => {
  test("writes text and bytes, leaving only the target in the directory", async () => {
    const dir = freshDir();
    await writeFileAtomic(join(dir, "log.txt"), "héllo\n");
    await writeFileAtomic(join(dir, "weights.bin"), new Uint8Array([0, 1, 254, 255]));
    assert.equal(readFileSync(join(dir, "log.txt"), "utf8"), "héllo\n");
    assert.deepEqual([...readFileSync(join(dir, "weights.bin"))], [0, 1, 254, 255]);
    assert.deepEqual(readdirSync(dir).sort(), ["log.txt", "weights.bin"]);
  });

  test("writes a Uint8Array view with a non-zero byteOffset as just the view's bytes", async () => {
    const dir = freshDir();
    await writeFileAtomic(join(dir, "v.bin"), new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5));
    assert.deepEqual([...readFileSync(join(dir, "v.bin"))], [1, 2, 3]);
  });

  test("replaces an existing file only after the full write: readers see old or new, never partial", async () => {
    const dir = freshDir();
    const path = join(dir, "checkpoint.bin");
    writeFileSync(path, "old");
    const payload = new Uint8Array(32 * 1024 * 1024).fill(7); // big enough to take many event-loop turns
    const seenSizes = new Set<number>();
    let writing = true;
    const poll = (): void => {
      if (!writing) return;
      seenSizes.add(statSync(path).size);
      setImmediate(poll);
    };
    setImmediate(poll);
    await writeFileAtomic(path, payload);
    writing = false;
    seenSizes.add(statSync(path).size);
    assert.ok(seenSizes.has(3), "the poller never saw the old file, so the test observed nothing mid-write");
    assert.deepEqual(
      [...seenSizes].sort((a, b) => a - b),
      [3, payload.length],
    );
    assert.deepEqual(readdirSync(dir), ["checkpoint.bin"]);
  });

  // small data takes synchronous calls and data over 1 MiB asynchronous ones (atomicWrite.ts says
  // why): the same guarantees for both
  const sizes: [string, (text: string) => string][] = [
    ["small data (synchronous calls)", (text) => text],
    ["data over 1 MiB (asynchronous calls)", (text) => text + " ".repeat(1 << 20)],
  ];
  for (const [label, sized] of sizes) {
    describe(label, () => {
      test("keeps the permission bits of the file it replaces", {
        skip: process.platform === "win32" ? "Windows has no POSIX permission bits" : false,
      }, async () => {
        const dir = freshDir();
        const path = join(dir, "script.sh");
        writeFileSync(path, "#!/bin/sh\n", { mode: 0o750 });
        await writeFileAtomic(path, sized("#!/bin/sh\necho hi\n"));
        assert.equal(statSync(path).mode & 0o777, 0o750);
        assert.equal(readFileSync(path, "utf8"), sized("#!/bin/sh\necho hi\n"));
      });

      test("on failure rethrows the fs error, leaves the target alone and removes the temp file", async () => {
        const dir = freshDir();
        const target = join(dir, "taken");
        mkdirSync(target); // renaming a file over a non-empty directory fails on every platform
        writeFileSync(join(target, "keep.txt"), "keep");
        await assert.rejects(writeFileAtomic(target, sized("data")), (error: NodeJS.ErrnoException) => {
          assert.ok(typeof error.code === "string" && error.code.startsWith("E"), String(error));
          return true;
        });
        assert.deepEqual(readdirSync(dir), ["taken"]);
        assert.equal(readFileSync(join(target, "keep.txt"), "utf8"), "keep");
      });

      test("fails with ENOENT, creating nothing, when the directory does not exist", async () => {
        const dir = freshDir();
        await assert.rejects(writeFileAtomic(join(dir, "missing", "x.json"), sized("{}")), {
          code: "ENOENT",
        });
        assert.deepEqual(readdirSync(dir), []);
      });

      test("concurrent writers to one path each land whole; the last rename wins", async () => {
        const dir = freshDir();
        const path = join(dir, "shared.txt");
        const contents = Array.from({ length: 8 }, (_, i) => sized(String(i).repeat(10_000)));
        await Promise.all(contents.map((c) => writeFileAtomic(path, c)));
        assert.ok(contents.includes(readFileSync(path, "utf8")));
        assert.deepEqual(readdirSync(dir), ["shared.txt"]);
      });
    });
  }

  test("rejects data that is neither a string nor a Uint8Array", async () => {
    const dir = freshDir();
    await assert.rejects(writeFileAtomic(join(dir, "x"), 42 as unknown as string), {
      code: "INVALID_ARGUMENT",
    });
    assert.equal(existsSync(join(dir, "x")), false);
  });
});

describe("writeJsonAtomic()", () => {
  test("writes indented JSON with a trailing newline, replacing the old file", async () => {
    const dir = freshDir();
    const path = join(dir, "progress.json");
    writeFileSync(path, '{"step":0}');
    await writeJsonAtomic(path, { step: 2048, episodeReturn: 21.5 });
    assert.equal(readFileSync(path, "utf8"), '{\n  "step": 2048,\n  "episodeReturn": 21.5\n}\n');
    assert.deepEqual(readdirSync(dir), ["progress.json"]);
  });

  test("leaves the file untouched when the value cannot be serialized", async () => {
    const dir = freshDir();
    const path = join(dir, "state.json");
    writeFileSync(path, "old");
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [cycle, { n: 1n }, undefined, () => 1]) {
      await assert.rejects(writeJsonAtomic(path, bad), (error: unknown) => {
        assert.ok(error instanceof ProximalError);
        assert.equal(error.code, "INVALID_ARGUMENT");
        assert.ok(error.message.includes("state.json"), error.message);
        return true;
      });
    }
    assert.equal(readFileSync(path, "utf8"), "old");
    assert.deepEqual(readdirSync(dir), ["state.json"]);
  });
});
