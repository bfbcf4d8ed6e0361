import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { littleEndianBytes, ProtobufWriter } from "./protobufWriter.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("ProtobufWriter", () => {
  test("varint fields as the encoding guide's example: field 1 = 150 is 08 96 01", () => {
    // https://protobuf.dev/programming-guides/encoding/ ("a simple message")
    assert.equal(hex(new ProtobufWriter().int64(1, 150).finish()), "089601");
    assert.equal(hex(new ProtobufWriter().int64(2, 0).finish()), "1000");
    // 2^53 - 1 takes 8 bytes of 7 bits (and one of 4 bits)
    assert.equal(hex(new ProtobufWriter().int64(1, Number.MAX_SAFE_INTEGER).finish()), "08ffffffffffffff0f");
  });

  test("a negative int64 is its 64-bit two's complement: ten bytes", () => {
    assert.equal(hex(new ProtobufWriter().int64(1, -1).finish()), "08ffffffffffffffffff01");
    assert.equal(hex(new ProtobufWriter().int64(1, -2).finish()), "08feffffffffffffffff01");
  });

  test("strings, nested messages and packed repeated fields are length-delimited", () => {
    // the guide's example: field 2 = "testing" is 12 07 74 65 73 74 69 6e 67
    assert.equal(hex(new ProtobufWriter().string(2, "testing").finish()), "120774657374696e67");
    const inner = new ProtobufWriter().int64(1, 150);
    assert.equal(hex(new ProtobufWriter().message(3, inner).finish()), "1a03089601");
    // the guide's packed example: field 4 = [3, 270, 86942] is 22 06 03 8e 02 9e a7 05
    assert.equal(hex(new ProtobufWriter().packedInt64(4, [3, 270, 86942]).finish()), "2206038e029ea705");
    assert.equal(hex(new ProtobufWriter().packedFloat(7, [1, -2]).finish()), "3a080000803f000000c0");
    assert.equal(hex(new ProtobufWriter().float(2, 0.5).finish()), "150000003f");
  });

  test("grows past its first buffer without losing bytes", () => {
    const writer = new ProtobufWriter();
    const big = new Uint8Array(1000).map((_, i) => i % 251);
    writer.bytes(9, big).int64(1, 7);
    const out = writer.finish();
    assert.equal(out.length, 1 + 2 + 1000 + 2);
    assert.deepEqual(out.subarray(3, 1003), big);
    assert.equal(hex(out.subarray(1003)), "0807");
  });

  test("littleEndianBytes stores float32, int32 and int64 low byte first", () => {
    assert.equal(hex(littleEndianBytes(Float32Array.of(1))), "0000803f");
    assert.equal(hex(littleEndianBytes(Int32Array.of(-2))), "feffffff");
    assert.equal(hex(littleEndianBytes(BigInt64Array.of(258n))), "0201000000000000");
  });
});
