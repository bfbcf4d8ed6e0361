/**
 * The per-update logs of a training run: `progress.jsonl` (one JSON object per line) and
 * `progress.csv` (the same rows; the header is the union of every key seen so far). Node only.
 *
 * Crash safety: a row is appended with a single `write` on a file opened for appending, so a
 * crash or kill can tear at most the last line, which {@link readProgress} skips. Whenever the whole
 * file must change (the CSV gains a column, or a resumed run drops rows logged after its checkpoint)
 * it is rewritten atomically with {@link writeFileAtomic}.
 *
 * Resuming: a checkpoint records {@link ProgressLog.position} (rows and bytes of `progress.jsonl`,
 * flushed to disk first), and {@link ProgressLog.resume} cuts the file back to exactly that prefix,
 * so rows logged after the checkpoint by a killed process are neither kept nor logged twice. The
 * CSV is a view of the JSONL and is rebuilt from the kept rows.
 */
import { ProximalError } from "../errors.js";
import { writeFileAtomic } from "./atomicWrite.js";
import { isFileNotFound } from "./fileErrors.js";
import { SyncAppender } from "./syncAppend.js";

/** One logged update: `timesteps`, `wallTime` (Unix seconds) and the algorithm's diagnostics. */
export type ProgressRow = Record<string, number>;

export const PROGRESS_JSONL = "progress.jsonl";
export const PROGRESS_CSV = "progress.csv";

/**
 * Rows of a `progress.jsonl`; none when the file does not exist. A torn last line (a crash mid-append)
 * is skipped; a malformed line anywhere else is a MALFORMED_FILE error naming the line.
 */
export async function readProgress(path: string): Promise<ProgressRow[]> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isFileNotFound(error)) return [];
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Check its permissions.`,
      { cause: error },
    );
  }
  const rows: ProgressRow[] = [];
  const lines = text.split("\n");
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let row: unknown;
    try {
      row = JSON.parse(line) as unknown;
    } catch (error) {
      // Rows are single appends ending in a newline, so only a last line without its newline can be
      // a write cut short by a crash; anything else is a damaged log and is reported, not skipped.
      if (index === lines.length - 1) break;
      throw new ProximalError(
        "MALFORMED_FILE",
        `${path}, line ${index + 1}: not a JSON row (${(error as Error).message}). Repair or remove that line.`,
        { cause: error },
      );
    }
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${path}, line ${index + 1}: a progress row must be a JSON object. Repair or remove that line.`,
      );
    }
    rows.push(row as ProgressRow);
  }
  return rows;
}

/** Where `progress.jsonl` stood when a checkpoint was written. */
export interface ProgressPosition {
  /** Rows logged so far. */
  rows: number;
  /** Length of `progress.jsonl` in bytes. */
  bytes: number;
}

/** Append-only JSONL + CSV writer for one run directory. */
export class ProgressLog {
  private columns: string[] = [];
  private readonly rows: ProgressRow[] = [];
  /** The files, opened for appending on first use (the CSV's again after each rewrite). */
  private readonly jsonl: SyncAppender;
  private readonly csv: SyncAppender;

  private constructor(
    private readonly jsonlPath: string,
    private readonly csvPath: string,
  ) {
    this.jsonl = new SyncAppender(jsonlPath);
    this.csv = new SyncAppender(csvPath);
  }

