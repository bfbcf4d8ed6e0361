/**
 * Option names, types and docs for the CLI, read from the algorithm's own TypeScript declarations
 * (`dist/rl/<algo>.d.ts`, which `tsc` emits with the TSDoc comments), so `--set`, `--config`,
 * `proximal algos` and the API can never disagree: an option exists on the command line exactly
 * when it exists in `PPOOptions` (or an interface it extends), with the same type and the same doc.
 *
 * Only the type shapes options actually use are understood: `number`, `boolean`, string-literal
 * unions, `X | null`, `number[]`, `ScheduleLike` (a number, `{ schedule, initial, final? }` or RL
 * Zoo's `lin_3e-4`), and nested option interfaces (such as `PolicyOptions`), validated recursively.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { didYouMean, ProximalError } from "../errors.js";
import { isFileNotFound } from "../io/fileErrors.js";

/** One option as declared: its name, its TypeScript type text and its TSDoc. */
export interface OptionSpec {
  name: string;
  type: string;
  doc: string;
  /** The `@defaultValue` text, if any. */
  defaultValue?: string;
}

/** An interface read from a declaration file. */
interface InterfaceDecl {
  name: string;
  /** Parents, each with the keys an `Omit<Parent, "a" | "b">` removes. */
  extends: { name: string; omit: string[] }[];
  members: OptionSpec[];
}

/** `A, Omit<B, "x" | "y">` → [{ A, [] }, { B, [x, y] }]. */
function parseParents(text: string): InterfaceDecl["extends"] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "<") depth++;
    if (ch === ">") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else current += ch;
  }
  if (current.trim() !== "") parts.push(current.trim());
  return parts.map((part) => {
    const omit = /^Omit<(\w+),\s*(.+)>$/.exec(part);
    if (omit !== null) return { name: omit[1], omit: [...omit[2].matchAll(/"(\w+)"/g)].map((m) => m[1]) };
    return { name: part.replace(/<.*$/, ""), omit: [] };
  });
}

let cache: Map<string, InterfaceDecl> | null = null;
const aliases = new Map<string, string>();

/**
 * Every exported interface (and simple type alias) under `dist/` that the CLI may need. Read with
 * synchronous calls: 161 small files awaited one by one left `proximal train` idle for 44 ms of its
 * start (a thread-pool round trip per call), and there is nothing else to do meanwhile.
 */
async function declarations(): Promise<Map<string, InterfaceDecl>> {
  if (cache !== null) return cache;
  cache = new Map();
  const root = fileURLToPath(new URL("../", import.meta.url));
  for (const folder of [
    "rl",
    "rl/common",
    "rl/tabular",
    "rl/imitation",
    "rl/imitation/common",
    "rl/distributed",
    "rl/distributed/common",
    "nn",
  ]) {
    let files: string[] = [];
    try {
      files = readdirSync(`${root}${folder}`).filter((f) => f.endsWith(".d.ts"));
    } catch (error) {
      // a build without declarations for a folder has no options there to list; anything else is real
      if (isFileNotFound(error)) continue;
      throw error;
    }
    for (const file of files) parseDeclarations(readFileSync(`${root}${folder}/${file}`, "utf8"), cache);
  }
  return cache;
}

