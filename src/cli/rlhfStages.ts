/**
 * `proximal rlhf sft|reward|dpo|kto|ppo`: each RLHF stage on user data in JSON Lines, one command per
 * trainer of `src/rlhf` (the stages of Ouyang et al. 2022, arXiv:2203.02155, Figure 2, plus DPO/IPO
 * and KTO). Formats, one object per line (extra fields are ignored):
 * - `sft`: `{"prompt", "response"}`;
 * - `reward`, `dpo`: `{"prompt", "chosen", "rejected"}`;
 * - `kto`: `{"prompt", "completion", "label"}` (label true = desirable);
 * - `ppo`: `{"prompt"}` (PPO samples its own responses; SFT rows work too).
 *
 * Conventions follow `proximal train`: every check (flags, `--set` keys and types, each JSONL row,
 * each row's text against the tokenizer, the models to start from, the trainer config) runs before a
 * byte is written, so bad input exits 2 with one message and leaves nothing behind; an existing
 * `--out` needs `--force`. Progress is one JSON line per logging step on stdout when it is not a
 * terminal (or with `--json`), a redrawn bar otherwise; the last line is the summary
 * (`{"event": "done", ...}`).
 *
 * Checkpoints, as `train`: `checkpoints/step-N/` every `--checkpoint-every` steps (PPO: updates;
 * default a tenth of the run), the newest named by `checkpoints/latest.json`, each file written
 * atomically and the older checkpoint removed only once the new one is complete. `--stop-after N`
 * and Ctrl-C stop after the current step with a checkpoint; `--resume <out>` rebuilds the trainer
 * from `config.json` (its `resume` record: absolute input paths, resolved options, seed, split,
 * planned total) and the checkpoint, and continues to the planned total: the final weights are
 * bit-identical to an uninterrupted run's. The trainer's `load` refuses a checkpoint of another
 * config, other rows or other models, naming the field.
 *
 * Each finished `--out` directory holds `model.safetensors` + `model.json` (the trainer's checkpoint:
 * the trained model under its own names, so `SFTTrainer.loadModel` / `RewardTrainer.loadModel` /
 * `PPOTrainer.loadModel` read it; PPO's also holds the critic, read by `PPOTrainer.loadCritic`),
 * `tokenizer.json`, `config.json` (stage, data, resolved options, summary) and `metrics.jsonl` (one
 * row per logging step). Any policy output (sft, dpo, kto, ppo) can be the `--sft` of a later stage or
 * the `--model` of another `sft`.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { didYouMean, ProximalError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomicWrite.js";
import { loadCheckpoint } from "../io/checkpoint.js";
import { Rng } from "../random/rng.js";
import { ByteLevelBPETokenizer, type TokenizerJson } from "../rlhf/byteLevelBpeTokenizer.js";
import { CharTokenizer } from "../rlhf/charTokenizer.js";
import {
  type JsonlFormats,
  type PreferenceRow,
  type PromptResponseRow,
  parseJsonl,
  readTextFile,
  type UnpairedPreferenceRow,
} from "../rlhf/common/data.js";
import { comparisonKey, completionKey, splitByKey } from "../rlhf/common/heldOut.js";
import { GPTRewardModel } from "../rlhf/common/rewardHead.js";
import type { OnStep, Trainer } from "../rlhf/common/trainer.js";
import { modelTensors } from "../rlhf/common/trainerCheckpoint.js";
import type { ResolvedTrainingConfig } from "../rlhf/common/trainingConfig.js";
import { DPO_DEFAULTS } from "../rlhf/dpo/dpoConfig.js";
import { DPOTrainer } from "../rlhf/dpo/dpoTrainer.js";
import { KTO_DEFAULTS } from "../rlhf/dpo/ktoConfig.js";
import { KTOTrainer } from "../rlhf/dpo/ktoTrainer.js";
import { GPT, type GPTConfig } from "../rlhf/gpt.js";
import { type PPOConfig, type ResolvedPPOConfig, resolvePPOConfig } from "../rlhf/ppo/ppoConfig.js";
import { PPOTrainer } from "../rlhf/ppo/ppoTrainer.js";
import { REWARD_DEFAULTS } from "../rlhf/reward/rewardConfig.js";
import { RewardTrainer } from "../rlhf/reward/rewardTrainer.js";
import { SFT_DEFAULTS, type SFTConfig } from "../rlhf/sft/sftConfig.js";
import { SFTTrainer } from "../rlhf/sft/sftTrainer.js";
import type { Tokenizer } from "../rlhf/tokenizer.js";
import { VERSION } from "../version.js";
import { parseAssignment } from "./config.js";
import { checkOutDir, prepareOutDir } from "./outputDir.js";
import { formatDuration } from "./progress.js";
import { CHECKPOINTS_DIR, exists, LATEST_FILE } from "./runDirectory.js";
import { EXIT_INTERRUPTED } from "./train.js";

/** Flags of the stage commands as commander hands them over (strings, validated here). */
export interface RlhfStageFlags {
  data?: string;
  prompts?: string;
  out?: string;
  force?: boolean;
  set?: string[];
  seed?: string;
  json?: boolean;
  evalFraction?: string;
  sft?: string;
  reward?: string;
  tokenizer?: string;
  vocabSize?: string;
  model?: string;
  layers?: string;
  width?: string;
  heads?: string;
  context?: string;
  updates?: string;
  batchSize?: string;
  checkpointEvery?: string;
  stopAfter?: string;
  resume?: string;
}

/** The stages, in pipeline order. */
export type RlhfStage = "sft" | "reward" | "dpo" | "kto" | "ppo";

export const TOKENIZER_FILE = "tokenizer.json";
export const RUN_CONFIG_FILE = "config.json";
export const METRICS_FILE = "metrics.jsonl";

/** Trainers whose checkpoints hold a policy GPT (`gptConfig` + the GPT's own tensor names). */
const POLICY_TRAINERS = ["SFTTrainer", "DPOTrainer", "KTOTrainer", "PPOTrainer"];

/**
 * Sizes of a GPT trained from scratch by `rlhf sft` when no `--model` is given: small enough for a
 * laptop CPU (the sentiment demo's model).
 */
export const DEFAULT_NEW_MODEL = { nLayer: 2, nEmbd: 64, nHead: 4, nPositions: 128 } as const;

/**
 * Learning rate of `rlhf sft` on a model trained from scratch. Not TRL's: its 2e-5 assumes a
 * pretrained model and leaves a randomly initialised one where it started; `--set learningRate=...`
 * overrides it.
 */
export const SCRATCH_SFT_LEARNING_RATE = 1e-3;

