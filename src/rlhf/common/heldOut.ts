/**
 * Held-out splits for RLHF data that share nothing with training: rows are grouped by a key (a
 * comparison for preference pairs, a (prompt, completion) for SFT and KTO rows) and every copy of a
 * key lands on the same side. A split by row would let a pair sampled twice, or the same pair with
 * chosen and rejected swapped, be trained on and then "held out". Task-independent: used by the
 * sentiment demo and by `proximal rlhf sft|reward|dpo|kto --eval-fraction`.
 */
import type { Rng } from "../../random/rng.js";

/** A prompt or response: text, or the token ids it encodes to. */
export type Sequence = string | readonly number[];

/**
 * The comparison a preference pair makes: its prompt and the unordered pair of responses, so
 * (prompt, a, b) and (prompt, b, a) are the same comparison whichever side was chosen. Injective:
 * distinct comparisons get distinct keys (JSON keeps text and token boundaries).
 *
 * @example
 * comparisonKey({ prompt: [1, 5], chosen: [7, 2], rejected: [6, 2] }) ===
 *   comparisonKey({ prompt: [1, 5], chosen: [6, 2], rejected: [7, 2] }); // true
 */
export function comparisonKey(pair: { prompt: Sequence; chosen: Sequence; rejected: Sequence }): string {
  const responses = [JSON.stringify(pair.chosen), JSON.stringify(pair.rejected)].sort();
  return JSON.stringify([JSON.stringify(pair.prompt), ...responses]);
}

/**
 * The key of one completion of a prompt: an SFT row (prompt, response) or a KTO row
 * (prompt, completion, whatever its label).
 *
 * @example
 * completionKey("2+2=", "4") === completionKey("2+2=", "4"); // true
 * completionKey("2+2=", "4") === completionKey("2+2", "=4"); // false
 */
export function completionKey(prompt: Sequence, completion: Sequence): string {
  return JSON.stringify([JSON.stringify(prompt), JSON.stringify(completion)]);
}

/**
 * Split rows into training and held-out sets that share no key: all copies of a key land on the
 * same side. The held-out side is the first `heldOutFraction` of the given order (at least one
 * row), decided per key: a key is held out when one of its copies, picked with `rng`, falls there.
 * So a key is held out with the same chance however often it occurs (the first copy would favour
 * frequent ones), and rows that are all distinct split exactly by position. Each side keeps the
 * given order; shuffle first for a random split. Either side may come out empty (too few distinct
 * keys): callers check, and say what to change in their own terms.
 *
 * @example
 * const rows = [{ id: "a" }, { id: "b" }, { id: "a" }, { id: "c" }, { id: "d" }];
 * splitByKey(rows, (r) => r.id, 0.2, new Rng(0));
 * // held out: both "a" rows if the copy drawn for "a" is row 0 (the first fifth), else none of them
 */
export function splitByKey<R>(
  rows: readonly R[],
  keyOf: (row: R) => string,
  heldOutFraction: number,
  rng: Rng,
): { train: R[]; heldOut: R[]; distinctKeys: number } {
  const positions = new Map<string, number[]>();
  const keys = rows.map((row, i) => {
    const key = keyOf(row);
    const seen = positions.get(key);
    if (seen === undefined) positions.set(key, [i]);
    else seen.push(i);
    return key;
  });
  const cut = Math.max(1, Math.floor(rows.length * heldOutFraction));
  const heldOutKeys = new Set<string>();
  for (const [key, at] of positions) if (at[rng.integer(at.length)] < cut) heldOutKeys.add(key);
  const train: R[] = [];
  const heldOut: R[] = [];
  rows.forEach((row, i) => {
    (heldOutKeys.has(keys[i]) ? heldOut : train).push(row);
  });
  return { train, heldOut, distinctKeys: positions.size };
}