/** Parse `export interface X extends Y { /** doc *\/ name?: type; }` blocks and `export type X = ...;`. */
export function parseDeclarations(text: string, into: Map<string, InterfaceDecl>): void {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const alias = /^export type (\w+) = (.+);$/.exec(lines[i]);
    if (alias !== null) {
      aliases.set(alias[1], alias[2]);
      // `type XOptions = Omit<OnPolicyOptions, ...>` declares options like an interface
      if (/^Omit<\w+,/.test(alias[2]))
        into.set(alias[1], { name: alias[1], extends: parseParents(alias[2]), members: [] });
    }
    const head = /^export interface (\w+)(?: extends (.+))? \{$/.exec(lines[i]);
    if (head === null) continue;
    const decl: InterfaceDecl = {
      name: head[1],
      extends: head[2] === undefined ? [] : parseParents(head[2]),
      members: [],
    };
    let doc: string[] = [];
    for (i++; i < lines.length && lines[i] !== "}"; i++) {
      const line = lines[i].trim();
      if (line.startsWith("/**")) {
        doc = [];
        let j = i;
        for (; j < lines.length; j++) {
          doc.push(
            lines[j]
              .trim()
              .replace(/^\/\*\*|\*\/$/g, "")
              .replace(/^\*\s?/, "")
              .trim(),
          );
          if (lines[j].includes("*/")) break;
        }
        i = j;
        continue;
      }
      const member = /^(?:readonly )?(\w+)\?: (.+);$/.exec(line);
      if (member !== null) {
        const text = doc.filter((d) => d !== "").join(" ");
        const defaultMatch = /@defaultValue\s+(.*)$/.exec(text);
        decl.members.push({
          name: member[1],
          type: member[2],
          doc: text.replace(/@defaultValue.*$/, "").trim(),
          defaultValue: defaultMatch?.[1].trim(),
        });
      }
      doc = [];
    }
    into.set(decl.name, decl);
  }
}

/** The options of interface `name` and everything it extends, in declaration order (own ones last). */
export async function optionSpecs(interfaceName: string): Promise<Map<string, OptionSpec>> {
  const decls = await declarations();
  const out = new Map<string, OptionSpec>();
  const visit = (name: string, omitted: Set<string>) => {
    const decl = decls.get(name);
    if (decl === undefined) return;
    for (const parent of decl.extends) visit(parent.name, new Set([...omitted, ...parent.omit]));
    for (const m of decl.members) if (!omitted.has(m.name)) out.set(m.name, m);
  };
  visit(interfaceName, new Set());
  return out;
}

/**
 * Check and convert `value` (from YAML or `--set`) to what option `spec` declares. `source` names
 * where it came from (for the message). Throws `INVALID_OPTION` naming the key and a valid example.
 */
export async function coerceOption(spec: OptionSpec, value: unknown, source: string): Promise<unknown> {
  return coerceType(spec.name, spec.type, value, source);
}

async function coerceType(key: string, type: string, value: unknown, source: string): Promise<unknown> {
  const alternatives = splitUnion(type);
  const errors: string[] = [];
  for (const alternative of alternatives) {
    const result = await coerceOne(key, alternative, value, source);
    if (result.ok) return result.value;
    errors.push(result.expected);
  }
  throw new ProximalError(
    "INVALID_OPTION",
    `${key} (${source}) must be ${errors.join(" or ")}; got ${describe(value)}.${exampleFor(key, type)}`,
  );
}

type Coerced = { ok: true; value: unknown } | { ok: false; expected: string };

