import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Env } from "../envs/env.js";
import { make } from "../envs/make.js";
import { register } from "../envs/registry.js";
import { ROTATING_EPISODE, RotatingMaskEnv } from "../envs/testing/rotatingMaskEnv.test.util.js";
import { A2C } from "../rl/a2c.js";
import { enjoyCommand } from "./enjoy.js";
import { evalCommand } from "./evaluate.js";

/** {@link RotatingMaskEnv} with a text renderer, which `enjoy` needs. */
class TextRotatingMaskEnv extends RotatingMaskEnv {
  override readonly metadata = { renderModes: ["ansi"], renderFps: 1 } as unknown as Env["metadata"];
  override render(): string {
    return "frame";
  }
}

/**
 * `proximal eval` and `enjoy` on a registered env that reports `info.actionMask` (in process: a
 * subprocess could not register it), with an untrained model whose greedy action is often masked.
 */
describe("proximal eval and enjoy with action masks", () => {
  test("both pass info.actionMask to predict: a greedy policy never sends a masked action", async () => {
    const made: TextRotatingMaskEnv[] = [];
    register({
      id: "TextRotatingMask-v0",
      entryPoint: () => {
        const env = new TextRotatingMaskEnv();
        made.push(env);
        return env;
      },
    });
    const dir = await mkdtemp(join(tmpdir(), "proximal-enjoy-"));
    const write = process.stdout.write;
    try {
      // an untrained A2C (seed 0) whose greedy action is masked out in some states (checked below)
      const model = new A2C(make("TextRotatingMask-v0", { numEnvs: 1 }), { seed: 0 });
      const maskedStates = [0, 1, 2, 3].filter((k) => {
        const observation = new Float32Array(4);
        observation[k] = 1;
        const [action] = model.predict(observation, { deterministic: true });
        return RotatingMaskEnv.maskOf(k)[action] !== 1;
      });
      assert.ok(maskedStates.length > 0, "precondition: the unmasked greedy action is legal in every state");
      await model.save(dir);
      made.length = 0;

      let output = "";
      process.stdout.write = ((chunk: string | Uint8Array) => {
        output += String(chunk);
        return true;
      }) as typeof process.stdout.write;
      for (const command of ["enjoy", "eval"] as const) {
        output = "";
        made.length = 0;
        const status =
          command === "enjoy"
            ? await enjoyCommand(dir, { episodes: "2", fps: "0" })
            : await evalCommand(dir, { episodes: "2", json: true });
        assert.equal(status, 0, command);
        assert.match(output, command === "enjoy" ? /episode 2: return/ : /"episodes":2/);
        const received = made.flatMap((env) => env.received);
        assert.equal(received.length, 2 * ROTATING_EPISODE, command);
        assert.deepEqual(
          received.filter(({ action, mask }) => mask[action] !== 1),
          [],
          command,
        );
      }
      process.stdout.write = write;
    } finally {
      process.stdout.write = write;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
