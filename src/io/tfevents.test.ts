import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { crc32c } from "./crc32c.js";
import { TfEventsWriter } from "./tfevents.js";
import { readEventFile } from "./tfevents.test.util.js";

describe("crc32c()", () => {
  test("matches the standard check value of CRC-32C", () => {
    // RFC 3720 / the Castagnoli check value: CRC-32C("123456789") = 0xe3069283
    assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  });
});

describe("TfEventsWriter", () => {
  test("writes records a spec-based reader reads back: version header, then scalars per step", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tfevents-"));
    try {
      const writer = await TfEventsWriter.create(dir);
      await writer.addScalars(
        256,
        { "train/policyLoss": -0.5, "rollout/episodeReturn": 21.25 },
        1700000000.5,
      );
      await writer.addScalars(512, { "train/policyLoss": 0.125, "skipped/nan": Number.NaN });
      await writer.close();
      const [file] = await readdir(dir);
      assert.match(file, /^events\.out\.tfevents\.\d+\./);
      const events = readEventFile(new Uint8Array(await readFile(join(dir, file))));
      assert.equal(events.length, 3);
      assert.equal(events[0].fileVersion, "brain.Event:2");
      assert.equal(events[1].step, 256);
      assert.equal(events[1].wallTime, 1700000000.5);
      assert.deepEqual(events[1].scalars, { "train/policyLoss": -0.5, "rollout/episodeReturn": 21.25 });
      assert.deepEqual(events[2].scalars, { "train/policyLoss": 0.125 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("resume() cuts the file back to a recorded position and appends after it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tfevents-"));
    try {
      const writer = await TfEventsWriter.create(dir);
      await writer.addScalars(256, { loss: 1 });
      const position = await writer.position();
      await writer.addScalars(512, { loss: 2 }); // logged after the checkpoint, then the process dies
      await writer.close();
      const resumed = await TfEventsWriter.resume(dir, position);
      await resumed.addScalars(512, { loss: 3 });
      await resumed.close();
      const files = await readdir(dir);
      assert.deepEqual(files, [position.file]);
      const events = readEventFile(new Uint8Array(await readFile(join(dir, position.file))));
      assert.deepEqual(
        events.slice(1).map((e) => [e.step, e.scalars.loss]),
        [
          [256, 1],
          [512, 3],
        ],
      );
      // a file shorter than the checkpoint says was edited or lost data: refuse, naming it
      await assert.rejects(TfEventsWriter.resume(dir, { file: position.file, bytes: 1_000_000 }), (error) => {
        assert.ok(error instanceof ProximalError);
        assert.equal(error.code, "MALFORMED_FILE");
        assert.ok(error.message.includes(position.file), error.message);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
