/**
 * Vite config of the playground (`npm run playground`, `npm run playground:build`).
 *
 * `import ... from "proximal"` resolves to the package's own browser entry: the file the `exports`
 * map of the repo's package.json gives for `"."` under the `browser` condition (or `default`), i.e.
 * the compiled `dist/` that `npm pack` ships. So the page runs exactly what a web developer installs,
 * not the TypeScript sources through a different compiler; the price is `npm run build` first (the
 * playground scripts run `build:ts`). Nothing is fetched at build or run time: presets are bundled
 * as text, onnxruntime-web's wasm files are served from node_modules.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "..");

/** The file the package's `exports["."]` gives a browser bundler. */
function packageBrowserEntry(): string {
  const pkg = JSON.parse(readFileSync(resolve(repoRoot, "package.json"), "utf8")) as {
    exports: Record<string, unknown>;
  };
  let entry: unknown = pkg.exports["."];
  // conditions in the order a browser bundler tries them
  while (typeof entry === "object" && entry !== null) {
    const conditions = entry as Record<string, unknown>;
    entry = conditions.browser ?? conditions.import ?? conditions.default;
  }
  if (typeof entry !== "string") throw new Error('package.json exports["."] names no browser entry');
  return resolve(repoRoot, entry);
}

export default defineConfig({
  root: here,
  base: "./",
  resolve: { alias: [{ find: /^proximal$/, replacement: packageBrowserEntry() }] },
  worker: { format: "es" },
  server: { fs: { allow: [repoRoot] } },
  build: {
    outDir: resolve(here, "dist"),
    emptyOutDir: true,
    target: "es2022",
    // the library and onnxruntime-web are large by design; the warning would say nothing new
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      input: { main: resolve(here, "index.html"), rlhf: resolve(here, "rlhf.html") },
    },
  },
});
