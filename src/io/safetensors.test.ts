import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import {
  floatToBfloat16Bits,
  floatToHalfBits,
  readSafetensors,
  type SafetensorEntry,
  writeSafetensors,
} from "./safetensors.js";

const FIXTURES = new URL("../../fixtures/safetensors/", import.meta.url);

/** A file from a header string and raw data bytes; `headerLength` overrides the u64 prefix. */
function fileFrom(header: string, data: number[] = [], headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes of one value of a stored dtype. */
function le(kind: "u16" | "f32" | "i64" | "u32" | "f64", value: number | bigint): number[] {
  const view = new DataView(new ArrayBuffer(8));
  if (kind === "u16") view.setUint16(0, Number(value), true);
  if (kind === "f32") view.setFloat32(0, Number(value), true);
  if (kind === "u32") view.setUint32(0, Number(value), true);
  if (kind === "f64") view.setFloat64(0, Number(value), true);
  if (kind === "i64") view.setBigInt64(0, BigInt(value), true);
  const size = { u16: 2, f32: 4, u32: 4, f64: 8, i64: 8 }[kind];
  return [...new Uint8Array(view.buffer, 0, size)];
}

function entry(dtype: string, shape: number[], begin: number, end: number): string {
  return JSON.stringify({ dtype, shape, data_offsets: [begin, end] });
}

function assertMalformed(bytes: Uint8Array, fragment: string | RegExp): void {
  assert.throws(
    () => readSafetensors(bytes),
    (error: unknown) => {
      assert.ok(error instanceof ProximalError, `expected a ProximalError, got ${String(error)}`);
      assert.equal(error.code, "MALFORMED_FILE");
      if (typeof fragment === "string") assert.ok(error.message.includes(fragment), error.message);
      else assert.match(error.message, fragment);
      return true;
    },
  );
}

describe("writeSafetensors() / readSafetensors()", () => {
  test("round-trips several dtypes and shapes, metadata, an empty tensor and a scalar", () => {
    const tensors: Record<string, SafetensorEntry> = {
      "z.weight": {
        dtype: "F32",
        shape: [2, 3],
        data: new Float32Array([1, -2.5, 3e-20, 4e20, -0, Math.PI]),
      },
      actions: { dtype: "I32", shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
      empty: { dtype: "F32", shape: [0, 5], data: new Float32Array(0) },
      emptyInt: { dtype: "I32", shape: [3, 0], data: new Int32Array(0) },
      scalar: { dtype: "F32", shape: [], data: new Float32Array([Number.NaN]) },
      cube: { dtype: "I32", shape: [2, 1, 2], data: new Int32Array([5, 6, 7, 8]) },
    };
    const metadata = { format: "pt", note: "ünïcödé ✓", empty: "" };
    const read = readSafetensors(writeSafetensors(tensors, metadata));
    assert.deepEqual(read.metadata, metadata);
    assert.deepEqual(Object.keys(read.tensors), [
      "actions",
      "cube",
      "empty",
      "emptyInt",
      "scalar",
      "z.weight",
    ]);
    for (const [name, expected] of Object.entries(tensors)) {
      assert.deepEqual(read.tensors[name], expected, name);
    }
  });

  test("writes a tiny file byte for byte as the spec lays it out", () => {
    const bytes = writeSafetensors({ a: { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) } });
    // by hand: the header JSON below is 54 bytes, padded with 2 spaces to 56 (a multiple of 8)
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ';
    const expected = [
      ...[56, 0, 0, 0, 0, 0, 0, 0], // u64 little-endian header length
      ...[...header].map((c) => c.charCodeAt(0)),
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f little-endian (0x3f800000)
      ...[0x00, 0x00, 0x00, 0xc0], // -2.0f little-endian (0xc0000000)
    ];
    assert.deepEqual([...bytes], expected);
  });

  test("writes metadata first and tensors in sorted name order, every tensor 4-byte aligned", () => {
    const bytes = writeSafetensors(
      {
        b: { dtype: "I32", shape: [1], data: new Int32Array([2]) },
        a: { dtype: "F32", shape: [1], data: new Float32Array([1]) },
      },
      { z: "1", y: "2" },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLength % 8, 0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)).trimEnd();
    assert.equal(
      header,
      '{"__metadata__":{"y":"2","z":"1"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}',
    );
  });

  test("reads from a view with a non-zero, unaligned byteOffset, and the result owns its memory", () => {
    const file = writeSafetensors({
      w: { dtype: "F32", shape: [3], data: new Float32Array([1.5, 2.5, 3.5]) },
    });
    const backing = new Uint8Array(file.length + 3);
    backing.set(file, 3);
    const view = backing.subarray(3); // data now starts at an odd address in `backing`
    const read = readSafetensors(view);
    assert.deepEqual([...read.tensors.w.data], [1.5, 2.5, 3.5]);
    read.tensors.w.data[0] = 99;
    assert.deepEqual(readSafetensors(view).tensors.w.data[0], 1.5);
  });

  test("reads from a Node Buffer (whose slice() is a view, not a copy)", () => {
    const file = writeSafetensors({ i: { dtype: "I32", shape: [2], data: new Int32Array([7, -7]) } });
    assert.deepEqual([...readSafetensors(Buffer.from(file)).tensors.i.data], [7, -7]);
  });

  test("writes a tensor named __proto__ as a plain own property", () => {
    const tensors: Record<string, SafetensorEntry> = Object.fromEntries([
      ["__proto__", { dtype: "I32", shape: [1], data: new Int32Array([1]) }],
    ]);
    const read = readSafetensors(writeSafetensors(tensors));
    assert.deepEqual(Object.keys(read.tensors), ["__proto__"]);
    assert.equal(Object.getPrototypeOf(read.tensors), Object.prototype);
  });
});

