/**
 * Demonstrations: whole episodes of (observation, action, reward, termination, truncation), laid
 * out as Minari stores an episode (Farama Minari, `EpisodeData`: https://minari.farama.org/api/minari_dataset/episode_data),
 * so a dataset moves to and from Python field by field (docs/demonstrations.md gives the mapping):
 *
 * - `observations`: every episode's observations *including its final one*, so an episode of `T`
 *   steps has `T + 1` rows (Minari's convention); episodes are concatenated in order.
 * - `actions`, `rewards`, `terminations`, `truncations`: one row per step, episodes concatenated.
 * - `episodeIds`, `episodeSteps`: each episode's id and its number of steps (Minari's `id` and
 *   `total_steps`), which give the boundaries.
 *
 * This module is browser-safe (no file access); `demonstrationFiles.ts` saves and loads datasets.
 */
import type { Env } from "../../envs/env.js";
import { flatSize, writeFlat } from "../../envs/spaces/flatten.js";
import type { Space } from "../../envs/spaces/space.js";
import { ProximalError } from "../../errors.js";
import type { Predictor } from "../common/evaluation.js";
import { toEnvAction, withModelNormalization } from "../common/evaluation.js";

/** A dataset of demonstration episodes (see the module comment for the layout). */
export interface Demonstrations {
  /** Registered id of the env the episodes come from, or null for an unregistered env. */
  envId: string | null;
  observationSpace: Space;
  actionSpace: Space;
  /** `[totalSteps + numEpisodes, obsSize]` flattened: each episode's T + 1 observations. */
  observations: Float32Array;
  /** `[totalSteps, actionWidth]`: Int32 for Discrete/MultiDiscrete actions, Float32 for Box. */
  actions: Int32Array | Float32Array;
  /** `[totalSteps]` */
  rewards: Float32Array;
  /** `[totalSteps]`, 1 where the step ended the episode in a terminal state of the MDP. */
  terminations: Uint8Array;
  /** `[totalSteps]`, 1 where the step cut the episode short (a time limit). */
  truncations: Uint8Array;
  /** `[numEpisodes]` Minari's episode `id`. */
  episodeIds: Int32Array;
  /** `[numEpisodes]` steps of each episode (Minari's `total_steps`). */
  episodeSteps: Int32Array;
  /** The seed each episode's reset was given, or null when it continued the env's stream. */
  seeds: (number | null)[];
  /** Free-form provenance: source model, deterministic, creation time. */
  metadata: Record<string, unknown>;
}

/** Options of {@link recordDemonstrations}. */
export interface RecordOptions {
  /** Episodes to record. */
  episodes: number;
  /** Seed of the first reset; later episodes continue the env's stream (as `evaluatePolicy`). @defaultValue 0 */
  seed?: number;
  /** Take the policy's most likely action instead of sampling. @defaultValue true (SB3 `evaluate_policy`) */
  deterministic?: boolean;
  /** Where the policy came from (a run or model directory), kept in the metadata. */
  sourceModel?: string | null;
}

/**
 * Run `model` on `env` for whole episodes and keep every step. Observations are stored as the env
 * gives them; a model trained behind an observation normaliser gets its saved statistics applied
 * before `predict`, as in {@link evaluatePolicy}, so the recorded actions are the ones it would take.
 *
 * @example
 * const demos = await recordDemonstrations(expert, make("CartPole-v1"), { episodes: 10, seed: 0 });
 */
