/**
 * Draw an env's RGB frame on a 2D canvas context (RGB → RGBA ImageData). Stands in for the library's
 * canvas helper until "proximal" exports one.
 */
export interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

export function drawRgbFrame(
  frame: RgbFrame,
  context: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D,
): void {
  const pixels = new Uint8ClampedArray(frame.width * frame.height * 4);
  for (let source = 0, target = 0; source < frame.data.length; source += 3, target += 4) {
    pixels[target] = frame.data[source];
    pixels[target + 1] = frame.data[source + 1];
    pixels[target + 2] = frame.data[source + 2];
    pixels[target + 3] = 255;
  }
  context.putImageData(new ImageData(pixels, frame.width, frame.height), 0, 0);
}
