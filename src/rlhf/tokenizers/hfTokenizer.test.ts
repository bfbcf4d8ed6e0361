import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Tokenizer as ReferenceTokenizer } from "@huggingface/tokenizers";
import { applyChatTemplate } from "./chatTemplate.js";
import { HfTokenizer, toJavaScriptRegex } from "./hfTokenizer.js";
import { llama3StyleFiles, qwen2StyleFiles, smolLm2StyleFiles } from "./testTokenizers.test.util.js";

// Reference: @huggingface/tokenizers 0.2.0, the tokenizer engine @huggingface/transformers v4 runs
// (transformers itself cannot be installed offline: onnxruntime-node downloads binaries at install).
// The tokenizer files come from testTokenizers.test.util.ts.

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
  "call <tool> now, then<tool>again  <tool>  x",
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

  test("ByteLevel add_prefix_space prefixes every piece split off before it", () => {
    const { tokenizerJson } = smolLm2StyleFiles();
    const json = JSON.parse(JSON.stringify(tokenizerJson)) as {
      pre_tokenizer: { pretokenizers: Record<string, unknown>[] };
    };
    json.pre_tokenizer.pretokenizers[1].add_prefix_space = true;
    const ours = new HfTokenizer(json);
    const reference = new ReferenceTokenizer(json, {});
    for (const text of ["hello 123 world", "abc<|im_start|>def", "x", " y"]) {
      assert.deepEqual(ours.encode(text), reference.encode(text).ids, JSON.stringify(text));
    }
  });

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
