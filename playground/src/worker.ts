/**
 * The training worker: builds the model from the page's choices, trains it with `learn`, streams
 * its `onUpdate` stats, and plays the env on a canvas of its own, driven by the agent's
 * deterministic policy, the keyboard, or an exported ONNX policy. Pausing is `onUpdate` awaiting a
 * promise: `learn` stops between updates and this worker's event loop keeps serving the page.
 */
import type { Env, VectorEnv } from "proximal";
import {
  A2C,
  backendInfo,
  DDPG,
  DQN,
  ExpectedSarsa,
  exportOnnx,
  ModelArchive,
  make,
  PPO,
  parsePresetText,
  QLearning,
  Rainbow,
  REINFORCE,
  renderToCanvas,
  SAC,
  Sarsa,
  TD3,
  TRPO,
  VectorNormalizeObservation,
  VectorNormalizeReward,
  VectorRecordEpisodeStatistics,
} from "proximal";
import { ALGORITHMS, algorithmEntry, ENVS } from "./catalog.js";
import { type OnnxPolicy, onnxPolicy } from "./onnxPolicy.js";
import type { Driver, PageMessage, PresetEntry, TrainConfig, WorkerMessage } from "./protocol.js";

/** What the worker needs of any of the algorithms (the library's `Algorithm`, plus `predict`). */
interface Model {
  readonly algorithmName: string;
  readonly numTimesteps: number;
  readonly observationNormalizer?: { normalizeObservations(input: Float32Array): Float32Array } | null;
  learn(options: {
    totalTimesteps?: number;
    totalEpisodes?: number;
    onUpdate: (stats: Record<string, number>) => Promise<boolean>;
  }): Promise<unknown>;
  predict(observations: Float32Array, options?: { deterministic?: boolean }): Int32Array | Float32Array;
  save(target: ModelArchive): Promise<void>;
}

interface ModelClass {
  new (env: unknown, options: Record<string, unknown>): Model;
  load(source: ModelArchive): Promise<Model>;
}

const CLASSES = {
  PPO,
  A2C,
  TRPO,
  REINFORCE,
  DQN,
  Rainbow,
  SAC,
  TD3,
  DDPG,
  QLearning,
  Sarsa,
  ExpectedSarsa,
} as unknown as Record<string, ModelClass>;

/** Every preset YAML file of the repo, bundled as text by Vite (no file access at run time). */
const PRESET_TEXTS = import.meta.glob<string>(["../../presets/*/*.yaml", "!../../presets/grpo/*"], {
  query: "?raw",
  import: "default",
  eager: true,
});

