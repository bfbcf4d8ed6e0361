import { ProximalError } from "../../errors.js";
import { nodeFiles } from "../../nodeBuiltin.js";

/** One prompt (`{"prompt"}`) for PPO, which samples its own responses; other fields are ignored. */
export interface PromptRow {
  prompt: string;
}

/** One supervised fine-tuning row (`{"prompt", "response"}`): the loss is on `response` only. */
export interface PromptResponseRow {
  prompt: string;
  response: string;
}

/** One paired preference (`{"prompt", "chosen", "rejected"}`) for reward modelling and DPO/IPO. */
export interface PreferenceRow {
  prompt: string;
  chosen: string;
  rejected: string;
}

/**
 * One unpaired preference (`{"prompt", "completion", "label"}`) for KTO: `label` true marks a
 * desirable completion, false an undesirable one (TRL's unpaired preference format).
 */
export interface UnpairedPreferenceRow {
  prompt: string;
  completion: string;
  label: boolean;
}

/** The JSONL formats {@link parseJsonl} reads, by the rows they hold. */
export interface JsonlFormats {
  /** `{"prompt"}` → {@link PromptRow} (PPO prompts; SFT rows read as prompts too). */
  prompt: PromptRow;
  /** `{"prompt", "response"}` → {@link PromptResponseRow} (SFT). */
  promptResponse: PromptResponseRow;
  /** `{"prompt", "chosen", "rejected"}` → {@link PreferenceRow} (reward model, DPO, IPO). */
  preference: PreferenceRow;
  /** `{"prompt", "completion", "label"}` → {@link UnpairedPreferenceRow} (KTO). */
  unpairedPreference: UnpairedPreferenceRow;
}

const FIELDS: { [F in keyof JsonlFormats]: Record<string, "string" | "boolean"> } = {
  prompt: { prompt: "string" },
  promptResponse: { prompt: "string", response: "string" },
  preference: { prompt: "string", chosen: "string", rejected: "string" },
  unpairedPreference: { prompt: "string", completion: "string", label: "boolean" },
};

/**
 * Parse JSON Lines rows of one format. Blank lines are skipped; extra fields are ignored. A line that
 * is not a JSON object, or lacks a field, or has one of the wrong type, throws `MALFORMED_FILE`
 * naming the source, the 1-based line number and the field.
 *
 * @example
 * parseJsonl('{"prompt": "2+2=", "response": "4"}\n', "promptResponse"); // [{ prompt: "2+2=", response: "4" }]
 */
export function parseJsonl<F extends keyof JsonlFormats>(
  text: string,
  format: F,
  options: { source?: string } = {},
): JsonlFormats[F][] {
  const source = options.source ?? "JSONL input";
  const fields = FIELDS[format];
  if (fields === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `parseJsonl: unknown format ${JSON.stringify(format)}; use one of ${Object.keys(FIELDS).join(", ")}.`,
    );
  }
  const expected = `{${Object.keys(fields)
    .map((k) => `"${k}"`)
    .join(", ")}}`;
  const rows: JsonlFormats[F][] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const where = `${source}, line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${where}: not valid JSON (${(error as Error).message}). Each line must be one object ${expected}.`,
        { cause: error },
      );
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${where}: expected an object ${expected}, got ${Array.isArray(value) ? "an array" : JSON.stringify(value)}.`,
      );
    }
    const record = value as Record<string, unknown>;
    for (const [field, type] of Object.entries(fields)) {
      if (!(field in record)) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `${where}: missing field "${field}" (found ${
            Object.keys(record)
              .map((k) => `"${k}"`)
              .join(", ") || "no fields"
          }). Each row needs ${expected}.`,
        );
      }
      if (typeof record[field] !== type) {
        throw new ProximalError(
          "MALFORMED_FILE",
          `${where}: field "${field}" must be a ${type}, got ${JSON.stringify(record[field])}.`,
        );
      }
    }
    const row: Record<string, unknown> = {};
    for (const field of Object.keys(fields)) row[field] = record[field];
    rows.push(row as unknown as JsonlFormats[F]);
  }
  if (rows.length === 0) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${source}: no rows; expected one object ${expected} per line.`,
    );
  }
  return rows;
}

/**
 * The text of a UTF-8 file (Node only); a file that cannot be read is `MALFORMED_FILE` naming it
 * (`what` describes it in the message, e.g. "the tokenizer ").
 */
export async function readTextFile(path: string, what = ""): Promise<string> {
  const {
    fs: { readFile },
  } = nodeFiles(
    `Reading ${what}${path}`,
    "In a browser, read the text yourself (fetch, File.text()) and parse it: parseJsonl(text, format).",
  );
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ProximalError("MALFORMED_FILE", `Cannot read ${what}${path}: ${(error as Error).message}.`, {
      cause: error,
    });
  }
}

/** Read a JSONL file of one format (Node only); errors name the file and line, see {@link parseJsonl}. */
export async function readJsonl<F extends keyof JsonlFormats>(
  path: string,
  format: F,
): Promise<JsonlFormats[F][]> {
  return parseJsonl(await readTextFile(path), format, { source: path });
}
