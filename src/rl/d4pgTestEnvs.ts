// Envs for D4PG's tests, registered by importing this module (the tests pass it as `actorEnvModule`
// so that the actor threads register them too). Not part of the library's API.
import { PendulumEnv } from "../envs/classic/pendulum.js";
import type { StepResult } from "../envs/env.js";
import { register, registry } from "../envs/registry.js";

/** Pendulum that throws on its `failAt`-th step (counted over its lifetime), to test actor crashes. */
export class FailingPendulumEnv extends PendulumEnv {
  private steps = 0;
  constructor(private readonly failAt: number) {
    super();
  }

  override step(action: number | Float32Array | number[]): StepResult<Float32Array> {
    this.steps++;
    if (this.steps === this.failAt) throw new Error(`FailingPendulum: boom at step ${this.steps}`);
    return super.step(action);
  }
}

/** Pendulum whose thread exits (`process.exit(7)` ends only a worker thread) on its 100th step. */
export class ExitingPendulumEnv extends PendulumEnv {
  private steps = 0;

  override step(action: number | Float32Array | number[]): StepResult<Float32Array> {
    if (++this.steps === 100) process.exit(7);
    return super.step(action);
  }
}

if (!registry.has("ExitingPendulum-v0")) {
  register({ id: "ExitingPendulum-v0", entryPoint: () => new ExitingPendulumEnv(), maxEpisodeSteps: 200 });
}
if (!registry.has("FailingPendulum-v0")) {
  register({ id: "FailingPendulum-v0", entryPoint: () => new FailingPendulumEnv(150), maxEpisodeSteps: 200 });
}