/** Add `sft`, `reward`, `dpo`, `kto` and `ppo` to the `rlhf` command group. */
export function registerRlhfStageCommands(rlhf: Command, setStatus: (code: number) => void): void {
  const collect = (value: string, previous: string[]) => [...previous, value];
  const common = (command: Command, configName: string, unit: string): Command =>
    command
      .option(
        "--out <dir>",
        "directory for the model, tokenizer.json, config.json, metrics.jsonl and checkpoints/ (required)",
      )
      .option("--force", "replace an existing --out directory")
      .option(
        "--set <key=value>",
        `override one ${configName} field, e.g. learningRate=1e-4 (repeatable)`,
        collect,
        [],
      )
      .option(
        "--seed <n>",
        "seed of the row order, the held-out split and new weights (default: the config's)",
      )
      .option("--checkpoint-every <n>", `write a checkpoint every n ${unit} (default: a tenth of the run)`)
      .option(
        "--stop-after <n>",
        `stop after n ${unit} with a checkpoint, as Ctrl-C would; continue with --resume`,
      )
      .option("--resume <dir>", "continue a stopped or interrupted run in place, to its planned total")
      .option("--json", "JSON lines on stdout even on a terminal; the last one is the summary");
  const action = (stage: RlhfStage) => async (flags: RlhfStageFlags) => {
    setStatus(await rlhfStageCommand(stage, flags));
  };

  common(
    rlhf
      .command("sft")
      .description("supervised fine-tuning on {prompt, response} rows (loss on responses only)")
      .option("--data <file.jsonl>", 'rows {"prompt", "response"} (required)'),
    "SFTConfig",
    "steps",
  )
    .option(
      "--tokenizer <kind>",
      "char (one id per character of the data), bpe (byte-level BPE trained on the data) or a tokenizer.json (default: --model's, else char)",
    )
    .option("--vocab-size <n>", "ids of a BPE trained with --tokenizer bpe (default 512)")
    .option(
      "--model <path>",
      "start from a saved policy directory, or a GPT-2 .safetensors file (with --heads)",
    )
    .option("--layers <n>", `blocks of a new model (default ${DEFAULT_NEW_MODEL.nLayer})`)
    .option("--width <n>", `width of a new model (default ${DEFAULT_NEW_MODEL.nEmbd})`)
    .option("--heads <n>", `attention heads (default ${DEFAULT_NEW_MODEL.nHead})`)
    .option("--context <n>", `positions of a new model (default ${DEFAULT_NEW_MODEL.nPositions})`)
    .option("--eval-fraction <x>", "fraction of rows held out for evaluation (default 0)")
    .action(action("sft"));

  common(
    rlhf
      .command("reward")
      .description("reward model (Bradley-Terry) on {prompt, chosen, rejected} rows, from the SFT trunk")
      .option("--data <file.jsonl>", 'rows {"prompt", "chosen", "rejected"} (required)')
      .option("--sft <dir>", "the SFT output whose trunk the reward model starts from (required)"),
    "RewardConfig",
    "steps",
  )
    .option("--eval-fraction <x>", "fraction of pairs held out for the accuracy (default 0.1)")
    .action(action("reward"));

  common(
    rlhf
      .command("dpo")
      .description("DPO or IPO (--set loss=ipo) on {prompt, chosen, rejected} rows, from the SFT model")
      .option("--data <file.jsonl>", 'rows {"prompt", "chosen", "rejected"} (required)')
      .option("--sft <dir>", "the SFT output: the policy to train and its frozen reference (required)"),
    "DPOConfig",
    "steps",
  )
    .option("--eval-fraction <x>", "fraction of pairs held out for the preference accuracy (default 0)")
    .action(action("dpo"));

  common(
    rlhf
      .command("kto")
      .description("KTO on unpaired {prompt, completion, label} rows, from the SFT model")
      .option(
        "--data <file.jsonl>",
        'rows {"prompt", "completion", "label"} (label true = desirable) (required)',
      )
      .option("--sft <dir>", "the SFT output: the policy to train and its frozen reference (required)"),
    "KTOConfig",
    "steps",
  )
    .option("--eval-fraction <x>", "fraction of rows held out for evaluation (default 0)")
    .action(action("kto"));

  common(
    rlhf
      .command("ppo")
      .description("PPO with actor, critic, reward and reference models on {prompt} rows")
      .option("--prompts <file.jsonl>", 'rows {"prompt"} (other fields are ignored) (required)')
      .option("--sft <dir>", "the SFT output: actor and frozen reference (required)")
      .option("--reward <dir>", "the reward output: frozen reward model and the critic's start (required)"),
    "PPOConfig",
    "updates",
  )
    .option("--updates <n>", "PPO updates (default: one pass over the prompts)")
    .option("--batch-size <n>", "prompts per update, a multiple of miniBatchSize (default: miniBatchSize)")
    .action(action("ppo"));
}

/** Run one stage; resolves to the exit status. */
export async function rlhfStageCommand(stage: RlhfStage, flags: RlhfStageFlags): Promise<number> {
  if (flags.resume !== undefined) return resumeStage(stage, flags);
  switch (stage) {
    case "sft":
      return sftStage(flags);
    case "reward":
    case "dpo":
    case "kto":
      return preferenceStage(stage, flags);
    case "ppo":
      return ppoStage(flags);
    default:
      stage satisfies never;
      throw new ProximalError("INTERNAL", `rlhf: unknown stage ${String(stage)}; please report this bug.`);
  }
}

// ============================================================================================
// stages

/**
 * What a run needs besides its models, saved in `config.json` as `resume` so `--resume` rebuilds
 * the same trainer: absolute paths of the inputs, the resolved options, the seed, the split and the
 * planned total.
 */
interface ResumeInputs {
  data: string;
  sft: string | null;
  reward: string | null;
  seed: number;
  evalFraction: number;
  /** The trainer's resolved config. */
  options: Record<string, unknown>;
  checkpointEvery: number;
  totalSteps: number;
  /** `rlhf ppo` only. */
  batchSize: number | null;
}

/** Where a stage's models come from: the flags of a new run, or the checkpoint of one being resumed. */
type StageSource =
  | { kind: "new"; flags: RlhfStageFlags }
  | {
      kind: "resume";
      flags: RlhfStageFlags;
      out: string;
      saved: Record<string, unknown>;
      inputs: ResumeInputs;
      /** `checkpoints/step-N/`, and its `model.json`. */
      checkpoint: string;
      checkpointJson: Record<string, unknown>;
    };

async function sftStage(flags: RlhfStageFlags): Promise<number> {
  const out = await checkOut(flags);
  const data = await readRows(requireFlag(flags.data, "--data", "sft"), "promptResponse");
  const fromScratch = flags.model === undefined;
  const defaults = fromScratch ? { ...SFT_DEFAULTS, learningRate: SCRATCH_SFT_LEARNING_RATE } : SFT_DEFAULTS;
  const given = parseSets(flags.set ?? [], defaults, "sft", "SFTConfig");
  const seed = resolveSeed(flags, given, defaults.seed);
  const start = await startingModel(flags, data.rows, seed);
  checkEncodable(start.tokenizer, data, ["prompt", "response"]);
  return runSft({ kind: "new", flags }, out, data, start, { ...defaults, ...given, seed }, given, {
    seed,
    evalFraction: evalFraction(flags, 0),
    origin: { model: flags.model ?? null, tokenizer: start.tokenizerSource, gptConfig: start.gpt.config },
  });
}

async function runSft(
  source: StageSource,
  out: string,
  data: JsonlRows<PromptResponseRow>,
  start: { gpt: GPT; tokenizer: Tokenizer; tokenizerText: string },
  config: SFTConfig,
  given: Record<string, unknown>,
  run: { seed: number; evalFraction: number; origin: Record<string, unknown> },
): Promise<number> {
  const { train, held } = splitRows(data.rows, HELD_OUT_KEYS.sft, run.evalFraction, run.seed);
  const progress = new StepSink();
  const trainer = new SFTTrainer({
    model: start.gpt,
    tokenizer: start.tokenizer,
    trainDataset: train,
    config,
    onStep: progress.onStep,
  });
  return runSupervised({
    stage: "sft",
    source,
    progress,
    out,
    trainer,
    evalRows: held,
    trainRows: train.length,
    tokenizerText: start.tokenizerText,
    given,
    origin: run.origin,
    data: data.path,
    inputs: {
      data: resolve(data.path),
      sft: null,
      reward: null,
      seed: run.seed,
      evalFraction: run.evalFraction,
    },
    headline: (last, evaluation) => ({
      loss: last["train/loss"] ?? null,
      evalLoss: evaluation?.["eval/loss"] ?? null,
    }),
  });
}

