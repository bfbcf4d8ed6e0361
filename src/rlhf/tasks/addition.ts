/**
 * Multi-digit addition, the arithmetic task of the GRPO demo: prompt `"47+85="`, answer `"132"`.
 * Operands have 1 to `digits` digits (uniform in length, then in value), so short sums teach the
 * format and long ones stay hard for a small GPT.
 */
import { ProximalError } from "../../errors.js";
import type { Rng } from "../../random/rng.js";
import { VerifiableTask } from "./verifiableTask.js";

/** Options of {@link additionTask}. */
export interface AdditionTaskOptions {
  /** Most digits of each operand. @defaultValue 3 */
  digits?: number;
}

/** The operands of an addition prompt `"a+b="`; anything else is an `INVALID_ARGUMENT`. */
function operands(prompt: string): [number, number] {
  const match = /^([0-9]+)\+([0-9]+)=$/.exec(prompt);
  if (match === null) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `addition: ${JSON.stringify(prompt)} is not a prompt "a+b=".`,
    );
  }
  return [Number(match[1]), Number(match[2])];
}

/** The answer of an addition prompt `"a+b="`. */
export function additionAnswer(prompt: string): string {
  const [a, b] = operands(prompt);
  return String(a + b);
}

/** The problem of an addition prompt: the unordered operand pair `"min+max"` (`"85+47="` → `"47+85"`). */
export function additionProblemKey(prompt: string): string {
  const [a, b] = operands(prompt);
  return `${Math.min(a, b)}+${Math.max(a, b)}`;
}

/**
 * The addition task.
 *
 * @example
 * const task = additionTask({ digits: 2 });
 * task.answer("47+85="); // "132"
 */
export function additionTask(options: AdditionTaskOptions = {}): VerifiableTask {
  const digits = options.digits ?? 3;
  if (!Number.isInteger(digits) || digits < 1 || digits > 7) {
    throw new ProximalError(
      "INVALID_OPTION",
      `addition: digits must be an integer in [1, 7], got ${digits}.`,
    );
  }
  const operand = (rng: Rng): number => {
    const length = 1 + rng.integer(digits);
    const low = length === 1 ? 0 : 10 ** (length - 1);
    return low + rng.integer(10 ** length - low);
  };
  // operands take 10^digits values, so the unordered pairs {a, b} number n(n+1)/2
  const values = 10 ** digits;
  return new VerifiableTask({
    name: "addition",
    description: `a+b= with operands of 1-${digits} digits; the answer is the sum`,
    alphabet: "0123456789+=",
    samplePrompt: (rng) => `${operand(rng)}+${operand(rng)}=`,
    answer: additionAnswer,
    problemKey: additionProblemKey,
    problemCount: (values * (values + 1)) / 2,
    answerPattern: /^[0-9]+$/,
    maxAnswerLength: digits + 1,
    maxNewTokens: digits + 3,
  });
}
