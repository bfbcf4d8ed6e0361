// `npm run test:browser`, part 2: the playground (playground/, built with Vite) in Debian's Chromium,
// used as a person would: choose, train, watch, pause, play, save, reload, load (also a model the
// CLI trained), export ONNX and run it; then the RLHF page.
// PROXIMAL_SCREENSHOT=docs/playground.png also writes the README's screenshot.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { build, preview } from "vite";
import { CHROMIUM, CHROMIUM_ARGS, root } from "./harness.mjs";

const configFile = join(root, "playground/vite.config.ts");
const { PPO } = await import(join(root, "dist/index.js"));
const { packModelDirectory } = await import(join(root, "dist/node.js"));

/** Non-white pixels of the page's env canvas. */
const drawnPixels = () => {
  const canvas = document.getElementById("canvas");
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let drawn = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] < 750) drawn++;
  return drawn;
};
const framesShown = () => Number(document.getElementById("canvas").dataset.frames ?? 0);
const chartPoints = (title) =>
  Number(document.querySelector(`.chart[data-title="${title}"]`)?.dataset.points ?? 0);

describe("the playground in Chromium", () => {
  let server;
  let browser;
  let page;
  let work;
  const errors = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "proximal-playground-"));
    await build({ configFile, logLevel: "error" });
    server = await preview({ configFile, preview: { host: "127.0.0.1", port: 0 }, logLevel: "error" });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1400, height: 900 },
    });
    page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(String(error)));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const url = (path) => new URL(path, server.resolvedUrls.local[0]).href;
  const ready = () => page.waitForFunction(() => document.getElementById("status").textContent === "Ready.");
  const statusIs = (prefix) =>
    page.waitForFunction((p) => document.getElementById("status").textContent.startsWith(p), prefix, {
      timeout: 120_000,
    });

  let fingerprint;
  let savedModel;

  const returnPoints = () => page.evaluate(chartPoints, "Episode return");
  const morePoints = (than) =>
    page.waitForFunction(
      ([title, before]) =>
        Number(document.querySelector(`.chart[data-title="${title}"]`)?.dataset.points ?? 0) > before,
      ["Episode return", than],
    );

  test("choose CartPole, PPO and its fast preset, train: the charts update, the canvas shows the cart", async () => {
    await page.goto(url("index.html"));
    await ready();
    await page.selectOption("#env", "CartPole-v1");
    await page.selectOption("#algorithm", "PPO");
    await page.selectOption("#preset", "fast");
    // the preset's options are in the form; a smaller budget keeps the test short
    assert.equal(await page.inputValue('#options [name="nEpochs"]'), "10");
    await page.fill('#options [name="totalTimesteps"]', "20480");
    await page.click("#start");
    await morePoints(0);
    await morePoints(await returnPoints());
    await page.click("#pause");
    for (const title of ["Losses", "KL (approx.)", "Entropy", "Clip fraction"]) {
      assert.ok((await page.evaluate(chartPoints, title)) > 0, `${title} chart has no points`);
    }
    assert.ok((await page.evaluate(framesShown)) > 1, "no frames drawn");
    const drawn = await page.evaluate(drawnPixels);
    assert.ok(drawn > 1000, `the canvas is blank (${drawn} drawn pixels)`);
  });

  test("pause holds the timestep count; resume finishes the run", async () => {
    await statusIs("paused");
    const held = await page.textContent("#status");
    const points = await returnPoints();
    await page.waitForTimeout(1000);
    assert.equal(await page.textContent("#status"), held);
    await page.click("#pause"); // now labelled Resume
    await statusIs("done");
    assert.match(await page.textContent("#status"), /20,480 timesteps/);
    assert.ok((await returnPoints()) > points);
    fingerprint = await page.textContent("#probe");
    assert.match(fingerprint, /^(\d ){15}\d$/);
    assert.ok(new Set(fingerprint.split(" ")).size > 1, `one action everywhere: ${fingerprint}`);
    if (process.env.PROXIMAL_SCREENSHOT) await page.screenshot({ path: process.env.PROXIMAL_SCREENSHOT });
  });

  test("play it yourself: the arrow keys drive the cart", async () => {
    const frames = await page.evaluate(framesShown);
    await page.click("#play");
    assert.match(await page.textContent("#driver"), /you play/);
    await page.keyboard.down("ArrowLeft");
    await page.waitForTimeout(500);
    await page.keyboard.up("ArrowLeft");
    assert.ok((await page.evaluate(framesShown)) > frames + 3, "the env did not step under the keyboard");
    await page.click("#agent");
  });

  test("save, reload the page, load: the same actions", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
    savedModel = join(work, download.suggestedFilename());
    assert.equal(download.suggestedFilename(), "PPO-CartPole-v1.tar");
    await download.saveAs(savedModel);
    await page.reload();
    await ready();
    assert.equal(await page.textContent("#probe"), "–");
    await page.setInputFiles("#load-file", savedModel);
    await page.waitForFunction(() => document.getElementById("probe").textContent !== "–");
    assert.equal(await page.textContent("#probe"), fingerprint);
    assert.equal(await page.inputValue("#env"), "CartPole-v1");
    assert.match(await page.textContent("#status"), /done \(loaded\) · 20,480 timesteps/);
  });

  test("a model trained by the CLI loads through the file input, with Node's actions", async () => {
    const run = join(work, "cli-run");
    execFileSync(
      process.execPath,
      [
        join(root, "dist/cli/main.js"),
        "train",
        "ppo",
        "--env",
        "CartPole-v1",
        "--total-timesteps",
        "2048",
        "--out",
        run,
      ],
      { stdio: "pipe" },
    );
    const archive = join(work, "cli-model.tar");
    await writeFile(archive, await packModelDirectory(join(run, "model")));
    await page.setInputFiles("#load-file", archive);
    await page.waitForFunction(() => /2,048 timesteps/.test(document.getElementById("status").textContent));
    const observations = JSON.parse(await page.getAttribute("#probe", "data-observations"));
    const inNode = await PPO.load(join(run, "model"));
    const actions = observations.map(
      (obs) => inNode.predict(Float32Array.from(obs), { deterministic: true })[0],
    );
    await page.waitForFunction(
      (expected) => document.getElementById("probe").textContent === expected,
      actions.join(" "),
    );
    // hand the page's own model back for the ONNX test
    await page.setInputFiles("#load-file", savedModel);
    await page.waitForFunction(() => /20,480 timesteps/.test(document.getElementById("status").textContent));
  });

  test("export ONNX and run it with onnxruntime-web: its actions are predict's", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-onnx")]);
    assert.equal(download.suggestedFilename(), "PPO-CartPole-v1.onnx");
    await page.click("#run-onnx");
    await page.waitForFunction(() => document.getElementById("onnx-check").textContent !== "");
    assert.equal(
      await page.textContent("#onnx-check"),
      "ONNX policy vs predict: 16 of 16 probe actions agree.",
    );
    const frames = await page.evaluate(framesShown);
    await page.waitForFunction(
      (f) => Number(document.getElementById("canvas").dataset.frames) > f + 3,
      frames,
    );
  });

  test("the RLHF page: the sentiment demo's samples stream in as PPO trains", async () => {
    await page.goto(url("rlhf.html"));
    // smaller than the page's quick budget (300 SFT steps still give enough distinct pairs for seed 0)
    const budget = {
      corpusSize: 300,
      sftSteps: 300,
      pairPrompts: 256,
      rewardSteps: 10,
      ppoSteps: 3,
      ppoBatchSize: 8,
    };
    for (const [name, value] of Object.entries({
      ...budget,
      dpoSteps: 2,
      evalPrompts: 8,
      samplesPerUpdate: 2,
    })) {
      await page.fill(`#budget [name="${name}"]`, String(value));
    }
    await page.click("#start");
    await page.waitForFunction(() => document.getElementById("status").textContent === "Done.", null, {
      timeout: 180_000,
    });
    // before PPO, then after each of the 3 updates, newest first; 2 prompts each
    const lists = await page.$$eval("#samples li", (items) => items.map((item) => item.textContent));
    assert.equal(lists.length, 4);
    assert.match(lists[0], /^after update 3:\n/);
    assert.match(lists[3], /^before PPO:\n/);
    for (const list of lists) assert.equal(list.match(/\(judge [+-]\d+\)/g)?.length, 2);
    assert.equal(await page.evaluate(chartPoints, "Reward-model score"), 3);
    assert.match(await page.textContent("#result"), /^reward model: \d+% of \d+ held-out pairs/);
  });

  test("no console errors and no uncaught page errors", async () => {
    assert.equal(await page.isHidden("#error"), true);
    assert.deepEqual(errors, []);
  });
});
