/**
 * Training progress on stdout: on a terminal, one live line (bar, timesteps, steps/s, ETA, recent
 * mean return) redrawn at most ten times a second; otherwise one JSON object per update (and per
 * event: evaluation, checkpoint, end), so scripts and CI logs can parse every line.
 */

/** Where progress goes. */
export interface ProgressReporter {
  /** One update's row; `total` is the planned budget in `unit` (timesteps unless said otherwise). */
  update(row: Record<string, number>, total: number, unit?: ProgressUnit): void;
  /** A noteworthy event: `{ event: "eval" | "checkpoint" | "done" | ..., ... }`. */
  event(event: string, fields: Record<string, unknown>, text: string): void;
  close(): void;
}

/** A bar on a TTY, JSON lines otherwise (`json` forces JSON lines). */
export function createReporter(options: { json?: boolean } = {}): ProgressReporter {
  return process.stdout.isTTY && !options.json ? new TerminalReporter() : new JsonLinesReporter();
}

class JsonLinesReporter implements ProgressReporter {
  update(row: Record<string, number>): void {
    process.stdout.write(`${JSON.stringify({ event: "update", ...row })}\n`);
  }

  event(event: string, fields: Record<string, unknown>): void {
    process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
  }

  close(): void {}
}

class TerminalReporter implements ProgressReporter {
  private lastDraw = 0;
  private line = "";

  update(row: Record<string, number>, total: number, unit: ProgressUnit = "timesteps"): void {
    const now = Date.now();
    this.line = progressLine(row, total, process.stdout.columns ?? 100, unit);
    if (now - this.lastDraw < 100 && countOf(row, unit) < total) return;
    this.lastDraw = now;
    process.stdout.write(`\r\x1b[2K${this.line}`);
  }

  event(_event: string, _fields: Record<string, unknown>, text: string): void {
    process.stdout.write(`\r\x1b[2K${text}\n${this.line}`);
  }

  close(): void {
    if (this.line !== "") process.stdout.write(`\r\x1b[2K${this.line}\n`);
    this.line = "";
  }
}

/** What a run's budget counts: environment steps, or finished episodes (tabular presets). */
export type ProgressUnit = "timesteps" | "episodes";

function countOf(row: Record<string, number>, unit: ProgressUnit): number {
  return unit === "episodes" ? (row["time/episodes"] ?? 0) : row.timesteps;
}

/**
 * `[#####.....]  51,200/100,000  5,812 steps/s  ETA 0:08  return 134.2`, fitted to `width`; for an
 * episode budget the count reads `120/500 episodes` and the ETA extrapolates the elapsed time.
 */
export function progressLine(
  row: Record<string, number>,
  total: number,
  width: number,
  unit: ProgressUnit = "timesteps",
): string {
  const done = countOf(row, unit);
  const rate = row["time/stepsPerSecond"] ?? 0;
  const fraction = Math.min(1, done / total);
  const elapsed = row["time/elapsedSeconds"] ?? 0;
  const eta =
    unit === "episodes"
      ? done > 0 && elapsed > 0
        ? Math.max(0, (elapsed * (total - done)) / done)
        : Number.NaN
      : rate > 0
        ? Math.max(0, (total - done) / rate)
        : Number.NaN;
  const episodeReturn = row["rollout/episodeReturn"];
  const info = [
    `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")}${unit === "episodes" ? " episodes" : ""}`,
    `${Math.round(rate).toLocaleString("en-US")} steps/s`,
    `ETA ${formatDuration(eta)}`,
    episodeReturn === undefined ? "return -" : `return ${episodeReturn.toFixed(1)}`,
  ].join("  ");
  const barWidth = Math.max(10, Math.min(40, width - info.length - 6));
  const filled = Math.round(fraction * barWidth);
  return `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ${info}`;
}

/** `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "-";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}
