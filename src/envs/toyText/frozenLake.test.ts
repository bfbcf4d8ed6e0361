import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { make } from "../make.js";
import { FrozenLakeEnv, generateRandomMap } from "./frozenLake.js";

function code(error: unknown): string | undefined {
  return error instanceof ProximalError ? error.code : undefined;
}

/** Breadth-first search over non-hole tiles from S to G (independent of the generator's own check). */
function reachable(map: string[]): boolean {
  const n = map.length;
  const seen = new Set([0]);
  const queue = [0];
  while (queue.length > 0) {
    const s = queue.shift() as number;
    const [r, c] = [Math.floor(s / n), s % n];
    if (map[r][c] === "G") return true;
    for (const [nr, nc] of [
      [r + 1, c],
      [r - 1, c],
      [r, c + 1],
      [r, c - 1],
    ]) {
      if (nr >= 0 && nr < n && nc >= 0 && nc < n && map[nr][nc] !== "H" && !seen.has(nr * n + nc)) {
        seen.add(nr * n + nc);
        queue.push(nr * n + nc);
      }
    }
  }
  return false;
}

describe("generateRandomMap()", () => {
  test("gives size x size maps of S, F, H, G with S top-left, G bottom-right and a path between", () => {
    for (const size of [2, 4, 8, 11]) {
      for (let seed = 0; seed < 20; seed++) {
        const map = generateRandomMap(size, 0.6, seed);
        assert.equal(map.length, size);
        assert.ok(map.every((row) => row.length === size && /^[SFHG]+$/.test(row)));
        assert.equal(map[0][0], "S");
        assert.equal(map[size - 1][size - 1], "G");
        assert.equal(map.join("").replace(/[^SG]/g, "").length, 2, "one start, one goal");
        assert.ok(reachable(map), `size ${size} seed ${seed}: ${map.join("/")}`);
      }
    }
  });

  test("is reproducible per seed and differs across seeds", () => {
    assert.deepEqual(generateRandomMap(8, 0.8, 5), generateRandomMap(8, 0.8, 5));
    const distinct = new Set(
      Array.from({ length: 10 }, (_, seed) => generateRandomMap(8, 0.8, seed).join("")),
    );
    assert.ok(distinct.size >= 9);
  });

  test("p = 1 gives an all-frozen lake; a size below 2 or p <= 0 is refused", () => {
    assert.deepEqual(generateRandomMap(3, 1, 0), ["SFF", "FFF", "FFG"]);
    assert.throws(
      () => generateRandomMap(1, 0.8, 0),
      (e) => code(e) === "INVALID_ARGUMENT",
    );
    assert.throws(
      () => generateRandomMap(4, 0, 0),
      (e) => code(e) === "INVALID_ARGUMENT",
    );
  });

  test("its maps drive FrozenLake-v1 through desc", () => {
    const desc = generateRandomMap(6, 0.8, 1);
    const env = make<number, number>("FrozenLake-v1", { desc });
    assert.equal(env.observationSpace.toString(), "Discrete(36)");
    assert.equal(env.reset({ seed: 0 }).observation, 0);
  });
});

describe("FrozenLakeEnv options", () => {
  test("make() passes isSlippery, mapName and desc; unknown or bad options fail with INVALID_OPTION", () => {
    const env = make<number, number>("FrozenLake-v1", { isSlippery: false });
    env.reset({ seed: 0 });
    assert.deepEqual(env.step(2), {
      observation: 1,
      reward: 0,
      terminated: false,
      truncated: false,
      info: { prob: 1 },
    });
    assert.equal(make("FrozenLake-v1", { mapName: "8x8" }).observationSpace.toString(), "Discrete(64)");
    const suggestion = (e: unknown): boolean =>
      code(e) === "INVALID_OPTION" && /Did you mean "isSlippery"/.test((e as Error).message);
    assert.throws(() => make("FrozenLake-v1", { is_slippery: false }), suggestion);
    for (const bad of <Record<string, unknown>[]>[
      { isSlippery: "no" },
      { mapName: "5x5" },
      { desc: ["SFF", "FH"] },
      { desc: ["SFX", "FFG"] },
      { desc: ["FFF", "FFG"] },
      { successRate: 2 },
      { rewardSchedule: [1, 0] },
      { renderMode: "human" },
    ]) {
      assert.throws(
        () => make("FrozenLake-v1", bad),
        (e) => code(e) === "INVALID_OPTION",
        JSON.stringify(bad),
      );
    }
  });

  test("mapName null generates a random 8x8 map (seed 0), as Gymnasium's map_name=None", () => {
    const env = new FrozenLakeEnv({ mapName: null });
    assert.deepEqual(env.desc, generateRandomMap(8, 0.8, 0));
  });

  test("successRate and rewardSchedule shape P as Gymnasium 1.4.0", () => {
    const env = new FrozenLakeEnv({ successRate: 0.5, rewardSchedule: [10, -5, -1] });
    // Up from the corner: right (to 1), up (stays), left (stays), in Gymnasium's order a - 1, a, a + 1.
    assert.deepEqual(env.P[0][3], [
      [0.25, 1, -1, false],
      [0.5, 0, -1, false],
      [0.25, 0, -1, false],
    ]);
    assert.deepEqual(env.P[14][2][1], [0.5, 15, 10, true]);
    assert.deepEqual(env.P[1][1][1], [0.5, 5, -5, true]);
  });

  test("slippery steps follow P's probabilities (seeded sampling)", () => {
    const env = new FrozenLakeEnv();
    env.reset({ seed: 1 });
    // From state 6 action 1 (down): left to 5 (hole), down to 10, right to 7 (hole), 1/3 each.
    const counts = new Map<number, number>();
    const n = 6000;
    for (let i = 0; i < n; i++) {
      env.reset({ options: { state: 6 } });
      const { observation, info } = env.step(1);
      assert.ok(Math.abs((info.prob as number) - 1 / 3) < 1e-12);
      counts.set(observation, (counts.get(observation) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counts.keys()].sort((a, b) => a - b),
      [5, 7, 10],
    );
    for (const count of counts.values()) assert.ok(Math.abs(count / n - 1 / 3) < 0.03, `${count} of ${n}`);
  });

  test("reset({ options: { state } }) refuses a state outside the map", () => {
    const env = make("FrozenLake-v1");
    for (const state of [-1, 16, 2.5, "3"]) {
      assert.throws(
        () => env.reset({ options: { state } }),
        (e) => code(e) === "INVALID_ARGUMENT" && /from 0 to 15/.test((e as Error).message),
      );
    }
  });

  test("the same seed gives the same slippery trajectory; getState/setState resume it", () => {
    const run = (env: FrozenLakeEnv): number[] => {
      const out = [env.reset({ seed: 4 }).observation];
      for (let t = 0; t < 30; t++) {
        const r = env.step(t % 4);
        out.push(r.observation);
        if (r.terminated) out.push(env.reset().observation);
      }
      return out;
    };
    assert.deepEqual(run(new FrozenLakeEnv({ mapName: "8x8" })), run(new FrozenLakeEnv({ mapName: "8x8" })));
    const a = new FrozenLakeEnv({ mapName: "8x8" });
    a.reset({ seed: 9 });
    const b = new FrozenLakeEnv({ mapName: "8x8" });
    b.setState(a.getState());
    for (let t = 0; t < 10; t++) {
      const ra = a.step(1);
      assert.deepEqual(b.step(1), ra);
      if (ra.terminated) break;
    }
  });
});