export async function recordDemonstrations(
  model: Predictor,
  env: Env,
  options: RecordOptions,
): Promise<Demonstrations> {
  const { episodes } = options;
  if (!Number.isInteger(episodes) || episodes < 1) {
    throw new ProximalError("INVALID_OPTION", `episodes must be a positive integer, got ${episodes}.`);
  }
  const seed = options.seed ?? 0;
  const deterministic = options.deterministic ?? true;
  const predictor = withModelNormalization(model, env);
  const obsSize = flatSize(env.observationSpace);
  const observationRows: Float32Array[] = [];
  const actionRows: (Int32Array | Float32Array)[] = [];
  const rewards: number[] = [];
  const terminations: number[] = [];
  const truncations: number[] = [];
  const episodeSteps: number[] = [];
  const seeds: (number | null)[] = [];
  const returns: number[] = [];
  const flatten = (observation: unknown) => {
    const row = new Float32Array(obsSize);
    writeFlat(env.observationSpace, observation, row, 0);
    return row;
  };
  for (let k = 0; k < episodes; k++) {
    const episodeSeed = k === 0 ? seed : null;
    seeds.push(episodeSeed);
    let observation = flatten(env.reset(episodeSeed === null ? {} : { seed: episodeSeed }).observation);
    observationRows.push(observation);
    let steps = 0;
    let total = 0;
    for (;;) {
      const action = predictor.predict(observation, { deterministic });
      const step = env.step(toEnvAction(env, action));
      actionRows.push(action.slice());
      rewards.push(step.reward);
      terminations.push(step.terminated ? 1 : 0);
      truncations.push(step.truncated ? 1 : 0);
      observation = flatten(step.observation);
      observationRows.push(observation);
      total += step.reward;
      steps++;
      if (step.terminated || step.truncated) break;
    }
    episodeSteps.push(steps);
    returns.push(total);
  }
  const isFloat = actionRows[0] instanceof Float32Array;
  const actionWidth = actionRows[0].length;
  const actions = isFloat
    ? new Float32Array(actionRows.length * actionWidth)
    : new Int32Array(actionRows.length * actionWidth);
  actionRows.forEach((row, i) => {
    actions.set(row, i * actionWidth);
  });
  const observations = new Float32Array(observationRows.length * obsSize);
  observationRows.forEach((row, i) => {
    observations.set(row, i * obsSize);
  });
  return {
    envId: env.spec?.id ?? null,
    observationSpace: env.observationSpace,
    actionSpace: env.actionSpace,
    observations,
    actions,
    rewards: Float32Array.from(rewards),
    terminations: Uint8Array.from(terminations),
    truncations: Uint8Array.from(truncations),
    episodeIds: Int32Array.from(episodeSteps.map((_, i) => i)),
    episodeSteps: Int32Array.from(episodeSteps),
    seeds,
    metadata: {
      sourceModel: options.sourceModel ?? null,
      deterministic,
      returns,
      meanReturn: returns.reduce((a, b) => a + b, 0) / returns.length,
      createdAt: new Date().toISOString(),
    },
  };
}

/** Steps over all episodes. */
export function totalSteps(demos: Demonstrations): number {
  return demos.rewards.length;
}

/** Width of one stored action row. */
export function actionWidthOf(demos: Demonstrations): number {
  return totalSteps(demos) === 0 ? 0 : demos.actions.length / totalSteps(demos);
}

/** State-action pairs for supervised learning: `[n, obsSize]` observations and `[n, width]` actions. */
export interface Transitions {
  observations: Float32Array;
  actions: Int32Array | Float32Array;
  /** Pairs held. */
  size: number;
}

/**
 * The (observation, action) pairs of the chosen episodes: each step's observation is the one the
 * action was taken in, so the final observation of each episode (Minari's extra row) is left out.
 */
export function transitionsOf(demos: Demonstrations, episodes?: readonly number[]): Transitions {
  const chosen = episodes ?? Array.from(demos.episodeSteps, (_, i) => i);
  const obsSize = flatSize(demos.observationSpace);
  const width = actionWidthOf(demos);
  const stepStart = new Int32Array(demos.episodeSteps.length + 1);
  for (let e = 0; e < demos.episodeSteps.length; e++) stepStart[e + 1] = stepStart[e] + demos.episodeSteps[e];
  let size = 0;
  for (const e of chosen) size += demos.episodeSteps[e];
  const observations = new Float32Array(size * obsSize);
  const actions =
    demos.actions instanceof Float32Array ? new Float32Array(size * width) : new Int32Array(size * width);
  let row = 0;
  for (const e of chosen) {
    const steps = demos.episodeSteps[e];
    // episode e's observations start after the T_j + 1 rows of every earlier episode
    const obsStart = stepStart[e] + e;
    observations.set(
      demos.observations.subarray(obsStart * obsSize, (obsStart + steps) * obsSize),
      row * obsSize,
    );
    actions.set(demos.actions.subarray(stepStart[e] * width, (stepStart[e] + steps) * width), row * width);
    row += steps;
  }
  return { observations, actions, size };
}

/**
 * Check that demonstrations fit an env: the same observation and action spaces (as JSON). Throws
 * `UNSUPPORTED_SPACE` naming both and the fix.
 */
export function checkDemonstrationSpaces(
  demos: Pick<Demonstrations, "observationSpace" | "actionSpace" | "envId">,
  spaces: { observationSpace: Space; actionSpace: Space },
  envName = "the env",
): void {
  const parts: [string, Space, Space][] = [
    ["observation", demos.observationSpace, spaces.observationSpace],
    ["action", demos.actionSpace, spaces.actionSpace],
  ];
  for (const [what, saved, current] of parts) {
    const a = JSON.stringify(saved.toJSON());
    const b = JSON.stringify(current.toJSON());
    if (a !== b) {
      throw new ProximalError(
        "UNSUPPORTED_SPACE",
        `The demonstrations' ${what} space ${a} differs from ${envName}'s ${b}. Record demonstrations on the env you train on${demos.envId === null ? "" : ` (they come from ${demos.envId})`}, or train on that env.`,
      );
    }
  }
}
