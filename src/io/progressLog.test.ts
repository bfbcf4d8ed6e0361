import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { PROGRESS_CSV, PROGRESS_JSONL, ProgressLog, readProgress } from "./progressLog.js";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "progress-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ProgressLog.resume()", () => {
  test("cuts progress.jsonl back to the recorded position and rebuilds the CSV from it", async () => {
    const log = await ProgressLog.open(dir);
    await log.append({ timesteps: 256, loss: 1 });
    const position = await log.position();
    assert.deepEqual(position, { rows: 1, bytes: '{"timesteps":256,"loss":1}\n'.length });
    // logged after the checkpoint (with a new column), then a torn line from the kill
    await log.append({ timesteps: 512, loss: 2, "eval/meanReturn": 9 });
    await writeFile(join(dir, PROGRESS_JSONL), '{"timesteps":768,"lo', { flag: "a" });

    const resumed = await ProgressLog.resume(dir, position);
    await resumed.append({ timesteps: 512, loss: 3 });
    assert.equal(
      await readFile(join(dir, PROGRESS_JSONL), "utf8"),
      '{"timesteps":256,"loss":1}\n{"timesteps":512,"loss":3}\n',
    );
    assert.equal(await readFile(join(dir, PROGRESS_CSV), "utf8"), "timesteps,loss\n256,1\n512,3\n");
    assert.deepEqual(
      resumed.all.map((r) => r.timesteps),
      [256, 512],
    );
  });

  test("refuses a file that does not hold the recorded rows at the recorded length", async () => {
    await writeFile(join(dir, PROGRESS_JSONL), '{"timesteps":256}\n{"timesteps":512}\n');
    for (const position of [
      { rows: 2, bytes: 10_000 }, // shorter than recorded
      { rows: 1, bytes: 10 }, // mid-row
      { rows: 3, bytes: 36 }, // two rows where three were recorded
    ]) {
      await assert.rejects(ProgressLog.resume(dir, position), (error) => {
        assert.ok(error instanceof ProximalError);
        assert.equal(error.code, "MALFORMED_FILE");
        assert.ok(error.message.includes(PROGRESS_JSONL), error.message);
        return true;
      });
    }
    // nothing was cut by a refused resume
    assert.equal(await readFile(join(dir, PROGRESS_JSONL), "utf8"), '{"timesteps":256}\n{"timesteps":512}\n');
  });
});

describe("readProgress()", () => {
  test("a missing file has no rows; a torn last line is skipped", async () => {
    assert.deepEqual(await readProgress(join(dir, "absent.jsonl")), []);
    const path = join(dir, "torn.jsonl");
    await writeFile(path, '{"timesteps":256}\n{"timesteps":512}\n{"timeste');
    assert.deepEqual(
      (await readProgress(path)).map((r) => r.timesteps),
      [256, 512],
    );
  });

  test("a damaged line before the last is a MALFORMED_FILE error naming the line, not skipped", async () => {
    const path = join(dir, "damaged.jsonl");
    await writeFile(path, '{"timesteps":256}\nnot json\n{"timesteps":768}\n');
    await assert.rejects(
      readProgress(path),
      (error: unknown) =>
        error instanceof ProximalError && error.code === "MALFORMED_FILE" && /line 2/.test(error.message),
    );
    await writeFile(path, '{"timesteps":256}\n[1, 2]\n');
    await assert.rejects(readProgress(path), /line 2: a progress row must be a JSON object/);
  });

  test("a path that cannot be read (a directory) is an error, not an empty log", async () => {
    await assert.rejects(readProgress(dir), /Cannot read/);
  });
});
