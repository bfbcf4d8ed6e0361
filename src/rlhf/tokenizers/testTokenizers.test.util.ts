import { ByteLevelBPETokenizer } from "../byteLevelBpeTokenizer.js";

// Tokenizer files for the tests (hfTokenizer.test.ts, the lm CLI tests), built here: a small BPE
// trained on CORPUS, wrapped in Llama 3's, Qwen2's and SmolLM2's pipelines as their published
// tokenizer.json files declare them.

/** Llama 3's pre-tokenizer split regex (tokenizer.json of meta-llama/Llama-3.2-1B). */
export const LLAMA3_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/** Qwen2's (Qwen/Qwen2.5-0.5B): single digits instead of runs of up to 3. */
export const QWEN2_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

const CORPUS = [
  "The quick brown fox jumps over the lazy dog. I'LL say it's done, don't you think?",
  "Numbers like 12345 and 2024-12-01 appear; so do tabs\tand  double  spaces.\n\nNew paragraph here.",
  "Unicode: café, naïve, 日本語, emoji 🙂 and the end. Hello hello HELLO world worlds.",
  "def main():\n    return x + y  # comment\n",
];

/** The files of a model folder's tokenizer. */
export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

type Json = Record<string, unknown>;

const byteLevel = (useRegex: boolean) => ({
  type: "ByteLevel",
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: useRegex,
});

const splitThenByteLevel = (pattern: string) => ({
  type: "Sequence",
  pretokenizers: [
    { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
    byteLevel(false),
  ],
});

/**
 * A tokenizer.json around the trained BPE: `added` special tokens take the ids after the vocabulary
 * (`extraAdded` entries are appended with their own flags), `pipeline` sets the other sections.
 */
function tokenizerJson(
  added: string[],
  pipeline: (firstAddedId: number) => Json,
  modelOptions: Json = {},
  extraAdded: Json[] = [],
): Json {
  const trained = ByteLevelBPETokenizer.train(CORPUS, 420, { specialTokens: [] }).toTokenizerJson();
  const vocab = trained.model.vocab;
  const n = Object.keys(vocab).length;
  const flags = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  return {
    version: "1.0",
    added_tokens: [
      ...added.map((content, i) => ({ id: n + i, content, ...flags })),
      ...extraAdded.map((token, i) => ({ id: n + added.length + i, ...flags, ...token })),
    ],
    normalizer: null,
    ...pipeline(n),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      fuse_unk: false,
      byte_fallback: false,
      ...modelOptions,
      vocab,
      merges: trained.model.merges,
    },
  };
}

export function llama3StyleFiles(): TokenizerFiles {
  const specials = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
  ];
  const json = tokenizerJson(
    specials,
    (bos) => ({
      pre_tokenizer: splitThenByteLevel(LLAMA3_PATTERN),
      post_processor: {
        type: "Sequence",
        processors: [
          { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
          {
            type: "TemplateProcessing",
            single: [
              { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
              { Sequence: { id: "A", type_id: 0 } },
            ],
            pair: [],
            special_tokens: {
              "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [bos], tokens: ["<|begin_of_text|>"] },
            },
          },
        ],
      },
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    }),
    { continuing_subword_prefix: null, end_of_word_suffix: null, ignore_merges: true },
    // a non-special added token that swallows the whitespace around it (as BERT-style <mask> does)
    [{ content: "<tool>", lstrip: true, rstrip: true, special: false }],
  );
  const tokenizerConfig = {
    bos_token: "<|begin_of_text|>",
    eos_token: "<|eot_id|>",
    clean_up_tokenization_spaces: true,
    // Llama 3's template, without the date and tool parts of 3.1+
    chat_template:
      "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
  };
  return { tokenizerJson: json, tokenizerConfig };
}

export function qwen2StyleFiles(): TokenizerFiles {
  const plainByteLevel = {
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: false,
    use_regex: false,
  };
  const json = tokenizerJson(
    ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    () => ({
      normalizer: { type: "NFC" },
      pre_tokenizer: splitThenByteLevel(QWEN2_PATTERN),
      post_processor: plainByteLevel,
      decoder: plainByteLevel,
    }),
    { continuing_subword_prefix: "", end_of_word_suffix: "" },
  );
  const tokenizerConfig = {
    bos_token: null,
    eos_token: "<|im_end|>",
    pad_token: "<|endoftext|>",
    clean_up_tokenization_spaces: false,
    // Qwen2.5's ChatML template, without the tools branch
    chat_template:
      "{%- for message in messages %}{%- if loop.first and message.role != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
  };
  return { tokenizerJson: json, tokenizerConfig };
}

export function smolLm2StyleFiles(): TokenizerFiles {
  const json = tokenizerJson(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], () => ({
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel(true)],
    },
    post_processor: byteLevel(true),
    decoder: byteLevel(true),
  }));
  return {
    tokenizerJson: json,
    tokenizerConfig: { bos_token: "<|im_start|>", eos_token: "<|im_end|>", pad_token: "<|im_end|>" },
  };
}
