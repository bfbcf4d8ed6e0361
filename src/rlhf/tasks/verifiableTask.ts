/**
 * Verifiable tasks: prompts whose correct answer a program computes, so the reward is exact (no
 * reward model), the setting of GRPO and its family (Shao et al. 2024, arXiv:2402.03300 §4; DeepSeek-R1,
 * arXiv:2501.12948 §2.2.2, whose rule-based rewards are an accuracy reward and a format reward).
 *
 * A {@link VerifiableTask} is generated from a seed (no downloads): it samples prompts, computes their
 * answers, splits them into SFT, RL train, validation and held-out sets that share no problem (two
 * prompts are the same problem when their `problemKey` is equal: `47+85=` and `85+47=`), scores
 * completions with an exact-match and a format reward, and measures greedy accuracy. `addition.ts` and `reverse.ts` define the
 * shipped tasks.
 */
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { CharTokenizer } from "../charTokenizer.js";
import type { PromptResponseRow } from "../common/data.js";
import { type CausalLM, generate } from "../generate.js";
import type { Tokenizer } from "../tokenizer.js";

/** A reward on one completion: what GRPO-family trainers take (`(prompt, completion) => number`). */
export type RewardFunction = (prompt: string, completion: string) => number;

/** The stop token as {@link CharTokenizer.decode} spells it when special tokens are kept. */
export const STOP_TOKEN = "<eos>";

/** What defines a task; {@link VerifiableTask} builds the rest from it. */
export interface VerifiableTaskSpec {
  /** Name used by the CLI (`--task addition`). */
  name: string;
  /** One line for `--help`. */
  description: string;
  /** Every character of prompts and answers (the tokenizer's alphabet). */
  alphabet: string;
  /** A seeded prompt, e.g. `"47+85="`. */
  samplePrompt(rng: Rng): string;
  /** The reference answer of a prompt, e.g. `"132"`. */
  answer(prompt: string): string;
  /**
   * What makes two prompts the same problem: equal keys are never in two different splits. For
   * addition the unordered operand pair (`"47+85="` and `"85+47="` are both `"47+85"`); for a task
   * whose prompts are all different problems, the prompt itself.
   */
  problemKey(prompt: string): string;
  /** How many distinct problems (distinct `problemKey`s) `samplePrompt` can produce. */
  problemCount: number;
  /** How a well-formed answer looks (without the stop token), e.g. `/^[0-9]+$/`. */
  answerPattern: RegExp;
  /** Characters of the longest reference answer; a longer completion is not well formed. */
  maxAnswerLength: number;
  /**
   * A generation budget that fits every answer plus the stop token, with room to spare; it must be
   * at least `maxAnswerLength + 2` so a completion cut before its stop token is too long to be well formed.
   */
  maxNewTokens: number;
}

/**
 * Sizes of {@link VerifiableTask.splits}, counted in **problems**. Each split holds one prompt per
 * problem (the order drawn first), so a split of `n` problems is also `n` prompts.
 */
export interface SplitSizes {
  /** Solved problems for the SFT base. @defaultValue 500 */
  sft?: number;
  /** Problems RL trains on. @defaultValue 2000 */
  train?: number;
  /** Problems for every tuning choice (learning rate, budget, ...). @defaultValue 200 */
  validation?: number;
  /** Problems that only ever measure the final figures. @defaultValue 200 */
  heldOut?: number;
}

/** The four splits of a task: no problem (`problemKey`) is in two of them. */
export interface TaskSplits {
  sft: string[];
  train: string[];
  validation: string[];
  heldOut: string[];
}

/** Options of {@link VerifiableTask.accuracy}. */
export interface AccuracyOptions {
  /** Prompts decoded per `generate` call. @defaultValue 128 */
  batchSize?: number;
  /** @defaultValue the task's `maxNewTokens` */
  maxNewTokens?: number;
  /**
   * The model's tokenizer, when it is not the task's own (a model folder a user brings): prompts are
   * encoded and completions decoded with it, special tokens left out of the text (as GRPOTrainer
   * passes completions to the rewards). @defaultValue the task's {@link CharTokenizer}, stop token kept
   */
  tokenizer?: Tokenizer;
}

