/**
 * `proximal rlhf grpo --task <task> --preset <name>` trains one GRPO-family preset on a shipped
 * verifiable task from the SFT base, and `proximal rlhf demo reasoning` trains the base once and then
 * every preset with the same sample budget and seed (src/rlhf/tasks/reasoningDemo.ts). Both print
 * `{ "base": { "accuracy", "validationAccuracy", "interval" }, "<preset>": { "accuracy", "gain", ... }, ... }`
 * (held-out figures with 95% intervals) and write `results.json` (summary and validation-accuracy
 * curves), `<preset>.jsonl` (each optimizer step's metrics), `splits/{sft,train,validation,heldout}.jsonl`
 * (every prompt of each split with its answer, so anyone can check that no problem is in two splits)
 * and a validation-accuracy-vs-samples plot (`accuracy.svg`, `accuracy.png`) into `--out`. An
 * existing `--out` is refused before training unless `--force` is given; files are written atomically,
 * and only once the run has finished.
 */

import { mkdir, readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import YAML from "yaml";
import { didYouMean, ProximalError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomicWrite.js";
import { savePretrained } from "../io/pretrained.js";
import { type LoraConfig, loraTargetNames, mergeLora } from "../nn/lora.js";
import { readTextFile } from "../rlhf/common/data.js";
import type { PolicyModel } from "../rlhf/common/policyModel.js";
import { GPT } from "../rlhf/gpt.js";
import { type GRPOConfig, resolveGRPOConfig } from "../rlhf/grpo/grpoConfig.js";
import { loadGRPOPreset } from "../rlhf/grpo/presets.js";
import { pairedDifferenceInterval, wilsonInterval } from "../rlhf/tasks/accuracyIntervals.js";
import {
  continueReasoningPreset,
  finishReasoningPreset,
  makeVerifiableTask,
  type PresetAccumulated,
  type PresetProgress,
  type PresetRun,
  prepareReasoningDemo,
  prepareReasoningDemoOnModel,
  presetArgs,
  QUICK_REASONING_OPTIONS,
  type ReasoningDemoOptions,
  type ReasoningDemoProgress,
  type ReasoningDemoResult,
  type ReasoningDemoSetup,
  type ReasoningPresetArgs,
  runReasoningPreset,
  startReasoningPreset,
  VERIFIABLE_TASKS,
  type VerifiableTaskName,
} from "../rlhf/tasks/reasoningDemo.js";
import { runReasoningDemoInParallel } from "../rlhf/tasks/reasoningDemoParallel.js";
import {
  addLoraOptions,
  LORA_FLAG_KEYS,
  type LoraFlags,
  parseLoraFlags,
  writeLoraOutputs,
} from "./loraFlags.js";
import { checkOutDir, prepareOutDir } from "./outputDir.js";
import { gridShapes, niceTicks } from "./plot.js";
import { loadPolicyFolder, type PolicyFolder } from "./policyFolder.js";
import { formatDuration } from "./progress.js";
import { encodePng, rasterize } from "./raster.js";
import { CHECKPOINTS_DIR, exists, LATEST_FILE } from "./runDirectory.js";
import { type Point, type Scene, type Shape, sceneToSvg } from "./scene.js";
import { EXIT_INTERRUPTED } from "./train.js";

/** The presets `rlhf demo reasoning` compares, in this order (files in `presets/grpo/`). */
export const REASONING_DEMO_PRESETS = [
  "grpo",
  "drgrpo",
  "dapo",
  "gspo",
  "dcpo",
  "rloo",
  "reinforce++",
] as const;

/** Flags of `rlhf grpo` (with `--lora` and its options, see cli/loraFlags.ts). */
export interface RlhfGrpoFlags extends LoraFlags {
  task: string;
  preset: string;
  out?: string;
  /** Replace an existing `--out` directory. */
  force?: boolean;
  seed?: string;
  set?: string[];
  json?: boolean;
  /** Completions to train on. */
  samples?: string;
  /** Checkpoint every this many optimizer steps. */
  checkpointEvery?: string;
  /** Stop (with a checkpoint) once this many optimizer steps are taken. */
  stopAfter?: string;
  /** Continue the stopped run in this `--out`. */
  resume?: string;
  /** A Hugging Face model folder to train instead of the SFT base. */
  model?: string;
}

/** Flags of `rlhf demo reasoning`. */
export interface ReasoningDemoFlags {
  out?: string;
  /** Replace an existing `--out` directory. */
  force?: boolean;
  seed?: string;
  json?: boolean;
  quick?: boolean;
  /** Worker threads training presets at once (reasoning only). */
  workers?: string;
  /** Comma-separated subset of {@link REASONING_DEMO_PRESETS} to train (default: all). */
  presets?: string;
  /** A Hugging Face model folder to train instead of the SFT base. */
  model?: string;
}

/**
 * Demo budget (BENCHMARKS.md "rlhf reasoning demo"): 5000 of the 5050 two-digit addition problems,
 * split by problem (`a+b` and `b+a` are one problem) into 1000 for the SFT base, 3000 for RL, 500
 * for validation (measured every 100 steps) and 500 held out (measured on the base and the final
 * policies); then 192,000 completions trained on per preset (3000 optimizer steps).
 *
 * The SFT base stops at the first 25-step check whose validation accuracy reaches 30% (at most 1200
 * steps). Chosen on seed 0's validation split: on the clean split a fixed 400-800 steps gives a base
 * that is either almost never right (7-11% at 400-750 steps) or mostly right (77% at 800 steps), as
 * the run starts generalising at a seed-dependent step; from a 7-9% base, GRPO and DAPO stayed within
 * a few points of it.
 */
export const REASONING_DEMO_DEFAULTS: Omit<ReasoningDemoOptions, "presets"> = {
  samples: 192_000,
  sft: { steps: 1200 },
  sftTargetValidationAccuracy: 0.3,
  sftExamples: 1000,
  trainPrompts: 3000,
  validationPrompts: 500,
  heldOutPrompts: 500,
  evalEvery: 100,
};

/**
 * Budget of `rlhf demo reasoning --model <dir>`, where the base is the user's model (no SFT split, no
 * SFT): 1,024 completions per preset (16 optimizer steps of 64), 1,000 RL prompts, 100 validation and
 * 100 held-out problems, validation every 4 steps. Not tuned: a step of a real model takes seconds to
 * minutes on a CPU (BENCHMARKS.md "lm", Llama 135m), so the built-in demo's 192,000 completions per
 * preset are out of reach; `rlhf grpo --model <dir> --samples <n>` trains one preset for longer, on the
 * same splits.
 */
export const MODEL_REASONING_DEFAULTS: Omit<ReasoningDemoOptions, "presets"> = {
  samples: 1024,
  trainPrompts: 1000,
  validationPrompts: 100,
  heldOutPrompts: 100,
  evalEvery: 4,
};

/**
 * The method's choices of a GRPO-family preset (its `algorithm:` section), validated by the library's
 * preset loader: the demo's own budget (samples, generations, lengths) goes on top of them.
 */
export async function loadGrpoPresetConfig(name: string): Promise<GRPOConfig> {
  return (await loadGRPOPreset(name)).algorithm;
}

/** `--set key=value` pairs as GRPOConfig fields (values parsed as YAML scalars), checked. */
export function parseSetFlags(pairs: readonly string[] = []): GRPOConfig {
  const config: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        `--set expects key=value, got "${pair}" (e.g. --set learningRate=1e-4).`,
      );
    }
    config[pair.slice(0, at)] = YAML.parse(pair.slice(at + 1));
  }
  resolveGRPOConfig(config as GRPOConfig);
  return config as GRPOConfig;
}

