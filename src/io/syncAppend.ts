/**
 * One synchronous append of a whole record to a file descriptor opened for appending (Node only):
 * `writeSync` may write fewer bytes than asked (regular files rarely do), so it loops until all are
 * written. With `O_APPEND` each `write` lands at the end of the file, so a crash can tear only the
 * record being written, as with `appendFile`.
 */
import { writeSync } from "node:fs";

export function writeAllSync(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}