/** Accuracy and the mean completion length (tokens, stop token included). */
export interface AccuracyResult {
  accuracy: number;
  meanLength: number;
  /** The greedy completions, decoded with the stop token kept (without it for another `tokenizer`). */
  completions: string[];
  /** 1 where the completion earned the exact-match reward, else 0 (one entry per prompt). */
  correct: number[];
}

/** The answer part of a completion: up to the first stop token, ignoring trailing padding. */
function stripStop(completion: string): { answer: string; stopped: boolean } {
  const at = completion.indexOf(STOP_TOKEN);
  if (at < 0) return { answer: completion.replace(/(<pad>)+$/, ""), stopped: false };
  return { answer: completion.slice(0, at), stopped: true };
}

/**
 * A generated task with exact-match rewards. A completion is the generated text, either without
 * special tokens (`"132"`, as {@link GRPOTrainer} passes it) or with them (`"132<eos>"`, as
 * {@link VerifiableTask.accuracy} decodes it); whatever follows the first stop token is ignored.
 *
 * @example
 * const task = additionTask();
 * const { sft, train, validation, heldOut } = task.splits(0);
 * task.reward("47+85=", "132<eos>"); // 1
 * task.formatReward("47+85=", "13x"); // 0
 */
export class VerifiableTask {
  readonly name: string;
  readonly description: string;
  readonly tokenizer: CharTokenizer;
  readonly maxNewTokens: number;
  private readonly spec: VerifiableTaskSpec;

