/**
 * `proximal rlhf demo sentiment --out <dir> [--json]`: the RLHF pipeline of
 * `src/rlhf/tasks/sentimentDemo.ts` (SFT → preference pairs → reward model → PPO, and DPO) with a
 * progress line on stderr. Writes into `--out`: `results.json` (everything, with per-update PPO
 * metrics), `ppo.jsonl` (one row per PPO update) and `ppo.svg`/`ppo.png`
 * (reward-model score and KL to the reference over PPO updates). Prints the summary on stdout.
 * An existing `--out` is refused before training unless `--force` is given; files are written
 * atomically, and only once the run has finished.
 */
import { join } from "node:path";
import { didYouMean, ProximalError } from "../errors.js";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomicWrite.js";
import type { PPOStepStats } from "../rlhf/ppo/ppoTrainer.js";
import {
  type DemoProgress,
  QUICK_DEMO_OPTIONS,
  runSentimentDemo,
  type SentimentDemoResult,
} from "../rlhf/tasks/sentimentDemo.js";
import { checkOutDir, prepareOutDir } from "./outputDir.js";
import { gridShapes, niceTicks } from "./plot.js";
import { formatDuration } from "./progress.js";
import { encodePng, rasterize } from "./raster.js";
import { type Point, type Scene, type Shape, sceneToSvg } from "./scene.js";

export interface RlhfDemoFlags {
  out?: string;
  /** Replace an existing `--out` directory. */
  force?: boolean;
  json?: boolean;
  seed?: string;
  /** A few-second run with a tiny budget (smoke tests). */
  quick?: boolean;
}

/** Demo tasks `proximal rlhf demo` knows. */
export const RLHF_DEMO_TASKS = ["sentiment"] as const;

/** The summary printed on stdout (the JSON shape). */
export function demoSummary(result: SentimentDemoResult): Record<string, unknown> {
  const { history: _history, ...ppo } = result.ppo;
  return {
    sft: { loss: result.sft.loss },
    rewardModel: { heldOutAccuracy: result.rewardModel.heldOutAccuracy },
    ppo: {
      judgeBefore: ppo.judgeBefore,
      judgeAfter: ppo.judgeAfter,
      rmBefore: ppo.rmBefore,
      rmAfter: ppo.rmAfter,
      klToRef: ppo.klToRef,
    },
    dpo: result.dpo,
  };
}

