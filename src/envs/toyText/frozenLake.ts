import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import type { EnvMetadata, RenderFrame } from "../env.js";
import { RgbCanvas } from "../render/rgbCanvas.js";
import { formatValue } from "../spaces/space.js";
import {
  booleanOption,
  checkToyTextOptions,
  probabilityOption,
  type ToyTextOptions,
} from "./toyTextOptions.js";
import { colorize, fillDisc, fillRect, strokeRect } from "./toyTextRender.js";
import { type Transition, TransitionTableEnv } from "./transitionTableEnv.js";

const LEFT = 0;
const DOWN = 1;
const RIGHT = 2;
const UP = 3;

/** The two built-in maps of Gymnasium's `frozen_lake.py` (`MAPS`). */
export const frozenLakeMaps: Readonly<Record<"4x4" | "8x8", readonly string[]>> = {
  "4x4": ["SFFF", "FHFH", "FFFH", "HFFG"],
  "8x8": ["SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG"],
};

/** Options of FrozenLake-v1 (Gymnasium 1.4.0's keyword arguments, camelCased). */
export interface FrozenLakeOptions extends ToyTextOptions {
  /**
   * A custom map, one string per row: `S` start, `F` frozen, `H` hole, `G` goal. Overrides
   * `mapName`. {@link generateRandomMap} makes a random valid one.
   * @defaultValue undefined (use `mapName`)
   */
  desc?: readonly string[];
  /**
   * One of the built-in maps; `null` (with no `desc`) generates a random 8x8 map with
   * `generateRandomMap(8, 0.8, 0)` (Gymnasium draws an unseeded one instead).
   * @defaultValue "4x4" ("8x8" for FrozenLake8x8-v1)
   */
  mapName?: "4x4" | "8x8" | null;
  /** The ice is slippery: the agent may move perpendicular to the intended direction. @defaultValue true */
  isSlippery?: boolean;
  /**
   * With `isSlippery`, the probability of moving in the intended direction; each perpendicular
   * direction gets half the rest. @defaultValue 1/3 (Gymnasium 1.4.0)
   */
  successRate?: number;
  /** Rewards for reaching the goal, a hole and a frozen tile (start included). @defaultValue [1, 0, 0] */
  rewardSchedule?: readonly [number, number, number];
}

/** Whether a path of non-hole tiles joins (0, 0) to a goal (Gymnasium's `is_valid`, depth-first). */
function hasPathToGoal(board: readonly string[]): boolean {
  const rows = board.length;
  const cols = board[0].length;
  const frontier: [number, number][] = [[0, 0]];
  const discovered = new Set<number>();
  while (frontier.length > 0) {
    const [r, c] = frontier.pop() as [number, number];
    if (discovered.has(r * cols + c)) continue;
    discovered.add(r * cols + c);
    for (const [dr, dc] of [
      [1, 0],
      [0, 1],
      [-1, 0],
      [0, -1],
    ]) {
      const rn = r + dr;
      const cn = c + dc;
      if (rn < 0 || rn >= rows || cn < 0 || cn >= cols) continue;
      if (board[rn][cn] === "G") return true;
      if (board[rn][cn] !== "H") frontier.push([rn, cn]);
    }
  }
  return false;
}

/**
 * A random `size` x `size` FrozenLake map with a path from the start (top left) to the goal (bottom
 * right): each other tile is frozen with probability `p`, else a hole, redrawn until a path exists
 * (Gymnasium's `generate_random_map`). The draws come from proximal's {@link Rng} seeded with `seed`,
 * so a seed gives the same map every time but not the map NumPy gives Gymnasium for that seed.
 *
 * @example
 * const desc = generateRandomMap(6, 0.8, 42); // e.g. ["SFFHFF", "FFFFFF", ...]
 * const env = make("FrozenLake-v1", { desc });
 */
export function generateRandomMap(size = 8, p = 0.8, seed = 0): string[] {
  if (!Number.isInteger(size) || size < 2) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `generateRandomMap: size must be an integer >= 2, got ${formatValue(size)}.`,
    );
  }
  if (typeof p !== "number" || !(p > 0)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `generateRandomMap: p (the probability of a frozen tile) must be > 0, or no map is ever valid; got ${formatValue(p)}.`,
    );
  }
  const frozen = Math.min(1, p);
  const rng = new Rng(seed);
  for (;;) {
    const board: string[] = [];
    for (let r = 0; r < size; r++) {
      let row = "";
      for (let c = 0; c < size; c++) row += rng.uniform() < frozen ? "F" : "H";
      board.push(row);
    }
    board[0] = `S${board[0].slice(1)}`;
    board[size - 1] = `${board[size - 1].slice(0, -1)}G`;
    if (hasPathToGoal(board)) return board;
  }
}

