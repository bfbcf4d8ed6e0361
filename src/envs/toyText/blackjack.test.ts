import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { make } from "../make.js";
import { BlackjackEnv, type BlackjackObservation, type BlackjackOptions, handValue } from "./blackjack.js";

/** Stick with the given hands and return the reward (the dealer may still draw). */
function stick(options: BlackjackOptions, player: number[], dealer: number[], seed = 0): number {
  const env = new BlackjackEnv(options);
  env.reset({ seed, options: { state: { player, dealer } } });
  const result = env.step(0);
  assert.equal(result.terminated, true);
  return result.reward;
}

const cardProbability = (card: number): number => (card === 10 ? 4 / 13 : 1 / 13);

/**
 * The exact expected return of "stick on 20 or 21, else hit" with an infinite deck, by recursion
 * over hands (the dealer's play and the player's are independent given the dealer's first two cards).
 */
function exactReturn(options: { natural: boolean; sab: boolean }): number {
  const value = (total: number, ace: boolean): number => (ace && total + 10 <= 21 ? total + 10 : total);
  // Distribution of the dealer's final score (0 = bust) from a hand (total counting aces as 1, ace?).
  const dealerMemo = new Map<string, Map<number, number>>();
  const dealerFinal = (total: number, ace: boolean): Map<number, number> => {
    const key = `${total},${ace}`;
    const known = dealerMemo.get(key);
    if (known !== undefined) return known;
    const v = value(total, ace);
    const out = new Map<number, number>();
    if (v >= 17) out.set(v > 21 ? 0 : v, 1);
    for (let card = 1; v < 17 && card <= 10; card++) {
      for (const [score, p] of dealerFinal(total + card, ace || card === 1)) {
        out.set(score, (out.get(score) ?? 0) + p * cardProbability(card));
      }
    }
    dealerMemo.set(key, out);
    return out;
  };
  // Expected reward of the player's hand against a dealer final-score distribution (memo per dealer).
  const playMemo = new Map<Map<number, number>, Map<string, number>>();
  const play = (total: number, ace: boolean, dealer: Map<number, number>): number => {
    let memo = playMemo.get(dealer);
    if (memo === undefined) playMemo.set(dealer, (memo = new Map()));
    const key = `${total},${ace}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const r = playUncached(total, ace, dealer);
    memo.set(key, r);
    return r;
  };
  const playUncached = (total: number, ace: boolean, dealer: Map<number, number>): number => {
    const v = value(total, ace);
    if (v > 21) return -1;
    if (v >= 20) {
      let r = 0;
      for (const [score, p] of dealer) r += p * Math.sign(v - score);
      return r;
    }
    let r = 0;
    for (let card = 1; card <= 10; card++)
      r += cardProbability(card) * play(total + card, ace || card === 1, dealer);
    return r;
  };
  let expected = 0;
  for (let d1 = 1; d1 <= 10; d1++) {
    for (let d2 = 1; d2 <= 10; d2++) {
      const dealer = dealerFinal(d1 + d2, d1 === 1 || d2 === 1);
      const dealerNatural = d1 + d2 === 11 && (d1 === 1 || d2 === 1);
      for (let p1 = 1; p1 <= 10; p1++) {
        for (let p2 = 1; p2 <= 10; p2++) {
          const p = cardProbability(d1) * cardProbability(d2) * cardProbability(p1) * cardProbability(p2);
          const playerNatural = p1 + p2 === 11 && (p1 === 1 || p2 === 1);
          let r: number;
          if (playerNatural && options.sab) r = dealerNatural ? 0 : 1;
          else if (playerNatural && options.natural)
            r = dealerNatural ? 0 : 1.5; // 21 loses to nothing
          else r = play(p1 + p2, p1 === 1 || p2 === 1, dealer);
          expected += p * r;
        }
      }
    }
  }
  return expected;
}

describe("BlackjackEnv", () => {
  test("Blackjack-v1 is registered with sab: true, a Tuple observation space and no time limit", () => {
    const env = make<BlackjackObservation, number>("Blackjack-v1");
    assert.equal(env.spec?.maxEpisodeSteps, undefined);
    assert.equal((env as unknown as { unwrapped: BlackjackEnv }).unwrapped.sab, true);
    assert.equal(env.observationSpace.toString(), "Tuple(Discrete(32), Discrete(11), Discrete(2))");
    const { observation } = env.reset({ seed: 3 });
    assert.ok(env.observationSpace.contains(observation));
  });

  test("a natural pays 1.5 with natural: true and 1 without", () => {
    assert.equal(stick({ natural: true }, [1, 10], [10, 7]), 1.5);
    assert.equal(stick({ natural: false }, [10, 1], [10, 7]), 1);
    assert.equal(stick({ natural: true }, [10, 5, 6], [10, 7]), 1, "21 in three cards is no natural");
    assert.equal(stick({ natural: true }, [1, 10], [1, 10]), 0, "natural against natural draws");
  });

  test("sab: a natural wins unless the dealer has one too, and overrides natural", () => {
    assert.equal(stick({ sab: true }, [1, 10], [7, 7, 7]), 1, "beats the dealer's three-card 21");
    assert.equal(stick({ sab: false }, [1, 10], [7, 7, 7]), 0, "without sab, 21 against 21 draws");
    assert.equal(stick({ sab: true }, [1, 10], [10, 1]), 0);
    assert.equal(stick({ sab: true, natural: true }, [1, 10], [10, 7]), 1, "sab pays 1, not 1.5");
  });

  test("the dealer stands on 17, soft 17 included, and draws below it", () => {
    const env = new BlackjackEnv();
    env.reset({ options: { state: { player: [10, 8], dealer: [10, 7] } } });
    assert.equal(env.step(0).reward, 1);
    assert.deepEqual(env.hands.dealer, [10, 7]);
    env.reset({ options: { state: { player: [10, 7], dealer: [1, 6] } } });
    assert.equal(env.step(0).reward, 0);
    assert.deepEqual(env.hands.dealer, [1, 6]);
    for (let seed = 0; seed < 200; seed++) {
      env.reset({ seed, options: { state: { player: [10, 9], dealer: [10, 2] } } });
      const { reward } = env.step(0);
      const dealer = env.hands.dealer;
      const final = handValue(dealer);
      assert.ok(dealer.length >= 3 && final >= 17, `seed ${seed}: dealer ${dealer}`);
      assert.ok(handValue(dealer.slice(0, -1)) < 17, `seed ${seed}: drew past 17: ${dealer}`);
      assert.equal(reward, final > 21 ? 1 : Math.sign(19 - final));
    }
  });

  test("a bust ends the episode with -1, a safe hit continues with 0", () => {
    const env = new BlackjackEnv();
    const seen = new Set<string>();
    for (let seed = 0; seed < 100 && seen.size < 2; seed++) {
      env.reset({ seed, options: { state: { player: [10, 6], dealer: [10, 7] } } });
      const result = env.step(1);
      const total = handValue(env.hands.player);
      assert.equal(result.observation[0], total);
      if (total > 21) assert.deepEqual([result.reward, result.terminated], [-1, true]);
      else assert.deepEqual([result.reward, result.terminated], [0, false]);
      seen.add(String(result.terminated));
    }
    assert.equal(seen.size, 2, "saw both a bust and a safe hit");
  });

  test("the observation counts a usable ace as 11", () => {
    const env = new BlackjackEnv();
    const { observation } = env.reset({ options: { state: { player: [1, 6], dealer: [9, 9] } } });
    assert.deepEqual(observation, [17, 9, 1]);
  });

  for (const rules of [
    { natural: false, sab: true },
    { natural: true, sab: false },
    { natural: false, sab: false },
  ]) {
    test(`"stick on 20 or 21" earns its exact expected return (${JSON.stringify(rules)})`, () => {
      const expected = exactReturn(rules);
      const env = new BlackjackEnv(rules);
      const episodes = 100_000;
      let total = 0;
      for (let e = 0; e < episodes; e++) {
        let observation = env.reset(e === 0 ? { seed: 7 } : {}).observation[0];
        for (;;) {
          const result = env.step(observation >= 20 ? 0 : 1);
          if (result.terminated) {
            total += result.reward;
            break;
          }
          observation = result.observation[0];
        }
      }
      const mean = total / episodes;
      // Returns lie in [-1, 1.5] with std about 0.95: 5 standard errors is about 0.015.
      const tolerance = 5 * (1 / Math.sqrt(episodes));
      assert.ok(
        Math.abs(mean - expected) < tolerance,
        `mean ${mean.toFixed(4)} vs exact ${expected.toFixed(4)} (tolerance ${tolerance.toFixed(4)})`,
      );
    });
  }

  test("an invalid start state is refused with INVALID_ARGUMENT", () => {
    const env = new BlackjackEnv();
    for (const state of [
      { player: [11, 2], dealer: [10] },
      { player: [10, 10, 5], dealer: [2] },
      [1, 2],
      5,
    ]) {
      assert.throws(
        () => env.reset({ options: { state } }),
        (error: unknown) => error instanceof ProximalError && error.code === "INVALID_ARGUMENT",
      );
    }
  });
});