describe("readSafetensors() decoding", () => {
  test("decodes F16 against known bit patterns", () => {
    // IEEE 754 binary16, by hand: 0x3c00 = 1, 0xc000 = -2, 0x3555 = 0.333251953125, 0x7bff = 65504,
    // 0x0001 = 2^-24 (smallest subnormal), 0x8000 = -0, 0x7c00 = inf, 0xfc00 = -inf, 0x7e00 = NaN
    const bits = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const bytes = fileFrom(
      `{"h":${entry("F16", [9], 0, 18)}}`,
      bits.flatMap((b) => le("u16", b)),
    );
    const { data, dtype } = readSafetensors(bytes).tensors.h;
    assert.equal(dtype, "F32");
    assert.ok(data instanceof Float32Array);
    assert.deepEqual(
      [...data],
      [
        1,
        -2,
        0.333251953125,
        65504,
        2 ** -24,
        -0,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        Number.NaN,
      ],
    );
  });

  test("decodes BF16 as the top 16 bits of a float32", () => {
    // by hand: 0x3f80 = 1, 0x4049 = 3.140625, 0xc2f7 = -123.5, 0x0001 = 2^-133, 0x7f80 = inf
    const bits = [0x3f80, 0x4049, 0xc2f7, 0x0001, 0x7f80];
    const bytes = fileFrom(
      `{"b":${entry("BF16", [5], 0, 10)}}`,
      bits.flatMap((b) => le("u16", b)),
    );
    assert.deepEqual(
      [...readSafetensors(bytes).tensors.b.data],
      [1, 3.140625, -123.5, 2 ** -133, Number.POSITIVE_INFINITY],
    );
  });

  test("decodes I64 values that fit in int32, including both extremes", () => {
    const values = [0n, -1n, 2147483647n, -2147483648n, 123456789n];
    const bytes = fileFrom(
      `{"s":${entry("I64", [5], 0, 40)}}`,
      values.flatMap((v) => le("i64", v)),
    );
    const { data, dtype } = readSafetensors(bytes).tensors.s;
    assert.equal(dtype, "I32");
    assert.ok(data instanceof Int32Array);
    assert.deepEqual([...data], [0, -1, 2147483647, -2147483648, 123456789]);
  });

  test("decodes F64, U8 and BOOL", () => {
    const data = [...le("f64", 0.1), ...le("f64", -3), 0, 255, 0, 1, 2];
    const header = `{"d":${entry("F64", [2], 0, 16)},"u":${entry("U8", [2], 16, 18)},"b":${entry("BOOL", [3], 18, 21)}}`;
    const { tensors } = readSafetensors(fileFrom(header, data));
    assert.deepEqual([...tensors.d.data], [Math.fround(0.1), -3]);
    assert.deepEqual([...tensors.u.data], [0, 255]);
    assert.deepEqual([...tensors.b.data], [0, 1, 1]); // any non-zero byte is true
  });

  test("reads a file with a zero-length data buffer and no metadata", () => {
    const { tensors, metadata } = readSafetensors(fileFrom(`{"e":${entry("F32", [0], 0, 0)}}`));
    assert.deepEqual(tensors.e, { dtype: "F32", shape: [0], data: new Float32Array(0) });
    assert.deepEqual(metadata, {});
    assert.deepEqual(readSafetensors(fileFrom("{}")), { tensors: {}, metadata: {} });
  });
});

