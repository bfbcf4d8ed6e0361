/**
 * Messages between the page and the training worker. The page never imports the library: every
 * model, env and tensor lives in the worker, so the page stays responsive while a rollout runs.
 */

/** One preset entry as the page shows it (from presets/<folder>/<name>.yaml, parsed in the worker). */
export interface PresetEntry {
  /** Algorithm class name, e.g. "PPO". */
  algorithm: string;
  /** File name without extension, e.g. "rlzoo". */
  name: string;
  envId: string;
  source: string | null;
  /** Algorithm options, as the YAML gives them (schedules as `{ schedule, initial }` objects). */
  options: Record<string, unknown>;
  totalTimesteps: number | null;
  totalEpisodes: number | null;
  normalize: { observation: boolean; reward: boolean; clipObservation?: number; clipReward?: number } | null;
}

/** What to train. */
export interface TrainConfig {
  envId: string;
  algorithm: string;
  /** Preset name, or null for the algorithm's defaults. */
  preset: string | null;
  options: Record<string, unknown>;
  /** Budget: timesteps, or episodes for the tabular algorithms. */
  budget: { totalTimesteps: number } | { totalEpisodes: number };
  normalize: PresetEntry["normalize"];
}

/** Who drives the env shown on the canvas. */
export type Driver = "agent" | "human" | "onnx";

export type PageMessage =
  | { type: "start"; config: TrainConfig }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "stop" }
  /** Show the env driven by the agent (its deterministic policy), the keyboard, or the ONNX session. */
  | { type: "driver"; driver: Driver; fps: number }
  /** The keyboard's action now (real-time envs) or for one step (turn-based envs). */
  | { type: "humanAction"; action: number[]; step: boolean }
  | { type: "save" }
  | { type: "load"; bytes: ArrayBuffer }
  | { type: "exportOnnx" }
  | { type: "runOnnx"; bytes: ArrayBuffer };

/** Training state the page reflects in its buttons. */
export type TrainingState = "idle" | "training" | "paused" | "done";

export type WorkerMessage =
  | { type: "catalog"; presets: PresetEntry[]; backend: string }
  | { type: "state"; state: TrainingState; timesteps: number; message?: string }
  /** `time/timesteps` plus every other stat the algorithm's `onUpdate` gave, oldest first. */
  | { type: "stats"; rows: Record<string, number>[] }
  | { type: "frame"; bitmap: ImageBitmap; episodeReturn: number; driver: Driver }
  /** Deterministic actions on fixed observations: a model's fingerprint, equal after save and load. */
  | { type: "probe"; actions: string; observations: number[][] }
  | { type: "saved"; bytes: ArrayBuffer; fileName: string }
  | { type: "loaded"; algorithm: string; envId: string; timesteps: number }
  | { type: "onnx"; bytes: ArrayBuffer; fileName: string }
  /** The ONNX session's actions against `predict` on the probe observations. */
  | { type: "onnxCheck"; matching: number; total: number }
  | { type: "error"; message: string };