function parseSeed(value: string | undefined): number {
  const seed = value === undefined ? 0 : Number(value);
  if (!Number.isInteger(seed))
    throw new ProximalError("INVALID_OPTION", `--seed must be an integer, got "${value}".`);
  return seed;
}

/**
 * The printed summary: held-out accuracy of the base and of each preset with its 95% Wilson interval,
 * each preset's held-out gain over the base with a 95% interval of the paired difference (normal
 * approximation over per-prompt outcomes), validation accuracy, mean length and wall time.
 */
export function reasoningSummary(result: ReasoningDemoResult): Record<string, unknown> {
  const base = result.base.heldOutCorrect;
  const n = base.length;
  const wilson = (correct: number[]) => {
    const { low, high } = wilsonInterval(
      correct.reduce((a, b) => a + b, 0),
      n,
    );
    return [low, high];
  };
  const summary: Record<string, unknown> = {
    base: {
      accuracy: result.base.accuracy,
      interval: wilson(base),
      validationAccuracy: result.base.validationAccuracy,
      heldOutPrompts: n,
    },
  };
  for (const [name, run] of Object.entries(result.presets)) {
    const gain = pairedDifferenceInterval(base, run.heldOutCorrect);
    summary[name] = {
      accuracy: run.accuracy,
      interval: wilson(run.heldOutCorrect),
      gain: gain.estimate,
      gainInterval: [gain.low, gain.high],
      validationAccuracy: run.validationAccuracy,
      meanLength: run.meanLength,
      wallSeconds: run.wallSeconds,
      samplesDrawn: run.samplesDrawn,
    };
  }
  return summary;
}

