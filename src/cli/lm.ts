/**
 * `proximal lm generate|tokenize|chat <dir>` (and `lm merge-lora`, cli/loraFlags.ts): run a Hugging Face model folder (Llama 3.x, SmolLM2,
 * Qwen2/2.5, Qwen3, GPT-2; see `loadPretrained`) from the command line.
 *
 * - `generate` prints the completion of a prompt; with `--json`, `{ "text", "ids", "logprobs" }`:
 *   the generated ids only (a stop token included), their text without special tokens, and the
 *   log-probability of each id under the model (softmax of the raw logits, temperature 1).
 * - `tokenize` prints the ids of a text (`{ "ids" }` with `--json`), special tokens added as the
 *   tokenizer's post-processor says, as transformers' default.
 * - `chat` reads one user message per line from stdin, renders the conversation with the folder's
 *   chat template, and prints each reply on one line; EOF or `/exit` ends it.
 *
 * Sampling follows the folder's `generation_config.json` (do_sample, temperature, top_k, top_p,
 * eos_token_id) unless flags override it: `--greedy` turns sampling off, `--temperature` turns it on.
 */
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { ProximalError } from "../errors.js";
import { generationOptionsFromHf, loadPretrained, type PretrainedModel } from "../io/pretrained.js";
import { Rng } from "../random/rng.js";
import { type GenerateOptions, generate } from "../rlhf/generate.js";
import { applyChatTemplate, type ChatMessage } from "../rlhf/tokenizers/chatTemplate.js";
import type { HfTokenizer } from "../rlhf/tokenizers/hfTokenizer.js";
import { registerMergeLoraCommand } from "./loraFlags.js";

/** Flags shared by `lm generate` and `lm chat`. */
export interface LmSamplingFlags {
  maxNewTokens?: string;
  greedy?: boolean;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed?: string;
}

export interface LmGenerateFlags extends LmSamplingFlags {
  prompt?: string;
  promptIds?: string;
  json?: boolean;
}

interface LoadedLm {
  model: PretrainedModel;
  tokenizer: HfTokenizer | null;
  generationConfig: Record<string, unknown>;
}

async function loadLm(dir: string): Promise<LoadedLm> {
  const { model, tokenizer, generationConfig } = await loadPretrained(dir);
  return { model, tokenizer, generationConfig: generationConfig ?? {} };
}

function requireTokenizer(lm: LoadedLm, dir: string, what: string): HfTokenizer {
  if (lm.tokenizer === null) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${dir} has no tokenizer.json, so ${what} is not possible. Copy the model's tokenizer files into it${what === "--prompt" ? ", or pass --prompt-ids" : ""}.`,
    );
  }
  return lm.tokenizer;
}

function numberFlag(
  name: string,
  value: string | undefined,
  check: (x: number) => boolean,
  hint: string,
): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (!check(x)) throw new ProximalError("INVALID_OPTION", `${name} must be ${hint}, got "${value}".`);
  return x;
}

/**
 * Generation options from `generation_config.json` (HF GenerationConfig names and defaults: top_k 50
 * when sampling and unset) overridden by the flags.
 */
export function samplingOptions(
  flags: LmSamplingFlags,
  config: Record<string, unknown>,
  tokenizer: HfTokenizer | null,
): GenerateOptions {
  const maxNewTokens =
    numberFlag(
      "--max-new-tokens",
      flags.maxNewTokens,
      (x) => Number.isInteger(x) && x >= 1,
      "a positive integer",
    ) ?? generationOptionsFromHf(config).maxNewTokens;
  const temperature = numberFlag("--temperature", flags.temperature, (x) => x > 0, "> 0");
  const topK = numberFlag(
    "--top-k",
    flags.topK,
    (x) => Number.isInteger(x) && x >= 0,
    "a non-negative integer",
  );
  const topP = numberFlag("--top-p", flags.topP, (x) => x > 0 && x <= 1, "in (0, 1]");
  const seed = numberFlag("--seed", flags.seed, Number.isInteger, "an integer") ?? 0;
  if (flags.greedy && temperature !== undefined) {
    throw new ProximalError("INVALID_OPTION", "--greedy and --temperature contradict each other: drop one.");
  }
  const defaults = generationOptionsFromHf(config, tokenizer);
  const doSample = flags.greedy ? false : temperature !== undefined || defaults.doSample === true;
  return {
    ...defaults,
    maxNewTokens,
    doSample,
    temperature: temperature ?? defaults.temperature,
    // generate() applies top-k only when sampling; HF's default of 50 is kept for sampling
    topK: topK ?? defaults.topK,
    topP: topP ?? defaults.topP,
    rng: new Rng(seed),
    outputLogits: true,
  };
}

/** Generate from one prompt; returns the new ids and their log-probabilities at temperature 1. */
function complete(
  lm: LoadedLm,
  promptIds: number[],
  options: GenerateOptions,
): { ids: number[]; logprobs: number[] } {
  const out = generate(lm.model, [promptIds], options);
  const length = out.responseLengths[0];
  const ids = Array.from(out.responseIds.data.subarray(0, length));
  const logits = out.logits?.values as Float32Array;
  const vocab = logits.length / (options.maxNewTokens as number);
  const temperature = options.temperature ?? 1;
  const logprobs = ids.map((id, step) => {
    const row = logits.subarray(step * vocab, (step + 1) * vocab);
    let max = Number.NEGATIVE_INFINITY;
    for (const x of row) max = Math.max(max, x * temperature);
    let total = 0;
    for (const x of row) total += Math.exp(x * temperature - max);
    return row[id] * temperature - max - Math.log(total);
  });
  return { ids, logprobs };
}

