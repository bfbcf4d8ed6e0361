import type { EnvMetadata, RenderFrame } from "../env.js";
import { RgbCanvas } from "../render/rgbCanvas.js";
import { booleanOption, checkToyTextOptions, type ToyTextOptions } from "./toyTextOptions.js";
import { fillDisc, fillRect, strokeRect } from "./toyTextRender.js";
import { type Transition, TransitionTableEnv } from "./transitionTableEnv.js";

const rows = 4;
const cols = 12;
const startState = 3 * cols; // (3, 0)
const goalState = rows * cols - 1; // (3, 11)
// Actions 0 up, 1 right, 2 down, 3 left, as (row, col) steps.
const moves: readonly (readonly [number, number])[] = [
  [-1, 0],
  [0, 1],
  [1, 0],
  [0, -1],
];

function isCliff(row: number, col: number): boolean {
  return row === rows - 1 && col >= 1 && col <= cols - 2;
}

/** Options of CliffWalking-v1 (Gymnasium 1.4.0's keyword arguments, camelCased). */
export interface CliffWalkingOptions extends ToyTextOptions {
  /**
   * Each action moves in the intended or either perpendicular direction with probability 1/3 each.
   * @defaultValue false (true for CliffWalkingSlippery-v1)
   */
  isSlippery?: boolean;
}

/**
 * CliffWalking-v1: cross a 4x12 grid from the bottom-left start to the bottom-right goal along a
 * cliff (Sutton & Barto 2018, Example 6.6). Gymnasium 1.4.0's dynamics (`cliffwalking.py`): state
 * `row * 12 + col`; actions 0 up, 1 right, 2 down, 3 left; -1 per step; stepping onto the cliff
 * costs -100 and sends the agent back to the start without ending the episode; reaching the goal
 * terminates. Slippery: the outcomes of action `a` are directions `(a - 1) mod 4`, `a`,
 * `(a + 1) mod 4`, each with probability 1/3, in that order. No time limit (as Gymnasium registers
 * it). `P` is Gymnasium's `env.unwrapped.P`.
 *
 * The RGB frame draws Gymnasium's layout (60-pixel cells, 720x240) with flat colours.
 *
 * @example
 * const env = make("CliffWalking-v1");
 * env.reset({ seed: 0 });  // { observation: 36, info: { prob: 1 } }
 * env.step(1);             // onto the cliff: { observation: 36, reward: -100, terminated: false, ... }
 */
export class CliffWalkingEnv extends TransitionTableEnv {
  readonly metadata: EnvMetadata = { renderModes: ["ansi", "rgb_array"], renderFps: 4 };
  readonly isSlippery: boolean;

  constructor(options: CliffWalkingOptions = {}) {
    checkToyTextOptions("CliffWalking-v1", options, ["isSlippery"]);
    const isSlippery = booleanOption("CliffWalking-v1", "isSlippery", options.isSlippery, false);
    const P: Transition[][][] = [];
    for (let s = 0; s < rows * cols; s++) {
      const row = Math.floor(s / cols);
      const col = s % cols;
      P.push(
        [0, 1, 2, 3].map((a) => {
          const directions = isSlippery ? [(a + 3) % 4, a, (a + 1) % 4] : [a];
          return directions.map((d): Transition => {
            const probability = 1 / directions.length;
            const r = Math.min(Math.max(row + moves[d][0], 0), rows - 1);
            const c = Math.min(Math.max(col + moves[d][1], 0), cols - 1);
            if (isCliff(r, c)) return [probability, startState, -100, false];
            const next = r * cols + c;
            return [probability, next, -1, next === goalState];
          });
        }),
      );
    }
    const initial = new Float64Array(rows * cols);
    initial[startState] = 1;
    super(P, initial, 4, options.renderMode);
    this.isSlippery = isSlippery;
  }

  protected get defaultName(): string {
    return this.isSlippery ? "CliffWalkingSlippery-v1" : "CliffWalking-v1";
  }

  protected renderText(): string {
    let out = "";
    for (let s = 0; s < rows * cols; s++) {
      const row = Math.floor(s / cols);
      const col = s % cols;
      let cell = this.s === s ? " x " : s === goalState ? " T " : isCliff(row, col) ? " C " : " o ";
      if (col === 0) cell = cell.trimStart();
      if (col === cols - 1) cell = `${cell.trimEnd()}\n`;
      out += cell;
    }
    return `${out}\n`;
  }

  protected renderRgb(): RenderFrame {
    const size = 60;
    const canvas = new RgbCanvas(cols * size, rows * size);
    const mountain = [
      [122, 163, 92],
      [108, 148, 80],
    ] as const;
    for (let s = 0; s < rows * cols; s++) {
      const row = Math.floor(s / cols);
      const col = s % cols;
      const x = col * size;
      const y = row * size;
      const checker = (row % 2) ^ (col % 2);
      fillRect(canvas, x, y, size, size, isCliff(row, col) ? [70, 70, 80] : mountain[checker]);
      if (row < rows - 1 && isCliff(row + 1, col)) fillRect(canvas, x, y + size - 8, size, 8, [150, 120, 90]);
      if (s === startState) fillRect(canvas, x + 18, y + 30, 24, 8, [139, 90, 43]); // the stool
      if (s === goalState) fillDisc(canvas, x + size / 2, y + size / 2, 16, [196, 140, 70]); // the cookie
      strokeRect(canvas, x, y, size, size, [90, 120, 70]);
    }
    const x = (this.s % cols) * size;
    const y = Math.floor(this.s / cols) * size - 0.1 * size; // the elf stands a little high, as Gymnasium's
    fillRect(canvas, x + 21, y + 26, 18, 24, [40, 140, 60]);
    fillDisc(canvas, x + 30, y + 20, 8, [240, 200, 170]);
    return canvas.toFrame();
  }
}
