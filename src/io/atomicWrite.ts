/**
 * Crash-safe file writes for checkpoints and logs (Node only). A reader, or a run resumed after a
 * crash or power loss, sees either the old file or the complete new one, never a torn mix.
 *
 * Recipe (the one `write-file-atomic` and the Rust `tempfile::persist` use): write a temporary file
 * in the same directory, fsync it, rename it over the target (atomic within one file system on
 * POSIX, and on Windows NTFS via MoveFileEx), then fsync the directory so the rename itself survives a
 * power loss.
 */

import type * as Crypto from "node:crypto";
import type * as Fs from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { ProximalError } from "../errors.js";
import { nodeFiles, requireNodeBuiltin } from "../nodeBuiltin.js";

/** What to do instead in a browser, for the error a browser gets here. */
const BROWSER_ALTERNATIVE =
  'In a browser, save a model with model.save(target) where target is "blob", "arraybuffer" or an IndexedDB location ({ indexedDB: "name" }).';

/** The Node modules this file needs, loaded without an import statement (see nodeBuiltin.ts). */
function nodeModules() {
  const { fs, path } = nodeFiles("Writing a file", BROWSER_ALTERNATIVE);
  const crypto = requireNodeBuiltin<typeof Crypto>("node:crypto", "Writing a file", BROWSER_ALTERNATIVE);
  const syncFs = requireNodeBuiltin<typeof Fs>("node:fs", "Writing a file", BROWSER_ALTERNATIVE);
  return { ...fs, ...path, randomBytes: crypto.randomBytes, syncFs };
}

/**
 * Files up to this size are written with synchronous calls. Each asynchronous call is a round trip
 * through libuv's thread pool, and the recipe takes nine of them, for files (a PPO CartPole
 * checkpoint is four of at most 40 KB) that take microseconds to write: measured on `train ppo --env
 * CartPole-v1` with a checkpoint every 2,560 steps, 40 checkpoints added 0.37 s to a run with the
 * asynchronous calls and 0.27 s with these (the rest is the fsyncs; BENCHMARKS.md "engine", session
 * 13). Larger files keep the asynchronous calls, so writing a big model's weights never blocks the
 * event loop.
 */
const SYNC_WRITE_MAX_BYTES = 1 << 20;

/**
 * Replace `path` with `data` atomically: until the promise resolves the old file (or no file) is
 * visible, afterwards the whole new content. An existing file keeps its permission bits.
 *
 * On failure the temporary file is removed and the original error from `node:fs` is rethrown
 * unchanged, so its `code` (`"ENOENT"`, `"ENOSPC"`, `"EACCES"`...) stays available to callers.
 *
 * @param path - Target file; its directory must exist.
 * @param data - Text (written as UTF-8) or bytes.
 * @example
 * await writeFileAtomic("runs/ppo/checkpoint.safetensors", writeSafetensors(tensors));
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  if (typeof data !== "string" && !(data instanceof Uint8Array)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `writeFileAtomic writes a string or a Uint8Array, got ${data === null ? "null" : typeof data}. Serialize the value first (writeJsonAtomic does it for JSON).`,
    );
  }
  const { open, rename, unlink, basename, dirname, join, randomBytes, syncFs } = nodeModules();
  const directory = dirname(path);
  // Same directory, so the rename never crosses file systems; pid + random suffix, so concurrent
  // writers (or a stale temp file from a crashed run) never collide.
  const tempPath = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  // a string's UTF-8 takes at most 3 bytes per UTF-16 unit
  if ((typeof data === "string" ? 3 * data.length : data.length) <= SYNC_WRITE_MAX_BYTES) {
    writeSmallFileAtomic(syncFs, path, tempPath, directory, data);
    return;
  }
  const mode = await existingMode(path);

  let handle: FileHandle | undefined;
  try {
    handle = await open(tempPath, "wx", mode); // "wx": fail rather than reuse a file we did not create
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tempPath, path);
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(tempPath).catch(() => {}); // may not exist if open() was what failed
    throw error;
  }
  await syncDirectory(directory);
}

/**
 * {@link writeFileAtomic} for JSON: `value` is serialized first (2-space indent, trailing newline),
 * so a value that cannot be serialized leaves the file untouched.
 *
 * @throws {@link ProximalError} `"INVALID_ARGUMENT"` when `value` has no JSON form (undefined, a
 *   function, a BigInt, a cycle).
 * @example
 * await writeJsonAtomic("runs/ppo/progress.json", { step: 2048, episodeReturn: 21.5 });
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `writeJsonAtomic could not serialize the value for ${path}: ${reason}. Remove cycles and convert BigInts to strings or numbers.`,
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `writeJsonAtomic got ${typeof value}, which has no JSON form, for ${path}. Pass an object, array, string, number, boolean or null.`,
    );
  }
  await writeFileAtomic(path, `${text}\n`);
}

/** The same recipe as {@link writeFileAtomic}'s, in synchronous calls (see SYNC_WRITE_MAX_BYTES). */
function writeSmallFileAtomic(
  fs: typeof Fs,
  path: string,
  tempPath: string,
  directory: string,
  data: string | Uint8Array,
): void {
  let mode = 0o666; // minus the umask, as for any new file
  try {
    mode = fs.statSync(path).mode & 0o777;
  } catch {
    // no file to replace
  }
  let fd: number | undefined;
  try {
    fd = fs.openSync(tempPath, "wx", mode); // "wx": fail rather than reuse a file we did not create
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tempPath, path);
  } catch (error) {
    try {
      if (fd !== undefined) fs.closeSync(fd);
    } catch {
      // the original error is the one to report
    }
    try {
      fs.unlinkSync(tempPath); // may not exist if openSync() was what failed
    } catch {
      // nothing to remove
    }
    throw error;
  }
  // persist the rename; best effort, as in syncDirectory
  let dirFd: number | undefined;
  try {
    dirFd = fs.openSync(directory, "r");
    fs.fsyncSync(dirFd);
  } catch {
    // the data is already safely renamed; only durability across power loss is weaker here
  } finally {
    if (dirFd !== undefined) fs.closeSync(dirFd);
  }
}

/** Permission bits of the file being replaced, or the usual default for a new file. */
async function existingMode(path: string): Promise<number> {
  const { stat } = nodeModules();
  try {
    return (await stat(path)).mode & 0o777;
  } catch {
    return 0o666; // minus the umask, as for any new file
  }
}

/** Persist the rename. Best effort: Windows cannot open a directory for fsync, and that is fine there. */
async function syncDirectory(directory: string): Promise<void> {
  const { open } = nodeModules();
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch {
    // the data is already safely renamed; only durability across power loss is weaker here
  } finally {
    await handle?.close().catch(() => {});
  }
}