export async function lmGenerateCommand(dir: string, flags: LmGenerateFlags): Promise<number> {
  if ((flags.prompt === undefined) === (flags.promptIds === undefined)) {
    throw new ProximalError(
      "INVALID_OPTION",
      'lm generate needs exactly one of --prompt "text" and --prompt-ids 1,2,3.',
    );
  }
  const lm = await loadLm(dir);
  let promptIds: number[];
  if (flags.promptIds !== undefined) {
    promptIds = flags.promptIds.split(",").map((s) => Number(s.trim()));
    const vocab = lm.model.config.vocabSize;
    const bad = promptIds.find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
    if (bad !== undefined || promptIds.length === 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        `--prompt-ids must be comma-separated ids in [0, ${vocab}), got "${flags.promptIds}".`,
      );
    }
  } else {
    promptIds = requireTokenizer(lm, dir, "--prompt").encode(flags.prompt as string);
    if (promptIds.length === 0)
      throw new ProximalError("INVALID_OPTION", "--prompt is empty after tokenization; give some text.");
  }
  const { ids, logprobs } = complete(
    lm,
    promptIds,
    samplingOptions(flags, lm.generationConfig, lm.tokenizer),
  );
  const text = lm.tokenizer === null ? null : lm.tokenizer.decode(ids, { skipSpecialTokens: true });
  if (flags.json) process.stdout.write(`${JSON.stringify({ text, ids, logprobs })}\n`);
  else process.stdout.write(`${text ?? ids.join(",")}\n`);
  return 0;
}

export async function lmTokenizeCommand(
  dir: string,
  flags: { text?: string; json?: boolean },
): Promise<number> {
  if (flags.text === undefined) throw new ProximalError("INVALID_OPTION", 'lm tokenize needs --text "...".');
  const lm = await loadLm(dir);
  const ids = requireTokenizer(lm, dir, "tokenize").encode(flags.text);
  process.stdout.write(flags.json ? `${JSON.stringify({ ids })}\n` : `${ids.join(",")}\n`);
  return 0;
}

export async function lmChatCommand(
  dir: string,
  flags: LmSamplingFlags & { system?: string },
): Promise<number> {
  const lm = await loadLm(dir);
  const tokenizer = requireTokenizer(lm, dir, "chat");
  const options = samplingOptions(flags, lm.generationConfig, tokenizer);
  const messages: ChatMessage[] =
    flags.system === undefined ? [] : [{ role: "system", content: flags.system }];
  applyChatTemplate(tokenizer, [{ role: "user", content: "" }]); // fail now, not after the first line, without a template
  const interactive = process.stdin.isTTY === true;
  const lines = createInterface({ input: process.stdin, terminal: interactive });
  if (interactive) process.stdout.write("> ");
  for await (const line of lines) {
    const content = line.trim();
    if (content === "/exit") break;
    if (content.length > 0) {
      messages.push({ role: "user", content });
      const prompt = tokenizer.encode(applyChatTemplate(tokenizer, messages), { addSpecialTokens: false });
      const { ids } = complete(lm, prompt, options);
      const reply = tokenizer.decode(ids, { skipSpecialTokens: true });
      messages.push({ role: "assistant", content: reply });
      process.stdout.write(`${reply.replaceAll("\n", " ")}\n`);
    }
    if (interactive) process.stdout.write("> ");
  }
  return 0;
}

/** Add `lm` and its subcommands to `program`; `setStatus` receives each action's exit status. */
export function registerLmCommands(program: Command, setStatus: (code: number) => void): Command {
  const lm = program
    .command("lm")
    .description("run a Hugging Face language-model folder: generate, tokenize, chat");
  const sampling = (command: Command): Command =>
    command
      .option("--max-new-tokens <n>", "tokens to generate at most (default: generation_config's, else 20)")
      .option("--greedy", "take the most likely token (no sampling)")
      .option("--temperature <t>", "sample at this temperature")
      .option("--top-k <k>", "sample from the k most likely tokens (0: all)")
      .option("--top-p <p>", "nucleus sampling threshold")
      .option("--seed <n>", "seed of the sampling (default 0)");
  sampling(
    lm
      .command("generate")
      .description("complete a prompt")
      .argument("<dir>", "a Hugging Face model folder")
      .option("--prompt <text>", "the prompt text (tokenized with the folder's tokenizer)")
      .option("--prompt-ids <ids>", "the prompt as comma-separated token ids"),
  )
    .option("--json", 'print { "text", "ids", "logprobs" } (generated ids only)')
    .action(async (dir: string, options: LmGenerateFlags) => {
      setStatus(await lmGenerateCommand(dir, options));
    });
  lm.command("tokenize")
    .description("print the token ids of a text")
    .argument("<dir>", "a Hugging Face model folder (its tokenizer.json)")
    .option("--text <text>", "the text to tokenize")
    .option("--json", 'print { "ids" }')
    .action(async (dir: string, options: { text?: string; json?: boolean }) => {
      setStatus(await lmTokenizeCommand(dir, options));
    });
  sampling(
    lm
      .command("chat")
      .description("chat with the model using its chat template (one message per line on stdin)")
      .argument("<dir>", "a Hugging Face model folder with a chat template")
      .option("--system <text>", "a system message"),
  ).action(async (dir: string, options: LmSamplingFlags & { system?: string }) => {
    setStatus(await lmChatCommand(dir, options));
  });
  registerMergeLoraCommand(lm, setStatus);
  return lm;
}
