import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Tokenizer as ReferenceTokenizer } from "@huggingface/tokenizers";
import { ByteLevelBPETokenizer } from "../byteLevelBpeTokenizer.js";
import { applyChatTemplate } from "./chatTemplate.js";
import { HfTokenizer, toJavaScriptRegex } from "./hfTokenizer.js";

// Reference: @huggingface/tokenizers 0.2.0, the tokenizer engine @huggingface/transformers v4 runs
// (transformers itself cannot be installed offline: onnxruntime-node downloads binaries at install).
// Tokenizer files are built here: a small BPE trained on CORPUS, wrapped in Llama 3's, Qwen2's and
// SmolLM2's pipelines as their published tokenizer.json files declare them.

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

function baseModel(): { vocab: Record<string, number>; merges: string[] } {
  const json = ByteLevelBPETokenizer.train(CORPUS, 420, { specialTokens: [] }).toTokenizerJson();
  return { vocab: json.model.vocab, merges: json.model.merges as string[] };
}

function added(contents: string[], first: number) {
  return contents.map((content, i) => ({
    id: first + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

const byteLevel = (useRegex: boolean) => ({
  type: "ByteLevel",
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: useRegex,
});

export function llama3StyleFiles(): {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
} {
  const { vocab, merges } = baseModel();
  const n = Object.keys(vocab).length;
  const specials = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
  ];
  const tokenizerJson = {
    version: "1.0",
    added_tokens: added(specials, n),
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: LLAMA3_PATTERN }, behavior: "Isolated", invert: false },
        byteLevel(false),
      ],
    },
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
            "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [n], tokens: ["<|begin_of_text|>"] },
          },
        },
      ],
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab,
      merges,
    },
  };
  const tokenizerConfig = {
    bos_token: "<|begin_of_text|>",
    eos_token: "<|eot_id|>",
    clean_up_tokenization_spaces: true,
    // Llama 3's template, without the date and tool parts of 3.1+
    chat_template:
      "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
  };
  return { tokenizerJson, tokenizerConfig };
}

export function qwen2StyleFiles(): {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
} {
  const { vocab, merges } = baseModel();
  const n = Object.keys(vocab).length;
  const tokenizerJson = {
    version: "1.0",
    added_tokens: added(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], n),
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: QWEN2_PATTERN }, behavior: "Isolated", invert: false },
        byteLevel(false),
      ],
    },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
  const tokenizerConfig = {
    bos_token: null,
    eos_token: "<|im_end|>",
    pad_token: "<|endoftext|>",
    clean_up_tokenization_spaces: false,
    // Qwen2.5's ChatML template, without the tools branch
    chat_template:
      "{%- for message in messages %}{%- if loop.first and message.role != 'system' %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
  };
  return { tokenizerJson, tokenizerConfig };
}

function smolLm2StyleFiles(): {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
} {
  const { vocab, merges } = baseModel();
  const n = Object.keys(vocab).length;
  const tokenizerJson = {
    version: "1.0",
    added_tokens: added(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], n),
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel(true)],
    },
    post_processor: byteLevel(true),
    decoder: byteLevel(true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      vocab,
      merges,
    },
  };
  return {
    tokenizerJson,
    tokenizerConfig: { bos_token: "<|im_start|>", eos_token: "<|im_end|>", pad_token: "<|im_end|>" },
  };
}

const TEXTS = [
  "Hello world",
  "The quick brown fox jumps over the lazy dog.",
  "I'LL say it's done, DON'T you think? We've we'd they're",
  "Numbers 12345 and 2024-12-01, 7.5%",
  "tabs\tand  double  spaces   end   ",
  "line one\nline two\n\n\nthree\r\n",
  "Unicode: café naïve 日本語 🙂 e\u0301 (decomposed)",
  "def main():\n    return x + y  # comment\n",
  "<|im_start|>user\nHi there<|im_end|>\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "",
  " leading space",
];