export async function rlhfDemoCommand(task: string, flags: RlhfDemoFlags): Promise<number> {
  if (!(RLHF_DEMO_TASKS as readonly string[]).includes(task)) {
    throw new ProximalError(
      "UNKNOWN_NAME",
      `Unknown demo task "${task}".${didYouMean(task, RLHF_DEMO_TASKS)} Tasks: ${RLHF_DEMO_TASKS.join(", ")}.`,
    );
  }
  const seed = flags.seed === undefined ? 0 : Number(flags.seed);
  if (!Number.isInteger(seed)) {
    throw new ProximalError("INVALID_OPTION", `--seed must be an integer, got "${flags.seed}".`);
  }
  const out = flags.out ?? `runs/rlhf-${task}-seed${seed}`;
  await checkOutDir(out, flags.force);
  const display = new StageDisplay();
  const quick = flags.quick ? QUICK_DEMO_OPTIONS : {};
  const result = await runSentimentDemo({ seed, ...quick, onProgress: (e) => display.update(e) });
  display.close();

  await prepareOutDir(out, flags.force);
  await writeJsonAtomic(join(out, "results.json"), result);
  await writeFileAtomic(
    join(out, "ppo.jsonl"),
    `${result.ppo.history.map((row, i) => JSON.stringify({ update: i + 1, ...row })).join("\n")}\n`,
  );
  const scene = ppoFigure(result.ppo.history, `RLHF demo (sentiment, seed ${seed}): PPO updates`);
  await writeFileAtomic(join(out, "ppo.svg"), sceneToSvg(scene));
  await writeFileAtomic(join(out, "ppo.png"), encodePng(rasterize(scene, 2)));

  const summary = demoSummary(result);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const p = result.ppo;
    const lines = [
      `sft loss                 ${result.sft.loss.toFixed(3)}`,
      `reward model accuracy    ${result.rewardModel.heldOutAccuracy.toFixed(3)} (held out, ${result.rewardModel.heldOutPairs} pairs)`,
      `judge score  SFT → PPO   ${p.judgeBefore.toFixed(3)} → ${p.judgeAfter.toFixed(3)}`,
      `RM score     SFT → PPO   ${p.rmBefore.toFixed(3)} → ${p.rmAfter.toFixed(3)}`,
      `KL(PPO ‖ SFT)            ${p.klToRef.toFixed(3)} nats per response`,
      `dpo: judge ${result.dpo.judgeAfter.toFixed(3)}, preference accuracy ${result.dpo.preferenceAccuracy.toFixed(3)}`,
      `wrote ${join(out, "results.json")}, ppo.jsonl, ppo.svg, ppo.png`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return 0;
}

/** One redrawn line per stage on a terminal; a line per stage milestone otherwise. */
class StageDisplay {
  private readonly start = Date.now();
  private readonly tty = process.stderr.isTTY === true;
  private line = "";
  private lastStage = "";
  private lastDraw = 0;

  update(e: DemoProgress): void {
    const elapsed = formatDuration((Date.now() - this.start) / 1000);
    const metrics = Object.entries(e.metrics ?? {})
      .filter(([k]) => ["loss", "pairs", "heldOutAccuracy", "rollout/score", "rollout/klToRef"].includes(k))
      .map(([k, v]) => `${k.replace("rollout/", "")} ${formatMetric(v)}`)
      .join("  ");
    const text = `[${elapsed}] ${e.stage.padEnd(6)} ${e.step}/${e.total}  ${metrics}`;
    const finished = e.step >= e.total;
    if (this.tty) {
      if (e.stage !== this.lastStage && this.line !== "") process.stderr.write(`\r\x1b[2K${this.line}\n`);
      this.line = text;
      const now = Date.now();
      if (now - this.lastDraw >= 100 || finished) {
        this.lastDraw = now;
        process.stderr.write(`\r\x1b[2K${text}`);
      }
    } else if (
      finished ||
      e.stage !== this.lastStage ||
      e.step % Math.max(1, Math.ceil(e.total / 10)) === 0
    ) {
      process.stderr.write(`${text}\n`);
    }
    this.lastStage = e.stage;
  }

  close(): void {
    if (this.tty && this.line !== "") process.stderr.write(`\r\x1b[2K${this.line}\n`);
  }
}

function formatMetric(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}

/** Two panels over PPO updates: mean reward-model score, and KL to the reference. */
export function ppoFigure(history: PPOStepStats[], title: string): Scene {
  const width = 760;
  const height = 330;
  const shapes: Shape[] = [
    { kind: "text", x: width / 2, y: 18, text: title, size: "title", anchor: "middle", color: "#222222" },
  ];
  const panels: [keyof PPOStepStats, string, string][] = [
    ["rollout/score", "reward-model score (batch mean)", "#0072b2"],
    ["rollout/klToRef", "KL to reference (nats per response)", "#d55e00"],
  ];
  panels.forEach(([key, label, color], i) => {
    const box = { x: 60 + i * 370, y: 60, width: 300, height: 210 };
    const points = history.map((row, u): [number, number] => [u + 1, row[key]]);
    shapes.push({
      kind: "text",
      x: box.x,
      y: box.y - 12,
      text: label,
      size: "normal",
      anchor: "start",
      color: "#222222",
    });
    shapes.push({ kind: "rect", ...box, fill: "#fafafa", stroke: "#bbbbbb" });
    if (points.length === 0) return;
    const values = points.map((p) => p[1]);
    const xTicks = niceTicks(0, points.length, 5).filter((t) => t <= points.length);
    const yTicks = niceTicks(Math.min(...values), Math.max(...values), 4);
    const [x0, x1] = [0, Math.max(points.length, 1)];
    const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
    const sx = (x: number) => box.x + ((x - x0) / (x1 - x0)) * box.width;
    const sy = (y: number) => box.y + box.height - ((y - y0) / (y1 - y0)) * box.height;
    gridShapes(shapes, box, xTicks, yTicks, sx, sy);
    shapes.push({
      kind: "text",
      x: box.x + box.width,
      y: box.y + box.height + 26,
      text: "PPO update",
      size: "normal",
      anchor: "end",
      color: "#222222",
    });
    shapes.push({
      kind: "line",
      points: points.map(([x, y]): Point => [sx(x), sy(y)]),
      stroke: color,
      width: 2,
      data: { metric: key },
    });
  });
  return { width, height, background: "#ffffff", shapes };
}