async function preferenceStage(stage: "reward" | "dpo" | "kto", flags: RlhfStageFlags): Promise<number> {
  const out = await checkOut(flags);
  const dataPath = requireFlag(flags.data, "--data", stage);
  const sftDir = requireFlag(flags.sft, "--sft", stage);
  const defaults = stage === "reward" ? REWARD_DEFAULTS : stage === "dpo" ? DPO_DEFAULTS : KTO_DEFAULTS;
  const configName = { reward: "RewardConfig", dpo: "DPOConfig", kto: "KTOConfig" }[stage];
  const given = parseSets(flags.set ?? [], defaults, stage, configName);
  const seed = resolveSeed(flags, given, defaults.seed);
  const fraction = evalFraction(flags, stage === "reward" ? 0.1 : 0);
  const policy = await loadPolicy(sftDir, "--sft");
  return runPreference(stage, { kind: "new", flags }, out, {
    dataPath,
    sftDir,
    policy,
    config: { ...defaults, ...given, seed },
    given,
    seed,
    fraction,
    tokenizerHint: tokenizerHint(sftDir),
    model: stage === "reward" ? new GPTRewardModel(policy.gpt, { rng: new Rng(seed) }) : policy.gpt,
  });
}

interface PreferenceInputs {
  dataPath: string;
  sftDir: string;
  policy: { gpt: GPT; tokenizer: Tokenizer; tokenizerText: string };
  /** The reward model (reward) or the policy (dpo, kto) to train. */
  model: GPT | GPTRewardModel;
  config: Record<string, unknown>;
  given: Record<string, unknown>;
  seed: number;
  fraction: number;
  tokenizerHint: string;
}

async function runPreference(
  stage: "reward" | "dpo" | "kto",
  source: StageSource,
  out: string,
  p: PreferenceInputs,
): Promise<number> {
  const progress = new StepSink();
  const onStep = progress.onStep;
  const common = {
    stage,
    source,
    progress,
    out,
    tokenizerText: p.policy.tokenizerText,
    given: p.given,
    origin: { sft: p.sftDir, gptConfig: p.policy.gpt.config },
    data: p.dataPath,
    inputs: {
      data: resolve(p.dataPath),
      sft: resolve(p.sftDir),
      reward: null,
      seed: p.seed,
      evalFraction: p.fraction,
    },
  };
  const tokenizer = p.policy.tokenizer;

  if (stage === "kto") {
    const data = await readRows(p.dataPath, "unpairedPreference");
    checkEncodable(tokenizer, data, ["prompt", "completion"], p.tokenizerHint);
    const { train, held } = splitRows(data.rows, HELD_OUT_KEYS.kto, p.fraction, p.seed);
    const trainer = new KTOTrainer({
      model: p.model as GPT,
      tokenizer,
      trainDataset: train,
      config: p.config,
      onStep,
    });
    return runSupervised({
      ...common,
      trainer,
      evalRows: held,
      trainRows: train.length,
      headline: (last, evaluation) => ({
        loss: last["train/loss"] ?? null,
        evalLoss: evaluation?.["eval/loss"] ?? null,
      }),
    });
  }
  const data = await readRows(p.dataPath, "preference");
  checkEncodable(tokenizer, data, ["prompt", "chosen", "rejected"], p.tokenizerHint);
  const { train, held } = splitRows(data.rows, HELD_OUT_KEYS[stage], p.fraction, p.seed);
  if (stage === "reward") {
    const trainer = new RewardTrainer({
      model: p.model as GPTRewardModel,
      tokenizer,
      trainDataset: train,
      config: p.config,
      onStep,
    });
    return runSupervised({
      ...common,
      trainer,
      evalRows: held,
      trainRows: train.length,
      headline: (last, evaluation) => ({
        loss: last["train/loss"] ?? null,
        accuracy: last["train/accuracy"] ?? null,
        heldOutAccuracy: evaluation?.["eval/accuracy"] ?? null,
      }),
    });
  }
  const trainer = new DPOTrainer({
    model: p.model as GPT,
    tokenizer,
    trainDataset: train,
    config: p.config,
    onStep,
  });
  return runSupervised({
    ...common,
    trainer,
    evalRows: held,
    trainRows: train.length,
    headline: (last, evaluation) => ({
      loss: last["train/loss"] ?? null,
      margin: last["rewards/margin"] ?? null,
      heldOutAccuracy: evaluation?.["rewards/accuracy"] ?? null,
    }),
  });
}

/** The `onStep` given to a trainer, forwarding to a handler set once the run starts. */
class StepSink {
  handler: OnStep | null = null;
  readonly onStep: OnStep = (log) => this.handler?.(log);
}

interface SupervisedRun<Row> {
  stage: RlhfStage;
  source: StageSource;
  progress: StepSink;
  out: string;
  trainer: Trainer<Row, ResolvedTrainingConfig>;
  evalRows: Row[];
  trainRows: number;
  tokenizerText: string;
  given: Record<string, unknown>;
  origin: Record<string, unknown>;
  data: string;
  inputs: Omit<ResumeInputs, "options" | "checkpointEvery" | "totalSteps" | "batchSize">;
  /** The few numbers the summary leads with. */
  headline: (
    last: Record<string, number>,
    evaluation: Record<string, number> | null,
  ) => Record<string, number | null>;
}

/**
 * Train (checkpointing on the way, see {@link trainWithCheckpoints}), evaluate on the held-out rows,
 * then write the model, metrics and summary.
 */
async function runSupervised<Row>(run: SupervisedRun<Row>): Promise<number> {
  const { stage, out, trainer } = run;
  const reporter = new StageReporter(stage, run.source.flags.json === true);
  const runConfig = {
    proximalVersion: VERSION,
    stage,
    data: run.data,
    ...run.origin,
    options: trainer.config,
    givenOptions: run.given,
  };
  let last: Record<string, number> = {};
  const session = await startSession({
    source: run.source,
    stage,
    out,
    reporter,
    totalSteps: trainer.totalSteps,
    tokenizerText: run.tokenizerText,
    runConfig,
    inputs: { ...run.inputs, options: trainer.config, batchSize: null },
    load: (dir) => trainer.load(dir),
    startFields: { data: run.data, trainRows: run.trainRows, evalRows: run.evalRows.length },
    startText: `${run.trainRows} training rows${run.evalRows.length > 0 ? `, ${run.evalRows.length} held out` : ""}, ${trainer.totalSteps} steps`,
  });
  // the trainers' loop is synchronous: progress is reported from its onStep callback
  run.progress.handler = (log) => {
    last = log.metrics;
    session.metrics.push({ step: log.step, ...log.metrics });
    reporter.update(log.step, log.totalSteps, log.metrics);
    return true;
  };
  const outcome = await trainWithCheckpoints(session, {
    step: () => trainer.globalStep,
    advance: () => {
      trainer.train({ untilStep: trainer.globalStep + 1 });
    },
    save: (dir) => trainer.save(dir),
  });
  if (outcome !== null) return outcome;
  const evaluation = run.evalRows.length > 0 ? trainer.evaluate(run.evalRows) : null;
  const summary = {
    stage,
    out,
    steps: trainer.globalStep,
    trainRows: run.trainRows,
    evalRows: run.evalRows.length,
    ...run.headline(last, evaluation),
    train: last,
    eval: evaluation,
  };
  await trainer.save(out);
  await finishSession(session, summary);
  reporter.done(summary, doneText(stage, out, summary));
  return 0;
}