describe("readSafetensors() on a file written from PyTorch", () => {
  // fixtures/safetensors/torch.* were made by scripts/fixtures/makeSafetensorsFixture.py (torch 1.13)
  const file = readSafetensors(readFileSync(new URL("torch.safetensors", FIXTURES)));
  const expected = JSON.parse(readFileSync(new URL("torch.json", FIXTURES), "utf8")) as {
    metadata: Record<string, string>;
    tensors: Record<string, { dtype: string; shape: number[]; values: (number | string)[] }>;
  };
  const special: Record<string, number> = {
    inf: Number.POSITIVE_INFINITY,
    "-inf": Number.NEGATIVE_INFINITY,
    nan: Number.NaN,
  };

  test("has the same tensor names and metadata", () => {
    assert.deepEqual(Object.keys(file.tensors), Object.keys(expected.tensors).sort());
    assert.deepEqual(file.metadata, expected.metadata);
  });

  for (const [name, want] of Object.entries(expected.tensors)) {
    test(`tensor ${name} (${want.dtype}) has torch's shape and exact values`, () => {
      const got = file.tensors[name];
      assert.deepEqual(got.shape, want.shape);
      assert.equal(got.dtype, want.dtype.startsWith("I") ? "I32" : "F32");
      // every stored value is exactly representable as float32/int32, so compare exactly
      const values = want.values.map((v) => (typeof v === "string" ? special[v] : v));
      assert.deepEqual([...got.data], values);
    });
  }
});

