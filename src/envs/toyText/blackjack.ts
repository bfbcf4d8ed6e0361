import { ProximalError } from "../../errors.js";
import { Rng, type RngState } from "../../random/rng.js";
import type {
  Env,
  EnvMetadata,
  EnvSpec,
  RenderFrame,
  RenderMode,
  ResetOptions,
  ResetResult,
  StepResult,
} from "../env.js";
import { RgbCanvas } from "../render/rgbCanvas.js";
import { Discrete } from "../spaces/discrete.js";
import { formatValue } from "../spaces/space.js";
import { Tuple } from "../spaces/tuple.js";
import { checkCanStep, checkDiscreteAction } from "../validateAction.js";
import { booleanOption, checkToyTextOptions, type ToyTextOptions } from "./toyTextOptions.js";
import { fillRect, strokeRect } from "./toyTextRender.js";

/** An infinite deck: ace (1), 2-9, and four cards worth 10 (ten, jack, queen, king). */
const deck = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10];

/** Does the hand hold an ace that can count as 11 without busting? */
export function usableAce(hand: readonly number[]): boolean {
  return hand.includes(1) && sum(hand) + 10 <= 21;
}

/** The hand's total, counting a usable ace as 11. */
export function handValue(hand: readonly number[]): number {
  return usableAce(hand) ? sum(hand) + 10 : sum(hand);
}

/** An ace and a ten-card as the first two cards. */
export function isNatural(hand: readonly number[]): boolean {
  return hand.length === 2 && hand.includes(1) && hand.includes(10);
}

function sum(hand: readonly number[]): number {
  return hand.reduce((a, b) => a + b, 0);
}

/** Score at the showdown: the hand's value, or 0 when bust. */
function score(hand: readonly number[]): number {
  const value = handValue(hand);
  return value > 21 ? 0 : value;
}

/** Blackjack's observation: `[playerSum, dealerShowing, usableAce]` (sum 4-31, card 1-10, 0/1). */
export type BlackjackObservation = [playerSum: number, dealerCard: number, usableAce: number];

/** The cards of a Blackjack game, for `reset({ options: { state } })`; card values 1 (ace) to 10. */
export interface BlackjackHands {
  /** The player's cards. */
  player: number[];
  /** The dealer's cards; the first is the one showing. */
  dealer: number[];
}

/** Options of Blackjack-v1 (Gymnasium 1.4.0's keyword arguments). */
export interface BlackjackOptions extends ToyTextOptions {
  /**
   * Pay 1.5 instead of 1 for winning with a natural (ace + ten-card). Ignored when `sab` is true.
   * @defaultValue false
   */
  natural?: boolean;
  /**
   * Sutton & Barto's rules (2018, Example 5.1): a player's natural wins (+1) unless the dealer also
   * has one (draw); takes precedence over `natural`.
   * @defaultValue true for Blackjack-v1 as Gymnasium registers it (false when constructed directly, as Gymnasium's class)
   */
  sab?: boolean;
}

/** Checkpoint of a {@link BlackjackEnv}, from `getState()`. */
export interface BlackjackState extends BlackjackHands {
  dealerSuit: number;
  dealerFace: number;
  rng: RngState;
  seeded: boolean;
  started: boolean;
  episodeOver: boolean;
}

/**
 * Blackjack-v1 (Sutton & Barto 2018, Example 5.1), Gymnasium 1.4.0's rules (`blackjack.py`): an
 * infinite deck; the player hits (1) or sticks (0); a bust loses (-1) at once; on a stick the dealer
 * draws until their hand is worth 17 or more (standing on every 17, soft ones too) and the closer
 * hand to 21 wins (+1), loses (-1) or draws (0); `natural` and `sab` change what a natural pays.
 * Observation: `[playerSum, dealerShowing, usableAce]` in `Tuple(Discrete(32), Discrete(11),
 * Discrete(2))`. No time limit. Cards come from proximal's {@link Rng}, so games differ from NumPy's.
 *
 * `reset({ options: { state: { player, dealer } } })` deals the given hands instead (e.g. to test a
 * rule). The RGB frame draws Gymnasium's 600x500 layout (dealer's card and hidden card on top, the
 * player below) with drawn cards; `"ansi"` mode (not in Gymnasium) prints both hands.
 *
 * @example
 * const env = make("Blackjack-v1");
 * env.reset({ seed: 0 });  // { observation: [15, 10, 0], info: {} } (for example)
 * env.step(0);             // stick: { reward: -1 | 0 | 1, terminated: true, ... }
 */
