import type { EnvMetadata, Info, RenderFrame } from "../env.js";
import { RgbCanvas } from "../render/rgbCanvas.js";
import {
  booleanOption,
  checkToyTextOptions,
  probabilityOption,
  type ToyTextOptions,
} from "./toyTextOptions.js";
import { blend, colorize, fillDisc, fillRect } from "./toyTextRender.js";
import { type Transition, TransitionTableEnv } from "./transitionTableEnv.js";

/** Gymnasium's Taxi map: `|` is a wall between two cells, `:` an opening. */
const map = [
  "+---------+",
  "|R: | : :G|",
  "| : | : : |",
  "| : : : : |",
  "| | : | : |",
  "|Y| : |B: |",
  "+---------+",
];
const maxRow = 4;
const maxCol = 4;
/** The four pick-up and drop-off locations R, G, Y, B as (row, col). */
const locations: readonly (readonly [number, number])[] = [
  [0, 0],
  [0, 4],
  [4, 0],
  [4, 3],
];
const locationColors = [
  [255, 0, 0],
  [0, 255, 0],
  [255, 255, 0],
  [0, 0, 255],
] as const;

/** Can the taxi move east from (row, col)? (No wall on its right.) */
function openEast(row: number, col: number): boolean {
  return map[1 + row][2 * col + 2] === ":";
}

/** Can the taxi move west from (row, col)? */
function openWest(row: number, col: number): boolean {
  return map[1 + row][2 * col] === ":";
}

function locationIndex(row: number, col: number): number {
  return locations.findIndex(([r, c]) => r === row && c === col);
}

/** Taxi's state number: `((taxiRow * 5 + taxiCol) * 5 + passengerLocation) * 4 + destination`. */
export function taxiEncode(
  taxiRow: number,
  taxiCol: number,
  passengerLocation: number,
  destination: number,
): number {
  return ((taxiRow * 5 + taxiCol) * 5 + passengerLocation) * 4 + destination;
}

/** The inverse of {@link taxiEncode}: `[taxiRow, taxiCol, passengerLocation, destination]`. */
export function taxiDecode(state: number): [number, number, number, number] {
  return [Math.floor(state / 100), Math.floor(state / 20) % 5, Math.floor(state / 4) % 5, state % 4];
}

/** Options of Taxi-v4 (Gymnasium 1.4.0's keyword arguments, camelCased). */
export interface TaxiOptions extends ToyTextOptions {
  /** Moves succeed with `rainyProbability`, else go to either side (Gymnasium's `is_rainy`). @defaultValue false */
  isRainy?: boolean;
  /**
   * In some episodes (probability `fickleProbability`) the passenger changes destination once, on
   * the first move after boarding (Gymnasium's `fickle_passenger`). @defaultValue false
   */
  ficklePassenger?: boolean;
  /** With `isRainy`, the probability that a move goes where intended. @defaultValue 0.8 */
  rainyProbability?: number;
  /** With `ficklePassenger`, the probability that an episode has a fickle passenger. @defaultValue 0.3 */
  fickleProbability?: number;
}

/**
 * Taxi-v4 (Dietterich 2000, "Hierarchical Reinforcement Learning with the MAXQ Value Function
 * Decomposition", §3.1): drive to the passenger, pick them up and drop them off at their
 * destination in a 5x5 grid with walls. Gymnasium 1.4.0's dynamics (`taxi.py`): 500 states
 * ({@link taxiEncode}; passenger location 4 means in the taxi); actions 0 south, 1 north, 2 east,
 * 3 west, 4 pickup, 5 dropoff; -1 per step, +20 for a delivery (terminal), -10 for an illegal
 * pickup or dropoff. `info.prob` as the other toy-text envs, and `info.action_mask` (Gymnasium's
 * name) with the same `Uint8Array` as `info.actionMask` (the name proximal's policies read, see
 * {@link ActionMasking}): 1 where an action changes something. Registered with a 200-step limit.
 *
 * The RGB frame draws Gymnasium's 550x350 layout (the map's characters as 50x50 cells) with flat
 * colours.
 *
 * @example
 * const env = make("Taxi-v4");
 * const { observation, info } = env.reset({ seed: 0 });
 * const [taxiRow, taxiCol, passenger, destination] = taxiDecode(observation);
 * info.actionMask; // Uint8Array(6), e.g. [1, 1, 0, 1, 0, 0]
 */
