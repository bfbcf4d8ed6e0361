// Shared by the trainer tests (trainers.test.ts, loraTrainers.test.ts): a 5-letter character
// tokenizer, 12 seeded 3-letter words as rows of every kind, and a 1-layer width-16 GPT over them.
import { Rng } from "../random/rng.js";
import { CharTokenizer } from "./charTokenizer.js";
import type { PreferenceRow, PromptResponseRow, UnpairedPreferenceRow } from "./common/data.js";
import { GPT } from "./gpt.js";

export const tokenizer = new CharTokenizer("abcd=");
const rng = new Rng(0);
const word = () => Array.from({ length: 3 }, () => "abcd"[rng.integer(4)]).join("");
export const words = Array.from({ length: 12 }, word);
export const sftRows: PromptResponseRow[] = words.map((w) => ({ prompt: `${w}=`, response: w }));
export const preferenceRows: PreferenceRow[] = words.map((w) => ({
  prompt: `${w}=`,
  chosen: w,
  rejected: [...w].reverse().join(""),
}));
export const unpairedRows: UnpairedPreferenceRow[] = words.map((w, i) => ({
  prompt: `${w}=`,
  completion: i % 2 === 0 ? w : "dd",
  label: i % 2 === 0,
}));
export const gptConfig = { vocabSize: tokenizer.vocabSize, nPositions: 16, nEmbd: 16, nLayer: 1, nHead: 2 };
/** A GPT of {@link gptConfig}, its weights drawn with `seed`. */
export const newGpt = (seed = 1): GPT => new GPT(gptConfig, { rng: new Rng(seed) });