async function ppoStage(flags: RlhfStageFlags): Promise<number> {
  const out = await checkOut(flags);
  const promptsPath = requireFlag(flags.prompts, "--prompts", "ppo");
  const sftDir = requireFlag(flags.sft, "--sft", "ppo");
  const rewardDir = requireFlag(flags.reward, "--reward", "ppo");
  const defaults = resolvePPOConfig({});
  const given = parseSets(flags.set ?? [], defaults, "ppo", "PPOConfig");
  const seed = resolveSeed(flags, given, defaults.seed);
  const config = resolvePPOConfig({ ...given, seed });
  const batchSize = positiveInteger(flags.batchSize, "--batch-size") ?? config.miniBatchSize;
  if (batchSize % config.miniBatchSize !== 0) {
    throw new ProximalError(
      "INVALID_OPTION",
      `--batch-size (${batchSize}) must be a multiple of miniBatchSize (${config.miniBatchSize}). Pass --batch-size ${config.miniBatchSize * Math.max(1, Math.round(batchSize / config.miniBatchSize))} or --set miniBatchSize=<a divisor of ${batchSize}>.`,
    );
  }
  const policy = await loadPolicy(sftDir, "--sft");
  return runPpo({ kind: "new", flags }, out, {
    promptsPath,
    sftDir,
    rewardDir,
    actor: policy.gpt,
    tokenizer: policy.tokenizer,
    tokenizerText: policy.tokenizerText,
    config,
    given,
    seed,
    batchSize,
    updates: positiveInteger(flags.updates, "--updates"),
  });
}

interface PpoInputs {
  promptsPath: string;
  sftDir: string;
  rewardDir: string;
  actor: GPT;
  tokenizer: Tokenizer;
  tokenizerText: string;
  config: ResolvedPPOConfig;
  given: Record<string, unknown>;
  seed: number;
  batchSize: number;
  /** Default: one pass over the prompts. */
  updates: number | undefined;
}

async function runPpo(source: StageSource, out: string, p: PpoInputs): Promise<number> {
  const { config, tokenizer, sftDir, rewardDir, promptsPath, batchSize } = p;
  const data = await readRows(promptsPath, "prompt");
  const reward = await loadRewardModel(rewardDir);
  if (reward.tokenizerText !== p.tokenizerText) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${join(rewardDir, TOKENIZER_FILE)} differs from ${source.kind === "new" ? join(sftDir, TOKENIZER_FILE) : join(out, TOKENIZER_FILE)}: the reward model must read the actor's tokens. Train it with \`proximal rlhf reward --sft ${sftDir}\`.`,
    );
  }
  checkEncodable(tokenizer, data, ["prompt"], tokenizerHint(sftDir));
  const context = Math.min(p.actor.config.nPositions, reward.model.transformer.config.nPositions);
  const promptRoom = context - config.maxNewTokens;
  if (promptRoom < 2) {
    throw new ProximalError(
      "INVALID_OPTION",
      `maxNewTokens (${config.maxNewTokens}) leaves ${Math.max(promptRoom, 0)} of the models' ${context} positions for the prompt. Lower it, e.g. --set maxNewTokens=${Math.max(1, Math.floor(context / 2))}.`,
    );
  }
  // bos + prompt, keeping the prompt's end when it is too long (TRL truncates prompts from the left)
  let truncated = 0;
  const prompts = data.rows.map((row) => {
    const ids = [tokenizer.bosTokenId, ...tokenizer.encode(row.prompt)];
    if (ids.length <= promptRoom) return ids;
    truncated++;
    return ids.slice(ids.length - promptRoom);
  });
  const updates = p.updates ?? Math.ceil(prompts.length / batchSize);
  // prompts in a seeded order, reshuffled after each pass (as the trainers' row order)
  const trainer = new PPOTrainer({ actor: p.actor, rewardModel: reward.model }, config, tokenizer, {
    trainDataset: prompts,
  });

  const reporter = new StageReporter("ppo", source.flags.json === true);
  const session = await startSession({
    source,
    stage: "ppo",
    out,
    reporter,
    totalSteps: updates,
    tokenizerText: p.tokenizerText,
    runConfig: {
      proximalVersion: VERSION,
      stage: "ppo",
      data: promptsPath,
      sft: sftDir,
      reward: rewardDir,
      gptConfig: trainer.actor.config,
      options: trainer.config,
      givenOptions: p.given,
    },
    inputs: {
      data: resolve(promptsPath),
      sft: resolve(sftDir),
      reward: resolve(rewardDir),
      seed: p.seed,
      evalFraction: 0,
      options: trainer.config,
      batchSize,
    },
    load: (dir) => trainer.load(dir),
    startFields: { data: promptsPath, prompts: prompts.length, truncatedPrompts: truncated, batchSize },
    startText: `${prompts.length} prompts${truncated > 0 ? ` (${truncated} truncated to ${promptRoom} tokens)` : ""}, ${updates} updates of ${batchSize}`,
  });
  const outcome = await trainWithCheckpoints(session, {
    step: () => trainer.globalStep,
    advance: () => {
      const stats = trainer.trainStep(batchSize);
      session.metrics.push({ step: trainer.globalStep, ...stats });
      reporter.update(trainer.globalStep, updates, stats as unknown as Record<string, number>);
    },
    save: (dir) => trainer.save(dir),
  });
  if (outcome !== null) return outcome;
  const first = session.metrics[0];
  const last = session.metrics[session.metrics.length - 1];
  const summary = {
    stage: "ppo",
    out,
    updates,
    batchSize,
    prompts: prompts.length,
    firstScore: first["rollout/score"],
    lastScore: last["rollout/score"],
    klToRef: last["rollout/klToRef"],
    train: last,
  };
  await trainer.save(out);
  await finishSession(session, summary);
  reporter.done(summary, doneText("ppo", out, summary));
  return 0;
}

// ============================================================================================
// checkpoints and --resume

/** `checkpoints/latest.json` of a stage's `--out`. */
interface StageLatest {
  /** The newest complete checkpoint (`step-N`), or null before the first. */
  checkpoint: string | null;
  step: number;
  status: "running" | "stopped" | "interrupted" | "finished";
}

/** A stage's run directory while it trains. */
interface Session {
  stage: RlhfStage;
  out: string;
  reporter: StageReporter;
  totalSteps: number;
  checkpointEvery: number;
  stopAfter: number | undefined;
  /** `config.json` without the summary. */
  runConfig: Record<string, unknown>;
  /** metrics.jsonl rows: one per logging step (supervised) or update (ppo), restored on resume. */
  metrics: Record<string, unknown>[];
  /** Step of the newest checkpoint, or -1. */
  checkpointedAt: number;
}