  /**
   * Open the logs in `dir`. With `keepUntil` (a resumed run), rows past that many timesteps (logged
   * after the checkpoint the run resumes from) are dropped; without it, the logs start empty.
   */
  static async open(dir: string, options: { keepUntil?: number } = {}): Promise<ProgressLog> {
    const { join } = await import("node:path");
    const log = new ProgressLog(join(dir, PROGRESS_JSONL), join(dir, PROGRESS_CSV));
    if (options.keepUntil !== undefined) {
      const keep = options.keepUntil;
      for (const row of await readProgress(log.jsonlPath)) if (row.timesteps <= keep) log.rows.push(row);
    }
    for (const row of log.rows) log.addColumns(row);
    await writeFileAtomic(log.jsonlPath, log.rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
    await log.rewriteCsv();
    return log;
  }

  /**
   * Reopen the logs of a resumed run at `position` (recorded by the checkpoint it resumes from):
   * `progress.jsonl` is cut back to its first `position.bytes` bytes, which must hold exactly
   * `position.rows` rows, and `progress.csv` is rebuilt from them, both atomically.
   *
   * @throws {@link ProximalError} `"MALFORMED_FILE"` when the file is shorter than the position or
   *   its prefix does not hold that many rows (it was edited or lost data since the checkpoint).
   */
  static async resume(dir: string, position: ProgressPosition): Promise<ProgressLog> {
    const { readFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const log = new ProgressLog(join(dir, PROGRESS_JSONL), join(dir, PROGRESS_CSV));
    let bytes: Buffer;
    try {
      bytes = await readFile(log.jsonlPath);
    } catch (error) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `Cannot read ${log.jsonlPath} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}), which the checkpoint says holds ${position.rows} rows. Restore it, or start the run again with --force.`,
        { cause: error },
      );
    }
    const malformed = (what: string) =>
      new ProximalError(
        "MALFORMED_FILE",
        `${log.jsonlPath} ${what}, but the checkpoint resumed from recorded ${position.rows} rows in its first ${position.bytes} bytes: the file was edited or lost data. Restore it, or start the run again with --force.`,
      );
    if (bytes.length < position.bytes) throw malformed(`has ${bytes.length} bytes`);
    const kept = bytes.subarray(0, position.bytes).toString("utf8");
    if (kept !== "" && !kept.endsWith("\n")) throw malformed(`has no row boundary at byte ${position.bytes}`);
    const rows: ProgressRow[] = [];
    for (const line of kept.split("\n").slice(0, -1)) {
      try {
        rows.push(JSON.parse(line) as ProgressRow);
      } catch {
        throw malformed(`has a line that is not JSON (${JSON.stringify(line.slice(0, 40))})`);
      }
    }
    if (rows.length !== position.rows) throw malformed(`has ${rows.length} rows there`);
    log.rows.push(...rows);
    for (const row of log.rows) log.addColumns(row);
    await writeFileAtomic(log.jsonlPath, kept);
    await log.rewriteCsv();
    return log;
  }

  /**
   * Rows and bytes of `progress.jsonl` now, after flushing it to disk, for a checkpoint to record
   * (so a power loss cannot leave the file shorter than the checkpoint says).
   */
  async position(): Promise<ProgressPosition> {
    const { open } = await import("node:fs/promises");
    const handle = await open(this.jsonlPath, "r+");
    try {
      await handle.sync();
      return { rows: this.rows.length, bytes: (await handle.stat()).size };
    } finally {
      await handle.close();
    }
  }

  /** Every row so far (including those kept from before a resume). */
  get all(): readonly ProgressRow[] {
    return this.rows;
  }

  /** Append a row: one synchronous write per file, on files kept open (syncAppend.ts says why). */
  async append(row: ProgressRow): Promise<void> {
    this.rows.push(row);
    this.jsonl.append(`${JSON.stringify(row)}\n`);
    if (this.addColumns(row)) await this.rewriteCsv();
    else this.csv.append(`${this.csvLine(row)}\n`);
  }

  /** Close the files (appending again reopens them). */
  async close(): Promise<void> {
    this.jsonl.close();
    this.csv.close();
  }

  private addColumns(row: ProgressRow): boolean {
    let added = false;
    for (const key of Object.keys(row)) {
      if (!this.columns.includes(key)) {
        this.columns.push(key);
        added = true;
      }
    }
    return added;
  }

  private csvLine(row: ProgressRow): string {
    return this.columns.map((c) => (row[c] === undefined ? "" : String(row[c]))).join(",");
  }

  private async rewriteCsv(): Promise<void> {
    const lines = [this.columns.join(","), ...this.rows.map((r) => this.csvLine(r))];
    await writeFileAtomic(this.csvPath, this.columns.length === 0 ? "" : `${lines.join("\n")}\n`);
    // the rename replaced the file: an open descriptor would append to the old one
    this.csv.close();
  }
}
