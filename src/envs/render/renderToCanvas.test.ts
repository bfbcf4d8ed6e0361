import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../../errors.js";
import { make } from "../make.js";
import { rgbToRgba } from "./renderToCanvas.js";

describe("rgbToRgba()", () => {
  test("copies each pixel's RGB and sets alpha to 255", () => {
    const rgba = rgbToRgba({ data: Uint8Array.of(1, 2, 3, 250, 251, 252), width: 2, height: 1 });
    assert.deepEqual(Array.from(rgba), [1, 2, 3, 255, 250, 251, 252, 255]);
  });

  test("a CartPole frame converts pixel for pixel, into a reused buffer", () => {
    const env = make("CartPole-v1");
    env.reset({ seed: 0 });
    const frame = env.render();
    assert.ok(typeof frame !== "string");
    const out = new Uint8ClampedArray(frame.width * frame.height * 4);
    const rgba = rgbToRgba(frame, out);
    assert.equal(rgba, out);
    for (const p of [0, 1234, frame.width * frame.height - 1]) {
      assert.deepEqual(Array.from(rgba.subarray(4 * p, 4 * p + 4)), [
        ...frame.data.subarray(3 * p, 3 * p + 3),
        255,
      ]);
    }
  });

  test("a frame whose data does not match its size is SHAPE_MISMATCH", () => {
    assert.throws(
      () => rgbToRgba({ data: new Uint8Array(5), width: 2, height: 1 }),
      (e: unknown) => e instanceof ProximalError && e.code === "SHAPE_MISMATCH",
    );
  });
});
