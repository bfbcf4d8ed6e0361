import type { VectorStepResult } from "../../envs/vector/vectorEnv.js";

/**
 * The observation each env's transition led to (`[numEnvs * obsSize]`, a copy): the final
 * observation where the episode ended (same-step autoreset reports it in `finalObservations`;
 * otherwise `observations` still holds it, before the caller resets those envs), the next
 * observation elsewhere. Read it before resetting any env.
 */
export function transitionNextObservations(
  result: Pick<VectorStepResult, "observations" | "finalObservations">,
  dones: Uint8Array,
  obsSize: number,
): Float32Array {
  const n = dones.length;
  const next = (result.finalObservations ?? result.observations).slice(0, n * obsSize);
  if (result.finalObservations !== null) {
    for (let i = 0; i < n; i++) {
      if (dones[i] === 0) next.set(result.observations.subarray(i * obsSize, (i + 1) * obsSize), i * obsSize);
    }
  }
  return next;
}
