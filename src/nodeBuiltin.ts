/**
 * Node built-in modules without an `import` statement.
 *
 * Why: the main entry of the package must bundle for browsers (esbuild, Vite) with no Node built-in
 * in its module graph, yet `model.save(dir)`, `PPO.load(dir)` and `loadPreset(...)` must keep working
 * in Node from that same entry. A static `import "node:fs"` breaks the browser bundle, and so does a
 * dynamic `import("node:fs")` (bundlers follow it). Reading the module through
 * `process.getBuiltinModule` (Node >= 20.16) at call time leaves nothing for a bundler to follow: in
 * Node the call works as before, in a browser it throws a {@link ProximalError} that names the
 * browser way (Blob, ArrayBuffer, IndexedDB). We chose this over an injectable file system because
 * Node users keep writing `model.save("runs/x")` with no setup step, and over a second, Node-aware
 * copy of every class because there is one class per algorithm to keep in step.
 */
import { ProximalError } from "./errors.js";

/**
 * A Node built-in module (`"node:worker_threads"`, `"node:os"`) when running under Node >= 20.16, else
 * undefined. Read through `process.getBuiltinModule` rather than a static import, so the modules that
 * use it still load in a browser and can fall back or say what they need.
 */
export function nodeBuiltin<T>(id: `node:${string}`): T | undefined {
  return (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
  ).process?.getBuiltinModule?.(id) as T | undefined;
}

/**
 * Like {@link nodeBuiltin}, but throws `UNSUPPORTED_RUNTIME` where the module is missing.
 *
 * @param id - The built-in, e.g. `"node:fs/promises"`.
 * @param purpose - What needed it, for the message: `"model.save(directory)"`.
 * @param browserAlternative - What to use instead in a browser, for the message.
 */
export function requireNodeBuiltin<T>(id: `node:${string}`, purpose: string, browserAlternative: string): T {
  const module = nodeBuiltin<T>(id);
  if (module !== undefined) return module;
  const isNode =
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ===
    "string";
  throw new ProximalError(
    "UNSUPPORTED_RUNTIME",
    isNode
      ? `${purpose} needs ${id} through process.getBuiltinModule, which this Node (${(globalThis as unknown as { process: { version: string } }).process.version}) lacks. Use Node >= 20.16.`
      : `${purpose} reads or writes files, which only Node can do. ${browserAlternative}`,
  );
}

/** The Node file-system modules the library uses, loaded by {@link requireNodeBuiltin}. */
export interface NodeFiles {
  fs: typeof import("node:fs/promises");
  path: typeof import("node:path");
}

/** `node:fs/promises` and `node:path`, or an `UNSUPPORTED_RUNTIME` error naming `browserAlternative`. */
export function nodeFiles(purpose: string, browserAlternative: string): NodeFiles {
  return {
    fs: requireNodeBuiltin<typeof import("node:fs/promises")>(
      "node:fs/promises",
      purpose,
      browserAlternative,
    ),
    path: requireNodeBuiltin<typeof import("node:path")>("node:path", purpose, browserAlternative),
  };
}
