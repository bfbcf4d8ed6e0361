import { didYouMean, ProximalError } from "../errors.js";

/** Options every benchmark suite accepts. */
export interface BenchOptions {
  /** Print one JSON object on stdout instead of a table. */
  json: boolean;
  /** A shorter run for smoke tests; figures from it are not for BENCHMARKS.md. */
  quick: boolean;
  /** Seed of suites that train one run (`dqn`, `sac`); each suite documents its default. */
  seed?: number;
  /** Model family of `bench lm`: "gpt" (the char GPT, the default) or "llama". */
  arch?: string;
  /** Named model size of `bench lm --arch llama` (e.g. "135m", SmolLM2-135M's shape). */
  size?: string;
}

/** A suite runs its measurements and prints them; it is loaded lazily so the CLI starts fast. */
type SuiteLoader = () => Promise<(options: BenchOptions) => Promise<void>>;

const suites: Record<string, SuiteLoader> = {};

/** Names of the benchmark suites `proximal bench <suite>` runs. */
export function listBenchSuites(): string[] {
  return Object.keys(suites).sort();
}

/** Run one suite by name; unknown names fail with the list and the closest match. */
export async function runBenchSuite(name: string, options: BenchOptions): Promise<void> {
  const loader = suites[name];
  if (loader === undefined) {
    throw new ProximalError(
      "UNKNOWN_NAME",
      `Unknown benchmark suite "${name}".${didYouMean(name, listBenchSuites())} Known suites: ${listBenchSuites().join(", ") || "(none)"}.`,
    );
  }
  const run = await loader();
  await run(options);
}

/** Print rows as an aligned text table. */
export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) => values.map((v, i) => v.padStart(widths[i])).join("  ");
  console.log(line(columns));
  for (const r of cells) console.log(line(r));
}

function formatCell(value: string | number | undefined): string {
  if (typeof value === "number") {
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(4);
  }
  return value ?? "";
}

/** Register a suite; called once per suite in this file's registration block below. */
function register(name: string, loader: SuiteLoader): void {
  suites[name] = loader;
}

// Registration block: one line per suite (suites live in src/bench/<name>.ts and export `run`).
register("rng", async () => (await import("./rngBench.js")).run);
register("engine", async () => (await import("./engineBench.js")).run);
register("envs", async () => (await import("./envsBench.js")).run);
register("ppo", async () => (await import("./ppoBench.js")).run);
register("learning", async () => (await import("./learningBench.js")).run);
register("lm", async () => (await import("./lmBench.js")).run);
register("presets", async () => (await import("./presetsBench.js")).run);
register("dqn", async () => (await import("./dqnBench.js")).run);
register("sac", async () => (await import("./sacBench.js")).run);
register("curriculum", async () => (await import("./curriculumBench.js")).run);
register("distributed", async () => (await import("./distributedBench.js")).run);
