import type { Env, Info } from "../../envs/env.js";
import { make } from "../../envs/make.js";
import { Discrete } from "../../envs/spaces/discrete.js";
import { flatSize, writeFlat } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import type { VectorEnv, VectorInfos } from "../../envs/vector/vectorEnv.js";
import { isVectorEnv } from "../../envs/vector/vectorEnv.js";
import { ProximalError } from "../../errors.js";
import { actionMaskFromInfo, actionMasksFromInfos } from "./actionMasks.js";

/**
 * Anything that maps observations to actions (every algorithm). `actionMask` (`[batch * n]`, 1 =
 * allowed) is passed when the env reports `info.actionMask` for a Discrete action space.
 */
export interface Predictor {
  /** Actions for observations `[batch * obsSize]`: the most likely ones when `deterministic`, else sampled. */
  predict(
    observations: Float32Array,
    options?: { deterministic?: boolean; actionMask?: Uint8Array },
  ): Int32Array | Float32Array;
}

/** Options of {@link evaluatePolicy}. */
export interface EvaluateOptions {
  /** Episodes to run. @defaultValue 10 (SB3) */
  episodes?: number;
  /** Take the distribution's mode instead of sampling. @defaultValue true (SB3) */
  deterministic?: boolean;
  /** Seed of the first reset (the env continues its own stream after that). @defaultValue 0 */
  seed?: number;
}

/** What {@link evaluatePolicy} measures. */
export interface EvaluationResult {
  meanReturn: number;
  stdReturn: number;
  meanLength: number;
  episodes: { return: number; length: number }[];
}

/**
 * Run a policy for whole episodes and report the mean and (population) std of the returns and the
 * mean length (SB3's `evaluate_policy`). Takes a single env, a vector env (episodes are spread over
 * its envs, as SB3 does, so the result does not favour short episodes), or a registered id. When a
 * Discrete env reports `info.actionMask` (e.g. through `ActionMasking`), the mask of the current
 * observation goes to `predict`, as in training rollouts.
 *
 * Changes:
 * - passes `actionMask` to `predict` (before, evaluation ignored masks and a deterministic policy
 *   could pick a masked action).
 */
export async function evaluatePolicy(
  model: Predictor,
  env: Env | VectorEnv | string,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const episodes = options.episodes ?? 10;
  const deterministic = options.deterministic ?? true;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(episodes) || episodes < 1) {
    throw new ProximalError("INVALID_OPTION", `episodes must be a positive integer, got ${episodes}.`);
  }
  const target = typeof env === "string" ? make(env) : env;
  model = withModelNormalization(model, target);
  const results = isVectorEnv(target)
    ? runVector(model, target, episodes, deterministic, seed)
    : runSingle(model, target as Env, episodes, deterministic, seed);
  if (typeof env === "string") (target as Env).close();
  const returns = results.map((e) => e.return);
  const meanReturn = returns.reduce((a, b) => a + b, 0) / returns.length;
  const variance = returns.reduce((a, b) => a + (b - meanReturn) ** 2, 0) / returns.length;
  return {
    meanReturn,
    stdReturn: Math.sqrt(variance),
    meanLength: results.reduce((a, e) => a + e.length, 0) / results.length,
    episodes: results,
  };
}

/** Something that may carry the observation normaliser it was trained behind (every algorithm). */
interface MaybeNormalized {
  observationNormalizer?: { normalizeObservations(input: Float32Array): Float32Array } | null;
}

/**
 * A model trained behind an observation normaliser sees normalised observations; on an env that does
 * not normalise itself, apply the model's saved statistics (frozen) before `predict`.
 */
function withModelNormalization(model: Predictor, env: Env | VectorEnv): Predictor {
  const normalizer = (model as Predictor & MaybeNormalized).observationNormalizer;
  if (!normalizer || chainNormalizes(env)) return model;
  return {
    predict: (observations, options) =>
      model.predict(normalizer.normalizeObservations(observations), options),
  };
}