export class TaxiEnv extends TransitionTableEnv {
  readonly metadata: EnvMetadata = { renderModes: ["ansi", "rgb_array"], renderFps: 4 };
  readonly isRainy: boolean;
  readonly ficklePassenger: boolean;
  readonly fickleProbability: number;
  private fickleStep = false;

  constructor(options: TaxiOptions = {}) {
    const name = "Taxi-v4";
    checkToyTextOptions(name, options, [
      "isRainy",
      "ficklePassenger",
      "rainyProbability",
      "fickleProbability",
    ]);
    const isRainy = booleanOption(name, "isRainy", options.isRainy, false);
    const ficklePassenger = booleanOption(name, "ficklePassenger", options.ficklePassenger, false);
    const rainyProbability = probabilityOption(name, "rainyProbability", options.rainyProbability, 0.8);
    const fickleProbability = probabilityOption(name, "fickleProbability", options.fickleProbability, 0.3);
    const P: Transition[][][] = Array.from({ length: 500 }, () => Array.from({ length: 6 }, () => []));
    const initial = new Float64Array(500);
    for (let row = 0; row <= maxRow; row++) {
      for (let col = 0; col <= maxCol; col++) {
        for (let passenger = 0; passenger < 5; passenger++) {
          for (let destination = 0; destination < 4; destination++) {
            const state = taxiEncode(row, col, passenger, destination);
            if (passenger < 4 && passenger !== destination) initial[state] += 1;
            for (let action = 0; action < 6; action++) {
              P[state][action] = isRainy
                ? rainyTransitions(row, col, passenger, destination, action, rainyProbability)
                : [dryTransition(row, col, passenger, destination, action)];
            }
          }
        }
      }
    }
    const total = initial.reduce((sum, v) => sum + v, 0);
    for (let s = 0; s < 500; s++) initial[s] /= total;
    super(P, initial, 6, options.renderMode);
    this.isRainy = isRainy;
    this.ficklePassenger = ficklePassenger;
    this.fickleProbability = fickleProbability;
  }

  protected get defaultName(): string {
    return "Taxi-v4";
  }

  /** Gymnasium's `action_mask(state)`: 1 where the action can change the state. */
  actionMask(state: number): Uint8Array {
    const mask = new Uint8Array(6);
    const [row, col, passenger, destination] = taxiDecode(state);
    if (row < maxRow) mask[0] = 1;
    if (row > 0) mask[1] = 1;
    if (col < maxCol && openEast(row, col)) mask[2] = 1;
    if (col > 0 && openWest(row, col)) mask[3] = 1;
    const here = locationIndex(row, col);
    if (passenger < 4 && here === passenger) mask[4] = 1;
    if (passenger === 4 && (here === destination || here >= 0)) mask[5] = 1;
    return mask;
  }

  protected override extraInfo(state: number): Info {
    const mask = this.actionMask(state);
    return { action_mask: mask, actionMask: mask };
  }

  protected override afterReset(): void {
    // Gymnasium draws this after the initial state, and only with a fickle passenger.
    this.fickleStep = this.ficklePassenger && this.rng.uniform() < this.fickleProbability;
  }

  protected override afterTransition(previous: number, next: number): number {
    const [oldRow, oldCol, oldPassenger, oldDestination] = taxiDecode(previous);
    const [row, col, passenger] = taxiDecode(next);
    if (this.ficklePassenger && this.fickleStep && oldPassenger === 4 && (row !== oldRow || col !== oldCol)) {
      this.fickleStep = false;
      const others = [0, 1, 2, 3].filter((d) => d !== oldDestination);
      return taxiEncode(row, col, passenger, others[this.rng.integer(others.length)]);
    }
    return next;
  }

