/**
 * A minimal POSIX ustar reader and writer for flat archives of a few files (a saved model's
 * `model.json`, `model.safetensors`, `replay.safetensors`).
 *
 * Why tar and not zip: the archive holds the same files as a model directory, byte for byte, and
 * `tar -xf model.tar` turns it back into that directory with a tool every system has. Weights barely
 * compress, so zip's deflate buys little, and ustar needs no checksum table or library: a 512-byte
 * header per file (POSIX.1-1988 ustar, IEEE Std 1003.1 `pax` "ustar Interchange Format") and the data
 * padded to 512 bytes, ended by two zero blocks.
 */
import { ProximalError } from "../errors.js";

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One file of an archive: a plain name (no folders) and its bytes. */
export interface TarEntry {
  name: string;
  data: Uint8Array;
}

/**
 * The ustar bytes of `entries`, in the order given. Every header has mtime 0, uid/gid 0 and mode 0644,
 * so the same files always give the same bytes.
 * @throws ProximalError `INVALID_ARGUMENT` for a name that is empty, has a `/`, or is over 100 bytes.
 */
export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  let size = 2 * BLOCK;
  for (const entry of entries) size += BLOCK + Math.ceil(entry.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = encoder.encode(name);
    if (nameBytes.length === 0 || nameBytes.length > 100 || name.includes("/")) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `Cannot store "${name}" in a model archive: file names must be 1-100 bytes with no "/".`,
      );
    }
    const header = out.subarray(offset, offset + BLOCK);
    header.set(nameBytes, 0);
    writeOctal(header, 100, 8, 0o644); // mode
    writeOctal(header, 108, 8, 0); // uid
    writeOctal(header, 116, 8, 0); // gid
    writeOctal(header, 124, 12, data.length); // size
    writeOctal(header, 136, 12, 0); // mtime
    header[156] = 0x30; // typeflag "0": regular file
    header.set(encoder.encode("ustar\u000000"), 257); // magic "ustar\0" + version "00"
    header.fill(0x20, 148, 156); // checksum is computed with its own field read as spaces
    writeOctal(header, 148, 7, checksum(header));
    out.set(data, offset + BLOCK);
    offset += BLOCK + Math.ceil(data.length / BLOCK) * BLOCK;
  }
  return out; // the two zero end blocks are already zero
}

/**
 * The regular files of a tar archive (ustar, or GNU tar's default format for short names). Entries
 * in a folder are named by their last path component, so a tar of the model folder itself
 * (`tar -cf model.tar runs/ppo/model`) reads the same as one of its files. Directories are skipped.
 * @throws ProximalError `MALFORMED_FILE` when a header's checksum fails or a file runs past the end.
 */
export function readTar(bytes: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end of archive
    const stored = readOctal(header, 148, 8);
    if (stored !== checksum(header)) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `Not a tar archive (header at byte ${offset} has a bad checksum). Pass the bytes of a model archive (model.save(new ModelArchive()) then archive.toBlob(), or tar -cf of a model directory).`,
      );
    }
    const size = readOctal(header, 124, 12);
    const type = header[156];
    const start = offset + BLOCK;
    if (start + size > bytes.length) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `The tar archive is cut short: an entry needs ${size} bytes at byte ${start}, but the archive has ${bytes.length} bytes.`,
      );
    }
    if (type === 0x30 || type === 0) {
      const prefix = readString(header, 345, 155);
      const fullName = prefix === "" ? readString(header, 0, 100) : `${prefix}/${readString(header, 0, 100)}`;
      const name = fullName
        .split("/")
        .filter((part) => part !== "" && part !== ".")
        .pop();
      if (name !== undefined) entries.push({ name, data: bytes.slice(start, start + size) });
    }
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}

/** Unsigned sum of the header bytes (the checksum field must already read as spaces for writing). */
function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum;
}

/** `value` as zero-padded octal in `width - 1` digits and a NUL terminator. */
function writeOctal(header: Uint8Array, at: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, "0");
  if (digits.length > width - 1) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `A file of ${value} bytes is too large for a tar archive (8 GiB at most).`,
    );
  }
  header.set(encoder.encode(digits), at);
  header[at + width - 1] = 0;
}

/** An octal field (digits possibly padded with spaces or NULs). */
function readOctal(header: Uint8Array, at: number, width: number): number {
  const text = decoder
    .decode(header.subarray(at, at + width))
    .replace(/[\0 ]+/g, " ")
    .trim();
  return text === "" ? 0 : Number.parseInt(text, 8);
}

/** A NUL-terminated string field. */
function readString(header: Uint8Array, at: number, width: number): string {
  const field = header.subarray(at, at + width);
  const end = field.indexOf(0);
  return decoder.decode(end === -1 ? field : field.subarray(0, end));
}
