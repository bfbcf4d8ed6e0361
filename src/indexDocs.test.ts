/**
 * Every export of the public API (`src/index.ts`) has a TSDoc comment, as STYLE.md asks and the API
 * reference (`npm run docs`, TypeDoc) shows. A plain-text check of the sources, so it runs with the
 * unit tests in a second, without TypeDoc: each exported name is followed to its declaration
 * (through re-exports), and the text before the declaration must end a `/** ... *\/` comment.
 * `export * as ns` namespaces need the comment on the statement in index.ts.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";

const SRC = new URL("../src/", import.meta.url);

function source(url: URL): string {
  return readFileSync(url, "utf8");
}

/** `./x.js` of `from` as the URL of the TypeScript source beside `file`. */
function moduleUrl(specifier: string, file: URL): URL {
  return new URL(specifier.replace(/\.js$/, ".ts"), file);
}

function endsWithDocComment(before: string): boolean {
  const text = before.trimEnd();
  if (!text.endsWith("*/")) return false;
  const start = text.lastIndexOf("/*");
  return start >= 0 && text.startsWith("/**", start);
}

const escapeRegExp = (name: string) => name.replace(/[$]/g, "\\$");

/** Whether `name` as declared in (or re-exported by) `file` has a doc comment; null when not found. */
function documented(name: string, file: URL, depth = 0): boolean | null {
  if (depth > 5 || !existsSync(file)) return null;
  const text = source(file);
  const n = escapeRegExp(name);
  const declaration = new RegExp(
    `^(?:export )?(?:declare )?(?:abstract )?(?:async )?(?:class|function\\*?|const|let|interface|type|enum|namespace) ${n}\\b`,
    "m",
  );
  const match = declaration.exec(text);
  if (match !== null) return endsWithDocComment(text.slice(0, match.index));
  // `export { a as name } from "./x.js"` or `export { name } from "./x.js"`
  for (const m of text.matchAll(/export (?:type )?\{([^}]*)\} from "([^"]+)"/g)) {
    for (const item of m[1].split(",").map((s) => s.trim())) {
      const [original, alias] = item.replace(/^type /, "").split(/\s+as\s+/);
      if ((alias ?? original) === name) return documented(original, moduleUrl(m[2], file), depth + 1);
    }
  }
  // `import { name } from "./x.js"` re-exported with `export { name }`
  for (const m of text.matchAll(/import (?:type )?\{([^}]*)\} from "([^"]+)"/g)) {
    for (const item of m[1].split(",").map((s) => s.trim())) {
      const [original, alias] = item.replace(/^type /, "").split(/\s+as\s+/);
      if ((alias ?? original) === name) return documented(original, moduleUrl(m[2], file), depth + 1);
    }
  }
  return null;
}

describe("public API docs", () => {
  test("every export of src/index.ts has a doc comment", () => {
    const index = new URL("index.ts", SRC);
    const text = source(index);
    const missing: string[] = [];
    let checked = 0;
    for (const m of text.matchAll(/export (?:type )?\{([^}]*)\} from "([^"]+)"/g)) {
      for (const item of m[1]
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)) {
        const [original, alias] = item.replace(/^type /, "").split(/\s+as\s+/);
        const result = documented(original, moduleUrl(m[2], index));
        checked++;
        if (result !== true)
          missing.push(`${alias ?? original} (${m[2]}${result === null ? ", declaration not found" : ""})`);
      }
    }
    for (const m of text.matchAll(/export \* as (\w+) from "[^"]+"/g)) {
      checked++;
      if (!endsWithDocComment(text.slice(0, m.index))) missing.push(`namespace ${m[1]}`);
    }
    assert.ok(checked > 300, `only ${checked} exports found: is the parser still reading index.ts?`);
    assert.deepEqual(missing, [], `exports without a doc comment:\n${missing.join("\n")}`);
  });
});
