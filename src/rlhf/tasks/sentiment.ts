/**
 * The "positive review" task of the RLHF demo, shipped with the code (no downloads): a seeded
 * generator of short reviews from templates and three lexicons, a character tokenizer over their
 * alphabet, and a fixed judge that scores text with the same lexicons.
 *
 * A review is a prompt (`"the plot was"`) and a response (`" great and fun."`). The corpus mixes
 * positive, negative, neutral and mixed reviews in equal parts, so an SFT model trained on it
 * continues a prompt with a judge score near 0 on average; RLHF should push that up.
 */
import type { Rng } from "../../random/rng.js";
import { CharTokenizer } from "../charTokenizer.js";

/** One review, split where generation starts (the `{"prompt", "response"}` row of SFT data). */
export interface Review {
  prompt: string;
  response: string;
}

/** Words the judge scores +1. */
export const POSITIVE_WORDS = [
  "great",
  "good",
  "lovely",
  "superb",
  "fun",
  "brilliant",
  "nice",
  "charming",
  "moving",
  "clever",
] as const;
/** Words the judge scores -1. */
export const NEGATIVE_WORDS = [
  "bad",
  "awful",
  "dull",
  "boring",
  "poor",
  "weak",
  "bland",
  "messy",
  "silly",
  "slow",
] as const;
/** Words the judge scores 0. */
export const NEUTRAL_WORDS = [
  "long",
  "short",
  "loud",
  "quiet",
  "recent",
  "simple",
  "french",
  "early",
] as const;

/** What a review is about: its prompt is `"<subject> <verb>"`. */
export const SUBJECTS = [
  "the movie",
  "the plot",
  "the acting",
  "the music",
  "the ending",
  "the film",
  "the cast",
  "the script",
  "the story",
  "the show",
] as const;
const VERBS = ["was", "is", "felt", "seemed"] as const;

/** Every character the corpus uses (the {@link sentimentTokenizer}'s alphabet). */
export const SENTIMENT_ALPHABET = " abcdefghijklmnopqrstuvwxyz.,";

/** A character tokenizer over `SENTIMENT_ALPHABET`: pad 0, bos 1, eos 2, then the characters. */
export function sentimentTokenizer(): CharTokenizer {
  return new CharTokenizer(SENTIMENT_ALPHABET);
}

const LEXICON = new Map<string, number>([
  ...POSITIVE_WORDS.map((w): [string, number] => [w, 1]),
  ...NEGATIVE_WORDS.map((w): [string, number] => [w, -1]),
]);

/**
 * The fixed judge: `#positive words - #negative words` in `text` (words are maximal runs of letters).
 * Our own lexicon scorer in the spirit of AFINN (Nielsen 2011, arXiv:1103.2903), with ±1 per word.
 *
 * @example
 * judgeSentiment(" great but dull, and fun."); // 1
 */
export function judgeSentiment(text: string): number {
  let score = 0;
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) score += LEXICON.get(word) ?? 0;
  return score;
}

/** Kinds of review in the corpus, in equal parts. */
export type ReviewMood = "positive" | "negative" | "neutral" | "mixed";
const MOODS: readonly ReviewMood[] = ["positive", "negative", "neutral", "mixed"];

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.integer(items.length)];
}

/** One seeded review: `{ prompt: "the plot was", response: " dull and long." }`. */
export function sampleReview(rng: Rng, mood: ReviewMood = pick(rng, MOODS)): Review {
  const prompt = `${pick(rng, SUBJECTS)} ${pick(rng, VERBS)}`;
  const word = (polarity: "positive" | "negative" | "neutral"): string =>
    pick(
      rng,
      polarity === "positive" ? POSITIVE_WORDS : polarity === "negative" ? NEGATIVE_WORDS : NEUTRAL_WORDS,
    );
  const moodWord = (): string => {
    switch (mood) {
      case "positive":
        return word(rng.uniform() < 0.75 ? "positive" : "neutral");
      case "negative":
        return word(rng.uniform() < 0.75 ? "negative" : "neutral");
      case "neutral":
        return word("neutral");
      case "mixed":
        return word(rng.uniform() < 0.5 ? "positive" : "negative");
      default:
        return mood satisfies never;
    }
  };
  const a = moodWord();
  let response: string;
  switch (rng.integer(4)) {
    case 0:
      response = ` ${a}.`;
      break;
    case 1:
      response = ` very ${a}.`;
      break;
    case 2:
      response = ` ${a} and ${moodWord()}.`;
      break;
    default:
      response = ` ${a}, ${moodWord()} and ${moodWord()}.`;
  }
  return { prompt, response };
}

/** `size` seeded reviews (the SFT corpus). */
export function sentimentCorpus(size: number, rng: Rng): Review[] {
  return Array.from({ length: size }, () => sampleReview(rng));
}

/** A seeded prompt (`"the music felt"`), for sampling pairs and for PPO. */
export function samplePrompt(rng: Rng): string {
  return `${pick(rng, SUBJECTS)} ${pick(rng, VERBS)}`;
}
