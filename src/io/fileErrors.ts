/**
 * The one "file is absent" test for readers that treat a missing file as "nothing there": every other
 * failure (permissions, a directory where a file should be, I/O errors) must reach the user instead
 * of being read as absence.
 */
export function isFileNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