describe("HfTokenizer against @huggingface/tokenizers", () => {
  for (const [name, files] of [
    ["Llama-3-style (Split regex + ByteLevel, ignore_merges, TemplateProcessing bos)", llama3StyleFiles()],
    ["Qwen2-style (NFC, Split regex + ByteLevel)", qwen2StyleFiles()],
    ["SmolLM2-style (Digits + ByteLevel with GPT-2 regex)", smolLm2StyleFiles()],
  ] as const) {
    test(`${name}: the same ids and decoded text`, () => {
      const ours = HfTokenizer.fromFiles(files.tokenizerJson, files.tokenizerConfig);
      const reference = new ReferenceTokenizer(files.tokenizerJson, files.tokenizerConfig);
      for (const text of TEXTS) {
        const ids = ours.encode(text);
        assert.deepEqual(ids, reference.encode(text).ids, `encode ${JSON.stringify(text)}`);
        assert.deepEqual(
          ours.encode(text, { addSpecialTokens: false }),
          reference.encode(text, { add_special_tokens: false }).ids,
        );
        if (ids.length === 0) continue; // the reference refuses to decode an empty list
        assert.equal(ours.decode(ids), reference.decode(ids), `decode ${JSON.stringify(text)}`);
        assert.equal(
          ours.decode(ids, { skipSpecialTokens: true }),
          reference.decode(ids, { skip_special_tokens: true }),
        );
      }
    });
  }

  test("the Llama 3 tokenizer adds <|begin_of_text|> and its special tokens are single ids", () => {
    const files = llama3StyleFiles();
    const tokenizer = HfTokenizer.fromFiles(files.tokenizerJson, files.tokenizerConfig);
    const ids = tokenizer.encode("<|start_header_id|>user<|end_header_id|>");
    assert.equal(ids[0], tokenizer.bosTokenId);
    assert.equal(ids[1], tokenizer.tokenToId("<|start_header_id|>"));
    assert.equal(ids[ids.length - 1], tokenizer.tokenToId("<|end_header_id|>"));
    assert.equal(tokenizer.eosTokenId, tokenizer.tokenToId("<|eot_id|>"));
  });
});

describe("applyChatTemplate()", () => {
  const messages = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "What is 2+2?" },
    { role: "assistant", content: "4" },
    { role: "user", content: "And 3+3?" },
  ];

  test("renders Qwen2's ChatML template with the generation prompt", () => {
    const files = qwen2StyleFiles();
    const tokenizer = HfTokenizer.fromFiles(files.tokenizerJson, files.tokenizerConfig);
    assert.equal(
      applyChatTemplate(tokenizer, messages),
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n",
    );
    // no system message: the template adds its default one
    assert.ok(
      applyChatTemplate(tokenizer, [{ role: "user", content: "Hi" }], {
        addGenerationPrompt: false,
      }).startsWith("<|im_start|>system\nYou are a helpful assistant."),
    );
  });

  test("renders Llama 3's template with bos_token, and its ids tokenize to the special tokens", () => {
    const files = llama3StyleFiles();
    const tokenizer = HfTokenizer.fromFiles(files.tokenizerJson, files.tokenizerConfig);
    const text = applyChatTemplate(tokenizer, messages.slice(1, 2));
    assert.equal(
      text,
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    const reference = new ReferenceTokenizer(files.tokenizerJson, files.tokenizerConfig);
    assert.deepEqual(ids, reference.encode(text, { add_special_tokens: false }).ids);
    assert.equal(ids.filter((id) => id === tokenizer.bosTokenId).length, 1);
  });

  test("a tokenizer without a chat template is refused", () => {
    const files = smolLm2StyleFiles();
    assert.throws(
      () => applyChatTemplate(HfTokenizer.fromFiles(files.tokenizerJson, files.tokenizerConfig), messages),
      { code: "INVALID_OPTION" },
    );
  });
});

describe("HfTokenizer refuses what it does not implement", () => {
  test("names the unsupported normalizer, pre-tokenizer, model option and decoder", () => {
    const base = qwen2StyleFiles().tokenizerJson;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, normalizer: { type: "Prepend", prepend: "▁" } }, /normalizer "Prepend"/],
      [{ ...base, pre_tokenizer: { type: "Metaspace" } }, /pre_tokenizer "Metaspace"/],
      [{ ...base, decoder: { type: "Metaspace" } }, /decoder "Metaspace"/],
      [{ ...base, model: { ...(base.model as object), byte_fallback: true } }, /byte_fallback/],
      [{ ...base, model: { type: "Unigram", vocab: [] } }, /model type "Unigram"/],
      [
        {
          ...base,
          pre_tokenizer: {
            type: "Split",
            pattern: { Regex: "a" },
            behavior: "MergedWithNext",
            invert: false,
          },
        },
        /Split behavior "MergedWithNext"/,
      ],
    ];
    for (const [json, message] of cases) {
      assert.throws(
        () => new HfTokenizer(json),
        (e: Error & { code?: string }) => e.code === "INVALID_OPTION" && message.test(e.message),
      );
    }
  });

  test("expands (?i:...) groups, which JavaScript regexes lack", () => {
    const regex = toJavaScriptRegex(String.raw`(?i:'s|'ll)|\p{L}+`);
    assert.deepEqual("I'LL it'S".match(regex), ["I", "'LL", "it", "'S"]);
  });
});
