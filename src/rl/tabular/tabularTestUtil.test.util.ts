import type { Env } from "../../envs/env.js";
import { make } from "../../envs/make.js";
import type { TabularAlgorithm } from "./tabularAlgorithm.js";

/** Follow the model's greedy policy from a seeded reset for at most `maxSteps` steps. */
export function greedyRollout(
  model: TabularAlgorithm,
  env: Env = make("CliffWalking-v1"),
  maxSteps = 200,
): { return: number; discountedReturn: number; length: number; reachedTerminal: boolean } {
  let { observation } = env.reset({ seed: 0 }) as { observation: number };
  let total = 0;
  let discounted = 0;
  for (let t = 0; t < maxSteps; t++) {
    const action = model.predict(new Float32Array([observation]), { deterministic: true })[0];
    const step = env.step(action);
    total += step.reward;
    discounted += model.gamma ** t * step.reward;
    observation = step.observation as number;
    if (step.terminated)
      return { return: total, discountedReturn: discounted, length: t + 1, reachedTerminal: true };
    if (step.truncated) break;
  }
  return { return: total, discountedReturn: discounted, length: maxSteps, reachedTerminal: false };
}