  constructor(spec: VerifiableTaskSpec) {
    this.spec = spec;
    this.name = spec.name;
    this.description = spec.description;
    this.maxNewTokens = spec.maxNewTokens;
    this.tokenizer = new CharTokenizer(spec.alphabet);
    if (spec.maxNewTokens < spec.maxAnswerLength + 2) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${spec.name}: maxNewTokens (${spec.maxNewTokens}) must be at least maxAnswerLength + 2 (${spec.maxAnswerLength + 2}) so the format reward can tell a cut-off completion.`,
      );
    }
  }

  /** A seeded prompt. */
  samplePrompt(rng: Rng): string {
    return this.spec.samplePrompt(rng);
  }

  /** The reference answer of `prompt`. */
  answer(prompt: string): string {
    return this.spec.answer(prompt);
  }

  /** Exact match: 1 when the completion (up to the stop token) equals the reference answer, else 0. */
  readonly reward: RewardFunction = (prompt, completion) =>
    stripStop(completion).answer === this.spec.answer(prompt) ? 1 : 0;

  /**
   * Format: 1 when the completion is a well-formed answer (`answerPattern`, at most `maxAnswerLength`
   * characters) that stopped, else 0 (DeepSeek-R1's format reward, for a task without reasoning tags).
   * Stopping is checked by length: without special tokens in the text, a completion that ran into the
   * `maxNewTokens` budget has more than `maxAnswerLength` characters.
   */
  readonly formatReward: RewardFunction = (_prompt, completion) => {
    const { answer } = stripStop(completion);
    return answer.length <= this.spec.maxAnswerLength && this.spec.answerPattern.test(answer) ? 1 : 0;
  };

  /** The problem `prompt` poses: prompts with equal keys are the same problem (see {@link VerifiableTaskSpec.problemKey}). */
  problemKey(prompt: string): string {
    return this.spec.problemKey(prompt);
  }

  /** Distinct problems the task has. */
  get problemCount(): number {
    return this.spec.problemCount;
  }

  /**
   * Four splits from `seed` that share no problem: distinct problems are drawn from `samplePrompt`
   * (a problem keeps the prompt it was first drawn as), shuffled, then cut into SFT, RL train,
   * validation and held-out in that order, so each split is a uniform sample of the problems drawn.
   * The same seed and sizes give the same splits. Asking for more problems than the task has is an
   * `INVALID_ARGUMENT` naming the sizes and the count.
   */
  splits(seed: number, sizes: SplitSizes = {}): TaskSplits {
    const counts = {
      sft: sizes.sft ?? 500,
      train: sizes.train ?? 2000,
      validation: sizes.validation ?? 200,
      heldOut: sizes.heldOut ?? 200,
    };
    for (const [key, value] of Object.entries(counts)) {
      if (!Number.isInteger(value) || value < 0) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `${this.name} splits: ${key} must be a non-negative integer, got ${value}.`,
        );
      }
    }
    const total = counts.sft + counts.train + counts.validation + counts.heldOut;
    const asked = `${counts.sft} SFT + ${counts.train} train + ${counts.validation} validation + ${counts.heldOut} held-out = ${total} problems`;
    if (total > this.spec.problemCount) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name} splits: asked for ${asked}, but the task has only ${this.spec.problemCount} distinct problems. Ask for fewer, or make the task larger.`,
      );
    }
    const rng = new Rng(seed);
    const seen = new Set<string>();
    const drawn: string[] = [];
    // rare problems take many draws when nearly all are asked for; give up rather than loop forever
    const maxAttempts = 100 * total + 1000;
    for (let attempts = 0; drawn.length < total; attempts++) {
      if (attempts >= maxAttempts) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `${this.name} splits: asked for ${asked} of ${this.spec.problemCount}; ${maxAttempts} draws found only ${drawn.length} distinct problems. Ask for fewer.`,
        );
      }
      const prompt = this.spec.samplePrompt(rng);
      const key = this.spec.problemKey(prompt);
      if (seen.has(key)) continue;
      seen.add(key);
      drawn.push(prompt);
    }
    // without the shuffle the first split would get the likeliest (easiest) problems
    for (let i = drawn.length - 1; i > 0; i--) {
      const j = rng.integer(i + 1);
      [drawn[i], drawn[j]] = [drawn[j], drawn[i]];
    }
    let at = 0;
    const cut = (count: number): string[] => drawn.slice(at, (at += count));
    const sft = cut(counts.sft);
    const train = cut(counts.train);
    const validation = cut(counts.validation);
    return { sft, train, validation, heldOut: cut(counts.heldOut) };
  }

  /** `{prompt, response}` rows with the reference answers, for {@link SFTTrainer}. */
  sftRows(prompts: readonly string[]): PromptResponseRow[] {
    return prompts.map((prompt) => ({ prompt, response: this.spec.answer(prompt) }));
  }

  /** Prompt ids as the trainers tokenize them: `bos + encode(prompt)`. */
  encodePrompt(prompt: string): number[] {
    return [this.tokenizer.bosTokenId, ...this.tokenizer.encode(prompt)];
  }

  /** Fraction of `prompts` whose greedy completion earns the exact-match reward. */
  accuracy(model: CausalLM, prompts: readonly string[], options: AccuracyOptions = {}): AccuracyResult {
    const batchSize = options.batchSize ?? 128;
    const maxNewTokens = options.maxNewTokens ?? this.maxNewTokens;
    const tokenizer = options.tokenizer ?? this.tokenizer;
    // the task's own tokenizer spells the stop token "<eos>" for stripStop; another's is left out
    const skipSpecialTokens = tokenizer !== this.tokenizer;
    const completions: string[] = [];
    const correct: number[] = [];
    let tokens = 0;
    for (let start = 0; start < prompts.length; start += batchSize) {
      const chunk = prompts.slice(start, start + batchSize);
      const out = generate(
        model,
        chunk.map((p) => [tokenizer.bosTokenId, ...tokenizer.encode(p)]),
        {
          maxNewTokens,
          doSample: false,
          eosTokenId: tokenizer.eosTokenId,
          padTokenId: tokenizer.padTokenId,
        },
      );
      chunk.forEach((prompt, i) => {
        const length = out.responseLengths[i];
        const ids = out.responseIds.data.slice(i * maxNewTokens, i * maxNewTokens + length);
        const completion = tokenizer.decode(ids, { skipSpecialTokens });
        completions.push(completion);
        correct.push(this.reward(prompt, completion));
        tokens += length;
      });
    }
    const n = Math.max(prompts.length, 1);
    return {
      accuracy: correct.reduce((sum, c) => sum + c, 0) / n,
      meanLength: tokens / n,
      completions,
      correct,
    };
  }
}