describe("readSafetensors() rejects malformed files", () => {
  const ok = entry("F32", [1], 0, 4);
  const four = [0, 0, 128, 63];
  const cases: [string, () => Uint8Array, string | RegExp][] = [
    ["an empty file", () => new Uint8Array(0), "the file is 0 bytes, shorter than the 8-byte"],
    ["a 5-byte file", () => new Uint8Array(5), "the file is 5 bytes, shorter than"],
    [
      "a header length past the end",
      () => fileFrom("{}", [], 1000n),
      "says 1000 bytes, but only 2 bytes follow",
    ],
    [
      "a header length over 100 MB",
      () => fileFrom("{}", [], 100_000_001n),
      "more than the 100000000-byte limit",
    ],
    [
      "a header length of 2^63",
      () => fileFrom("{}", [], 2n ** 63n),
      "says 9223372036854775808 bytes, more than",
    ],
    ["an empty header", () => fileFrom(""), "the header is not valid JSON"],
    [
      "a header that is not UTF-8",
      () => {
        const bytes = fileFrom('{"a":1}');
        bytes[10] = 0xff;
        return bytes;
      },
      "header is not valid UTF-8",
    ],
    ["a header that is not JSON", () => fileFrom('{"a": {'), /header is not valid JSON \(.+\); it starts/],
    ["a header with a BOM", () => fileFrom("\ufeff{}"), "the header is not valid JSON"],
    [
      "a header that is an array",
      () => fileFrom("[]"),
      "header must be a JSON object of tensor entries, but it is array []",
    ],
    ["a header that is null", () => fileFrom("null"), "but it is null"],
    [
      "an entry that is not an object",
      () => fileFrom('{"a":3}'),
      'tensor "a": its header entry must be an object',
    ],
    [
      "a missing dtype",
      () => fileFrom('{"a":{"shape":[1],"data_offsets":[0,4]}}', four),
      'tensor "a": its header entry is missing "dtype"',
    ],
    [
      "a missing shape",
      () => fileFrom('{"a":{"dtype":"F32","data_offsets":[0,4]}}', four),
      'is missing "shape"',
    ],
    [
      "missing data_offsets",
      () => fileFrom('{"a":{"dtype":"F32","shape":[1]}}', four),
      'is missing "data_offsets"',
    ],
    [
      "a dtype that is not a string",
      () => fileFrom(`{"a":${entry("F32", [1], 0, 4).replace('"F32"', "32")}}`, four),
      '"dtype" must be a string such as "F32", but it is number 32',
    ],
    [
      "an unknown dtype",
      () => fileFrom(`{"a":${entry("F33", [1], 0, 4)}}`, four),
      /unknown dtype "F33"; proximal reads .* Did you mean "F32"\?/,
    ],
    ["a lowercase dtype", () => fileFrom(`{"a":${entry("f32", [1], 0, 4)}}`, four), 'unknown dtype "f32"'],
    [
      "an fp8 dtype",
      () => fileFrom(`{"a":${entry("F8_E4M3", [4], 0, 4)}}`, four),
      "dtype F8_E4M3 is valid safetensors but proximal cannot read it",
    ],
    [
      "a shape that is not an array",
      () => fileFrom('{"a":{"dtype":"F32","shape":4,"data_offsets":[0,4]}}', four),
      '"shape" must be an array of dimensions',
    ],
    [
      "a negative dimension",
      () => fileFrom(`{"a":${entry("F32", [-1, 2], 0, 4)}}`, four),
      "shape array [-1,2] has number -1 at axis 0",
    ],
    [
      "a fractional dimension",
      () => fileFrom(`{"a":${entry("F32", [1, 1.5], 0, 4)}}`, four),
      "has number 1.5 at axis 1",
    ],
    [
      "a dimension that is a string",
      () => fileFrom('{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}', four),
      'has string "1" at axis 0',
    ],
    [
      "one data offset",
      () => fileFrom('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}', four),
      '"data_offsets" must be two non-negative integers [begin, end], but it is array [4]',
    ],
    [
      "a negative data offset",
      () => fileFrom(`{"a":${entry("F32", [1], -4, 0)}}`, four),
      "but it is array [-4,0]",
    ],
    [
      "reversed data offsets",
      () => fileFrom(`{"a":${entry("F32", [0], 4, 0)}}`, four),
      "data_offsets [4, 0] are reversed",
    ],
    [
      "offsets past the data buffer",
      () => fileFrom(`{"a":${entry("F32", [2], 0, 8)}}`, four),
      "data_offsets [0, 8] end past the 4-byte data buffer",
    ],
    [
      "a shape whose size disagrees with its offsets",
      () => fileFrom(`{"a":${entry("F32", [2], 0, 4)}}`, four),
      "shape [2] of F32 needs 8 bytes (2 × 4), but data_offsets [0, 4] span 4 bytes",
    ],
    [
      "a shape whose size overflows 2^53",
      () => fileFrom(`{"a":${entry("F32", [2 ** 40, 2 ** 40], 0, 4)}}`, four),
      "needs 4835703278458516698824704 bytes",
    ],
    [
      "overlapping tensors",
      () => fileFrom(`{"a":${entry("F32", [2], 0, 8)},"b":${entry("F32", [1], 4, 8)}}`, [...four, ...four]),
      'tensor "b" at data_offsets [4, 8] overlaps tensor "a" at [0, 8]',
    ],
    [
      "a gap between tensors",
      () => fileFrom(`{"a":${ok},"b":${entry("F32", [1], 8, 12)}}`, [...four, ...four, ...four]),
      'bytes [4, 8) before tensor "b" belong to no tensor',
    ],
    [
      "a gap before the first tensor",
      () => fileFrom(`{"a":${entry("F32", [1], 4, 8)}}`, [...four, ...four]),
      'bytes [0, 4) before tensor "a"',
    ],
    [
      "bytes after the last tensor",
      () => fileFrom(`{"a":${ok}}`, [...four, 1, 2]),
      "the last 2 bytes of the 6-byte data buffer (from offset 4) belong to no tensor",
    ],
    ["data but no tensors", () => fileFrom("{}", four), "the last 4 bytes of the 4-byte data buffer"],
    [
      "metadata that is not an object",
      () => fileFrom(`{"__metadata__":["x"],"a":${ok}}`, four),
      '"__metadata__" must be an object of string values, but it is array ["x"]',
    ],
    [
      "a metadata value that is not a string",
      () => fileFrom(`{"__metadata__":{"epoch":3},"a":${ok}}`, four),
      '"__metadata__" value for "epoch" is number 3',
    ],
    [
      "a tensor named twice",
      () => fileFrom(`{"a":${ok},"a":${ok}}`, four),
      'the header has the key "a" twice',
    ],
    [
      "a tensor named twice via an escape",
      () => fileFrom(`{"a":${ok},"\\u0061":${ok}}`, four),
      'the key "a" twice',
    ],
    [
      "a field repeated inside an entry",
      () => fileFrom('{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', four),
      'the key "dtype" twice',
    ],
    [
      "an I64 value above int32",
      () => fileFrom(`{"s":${entry("I64", [2], 0, 16)}}`, [...le("i64", 1n), ...le("i64", 2n ** 31n)]),
      'tensor "s" (I64) holds 2147483648 at flat index 1, which does not fit in int32',
    ],
    [
      "an I64 value below int32",
      () => fileFrom(`{"s":${entry("I64", [1], 0, 8)}}`, le("i64", -(2n ** 40n))),
      "holds -1099511627776 at flat index 0",
    ],
    [
      "a U32 value above int32",
      () => fileFrom(`{"u":${entry("U32", [1], 0, 4)}}`, le("u32", 2 ** 32 - 1)),
      "(U32) holds 4294967295 at flat index 0",
    ],
    [
      "an F64 value beyond float32",
      () => fileFrom(`{"d":${entry("F64", [1], 0, 8)}}`, le("f64", 1e300)),
      "holds 1e+300 at flat index 0, which does not fit in float32",
    ],
  ];
  for (const [what, build, fragment] of cases) {
    test(`rejects ${what}`, () => assertMalformed(build(), fragment));
  }

  test("never reads a lying header's data as another tensor: truncating any valid file throws cleanly", () => {
    const file = writeSafetensors(
      {
        a: { dtype: "F32", shape: [2, 2], data: new Float32Array(4) },
        b: { dtype: "I32", shape: [3], data: new Int32Array(3) },
      },
      { k: "v" },
    );
    for (let length = 0; length < file.length; length++) {
      assert.throws(
        () => readSafetensors(file.subarray(0, length)),
        { code: "MALFORMED_FILE" },
        `length ${length}`,
      );
    }
  });

  test("rejects a non-Uint8Array argument with INVALID_ARGUMENT", () => {
    assert.throws(() => readSafetensors("file.safetensors" as unknown as Uint8Array), {
      code: "INVALID_ARGUMENT",
    });
  });
});