  /** Taxi's extra checkpoint field: whether the fickle passenger may still change destination this episode. */
  protected override getExtraState(): unknown {
    return { fickleStep: this.fickleStep };
  }

  /** Restore what `getExtraState()` saved. */
  protected override setExtraState(extra: unknown): void {
    this.fickleStep = (extra as { fickleStep?: boolean } | undefined)?.fickleStep ?? false;
  }

  protected renderText(): string {
    const out = map.map((line) => line.split(""));
    const [row, col, passenger, destination] = taxiDecode(this.s);
    const taxiCell = (): [number, number] => [1 + row, 2 * col + 1];
    if (passenger < 4) {
      const [tr, tc] = taxiCell();
      out[tr][tc] = colorize(out[tr][tc], "yellow", { highlight: true });
      const [pr, pc] = locations[passenger];
      out[1 + pr][2 * pc + 1] = colorize(out[1 + pr][2 * pc + 1], "blue", { bold: true });
    } else {
      const [tr, tc] = taxiCell();
      const under = out[tr][tc] === " " ? "_" : out[tr][tc];
      out[tr][tc] = colorize(under, "green", { highlight: true });
    }
    const [dr, dc] = locations[destination];
    out[1 + dr][2 * dc + 1] = colorize(out[1 + dr][2 * dc + 1], "magenta");
    const picture = `${out.map((line) => line.join("")).join("\n")}\n`;
    const names = ["South", "North", "East", "West", "Pickup", "Dropoff"];
    return picture + (this.lastAction === null ? "\n" : `  (${names[this.lastAction]})\n`);
  }

  protected renderRgb(): RenderFrame {
    const cw = 50; // 550 / 11 map characters
    const ch = 50; // 350 / 7 map rows
    const road = [120, 120, 120] as const;
    const canvas = new RgbCanvas(550, 350, road);
    const wall = [60, 40, 30] as const;
    for (let y = 0; y < map.length; y++) {
      for (let x = 0; x < map[y].length; x++) {
        const c = map[y][x];
        if (c === "|") fillRect(canvas, x * cw + cw * 0.35, y * ch, cw * 0.3, ch, wall);
        else if (c === "-" || c === "+") fillRect(canvas, x * cw, y * ch + ch * 0.35, cw, ch * 0.3, wall);
      }
    }
    // The cell of grid position (row, col) is map character (row + 1, 2 col + 1) (Gymnasium's get_surf_loc).
    const cellOf = (row: number, col: number): [number, number] => [(col * 2 + 1) * cw, (row + 1) * ch];
    locations.forEach(([r, c], i) => {
      const [x, y] = cellOf(r, c);
      fillRect(canvas, x, y + 10, cw, ch - 10, blend(road, locationColors[i], 0.5));
    });
    const [row, col, passenger, destination] = taxiDecode(this.s);
    const [dx, dy] = cellOf(...(locations[destination] as [number, number]));
    fillRect(canvas, dx + 12, dy - ch / 2 + 10, 26, 30, [200, 170, 120]); // the hotel
    fillRect(canvas, dx + 21, dy - ch / 2 + 28, 8, 12, [90, 60, 40]);
    const [tx, ty] = cellOf(row, col);
    fillRect(canvas, tx + 6, ty + 14, cw - 12, ch - 24, passenger === 4 ? [240, 200, 0] : [250, 220, 60]); // the cab
    fillDisc(canvas, tx + 15, ty + ch - 10, 5, [30, 30, 30]);
    fillDisc(canvas, tx + cw - 15, ty + ch - 10, 5, [30, 30, 30]);
    if (passenger < 4) {
      const [px, py] = cellOf(...(locations[passenger] as [number, number]));
      fillDisc(canvas, px + cw / 2, py + 14, 7, [240, 200, 170]); // the passenger
      fillRect(canvas, px + cw / 2 - 7, py + 21, 14, 20, [60, 80, 200]);
    }
    return canvas.toFrame();
  }
}

