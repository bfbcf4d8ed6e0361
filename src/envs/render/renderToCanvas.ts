/**
 * Drawing an env's RGB frame on an HTML canvas, so a page never converts RGB to RGBA by hand.
 */
import { ProximalError } from "../../errors.js";
import type { Env, RenderFrame } from "../env.js";

/** The 2D drawing surface of a `<canvas>` or an `OffscreenCanvas` (what {@link renderToCanvas} draws on). */
export interface CanvasLike {
  width: number;
  height: number;
  /** The canvas's 2D context (null when it has another kind of context). */
  getContext(kind: "2d"): {
    /** Draw `image` with its top-left corner at (`dx`, `dy`). */
    putImageData(image: ImageData, dx: number, dy: number): void;
  } | null;
}

/**
 * A frame's RGB bytes (3 per pixel) as RGBA (4 per pixel, alpha 255), the layout `ImageData` wants.
 * @param out - Reused when it has the right length (`width * height * 4`), to avoid a new array per frame.
 */
export function rgbToRgba(
  frame: RenderFrame,
  out?: Uint8ClampedArray<ArrayBuffer>,
): Uint8ClampedArray<ArrayBuffer> {
  const pixels = frame.width * frame.height;
  if (frame.data.length !== pixels * 3) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `A ${frame.width}x${frame.height} RGB frame needs ${pixels * 3} bytes, got ${frame.data.length}.`,
    );
  }
  const rgba = out !== undefined && out.length === pixels * 4 ? out : new Uint8ClampedArray(pixels * 4);
  const rgb = frame.data;
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += 3, o += 4) {
    rgba[o] = rgb[i];
    rgba[o + 1] = rgb[i + 1];
    rgba[o + 2] = rgb[i + 2];
    rgba[o + 3] = 255;
  }
  return rgba;
}

/**
 * Render `env` (made with `renderMode: "rgb_array"`, the default) and draw the frame on `canvas`,
 * resizing the canvas to the frame. Returns the frame, e.g. to record it.
 *
 * @example
 * const env = make("CartPole-v1");
 * env.reset({ seed: 0 });
 * renderToCanvas(env, document.querySelector("canvas")!);
 * @throws ProximalError `INVALID_ARGUMENT` when the env renders text (`renderMode: "ansi"`) or the
 *   canvas has no 2D context.
 */
export function renderToCanvas(env: Pick<Env, "render">, canvas: CanvasLike): RenderFrame {
  const frame = env.render();
  if (typeof frame === "string") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      'renderToCanvas needs an RGB frame, but this env renders text. Make it with renderMode: "rgb_array".',
    );
  }
  if (canvas.width !== frame.width) canvas.width = frame.width;
  if (canvas.height !== frame.height) canvas.height = frame.height;
  const context = canvas.getContext("2d");
  if (context === null) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "renderToCanvas: the canvas has no 2D context (is a WebGL context already attached?).",
    );
  }
  context.putImageData(new ImageData(rgbToRgba(frame), frame.width, frame.height), 0, 0);
  return frame;
}