describe("writeSafetensors() rejects bad input", () => {
  const cases: [
    string,
    Record<string, SafetensorEntry>,
    Record<string, string> | undefined,
    string,
    string,
  ][] = [
    [
      "a dtype the writer does not support",
      { a: { dtype: "F16" as "F32", shape: [1], data: new Float32Array(1) } },
      undefined,
      "INVALID_ARGUMENT",
      'has dtype string "F16"; writeSafetensors writes "F32" and "I32"',
    ],
    [
      "data of the wrong array type",
      { a: { dtype: "F32", shape: [1], data: new Int32Array(1) } },
      undefined,
      "DTYPE_MISMATCH",
      "F32 needs a Float32Array",
    ],
    [
      "a shape that disagrees with the data",
      { a: { dtype: "I32", shape: [2, 2], data: new Int32Array(3) } },
      undefined,
      "SHAPE_MISMATCH",
      "shape [2, 2] (4 elements) but 3 data elements",
    ],
    [
      "a negative dimension",
      { a: { dtype: "I32", shape: [-1], data: new Int32Array(0) } },
      undefined,
      "INVALID_ARGUMENT",
      "has shape array [-1]",
    ],
    [
      "a tensor named __metadata__",
      { __metadata__: { dtype: "I32", shape: [0], data: new Int32Array(0) } },
      undefined,
      "INVALID_ARGUMENT",
      "safetensors reserves that key",
    ],
    [
      "a metadata value that is not a string",
      {},
      { step: 3 as unknown as string },
      "INVALID_ARGUMENT",
      'metadata["step"] is number 3',
    ],
  ];
  for (const [what, tensors, metadata, code, fragment] of cases) {
    test(`rejects ${what}`, () => {
      assert.throws(
        () => writeSafetensors(tensors, metadata),
        (error: unknown) => {
          assert.ok(error instanceof ProximalError);
          assert.equal(error.code, code);
          assert.ok(error.message.includes(fragment), error.message);
          return true;
        },
      );
    });
  }
});

