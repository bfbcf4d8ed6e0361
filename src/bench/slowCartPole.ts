/**
 * `CartPoleSlow-v1` for `proximal bench distributed`: CartPole-v1 whose every step first waits 1 ms
 * (a blocking wait, as a simulator call would), standing for a slow simulator, so that actors, not
 * the machine's cores, bound the rate. Importing this module registers the id; the registration
 * carries this module's URL, so distributed actors import it too (`RunSpec.envModule`).
 */
import { CartPoleEnv } from "../envs/classic/cartPole.js";
import type { Env, StepResult } from "../envs/env.js";
import { register, registry } from "../envs/registry.js";
import { Wrapper } from "../envs/wrappers/wrapper.js";

export const SLOW_CART_POLE = "CartPoleSlow-v1";
/** Wait per step, in milliseconds. */
export const STEP_DELAY_MS = 1;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Waits `delayMs` before every step (Atomics.wait: the thread sleeps, it does not spin). */
export class SlowStep<Obs, Act> extends Wrapper<Obs, Act> {
  constructor(
    env: Env<Obs, Act>,
    private readonly delayMs: number,
  ) {
    super(env);
  }

  override step(action: Act): StepResult<Obs> {
    Atomics.wait(sleeper, 0, 0, this.delayMs);
    return this.env.step(action);
  }
}

if (!registry.has(SLOW_CART_POLE)) {
  register({
    id: SLOW_CART_POLE,
    entryPoint: (kw) => new SlowStep(new CartPoleEnv(kw), STEP_DELAY_MS),
    maxEpisodeSteps: 500,
    rewardThreshold: 475,
    moduleUrl: import.meta.url,
  });
}
