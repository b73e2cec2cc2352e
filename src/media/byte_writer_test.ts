/** ByteWriter field encodings, the measuring pass, and the invariants it guards. */

import assert from "node:assert/strict";
import { bin, toHex } from "../shared/testing.ts";
import { ByteWriter, encode, measure } from "./byte_writer.ts";

const cases: { name: string; input: (w: ByteWriter) => void; bytes: Uint8Array }[] = [
  { name: "u8", input: (w) => w.u8(0xab), bytes: bin("ab") },
  { name: "u16", input: (w) => w.u16(0x1234), bytes: bin("1234") },
  { name: "i16 -1", input: (w) => w.i16(-1), bytes: bin("ffff") },
  { name: "u24", input: (w) => w.u24(0x020000), bytes: bin("020000") },
  { name: "u32 max", input: (w) => w.u32(0xffff_ffff), bytes: bin("ffffffff") },
  { name: "i32 min", input: (w) => w.i32(-0x8000_0000), bytes: bin("80000000") },
  { name: "u64 2^32", input: (w) => w.u64(0x1_0000_0000), bytes: bin("00000001 00000000") },
  { name: "u64 2^53 - 1", input: (w) => w.u64(Number.MAX_SAFE_INTEGER), bytes: bin("001fffff ffffffff") },
  { name: "16.16 1280", input: (w) => w.fixed16_16(1280), bytes: bin("05000000") },
  { name: "fourcc", input: (w) => w.fourcc("avc1"), bytes: bin("'avc1'") },
  { name: "zeros", input: (w) => w.zeros(3), bytes: bin("000000") },
  { name: "empty box", input: (w) => w.box("free", () => {}), bytes: bin("00000008 'free'") },
  {
    name: "nested full box",
    input: (w) => w.box("dinf", () => w.fullBox("url ", 0, 1, () => {})),
    bytes: bin("00000014 'dinf' 0000000c 'url ' 00000001"),
  },
];

for (const c of cases) {
  Deno.test(`ByteWriter encodes ${c.name}`, () => {
    assert.equal(toHex(encode(c.input)), toHex(c.bytes));
    assert.equal(measure(c.input), c.bytes.byteLength, "measuring pass counts the same bytes");
  });
}

Deno.test("ByteWriter zeros overwrite a reused buffer", () => {
  const buffer = new Uint8Array([1, 2, 3]);
  new ByteWriter(buffer).zeros(3);
  assert.deepEqual(buffer, new Uint8Array(3));
});

Deno.test("ByteWriter rejects values outside a field's range as bugs", () => {
  const measuring = (write: (w: ByteWriter) => void) => () => write(new ByteWriter(null));
  assert.throws(measuring((w) => w.u8(256)), Error, "u8 256");
  assert.throws(measuring((w) => w.u16(0x1_0000)), Error, "u16 2^16");
  assert.throws(measuring((w) => w.u32(-1)), Error, "u32 -1");
  assert.throws(measuring((w) => w.u32(0x1_0000_0000)), Error, "u32 2^32");
  assert.throws(measuring((w) => w.i32(0x8000_0000)), Error, "i32 2^31");
  assert.throws(measuring((w) => w.u64(2 ** 53)), Error, "u64 beyond safe integers");
  assert.throws(measuring((w) => w.u64(-1)), Error, "u64 -1");
  assert.throws(measuring((w) => w.fourcc("abc")), Error, "3-character fourcc");
  assert.doesNotThrow(measuring((w) => w.u64(0)), "u64 0 is fine");
});
