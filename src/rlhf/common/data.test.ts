import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { parseJsonl, readJsonl } from "./data.js";

/** Assert a MALFORMED_FILE error whose message contains every snippet. */
const malformed =
  (...snippets: string[]) =>
  (e: unknown) => {
    assert.ok(e instanceof ProximalError && e.code === "MALFORMED_FILE", String(e));
    for (const s of snippets) assert.ok(e.message.includes(s), `"${e.message}" lacks "${s}"`);
    return true;
  };

describe("parseJsonl()", () => {
  test("reads the three formats, skipping blank lines and extra fields", () => {
    assert.deepEqual(parseJsonl('{"prompt":"a","response":"b","id":7}\n\n', "promptResponse"), [
      { prompt: "a", response: "b" },
    ]);
    assert.deepEqual(parseJsonl('{"prompt":"p","chosen":"c","rejected":"r"}\r\n', "preference"), [
      { prompt: "p", chosen: "c", rejected: "r" },
    ]);
    assert.deepEqual(parseJsonl('{"prompt":"p","completion":"c","label":false}', "unpairedPreference"), [
      { prompt: "p", completion: "c", label: false },
    ]);
  });

  test("names the line and the missing field", () => {
    const text = '{"prompt":"p","chosen":"c","rejected":"r"}\n\n{"prompt":"p","chosen":"c"}\n';
    assert.throws(
      () => parseJsonl(text, "preference", { source: "pairs.jsonl" }),
      malformed("pairs.jsonl, line 3", '"rejected"'),
    );
  });

  test("names the line and the field of the wrong type", () => {
    assert.throws(
      () => parseJsonl('{"prompt":"p","completion":"c","label":"yes"}', "unpairedPreference"),
      malformed("line 1", '"label" must be a boolean'),
    );
    assert.throws(
      () => parseJsonl('{"prompt":1,"response":"b"}', "promptResponse"),
      malformed('"prompt" must be a string'),
    );
  });

  test("rejects invalid JSON, non-objects and empty files", () => {
    assert.throws(
      () => parseJsonl('{"prompt":"a","response":"b"}\n{"prompt":', "promptResponse"),
      malformed("line 2", "not valid JSON"),
    );
    assert.throws(() => parseJsonl("[1, 2]", "promptResponse"), malformed("line 1", "an array"));
    assert.throws(() => parseJsonl("\n\n", "promptResponse"), malformed("no rows"));
  });

  test("readJsonl() names the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "proximal-data-"));
    try {
      const path = join(dir, "sft.jsonl");
      writeFileSync(path, '{"prompt":"a","response":"b"}\n{"prompt":"a"}\n');
      await assert.rejects(readJsonl(path, "promptResponse"), malformed(`${path}, line 2`, '"response"'));
      await assert.rejects(
        readJsonl(join(dir, "missing.jsonl"), "promptResponse"),
        malformed("missing.jsonl"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
