/**
 * The `--out` rule every command that writes a directory follows: an existing directory is refused
 * (exit 2, one line) before anything is trained or written, unless `--force` is given; with it the old
 * directory is only removed once the new results are ready to be written.
 */
import { mkdir, rm } from "node:fs/promises";
import { ProximalError } from "../errors.js";
import { exists } from "./runDirectory.js";

/**
 * Refuse an existing `out` unless `force`: throws a `FILE_EXISTS` {@link ProximalError} (exit 2).
 * Call it before any training starts, so a taken directory costs nothing.
 *
 * @param otherChoice - A further way out, named between "Pick another --out" and "--force" (e.g.
 *   `continue it with --resume runs/x`).
 */
export async function checkOutDir(
  out: string,
  force: boolean | undefined,
  otherChoice?: string,
): Promise<void> {
  if (force !== true && (await exists(out))) {
    const choices = otherChoice === undefined ? ", " : `, ${otherChoice}, `;
    throw new ProximalError(
      "FILE_EXISTS",
      `${out} already exists. Pick another --out${choices}or pass --force to replace it.`,
    );
  }
}

/** Remove `out` (when `force`) and create it; called only once every check and the training have passed. */
export async function prepareOutDir(out: string, force: boolean | undefined): Promise<void> {
  if (force === true) await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
}
