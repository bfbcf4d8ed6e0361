/**
 * The layout of a training run directory and its small JSON files:
 *
 * ```
 * runs/ppo-CartPole-v1-20250101-120000/
 *   config.json            fully resolved options, proximal version, seed, planned total
 *   progress.jsonl/.csv    one row per update (timesteps, wall time, every diagnostic)
 *   events.out.tfevents.*  the same scalars for TensorBoard (one file per run; --resume continues it)
 *   checkpoints/           step-<timesteps>/ (model + run state), latest.json points at the newest
 *   model/                 the final model; model/best/ the best by evaluation (with --eval-every)
 * ```
 *
 * Every JSON and checkpoint file is written atomically (temp file, fsync, rename), and
 * `latest.json` is only updated once the checkpoint it names is complete, so a crash or kill at any
 * moment leaves the previous checkpoint usable. Each checkpoint's `run.json` records how far the
 * progress log and the event file had got, and a resume cuts them back there ({@link RunState.logs}).
 */
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ProximalError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomicWrite.js";
import { isFileNotFound } from "../io/fileErrors.js";
import type { ProgressPosition } from "../io/progressLog.js";
import type { EventsPosition } from "../io/tfevents.js";
import type { Algorithm } from "../rl/common/algorithm.js";
import type { ObservationNormalization } from "./runEnv.js";
import { NORMALIZATION_FILE } from "./runEnv.js";

export const CONFIG_FILE = "config.json";
export const CHECKPOINTS_DIR = "checkpoints";
export const LATEST_FILE = "latest.json";
export const MODEL_DIR = "model";
export const BEST_DIR = "best";
export const RUN_STATE_FILE = "run.json";
/** Periodic checkpoints kept (older ones are deleted once a newer one is complete). */
export const CHECKPOINTS_KEPT = 3;

/** Why a run's latest checkpoint was written. */
export type RunStatus = "running" | "stopped" | "interrupted" | "finished";

/** `checkpoints/latest.json`. */
export interface LatestCheckpoint {
  checkpoint: string | null;
  timesteps: number;
  status: RunStatus;
}

/** Run-level state saved with each checkpoint (besides the model's own training state). */
export interface RunState {
  bestEvalReturn: number | null;
  /** Wall-clock seconds of training before this checkpoint, over every session of the run. */
  elapsedSeconds: number;
  /**
   * Where the logs stood when this checkpoint was written (flushed to disk first); resuming from it
   * cuts them back there. Absent in checkpoints written before proximal recorded it.
   */
  logs?: { progress: ProgressPosition; events: EventsPosition };
}

/** `run.json` of a checkpoint; every checkpoint has one, so a missing or malformed one is an error. */
export async function readRunState(checkpointDir: string): Promise<RunState> {
  const path = join(checkpointDir, RUN_STATE_FILE);
  const fix =
    "Resume from an earlier checkpoint (edit checkpoints/latest.json), or start the run again with --force.";
  const value = (await readJsonIfExists(path, fix)) as Partial<RunState> | null;
  const malformed = (what: string) => new ProximalError("MALFORMED_FILE", `${path} ${what}. ${fix}`);
  if (value === null) throw malformed("is missing");
  if (
    typeof value !== "object" ||
    (value.bestEvalReturn !== null && typeof value.bestEvalReturn !== "number") ||
    typeof value.elapsedSeconds !== "number"
  ) {
    throw malformed('is malformed: expected { "bestEvalReturn", "elapsedSeconds", "logs" }');
  }
  const logs = value.logs;
  if (
    logs !== undefined &&
    !(
      Number.isInteger(logs?.progress?.rows) &&
      Number.isInteger(logs?.progress?.bytes) &&
      typeof logs?.events?.file === "string" &&
      /^events\.out\.tfevents\.[^/\\]+$/.test(logs.events.file) &&
      Number.isInteger(logs?.events?.bytes)
    )
  ) {
    throw malformed(
      'is malformed: "logs" must be { "progress": { "rows", "bytes" }, "events": { "file", "bytes" } }',
    );
  }
  return value as RunState;
}

/** Save the model (and its observation statistics) into `dir`, atomically file by file. */
export async function saveModel(
  dir: string,
  model: Algorithm,
  normalization: ObservationNormalization | null,
): Promise<void> {
  await model.save(dir);
  if (normalization !== null) await writeJsonAtomic(join(dir, NORMALIZATION_FILE), normalization);
}

/**
 * The parsed JSON of a run file, or null when it does not exist (ENOENT, and only that). A file
 * that exists but cannot be read, or is not JSON, is an error naming the file and ending in `fix`
 * (exit 2).
 */
