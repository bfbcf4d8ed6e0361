/**
 * The `proximal rlhf` command group. `rlhf demo <task>` runs a shipped end-to-end task; the
 * per-stage commands on user data (`rlhf sft|reward|ppo|dpo|kto`) register here as they land.
 */
import type { Command } from "commander";
import { ProximalError } from "../errors.js";
import { RLHF_DEMO_TASKS, type RlhfDemoFlags, rlhfDemoCommand } from "./rlhfDemo.js";
import { type ReasoningDemoFlags, reasoningDemoCommand, registerRlhfGrpoCommand } from "./rlhfGrpo.js";
import { registerRlhfStageCommands } from "./rlhfStages.js";

/** Add `rlhf` and its subcommands to `program`; `setStatus` receives each action's exit status. */
export function registerRlhfCommands(program: Command, setStatus: (code: number) => void): Command {
  const rlhf = program.command("rlhf").description("align a language model: RLHF demos and stages");
  rlhf
    .command("demo")
    .description("run an end-to-end RLHF demo: SFT, reward model, PPO (and DPO when available)")
    .argument("<task>", `the demo task: ${[...RLHF_DEMO_TASKS, "reasoning"].join(", ")}`)
    .option(
      "--out <dir>",
      "directory for results.json, ppo.jsonl and the plot (default runs/rlhf-<task>-seed<n>)",
    )
    .option("--force", "replace an existing --out directory")
    .option("--seed <n>", "seed of the corpus, models and samples (default 0)")
    .option("--json", "print the summary as one JSON object")
    .option("--quick", "a tiny budget, for smoke tests (seconds, not meaningful figures)")
    .option(
      "--workers <n>",
      "reasoning: presets trained at once in worker threads (default: the cores, at most the presets)",
    )
    .option(
      "--presets <names>",
      "reasoning: comma-separated presets to train, e.g. grpo,dapo (default: all seven)",
    )
    .option(
      "--model <dir>",
      "reasoning: train this Hugging Face model folder (Llama 3.x, SmolLM2, Qwen2/2.5, Qwen3, GPT-2; with tokenizer.json) instead of the SFT base",
    )
    .action(async (task: string, options: RlhfDemoFlags & ReasoningDemoFlags) => {
      if (options.model !== undefined && task !== "reasoning") {
        throw new ProximalError(
          "INVALID_OPTION",
          `--model applies to the reasoning demo, not "${task}". Run: proximal rlhf demo reasoning --model ${options.model}`,
        );
      }
      setStatus(
        task === "reasoning" ? await reasoningDemoCommand(options) : await rlhfDemoCommand(task, options),
      );
    });
  registerRlhfStageCommands(rlhf, setStatus);
  registerRlhfGrpoCommand(rlhf, setStatus);
  return rlhf;
}