/**
 * Start or resume a stage's run directory. A new run replaces `--out` (with `--force`) and writes
 * `config.json` (with `resume`, what `--resume` rebuilds the trainer from) and `tokenizer.json` before
 * the first step; a resumed one loads the latest checkpoint into the trainer (which refuses another
 * config, other data or other models) and keeps the metrics up to it.
 */
async function startSession(args: {
  source: StageSource;
  stage: RlhfStage;
  out: string;
  reporter: StageReporter;
  totalSteps: number;
  tokenizerText: string;
  runConfig: Record<string, unknown>;
  inputs: Omit<ResumeInputs, "checkpointEvery" | "totalSteps">;
  load: (dir: string) => Promise<void>;
  startFields: Record<string, unknown>;
  startText: string;
}): Promise<Session> {
  const { source, stage, out, reporter, totalSteps } = args;
  const stopAfter = positiveInteger(source.flags.stopAfter, "--stop-after");
  let checkpointEvery: number;
  let metrics: Record<string, unknown>[] = [];
  let checkpointedAt = -1;
  if (source.kind === "new") {
    checkpointEvery =
      positiveInteger(source.flags.checkpointEvery, "--checkpoint-every") ??
      Math.max(1, Math.ceil(totalSteps / 10));
    const resume: ResumeInputs = { ...args.inputs, checkpointEvery, totalSteps };
    await prepareOutDir(out, source.flags.force);
    await mkdir(join(out, CHECKPOINTS_DIR), { recursive: true });
    await writeFileAtomic(join(out, TOKENIZER_FILE), args.tokenizerText);
    await writeJsonAtomic(join(out, RUN_CONFIG_FILE), {
      ...args.runConfig,
      resume,
      createdAt: new Date().toISOString(),
    });
  } else {
    checkpointEvery = source.inputs.checkpointEvery;
    if (totalSteps !== source.inputs.totalSteps) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `--resume ${out}: the run was planned for ${source.inputs.totalSteps} steps, but its inputs now give ${totalSteps}. The data changed since it started (${source.inputs.data}); restore it, or start a new run.`,
      );
    }
    await args.load(source.checkpoint);
    const step = Number(source.checkpointJson.globalStep);
    checkpointedAt = step;
    metrics = (await readMetrics(out)).filter((row) => Number(row.step) <= step);
  }
  const resumed = source.kind === "resume";
  reporter.start(
    { out, ...args.startFields, totalSteps, ...(resumed ? { resumedAt: checkpointedAt } : {}) },
    `rlhf ${stage}: ${args.startText}, into ${out}${resumed ? ` (resuming at step ${checkpointedAt})` : ""}`,
  );
  return {
    stage,
    out,
    reporter,
    totalSteps,
    checkpointEvery,
    stopAfter,
    runConfig: args.runConfig,
    metrics,
    checkpointedAt,
  };
}

/**
 * Take steps until the planned total, writing a checkpoint every `checkpointEvery` steps. With
 * `--stop-after N` or on Ctrl-C it stops after the current step, writes a checkpoint and prints
 * how to continue; resolves to the exit status then (0, or 130 when interrupted), or to null once
 * the run is complete.
 */
async function trainWithCheckpoints(
  session: Session,
  run: { step: () => number; advance: () => void; save: (dir: string) => Promise<void> },
): Promise<number | null> {
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C: leave now (the last checkpoint is intact)
    process.stderr.write(
      "\nproximal: stopping after this step and writing a checkpoint (Ctrl-C again to quit now)\n",
    );
  };
  process.on("SIGINT", onSigint);
  try {
    while (run.step() < session.totalSteps) {
      const previous = run.step();
      run.advance();
      // let the bar redraw and Ctrl-C land between steps
      await new Promise<void>((resolve) => setImmediate(resolve));
      const step = run.step();
      if (step >= session.totalSteps) break;
      const reason =
        interrupts > 0
          ? "interrupted"
          : session.stopAfter !== undefined && step >= session.stopAfter
            ? "stopped"
            : null;
      if (reason !== null) {
        await writeStageCheckpoint(session, run, reason);
        session.reporter.close();
        session.reporter.event(
          reason,
          { out: session.out, step, totalSteps: session.totalSteps },
          `${reason} at step ${step} of ${session.totalSteps}; checkpoint written. Continue with: proximal rlhf ${session.stage} --resume ${session.out}`,
        );
        return reason === "interrupted" ? EXIT_INTERRUPTED : 0;
      }
      if (Math.floor(step / session.checkpointEvery) > Math.floor(previous / session.checkpointEvery)) {
        await writeStageCheckpoint(session, run, "running");
      }
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
  session.reporter.close();
  return null;
}

/**
 * `checkpoints/step-N/` (the trainer's checkpoint, file by file atomically), then metrics.jsonl, then
 * `latest.json` pointing at it; older checkpoints are removed once the new one is complete, so a
 * crash at any moment leaves the previous one usable.
 */
async function writeStageCheckpoint(
  session: Session,
  run: { step: () => number; save: (dir: string) => Promise<void> },
  status: StageLatest["status"],
): Promise<void> {
  const step = run.step();
  const name = `step-${String(step).padStart(8, "0")}`;
  const root = join(session.out, CHECKPOINTS_DIR);
  if (session.checkpointedAt !== step) await run.save(join(root, name));
  await writeMetrics(session.out, session.metrics);
  const latest: StageLatest = { checkpoint: name, step, status };
  await writeJsonAtomic(join(root, LATEST_FILE), latest);
  session.checkpointedAt = step;
  for (const old of await readdir(root)) {
    if (/^step-\d+$/.test(old) && old !== name) await rm(join(root, old), { recursive: true, force: true });
  }
}

/** The final files: metrics.jsonl, config.json with the summary, latest.json marked finished. */
async function finishSession(session: Session, summary: Record<string, unknown>): Promise<void> {
  const configPath = join(session.out, RUN_CONFIG_FILE);
  const written = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
  await writeMetrics(session.out, session.metrics);
  await writeJsonAtomic(configPath, {
    ...written,
    summary,
    finishedAt: new Date().toISOString(),
  });
  const latest: StageLatest = { checkpoint: null, step: session.totalSteps, status: "finished" };
  await writeJsonAtomic(join(session.out, CHECKPOINTS_DIR, LATEST_FILE), latest);
  for (const old of await readdir(join(session.out, CHECKPOINTS_DIR))) {
    if (/^step-\d+$/.test(old))
      await rm(join(session.out, CHECKPOINTS_DIR, old), { recursive: true, force: true });
  }
}

async function writeMetrics(out: string, rows: Record<string, unknown>[]): Promise<void> {
  await writeFileAtomic(join(out, METRICS_FILE), rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
}

async function readMetrics(out: string): Promise<Record<string, unknown>[]> {
  const path = join(out, METRICS_FILE);
  if (!(await exists(path))) return [];
  const text = await readTextFile(path);
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new ProximalError(
          "MALFORMED_FILE",
          `${path}, line ${i + 1} is not JSON. The run directory was edited; restore the line or start the run again with --force.`,
        );
      }
    });
}

