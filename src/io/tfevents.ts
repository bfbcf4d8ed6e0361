/**
 * A TensorBoard event-file writer for scalars, written from the formats themselves because no
 * maintained npm package writes them without a native dependency (`@tensorflow/tfjs-node`'s
 * `summaryFileWriter` needs libtensorflow; the small pure-JS packages we found are unmaintained).
 *
 * File: `events.out.tfevents.<unix seconds>.<host>.<pid>`, a sequence of TFRecords
 * (TensorFlow `core/lib/io/record_writer.cc`):
 *
 * ```
 * uint64 length (little-endian) | uint32 masked CRC-32C of the length bytes
 * bytes  data[length]           | uint32 masked CRC-32C of data
 * ```
 *
 * Each record's data is a serialized `tensorflow.Event` protobuf (`core/util/event.proto`): field 1
 * `wall_time` (double), 2 `step` (int64), 3 `file_version` (string, `"brain.Event:2"` in the first
 * record), 5 `summary`, whose repeated field 1 holds `Summary.Value { tag = 1; simple_value = 2 }`
 * (`core/framework/summary.proto`). TensorBoard reads `simple_value` as a scalar.
 *
 * Each record is appended with a single write, so an interrupted run leaves at most a truncated
 * last record, which TensorBoard's reader skips (and whose CRCs would not match anyway).
 *
 * Resuming: records are length-prefixed and written back to back, so any length the file had
 * between two appends is a record boundary. A checkpoint records {@link TfEventsWriter.position};
 * {@link TfEventsWriter.resume} cuts the file back to it and appends from there, so a resumed run
 * keeps one event file with each step once.
 */
import { ProximalError } from "../errors.js";
import { maskedCrc32c } from "./crc32c.js";
import { writeAllSync } from "./syncAppend.js";

/** The event file of a run and its length in bytes when a checkpoint was written. */
export interface EventsPosition {
  /** File name within the run directory. */
  file: string;
  bytes: number;
}

/** The serialized `Event` for one step's scalars (or the header, for `fileVersion`). */
export function encodeEvent(event: {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  scalars?: Record<string, number>;
}): Uint8Array {
  const out = new ProtoWriter();
  out.tag(1, 1).double(event.wallTime);
  if (event.step !== undefined) out.tag(2, 0).varint(event.step);
  if (event.fileVersion !== undefined) out.tag(3, 2).bytes(new TextEncoder().encode(event.fileVersion));
  if (event.scalars !== undefined) {
    const summary = new ProtoWriter();
    for (const [tag, value] of Object.entries(event.scalars)) {
      const v = new ProtoWriter();
      v.tag(1, 2).bytes(new TextEncoder().encode(tag));
      v.tag(2, 5).float(value);
      summary.tag(1, 2).bytes(v.finish());
    }
    out.tag(5, 2).bytes(summary.finish());
  }
  return out.finish();
}

/** One TFRecord around `data`: length, masked CRC of the length, data, masked CRC of the data. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const record = new Uint8Array(12 + data.length + 4);
  const view = new DataView(record.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(record.subarray(0, 8)), true);
  record.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return record;
}

/**
 * Appends scalar summaries to one event file in `dir` (Node only).
 *
 * @example
 * const writer = await TfEventsWriter.create("runs/ppo-CartPole-v1");
 * await writer.addScalars(2048, { "rollout/episodeReturn": 21.5 });
 * await writer.close();
 */
export class TfEventsWriter {
  private constructor(
    readonly path: string,
    private readonly handle: import("node:fs/promises").FileHandle,
  ) {}

  /** Create `events.out.tfevents.<seconds>.<host>.<pid>` in `dir` and write the version header. */
  static async create(dir: string): Promise<TfEventsWriter> {
    const { open } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { hostname } = await import("node:os");
    const seconds = Math.floor(Date.now() / 1000);
    const path = join(dir, `events.out.tfevents.${seconds}.${hostname()}.${process.pid}`);
    const handle = await open(path, "a");
    const writer = new TfEventsWriter(path, handle);
    await writer.append(encodeEvent({ wallTime: Date.now() / 1000, fileVersion: "brain.Event:2" }));
    return writer;
  }

  /**
   * Reopen the event file of a resumed run: cut `dir/position.file` back to its first
   * `position.bytes` bytes (atomically) and append after them.
   *
   * @throws {@link ProximalError} `"MALFORMED_FILE"` when the file is missing or shorter than that.
   */
  static async resume(dir: string, position: EventsPosition): Promise<TfEventsWriter> {
    const { open, readFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { writeFileAtomic } = await import("./atomicWrite.js");
    const path = join(dir, position.file);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `Cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}), the event file the checkpoint resumed from names. Restore it, or start the run again with --force.`,
        { cause: error },
      );
    }
    if (bytes.length < position.bytes) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `${path} has ${bytes.length} bytes, fewer than the ${position.bytes} the checkpoint resumed from recorded: the file was edited or lost data. Restore it, or start the run again with --force.`,
      );
    }
    if (bytes.length > position.bytes) await writeFileAtomic(path, bytes.subarray(0, position.bytes));
    return new TfEventsWriter(path, await open(path, "a"));
  }

  /** The file and its length now, after flushing it to disk, for a checkpoint to record. */
  async position(): Promise<EventsPosition> {
    const { basename } = await import("node:path");
    await this.handle.sync();
    return { file: basename(this.path), bytes: (await this.handle.stat()).size };
  }

  /** One event at `step` holding every finite value of `scalars` under its key as tag. */
  async addScalars(
    step: number,
    scalars: Record<string, number>,
    wallTime = Date.now() / 1000,
  ): Promise<void> {
    const finite: Record<string, number> = {};
    for (const [k, v] of Object.entries(scalars)) if (Number.isFinite(v)) finite[k] = v;
    await this.append(encodeEvent({ wallTime, step, scalars: finite }));
  }

  /** One synchronous write per record (syncAppend.ts says why not asynchronous). */
  private async append(data: Uint8Array): Promise<void> {
    writeAllSync(this.handle.fd, encodeRecord(data));
  }

  async close(): Promise<void> {
    await this.handle.sync().catch(() => {});
    await this.handle.close();
  }
}

/** Minimal protobuf encoder: the four wire types an Event needs. */
class ProtoWriter {
  private readonly chunks: number[] = [];

  tag(field: number, wireType: 0 | 1 | 2 | 5): this {
    return this.varint(field * 8 + wireType);
  }

  varint(value: number): this {
    let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
    return this;
  }

  double(value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    for (const x of b) this.chunks.push(x);
    return this;
  }

  float(value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.chunks.push(x);
    return this;
  }

  bytes(value: Uint8Array): this {
    this.varint(value.length);
    for (const x of value) this.chunks.push(x);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