export class BlackjackEnv implements Env<BlackjackObservation, number> {
  readonly observationSpace = new Tuple([new Discrete(32), new Discrete(11), new Discrete(2)]);
  readonly actionSpace = new Discrete(2);
  readonly metadata: EnvMetadata = { renderModes: ["ansi", "rgb_array"], renderFps: 4 };
  spec?: EnvSpec;
  readonly renderMode?: RenderMode;
  readonly natural: boolean;
  readonly sab: boolean;
  private player: number[] = [];
  private dealer: number[] = [];
  private dealerSuit = 0;
  private dealerFace = 0;
  private readonly rng = new Rng(0);
  private seeded = false;
  private started = false;
  private episodeOver = false;

  constructor(options: BlackjackOptions = {}) {
    checkToyTextOptions("Blackjack-v1", options, ["natural", "sab"]);
    this.natural = booleanOption("Blackjack-v1", "natural", options.natural, false);
    this.sab = booleanOption("Blackjack-v1", "sab", options.sab, false);
    this.renderMode = options.renderMode;
  }

  get name(): string {
    return this.spec?.id ?? "Blackjack-v1";
  }

  /** This env (`env.unwrapped` on a bare env, as on a wrapped one). */
  get unwrapped(): this {
    return this;
  }

  /** Copies of both hands. */
  get hands(): BlackjackHands {
    return { player: this.player.slice(), dealer: this.dealer.slice() };
  }

  reset(opts: ResetOptions = {}): ResetResult<BlackjackObservation> {
    if (opts.seed !== undefined) {
      this.rng.seed(opts.seed);
      this.seeded = true;
    } else if (!this.seeded) {
      this.rng.seed(0);
      this.seeded = true;
    }
    const given = opts.options?.state;
    if (given !== undefined) {
      const hands = this.checkHands(given);
      this.dealer = hands.dealer;
      this.player = hands.player;
    } else {
      // Gymnasium deals the dealer's two cards first, then the player's.
      this.dealer = [this.drawCard(), this.drawCard()];
      this.player = [this.drawCard(), this.drawCard()];
    }
    // The suit and face of the showing card only matter to the picture (Gymnasium draws them too).
    this.dealerSuit = this.rng.integer(4);
    this.dealerFace = this.dealer[0] === 10 ? this.rng.integer(3) : 0;
    this.started = true;
    this.episodeOver = false;
    return { observation: this.observation(), info: {} };
  }

  step(action: number): StepResult<BlackjackObservation> {
    checkCanStep(this.name, this.started, this.episodeOver);
    const hit = checkDiscreteAction(this.name, this.actionSpace, action) === 1;
    let reward: number;
    let terminated: boolean;
    if (hit) {
      this.player.push(this.drawCard());
      terminated = handValue(this.player) > 21;
      reward = terminated ? -1 : 0;
    } else {
      terminated = true;
      while (handValue(this.dealer) < 17) this.dealer.push(this.drawCard());
      reward = Math.sign(score(this.player) - score(this.dealer));
      if (this.sab && isNatural(this.player) && !isNatural(this.dealer)) reward = 1;
      else if (!this.sab && this.natural && isNatural(this.player) && reward === 1) reward = 1.5;
    }
    this.episodeOver = terminated;
    return { observation: this.observation(), reward, terminated, truncated: false, info: {} };
  }

  render(): RenderFrame | string {
    if (!this.started) {
      throw new ProximalError("RESET_NEEDED", `${this.name}: render() needs a state; call reset() first.`);
    }
    return this.renderMode === "ansi" ? this.renderText() : this.renderRgb();
  }

  close(): void {}

  getState(): BlackjackState {
    return {
      player: this.player.slice(),
      dealer: this.dealer.slice(),
      dealerSuit: this.dealerSuit,
      dealerFace: this.dealerFace,
      rng: this.rng.getState(),
      seeded: this.seeded,
      started: this.started,
      episodeOver: this.episodeOver,
    };
  }