/** `rlhf <stage> --resume <out>`: rebuild the trainer from `config.json` and continue from the latest checkpoint. */
async function resumeStage(stage: RlhfStage, flags: RlhfStageFlags): Promise<number> {
  const out = flags.resume as string;
  const allowed = new Set(["resume", "stopAfter", "json", "set"]);
  const conflicting = Object.entries(flags)
    .filter(([key, value]) => !allowed.has(key) && value !== undefined)
    .map(([key]) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (conflicting.length > 0 || (flags.set ?? []).length > 0) {
    if ((flags.set ?? []).length > 0) conflicting.push("--set");
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--resume continues a run with its saved config.json; drop ${conflicting.join(", ")} (only --stop-after and --json may accompany it).`,
    );
  }
  const configPath = join(out, RUN_CONFIG_FILE);
  if (!(await exists(configPath))) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${out} is not an rlhf run directory (no ${RUN_CONFIG_FILE}). Pass the --out of a stopped \`proximal rlhf ${stage}\`.`,
    );
  }
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(await readTextFile(configPath)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ProximalError) throw error;
    throw new ProximalError(
      "MALFORMED_FILE",
      `${configPath} is not valid JSON: ${(error as Error).message}.`,
    );
  }
  if (saved.stage !== stage) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${out} was written by rlhf ${String(saved.stage)}, not rlhf ${stage}. Continue it with: proximal rlhf ${String(saved.stage)} --resume ${out}`,
    );
  }
  const latestPath = join(out, CHECKPOINTS_DIR, LATEST_FILE);
  const latest = (await exists(latestPath))
    ? (JSON.parse(await readTextFile(latestPath)) as StageLatest)
    : null;
  if (latest?.status === "finished") {
    process.stderr.write(`proximal: ${out} already finished at step ${latest.step}; nothing to resume.\n`);
    return 0;
  }
  const inputs = saved.resume as ResumeInputs | undefined;
  if (inputs === undefined || latest === null || latest.checkpoint === null) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${out} has no checkpoint to resume from (${latestPath} is missing or names none): it stopped before its first checkpoint. Start it again with --force.`,
    );
  }
  const checkpoint = join(out, CHECKPOINTS_DIR, latest.checkpoint);
  const { json: checkpointJson } = await loadCheckpoint(checkpoint);
  const source: StageSource = { kind: "resume", flags, out, saved, inputs, checkpoint, checkpointJson };
  const gptConfig = checkpointJson.gptConfig as GPTConfig;
  const { tokenizer, text: tokenizerText } = await readTokenizerFile(join(out, TOKENIZER_FILE));
  const given = (saved.givenOptions as Record<string, unknown>) ?? {};
  switch (stage) {
    case "sft":
      return runSft(
        source,
        out,
        await readRows(inputs.data, "promptResponse"),
        { gpt: new GPT(gptConfig), tokenizer, tokenizerText },
        inputs.options as SFTConfig,
        given,
        {
          seed: inputs.seed,
          evalFraction: inputs.evalFraction,
          origin: { model: saved.model ?? null, tokenizer: saved.tokenizer ?? null, gptConfig },
        },
      );
    case "reward":
    case "dpo":
    case "kto": {
      const gpt = new GPT(gptConfig);
      return runPreference(stage, source, out, {
        dataPath: inputs.data,
        sftDir: String(inputs.sft),
        policy: { gpt, tokenizer, tokenizerText },
        model: stage === "reward" ? new GPTRewardModel(gpt, { rng: new Rng(inputs.seed) }) : gpt,
        config: inputs.options,
        given,
        seed: inputs.seed,
        fraction: inputs.evalFraction,
        tokenizerHint: "",
      });
    }
    case "ppo":
      return runPpo(source, out, {
        promptsPath: inputs.data,
        sftDir: String(inputs.sft),
        rewardDir: String(inputs.reward),
        actor: new GPT(gptConfig),
        tokenizer,
        tokenizerText,
        config: resolvePPOConfig(inputs.options as PPOConfig),
        given,
        seed: inputs.seed,
        batchSize: Number(inputs.batchSize),
        updates: inputs.totalSteps,
      });
    default:
      stage satisfies never;
      throw new ProximalError("INTERNAL", `rlhf: unknown stage ${String(stage)}; please report this bug.`);
  }
}

// ============================================================================================
// input: flags, --set, JSONL rows, tokenizers, models

function requireFlag(value: string | undefined, flag: string, stage: string): string {
  if (value === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `rlhf ${stage} needs ${flag}; see \`proximal rlhf ${stage} --help\`.`,
    );
  }
  return value;
}

async function checkOut(flags: RlhfStageFlags): Promise<string> {
  const out = requireFlag(flags.out, "--out", "stage");
  await checkOutDir(out, flags.force);
  return out;
}

/**
 * `--set key=value` over a config's `defaults`: keys must be the config's field names (camelCase, as in
 * the TypeScript API), values of the default's type (a number, true/false, a word, `[a, b]`, or null
 * where the default is null). Ranges and choices are checked by the config's own resolver.
 */
export function parseSets(
  sets: string[],
  defaults: object,
  stage: string,
  configName: string,
): Record<string, unknown> {
  const fields = defaults as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const assignment of sets) {
    const { path, value } = parseAssignment(assignment);
    const key = path.join(".");
    if (path.length !== 1 || !(key in fields)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `Unknown option "${key}" for rlhf ${stage} (--set).${didYouMean(key, Object.keys(fields))} ${configName} fields are: ${Object.keys(fields).join(", ")}.`,
      );
    }
    const fallback = fields[key];
    const fail = (expected: string): never => {
      throw new ProximalError(
        "INVALID_OPTION",
        `${key} (--set) must be ${expected}; got ${JSON.stringify(value)}. Example: --set ${key}=${JSON.stringify(fallback ?? 1).replace(/"/g, "")}.`,
      );
    };
    if (fallback === null) {
      if (value !== null && typeof value !== "number") fail("a number or null");
    } else if (Array.isArray(fallback)) {
      if (
        !Array.isArray(value) ||
        value.length !== fallback.length ||
        !value.every((v) => typeof v === "number")
      )
        fail(`a list of ${fallback.length} numbers like [${fallback.join(", ")}]`);
    } else if (typeof value !== typeof fallback) {
      fail(typeof fallback === "boolean" ? "true or false" : `a ${typeof fallback}`);
    }
    out[key] = value;
  }
  return out;
}

function resolveSeed(flags: RlhfStageFlags, given: Record<string, unknown>, fallback: number): number {
  if (flags.seed !== undefined) {
    const seed = Number(flags.seed);
    if (!Number.isInteger(seed)) {
      throw new ProximalError("INVALID_ARGUMENT", `--seed must be an integer, got "${flags.seed}".`);
    }
    return seed;
  }
  return typeof given.seed === "number" ? given.seed : fallback;
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new ProximalError("INVALID_ARGUMENT", `${flag} must be a positive integer, got "${text}".`);
  }
  return value;
}

