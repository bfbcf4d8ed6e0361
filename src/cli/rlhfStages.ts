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
 * Each `--out` directory holds `model.safetensors` + `model.json` (the trainer's checkpoint, which
 * `SFTTrainer.loadModel` / `RewardTrainer.loadModel` read), `tokenizer.json`, `config.json` (stage,
 * data, resolved options, summary) and `metrics.jsonl` (one row per logging step). Any policy output
 * (sft, dpo, kto, ppo) can be the `--sft` of a later stage or the `--model` of another `sft`.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { didYouMean, ProximalError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomicWrite.js";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import { Rng } from "../random/rng.js";
import { ByteLevelBPETokenizer, type TokenizerJson } from "../rlhf/byteLevelBpeTokenizer.js";
import { CharTokenizer } from "../rlhf/charTokenizer.js";
import { type JsonlFormats, parseJsonl, readTextFile } from "../rlhf/data.js";
import { DPO_DEFAULTS } from "../rlhf/dpoConfig.js";
import { DPOTrainer } from "../rlhf/dpoTrainer.js";
import { GPT, type GPTConfig } from "../rlhf/gpt.js";
import { KTO_DEFAULTS } from "../rlhf/ktoConfig.js";
import { KTOTrainer } from "../rlhf/ktoTrainer.js";
import { resolvePPOConfig } from "../rlhf/ppoConfig.js";
import { type PPOStepStats, PPOTrainer } from "../rlhf/ppoTrainer.js";
import { REWARD_DEFAULTS } from "../rlhf/rewardConfig.js";
import { GPTRewardModel } from "../rlhf/rewardHead.js";
import { RewardTrainer } from "../rlhf/rewardTrainer.js";
import { SFT_DEFAULTS } from "../rlhf/sftConfig.js";
import { SFTTrainer } from "../rlhf/sftTrainer.js";
import type { Tokenizer } from "../rlhf/tokenizer.js";
import type { OnStep, Trainer } from "../rlhf/trainer.js";
import type { ResolvedTrainingConfig } from "../rlhf/trainingConfig.js";
import { VERSION } from "../version.js";
import { parseAssignment } from "./config.js";
import { checkOutDir, prepareOutDir } from "./outputDir.js";
import { formatDuration } from "./progress.js";

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
  const common = (command: Command, configName: string): Command =>
    command
      .requiredOption("--out <dir>", "directory for the model, tokenizer.json, config.json and metrics.jsonl")
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
      .option("--json", "JSON lines on stdout even on a terminal; the last one is the summary");
  const action = (stage: RlhfStage) => async (flags: RlhfStageFlags) => {
    setStatus(await rlhfStageCommand(stage, flags));
  };

  common(
    rlhf
      .command("sft")
      .description("supervised fine-tuning on {prompt, response} rows (loss on responses only)")
      .requiredOption("--data <file.jsonl>", 'rows {"prompt", "response"}'),
    "SFTConfig",
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
      .requiredOption("--data <file.jsonl>", 'rows {"prompt", "chosen", "rejected"}')
      .requiredOption("--sft <dir>", "the SFT output whose trunk the reward model starts from"),
    "RewardConfig",
  )
    .option("--eval-fraction <x>", "fraction of pairs held out for the accuracy (default 0.1)")
    .action(action("reward"));

  common(
    rlhf
      .command("dpo")
      .description("DPO or IPO (--set loss=ipo) on {prompt, chosen, rejected} rows, from the SFT model")
      .requiredOption("--data <file.jsonl>", 'rows {"prompt", "chosen", "rejected"}')
      .requiredOption("--sft <dir>", "the SFT output: the policy to train and its frozen reference"),
    "DPOConfig",
  )
    .option("--eval-fraction <x>", "fraction of pairs held out for the preference accuracy (default 0)")
    .action(action("dpo"));

  common(
    rlhf
      .command("kto")
      .description("KTO on unpaired {prompt, completion, label} rows, from the SFT model")
      .requiredOption(
        "--data <file.jsonl>",
        'rows {"prompt", "completion", "label"} (label true = desirable)',
      )
      .requiredOption("--sft <dir>", "the SFT output: the policy to train and its frozen reference"),
    "KTOConfig",
  )
    .option("--eval-fraction <x>", "fraction of rows held out for evaluation (default 0)")
    .action(action("kto"));

  common(
    rlhf
      .command("ppo")
      .description("PPO with actor, critic, reward and reference models on {prompt} rows")
      .requiredOption("--prompts <file.jsonl>", 'rows {"prompt"} (other fields are ignored)')
      .requiredOption("--sft <dir>", "the SFT output: actor and frozen reference")
      .requiredOption("--reward <dir>", "the reward output: frozen reward model and the critic's start"),
    "PPOConfig",
  )
    .option("--updates <n>", "PPO updates (default: one pass over the prompts)")
    .option("--batch-size <n>", "prompts per update, a multiple of miniBatchSize (default: miniBatchSize)")
    .action(action("ppo"));
}

