// Shared setup of the Chromium test and benchmark: bundle test/browser/page.mjs with esbuild the way a
// web app would (`import ... from "proximal"` resolved through the package's exports map), serve it
// from a tiny static server on 127.0.0.1, and open it in Debian's Chromium through playwright-core.
// Playwright never downloads a browser here: it is given /usr/bin/chromium.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const CHROMIUM = process.env.PROXIMAL_CHROMIUM ?? "/usr/bin/chromium";
/** Headless, no sandbox (CI runs as root), no GPU, nothing that reaches the network. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".yaml": "text/yaml",
  ".tar": "application/x-tar",
};

/**
 * Bundle the page into `www` as a web app would, with esbuild or Vite: the package found by name in
 * node_modules. Returns the bundler's warnings (Vite's "externalized for browser compatibility" is
 * one, for a Node built-in in the graph).
 */
async function bundlePage(work, www, bundler) {
  // a fresh app folder whose node_modules/proximal is this checkout, so "proximal" resolves through
  // package.json's exports map (the browser conditions), as it does for an installed package
  const app = join(work, "app");
  await mkdir(join(app, "node_modules"), { recursive: true });
  await symlink(root, join(app, "node_modules", "proximal"), "dir");
  await writeFile(join(app, "page.mjs"), await readFile(new URL("./page.mjs", import.meta.url)));
  if (bundler === "vite") return viteBuild(app, www);
  await build({
    entryPoints: [join(work, "app", "page.mjs")],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    outfile: join(www, "page.js"),
    logLevel: "silent",
  });
  await writeFile(join(www, "index.html"), await readFile(new URL("./index.html", import.meta.url)));
  return [];
}

/** `vite build` of the app (index.html -> page.mjs) into `www`; returns Vite's warnings. */
async function viteBuild(app, www) {
  const { build: vite, createLogger } = await import("vite");
  const html = (await readFile(new URL("./index.html", import.meta.url), "utf8")).replace(
    "/page.js",
    "./page.mjs",
  );
  await writeFile(join(app, "index.html"), html);
  const warnings = [];
  const logger = createLogger("silent");
  logger.warn = (message) => warnings.push(message);
  logger.warnOnce = (message) => warnings.push(message);
  await vite({
    root: app,
    logLevel: "silent",
    customLogger: logger,
    build: { outDir: www, emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 10_000 },
  });
  // Vite replaces a Node built-in by a stub that warns "has been externalized for browser
  // compatibility" when used: its text in the output means a built-in was in the graph
  const assets = join(www, "assets");
  for (const name of await readdir(assets)) {
    if (
      name.endsWith(".js") &&
      (await readFile(join(assets, name), "utf8")).includes("externalized for browser")
    ) {
      warnings.push(`${name} holds Vite's stub for an externalized Node built-in`);
    }
  }
  return warnings;
}

/** A static server: `/presets/...` from the checkout, `/models/...` from `models`, the rest from `www`. */
function serve(www, models) {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    const [base, rest] = path.startsWith("/presets/")
      ? [join(root, "presets"), path.slice("/presets/".length)]
      : path.startsWith("/models/")
        ? [models, path.slice("/models/".length)]
        : [www, path === "/" ? "index.html" : path.slice(1)];
    const file = normalize(join(base, rest));
    if (!file.startsWith(base + sep)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response
        .writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" })
        .end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/**
 * Bundle (with `bundler`: "esbuild" or "vite"), serve and open the page. `models` is a folder served
 * under /models/. Returns the page, the console errors and page errors seen so far (live arrays), the
 * console warnings, the bundler's warnings, the profile folder (to find its processes), and `close()`.
 */
export async function openPage({ bundler = "esbuild" } = {}) {
  const work = await mkdtemp(join(tmpdir(), "proximal-browser-"));
  const www = join(work, "www");
  const models = join(work, "models");
  await mkdir(www, { recursive: true });
  await mkdir(models, { recursive: true });
  const bundleWarnings = await bundlePage(work, www, bundler);
  const server = await serve(www, models);
  const userDataDir = join(work, "profile"); // empty: a fresh profile every run
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  const warnings = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
    if (message.type() === "warning") warnings.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  const { port } = server.address();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => window.harness !== undefined);
  return {
    page,
    errors,
    warnings,
    models,
    bundleWarnings,
    profile: userDataDir,
    async close() {
      await context.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(work, { recursive: true, force: true });
    },
  };
}
