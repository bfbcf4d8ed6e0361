import { Template } from "@huggingface/jinja";
import { ProximalError } from "../../errors.js";
import type { HfTokenizer } from "./hfTokenizer.js";

/** One chat turn, as transformers' `apply_chat_template` takes it. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | (string & {});
  content: string;
}

/** Options of {@link applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, so the model writes the reply. @defaultValue true */
  addGenerationPrompt?: boolean;
  /** Extra template variables (e.g. Qwen3's `enable_thinking`). */
  variables?: Record<string, unknown>;
}

/**
 * Render `messages` with the tokenizer's Jinja chat template (tokenizer_config's `chat_template`)
 * through `@huggingface/jinja`, with the variables transformers passes: `messages`,
 * `add_generation_prompt`, `bos_token`, `eos_token`, `pad_token` (`raise_exception` is built into
 * `@huggingface/jinja`). The result is
 * text: encode it with `encode(text, { addSpecialTokens: false })`, since templates write their own
 * special tokens (as transformers' `apply_chat_template(tokenize=True)` does).
 *
 * @example
 * const prompt = applyChatTemplate(tokenizer, [{ role: "user", content: "Hi" }]);
 * const ids = tokenizer.encode(prompt, { addSpecialTokens: false });
 */
export function applyChatTemplate(
  tokenizer: HfTokenizer,
  messages: ChatMessage[],
  options: ChatTemplateOptions = {},
): string {
  const source = tokenizer.chatTemplate;
  if (source === null) {
    throw new ProximalError(
      "INVALID_OPTION",
      "applyChatTemplate: this tokenizer has no chat_template (tokenizer_config.json). Use an instruct model's folder, or format the prompt yourself.",
    );
  }
  const template = new Template(source);
  return template.render({
    ...tokenizer.specialTokenStrings,
    messages,
    add_generation_prompt: options.addGenerationPrompt ?? true,
    ...options.variables,
  });
}
