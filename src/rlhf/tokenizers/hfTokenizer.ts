import { ProximalError } from "../../errors.js";
import { BYTE_TO_UNICODE, GPT2_PRETOKENIZE_REGEX } from "../byteLevelBpeTokenizer.js";
import type { Tokenizer } from "../tokenizer.js";

/**
 * A Hugging Face `tokenizer.json` run as the `tokenizers` library runs it, for the byte-level BPE
 * tokenizers of GPT-2, Llama 3.x, SmolLM2 and Qwen2/2.5/3:
 *
 * 1. added tokens (special or not) are cut out of the text first, longest first, with their
 *    `lstrip`/`rstrip` whitespace;
 * 2. the normalizer (`NFC`, `NFD`, `NFKC`, `NFKD`, `Lowercase`, `Sequence`);
 * 3. the pre-tokenizer: `Split` with a regex (Llama 3's and Qwen2's patterns; `Isolated` or `Removed`),
 *    `Digits`, `ByteLevel` (GPT-2's regex when `use_regex`, then bytes → printable characters), and
 *    `Sequence` of them;
 * 4. the `BPE` model (merges by rank; `ignore_merges` takes a whole pre-token found in the vocabulary,
 *    as Llama 3 sets);
 * 5. the post-processor when `addSpecialTokens` (`TemplateProcessing` for a single sequence, e.g.
 *    Llama 3's `<|begin_of_text|>`; `ByteLevel`; `Sequence`);
 * 6. decoding with the `ByteLevel` decoder.
 *
 * Anything else a file declares (another model type, normalizer, pre-tokenizer, decoder, byte
 * fallback, an unknown Split behaviour) is refused with an INVALID_OPTION error naming it, so a
 * tokenizer never silently produces different ids than `transformers`.
 */

/** One entry of `added_tokens` in `tokenizer.json`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  single_word?: boolean;
  normalized?: boolean;
}

/** Options of {@link HfTokenizer}, usually read from `tokenizer_config.json` by {@link HfTokenizer.fromFiles}. */
export interface HfTokenizerOptions {
  /** End-of-sequence token content. @defaultValue tokenizer_config's `eos_token`, else none */
  eosToken?: string | null;
  /** Beginning-of-sequence token content (Qwen has none). @defaultValue tokenizer_config's `bos_token` */
  bosToken?: string | null;
  /** Padding token content. @defaultValue tokenizer_config's `pad_token`, else the eos token */
  padToken?: string | null;
  /** Apply transformers' `clean_up_tokenization_spaces` in `decode` (Llama 3 sets it). @defaultValue false */
  cleanUpTokenizationSpaces?: boolean;
  /** Jinja chat template (tokenizer_config's `chat_template`). @defaultValue null */
  chatTemplate?: string | null;
}

type Json = Record<string, unknown>;

