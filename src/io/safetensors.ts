/**
 * Reading and writing the safetensors format, tensor-engine agnostic: tensors come in and go out as
 * typed arrays with a shape, and a later layer turns them into `Tensor`s.
 *
 * Layout (https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian u64 `N`,
 * then `N` bytes of UTF-8 JSON header `{ name: { dtype, shape, data_offsets: [begin, end] },
 * "__metadata__": { key: value } }`, then the data buffer. Offsets are relative to the first byte
 * after the header, and all numbers are little-endian.
 *
 * The reader follows the Rust crate's validation (`Metadata::validate` in `safetensors/src/tensor.rs`):
 * the header is at most 100 MB, every tensor's byte size matches its shape, and the tensors tile the
 * data buffer exactly (no gaps, no overlaps, nothing left over). Bad files throw a
 * {@link ProximalError} with code `"MALFORMED_FILE"`; nothing a file says can make the reader crash,
 * hang, or allocate more than a small multiple of the file's own size.
 */

import { didYouMean, ProximalError } from "../errors.js";

/** Element types proximal writes, and the types every stored dtype is converted to on reading. */
export type SafetensorDtype = "F32" | "I32";

/** One tensor: row-major `data` of `shape`, with `data.length` equal to the product of `shape`. */
export interface SafetensorEntry {
  /** `"F32"` for a `Float32Array`, `"I32"` for an `Int32Array`. */
  dtype: SafetensorDtype;
  /** Dimensions, outermost first; `[]` is a scalar (one element), a `0` dimension means no elements. */
  shape: number[];
  /** The elements in row-major (C) order. */
  data: Float32Array | Int32Array;
}

