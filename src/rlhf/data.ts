import { ProximalError } from "../errors.js";
import { nodeFiles } from "../nodeBuiltin.js";
import { Tensor } from "../tensor/tensor.js";
import type { Tokenizer } from "./tokenizer.js";

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

/** A tokenized (prompt, response) pair. */
export interface TokenizedPair {
  prompt: number[];
  response: number[];
}

/**
 * Tokenize a prompt and a response the way every trainer here does: `bos + encode(prompt)` and
 * `encode(response) + eos` (TRL's DPO/KTO add bos to prompts and eos to completions; the bos also
 * gives the first response token a logit to be scored by). Then truncate to `maxLength`: first the end
 * of the response (keeping at least one token), then the start of the prompt (TRL `keep_end` for prompts).
 */
export function tokenizePair(
  tokenizer: Tokenizer,
  prompt: string,
  response: string,
  maxLength: number,
): TokenizedPair {
  let promptIds = [tokenizer.bosTokenId, ...tokenizer.encode(prompt)];
  let responseIds = [...tokenizer.encode(response), tokenizer.eosTokenId];
  if (maxLength < 2) {
    throw new ProximalError(
      "INVALID_OPTION",
      `maxLength must be at least 2 (one prompt and one response token), got ${maxLength}.`,
    );
  }
  if (promptIds.length + responseIds.length > maxLength) {
    responseIds = responseIds.slice(0, Math.max(1, maxLength - promptIds.length));
    if (promptIds.length + responseIds.length > maxLength) {
      promptIds = promptIds.slice(promptIds.length + responseIds.length - maxLength);
    }
  }
  return { prompt: promptIds, response: responseIds };
}

/** A right-padded batch of (prompt, response) sequences. */
export interface PromptResponseBatch {
  /** int32 [batch, T]: prompt then response tokens, then `padTokenId`. */
  inputIds: Tensor;
  /** int32 [batch, T]: 1 on prompt and response tokens. */
  attentionMask: Tensor;
  /** float32 [batch, T]: 1 on response tokens only (what the losses count). */
  responseMask: Tensor;
  /** Number of response tokens in the batch. */
  numResponseTokens: number;
}

/**
 * Right-pad tokenized pairs into one batch (TRL pads training batches on the right; position ids
 * follow from the attention mask either way, see {@link GPTForwardOptions.positionIds}).
 */
export function collatePairs(pairs: TokenizedPair[], padTokenId: number): PromptResponseBatch {
  if (pairs.length === 0) throw new ProximalError("INVALID_ARGUMENT", "collatePairs: no pairs to collate.");
  const width = Math.max(...pairs.map((p) => p.prompt.length + p.response.length));
  const batch = pairs.length;
  const ids = new Int32Array(batch * width).fill(padTokenId);
  const mask = new Int32Array(batch * width);
  const responseMask = new Float32Array(batch * width);
  let numResponseTokens = 0;
  pairs.forEach(({ prompt, response }, b) => {
    const offset = b * width;
    ids.set(prompt, offset);
    ids.set(response, offset + prompt.length);
    mask.fill(1, offset, offset + prompt.length + response.length);
    responseMask.fill(1, offset + prompt.length, offset + prompt.length + response.length);
    numResponseTokens += response.length;
  });
  return {
    inputIds: new Tensor(ids, [batch, width]),
    attentionMask: new Tensor(mask, [batch, width]),
    responseMask: new Tensor(responseMask, [batch, width]),
    numResponseTokens,
  };
}
