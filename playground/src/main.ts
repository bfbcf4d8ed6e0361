/**
 * The playground page: choose an env, an algorithm and a preset, edit the options, and train in a
 * Web Worker (worker.ts) while the charts and the canvas follow. Everything that touches the library
 * runs in the worker; this file is the page's controls.
 */
import "./style.css";
import { algorithmEntry, algorithmsFor, ENVS, envEntry } from "./catalog.js";
import { TrainingCharts } from "./charts.js";
import { download } from "./download.js";
import { readOptionsForm, renderOptionsForm } from "./optionsForm.js";
import type { Driver, PageMessage, PresetEntry, TrainingState, WorkerMessage } from "./protocol.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const envSelect = $<HTMLSelectElement>("env");
const algorithmSelect = $<HTMLSelectElement>("algorithm");
const presetSelect = $<HTMLSelectElement>("preset");
const optionsForm = $<HTMLFormElement>("options");
const canvas = $<HTMLCanvasElement>("canvas");
const canvasContext = canvas.getContext("2d") as CanvasRenderingContext2D;
const buttons = {
  start: $<HTMLButtonElement>("start"),
  pause: $<HTMLButtonElement>("pause"),
  stop: $<HTMLButtonElement>("stop"),
  save: $<HTMLButtonElement>("save"),
  exportOnnx: $<HTMLButtonElement>("export-onnx"),
  runOnnx: $<HTMLButtonElement>("run-onnx"),
  play: $<HTMLButtonElement>("play"),
  agent: $<HTMLButtonElement>("agent"),
};

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const send = (message: PageMessage, transfer: Transferable[] = []) => worker.postMessage(message, transfer);

let presets: PresetEntry[] = [];
let trainingState: TrainingState = "idle";
let hasModel = false;
/** The model's algorithm is tabular: a Q-table, which has no ONNX graph (exportOnnx refuses it). */
let tabularModel = false;
let shownEnvId = "";
let driver: Driver = "agent";
let charts = new TrainingCharts($("charts"));
let lastOnnx: ArrayBuffer | null = null;

function showError(message: string | null): void {
  const element = $("error");
  element.hidden = message === null;
  element.textContent = message ?? "";
}

function option(select: HTMLSelectElement, value: string, label = value): void {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = label;
  select.append(element);
}

// ---------------------------------------------------------------------------------------------
// choices

function fillAlgorithms(): void {
  const previous = algorithmSelect.value;
  algorithmSelect.replaceChildren();
  for (const algorithm of algorithmsFor(envEntry(envSelect.value))) option(algorithmSelect, algorithm.name);
  if ([...algorithmSelect.options].some((o) => o.value === previous)) algorithmSelect.value = previous;
  fillPresets();
}

function fillPresets(): void {
  presetSelect.replaceChildren();
  const matching = presets.filter(
    (p) => p.envId === envSelect.value && p.algorithm === algorithmSelect.value,
  );
  for (const preset of matching) option(presetSelect, preset.name);
  option(presetSelect, "", "(algorithm defaults)");
  fillOptions();
}

function chosenPreset(): PresetEntry | null {
  return (
    presets.find(
      (p) =>
        p.envId === envSelect.value && p.algorithm === algorithmSelect.value && p.name === presetSelect.value,
    ) ?? null
  );
}

function fillOptions(): void {
  const preset = chosenPreset();
  $("preset-source").textContent = preset?.source ? `Source: ${preset.source}` : "";
  renderOptionsForm(optionsForm, preset, algorithmEntry(algorithmSelect.value).tabular);
}

envSelect.addEventListener("change", fillAlgorithms);
algorithmSelect.addEventListener("change", fillPresets);
presetSelect.addEventListener("change", fillOptions);

// ---------------------------------------------------------------------------------------------
// training

function refreshButtons(): void {
  const running = trainingState === "training" || trainingState === "paused";
  buttons.start.disabled = running || presets.length === 0;
  buttons.pause.disabled = !running;
  buttons.pause.textContent = trainingState === "paused" ? "Resume" : "Pause";
  buttons.stop.disabled = !running;
  buttons.save.disabled = !hasModel;
  buttons.exportOnnx.disabled = !hasModel || tabularModel;
  buttons.exportOnnx.title = tabularModel
    ? "A Q-table has no ONNX graph: export works for the network algorithms."
    : "";
  buttons.runOnnx.disabled = lastOnnx === null;
  buttons.play.disabled = shownEnvId === "" || driver === "human";
  buttons.agent.disabled = driver === "agent" || !hasModel;
  $<HTMLInputElement>("load-file").disabled = running;
}

buttons.start.addEventListener("click", () => {
  showError(null);
  let form: ReturnType<typeof readOptionsForm>;
  try {
    form = readOptionsForm(optionsForm);
  } catch (error) {
    showError((error as Error).message);
    return;
  }
  charts = new TrainingCharts($("charts"));
  setDriver("agent");
  send({
    type: "start",
    config: {
      envId: envSelect.value,
      algorithm: algorithmSelect.value,
      preset: presetSelect.value === "" ? null : presetSelect.value,
      options: form.options,
      budget: form.budget,
      normalize: chosenPreset()?.normalize ?? null,
    },
  });
  hasModel = true;
  tabularModel = algorithmEntry(algorithmSelect.value).tabular;
  shownEnvId = envSelect.value;
  trainingState = "training";
  refreshButtons();
});
buttons.pause.addEventListener("click", () =>
  send({ type: trainingState === "paused" ? "resume" : "pause" }),
);
buttons.stop.addEventListener("click", () => send({ type: "stop" }));