/** What {@link readSafetensors} returns. */
export interface SafetensorsContents {
  /** Tensors by name, in sorted name order. */
  tensors: Record<string, SafetensorEntry>;
  /** The `__metadata__` string map; `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** Largest header the reader accepts, in bytes; the Rust crate's `MAX_HEADER_SIZE`. */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/** Stored dtypes the reader converts; the float ones become `F32`, the integer ones `I32`. */
type StoredDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

const ITEM_BYTES: Record<StoredDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Dtypes the safetensors spec defines that proximal cannot convert (fp8/fp6/fp4, complex). */
const UNSUPPORTED_DTYPES = ["F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"];

const METADATA_KEY = "__metadata__";

/** Byte order of this machine; typed arrays use it, safetensors is always little-endian. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Parse a safetensors file.
 *
 * F32, F16, BF16 and F64 tensors come back as `Float32Array` (F64 rounds to the nearest float32 and
 * rejects finite values outside its range); I32, I64, I16, I8, U64, U32, U16, U8 and BOOL come back as
 * `Int32Array`, and a value that does not fit in int32 is an error rather than a silent wrap. Every
 * returned array owns a fresh buffer, so `bytes` may be a view at any `byteOffset` (a pooled Node
 * `Buffer`, say), unaligned data is fine, and mutating the result never touches `bytes`.
 *
 * @throws {@link ProximalError} `"MALFORMED_FILE"` naming what is wrong, with the offending values.
 * @example
 * const { tensors, metadata } = readSafetensors(fs.readFileSync("model.safetensors"));
 * tensors["policy.weight"].shape; // e.g. [64, 4]
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `readSafetensors expects the file's bytes as a Uint8Array (e.g. from fs.readFileSync), got ${describe(bytes)}.`,
    );
  }
  const fileBytes = bytes.byteLength;
  if (fileBytes < 8) {
    throw malformed(
      `the file is ${fileBytes} bytes, shorter than the 8-byte header-length prefix every safetensors file starts with. The file is empty or truncated; write or download it again.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredHeaderBytes = view.getBigUint64(0, true);
  // Checked as a BigInt first: a u64 past 2^53 would lose precision as a Number.
  if (declaredHeaderBytes > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    throw malformed(
      `the header length prefix says ${declaredHeaderBytes} bytes, more than the ${MAX_SAFETENSORS_HEADER_BYTES}-byte limit safetensors allows. This is not a safetensors file (or its first 8 bytes are corrupt).`,
    );
  }
  const headerBytes = Number(declaredHeaderBytes);
  if (8 + headerBytes > fileBytes) {
    throw malformed(
      `the header length prefix says ${headerBytes} bytes, but only ${fileBytes - 8} bytes follow it, so the header runs past the end of the file. The file is truncated; write or download it again.`,
    );
  }
  const dataStart = 8 + headerBytes;
  const dataBytes = fileBytes - dataStart;

  const header = parseHeader(bytes.subarray(8, dataStart));
  let metadata: Record<string, string> = {};
  const layouts: TensorLayout[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(raw);
    else layouts.push(parseLayout(name, raw, dataBytes));
  }
  checkTiling(layouts, dataBytes);

  layouts.sort((a, b) => compareNames(a.name, b.name));
  const tensors = layouts.map((layout): [string, SafetensorEntry] => {
    const data = decode(layout, bytes, view, dataStart);
    return [layout.name, { dtype: data instanceof Float32Array ? "F32" : "I32", shape: layout.shape, data }];
  });
  // fromEntries defines own properties, so a tensor named "__proto__" cannot replace the prototype.
  return { tensors: Object.fromEntries(tensors), metadata };
}

/**
 * Serialize tensors to safetensors bytes, readable by the Python `safetensors` package and by
 * {@link readSafetensors}.
 *
 * Output is deterministic: tensors are laid out in sorted name order and metadata keys are sorted,
 * and the header is padded with spaces to a multiple of 8 bytes (as the Rust crate does) so every
 * tensor starts 4-byte aligned and readers can view it in place.
 *
 * @param tensors - Tensors by name; `dtype` must match the array (`"F32"` with `Float32Array`,
 *   `"I32"` with `Int32Array`) and `shape` must multiply out to `data.length`.
 * @param metadata - Free-form string pairs stored under `__metadata__`, e.g. `{ format: "pt" }`.
 *   Omitted from the file when empty.
 * @throws {@link ProximalError} `"INVALID_ARGUMENT"`, `"DTYPE_MISMATCH"` or `"SHAPE_MISMATCH"`.
 * @example
 * const bytes = writeSafetensors({ bias: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * fs.writeFileSync("bias.safetensors", bytes);
 */
export function writeSafetensors(
  tensors: Record<string, SafetensorEntry>,
  metadata: Record<string, string> = {},
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const floatDtype = options.floatDtype ?? "F32";
  if (floatDtype !== "F32" && floatDtype !== "F16" && floatDtype !== "BF16") {
    throw new ProximalError(
      "INVALID_OPTION",
      `writeSafetensors: floatDtype must be "F32", "F16" or "BF16", got ${describe(floatDtype)}.`,
    );
  }
  if (!isObject(tensors)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `writeSafetensors expects an object mapping names to { dtype, shape, data }, got ${describe(tensors)}.`,
    );
  }
  if (!isObject(metadata)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `writeSafetensors metadata must be an object of strings, got ${describe(metadata)}.`,
    );
  }
  const metadataKeys = Object.keys(metadata).sort(compareNames);
  for (const key of metadataKeys) {
    if (typeof metadata[key] !== "string") {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `metadata[${JSON.stringify(key)}] is ${describe(metadata[key])}, but safetensors metadata values must be strings. Convert it first, e.g. with JSON.stringify.`,
      );
    }
  }

  const names = Object.keys(tensors).sort(compareNames);
  const headerEntries: [string, unknown][] = [];
  if (metadataKeys.length > 0) {
    headerEntries.push([METADATA_KEY, Object.fromEntries(metadataKeys.map((k) => [k, metadata[k]]))]);
  }
  let dataBytes = 0;
  for (const name of names) {
    const entry = tensors[name];
    checkEntryForWriting(name, entry);
    const begin = dataBytes;
    const storedDtype = entry.dtype === "F32" ? floatDtype : entry.dtype;
    dataBytes += entry.data.length * ITEM_BYTES[storedDtype];
    // Key order dtype, shape, data_offsets is the Rust crate's, so our bytes match its output.
    headerEntries.push([
      name,
      { dtype: storedDtype, shape: [...entry.shape], data_offsets: [begin, dataBytes] },
    ]);
  }

  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(headerEntries)));
  const headerBytes = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes); // spaces are JSON whitespace, so parsers skip them

  let position = 8 + headerBytes;
  for (const name of names) {
    const data = tensors[name].data;
    if (data instanceof Float32Array && floatDtype !== "F32") {
      for (let i = 0; i < data.length; i++) {
        const half = floatDtype === "BF16" ? floatToBfloat16Bits(data[i]) : floatToHalfBits(data[i], name, i);
        view.setUint16(position + 2 * i, half, true);
      }
      position += 2 * data.length;
      continue;
    }
    if (HOST_IS_LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    } else if (data instanceof Float32Array) {
      for (let i = 0; i < data.length; i++) view.setFloat32(position + 4 * i, data[i], true);
    } else {
      for (let i = 0; i < data.length; i++) view.setInt32(position + 4 * i, data[i], true);
    }
    position += data.byteLength;
  }
  return out;
}

