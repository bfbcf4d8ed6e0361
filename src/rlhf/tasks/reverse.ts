/**
 * String reversal: prompt `"3817>"`, answer `"7183"`. Strings are 3 to `maxLength` digits; a small
 * GPT must attend back to the right prompt position for every output token.
 */
import { ProximalError } from "../../errors.js";
import { VerifiableTask } from "./verifiableTask.js";

/** Options of {@link reverseTask}. */
export interface ReverseTaskOptions {
  /** Longest string. @defaultValue 7 */
  maxLength?: number;
}

/** The answer of a reversal prompt `"<digits>>"`. */
export function reverseAnswer(prompt: string): string {
  if (!/^[0-9]+>$/.test(prompt)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `reverse: ${JSON.stringify(prompt)} is not a prompt "<digits>>".`,
    );
  }
  return Array.from(prompt.slice(0, -1)).reverse().join("");
}

/**
 * The reversal task.
 *
 * @example
 * reverseTask().answer("3817>"); // "7183"
 */
export function reverseTask(options: ReverseTaskOptions = {}): VerifiableTask {
  const maxLength = options.maxLength ?? 7;
  if (!Number.isInteger(maxLength) || maxLength < 3 || maxLength > 20) {
    throw new ProximalError(
      "INVALID_OPTION",
      `reverse: maxLength must be an integer in [3, 20], got ${maxLength}.`,
    );
  }
  return new VerifiableTask({
    name: "reverse",
    description: `reverse a string of 3-${maxLength} digits`,
    alphabet: "0123456789>",
    samplePrompt: (rng) => {
      const length = 3 + rng.integer(maxLength - 2);
      let text = "";
      for (let i = 0; i < length; i++) text += String(rng.integer(10));
      return `${text}>`;
    },
    answer: reverseAnswer,
    // every prompt is its own problem: "123>" and "321>" ask for different outputs
    problemKey: (prompt) => prompt,
    // 10^L strings of each length L in [3, maxLength]
    problemCount: Array.from({ length: maxLength - 2 }, (_, i) => 10 ** (i + 3)).reduce((a, b) => a + b, 0),
    answerPattern: /^[0-9]+$/,
    maxAnswerLength: maxLength,
    maxNewTokens: maxLength + 2,
  });
}