// ---------------------------------------------------------------------------------------------
// save, load, ONNX

buttons.save.addEventListener("click", () => send({ type: "save" }));
$<HTMLInputElement>("load-file").addEventListener("change", async (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file === undefined) return;
  showError(null);
  const bytes = await file.arrayBuffer();
  send({ type: "load", bytes }, [bytes]);
  (event.target as HTMLInputElement).value = "";
});
buttons.exportOnnx.addEventListener("click", () => send({ type: "exportOnnx" }));
buttons.runOnnx.addEventListener("click", () => {
  if (lastOnnx === null) return;
  const bytes = lastOnnx.slice(0);
  send({ type: "runOnnx", bytes }, [bytes]);
  driver = "onnx";
  showDriver();
});
$<HTMLInputElement>("onnx-file").addEventListener("change", async (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file === undefined) return;
  const bytes = await file.arrayBuffer();
  send({ type: "runOnnx", bytes }, [bytes]);
  driver = "onnx";
  showDriver();
  (event.target as HTMLInputElement).value = "";
});

// ---------------------------------------------------------------------------------------------
// playing it yourself

const keysHeld = new Set<string>();
let humanSteps = 0;

function showDriver(): void {
  const labels: Record<Driver, string> = {
    agent: "(the agent plays)",
    human: "(you play: keyboard)",
    onnx: "(the exported ONNX policy plays)",
  };
  $("driver").textContent = labels[driver];
  const play = shownEnvId === "" ? null : envEntry(shownEnvId).play;
  $("play-help").textContent = driver === "human" && play !== null ? play.help : "";
  refreshButtons();
}

function setDriver(next: Driver): void {
  driver = next;
  keysHeld.clear();
  const fps = shownEnvId === "" ? 0 : envEntry(shownEnvId).play.fps;
  send({ type: "driver", driver, fps });
  showDriver();
}

buttons.play.addEventListener("click", () => {
  if (trainingState === "training") send({ type: "pause" });
  setDriver("human");
  canvas.focus();
});
buttons.agent.addEventListener("click", () => setDriver("agent"));

const KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "p", "d"]);

function keyChanged(event: KeyboardEvent, down: boolean): void {
  if (driver !== "human" || !KEYS.has(event.key)) return;
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
  event.preventDefault();
  const play = envEntry(shownEnvId).play;
  if (play.mode === "turns") {
    if (!down || event.repeat) return;
    const action = play.action(new Set([event.key]), humanSteps++);
    if (action !== null) send({ type: "humanAction", action, step: true });
    return;
  }
  if (down) keysHeld.add(event.key);
  else keysHeld.delete(event.key);
}
window.addEventListener("keydown", (event) => keyChanged(event, true));
window.addEventListener("keyup", (event) => keyChanged(event, false));
// real-time envs: the action of the keys held now, sent at the env's pace
setInterval(() => {
  if (driver !== "human" || shownEnvId === "") return;
  const play = envEntry(shownEnvId).play;
  if (play.mode !== "realtime") return;
  send({ type: "humanAction", action: play.action(keysHeld, humanSteps++) as number[], step: false });
}, 50);

// ---------------------------------------------------------------------------------------------
// from the worker

worker.addEventListener("message", (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  switch (message.type) {
    case "catalog":
      presets = message.presets;
      $("backend").textContent = `backend: ${message.backend}`;
      $("status").textContent = "Ready.";
      fillPresets();
      break;
    case "state":
      trainingState = message.state;
      $("status").textContent =
        `${message.state}${message.message ? ` (${message.message})` : ""} · ${message.timesteps.toLocaleString("en")} timesteps`;
      if (message.state === "done") charts.finish(algorithmSelect.value);
      break;
    case "stats": {
      charts.add(message.rows);
      const timesteps = message.rows.at(-1)?.["time/timesteps"];
      if (trainingState === "training" && timesteps !== undefined) {
        $("status").textContent = `training · ${timesteps.toLocaleString("en")} timesteps`;
      }
      break;
    }
    case "frame":
      if (canvas.width !== message.bitmap.width || canvas.height !== message.bitmap.height) {
        canvas.width = message.bitmap.width;
        canvas.height = message.bitmap.height;
      }
      canvasContext.drawImage(message.bitmap, 0, 0);
      message.bitmap.close();
      canvas.dataset.frames = String(Number(canvas.dataset.frames ?? 0) + 1);
      break;
    case "probe":
      $("probe").textContent = message.actions;
      // the states themselves, for anyone who wants to check the actions elsewhere (the browser test does)
      $("probe").dataset.observations = JSON.stringify(message.observations);
      break;
    case "saved":
      download(new Blob([message.bytes], { type: "application/x-tar" }), message.fileName);
      break;
    case "loaded":
      hasModel = true;
      tabularModel = algorithmEntry(message.algorithm).tabular;
      shownEnvId = message.envId;
      envSelect.value = message.envId;
      fillAlgorithms();
      algorithmSelect.value = message.algorithm;
      fillPresets();
      setDriver("agent");
      break;
    case "onnx":
      lastOnnx = message.bytes;
      download(new Blob([message.bytes], { type: "application/octet-stream" }), message.fileName);
      break;
    case "onnxCheck":
      $("onnx-check").textContent =
        `ONNX policy vs predict: ${message.matching} of ${message.total} probe actions agree.`;
      break;
    case "error":
      showError(message.message);
      break;
  }
  refreshButtons();
});
worker.addEventListener("error", (event) => showError(`The worker failed: ${event.message}`));

for (const env of ENVS) option(envSelect, env.id);
envSelect.value = "CartPole-v1";
fillAlgorithms();
refreshButtons();