/** `config.json` of an `rlhf grpo` run: what `--resume` rebuilds the run from. */
interface GrpoRunConfig {
  stage: "grpo";
  task: VerifiableTaskName;
  /** A preset name, or the absolute path of a preset file. */
  preset: string;
  presetName: string;
  seed: number;
  samples: number;
  /** The `--set` pairs as given. */
  set: string[];
  checkpointEvery: number;
  totalSteps: number;
  /** Absolute path of the `--model` folder trained instead of the SFT base (absent: the SFT base). */
  model?: string;
  /** `--lora`: the adapters trained on the frozen base (absent or null: every weight trains). */
  lora?: LoraConfig | null;
  /** `--merge`: also write the merged model at the end. */
  merge?: boolean;
}

/** `proximal rlhf grpo`. */
export async function rlhfGrpoCommand(flags: RlhfGrpoFlags): Promise<number> {
  if (flags.resume !== undefined) return resumeGrpo(flags);
  if (!Object.hasOwn(VERIFIABLE_TASKS, flags.task)) {
    const names = Object.keys(VERIFIABLE_TASKS);
    throw new ProximalError(
      "UNKNOWN_NAME",
      `Unknown task "${flags.task}".${didYouMean(flags.task, names)} Tasks: ${names.join(", ")}.`,
    );
  }
  const seed = parseSeed(flags.seed);
  const samples = flags.samples === undefined ? 12_800 : Number(flags.samples);
  if (!Number.isInteger(samples) || samples < 1) {
    throw new ProximalError(
      "INVALID_OPTION",
      `--samples must be a positive integer, got "${flags.samples}".`,
    );
  }
  const stopAfter = positiveFlag(flags.stopAfter, "--stop-after");
  const checkpointEvery = positiveFlag(flags.checkpointEvery, "--checkpoint-every");
  const preset = await loadGrpoPresetConfig(flags.preset);
  parseSetFlags(flags.set);
  const lora = parseLoraFlags(flags);
  // the built-in model is a GPT, whose layer names do not depend on its size: refuse unknown
  // --lora-targets now rather than after the SFT base has trained (a --model folder's are checked
  // against its own layers as soon as it is loaded)
  if (lora !== null && flags.model === undefined)
    loraTargetNames(
      new GPT({ vocabSize: 1, nPositions: 1, nEmbd: 2, nLayer: 1, nHead: 1 }),
      lora.targetModules,
    );
  const presetName = flags.preset.replace(/^.*[/\\]/, "").replace(/\.ya?ml$/, "");
  const out = flags.out ?? `runs/grpo-${flags.task}-${presetName}-seed${seed}`;
  await checkOutDir(out, flags.force, `continue it with --resume ${out}`);
  const isFile = /\.ya?ml$/.test(flags.preset);
  const run = await buildGrpoRun(
    {
      stage: "grpo",
      task: flags.task as VerifiableTaskName,
      preset: isFile ? resolve(flags.preset) : flags.preset,
      presetName,
      seed,
      samples,
      set: flags.set ?? [],
      checkpointEvery: checkpointEvery ?? 0,
      totalSteps: 0,
      lora,
      merge: flags.merge === true,
      ...(flags.model === undefined ? {} : { model: resolve(flags.model) }),
    },
    preset,
  );
  const totalSteps = run.state.trainer.totalSteps;
  const config: GrpoRunConfig = {
    ...run.config,
    checkpointEvery: checkpointEvery ?? Math.max(1, Math.ceil(totalSteps / 10)),
    totalSteps,
  };
  await prepareOutDir(out, flags.force);
  await mkdir(join(out, CHECKPOINTS_DIR), { recursive: true });
  await writeJsonAtomic(join(out, "config.json"), config);
  return grpoLoop(out, { ...run, config }, stopAfter, flags.json === true);
}

/** What a `rlhf grpo` run trains with: its setup, the preset's trainer, and the `--model` folder. */
interface GrpoRun {
  config: GrpoRunConfig;
  setup: ReasoningDemoSetup;
  args: ReasoningPresetArgs;
  state: PresetProgress;
  display: ProgressLine;
  /** The `--model` folder, or null for the SFT base. */
  folder: PolicyFolder | null;
}