/** This worker's scope (the DOM typings describe a window's `postMessage`). */
const scope = self as unknown as {
  postMessage(message: WorkerMessage, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<PageMessage>) => void) | null;
};
const post = (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

// ---------------------------------------------------------------------------------------------
// catalog

async function presetCatalog(): Promise<PresetEntry[]> {
  const offered = new Set(ENVS.map((env) => env.id));
  const entries: PresetEntry[] = [];
  for (const [path, text] of Object.entries(PRESET_TEXTS)) {
    const [folder, file] = path.split("/").slice(-2);
    const algorithm = ALGORITHMS.find((a) => a.presetFolder === folder);
    if (algorithm === undefined) continue; // an algorithm the page does not offer (A3C, D4PG, ...)
    const name = file.replace(/\.ya?ml$/, "");
    const parsed = await parsePresetText(text, name, algorithm.name);
    for (const preset of Object.values(parsed)) {
      if (!offered.has(preset.envId)) continue;
      entries.push({
        algorithm: algorithm.name,
        name,
        envId: preset.envId,
        source: preset.source,
        options: preset.options,
        totalTimesteps: preset.totalTimesteps,
        totalEpisodes: preset.totalEpisodes,
        normalize: preset.normalize,
      });
    }
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// training

let model: Model | null = null;
let modelEnvId = "";
let training = false;
let paused = false;
let stopRequested = false;
let resume: (() => void) | null = null;

/** Stats rows not yet sent, and when the last row was kept (off-policy algorithms report every step). */
let pendingRows: Record<string, number>[] = [];
let lastRowTime = 0;
let lastPostTime = 0;

function state(s: "idle" | "training" | "paused" | "done", message?: string): void {
  post({ type: "state", state: s, timesteps: model?.numTimesteps ?? 0, message });
}

/** The vector env of a run: episode statistics on raw rewards, then the normalisation a preset asks for. */
function trainingEnv(config: TrainConfig): VectorEnv | string {
  if (config.normalize === null) return config.envId;
  const numEnvs = (config.options.numEnvs as number | undefined) ?? 1;
  const seed = (config.options.seed as number | undefined) ?? 0;
  let env: VectorEnv = new VectorRecordEpisodeStatistics(
    make(config.envId, { numEnvs, seed, autoresetMode: "same-step" }) as VectorEnv,
  );
  if (config.normalize.observation) {
    env = new VectorNormalizeObservation(env, { clipObservation: config.normalize.clipObservation });
  }
  if (config.normalize.reward) {
    const gamma = (config.options.gamma as number | undefined) ?? 0.99;
    env = new VectorNormalizeReward(env, { gamma, clipReward: config.normalize.clipReward });
  }
  return env;
}

function keepStats(stats: Record<string, number>, force = false): void {
  const now = performance.now();
  if (force || now - lastRowTime >= 50) {
    pendingRows.push({ ...stats });
    lastRowTime = now;
  }
  if (pendingRows.length > 0 && (force || now - lastPostTime >= 100)) {
    post({ type: "stats", rows: pendingRows });
    pendingRows = [];
    lastPostTime = now;
  }
}

async function train(config: TrainConfig): Promise<void> {
  if (training) throw new Error("Training is already running: stop it first.");
  const entry = algorithmEntry(config.algorithm);
  const cls = CLASSES[config.algorithm];
  model = new cls(entry.tabular ? config.envId : trainingEnv(config), config.options);
  modelEnvId = config.envId;
  training = true;
  paused = false;
  stopRequested = false;
  openDisplay(config.envId);
  state("training");
  let last: Record<string, number> | null = null;
  try {
    await model.learn({
      ...config.budget,
      onUpdate: async (stats) => {
        last = stats;
        keepStats(stats);
        if (performance.now() - lastFrameTime >= 1000 / DISPLAY_FPS) displayTick();
        if (paused && !stopRequested) {
          keepStats(stats, true);
          state("paused");
          await new Promise<void>((resolve) => {
            resume = resolve;
          });
          state("training");
        }
        return !stopRequested;
      },
    });
  } finally {
    training = false;
  }
  if (last !== null) keepStats(last, true);
  state("done", stopRequested ? "stopped" : "finished");
  probe();
}

// ---------------------------------------------------------------------------------------------
// the env on the canvas

const DISPLAY_FPS = 30;
let display: Env | null = null;
let displayEnvId = "";
let observation: unknown = null;
let episodeReturn = 0;
let driver: Driver = "agent";
let humanAction: number[] | null = null;
let onnx: OnnxPolicy | null = null;
let lastFrameTime = 0;
let ticking = false;
let timer: ReturnType<typeof setInterval> | null = null;
/** The worker's own canvas: each frame leaves it as an ImageBitmap the page draws (no copy). */
const surface = new OffscreenCanvas(1, 1);

function openDisplay(envId: string): void {
  if (display !== null && displayEnvId === envId) return;
  display?.close();
  display = make(envId) as Env;
  displayEnvId = envId;
  observation = display.reset({ seed: 0 }).observation;
  episodeReturn = 0;
  sendFrame();
  if (timer === null) restartClock(DISPLAY_FPS);
}

/** Step the shown env `fps` times a second (between updates while training). */
function restartClock(fps: number): void {
  if (timer !== null) clearInterval(timer);
  timer = setInterval(displayTick, 1000 / (fps > 0 ? fps : DISPLAY_FPS));
}

function flat(value: unknown): Float32Array {
  return typeof value === "number" ? Float32Array.of(value) : Float32Array.from(value as ArrayLike<number>);
}

function envAction(action: ArrayLike<number>): unknown {
  const space = (display as Env).actionSpace as { shape?: readonly number[] };
  return (space.shape ?? []).length === 0 ? action[0] : Float32Array.from(action);
}

/** Deterministic actions of the current model, observations normalised as in training. */
function agentActions(observations: Float32Array): Int32Array | Float32Array {
  const m = model as Model;
  const input = m.observationNormalizer?.normalizeObservations(observations) ?? observations;
  return m.predict(input, { deterministic: true });
}

function step(action: ArrayLike<number>): void {
  const env = display as Env;
  const result = env.step(envAction(action));
  episodeReturn += result.reward;
  observation = result.observation;
  if (result.terminated || result.truncated) {
    observation = env.reset().observation;
    episodeReturn = 0;
  }
}

function sendFrame(): void {
  renderToCanvas(display as Env, surface);
  const bitmap = surface.transferToImageBitmap();
  post({ type: "frame", bitmap, episodeReturn, driver }, [bitmap]);
  lastFrameTime = performance.now();
}

function displayTick(): void {
  if (display === null || ticking) return;
  if (driver === "human") {
    // turn-based envs step on each key press (the humanAction message), not on the clock
    if (humanAction === null) return;
    step(humanAction);
    sendFrame();
    return;
  }
  if (driver === "onnx") {
    if (onnx === null) return;
    ticking = true;
    onnx
      .actions(flat(observation))
      .then((action) => {
        step(action);
        sendFrame();
      })
      .catch(fail)
      .finally(() => {
        ticking = false;
      });
    return;
  }
  if (model === null) return;
  step(agentActions(flat(observation)));
  sendFrame();
}

// ---------------------------------------------------------------------------------------------
// fingerprint, save, load, ONNX

/**
 * Observations the probe and the ONNX check use: for seeds 0..15, the state after `seed` steps from
 * the seeded start, with actions cycling through a Discrete space (zero for Box), so the states differ
 * enough for a trained policy to disagree with itself.
 */
function probeObservations(envId: string): Float32Array[] {
  const env = make(envId) as Env;
  const space = env.actionSpace as { n?: number; shape?: readonly number[] };
  const out: Float32Array[] = [];
  for (let seed = 0; seed < 16; seed++) {
    let obs = env.reset({ seed }).observation;
    for (let t = 0; t < seed; t++) {
      const action = space.n !== undefined ? t % space.n : new Float32Array(space.shape?.[0] ?? 1);
      const result = env.step(action);
      if (result.terminated || result.truncated) break;
      obs = result.observation;
    }
    out.push(flat(obs));
  }
  env.close();
  return out;
}

function probe(): void {
  if (model === null) return;
  const observations = probeObservations(modelEnvId);
  const actions = observations.map((obs) =>
    Array.from(agentActions(obs), (a) => (Number.isInteger(a) ? String(a) : a.toFixed(4))).join(","),
  );
  post({
    type: "probe",
    actions: actions.join(" "),
    observations: observations.map((obs) => Array.from(obs)),
  });
}

async function save(): Promise<void> {
  if (model === null) throw new Error("No model yet: start training or load one first.");
  const archive = new ModelArchive();
  await model.save(archive);
  const bytes = archive.toBytes();
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  post({ type: "saved", bytes: buffer, fileName: `${model.algorithmName}-${modelEnvId}.tar` }, [buffer]);
  probe();
}

/**
 * Load a saved model (the tar `ModelArchive` writes, or `tar -cf` of a CLI model directory): its
 * `model.json` names the algorithm and the env.
 */
async function load(bytes: ArrayBuffer): Promise<void> {
  if (training) throw new Error("Stop training before loading a model.");
  const archive = await ModelArchive.from(bytes);
  const json = await archive.read("model.json");
  if (json === undefined) {
    throw new Error(
      "This file holds no model.json: choose a model saved by the playground or `tar -cf model.tar -C <model dir> .` of one the CLI saved.",
    );
  }
  const { algorithm, envId } = JSON.parse(new TextDecoder().decode(json)) as {
    algorithm: string;
    envId: string;
  };
  const cls = CLASSES[algorithm];
  if (cls === undefined) throw new Error(`The playground cannot load ${algorithm} models.`);
  model = await cls.load(archive);
  modelEnvId = envId;
  openDisplay(envId);
  post({ type: "loaded", algorithm, envId, timesteps: model.numTimesteps });
  state("done", "loaded");
  probe();
}

function exportModel(): void {
  if (model === null) throw new Error("No model yet: start training or load one first.");
  const bytes = exportOnnx(model as never);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  post({ type: "onnx", bytes: buffer, fileName: `${model.algorithmName}-${modelEnvId}.onnx` }, [buffer]);
}

/** Load an ONNX policy, check it against `predict` on the probe observations, then let it drive. */
async function runOnnx(bytes: ArrayBuffer): Promise<void> {
  onnx = await onnxPolicy(new Uint8Array(bytes));
  if (model !== null) {
    const observations = probeObservations(modelEnvId);
    let matching = 0;
    for (const obs of observations) {
      const expected = agentActions(obs);
      const got = await onnx.actions(obs);
      if (expected.every((value, i) => Math.abs(value - got[i]) <= 1e-4)) matching++;
    }
    post({ type: "onnxCheck", matching, total: observations.length });
  }
  driver = "onnx";
}

// ---------------------------------------------------------------------------------------------

function fail(error: unknown): void {
  post({ type: "error", message: error instanceof Error ? error.message : String(error) });
}

async function handle(message: PageMessage): Promise<void> {
  switch (message.type) {
    case "start":
      pendingRows = [];
      await train(message.config);
      return;
    case "pause":
      paused = true;
      return;
    case "resume":
      paused = false;
      resume?.();
      resume = null;
      return;
    case "stop":
      stopRequested = true;
      paused = false;
      resume?.();
      resume = null;
      return;
    case "driver":
      driver = message.driver;
      restartClock(message.fps);
      humanAction = null;
      if (display !== null) {
        observation = display.reset().observation;
        episodeReturn = 0;
        sendFrame();
      }
      return;
    case "humanAction":
      if (message.step) {
        if (display !== null && driver === "human") {
          step(message.action);
          sendFrame();
        }
      } else {
        humanAction = message.action;
      }
      return;
    case "save":
      await save();
      return;
    case "load":
      await load(message.bytes);
      return;
    case "exportOnnx":
      exportModel();
      return;
    case "runOnnx":
      await runOnnx(message.bytes);
      return;
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch(fail);
};

presetCatalog()
  .then((presets) => post({ type: "catalog", presets, backend: backendInfo().name }))
  .catch(fail);