  setState(checkpoint: unknown): void {
    const c = checkpoint as BlackjackState;
    if (!Array.isArray(c?.player) || !Array.isArray(c.dealer)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: setState() needs an object from getState().`,
      );
    }
    this.player = c.player.slice();
    this.dealer = c.dealer.slice();
    this.dealerSuit = c.dealerSuit;
    this.dealerFace = c.dealerFace;
    this.rng.setState(c.rng);
    this.seeded = c.seeded;
    this.started = c.started;
    this.episodeOver = c.episodeOver;
  }

  private drawCard(): number {
    return deck[this.rng.integer(deck.length)];
  }

  private observation(): BlackjackObservation {
    return [handValue(this.player), this.dealer[0], usableAce(this.player) ? 1 : 0];
  }

  private checkHands(given: unknown): BlackjackHands {
    const g = given as Partial<BlackjackHands>;
    const isHand = (hand: unknown): hand is number[] =>
      Array.isArray(hand) &&
      hand.length >= 1 &&
      hand.every((card) => Number.isInteger(card) && card >= 1 && card <= 10) &&
      handValue(hand) <= 21;
    if (typeof given !== "object" || given === null || !isHand(g.player) || !isHand(g.dealer)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${this.name}: reset option "state" must be { player: number[], dealer: number[] }: hands of at least one card each, card values 1 (ace) to 10, neither worth more than 21; got ${formatValue(given)}.`,
      );
    }
    return { player: g.player.slice(), dealer: g.dealer.slice() };
  }

  private renderText(): string {
    const face = (card: number): string => (card === 1 ? "A" : String(card));
    const player = this.player.map(face).join(" ");
    const ace = usableAce(this.player) ? ", usable ace" : "";
    const dealer =
      this.episodeOver && this.dealer.length > 0
        ? this.dealer.map(face).join(" ")
        : `${face(this.dealer[0])} ??`;
    return `Dealer: ${dealer}\nPlayer: ${player} (sum ${handValue(this.player)}${ace})\n`;
  }

  private renderRgb(): RenderFrame {
    // Gymnasium's geometry: 600x500, cards a third of the height, spacing of height / 20.
    const width = 600;
    const height = 500;
    const cardHeight = Math.floor(height / 3);
    const cardWidth = Math.floor((cardHeight * 142) / 197);
    const spacing = Math.floor(height / 20);
    const canvas = new RgbCanvas(width, height, [7, 99, 36]);
    const white = [255, 255, 255] as const;
    const textHeight = Math.floor(height / 15);
    // "Dealer: N" in Gymnasium; here the showing card's value in block digits.
    drawNumber(canvas, this.dealer[0], spacing, spacing, textHeight, white);
    const cardTop = spacing + textHeight + spacing;
    const red = this.dealerSuit === 1 || this.dealerSuit === 2; // diamonds, hearts
    drawCard(
      canvas,
      this.dealer[0],
      width / 2 - cardWidth - spacing / 2,
      cardTop,
      cardWidth,
      cardHeight,
      red,
    );
    const hiddenX = width / 2 + spacing / 2;
    fillRect(canvas, hiddenX, cardTop, cardWidth, cardHeight, [150, 30, 40]); // the hidden card's back
    strokeRect(canvas, hiddenX, cardTop, cardWidth, cardHeight, white);
    strokeRect(canvas, hiddenX + 6, cardTop + 6, cardWidth - 12, cardHeight - 12, white);
    // "Player" and the sum, large, in Gymnasium; here the sum in block digits, then a usable-ace mark.
    const playerTop = cardTop + cardHeight + spacing * 1.5;
    drawNumber(
      canvas,
      handValue(this.player),
      width / 2 - textHeight * 1.5,
      playerTop,
      textHeight * 2,
      white,
    );
    if (usableAce(this.player)) {
      const y = playerTop + textHeight * 2 + spacing;
      fillRect(canvas, width / 2 - 40, y, 80, spacing, [250, 230, 120]);
    }
    return canvas.toFrame();
  }
}

/** 3x5 block digits, rows top to bottom. */
const digitGlyphs = [
  "111101101101111",
  "010110010010111",
  "111001111100111",
  "111001111001111",
  "101101111001001",
  "111100111001111",
  "111100111101111",
  "111001001001001",
  "111101111101111",
  "111101111001111",
];

/** Draw a non-negative integer in block digits, top-left at (x, y), `size` pixels tall. */
function drawNumber(
  canvas: RgbCanvas,
  value: number,
  x: number,
  y: number,
  size: number,
  color: readonly [number, number, number],
): void {
  const pixel = size / 5;
  String(value)
    .split("")
    .forEach((digit, i) => {
      const glyph = digitGlyphs[Number(digit)];
      for (let k = 0; k < 15; k++) {
        if (glyph[k] === "1") {
          fillRect(
            canvas,
            x + i * 4 * pixel + (k % 3) * pixel,
            y + Math.floor(k / 3) * pixel,
            pixel,
            pixel,
            color,
          );
        }
      }
    });
}

/** A face-up card: white with a border and its value in the corner and the middle. */
function drawCard(
  canvas: RgbCanvas,
  value: number,
  x: number,
  y: number,
  width: number,
  height: number,
  red: boolean,
): void {
  const ink = red ? ([200, 20, 30] as const) : ([20, 20, 20] as const);
  fillRect(canvas, x, y, width, height, [255, 255, 255]);
  strokeRect(canvas, x, y, width, height, [60, 60, 60]);
  drawNumber(canvas, value, x + 6, y + 6, 15, ink);
  drawNumber(canvas, value, x + width / 2 - (value >= 10 ? 18 : 9), y + height / 2 - 15, 30, ink);
}
