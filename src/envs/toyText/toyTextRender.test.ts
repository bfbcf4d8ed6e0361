import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RenderFrame } from "../env.js";
import { make } from "../make.js";
import { registry } from "../registry.js";

// Gymnasium's window sizes: FrozenLake 64-pixel tiles up to 512, CliffWalking 60-pixel cells, Taxi
// 550x350, Blackjack 600x500.
const frames: [string, number, number][] = [
  ["FrozenLake-v1", 256, 256],
  ["FrozenLake8x8-v1", 512, 512],
  ["CliffWalking-v1", 720, 240],
  ["CliffWalkingSlippery-v1", 720, 240],
  ["Taxi-v4", 550, 350],
  ["Blackjack-v1", 600, 500],
];

/** Number of distinct colours in a frame. */
function colours(frame: RenderFrame): number {
  const seen = new Set<number>();
  for (let i = 0; i < frame.data.length; i += 3) {
    seen.add((frame.data[i] << 16) | (frame.data[i + 1] << 8) | frame.data[i + 2]);
  }
  return seen.size;
}

describe("toy-text render()", () => {
  for (const [id, width, height] of frames) {
    test(`${id}: an RGB frame of Gymnasium's size with drawn content`, () => {
      const env = make(id);
      env.reset({ seed: 0 });
      const frame = env.render() as RenderFrame;
      assert.deepEqual([frame.width, frame.height], [width, height]);
      assert.equal(frame.data.length, width * height * 3);
      assert.ok(colours(frame) >= 4, `${colours(frame)} colours`);
    });
  }

  test("the RGB frame follows the agent", () => {
    const env = make<number, number>("FrozenLake-v1", { isSlippery: false });
    env.reset({ seed: 0 });
    const before = (env.render() as RenderFrame).data.slice();
    env.step(2);
    assert.notDeepEqual((env.render() as RenderFrame).data, before);
  });

  test("FrozenLake ansi: the last action, then the map with the agent highlighted", () => {
    const env = make<number, number>("FrozenLake-v1", { isSlippery: false, renderMode: "ansi" });
    env.reset({ seed: 0 });
    assert.equal(env.render(), "\n\x1b[41mS\x1b[0mFFF\nFHFH\nFFFH\nHFFG\n");
    env.step(1);
    assert.equal(env.render(), "  (Down)\nSFFF\n\x1b[41mF\x1b[0mHFH\nFFFH\nHFFG\n");
  });

  test("CliffWalking ansi: 4 rows of 12 cells, x the agent, C the cliff, T the goal", () => {
    const env = make("CliffWalking-v1", { renderMode: "ansi" });
    env.reset({ seed: 0 });
    const text = env.render() as string;
    const rows = text.split("\n");
    assert.equal(rows.length, 6); // 4 rows, then Gymnasium's empty line and the final newline
    assert.equal(rows[0], "o  o  o  o  o  o  o  o  o  o  o  o");
    assert.equal(rows[3], "x  C  C  C  C  C  C  C  C  C  C  T");
  });

  test("Taxi ansi: the 7-line map, coloured taxi, passenger and destination, then the last action", () => {
    const env = make<number, number>("Taxi-v4", { renderMode: "ansi" });
    env.reset({ seed: 0 });
    const text = env.render() as string;
    const plain = text.replace(new RegExp(`${String.fromCharCode(27)}\\[[\\d;]*m`, "g"), "");
    assert.deepEqual(plain.split("\n").slice(0, 7), [
      "+---------+",
      "|R: | : :G|",
      "| : | : : |",
      "| : : : : |",
      "| | : | : |",
      "|Y| : |B: |",
      "+---------+",
    ]);
    assert.ok(text.includes("\x1b[43m") && text.includes("\x1b[34;1m") && text.includes("\x1b[35m"));
    env.step(0);
    assert.match(env.render() as string, /\(South\)\n$/);
  });

  test("Blackjack ansi: the dealer's showing card and the player's hand", () => {
    const env = make("Blackjack-v1", { renderMode: "ansi" });
    env.reset({ options: { state: { player: [1, 6], dealer: [9, 9] } } });
    assert.equal(env.render(), "Dealer: 9 ??\nPlayer: A 6 (sum 17, usable ace)\n");
  });

  test("proximal envs lists the toy-text ids with Gymnasium's limits and spaces", () => {
    const rows = new Map(registry.list().map((row) => [row.id, row]));
    assert.equal(rows.get("FrozenLake-v1")?.maxEpisodeSteps, 100);
    assert.equal(rows.get("FrozenLake8x8-v1")?.maxEpisodeSteps, 200);
    assert.equal(rows.get("CliffWalking-v1")?.maxEpisodeSteps, null);
    assert.equal(rows.get("CliffWalkingSlippery-v1")?.maxEpisodeSteps, null);
    assert.equal(rows.get("Taxi-v4")?.maxEpisodeSteps, 200);
    assert.equal(rows.get("Blackjack-v1")?.maxEpisodeSteps, null);
    assert.deepEqual(rows.get("Taxi-v4")?.observationSpace, { type: "Discrete", n: 500, start: 0 });
    assert.equal(rows.get("Blackjack-v1")?.observationSpace.type, "Tuple");
  });
});