async function coerceOne(key: string, type: string, value: unknown, source: string): Promise<Coerced> {
  if (type !== "ScheduleLike" && aliases.has(type) && !/^[A-Z]\w*$/.test(aliases.get(type)!)) {
    return coerceAlias(key, type, value, source);
  }
  if (type === "number") {
    const n = asNumber(value);
    return n === undefined ? { ok: false, expected: "a number" } : { ok: true, value: n };
  }
  if (type === "boolean") {
    return typeof value === "boolean" ? { ok: true, value } : { ok: false, expected: "true or false" };
  }
  if (type === "null") return value === null ? { ok: true, value } : { ok: false, expected: "null" };
  if (/^"[^"]*"$/.test(type)) {
    return value === type.slice(1, -1) ? { ok: true, value } : { ok: false, expected: type };
  }
  if (type === "number[]") {
    if (Array.isArray(value) && value.every((v) => asNumber(v) !== undefined)) {
      return { ok: true, value: value.map((v) => asNumber(v)) };
    }
    return { ok: false, expected: "a list of numbers like [64, 64]" };
  }
  if (type === "ScheduleLike") {
    const n = asNumber(value);
    if (n !== undefined) return { ok: true, value: n };
    if (typeof value === "string") {
      // RL Zoo's schedule strings: lin_3e-4 (linear to 0), constant_3e-4
      const m = /^(lin|linear|constant|cosine)_(.+)$/.exec(value);
      const initial = m === null ? undefined : asNumber(Number(m[2]));
      if (m !== null && initial !== undefined) {
        const schedule = m[1] === "lin" ? "linear" : m[1];
        return { ok: true, value: { schedule, initial } };
      }
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      const known = ["schedule", "initial", "final"];
      const extra = Object.keys(v).filter((k) => !known.includes(k));
      if (
        extra.length === 0 &&
        ["constant", "linear", "cosine"].includes(String(v.schedule)) &&
        asNumber(v.initial) !== undefined &&
        (v.final === undefined || asNumber(v.final) !== undefined)
      ) {
        return { ok: true, value: { ...v, initial: asNumber(v.initial), final: asNumber(v.final) ?? 0 } };
      }
    }
    return {
      ok: false,
      expected: "a number, lin_<initial> or { schedule: linear|cosine|constant, initial, final }",
    };
  }
  if (/^[A-Z]\w*$/.test(type)) {
    const decls = await declarations();
    if (decls.has(type)) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return { ok: false, expected: `a mapping of ${type} fields` };
      }
      const specs = await optionSpecs(type);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const spec = specs.get(k);
        if (spec === undefined) {
          throw new ProximalError(
            "INVALID_OPTION",
            `Unknown option "${key}.${k}" (${source}).${didYouMean(k, specs.keys())} ${key} takes: ${[...specs.keys()].join(", ")}.`,
          );
        }
        out[k] = await coerceType(`${key}.${k}`, spec.type, v, source);
      }
      return { ok: true, value: out };
    }
  }
  // a type this reader does not know: pass the value through; the constructor validates it
  return { ok: true, value };
}

async function coerceAlias(key: string, type: string, value: unknown, source: string): Promise<Coerced> {
  try {
    return { ok: true, value: await coerceType(key, aliases.get(type)!, value, source) };
  } catch (error) {
    // a value that does not fit the alias is a type mismatch reported by the caller; other errors are bugs
    if (!(error instanceof ProximalError)) throw error;
    return { ok: false, expected: aliases.get(type)! };
  }
}

/** Split a union at top level (not inside braces, brackets or quotes). */
function splitUnion(type: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (const ch of type) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === "{" || ch === "(" || ch === "<" || ch === "[")) depth++;
    if (!quoted && (ch === "}" || ch === ")" || ch === ">" || ch === "]")) depth--;
    if (ch === "|" && depth === 0 && !quoted) {
      parts.push(current.trim());
      current = "";
    } else current += ch;
  }
  parts.push(current.trim());
  // "Schedule" (a function) cannot come from the command line
  return parts.filter((p) => p !== "Schedule" && !p.startsWith("(") && p !== "undefined");
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === "number" && !Number.isNaN(value)) return value;
  if (value === "inf" || value === "Infinity" || value === ".inf") return Number.POSITIVE_INFINITY;
  return undefined;
}

function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  return JSON.stringify(value) ?? String(value);
}

function exampleFor(key: string, type: string): string {
  const name = key.split(".").pop()!;
  if (type.startsWith("ScheduleLike")) return ` Example: --set ${key}=3e-4 or --set ${key}=lin_3e-4.`;
  if (type === "number" || type === "number | null") return ` Example: --set ${key}=1.`;
  if (type === "boolean") return ` Example: --set ${key}=true.`;
  if (type.startsWith('"')) return ` Example: --set ${key}=${type.split("|")[0].trim().replace(/"/g, "")}.`;
  return name === key ? "" : ` Set it as --set ${key}=<value>.`;
}