export async function readJsonIfExists(path: string, fix: string): Promise<unknown | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isFileNotFound(error)) return null;
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Check its permissions.`,
      { cause: error },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${path} is not valid JSON: ${(error as Error).message}. ${fix}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Observation statistics saved beside a model: null when there is no `normalization.json` (the
 * model was trained without observation normalisation); an error naming the file when it exists
 * but cannot be read or does not hold `{ statistics: { mean, var, count }, epsilon, clipObservation }`.
 */
export async function readNormalization(dir: string): Promise<ObservationNormalization | null> {
  const path = join(dir, NORMALIZATION_FILE);
  const fix = `Restore it from a checkpoint of the run (checkpoints/step-*/${NORMALIZATION_FILE}), or retrain.`;
  const value = await readJsonIfExists(path, fix);
  if (value === null) return null;
  const malformed = (what: string) =>
    new ProximalError("MALFORMED_FILE", `${path} is malformed: ${what}. ${fix}`);
  const isNumbers = (x: unknown): x is number[] =>
    Array.isArray(x) && x.every((v) => typeof v === "number" && Number.isFinite(v));
  if (typeof value !== "object" || Array.isArray(value)) throw malformed("expected a JSON object");
  const norm = value as Partial<ObservationNormalization>;
  const statistics = norm.statistics;
  if (typeof statistics !== "object" || statistics === null) throw malformed("statistics is missing");
  if (!isNumbers(statistics.mean) || !isNumbers(statistics.var)) {
    throw malformed("statistics.mean and statistics.var must be arrays of finite numbers");
  }
  if (statistics.mean.length !== statistics.var.length) {
    throw malformed(
      `statistics.mean has ${statistics.mean.length} entries but statistics.var has ${statistics.var.length}`,
    );
  }
  if (statistics.var.some((v) => v < 0)) throw malformed("statistics.var has a negative entry");
  if (typeof statistics.count !== "number") throw malformed("statistics.count must be a number");
  if (typeof norm.epsilon !== "number" || !(norm.epsilon >= 0)) {
    throw malformed("epsilon must be a non-negative number");
  }
  if (norm.clipObservation !== null && typeof norm.clipObservation !== "number") {
    throw malformed("clipObservation must be a number or null");
  }
  return norm as ObservationNormalization;
}

/** Write `checkpoints/step-<t>/` and then point `latest.json` at it; prune old checkpoints. */
export async function writeCheckpoint(
  runDir: string,
  model: Algorithm,
  normalization: ObservationNormalization | null,
  runState: RunState,
  status: RunStatus,
): Promise<string> {
  const name = `step-${String(model.numTimesteps).padStart(10, "0")}`;
  const dir = join(runDir, CHECKPOINTS_DIR, name);
  await saveModel(dir, model, normalization);
  await writeJsonAtomic(join(dir, RUN_STATE_FILE), runState);
  await writeLatest(runDir, { checkpoint: name, timesteps: model.numTimesteps, status });
  await pruneCheckpoints(runDir, name);
  return dir;
}

export async function writeLatest(runDir: string, latest: LatestCheckpoint): Promise<void> {
  await writeJsonAtomic(join(runDir, CHECKPOINTS_DIR, LATEST_FILE), latest);
}

/** `checkpoints/latest.json`, or null when the run has none yet; malformed is an error naming it. */
export async function readLatest(runDir: string): Promise<LatestCheckpoint | null> {
  const path = join(runDir, CHECKPOINTS_DIR, LATEST_FILE);
  const fix = "Point it at the newest complete checkpoints/step-* directory.";
  const value = (await readJsonIfExists(path, fix)) as Partial<LatestCheckpoint> | null;
  if (value === null) return null;
  if (
    typeof value !== "object" ||
    (value.checkpoint !== null && typeof value.checkpoint !== "string") ||
    typeof value.timesteps !== "number" ||
    typeof value.status !== "string"
  ) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${path} is malformed: expected { "checkpoint", "timesteps", "status" }. ${fix}`,
    );
  }
  return value as LatestCheckpoint;
}

async function pruneCheckpoints(runDir: string, keep: string): Promise<void> {
  const root = join(runDir, CHECKPOINTS_DIR);
  const names = (await readdir(root)).filter((n) => /^step-\d+$/.test(n)).sort();
  const old = names.filter((n) => n !== keep).slice(0, Math.max(0, names.length - CHECKPOINTS_KEPT));
  for (const n of old) await rm(join(root, n), { recursive: true, force: true });
}

/** `config.json` of a run directory; a directory without one is not a run (exit 2). */
export async function readRunConfig(runDir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(runDir, CONFIG_FILE), "utf8");
  } catch (error) {
    if (!isFileNotFound(error)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `Cannot read ${join(runDir, CONFIG_FILE)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Check its permissions.`,
        { cause: error },
      );
    }
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${runDir} is not a run directory (no ${CONFIG_FILE}). Pass a directory written by \`proximal train\`.`,
    );
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${join(runDir, CONFIG_FILE)} is not valid JSON: ${(error as Error).message}.`,
    );
  }
}

/** Whether `path` exists; any failure other than "not found" (e.g. EACCES) is raised, not read as absence. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isFileNotFound(error)) return false;
    throw error;
  }
}

/**
 * The model directory to evaluate or watch: a model directory itself, or a run's `model/` (final),
 * or, for a run stopped early, its latest checkpoint. `best` picks `model/best/`.
 */
export async function resolveModelDir(path: string, options: { best?: boolean } = {}): Promise<string> {
  if (!(await exists(path))) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${path} does not exist. Pass a run directory or a model directory.`,
    );
  }
  if (options.best) {
    const best = join(path, MODEL_DIR, BEST_DIR);
    if (await exists(join(best, "model.json"))) return best;
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${path} has no best model (${join(MODEL_DIR, BEST_DIR)}): it was trained without --eval-every. Drop --best to use the final model.`,
    );
  }
  if (await exists(join(path, "model.json"))) return path;
  if (await exists(join(path, MODEL_DIR, "model.json"))) return join(path, MODEL_DIR);
  const latest = await readLatest(path);
  if (latest?.checkpoint) return join(path, CHECKPOINTS_DIR, latest.checkpoint);
  throw new ProximalError(
    "INVALID_ARGUMENT",
    `No model in ${path}: expected model.json there, a run's ${MODEL_DIR}/ or a checkpoint. Train one with \`proximal train\`.`,
  );
}
