// The package as users get it: `npm pack`, install the tarball into a fresh app, then use it there as
// a user would: an ESM script, a strict TypeScript check of a consumer file, and `npx proximal train`
// / `npx proximal eval`. The install is --prefer-offline: npm ci caches the dependencies' tarballs but
// not the registry metadata a fresh install resolves version ranges with, so that part may go to the
// registry. Slow (about a minute): skipped under PROXIMAL_QUICK=1. Needs `npm run build` first (the
// tarball is packed from dist/ as built).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const quick = process.env.PROXIMAL_QUICK ? "slow packaging test (PROXIMAL_QUICK set)" : false;

function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("the packed tarball", { skip: quick }, () => {
  let app;
  let files;
  before(async () => {
    app = await mkdtemp(join(tmpdir(), "proximal-pack-"));
    // --ignore-scripts: pack dist/ as built instead of rebuilding inside the test
    const [packed] = JSON.parse(
      run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", app], root),
    );
    files = packed.files.map((f) => f.path);
    await writeFile(
      join(app, "package.json"),
      `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`,
    );
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(app, packed.filename)], app);
  });
  after(async () => {
    if (app) await rm(app, { recursive: true, force: true });
  });

  test("ships LICENSE, no tests or test helpers, and the source of every source map", () => {
    assert.ok(files.includes("LICENSE"));
    assert.deepEqual(
      files.filter((f) => /\.test\.|testing\.|\/testing\/|d4pgTestEnvs/.test(f)),
      [],
    );
    const shipped = new Set(files);
    const missing = [];
    for (const map of files.filter((f) => f.endsWith(".js.map"))) {
      const { sources } = JSON.parse(
        execFileSync("cat", [join(app, "node_modules/proximal", map)], { encoding: "utf8" }),
      );
      for (const source of sources) {
        const path = join(map, "..", source);
        if (!shipped.has(path)) missing.push(`${map} -> ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test("an ESM script trains, saves to an archive, loads, and uses proximal/node", async () => {
    await writeFile(
      join(app, "script.mjs"),
      `import { evaluatePolicy, make, ModelArchive, PPO } from "proximal";
import { packModelDirectory } from "proximal/node";
const model = new PPO("CartPole-v1", { numEnvs: 2, nSteps: 32, batchSize: 32, nEpochs: 1, seed: 0 });
await model.learn({ totalTimesteps: 128 });
const archive = new ModelArchive();
await model.save(archive);
await model.save("saved");
const again = await PPO.load(await packModelDirectory("saved"));
const obs = Float32Array.of(0.01, -0.2, 0.03, 0.1);
const { meanReturn } = await evaluatePolicy(again, make("CartPole-v1"), { episodes: 2 });
console.log(JSON.stringify({
  files: archive.names(),
  same: again.predict(obs, { deterministic: true })[0] === model.predict(obs, { deterministic: true })[0],
  meanReturn,
}));
`,
    );
    const out = JSON.parse(run(process.execPath, ["script.mjs"], app));
    assert.deepEqual(out.files, ["model.json", "model.safetensors"]);
    assert.equal(out.same, true);
    assert.ok(out.meanReturn > 0);
  });

  test("a consumer .ts file type-checks under strict TypeScript (no @types/node: a browser app)", async () => {
    await writeFile(
      join(app, "consumer.ts"),
      `import { type EvaluationResult, evaluatePolicy, IndexedDBModelFiles, make, ModelArchive, PPO, type PPOOptions, renderToCanvas } from "proximal";
const options: PPOOptions = { numEnvs: 4, learningRate: 3e-4, seed: 1 };
const model = new PPO("CartPole-v1", options);
await model.learn({ totalTimesteps: 256, onUpdate: (stats) => console.log(stats["train/approxKl"]) });
const result: EvaluationResult = await evaluatePolicy(model, make("CartPole-v1"), { episodes: 2 });
const archive = new ModelArchive();
await model.save(archive);
const blob: Blob = archive.toBlob();
const again: PPO = await PPO.load(blob);
await again.save(new IndexedDBModelFiles("x"));
const env = make("CartPole-v1");
env.reset({ seed: 0 });
renderToCanvas(env, document.createElement("canvas"));
console.log(result.meanReturn);
`,
    );
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          lib: ["es2022", "dom"],
          types: [],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["consumer.ts"],
      }),
    );
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    run(process.execPath, [tsc, "-p", "tsconfig.json"], app);
  });

  test("npx proximal train ppo and npx proximal eval run from the installed package", async () => {
    const trained = run(
      "npx",
      [
        "--offline",
        "proximal",
        "train",
        "ppo",
        "--env",
        "CartPole-v1",
        "--total-timesteps",
        "2048",
        "--out",
        "run",
      ],
      app,
    );
    assert.match(trained, /run/);
    const evaluated = run("npx", ["--offline", "proximal", "eval", "run", "--episodes", "3"], app);
    assert.match(evaluated, /mean/i);
    assert.ok((await readFile(join(app, "run/model/model.json"), "utf8")).includes('"algorithm": "PPO"'));
  });
});