/** Run one stage; resolves to the exit status. */
export async function rlhfStageCommand(stage: RlhfStage, flags: RlhfStageFlags): Promise<number> {
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

async function sftStage(flags: RlhfStageFlags): Promise<number> {
  const out = await checkOut(flags);
  const data = await readRows(requireFlag(flags.data, "--data", "sft"), "promptResponse");
  const fromScratch = flags.model === undefined;
  const defaults = fromScratch ? { ...SFT_DEFAULTS, learningRate: SCRATCH_SFT_LEARNING_RATE } : SFT_DEFAULTS;
  const given = parseSets(flags.set ?? [], defaults, "sft", "SFTConfig");
  const seed = resolveSeed(flags, given, defaults.seed);

  const start = await startingModel(flags, data.rows, seed);
  checkEncodable(start.tokenizer, data, ["prompt", "response"]);
  const { train, held } = splitRows(data.rows, evalFraction(flags, 0), seed);
  const progress = new StepSink();
  const trainer = new SFTTrainer({
    model: start.gpt,
    tokenizer: start.tokenizer,
    trainDataset: train,
    config: { ...defaults, ...given, seed },
    onStep: progress.onStep,
  });
  return runSupervised({
    stage: "sft",
    progress,
    out,
    flags,
    trainer,
    evalRows: held,
    trainRows: train.length,
    tokenizerText: start.tokenizerText,
    given,
    origin: { model: flags.model ?? null, tokenizer: start.tokenizerSource, gptConfig: start.gpt.config },
    data: data.path,
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
  const config = { ...defaults, ...given, seed };
  const progress = new StepSink();
  const onStep = progress.onStep;
  const common = {
    stage,
    progress,
    out,
    flags,
    tokenizerText: policy.tokenizerText,
    given,
    origin: { sft: sftDir, gptConfig: policy.gpt.config },
    data: dataPath,
  };

  if (stage === "kto") {
    const data = await readRows(dataPath, "unpairedPreference");
    checkEncodable(policy.tokenizer, data, ["prompt", "completion"], tokenizerHint(sftDir));
    const { train, held } = splitRows(data.rows, fraction, seed);
    const trainer = new KTOTrainer({
      model: policy.gpt,
      tokenizer: policy.tokenizer,
      trainDataset: train,
      config,
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
  const data = await readRows(dataPath, "preference");
  checkEncodable(policy.tokenizer, data, ["prompt", "chosen", "rejected"], tokenizerHint(sftDir));
  const { train, held } = splitRows(data.rows, fraction, seed);
  if (stage === "reward") {
    const model = new GPTRewardModel(policy.gpt, { rng: new Rng(seed) });
    const trainer = new RewardTrainer({
      model,
      tokenizer: policy.tokenizer,
      trainDataset: train,
      config,
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
    model: policy.gpt,
    tokenizer: policy.tokenizer,
    trainDataset: train,
    config,
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
  progress: StepSink;
  out: string;
  flags: RlhfStageFlags;
  trainer: Trainer<Row, ResolvedTrainingConfig>;
  evalRows: Row[];
  trainRows: number;
  tokenizerText: string;
  given: Record<string, unknown>;
  origin: Record<string, unknown>;
  data: string;
  /** The few numbers the summary leads with. */
  headline: (
    last: Record<string, number>,
    evaluation: Record<string, number> | null,
  ) => Record<string, number | null>;
}

/** Train, evaluate on the held-out rows, then write the output directory (nothing before this point). */
async function runSupervised<Row>(run: SupervisedRun<Row>): Promise<number> {
  const { stage, out, trainer } = run;
  const reporter = new StageReporter(stage, run.flags.json === true);
  const rows: Record<string, unknown>[] = [];
  reporter.start(
    {
      out,
      data: run.data,
      trainRows: run.trainRows,
      evalRows: run.evalRows.length,
      totalSteps: trainer.totalSteps,
    },
    `rlhf ${stage}: ${run.trainRows} training rows${run.evalRows.length > 0 ? `, ${run.evalRows.length} held out` : ""}, ${trainer.totalSteps} steps, into ${out}`,
  );
  // the trainers' loop is synchronous: progress is reported from its onStep callback
  run.progress.handler = (log) => {
    rows.push({ step: log.step, ...log.metrics });
    reporter.update(log.step, log.totalSteps, log.metrics);
    return true;
  };
  const last = trainer.train();
  reporter.close();
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

  await prepareOutDir(out, run.flags.force);
  await trainer.save(out);
  await writeOutputs(out, {
    tokenizerText: run.tokenizerText,
    metrics: rows,
    config: {
      proximalVersion: VERSION,
      stage,
      data: run.data,
      ...run.origin,
      options: trainer.config,
      givenOptions: run.given,
      summary,
      createdAt: new Date().toISOString(),
    },
  });
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

  const data = await readRows(promptsPath, "prompt");
  const policy = await loadPolicy(sftDir, "--sft");
  const reward = await loadRewardModel(rewardDir);
  if (reward.tokenizerText !== policy.tokenizerText) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${join(rewardDir, TOKENIZER_FILE)} differs from ${join(sftDir, TOKENIZER_FILE)}: the reward model must read the actor's tokens. Train it with \`proximal rlhf reward --sft ${sftDir}\`.`,
    );
  }
  checkEncodable(policy.tokenizer, data, ["prompt"], tokenizerHint(sftDir));
  const context = Math.min(policy.gpt.config.nPositions, reward.model.transformer.config.nPositions);
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
    const ids = [policy.tokenizer.bosTokenId, ...policy.tokenizer.encode(row.prompt)];
    if (ids.length <= promptRoom) return ids;
    truncated++;
    return ids.slice(ids.length - promptRoom);
  });
  const updates = positiveInteger(flags.updates, "--updates") ?? Math.ceil(prompts.length / batchSize);
  const trainer = new PPOTrainer({ actor: policy.gpt, rewardModel: reward.model }, config, policy.tokenizer);

  const reporter = new StageReporter("ppo", flags.json === true);
  reporter.start(
    {
      out,
      data: promptsPath,
      prompts: prompts.length,
      truncatedPrompts: truncated,
      batchSize,
      totalSteps: updates,
    },
    `rlhf ppo: ${prompts.length} prompts${truncated > 0 ? ` (${truncated} truncated to ${promptRoom} tokens)` : ""}, ${updates} updates of ${batchSize}, into ${out}`,
  );
  // prompts in a seeded order, reshuffled after each pass (as the trainers' row order)
  const promptRng = new Rng(seed);
  let order = promptRng.permutation(prompts.length);
  let cursor = 0;
  const history: (PPOStepStats & { step: number })[] = [];
  for (let update = 1; update <= updates; update++) {
    const batch: number[][] = [];
    while (batch.length < batchSize) {
      if (cursor === order.length) {
        order = promptRng.permutation(prompts.length);
        cursor = 0;
      }
      batch.push(prompts[order[cursor++]]);
    }
    const stats = trainer.step(batch);
    history.push({ step: update, ...stats });
    reporter.update(update, updates, stats as unknown as Record<string, number>);
    await new Promise<void>((resolve) => setImmediate(resolve)); // let the bar redraw and Ctrl-C land
  }
  reporter.close();
  const first = history[0];
  const last = history[history.length - 1];
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

  await prepareOutDir(out, flags.force);
  await saveCheckpoint(out, {
    tensors: trainer.actor.stateDict(),
    json: { trainer: "PPOTrainer", gptConfig: trainer.actor.config, updates, config: trainer.config },
  });
  await writeOutputs(out, {
    tokenizerText: policy.tokenizerText,
    metrics: history as unknown as Record<string, unknown>[],
    config: {
      proximalVersion: VERSION,
      stage: "ppo",
      data: promptsPath,
      sft: sftDir,
      reward: rewardDir,
      gptConfig: trainer.actor.config,
      options: trainer.config,
      givenOptions: given,
      summary,
      createdAt: new Date().toISOString(),
    },
  });
  reporter.done(summary, doneText("ppo", out, summary));
  return 0;
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

async function writeOutputs(
  out: string,
  files: { tokenizerText: string; metrics: Record<string, unknown>[]; config: Record<string, unknown> },
): Promise<void> {
  await writeFileAtomic(join(out, TOKENIZER_FILE), files.tokenizerText);
  await writeFileAtomic(
    join(out, METRICS_FILE),
    files.metrics.map((row) => `${JSON.stringify(row)}\n`).join(""),
  );
  await writeJsonAtomic(join(out, RUN_CONFIG_FILE), files.config);
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

/** Hold out `round(fraction · n)` rows (at least one when fraction > 0), in a seeded order. */
function splitRows<R>(rows: R[], fraction: number, seed: number): { train: R[]; held: R[] } {
  if (fraction === 0) return { train: rows, held: [] };
  const count = Math.max(1, Math.round(fraction * rows.length));
  if (count >= rows.length) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--eval-fraction ${fraction} holds out ${count} of ${rows.length} rows, leaving none to train on. Lower it or add rows.`,
    );
  }
  const order = new Rng(seed + 1_000_003).permutation(rows.length);
  const held = Array.from(order.subarray(0, count), (i) => rows[i]);
  const train = Array.from(order.subarray(count), (i) => rows[i]);
  return { train, held };
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
async function loadPolicyModel(dir: string, flag: string): Promise<GPT> {
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
  gpt.loadStateDict(
    Object.fromEntries(Object.entries(tensors).filter(([name]) => !name.startsWith("optimizer."))),
  );
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