function evalFraction(flags: RlhfStageFlags, fallback: number): number {
  if (flags.evalFraction === undefined) return fallback;
  const value = Number(flags.evalFraction);
  if (!(value >= 0 && value < 1)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--eval-fraction must be in [0, 1), got "${flags.evalFraction}". Example: --eval-fraction 0.1.`,
    );
  }
  return value;
}

/** Rows of a JSONL file with the 1-based line number of each (blank lines are skipped). */
export interface JsonlRows<R> {
  path: string;
  rows: R[];
  lines: number[];
}

/** Read and check a JSONL file; `MALFORMED_FILE` errors name the file, the line and the field. */
export async function readRows<F extends keyof JsonlFormats>(
  path: string,
  format: F,
): Promise<JsonlRows<JsonlFormats[F]>> {
  const text = await readTextFile(path);
  const rows = parseJsonl(text, format, { source: path });
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() !== "") lines.push(i + 1);
  });
  return { path, rows, lines };
}

/** Every text field of every row must encode (a char tokenizer knows only its alphabet). */
function checkEncodable<R>(
  tokenizer: Tokenizer,
  data: JsonlRows<R>,
  fields: (keyof R & string)[],
  hint = "",
): void {
  data.rows.forEach((row, i) => {
    for (const field of fields) {
      try {
        tokenizer.encode(row[field] as string);
      } catch (error) {
        if (!(error instanceof ProximalError)) throw error;
        throw new ProximalError(
          "MALFORMED_FILE",
          `${data.path}, line ${data.lines[i]}: field "${field}" cannot be tokenized: ${error.message}${hint}`,
          { cause: error },
        );
      }
    }
  });
}

function tokenizerHint(sftDir: string): string {
  return ` (The tokenizer is ${join(sftDir, TOKENIZER_FILE)}: a char tokenizer knows only the characters of its SFT data; run rlhf sft on data that has them, or with --tokenizer bpe.)`;
}

/** What makes two rows of a stage the same example; all copies of one go to the same side. */
export const HELD_OUT_KEYS = {
  /** (prompt, response). */
  sft: (row: PromptResponseRow) => completionKey(row.prompt, row.response),
  /** The comparison: prompt and the unordered {chosen, rejected}. */
  reward: (row: PreferenceRow) => comparisonKey(row),
  dpo: (row: PreferenceRow) => comparisonKey(row),
  /** (prompt, completion), whatever the label. */
  kto: (row: UnpairedPreferenceRow) => completionKey(row.prompt, row.completion),
} as const;

/**
 * The `--eval-fraction` split: the rows in a seeded order, then {@link splitByKey} (the first
 * `max(1, floor(fraction · n))` of that order held out, whole keys at a time), so no comparison
 * (reward, dpo) or (prompt, completion) (sft, kto) is shared by training and held-out rows, whether
 * it repeats as is or with chosen and rejected swapped. Fraction 0 holds out nothing.
 */
export function splitRows<R>(
  rows: readonly R[],
  keyOf: (row: R) => string,
  fraction: number,
  seed: number,
): { train: R[]; held: R[] } {
  if (fraction === 0) return { train: [...rows], held: [] };
  const rng = new Rng(seed + 1_000_003);
  const order = rng.permutation(rows.length);
  const shuffled = Array.from(order, (i) => rows[i]);
  const { train, heldOut, distinctKeys } = splitByKey(shuffled, keyOf, fraction, rng);
  if (train.length === 0 || heldOut.length === 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--eval-fraction ${fraction} of ${rows.length} rows (${distinctKeys} distinct, counting repeated and swapped copies once) left ${train.length} to train on and ${heldOut.length} held out; copies of one example are never split. ${train.length === 0 ? "Lower --eval-fraction" : "Raise --eval-fraction"} or add distinct rows.`,
    );
  }
  return { train, held: heldOut };
}

/** A tokenizer and the `tokenizer.json` text that rebuilds it. */
interface LoadedTokenizer {
  tokenizer: Tokenizer;
  text: string;
}

/** `tokenizer.json` of a {@link CharTokenizer} (proximal's own shape; BPEs use Hugging Face's). */
interface CharTokenizerJson {
  type: "CharTokenizer";
  alphabet: string;
}

function charTokenizerFrom(texts: string[]): LoadedTokenizer {
  const chars = new Set<string>();
  for (const text of texts) for (const ch of text) chars.add(ch);
  const alphabet = [...chars].sort().join("");
  if (alphabet === "") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "--tokenizer char: the data has no characters to build an alphabet from.",
    );
  }
  const json: CharTokenizerJson = { type: "CharTokenizer", alphabet };
  return { tokenizer: new CharTokenizer(alphabet), text: `${JSON.stringify(json, null, 2)}\n` };
}

/** Parse a `tokenizer.json`: proximal's char tokenizer, or a Hugging Face byte-level BPE. */
export function tokenizerFromJson(text: string, source: string): Tokenizer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ProximalError("MALFORMED_FILE", `${source} is not valid JSON: ${(error as Error).message}.`, {
      cause: error,
    });
  }
  const record = parsed as Record<string, unknown> | null;
  if (record?.type === "CharTokenizer" && typeof record.alphabet === "string") {
    return new CharTokenizer(record.alphabet);
  }
  try {
    return ByteLevelBPETokenizer.fromTokenizerJson(parsed as TokenizerJson);
  } catch (error) {
    if (error instanceof ProximalError) {
      throw new ProximalError("MALFORMED_FILE", `${source}: ${error.message}`, { cause: error });
    }
    throw new ProximalError(
      "MALFORMED_FILE",
      `${source} is neither a proximal char tokenizer nor a Hugging Face BPE tokenizer.json (${(error as Error).message}).`,
      { cause: error },
    );
  }
}

async function readTokenizerFile(path: string): Promise<LoadedTokenizer> {
  const text = await readTextFile(path, "the tokenizer ");
  return { tokenizer: tokenizerFromJson(text, path), text };
}

