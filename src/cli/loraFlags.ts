/**
 * LoRA on the command line: the `--lora` flags a training command adds ({@link addLoraOptions}), read
 * into a `LoraConfig` ({@link parseLoraFlags}); what a LoRA run writes at its end
 * ({@link writeLoraOutputs}: the adapter in PEFT's layout, and with `--merge` the merged model as a
 * plain Hugging Face folder); and `proximal lm merge-lora <base> <adapter> --out <dir>`.
 */
import { join } from "node:path";
import type { Command } from "commander";
import { ProximalError } from "../errors.js";
import { loadLoraAdapter, saveLoraAdapter } from "../io/peftAdapter.js";
import { loadPretrained, type PretrainedModel, savePretrained } from "../io/pretrained.js";
import { type LoraConfig, mergeLora, resolveLoraConfig } from "../nn/lora.js";
import { checkOutDir, prepareOutDir } from "./outputDir.js";

/** The `--lora` flags as commander gives them. */
export interface LoraFlags {
  lora?: boolean;
  loraRank?: string;
  loraAlpha?: string;
  loraDropout?: string;
  loraTargets?: string;
  merge?: boolean;
}

/** The LoRA flags' names, for commands that refuse them (e.g. with `--resume`). */
export const LORA_FLAG_KEYS = [
  "lora",
  "loraRank",
  "loraAlpha",
  "loraDropout",
  "loraTargets",
  "merge",
] as const;

/** Add `--lora`, `--lora-rank`, `--lora-alpha`, `--lora-dropout`, `--lora-targets` and `--merge` to `command`. */
export function addLoraOptions(command: Command): Command {
  return command
    .option("--lora", "train LoRA adapters on a frozen base instead of every weight (saved in PEFT's layout)")
    .option("--lora-rank <r>", "LoRA rank r (default 8)")
    .option("--lora-alpha <alpha>", "LoRA alpha; the update is scaled by alpha / r (default 8)")
    .option("--lora-dropout <p>", "dropout on the adapters' input while training (default 0)")
    .option(
      "--lora-targets <names>",
      'comma-separated layer names to adapt, e.g. q_proj,v_proj (Llama) or c_attn (GPT); default "all-linear"',
    )
    .option(
      "--merge",
      "with --lora: also write the base with the adapters merged in, as a Hugging Face folder",
    );
}

/** The LoRA config the flags ask for, or null without `--lora`; refuses LoRA flags without `--lora`. */
export function parseLoraFlags(flags: LoraFlags): LoraConfig | null {
  if (flags.lora !== true) {
    const stray = LORA_FLAG_KEYS.filter((k) => k !== "lora" && flags[k] !== undefined);
    if (stray.length > 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ")} only apply with --lora. Add --lora, or drop them.`,
      );
    }
    return null;
  }
  const number = (text: string | undefined, flag: string): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) {
      throw new ProximalError("INVALID_OPTION", `${flag} must be a number, got "${text}".`);
    }
    return value;
  };
  const targets = flags.loraTargets
    ?.split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  const config: LoraConfig = {
    rank: number(flags.loraRank, "--lora-rank"),
    alpha: number(flags.loraAlpha, "--lora-alpha"),
    dropout: number(flags.loraDropout, "--lora-dropout"),
    targetModules: targets === undefined || flags.loraTargets === "all-linear" ? "all-linear" : targets,
  };
  const resolved = resolveLoraConfig(config);
  return {
    rank: resolved.rank,
    alpha: resolved.alpha,
    dropout: resolved.dropout,
    targetModules: resolved.targetModules,
  };
}

/**
 * What a LoRA run writes at its end: `<out>/adapter/` (adapter_config.json and
 * adapter_model.safetensors, PEFT's layout) and, with `merge`, `<out>/merged/` (the base with the
 * adapters merged in, via savePretrained). Merging changes `model` in place, so it comes last.
 * Returns the directories written.
 */
export async function writeLoraOutputs(
  model: PretrainedModel,
  out: string,
  options: { merge: boolean; baseModelNameOrPath?: string | null },
): Promise<string[]> {
  const adapterDir = join(out, "adapter");
  await saveLoraAdapter(model, adapterDir, {
    baseModelNameOrPath: options.baseModelNameOrPath ?? null,
    overwrite: true,
  });
  if (!options.merge) return [adapterDir];
  const mergedDir = join(out, "merged");
  mergeLora(model);
  await savePretrained(model, mergedDir, { overwrite: true });
  return [adapterDir, mergedDir];
}

/**
 * `proximal lm merge-lora <base> <adapter> --out <dir>`: the base folder with the PEFT adapter merged
 * in (`merge_and_unload`), written as a plain Hugging Face folder with the base's generation and
 * tokenizer files.
 */
export async function mergeLoraCommand(
  base: string,
  adapter: string,
  flags: { out?: string; force?: boolean },
): Promise<number> {
  if (flags.out === undefined) {
    throw new ProximalError("INVALID_OPTION", "lm merge-lora needs --out <dir> for the merged model folder.");
  }
  await checkOutDir(flags.out, flags.force);
  const pretrained = await loadPretrained(base);
  await loadLoraAdapter(pretrained.model, adapter);
  mergeLora(pretrained.model);
  await prepareOutDir(flags.out, flags.force);
  await savePretrained(pretrained.model, flags.out, {
    generationConfig: pretrained.generationConfig,
    tokenizerJson: pretrained.tokenizerJson,
    tokenizerConfig: pretrained.tokenizerConfig,
  });
  process.stdout.write(`merged ${adapter} into ${base}: ${flags.out}\n`);
  return 0;
}

/** Add `lm merge-lora` to the `lm` command group. */
export function registerMergeLoraCommand(lm: Command, setStatus: (code: number) => void): void {
  lm.command("merge-lora")
    .description("merge a PEFT LoRA adapter into its base model and write a plain Hugging Face folder")
    .argument("<base>", "the base model folder")
    .argument("<adapter>", "the adapter folder (adapter_config.json, adapter_model.safetensors)")
    .option("--out <dir>", "folder for the merged model")
    .option("--force", "replace an existing --out folder")
    .action(async (base: string, adapter: string, options: { out?: string; force?: boolean }) => {
      setStatus(await mergeLoraCommand(base, adapter, options));
    });
}