/** Options of {@link writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /**
   * Stored type of the `"F32"` tensors: `"F16"` (IEEE binary16) or `"BF16"` (bfloat16) halve the file,
   * rounding each value to the nearest representable one (ties to even, as torch's `.half()` and
   * `.bfloat16()`). A finite value beyond F16's range (±65504) is an error rather than an infinity.
   * `"I32"` tensors are always stored as I32.
   * @defaultValue "F32"
   */
  floatDtype?: "F32" | "F16" | "BF16";
}

// ---------------------------------------------------------------------------------------------
// Header parsing and validation
// ---------------------------------------------------------------------------------------------

/** Where one tensor lives in the data buffer, after its header entry has been checked. */
interface TensorLayout {
  name: string;
  dtype: StoredDtype;
  shape: number[];
  numel: number;
  /** Byte offsets relative to the start of the data buffer. */
  begin: number;
  end: number;
}

function parseHeader(headerBytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    // ignoreBOM keeps a leading BOM in the text, so JSON.parse rejects it as the Rust crate does.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw malformed(
      `the ${headerBytes.length}-byte header is not valid UTF-8. The file is corrupt or not a safetensors file.`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw malformed(
      `the header is not valid JSON (${reason}); it starts ${JSON.stringify(clip(text, 40))}. The file is corrupt or not a safetensors file.`,
    );
  }
  if (!isObject(header)) {
    throw malformed(
      `the header must be a JSON object of tensor entries, but it is ${describe(header)}. The file is corrupt or not a safetensors file.`,
    );
  }
  // JSON.parse keeps the last of two equal keys; a file that names a tensor twice is ambiguous.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    throw malformed(
      `the header has the key ${JSON.stringify(duplicate)} twice in the same object, so it is ambiguous which entry is meant. Write the file again with unique names.`,
    );
  }
  return header;
}

function parseMetadata(raw: unknown): Record<string, string> {
  // The Rust crate types this field Option<HashMap<String, String>>, so null means "no metadata".
  if (raw === null) return {};
  if (!isObject(raw)) {
    throw malformed(
      `"${METADATA_KEY}" must be an object of string values, but it is ${describe(raw)}. Remove it or store it as { "key": "value" }.`,
    );
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== "string") {
      throw malformed(
        `"${METADATA_KEY}" value for ${JSON.stringify(key)} is ${describe(value)}, but metadata values must be strings. Store it as a string (e.g. JSON-encoded) when writing.`,
      );
    }
  }
  return Object.fromEntries(Object.entries(raw as Record<string, string>));
}

