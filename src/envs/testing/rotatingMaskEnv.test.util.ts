// Test helper: an env whose action mask changes every step and which records every action it
// receives with the mask in force, for the action-mask tests of rollouts and evaluation.
import { Rng } from "../../random/rng.js";
import type { Env, RenderFrame, ResetOptions, ResetResult, StepResult } from "../env.js";
import { Box } from "../spaces/box.js";
import { Discrete } from "../spaces/discrete.js";

/** Episode length of {@link RotatingMaskEnv}. */
export const ROTATING_EPISODE = 8;

/**
 * The mask changes every step: the env draws a state k in {0..3} (observed one-hot), allows only
 * actions k and (k + 1) mod 4 and pays 1 for (k + 1) mod 4; episodes last {@link ROTATING_EPISODE}
 * steps. It does not refuse masked actions: it records every action it receives with the mask it
 * reported, so a test can check that none was masked (a mask applied one step late, or a reset's
 * mask lost at autoreset, shows up as a recorded violation rather than an exception). A policy that
 * samples uniformly among the allowed actions earns ROTATING_EPISODE / 2 per episode; one that has
 * learned the state-dependent choice earns ROTATING_EPISODE.
 */
export class RotatingMaskEnv implements Env<Float32Array, number> {
  readonly observationSpace = new Box(0, 1, [4]);
  readonly actionSpace = new Discrete(4);
  readonly metadata = { renderModes: [], renderFps: 1 } as unknown as Env["metadata"];
  /** Every action received, with the mask that was in force. */
  readonly received: { action: number; mask: Uint8Array }[] = [];
  private rng = new Rng(0);
  private state = 0;
  private t = 0;

  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    if (opts?.seed !== undefined) this.rng = new Rng(opts.seed);
    this.t = 0;
    return this.observe();
  }
  step(action: number): StepResult<Float32Array> {
    this.received.push({ action, mask: RotatingMaskEnv.maskOf(this.state) });
    const reward = action === (this.state + 1) % 4 ? 1 : 0;
    this.t++;
    return { ...this.observe(), reward, terminated: this.t === ROTATING_EPISODE, truncated: false };
  }
  /** 1 for actions k and (k + 1) mod 4 in state k. */
  static maskOf(state: number): Uint8Array {
    const mask = new Uint8Array(4);
    mask[state] = 1;
    mask[(state + 1) % 4] = 1;
    return mask;
  }
  private observe(): ResetResult<Float32Array> {
    this.state = this.rng.integer(4);
    const observation = new Float32Array(4);
    observation[this.state] = 1;
    return { observation, info: { actionMask: RotatingMaskEnv.maskOf(this.state) } };
  }
  render(): RenderFrame | string {
    return { data: new Uint8Array(3), width: 1, height: 1 };
  }
  close(): void {}
}