/** Gymnasium's `_build_dry_transitions`: one certain outcome. */
function dryTransition(
  row: number,
  col: number,
  passenger: number,
  destination: number,
  action: number,
): Transition {
  let newRow = row;
  let newCol = col;
  let newPassenger = passenger;
  let reward = -1;
  let terminated = false;
  if (action === 0) newRow = Math.min(row + 1, maxRow);
  else if (action === 1) newRow = Math.max(row - 1, 0);
  if (action === 2 && openEast(row, col)) newCol = Math.min(col + 1, maxCol);
  else if (action === 3 && openWest(row, col)) newCol = Math.max(col - 1, 0);
  else if (action === 4) [newPassenger, reward] = pickup(row, col, passenger);
  else if (action === 5) [newPassenger, reward, terminated] = dropoff(row, col, passenger, destination);
  return [1.0, taxiEncode(newRow, newCol, newPassenger, destination), reward, terminated];
}

function pickup(row: number, col: number, passenger: number): [number, number] {
  if (passenger < 4 && locationIndex(row, col) === passenger) return [4, -1];
  return [passenger, -10];
}

function dropoff(
  row: number,
  col: number,
  passenger: number,
  destination: number,
): [number, number, boolean] {
  const here = locationIndex(row, col);
  if (passenger === 4 && here === destination) return [destination, 20, true];
  if (passenger === 4 && here >= 0) return [here, -1, false];
  return [passenger, -10, false];
}

/** Where a sideways slip from (row, col) by (dr, dc) lands: clamped to the grid, stopped by walls. */
function slip(row: number, col: number, dr: number, dc: number): [number, number] {
  const r = Math.max(0, Math.min(row + dr, maxRow));
  const c = Math.max(0, Math.min(col + dc, maxCol));
  if (dc === 1 && map[1 + r][2 * c] !== ":") return [row, col];
  if (dc === -1 && map[1 + r][2 * c + 2] !== ":") return [row, col];
  return [r, c];
}

/** Gymnasium's `_build_rainy_transitions`: intended, left and right outcomes of a move. */
function rainyTransitions(
  row: number,
  col: number,
  passenger: number,
  destination: number,
  action: number,
  rainyProbability: number,
): Transition[] {
  // Per move: the intended step, then the step to its left and to its right.
  const moves = [
    [
      [1, 0],
      [0, 1],
      [0, -1],
    ],
    [
      [-1, 0],
      [0, -1],
      [0, 1],
    ],
    [
      [0, 1],
      [-1, 0],
      [1, 0],
    ],
    [
      [0, -1],
      [1, 0],
      [-1, 0],
    ],
  ];
  let newRow = row;
  let newCol = col;
  let newPassenger = passenger;
  let reward = -1;
  let terminated = false;
  let left: [number, number] = [row, col];
  let right: [number, number] = [row, col];
  const canMove =
    (action === 0 && row < maxRow) ||
    (action === 1 && row > 0) ||
    (action === 2 && openEast(row, col)) ||
    (action === 3 && openWest(row, col));
  if (canMove) {
    const [dr, dc] = moves[action][0];
    newRow = Math.max(0, Math.min(row + dr, maxRow));
    newCol = Math.max(0, Math.min(col + dc, maxCol));
    left = slip(row, col, moves[action][1][0], moves[action][1][1]);
    right = slip(row, col, moves[action][2][0], moves[action][2][1]);
  } else if (action === 4) [newPassenger, reward] = pickup(row, col, passenger);
  else if (action === 5) [newPassenger, reward, terminated] = dropoff(row, col, passenger, destination);
  const intended = taxiEncode(newRow, newCol, newPassenger, destination);
  if (action > 3) return [[1.0, intended, reward, terminated]];
  const lateral = (1.0 - rainyProbability) / 2.0;
  return [
    [rainyProbability, intended, -1, terminated],
    [lateral, taxiEncode(left[0], left[1], newPassenger, destination), -1, terminated],
    [lateral, taxiEncode(right[0], right[1], newPassenger, destination), -1, terminated],
  ];
}