/**
 * The demo setup (the SFT base, trained again from the seed, or the `--model` folder's model) and the
 * preset's trainer of a run.
 */
async function buildGrpoRun(config: GrpoRunConfig, preset: GRPOConfig): Promise<GrpoRun> {
  const display = new ProgressLine();
  // the demo's splits and SFT base (stopped at 30% validation accuracy), with this command's budget;
  // with --model, the smaller splits of the demo on a user's model (a real model decodes slowly)
  const defaults = config.model === undefined ? REASONING_DEMO_DEFAULTS : MODEL_REASONING_DEFAULTS;
  const { samples: _demoSamples, evalEvery: _demoEvalEvery, ...demoSetup } = defaults;
  const options = {
    ...demoSetup,
    task: config.task,
    seed: config.seed,
    presets: { [config.presetName]: preset },
    samples: config.samples,
    overrides: parseSetFlags(config.set),
    onProgress: (e: ReasoningDemoProgress) => display.update(e),
  };
  const folder = config.model === undefined ? null : await loadPolicyFolder(config.model);
  // unknown --lora-targets fail before any work, against the model's own layer names
  if (folder !== null && config.lora) loraTargetNames(folder.model, config.lora.targetModules);
  const setup =
    folder === null ? prepareReasoningDemo(options) : prepareReasoningDemoOnModel(options, folder);
  const args = { ...presetArgs(setup, options, config.presetName, preset), lora: config.lora ?? null };
  return { config, setup, args, state: startReasoningPreset(args), display, folder };
}

/**
 * Train the preset one trainer step at a time, checkpointing every `checkpointEvery` optimizer steps
 * (`checkpoints/step-N/`: the trainer's checkpoint and `progress.json`, the result so far; then
 * `latest.json`), stopping with a checkpoint at `--stop-after` or Ctrl-C; at the end write the outputs
 * and the final `checkpoint/`.
 */
