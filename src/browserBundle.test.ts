import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

// dist/browserBundle.test.js -> the repository root, whose src/ is bundled (the TypeScript sources,
// so the test sees exactly what a bundler given the package's sources sees)
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Bundle `entry` for the browser; return the Node built-ins anything in its graph asked for. */
async function nodeImportsOf(entry: string): Promise<{ builtins: string[]; errors: string[] }> {
  const builtins: string[] = [];
  const recordBuiltins: Plugin = {
    name: "record-node-builtins",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        if (NODE_BUILTINS.has(args.path) || args.path.startsWith("node:")) {
          builtins.push(`${args.path} (from ${args.importer.slice(root.length + 1)})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    logLevel: "silent",
    plugins: [recordBuiltins],
  }).catch((error: { errors?: { text: string }[] }) => ({
    errors: error.errors ?? [{ text: String(error) }],
  }));
  return { builtins, errors: result.errors.map((e) => e.text) };
}

describe("the browser bundle of the main entry", () => {
  test("src/index.ts bundles with esbuild (platform browser) with no Node built-in in its graph", async () => {
    const { builtins, errors } = await nodeImportsOf("src/index.ts");
    assert.deepEqual(errors, []);
    assert.deepEqual(builtins, []);
  });

  test("the check itself sees Node built-ins: src/node.ts (proximal/node) reaches node:fs", async () => {
    const { builtins } = await nodeImportsOf("src/node.ts");
    assert.ok(
      builtins.some((b) => b.startsWith("node:fs")),
      `expected node:fs among ${builtins.join(", ")}`,
    );
  });
});
