/**
 * Users' own verifiable rewards from data: a JSONL file of `{"prompt", "answer"}` rows becomes an
 * exact-match reward `(prompt, completion) => 1 | 0` for {@link GRPOTrainer}, and its prompts the
 * trainer's dataset. Rows are checked like every JSONL input here ({@link parseJsonl}): a malformed
 * row throws `MALFORMED_FILE` with its 1-based line number, and so does a prompt listed twice with
 * different answers.
 */
import { ProximalError } from "../../errors.js";
import { parseJsonl, readTextFile } from "../common/data.js";
import type { RewardFunction } from "./verifiableTask.js";

/** One prompt with its reference answer. */
export interface ReferenceAnswerRow {
  prompt: string;
  answer: string;
}

/** The stop token as {@link CharTokenizer} spells it; completions decoded with special tokens end in it. */
const STOP_TOKEN = "<eos>";

/**
 * Parse `{"prompt", "answer"}` JSON Lines (blank lines skipped, extra fields ignored).
 *
 * @example
 * parseReferenceAnswers('{"prompt": "2+2=", "answer": "4"}\n'); // [{ prompt: "2+2=", answer: "4" }]
 */
export function parseReferenceAnswers(text: string, options: { source?: string } = {}): ReferenceAnswerRow[] {
  const source = options.source ?? "JSONL input";
  // parseJsonl checks each line has a string "prompt"; "answer" is checked here with the same wording
  const rows = parseJsonl(text, "prompt", { source });
  const lineNumbers: number[] = [];
  const records: Record<string, unknown>[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    lineNumbers.push(i + 1);
    records.push(JSON.parse(line) as Record<string, unknown>);
  });
  const firstLine = new Map<string, { answer: string; line: number }>();
  return rows.map((row, i) => {
    const where = `${source}, line ${lineNumbers[i]}`;
    const answer = records[i].answer;
    if (!("answer" in records[i])) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${where}: missing field "answer" (found ${Object.keys(records[i])
          .map((k) => `"${k}"`)
          .join(", ")}). Each row needs {"prompt", "answer"}.`,
      );
    }
    if (typeof answer !== "string") {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${where}: field "answer" must be a string, got ${JSON.stringify(answer)}. Quote numbers: {"answer": "4"}.`,
      );
    }
    const seen = firstLine.get(row.prompt);
    if (seen !== undefined && seen.answer !== answer) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${where}: prompt ${JSON.stringify(row.prompt)} already has answer ${JSON.stringify(seen.answer)} (line ${seen.line}), here ${JSON.stringify(answer)}. Keep one answer per prompt.`,
      );
    }
    if (seen === undefined) firstLine.set(row.prompt, { answer, line: lineNumbers[i] });
    return { prompt: row.prompt, answer };
  });
}

/** Read a `{"prompt", "answer"}` JSONL file (Node only); errors name the file and line. */
export async function readReferenceAnswers(path: string): Promise<ReferenceAnswerRow[]> {
  return parseReferenceAnswers(await readTextFile(path), { source: path });
}

/**
 * The exact-match reward of a reference dataset: 1 when the completion, cut at the first stop token
 * and trimmed of surrounding whitespace, equals the prompt's answer (also trimmed), else 0. A prompt
 * that is not in the dataset is an `INVALID_ARGUMENT` (train on the dataset's own prompts).
 *
 * @example
 * const reward = exactMatchReward([{ prompt: "2+2=", answer: "4" }]);
 * reward("2+2=", " 4"); // 1
 * reward("2+2=", "5"); // 0
 */
export function exactMatchReward(rows: readonly ReferenceAnswerRow[]): RewardFunction {
  const answers = new Map(rows.map((r) => [r.prompt, r.answer.trim()]));
  return (prompt, completion) => {
    const answer = answers.get(prompt);
    if (answer === undefined) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `exactMatchReward: no reference answer for prompt ${JSON.stringify(prompt)} (${answers.size} prompts known). Reward only the dataset's prompts.`,
      );
    }
    const stop = completion.indexOf(STOP_TOKEN);
    const text = stop < 0 ? completion : completion.slice(0, stop);
    return text.trim() === answer ? 1 : 0;
  };
}