function parseLayout(name: string, raw: unknown, dataBytes: number): TensorLayout {
  const label = `tensor ${JSON.stringify(name)}`;
  if (!isObject(raw)) {
    throw malformed(
      `${label}: its header entry must be an object { dtype, shape, data_offsets }, but it is ${describe(raw)}.`,
    );
  }
  for (const field of ["dtype", "shape", "data_offsets"]) {
    if (!Object.hasOwn(raw, field)) {
      throw malformed(
        `${label}: its header entry is missing "${field}" (it has ${JSON.stringify(Object.keys(raw))}). Every tensor needs dtype, shape and data_offsets.`,
      );
    }
  }

  const dtype = raw.dtype;
  if (typeof dtype !== "string") {
    throw malformed(`${label}: "dtype" must be a string such as "F32", but it is ${describe(dtype)}.`);
  }
  if (!Object.hasOwn(ITEM_BYTES, dtype)) {
    if (UNSUPPORTED_DTYPES.includes(dtype)) {
      throw malformed(
        `${label}: dtype ${dtype} is valid safetensors but proximal cannot read it. Convert the tensor to float32, float16 or bfloat16 before saving.`,
      );
    }
    const known = Object.keys(ITEM_BYTES);
    throw malformed(
      `${label}: unknown dtype ${JSON.stringify(dtype)}; proximal reads ${known.join(", ")}.${didYouMean(dtype, known)}`,
    );
  }
  const storedDtype = dtype as StoredDtype;

  const shape = raw.shape;
  if (!Array.isArray(shape)) {
    throw malformed(
      `${label}: "shape" must be an array of dimensions such as [2, 3], but it is ${describe(shape)}.`,
    );
  }
  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis];
    if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 0) {
      throw malformed(
        `${label}: shape ${describe(shape)} has ${describe(dim)} at axis ${axis}; dimensions must be non-negative integers.`,
      );
    }
  }

  const offsets = raw.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)
  ) {
    throw malformed(
      `${label}: "data_offsets" must be two non-negative integers [begin, end], but it is ${describe(offsets)}.`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw malformed(`${label}: data_offsets [${begin}, ${end}] are reversed; begin must not exceed end.`);
  }
  if (end > dataBytes) {
    throw malformed(
      `${label}: data_offsets [${begin}, ${end}] end past the ${dataBytes}-byte data buffer. The file is truncated or its header is corrupt.`,
    );
  }

  // BigInt: a shape such as [2^40, 2^40] overflows Number's exact range before it can be compared.
  const itemBytes = ITEM_BYTES[storedDtype];
  const numel = shape.reduce((product: bigint, dim: number) => product * BigInt(dim), 1n);
  const expectedBytes = numel * BigInt(itemBytes);
  if (expectedBytes !== BigInt(end - begin)) {
    throw malformed(
      `${label}: shape [${shape.join(", ")}] of ${dtype} needs ${expectedBytes} bytes (${numel} × ${itemBytes}), but data_offsets [${begin}, ${end}] span ${end - begin} bytes. The header is corrupt.`,
    );
  }
  return {
    name,
    dtype: storedDtype,
    shape: shape.map((d: number) => d + 0),
    numel: Number(numel),
    begin,
    end,
  };
}

/** The tensors must cover the data buffer exactly once, as `Metadata::validate` requires. */
function checkTiling(layouts: TensorLayout[], dataBytes: number): void {
  // Sorting by (begin, end) puts zero-size tensors before a real tensor at the same offset.
  const ordered = [...layouts].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: TensorLayout | undefined;
  for (const layout of ordered) {
    const label = `tensor ${JSON.stringify(layout.name)}`;
    if (layout.begin < cursor && previous !== undefined) {
      throw malformed(
        `${label} at data_offsets [${layout.begin}, ${layout.end}] overlaps tensor ${JSON.stringify(previous.name)} at [${previous.begin}, ${previous.end}]. Tensors must not share bytes; the header is corrupt.`,
      );
    }
    if (layout.begin > cursor) {
      throw malformed(
        `the data buffer has a gap: bytes [${cursor}, ${layout.begin}) before ${label} belong to no tensor. Tensors must be packed back to back; the header is corrupt.`,
      );
    }
    cursor = layout.end;
    previous = layout;
  }
  if (cursor !== dataBytes) {
    throw malformed(
      `the last ${dataBytes - cursor} bytes of the ${dataBytes}-byte data buffer (from offset ${cursor}) belong to no tensor. The header is corrupt or bytes were appended to the file.`,
    );
  }
}

/**
 * The first key that appears twice in one object of `text`, or undefined. `text` must already be
 * valid JSON (so a string followed by `:` is a key and brackets balance).
 */
function findDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = []; // one Set per open object, null per open array
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "{") stack.push(new Set());
    else if (c === "[") stack.push(null);
    else if (c === "}" || c === "]") stack.pop();
    else if (c === '"') {
      const start = i;
      i++;
      while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      const literal = text.slice(start, i + 1);
      let j = i + 1;
      while (j < text.length && (text[j] === " " || text[j] === "\t" || text[j] === "\n" || text[j] === "\r"))
        j++;
      const keys = stack[stack.length - 1];
      if (text[j] === ":" && keys) {
        // decode escapes, so "a" and "\u0061" count as the same key
        const key = JSON.parse(literal) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
    }
    i++;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

function decode(
  layout: TensorLayout,
  bytes: Uint8Array,
  view: DataView,
  dataStart: number,
): Float32Array | Int32Array {
  const { dtype, numel } = layout;
  const at = dataStart + layout.begin;
  switch (dtype) {
    case "F32": {
      // Copying into a fresh buffer also realigns data that sits at an odd offset in `bytes`.
      if (HOST_IS_LITTLE_ENDIAN) return new Float32Array(copyBytes(bytes, at, numel * 4).buffer);
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = view.getFloat32(at + 4 * i, true);
      return out;
    }
    case "I32": {
      if (HOST_IS_LITTLE_ENDIAN) return new Int32Array(copyBytes(bytes, at, numel * 4).buffer);
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = view.getInt32(at + 4 * i, true);
      return out;
    }
    case "F16": {
      const table = halfToFloatTable();
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = table[view.getUint16(at + 2 * i, true)];
      return out;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32, so shifting its bits up is exact.
      const out = new Float32Array(numel);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < numel; i++) bits[i] = view.getUint16(at + 2 * i, true) << 16;
      return out;
    }
    case "F64": {
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) {
        const value = view.getFloat64(at + 8 * i, true);
        out[i] = value;
        if (Number.isFinite(value) && !Number.isFinite(out[i])) throw doesNotFit(layout, i, value, "float32");
      }
      return out;
    }
    case "I64":
    case "U64": {
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) {
        const low = view.getUint32(at + 8 * i, true);
        const high = view.getInt32(at + 8 * i + 4, true);
        // fits in int32 exactly when the high word is the sign extension of the low word
        const fits =
          (high === 0 && low <= 0x7fffffff) || (dtype === "I64" && high === -1 && low >= 0x80000000);
        if (!fits) {
          const value =
            dtype === "I64" ? view.getBigInt64(at + 8 * i, true) : view.getBigUint64(at + 8 * i, true);
          throw doesNotFit(layout, i, value, "int32");
        }
        out[i] = low | 0;
      }
      return out;
    }
    case "U32": {
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) {
        const value = view.getUint32(at + 4 * i, true);
        if (value > 0x7fffffff) throw doesNotFit(layout, i, value, "int32");
        out[i] = value;
      }
      return out;
    }
    case "I16":
    case "U16":
    case "I8":
    case "U8":
    case "BOOL": {
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = readSmallInt(dtype, view, at, i);
      return out;
    }
  }
  return dtype satisfies never;
}

function readSmallInt(
  dtype: "I16" | "U16" | "I8" | "U8" | "BOOL",
  view: DataView,
  at: number,
  i: number,
): number {
  switch (dtype) {
    case "I16":
      return view.getInt16(at + 2 * i, true);
    case "U16":
      return view.getUint16(at + 2 * i, true);
    case "I8":
      return view.getInt8(at + i);
    case "U8":
      return view.getUint8(at + i);
    case "BOOL":
      return view.getUint8(at + i) === 0 ? 0 : 1;
  }
  return dtype satisfies never;
}

let halfTable: Float32Array | undefined;

/** All 65536 IEEE 754 binary16 values as float32 (256 KB, built on first use). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    // exponent 0: zero and subnormals; 31: infinities and NaN
    if (exponent === 0) halfTable[h] = sign * fraction * 2 ** -24;
    else if (exponent === 31) halfTable[h] = fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    else halfTable[h] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return halfTable;
}

const conversionView = new DataView(new ArrayBuffer(4));

/** bfloat16 bits of a float32: its top 16 bits, rounded to nearest even; NaN stays a quiet NaN. */
export function floatToBfloat16Bits(value: number): number {
  conversionView.setFloat32(0, value);
  const bits = conversionView.getUint32(0);
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return (bits >>> 16) | 0x40;
  const roundingBias = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + roundingBias) >>> 16) & 0xffff;
}