function unsupported(what: string, value: unknown, supported: string): never {
  throw new ProximalError(
    "INVALID_OPTION",
    `tokenizer.json: ${what} ${JSON.stringify(value)} is not supported (supported: ${supported}). proximal refuses it rather than tokenize differently from transformers.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Normalizers

type Normalize = (text: string) => string;

function buildNormalizer(json: Json | null): Normalize {
  if (json === null) return (t) => t;
  switch (json.type) {
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = json.type;
      return (t) => t.normalize(form);
    }
    case "Lowercase":
      return (t) => t.toLowerCase();
    case "Sequence": {
      const steps = ((json.normalizers as Json[]) ?? []).map(buildNormalizer);
      return (t) => steps.reduce((text, step) => step(text), t);
    }
    default:
      return unsupported("normalizer", json.type, "NFC, NFD, NFKC, NFKD, Lowercase, Sequence");
  }
}

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers: each maps a list of pieces to a finer list

type PreTokenize = (pieces: string[]) => string[];

/**
 * A `tokenizers` (Rust `fancy-regex`/Oniguruma) pattern as a JavaScript regex. JavaScript before
 * V8 12.5 has no inline modifier groups, so Llama 3's and Qwen2's `(?i:'s|'t|…)` becomes
 * `(?:'[sS]|'[tT]|…)`; `\p{L}` and `\p{N}` need the `u` flag, which we always set.
 */
export function toJavaScriptRegex(pattern: string): RegExp {
  const converted = pattern.replace(/\(\?i:((?:[^()\\]|\\.)*)\)/g, (_, body: string) => {
    let out = "(?:";
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (c === "\\") {
        out += c + body[i + 1];
        i++;
      } else if (/[a-zA-Z]/.test(c)) out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      else out += c;
    }
    return `${out})`;
  });
  if (/\(\?[a-zA-Z]/.test(converted)) {
    unsupported("regex with inline flags", pattern, "only (?i:...) groups, which are expanded");
  }
  try {
    return new RegExp(converted, "gu");
  } catch (error) {
    throw new ProximalError(
      "INVALID_OPTION",
      `tokenizer.json: the Split regex ${JSON.stringify(pattern)} does not compile in JavaScript: ${(error as Error).message}.`,
    );
  }
}

/** Split `piece` by `regex`: matches and the text between them, as `tokenizers`' `Isolated`; `Removed` drops the matches. */
function splitBy(piece: string, regex: RegExp, behavior: "Isolated" | "Removed"): string[] {
  const out: string[] = [];
  let last = 0;
  for (const match of piece.matchAll(regex)) {
    const index = match.index ?? 0;
    if (match[0].length === 0) continue;
    if (index > last) out.push(piece.slice(last, index));
    if (behavior === "Isolated") out.push(match[0]);
    last = index + match[0].length;
  }
  if (last < piece.length) out.push(piece.slice(last));
  return out;
}

const utf8 = new TextEncoder();

function toByteChars(text: string): string {
  let out = "";
  for (const b of utf8.encode(text)) out += BYTE_TO_UNICODE[b];
  return out;
}

function buildPreTokenizer(json: Json | null): PreTokenize {
  if (json === null) return (pieces) => pieces;
  switch (json.type) {
    case "Sequence": {
      const steps = ((json.pretokenizers as Json[]) ?? []).map(buildPreTokenizer);
      return (pieces) => steps.reduce((p, step) => step(p), pieces);
    }
    case "Split": {
      const pattern = json.pattern as { Regex?: string; String?: string };
      const regex =
        pattern.Regex !== undefined
          ? toJavaScriptRegex(pattern.Regex)
          : new RegExp(String(pattern.String).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
      const behavior = json.behavior;
      if (behavior !== "Isolated" && behavior !== "Removed") {
        unsupported("Split behavior", behavior, "Isolated, Removed");
      }
      if (json.invert === true) unsupported("Split invert", true, "false");
      return (pieces) => pieces.flatMap((p) => splitBy(p, regex, behavior as "Isolated" | "Removed"));
    }
    case "Digits": {
      const regex = json.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return (pieces) => pieces.flatMap((p) => splitBy(p, regex, "Isolated"));
    }
    case "ByteLevel": {
      const addPrefixSpace = json.add_prefix_space === true;
      const useRegex = json.use_regex !== false;
      return (pieces) =>
        pieces.flatMap((p) => {
          // tokenizers prepends the space to every piece split off so far (added tokens, Split, Digits)
          const text = addPrefixSpace && !p.startsWith(" ") ? ` ${p}` : p;
          const split = useRegex ? splitBy(text, GPT2_PRETOKENIZE_REGEX, "Isolated") : [text];
          return split.map(toByteChars);
        });
    }
    default:
      return unsupported("pre_tokenizer", json.type, "Sequence, Split, Digits, ByteLevel");
  }
}

// ---------------------------------------------------------------------------------------------
// The tokenizer

/** Byte-level BPE from a Hugging Face `tokenizer.json`; see the module comment for what it runs. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly bosTokenId: number;
  readonly padTokenId: number;
  /** The Jinja chat template, or null. */
  readonly chatTemplate: string | null;
  /** Contents of the special tokens the chat template may refer to (`bos_token`, `eos_token`, `pad_token`). */
  readonly specialTokenStrings: {
    bos_token: string | null;
    eos_token: string | null;
    pad_token: string | null;
  };
  private readonly vocab: Map<string, number>;
  private readonly idToToken: string[] = [];
  private readonly ranks = new Map<string, number>();
  private readonly ignoreMerges: boolean;
  private readonly added: AddedTokenJson[];
  private readonly addedById = new Map<number, AddedTokenJson>();
  private readonly addedPattern: RegExp | null;
  private readonly normalize: Normalize;
  private readonly preTokenize: PreTokenize;
  private readonly prefixIds: number[] = [];
  private readonly suffixIds: number[] = [];
  private readonly cleanUp: boolean;
  private readonly cache = new Map<string, number[]>();

  constructor(tokenizerJson: Json, options: HfTokenizerOptions = {}) {
    const model = tokenizerJson.model as Json | undefined;
    if (model === undefined || model.type !== "BPE") unsupported("model type", model?.type, "BPE");
    const m = model as Json;
    if (m.byte_fallback === true) unsupported("BPE byte_fallback", true, "false (byte-level BPE)");
    if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0)
      unsupported("BPE dropout", m.dropout, "null");
    for (const key of ["continuing_subword_prefix", "end_of_word_suffix"]) {
      if (m[key] !== undefined && m[key] !== null && m[key] !== "")
        unsupported(`BPE ${key}`, m[key], "null or empty");
    }
    this.ignoreMerges = m.ignore_merges === true;
    this.vocab = new Map(Object.entries(m.vocab as Record<string, number>));
    const merges = (m.merges as (string | [string, string])[]) ?? [];
    merges.forEach((merge, rank) => {
      const [a, b] = typeof merge === "string" ? splitMerge(merge) : merge;
      const key = `${a} ${b}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    this.added = ((tokenizerJson.added_tokens as AddedTokenJson[] | undefined) ?? []).map((t) => ({ ...t }));
    for (const token of this.added) {
      if (token.single_word === true)
        unsupported(`added token ${JSON.stringify(token.content)} single_word`, true, "false");
      this.addedById.set(token.id, token);
    }
    let size = 0;
    for (const [token, id] of this.vocab) {
      this.idToToken[id] = token;
      size = Math.max(size, id + 1);
    }
    for (const token of this.added) {
      this.idToToken[token.id] = token.content;
      size = Math.max(size, token.id + 1);
    }
    this.vocabSize = size;
    this.addedPattern =
      this.added.length === 0
        ? null
        : new RegExp(
            [...this.added]
              .sort((a, b) => b.content.length - a.content.length)
              .map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
              .join("|"),
            "gu",
          );
    this.normalize = buildNormalizer((tokenizerJson.normalizer as Json | null) ?? null);
    this.preTokenize = buildPreTokenizer((tokenizerJson.pre_tokenizer as Json | null) ?? null);
    this.buildPostProcessor((tokenizerJson.post_processor as Json | null) ?? null);
    const decoder = (tokenizerJson.decoder as Json | null) ?? null;
    if (decoder !== null && decoder.type !== "ByteLevel") unsupported("decoder", decoder.type, "ByteLevel");

    const idOf = (content: string | null | undefined, role: string): number | null => {
      if (content === null || content === undefined) return null;
      const id = this.tokenToId(content);
      if (id === undefined) {
        throw new ProximalError(
          "INVALID_OPTION",
          `tokenizer: the ${role} ${JSON.stringify(content)} is not in the vocabulary or added tokens.`,
        );
      }
      return id;
    };
    const eos = idOf(options.eosToken, "eos_token");
    const bos = idOf(options.bosToken, "bos_token");
    const pad = idOf(options.padToken, "pad_token");
    // generation needs an eos id; a tokenizer without one stops only at maxNewTokens (-1 matches no token)
    this.eosTokenId = eos ?? -1;
    this.bosTokenId = bos ?? this.eosTokenId;
    this.padTokenId = pad ?? eos ?? 0;
    this.specialTokenStrings = {
      bos_token: options.bosToken ?? null,
      eos_token: options.eosToken ?? null,
      pad_token: options.padToken ?? null,
    };
    this.chatTemplate = options.chatTemplate ?? null;
    this.cleanUp = options.cleanUpTokenizationSpaces ?? false;
  }

  /**
   * A tokenizer from the parsed `tokenizer.json` and `tokenizer_config.json` of a model folder:
   * special tokens (`bos_token`, `eos_token`, `pad_token`, as strings or `{ content }` objects),
   * `clean_up_tokenization_spaces` and `chat_template` (a string, or a list of named templates whose
   * `"default"` is taken).
   */
  static fromFiles(tokenizerJson: Json, tokenizerConfig: Json | null = null): HfTokenizer {
    const c = tokenizerConfig ?? {};
    const content = (v: unknown): string | null =>
      typeof v === "string"
        ? v
        : typeof v === "object" && v !== null && "content" in v
          ? String((v as Json).content)
          : null;
    let chatTemplate: string | null = null;
    if (typeof c.chat_template === "string") chatTemplate = c.chat_template;
    else if (Array.isArray(c.chat_template)) {
      const named = c.chat_template as { name: string; template: string }[];
      chatTemplate = (named.find((t) => t.name === "default") ?? named[0])?.template ?? null;
    }
    return new HfTokenizer(tokenizerJson, {
      eosToken: content(c.eos_token),
      bosToken: content(c.bos_token),
      padToken: content(c.pad_token),
      cleanUpTokenizationSpaces: c.clean_up_tokenization_spaces === true,
      chatTemplate,
    });
  }

  private buildPostProcessor(json: Json | null): void {
    if (json === null) return;
    switch (json.type) {
      case "ByteLevel":
        return; // only moves offsets
      case "Sequence":
        for (const p of (json.processors as Json[]) ?? []) this.buildPostProcessor(p);
        return;
      case "TemplateProcessing": {
        const single = (json.single as Json[]) ?? [];
        const specials = (json.special_tokens as Record<string, { ids: number[] }>) ?? {};
        let seenSequence = false;
        for (const piece of single) {
          if ("Sequence" in piece) {
            seenSequence = true;
            continue;
          }
          const id = ((piece.SpecialToken as Json | undefined)?.id as string | undefined) ?? "";
          const ids = specials[id]?.ids;
          if (ids === undefined) {
            throw new ProximalError(
              "MALFORMED_FILE",
              `tokenizer.json: TemplateProcessing names special token ${JSON.stringify(id)}, which its special_tokens do not define.`,
            );
          }
          (seenSequence ? this.suffixIds : this.prefixIds).push(...ids);
        }
        return;
      }
      default:
        unsupported("post_processor", json.type, "TemplateProcessing, ByteLevel, Sequence");
    }
  }

  /**
   * Ids of `text`. Added tokens in the text become their ids; with `addSpecialTokens` the
   * post-processor's tokens (Llama 3's `<|begin_of_text|>`) are added, as `transformers`' default.
   */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (options.addSpecialTokens ?? true) ids.push(...this.prefixIds);
    let last = 0;
    if (this.addedPattern !== null) {
      for (const match of text.matchAll(this.addedPattern)) {
        const index = match.index ?? 0;
        const token = this.added.find((t) => t.content === match[0]) as AddedTokenJson;
        let before = text.slice(last, index);
        if (token.lstrip) before = before.trimEnd();
        this.encodeOrdinary(before, ids);
        ids.push(token.id);
        last = index + match[0].length;
        if (token.rstrip) while (last < text.length && /\s/u.test(text[last])) last++;
      }
    }
    this.encodeOrdinary(text.slice(last), ids);
    if (options.addSpecialTokens ?? true) ids.push(...this.suffixIds);
    return ids;
  }

  private encodeOrdinary(text: string, ids: number[]): void {
    if (text.length === 0) return;
    for (const piece of this.preTokenize([this.normalize(text)])) {
      if (piece.length === 0) continue;
      let pieceIds = this.cache.get(piece);
      if (pieceIds === undefined) {
        pieceIds = this.bpe(piece).map((symbol) => {
          const id = this.vocab.get(symbol);
          if (id === undefined) {
            throw new ProximalError(
              "MALFORMED_FILE",
              `tokenizer.json: BPE produced ${JSON.stringify(symbol)}, which is not in the vocabulary (the byte alphabet is incomplete).`,
            );
          }
          return id;
        });
        if (this.cache.size > 100_000) this.cache.clear();
        this.cache.set(piece, pieceIds);
      }
      for (const id of pieceIds) ids.push(id);
    }
  }

  /** Merge the characters of one pre-token, lowest-ranked pair first (Sennrich et al. 2016, Alg. 1). */
  private bpe(word: string): string[] {
    if (this.ignoreMerges && this.vocab.has(word)) return [word];
    let symbols = Array.from(word);
    while (symbols.length > 1) {
      let bestRank = Number.POSITIVE_INFINITY;
      let bestIndex = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;
      const a = symbols[bestIndex];
      const b = symbols[bestIndex + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(symbols[i]);
      }
      symbols = merged;
    }
    return symbols;
  }

  /**
   * Text of `ids` through the ByteLevel decoder: each token's characters map back to bytes (a token
   * with a character outside the byte alphabet, such as an added token, contributes its UTF-8 as it
   * is, as `tokenizers` does), then UTF-8 decoding with replacement characters for broken sequences.
   */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = this.idToToken[id];
      if (token === undefined) {
        throw new ProximalError(
          "INVALID_ARGUMENT",
          `decode: id ${id} (position ${i}) is not in the vocabulary of ${this.vocabSize} ids.`,
        );
      }
      if (options.skipSpecialTokens && this.addedById.get(id)?.special) continue;
      const mapped: number[] = [];
      let allBytes = true;
      for (const ch of token) {
        const b = UNICODE_TO_BYTE.get(ch);
        if (b === undefined) {
          allBytes = false;
          break;
        }
        mapped.push(b);
      }
      for (const b of allBytes ? mapped : utf8.encode(token)) bytes.push(b);
    }
    const text = new TextDecoder("utf-8").decode(new Uint8Array(bytes));
    return this.cleanUp ? cleanUpTokenizationSpaces(text) : text;
  }

  /** The id of a token string (byte-level characters, or an added token's content), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.added.find((t) => t.content === token)?.id ?? this.vocab.get(token);
  }
}

const UNICODE_TO_BYTE = new Map<string, number>(BYTE_TO_UNICODE.map((c, b) => [c, b]));

/** `"a b"` → `[a, b]`; a merge string holds exactly one separating space. */
function splitMerge(merge: string): [string, string] {
  const at = merge.indexOf(" ", 1);
  if (at < 0)
    throw new ProximalError("MALFORMED_FILE", `tokenizer.json: merge ${JSON.stringify(merge)} is not "a b".`);
  return [merge.slice(0, at), merge.slice(at + 1)];
}

/** transformers' `clean_up_tokenization`: drop the space before punctuation and English contractions. */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