describe("writeSafetensors() with floatDtype F16 / BF16", () => {
  const values = Float32Array.from([1, -2, 0.1, 65504, 1e-7, 0, -0, 3.140625, Number.POSITIVE_INFINITY]);
  const entry = { x: { dtype: "F32" as const, shape: [values.length], data: values } };

  test("F16 rounds to the nearest binary16 (ties to even, subnormals kept) and reads back", () => {
    const read = readSafetensors(writeSafetensors(entry, {}, { floatDtype: "F16" })).tensors.x;
    // by hand: 0.1 → 1638/16384 = 0.0999755859375; 1e-7 → 2 · 2^-24 = 1.1920928955078125e-7
    assert.deepEqual(Array.from(read.data), [
      1,
      -2,
      0.0999755859375,
      65504,
      2 ** -23,
      0,
      -0,
      3.140625,
      Number.POSITIVE_INFINITY,
    ]);
    assert.equal(floatToHalfBits(1), 0x3c00);
    assert.equal(floatToHalfBits(1 + 2 ** -11), 0x3c00); // halfway between 1 and 1 + 2^-10: to even
    assert.equal(floatToHalfBits(1 + 3 * 2 ** -11), 0x3c02); // halfway, odd below: up
    assert.throws(
      () =>
        writeSafetensors(
          { x: { dtype: "F32", shape: [1], data: Float32Array.from([1e5]) } },
          {},
          { floatDtype: "F16" },
        ),
      {
        code: "INVALID_ARGUMENT",
      },
    );
  });

  test("BF16 keeps the top 16 bits rounded to nearest even and reads back", () => {
    const read = readSafetensors(writeSafetensors(entry, {}, { floatDtype: "BF16" })).tensors.x;
    // by hand: 0.1 = 0x3dcccccd → 0x3dcd → 0.10009765625; 65504 → 65536; 3.140625 = 0x40490000 exact
    assert.deepEqual(Array.from(read.data).slice(0, 4), [1, -2, 0.10009765625, 65536]);
    assert.equal(read.data[7], 3.140625);
    assert.equal(floatToBfloat16Bits(Number.NaN) & 0x7fc0, 0x7fc0);
    assert.equal(floatToBfloat16Bits(1 + 2 ** -8), 0x3f80); // a tie rounds to the even 1.0
  });

  test("integer tensors stay I32 and the header names the stored dtype", () => {
    const bytes = writeSafetensors(
      {
        i: { dtype: "I32", shape: [1], data: Int32Array.from([7]) },
        f: { dtype: "F32", shape: [1], data: Float32Array.from([1]) },
      },
      {},
      { floatDtype: "BF16" },
    );
    const header = new TextDecoder().decode(
      bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))),
    );
    assert.match(header, /"f":\{"dtype":"BF16"/);
    assert.match(header, /"i":\{"dtype":"I32"/);
  });
});