/** IEEE binary16 bits of a float32, rounded to nearest even (subnormals included). */
export function floatToHalfBits(value: number, name = "", index = 0): number {
  conversionView.setFloat32(0, value);
  const bits = conversionView.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // inf, NaN
  const magnitude = Math.abs(Math.fround(value));
  // largest finite half is 65504; values rounding above it (>= 65520) overflow
  if (magnitude >= 65520) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `writeSafetensors: tensor ${JSON.stringify(name)} holds ${value} at flat index ${index}, beyond the F16 range (±65504). Store it as "BF16" or "F32", or rescale it.`,
    );
  }
  if (magnitude < 2 ** -25) return sign; // rounds to zero (2^-25 itself is a tie with 0: even)
  // value = magnitude = m · 2^-24 in units of the smallest subnormal for small numbers
  if (magnitude < 2 ** -14) {
    const units = magnitude / 2 ** -24; // exact in float64
    return sign | roundHalfEven(units);
  }
  const e = Math.floor(Math.log2(magnitude));
  const exact = magnitude / 2 ** e; // in [1, 2)
  const exponentCorrected = exact >= 2 ? e + 1 : exact < 1 ? e - 1 : e;
  const fraction = magnitude / 2 ** exponentCorrected - 1; // [0, 1)
  let rounded = roundHalfEven(fraction * 1024);
  let halfExponent = exponentCorrected + 15;
  if (rounded === 1024) {
    rounded = 0;
    halfExponent++;
  }
  return sign | (halfExponent << 10) | rounded;
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function doesNotFit(
  layout: TensorLayout,
  index: number,
  value: number | bigint,
  target: string,
): ProximalError {
  return malformed(
    `tensor ${JSON.stringify(layout.name)} (${layout.dtype}) holds ${value} at flat index ${index}, which does not fit in ${target}. Proximal stores it as ${target}; rescale or cast the tensor before saving.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

function checkEntryForWriting(name: string, entry: SafetensorEntry): void {
  const label = `tensor ${JSON.stringify(name)}`;
  if (name === METADATA_KEY) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `a tensor cannot be named "${METADATA_KEY}": safetensors reserves that key for metadata. Rename the tensor.`,
    );
  }
  if (!isObject(entry)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${label} must be { dtype, shape, data }, but it is ${describe(entry)}.`,
    );
  }
  const { dtype, shape, data } = entry;
  const expectedArray = dtype === "F32" ? Float32Array : dtype === "I32" ? Int32Array : undefined;
  if (expectedArray === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${label} has dtype ${describe(dtype)}; writeSafetensors writes "F32" and "I32". Convert the data first.`,
    );
  }
  if (!(data instanceof expectedArray)) {
    throw new ProximalError(
      "DTYPE_MISMATCH",
      `${label} has dtype ${dtype} but its data is ${describe(data)}; ${dtype} needs a ${expectedArray.name}. Fix the dtype or convert the data.`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${label} has shape ${describe(shape)}; a shape is an array of non-negative integers such as [2, 3].`,
    );
  }
  const numel = shape.reduce((product, dim) => product * dim, 1);
  if (numel !== data.length) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `${label} has shape [${shape.join(", ")}] (${numel} elements) but ${data.length} data elements. Fix the shape or the data.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function malformed(message: string): ProximalError {
  return new ProximalError("MALFORMED_FILE", `Malformed safetensors file: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A fresh, 0-aligned copy; `subarray` + `set` because `Buffer#slice` would return a view. */
function copyBytes(bytes: Uint8Array, begin: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(begin, begin + length));
  return out;
}

/** Code-unit order, the same on every platform (unlike `localeCompare`). */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A short, value-showing description for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === "bigint") return `${value}n`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  const kind = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
  return text === undefined ? kind : `${kind} ${clip(text, 60)}`;
}

function clip(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length)}…`;
}