function chainNormalizes(env: unknown): boolean {
  let current = env as { normalizeObservations?: unknown; env?: unknown } | undefined;
  while (current !== undefined && current !== null) {
    if (typeof current.normalizeObservations === "function") return true;
    current = current.env as typeof current | undefined;
  }
  return false;
}

function runSingle(model: Predictor, env: Env, episodes: number, deterministic: boolean, seed: number) {
  const size = flatSize(env.observationSpace);
  const flat = new Float32Array(size);
  const width = maskWidth(env.actionSpace);
  const maskOf = (info: Info) => (width === null ? null : actionMaskFromInfo(info, width));
  const results: { return: number; length: number }[] = [];
  for (let k = 0; k < episodes; k++) {
    const first = env.reset(k === 0 ? { seed } : {});
    let observation = first.observation;
    let actionMask = maskOf(first.info);
    let total = 0;
    let length = 0;
    for (;;) {
      writeFlat(env.observationSpace, observation, flat, 0);
      const action = model.predict(
        flat,
        actionMask === null ? { deterministic } : { deterministic, actionMask },
      );
      const step = env.step(toEnvAction(env, action));
      total += step.reward;
      length++;
      observation = step.observation;
      actionMask = maskOf(step.info);
      if (step.terminated || step.truncated) break;
    }
    results.push({ return: total, length });
  }
  return results;
}

function toEnvAction(env: Env, action: Int32Array | Float32Array): unknown {
  const shape = (env.actionSpace as { shape?: readonly number[] }).shape ?? [];
  return action instanceof Int32Array && shape.length === 0 ? action[0] : action;
}

function runVector(model: Predictor, env: VectorEnv, episodes: number, deterministic: boolean, seed: number) {
  const n = env.numEnvs;
  // SB3: env i runs (episodes + i) // n episodes, so every env contributes about equally
  const targets = Array.from({ length: n }, (_, i) => Math.floor((episodes + i) / n));
  const counts = new Array<number>(n).fill(0);
  const returns = new Float64Array(n);
  const lengths = new Int32Array(n);
  const results: { return: number; length: number }[] = [];
  const width = maskWidth(env.singleActionSpace);
  const masksOf = (infos: VectorInfos, base: Uint8Array | null) =>
    width === null ? null : actionMasksFromInfos(infos, n, width, base);
  const first = env.reset({ seed });
  let observations = first.observations;
  let actionMasks = masksOf(first.infos, null);
  const sameStep = env.autoresetMode === "same-step";
  const skipNext = new Uint8Array(n);
  while (counts.some((c, i) => c < targets[i])) {
    const actions = model.predict(
      observations.slice(),
      actionMasks === null ? { deterministic } : { deterministic, actionMask: actionMasks },
    );
    const step = env.step(actions);
    let anyDone = false;
    const done = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (skipNext[i]) {
        skipNext[i] = 0; // next-step mode: this step was env i's reset
        continue;
      }
      returns[i] += step.rewards[i];
      lengths[i]++;
      if (step.terminated[i] || step.truncated[i]) {
        done[i] = 1;
        anyDone = true;
        if (counts[i] < targets[i]) results.push({ return: returns[i], length: lengths[i] });
        counts[i]++;
        returns[i] = 0;
        lengths[i] = 0;
        if (!sameStep && env.autoresetMode === "next-step") skipNext[i] = 1;
      }
    }
    observations = step.observations;
    // next-step and same-step modes put each reset's info (and so its mask) in the step's infos
    actionMasks = masksOf(step.infos, null);
    if (anyDone && env.autoresetMode === "disabled") {
      const reset = env.reset({ options: { resetMask: done } });
      observations = reset.observations;
      actionMasks = masksOf(reset.infos, actionMasks); // only the reset envs report a new mask
    }
  }
  return results;
}

/** Masks apply to Discrete actions only (as in rollouts); the number of actions, or null. */
function maskWidth(space: Space): number | null {
  return space instanceof Discrete ? space.n : null;
}