function checkDesc(envName: string, desc: unknown): string[] {
  const ok =
    Array.isArray(desc) &&
    desc.length > 0 &&
    desc.every((row) => typeof row === "string" && row.length > 0 && row.length === desc[0].length);
  if (!ok) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${envName}: option "desc" must be a non-empty list of map rows of equal length, e.g. ["SFFF", "FHFH", "FFFH", "HFFG"]; got ${formatValue(desc)}.`,
    );
  }
  const rows = desc as string[];
  const bad = rows.join("").match(/[^SFHG]/);
  if (bad !== null) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${envName}: option "desc" may only hold S (start), F (frozen), H (hole) and G (goal), found "${bad[0]}".`,
    );
  }
  if (!rows.join("").includes("S")) {
    throw new ProximalError("INVALID_OPTION", `${envName}: option "desc" needs at least one start tile "S".`);
  }
  return rows.slice();
}

const ice = [211, 235, 248] as const;
const gridLine = [180, 200, 230] as const;

/**
 * FrozenLake-v1: walk from the start to the goal over a frozen lake without falling into a hole.
 * Gymnasium 1.4.0's dynamics (`frozen_lake.py`): state `row * ncol + col`; actions 0 left, 1 down,
 * 2 right, 3 up; on slippery ice the outcomes of action `a` are, in this order, directions
 * `(a - 1) mod 4`, `a`, `(a + 1) mod 4` with probabilities `(1 - successRate) / 2`, `successRate`,
 * `(1 - successRate) / 2`; holes and the goal are absorbing and terminal. `info.prob` is the
 * probability of the outcome taken; `P` is Gymnasium's `env.unwrapped.P`. Registered as
 * FrozenLake-v1 (4x4, 100 steps) and FrozenLake8x8-v1 (200 steps).
 *
 * The RGB frame draws Gymnasium's layout (64-pixel tiles, at most 512 pixels a side) with flat
 * colours instead of its sprites.
 *
 * @example
 * const env = make("FrozenLake-v1", { isSlippery: false });
 * env.reset({ seed: 0 });       // { observation: 0, info: { prob: 1 } }
 * env.step(2);                  // { observation: 1, reward: 0, terminated: false, ..., info: { prob: 1 } }
 */
export class FrozenLakeEnv extends TransitionTableEnv {
  readonly metadata: EnvMetadata = { renderModes: ["ansi", "rgb_array"], renderFps: 4 };
  /** The map, one string per row. */
  readonly desc: readonly string[];
  readonly nrow: number;
  readonly ncol: number;
  readonly isSlippery: boolean;