/** The GPT `rlhf sft` starts from (`--model`, else a new one) and its tokenizer. */
async function startingModel(
  flags: RlhfStageFlags,
  rows: { prompt: string; response: string }[],
  seed: number,
): Promise<{ gpt: GPT; tokenizer: Tokenizer; tokenizerText: string; tokenizerSource: string }> {
  const sizeFlags = (["layers", "width", "context"] as const).filter((k) => flags[k] !== undefined);
  const texts = () => rows.flatMap((r) => [r.prompt, r.response]);
  const buildTokenizer = async (kind: string): Promise<LoadedTokenizer> => {
    if (kind === "char") return charTokenizerFrom(texts());
    if (kind === "bpe") {
      const vocabSize = positiveInteger(flags.vocabSize, "--vocab-size") ?? 512;
      if (vocabSize < 257) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `--vocab-size must be at least 257 (256 byte tokens and <|endoftext|>), got ${vocabSize}.`,
        );
      }
      const bpe = ByteLevelBPETokenizer.train(texts(), vocabSize);
      return { tokenizer: bpe, text: `${JSON.stringify(bpe.toTokenizerJson())}\n` };
    }
    return readTokenizerFile(kind);
  };
  if (flags.vocabSize !== undefined && flags.tokenizer !== "bpe") {
    throw new ProximalError("INVALID_ARGUMENT", "--vocab-size applies only with --tokenizer bpe.");
  }

  if (flags.model === undefined) {
    const kind = flags.tokenizer ?? "char";
    const { tokenizer, text } = await buildTokenizer(kind);
    const config: GPTConfig = {
      vocabSize: tokenizer.vocabSize,
      nLayer: positiveInteger(flags.layers, "--layers") ?? DEFAULT_NEW_MODEL.nLayer,
      nEmbd: positiveInteger(flags.width, "--width") ?? DEFAULT_NEW_MODEL.nEmbd,
      nHead: positiveInteger(flags.heads, "--heads") ?? DEFAULT_NEW_MODEL.nHead,
      nPositions: positiveInteger(flags.context, "--context") ?? DEFAULT_NEW_MODEL.nPositions,
    };
    return {
      gpt: new GPT(config, { rng: new Rng(seed) }),
      tokenizer,
      tokenizerText: text,
      tokenizerSource: kind,
    };
  }
  if (sizeFlags.length > 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--model ${flags.model} brings its own sizes; drop ${sizeFlags.map((k) => `--${k}`).join(", ")}.`,
    );
  }
  if (flags.model.endsWith(".safetensors")) {
    // a Hugging Face GPT-2 checkpoint: nHead is not in the tensors, the tokenizer not in the file
    const heads = positiveInteger(flags.heads, "--heads");
    if (heads === undefined || flags.tokenizer === undefined || ["char", "bpe"].includes(flags.tokenizer)) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `--model ${flags.model} is a GPT-2 safetensors file: pass --heads <n> (GPT-2 small: 12) and --tokenizer <its tokenizer.json>.`,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(flags.model));
    } catch (error) {
      throw new ProximalError("MALFORMED_FILE", `Cannot read ${flags.model}: ${(error as Error).message}.`, {
        cause: error,
      });
    }
    const gpt = GPT.fromSafetensors(bytes, { nHead: heads });
    const { tokenizer, text } = await readTokenizerFile(flags.tokenizer);
    checkVocab(gpt, tokenizer, flags.tokenizer);
    return { gpt, tokenizer, tokenizerText: text, tokenizerSource: flags.tokenizer };
  }
  if (flags.heads !== undefined) {
    throw new ProximalError("INVALID_ARGUMENT", `--model ${flags.model} brings its own sizes; drop --heads.`);
  }
  if (flags.tokenizer === undefined) {
    const policy = await loadPolicy(flags.model, "--model");
    return { ...policy, tokenizerSource: join(flags.model, TOKENIZER_FILE) };
  }
  const gpt = await loadPolicyModel(flags.model, "--model");
  const { tokenizer, text } = await buildTokenizer(flags.tokenizer);
  checkVocab(gpt, tokenizer, flags.tokenizer);
  return { gpt, tokenizer, tokenizerText: text, tokenizerSource: flags.tokenizer };
}

function checkVocab(gpt: GPT, tokenizer: Tokenizer, source: string): void {
  if (gpt.config.vocabSize !== tokenizer.vocabSize) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `The model has ${gpt.config.vocabSize} token ids but the tokenizer ${source} has ${tokenizer.vocabSize}. Use the tokenizer the model was trained with.`,
    );
  }
}

/** A policy GPT from an output directory of `rlhf sft|dpo|kto|ppo` (any trainer checkpoint with a `gptConfig`). */
export async function loadPolicyModel(dir: string, flag: string): Promise<GPT> {
  const { tensors, json } = await loadCheckpoint(dir);
  if (json.trainer === "RewardTrainer") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${flag} ${dir} holds a reward model; pass a policy (the output of rlhf sft, dpo, kto or ppo) here${flag === "--sft" ? " and the reward model as --reward" : ""}.`,
    );
  }
  if (!POLICY_TRAINERS.includes(String(json.trainer)) || typeof json.gptConfig !== "object") {
    throw new ProximalError(
      "MALFORMED_FILE",
      `${flag} ${dir}: model.json names trainer ${JSON.stringify(json.trainer)} and no GPT config; expected the output of rlhf sft, dpo, kto or ppo.`,
    );
  }
  const gpt = new GPT(json.gptConfig as GPTConfig);
  gpt.loadStateDict(modelTensors(tensors));
  return gpt;
}

/** {@link loadPolicyModel} with the directory's `tokenizer.json`. */
async function loadPolicy(
  dir: string,
  flag: string,
): Promise<{ gpt: GPT; tokenizer: Tokenizer; tokenizerText: string }> {
  const gpt = await loadPolicyModel(dir, flag);
  const { tokenizer, text } = await readTokenizerFile(join(dir, TOKENIZER_FILE));
  checkVocab(gpt, tokenizer, join(dir, TOKENIZER_FILE));
  return { gpt, tokenizer, tokenizerText: text };
}

async function loadRewardModel(dir: string): Promise<{ model: GPTRewardModel; tokenizerText: string }> {
  const { json } = await loadCheckpoint(dir);
  if (json.trainer !== "RewardTrainer") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--reward ${dir} was saved by ${String(json.trainer)}, not RewardTrainer; pass the output of \`proximal rlhf reward\`.`,
    );
  }
  const model = await RewardTrainer.loadModel(dir);
  const { text } = await readTokenizerFile(join(dir, TOKENIZER_FILE));
  return { model, tokenizerText: text };
}

// ============================================================================================
// progress

/**
 * Progress of a stage on stdout, as `proximal train`: on a terminal a redrawn bar (at most ten
 * times a second); otherwise (or with `--json`) one JSON object per logging step and per event.
 */
class StageReporter {
  private readonly tty: boolean;
  private readonly startedAt = Date.now();
  private lastDraw = 0;
  private line = "";

  constructor(
    private readonly stage: RlhfStage,
    json: boolean,
  ) {
    this.tty = process.stdout.isTTY === true && !json;
  }

  start(fields: Record<string, unknown>, text: string): void {
    if (this.tty) process.stdout.write(`${text}\n`);
    else process.stdout.write(`${JSON.stringify({ event: "start", stage: this.stage, ...fields })}\n`);
  }

  update(step: number, totalSteps: number, metrics: Record<string, number>): void {
    if (!this.tty) {
      process.stdout.write(
        `${JSON.stringify({ event: "update", stage: this.stage, step, totalSteps, ...metrics })}\n`,
      );
      return;
    }
    const seconds = (Date.now() - this.startedAt) / 1000;
    const eta = step > 0 ? (seconds / step) * (totalSteps - step) : Number.NaN;
    const key = this.stage === "ppo" ? "rollout/score" : "train/loss";
    const value = metrics[key];
    const barWidth = 30;
    const filled = Math.round((Math.min(step, totalSteps) / totalSteps) * barWidth);
    this.line = `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ${this.stage} ${step}/${totalSteps}  ${key.split("/")[1]} ${value === undefined ? "-" : value.toFixed(3)}  ETA ${formatDuration(eta)}`;
    const now = Date.now();
    if (now - this.lastDraw < 100 && step < totalSteps) return;
    this.lastDraw = now;
    process.stdout.write(`\r\x1b[2K${this.line}`);
  }

  close(): void {
    if (this.tty && this.line !== "") process.stdout.write(`\r\x1b[2K${this.line}\n`);
    this.line = "";
  }

  /** A JSON line `{"event": name, "stage", ...fields}`, or `text` on a terminal. */
  event(name: string, fields: Record<string, unknown>, text: string): void {
    if (this.tty) process.stdout.write(`${text}\n`);
    else process.stdout.write(`${JSON.stringify({ event: name, stage: this.stage, ...fields })}\n`);
  }

  done(summary: Record<string, unknown>, text: string): void {
    if (this.tty) process.stdout.write(`${text}\n`);
    else process.stdout.write(`${JSON.stringify({ event: "done", ...summary })}\n`);
  }
}

function doneText(stage: RlhfStage, out: string, summary: Record<string, unknown>): string {
  const numbers = Object.entries(summary)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : (v as number).toFixed(4)}`)
    .join(", ");
  return `done: rlhf ${stage}: ${numbers}. Model, tokenizer.json and config.json in ${out}.`;
}
