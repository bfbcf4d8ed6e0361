import type { Rgb, RgbCanvas } from "../render/rgbCanvas.js";

const colorCodes = { gray: 30, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37 };

/** Wrap `text` in terminal colour codes, as Gymnasium's `utils.colorize` (highlight = background colour). */
export function colorize(
  text: string,
  color: keyof typeof colorCodes,
  options: { bold?: boolean; highlight?: boolean } = {},
): string {
  const codes = [String(colorCodes[color] + (options.highlight ? 10 : 0))];
  if (options.bold) codes.push("1");
  return `\x1b[${codes.join(";")}m${text}\x1b[0m`;
}

/**
 * Fill the rectangle whose top-left corner is (x, y) in screen coordinates (y down, as pygame's
 * `blit` positions), `width` by `height` pixels, on a y-up {@link RgbCanvas}.
 */
export function fillRect(
  canvas: RgbCanvas,
  x: number,
  y: number,
  width: number,
  height: number,
  color: Rgb,
): void {
  const bottom = canvas.height - (y + height);
  const top = canvas.height - y;
  canvas.fillPolygon(
    [
      [x, bottom],
      [x, top],
      [x + width, top],
      [x + width, bottom],
    ],
    color,
  );
}

/** A one-pixel rectangle outline, top-left at (x, y) in screen coordinates (pygame's `draw.rect(..., 1)`). */
export function strokeRect(
  canvas: RgbCanvas,
  x: number,
  y: number,
  width: number,
  height: number,
  color: Rgb,
): void {
  fillRect(canvas, x, y, width, 1, color);
  fillRect(canvas, x, y + height - 1, width, 1, color);
  fillRect(canvas, x, y, 1, height, color);
  fillRect(canvas, x + width - 1, y, 1, height, color);
}

/** A filled circle centred at (cx, cy) in screen coordinates (y down). */
export function fillDisc(canvas: RgbCanvas, cx: number, cy: number, radius: number, color: Rgb): void {
  canvas.fillCircle(cx, canvas.height - cy, radius, color);
}

/** Mix `color` over `base` with opacity `alpha` (pygame's `set_alpha` blit). */
export function blend(base: Rgb, color: Rgb, alpha: number): Rgb {
  return [0, 1, 2].map((k) => Math.round(base[k] * (1 - alpha) + color[k] * alpha)) as unknown as Rgb;
}