  constructor(options: FrozenLakeOptions = {}) {
    const name = "FrozenLake-v1";
    checkToyTextOptions(name, options, ["desc", "mapName", "isSlippery", "successRate", "rewardSchedule"]);
    const isSlippery = booleanOption(name, "isSlippery", options.isSlippery, true);
    const successRate = probabilityOption(name, "successRate", options.successRate, 1.0 / 3.0);
    const rewardSchedule = options.rewardSchedule ?? [1, 0, 0];
    if (
      !Array.isArray(rewardSchedule) ||
      rewardSchedule.length !== 3 ||
      !rewardSchedule.every((r) => typeof r === "number" && Number.isFinite(r))
    ) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${name}: option "rewardSchedule" must be three finite numbers [goal, hole, frozen], got ${formatValue(rewardSchedule)}.`,
      );
    }
    const mapName = options.mapName === undefined ? "4x4" : options.mapName;
    let desc: string[];
    if (options.desc !== undefined && options.desc !== null) desc = checkDesc(name, options.desc);
    else if (mapName === null) desc = generateRandomMap(8, 0.8, 0);
    else if (mapName === "4x4" || mapName === "8x8") desc = frozenLakeMaps[mapName].slice();
    else {
      throw new ProximalError(
        "INVALID_OPTION",
        `${name}: option "mapName" must be "4x4" or "8x8" (or pass desc), got ${formatValue(mapName)}.`,
      );
    }
    const nrow = desc.length;
    const ncol = desc[0].length;
    const failRate = (1.0 - successRate) / 2.0;
    const toState = (row: number, col: number): number => row * ncol + col;
    const move = (row: number, col: number, a: number): [number, number] => {
      if (a === LEFT) return [row, Math.max(col - 1, 0)];
      if (a === DOWN) return [Math.min(row + 1, nrow - 1), col];
      if (a === RIGHT) return [row, Math.min(col + 1, ncol - 1)];
      return [Math.max(row - 1, 0), col]; // UP
    };
    const outcome = (probability: number, row: number, col: number, a: number): Transition => {
      const [r, c] = move(row, col, a);
      const letter = desc[r][c];
      const reward =
        letter === "G" ? rewardSchedule[0] : letter === "H" ? rewardSchedule[1] : rewardSchedule[2];
      return [probability, toState(r, c), reward, letter === "G" || letter === "H"];
    };
    const P: Transition[][][] = [];
    const initial = new Float64Array(nrow * ncol);
    for (let row = 0; row < nrow; row++) {
      for (let col = 0; col < ncol; col++) {
        const s = toState(row, col);
        const letter = desc[row][col];
        if (letter === "S") initial[s] = 1;
        P.push(
          [LEFT, DOWN, RIGHT, UP].map((a) => {
            if (letter === "G" || letter === "H") return [[1.0, s, 0, true]];
            if (!isSlippery) return [outcome(1.0, row, col, a)];
            return [(a + 3) % 4, a, (a + 1) % 4].map((b) =>
              outcome(b === a ? successRate : failRate, row, col, b),
            );
          }),
        );
      }
    }
    const starts = initial.reduce((sum, v) => sum + v, 0);
    for (let s = 0; s < initial.length; s++) initial[s] /= starts;
    super(P, initial, 4, options.renderMode);
    this.desc = desc;
    this.nrow = nrow;
    this.ncol = ncol;
    this.isSlippery = isSlippery;
  }

  protected get defaultName(): string {
    return this.nrow === 8 && this.ncol === 8 ? "FrozenLake8x8-v1" : "FrozenLake-v1";
  }

  protected renderText(): string {
    const row = Math.floor(this.s / this.ncol);
    const col = this.s % this.ncol;
    const lines = this.desc.map((line, r) =>
      r === row
        ? line.slice(0, col) + colorize(line[col], "red", { highlight: true }) + line.slice(col + 1)
        : line,
    );
    const header =
      this.lastAction === null ? "\n" : `  (${["Left", "Down", "Right", "Up"][this.lastAction]})\n`;
    return `${header}${lines.join("\n")}\n`;
  }

  protected renderRgb(): RenderFrame {
    const width = Math.min(64 * this.ncol, 512);
    const height = Math.min(64 * this.nrow, 512);
    const cw = Math.floor(width / this.ncol);
    const ch = Math.floor(height / this.nrow);
    const canvas = new RgbCanvas(width, height, ice);
    const agentRow = Math.floor(this.s / this.ncol);
    const agentCol = this.s % this.ncol;
    for (let y = 0; y < this.nrow; y++) {
      for (let x = 0; x < this.ncol; x++) {
        const px = x * cw;
        const py = y * ch;
        const letter = this.desc[y][x];
        if (letter === "H") {
          const cracked = y === agentRow && x === agentCol;
          fillDisc(
            canvas,
            px + cw / 2,
            py + ch / 2,
            Math.min(cw, ch) * 0.4,
            cracked ? [90, 60, 60] : [36, 74, 120],
          );
        } else if (letter === "G") {
          fillRect(canvas, px + cw * 0.25, py + ch * 0.3, cw * 0.5, ch * 0.45, [214, 60, 60]); // the present
          fillRect(canvas, px + cw * 0.45, py + ch * 0.3, cw * 0.1, ch * 0.45, [250, 210, 60]);
        } else if (letter === "S") {
          fillRect(canvas, px + cw * 0.3, py + ch * 0.55, cw * 0.4, ch * 0.12, [139, 90, 43]); // the stool
          fillRect(canvas, px + cw * 0.33, py + ch * 0.67, cw * 0.08, ch * 0.2, [139, 90, 43]);
          fillRect(canvas, px + cw * 0.59, py + ch * 0.67, cw * 0.08, ch * 0.2, [139, 90, 43]);
        }
        strokeRect(canvas, px, py, cw, ch, gridLine);
      }
    }
    if (this.desc[agentRow][agentCol] !== "H") {
      const cx = agentCol * cw + cw / 2;
      const cy = agentRow * ch + ch / 2;
      fillRect(canvas, cx - cw * 0.15, cy - ch * 0.05, cw * 0.3, ch * 0.35, [40, 140, 60]); // the elf
      fillDisc(canvas, cx, cy - ch * 0.18, Math.min(cw, ch) * 0.14, [240, 200, 170]);
      const facing = this.lastAction ?? DOWN;
      const [dx, dy] = [
        [-1, 0],
        [0, 1],
        [1, 0],
        [0, -1],
      ][facing];
      fillDisc(
        canvas,
        cx + dx * cw * 0.07,
        cy - ch * 0.18 + dy * ch * 0.07,
        Math.min(cw, ch) * 0.04,
        [20, 20, 20],
      );
    }
    return canvas.toFrame();
  }
}
