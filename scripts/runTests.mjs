// Runs the whole test suite with Node's built-in runner on every supported Node (20, 22, 24, 26).
//
// Why a script: `node --test dir/` means "run the tests in dir" on Node 20 but a module path on
// Node >= 21 (MODULE_NOT_FOUND, and nothing runs), and globs work on Node >= 21 but not on Node 20.
// An explicit list of files means the same thing on all of them.
//
// Usage: node scripts/runTests.mjs [--quick] [node --test options...]
//   --quick   sets PROXIMAL_QUICK=1 (skips the slow learning tests), on every OS
//   other arguments (e.g. --test-name-pattern=gae) go to `node --test` unchanged.
// The runner's summary (`# tests N`, `# pass N`, `# fail N`) stays the last output, and its exit
// status is this script's exit status.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Files under `dir` (relative to the root, "/"-separated, sorted) whose name ends with `suffix`. */
function filesEndingWith(dir, suffix) {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) =>
      relative(root, join(entry.parentPath ?? entry.path, entry.name))
        .split(sep)
        .join("/"),
    )
    .sort();
}

// The TypeScript sources are the list of unit tests; dist only holds their compiled form. Listing
// from src means a compiled test whose source was deleted (tsc never cleans dist) does not run, and
// a source that was not compiled is an error instead of a test that silently never ran. Helpers are
// `*.test.util.ts`, which this suffix does not match.
const sources = filesEndingWith("src", ".test.ts");
const compiled = sources.map((file) => `dist/${file.slice("src/".length, -".ts".length)}.js`);
const missing = compiled.filter((file) => !existsSync(join(root, file)));
if (missing.length > 0) {
  console.error(
    `runTests: ${missing.length} test file(s) are not compiled (first: ${missing[0]}). Run \`npm run build\` first (\`npm test\` does it through pretest).`,
  );
  process.exit(1);
}
const files = [...compiled, ...filesEndingWith("test", ".test.mjs")];
if (files.length === 0) {
  console.error("runTests: found no test files under src/ or test/; run it from a proximal checkout.");
  process.exit(1);
}

const args = process.argv.slice(2);
const env = { ...process.env };
const quickIndex = args.indexOf("--quick");
if (quickIndex !== -1) {
  args.splice(quickIndex, 1);
  env.PROXIMAL_QUICK = "1";
}

// Node 20 reports in TAP when the output is not a terminal, Node >= 23 in the spec format everywhere;
// CI reads the TAP summary (`# tests N`, `# pass N`, `# fail N`), so ask for TAP explicitly there.
// A terminal keeps Node's default and an explicit --test-reporter wins.
if (!process.stdout.isTTY && !args.some((arg) => arg.startsWith("--test-reporter"))) {
  args.unshift("--test-reporter=tap");
}

// A test that hangs (a deadlocked worker thread did, see src/workerThread.ts) must fail with its name
// instead of stalling CI until its time limit: no test comes near 15 minutes, even on a loaded machine.
if (!args.some((arg) => arg.startsWith("--test-timeout"))) args.unshift("--test-timeout=900000");

// the same node that runs this script, so `path/to/node24 scripts/runTests.mjs` tests Node 24
const child = spawn(process.execPath, ["--test", "--test-concurrency=2", ...args, ...files], {
  cwd: root,
  env,
  stdio: "inherit",
});
// pass a stop request on, so the runner cancels its tests and still prints its summary
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("error", (error) => {
  console.error(`runTests: could not start ${process.execPath}: ${error.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal !== null) {
    console.error(`runTests: the test runner was killed by ${signal}.`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