async function grpoLoop(
  out: string,
  run: GrpoRun,
  stopAfter: number | undefined,
  json: boolean,
): Promise<number> {
  const { config, state, args, setup } = run;
  const trainer = state.trainer;
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT_INTERRUPTED);
    process.stderr.write(
      "\nproximal: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)\n",
    );
  };
  process.on("SIGINT", onSigint);
  try {
    while (trainer.globalStep < config.totalSteps) {
      const previous = trainer.globalStep;
      continueReasoningPreset(state, args, previous + 1);
      await new Promise<void>((done) => setImmediate(done));
      const step = trainer.globalStep;
      if (step >= config.totalSteps) break;
      const reason =
        interrupts > 0 ? "interrupted" : stopAfter !== undefined && step >= stopAfter ? "stopped" : null;
      if (reason !== null) {
        await writeGrpoCheckpoint(out, state, reason);
        const text = `${reason} at step ${step} of ${config.totalSteps}; checkpoint written. Continue with: proximal rlhf grpo --resume ${out}`;
        if (json)
          process.stdout.write(
            `${JSON.stringify({ event: reason, out, step, totalSteps: config.totalSteps })}\n`,
          );
        else process.stdout.write(`${text}\n`);
        return reason === "interrupted" ? EXIT_INTERRUPTED : 0;
      }
      if (Math.floor(step / config.checkpointEvery) > Math.floor(previous / config.checkpointEvery))
        await writeGrpoCheckpoint(out, state, "running");
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
  setup.result.presets[config.presetName] = finishReasoningPreset(state, args);
  run.display.close();
  await writeOutputs(
    out,
    undefined,
    setup.result,
    `GRPO-family on ${config.task} (seed ${config.seed})`,
    false,
  );
  // the trained policy, its optimizer and sampling state: GRPOTrainer.loadModel(dir) or trainer.load(dir)
  await trainer.save(join(out, "checkpoint"));
  await writeTrainedModel(run, trainer.model, out);
  await writeJsonAtomic(join(out, CHECKPOINTS_DIR, LATEST_FILE), {
    checkpoint: null,
    step: trainer.globalStep,
    status: "finished",
  });
  await removeCheckpoints(out, null);
  printSummary(setup.result, out, json);
  return 0;
}

const PROGRESS_FILE = "progress.json";

/** Where a `--model` run writes its trained policy as a Hugging Face folder. */
export const TRAINED_MODEL_DIR = "model";

/**
 * What a run leaves of its trained policy besides the checkpoint: with `--lora`, the adapter in PEFT's
 * layout in `<out>/adapter` (and with `--merge` the merged model in `<out>/merged`); with `--model`
 * alone, the trained model as a Hugging Face folder in `<out>/model`. A `--model` folder's tokenizer,
 * generation config and token ids go with every folder written.
 */
async function writeTrainedModel(run: GrpoRun, model: PolicyModel, out: string): Promise<void> {
  const { config, folder } = run;
  if (config.lora) {
    const merge = config.merge === true;
    if (folder === null) {
      await writeLoraOutputs(model, out, { merge });
      return;
    }
    await writeLoraOutputs(model, out, { merge: false, baseModelNameOrPath: config.model });
    if (!merge) return;
    mergeLora(model);
    await saveTrainedFolder(folder, model, join(out, "merged"));
  } else if (folder !== null) {
    await saveTrainedFolder(folder, model, join(out, TRAINED_MODEL_DIR));
  }
}

/** `model` (trained from `folder`) as a Hugging Face folder with `folder`'s tokenizer, generation and token-id fields. */
async function saveTrainedFolder(folder: PolicyFolder, model: PolicyModel, dir: string): Promise<void> {
  const { config, tokenizerJson, tokenizerConfig, generationConfig } = folder.pretrained;
  const tokenIds = ["bos_token_id", "eos_token_id", "pad_token_id"].filter((k) => config[k] !== undefined);
  await savePretrained(model, dir, {
    tokenizerJson,
    tokenizerConfig,
    generationConfig,
    configExtra: Object.fromEntries(tokenIds.map((k) => [k, config[k]])),
  });
}

/** `checkpoints/step-N/` (each file atomically), then `latest.json` naming it, then older ones removed. */
async function writeGrpoCheckpoint(out: string, state: PresetProgress, status: string): Promise<void> {
  const step = state.trainer.globalStep;
  const name = `step-${String(step).padStart(8, "0")}`;
  const dir = join(out, CHECKPOINTS_DIR, name);
  await state.trainer.save(dir);
  const accumulated: PresetAccumulated = {
    ...state.accumulated,
    wallSeconds: state.accumulated.wallSeconds + (performance.now() - state.started) / 1000,
  };
  await writeJsonAtomic(join(dir, PROGRESS_FILE), accumulated);
  await writeJsonAtomic(join(out, CHECKPOINTS_DIR, LATEST_FILE), { checkpoint: name, step, status });
  await removeCheckpoints(out, name);
}

async function removeCheckpoints(out: string, keep: string | null): Promise<void> {
  const root = join(out, CHECKPOINTS_DIR);
  for (const name of await readdir(root)) {
    if (/^step-\d+$/.test(name) && name !== keep)
      await rm(join(root, name), { recursive: true, force: true });
  }
}

/** `rlhf grpo --resume <out>`: train the base again from the seed, load the latest checkpoint, continue. */
async function resumeGrpo(flags: RlhfGrpoFlags): Promise<number> {
  const out = flags.resume as string;
  const conflicting = (
    ["out", "force", "seed", "samples", "checkpointEvery", "model", ...LORA_FLAG_KEYS] as const
  )
    .filter((k) => flags[k] !== undefined)
    .map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if ((flags.set ?? []).length > 0) conflicting.push("--set");
  if (conflicting.length > 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--resume continues a run with its saved config.json; drop ${conflicting.join(", ")} (only --task, --preset, --stop-after and --json may accompany it).`,
    );
  }
  const configPath = join(out, "config.json");
  if (!(await exists(configPath))) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${out} is not an rlhf grpo run directory (no config.json). Pass the --out of a stopped \`proximal rlhf grpo\`.`,
    );
  }
  const config = JSON.parse(await readTextFile(configPath)) as GrpoRunConfig;
  if (config.stage !== "grpo") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${out} was written by rlhf ${String(config.stage)}, not rlhf grpo. Continue it with: proximal rlhf ${String(config.stage)} --resume ${out}`,
    );
  }
  if (flags.task !== config.task || (flags.preset !== config.preset && flags.preset !== config.presetName)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${out} trains --task ${config.task} --preset ${config.presetName}, not --task ${flags.task} --preset ${flags.preset}. Pass the run's own, or leave --resume out to start a new run.`,
    );
  }
  const latestPath = join(out, CHECKPOINTS_DIR, LATEST_FILE);
  const latest = (await exists(latestPath))
    ? (JSON.parse(await readTextFile(latestPath)) as {
        checkpoint: string | null;
        step: number;
        status: string;
      })
    : null;
  if (latest?.status === "finished") {
    process.stderr.write(`proximal: ${out} already finished at step ${latest.step}; nothing to resume.\n`);
    return 0;
  }
  if (latest === null || latest.checkpoint === null) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${out} has no checkpoint to resume from (${latestPath} is missing or names none): it stopped before its first checkpoint. Start it again with --force.`,
    );
  }
  const stopAfter = positiveFlag(flags.stopAfter, "--stop-after");
  const run = await buildGrpoRun(config, await loadGrpoPresetConfig(config.preset));
  const dir = join(out, CHECKPOINTS_DIR, latest.checkpoint);
  await run.state.trainer.load(dir);
  run.state.accumulated = JSON.parse(await readTextFile(join(dir, PROGRESS_FILE))) as PresetAccumulated;
  return grpoLoop(out, run, stopAfter, flags.json === true);
}

function positiveFlag(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new ProximalError("INVALID_OPTION", `${flag} must be a positive integer, got "${text}".`);
  return value;
}

/** `proximal rlhf demo reasoning`. */
export async function reasoningDemoCommand(flags: ReasoningDemoFlags): Promise<number> {
  const seed = parseSeed(flags.seed);
  const workers = flags.workers === undefined ? undefined : Number(flags.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `--workers must be a positive integer, got "${flags.workers}".`,
    );
  }
  if (flags.model !== undefined && workers !== undefined) {
    throw new ProximalError(
      "INVALID_OPTION",
      "--workers applies to the built-in model; with --model the presets train one after another in this process (each copy of a real model is large). Drop --workers.",
    );
  }
  const out = flags.out ?? `runs/rlhf-reasoning-seed${seed}`;
  const presets: Record<string, GRPOConfig> = {};
  for (const name of parsePresetList(flags.presets)) presets[name] = await loadGrpoPresetConfig(name);
  await checkOutDir(out, flags.force);
  if (flags.model !== undefined) return reasoningDemoOnModel(flags, seed, out, presets);
  const display = new ProgressLine();
  const result = await runReasoningDemoInParallel({
    seed,
    presets,
    ...(flags.quick ? QUICK_REASONING_OPTIONS : REASONING_DEMO_DEFAULTS),
    workers,
    onProgress: (e) => display.update(e),
  });
  display.close();
  await writeOutputs(
    out,
    flags.force,
    result,
    `Reasoning demo (${result.task}, seed ${seed}): validation accuracy`,
  );
  printSummary(result, out, flags.json === true);
  return 0;
}

/** `rlhf demo reasoning --model <dir>`: every preset from the folder's model, one after another. */
async function reasoningDemoOnModel(
  flags: ReasoningDemoFlags,
  seed: number,
  out: string,
  presets: Record<string, GRPOConfig>,
): Promise<number> {
  const folder = await loadPolicyFolder(flags.model as string);
  const display = new ProgressLine();
  const options = {
    ...(flags.quick ? QUICK_REASONING_OPTIONS : MODEL_REASONING_DEFAULTS),
    seed,
    presets,
    onProgress: (e: ReasoningDemoProgress) => display.update(e),
  };
  const setup = prepareReasoningDemoOnModel(options, folder);
  for (const [name, preset] of Object.entries(presets)) {
    setup.result.presets[name] = runReasoningPreset(presetArgs(setup, options, name, preset));
  }
  display.close();
  await writeOutputs(
    out,
    flags.force,
    setup.result,
    `Reasoning demo (${setup.result.task}, ${flags.model}, seed ${seed}): validation accuracy`,
  );
  printSummary(setup.result, out, flags.json === true);
  return 0;
}

/** `--presets grpo,dapo` as preset names in the demo's order; an unknown name is `UNKNOWN_NAME`. */
export function parsePresetList(value: string | undefined): string[] {
  if (value === undefined) return [...REASONING_DEMO_PRESETS];
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  for (const name of names) {
    if (!(REASONING_DEMO_PRESETS as readonly string[]).includes(name)) {
      throw new ProximalError(
        "UNKNOWN_NAME",
        `--presets: unknown preset "${name}".${didYouMean(name, REASONING_DEMO_PRESETS)} Presets: ${REASONING_DEMO_PRESETS.join(", ")}.`,
      );
    }
  }
  if (names.length === 0) {
    throw new ProximalError("INVALID_OPTION", `--presets needs at least one preset name, got "${value}".`);
  }
  return REASONING_DEMO_PRESETS.filter((name) => names.includes(name));
}

/** Files of `<out>/splits/`, by split. */
export const SPLIT_FILES = {
  sft: "sft.jsonl",
  train: "train.jsonl",
  validation: "validation.jsonl",
  heldOut: "heldout.jsonl",
} as const;

/** Replace (with `--force`) or create `out`, then write each file atomically. */
async function writeOutputs(
  out: string,
  force: boolean | undefined,
  result: ReasoningDemoResult,
  title: string,
  prepare = true,
): Promise<void> {
  if (prepare) await prepareOutDir(out, force);
  // each step's metrics go to <preset>.jsonl (one line a step, as the stages' metrics.jsonl), so
  // results.json stays small enough to read: the summary and the accuracy curves
  const presets: Record<string, Omit<PresetRun, "history">> = {};
  for (const [name, { history, ...run }] of Object.entries(result.presets)) {
    presets[name] = run;
    await writeFileAtomic(
      join(out, `${name}.jsonl`),
      history.map((row) => `${JSON.stringify(row)}\n`).join(""),
    );
  }
  const { splits, ...summary } = result;
  await mkdir(join(out, "splits"), { recursive: true });
  const task = makeVerifiableTask(result.task);
  for (const [split, file] of Object.entries(SPLIT_FILES)) {
    const prompts = splits[split as keyof typeof SPLIT_FILES];
    await writeFileAtomic(
      join(out, "splits", file),
      prompts.map((prompt) => `${JSON.stringify({ prompt, answer: task.answer(prompt) })}\n`).join(""),
    );
  }
  await writeJsonAtomic(join(out, "results.json"), { ...summary, presets });
  const scene = accuracyFigure(result, title);
  await writeFileAtomic(join(out, "accuracy.svg"), sceneToSvg(scene));
  await writeFileAtomic(join(out, "accuracy.png"), encodePng(rasterize(scene, 2)));
}

function printSummary(result: ReasoningDemoResult, out: string, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(reasoningSummary(result))}\n`);
    return;
  }
  const summary = reasoningSummary(result) as Record<
    string,
    {
      accuracy: number;
      interval: number[];
      validationAccuracy: number;
      gain?: number;
      gainInterval?: number[];
    }
  >;
  const pct = (x: number) => `${(100 * x).toFixed(1)}`;
  const n = result.base.heldOutCorrect.length;
  const lines = [`held-out accuracy on ${n} prompts [95% Wilson]; gain [95% paired]; validation accuracy`];
  for (const [name, row] of Object.entries(summary)) {
    const gain =
      row.gain === undefined || row.gainInterval === undefined
        ? ""
        : `  gain ${row.gain >= 0 ? "+" : ""}${pct(row.gain)} [${pct(row.gainInterval[0])}, ${pct(row.gainInterval[1])}]`;
    const wall = name === "base" ? "" : `  ${formatDuration(result.presets[name].wallSeconds)}`;
    lines.push(
      `${(name === "base" ? "base (SFT)" : name).padEnd(14)} ${pct(row.accuracy)}% [${pct(row.interval[0])}, ${pct(row.interval[1])}]${gain}  validation ${pct(row.validationAccuracy)}%${wall}`,
    );
  }
  lines.push(
    `wrote ${join(out, "results.json")}, accuracy.svg, accuracy.png, <preset>.jsonl, splits/*.jsonl`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** One progress line per stage on stderr. */
class ProgressLine {
  private readonly start = Date.now();
  /** When each stage last printed: presets trained in parallel interleave their events. */
  private readonly lastDraw = new Map<string, number>();

  update(e: ReasoningDemoProgress): void {
    const now = Date.now();
    const finished = e.step >= e.total;
    const last = this.lastDraw.get(e.stage);
    if (last !== undefined && !finished && now - last < 5000) return;
    this.lastDraw.set(e.stage, now);
    const metrics = Object.entries(e.metrics ?? {})
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join("  ");
    process.stderr.write(
      `[${formatDuration((now - this.start) / 1000)}] ${e.stage} ${e.step}/${e.total}  ${metrics}\n`,
    );
  }

  close(): void {}
}

const COLORS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442"];

/** Validation accuracy against sampled completions, one line per preset, the SFT base dashed. */
export function accuracyFigure(result: ReasoningDemoResult, title: string): Scene {
  const width = 760;
  const height = 400;
  const box = { x: 70, y: 50, width: 500, height: 290 };
  const shapes: Shape[] = [
    { kind: "text", x: width / 2, y: 22, text: title, size: "title", anchor: "middle", color: "#222222" },
    { kind: "rect", ...box, fill: "#fafafa", stroke: "#bbbbbb" },
  ];
  const runs = Object.entries(result.presets);
  const maxSamples = Math.max(1, ...runs.flatMap(([, r]) => r.curve.map((p) => p.samples)));
  const accuracies = [
    result.base.validationAccuracy,
    ...runs.flatMap(([, r]) => r.curve.map((p) => p.accuracy)),
  ];
  const xTicks = niceTicks(0, maxSamples, 5).filter((t) => t <= maxSamples);
  const yTicks = niceTicks(
    Math.max(0, Math.min(...accuracies) - 0.05),
    Math.min(1, Math.max(...accuracies) + 0.05),
    5,
  );
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const sx = (x: number) => box.x + (x / maxSamples) * box.width;
  const sy = (y: number) => box.y + box.height - ((y - y0) / (y1 - y0)) * box.height;
  gridShapes(shapes, box, xTicks, yTicks, sx, sy);
  shapes.push({
    kind: "text",
    x: box.x + box.width,
    y: box.y + box.height + 30,
    text: "completions drawn",
    size: "normal",
    anchor: "end",
    color: "#222222",
  });
  shapes.push({
    kind: "line",
    points: [
      [sx(0), sy(result.base.validationAccuracy)],
      [sx(maxSamples), sy(result.base.validationAccuracy)],
    ],
    stroke: "#888888",
    width: 1,
    dashed: true,
    data: { preset: "base" },
  });
  const legend = [["SFT base", "#888888"], ...runs.map(([name], i) => [name, COLORS[i % COLORS.length]])];
  runs.forEach(([name, run], i) => {
    shapes.push({
      kind: "line",
      points: run.curve.map((p): Point => [sx(p.samples), sy(p.accuracy)]),
      stroke: COLORS[i % COLORS.length],
      width: 2,
      data: { preset: name },
    });
  });
  legend.forEach(([name, color], i) => {
    const y = box.y + 10 + i * 20;
    shapes.push({
      kind: "line",
      points: [
        [box.x + box.width + 20, y],
        [box.x + box.width + 44, y],
      ],
      stroke: color,
      width: 2,
    });
    shapes.push({
      kind: "text",
      x: box.x + box.width + 50,
      y: y + 4,
      text: name,
      size: "normal",
      anchor: "start",
      color: "#222222",
    });
  });
  return { width, height, background: "#ffffff", shapes };
}

/** Add `grpo` to the `rlhf` command group. */
export function registerRlhfGrpoCommand(rlhf: Command, setStatus: (code: number) => void): void {
  const grpo = rlhf
    .command("grpo")
    .description("RL with verifiable rewards: a GRPO-family preset on a shipped task, from an SFT base")
    .requiredOption("--task <task>", `the task: ${Object.keys(VERIFIABLE_TASKS).join(", ")}`)
    .requiredOption("--preset <name>", `a preset (${REASONING_DEMO_PRESETS.join(", ")}) or a .yaml path`)
    .option(
      "--out <dir>",
      "directory for results.json, <preset>.jsonl, the plot and the checkpoint (default runs/grpo-<task>-<preset>-seed<n>)",
    )
    .option("--force", "replace an existing --out directory")
    .option("--seed <n>", "seed of the splits, the SFT base and the sampling (default 0)")
    .option("--samples <n>", "completions to train on (default 12800; DAPO's dynamic sampling draws more)")
    .option("--set <key=value...>", "override a GRPOConfig field, e.g. --set learningRate=1e-4")
    .option(
      "--checkpoint-every <n>",
      "write a checkpoint every n optimizer steps (default: a tenth of the run)",
    )
    .option(
      "--stop-after <n>",
      "stop after n optimizer steps with a checkpoint, as Ctrl-C would; continue with --resume",
    )
    .option("--resume <dir>", "continue a stopped or interrupted run in place, to its planned total")
    .option(
      "--model <dir>",
      "train this Hugging Face model folder (Llama 3.x, SmolLM2, Qwen2/2.5, Qwen3, GPT-2; with tokenizer.json) instead of the SFT base; the trained policy is also written to <out>/model (with --lora: <out>/adapter)",
    )
    .option("--json", "print the summary as one JSON object");
  addLoraOptions(grpo).action(async (options: RlhfGrpoFlags) => {
    setStatus(await rlhfGrpoCommand(options));
  });
}
