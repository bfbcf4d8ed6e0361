/**
 * The few Protocol Buffers wire-format writes an ONNX file needs (varints, length-delimited bytes,
 * packed repeated ints and floats), per the encoding spec
 * (https://protobuf.dev/programming-guides/encoding/). Written by hand rather than taken from
 * `protobufjs`/`onnx-proto`: ONNX export only ever *writes* five message types, which takes this
 * much code, while those packages would add a runtime dependency of several hundred kB to the
 * browser bundle (and `onnx-proto` pins the old `protobufjs` 6). Reading is left to the runtimes;
 * the tests load every file written here into onnxruntime-web.
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;

const textEncoder = new TextEncoder();

/** Appends protobuf fields to a growing byte buffer; {@link ProtobufWriter.finish} returns the bytes. */
export class ProtobufWriter {
  private buffer = new Uint8Array(256);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  private byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  /**
   * An unsigned varint of a non-negative safe integer (7 bits per byte, low groups first). int64
   * fields of ONNX (dims, ints) are never negative here except where {@link ProtobufWriter.int64}
   * handles the sign.
   */
  private varint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  /**
   * An int64 as protobuf writes it: a negative value is its two's complement over 64 bits, which
   * always takes 10 bytes (so -1 is nine 0xff bytes and 0x01).
   */
  private signedVarint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf int64 ${value} is not a safe integer`);
    if (value >= 0) {
      this.varint(value);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** A varint field (int32, int64, enum, bool); negative int64 values take ten bytes. */
  int64(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.signedVarint(value);
    return this;
  }

  /** A length-delimited field of raw bytes. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** A UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** An embedded message field. */
  message(field: number, message: ProtobufWriter): this {
    return this.bytes(field, message.finish());
  }

  /** A packed repeated int64 field (proto3 packs repeated scalars by default). */
  packedInt64(field: number, values: readonly number[]): this {
    const inner = new ProtobufWriter();
    for (const v of values) inner.signedVarint(v);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field: little-endian float32s. */
  packedFloat(field: number, values: readonly number[]): this {
    return this.bytes(field, littleEndianBytes(Float32Array.from(values)));
  }

  /** A float field (wire type 5, little-endian float32). */
  float(field: number, value: number): this {
    this.tag(field, 5);
    const bytes = littleEndianBytes(Float32Array.of(value));
    this.reserve(4);
    this.buffer.set(bytes, this.length);
    this.length += 4;
    return this;
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/**
 * The bytes of a typed array in little-endian order, as ONNX's `raw_data` and protobuf's fixed-width
 * fields store them, whatever the host's byte order.
 */
export function littleEndianBytes(values: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  const width = values.BYTES_PER_ELEMENT;
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (values instanceof Float32Array) view.setFloat32(i * 4, values[i], true);
    else if (values instanceof Int32Array) view.setInt32(i * 4, values[i], true);
    else view.setBigInt64(i * 8, values[i], true);
  }
  return out;
}
