/** leb128 edge cases, OBU splitting and rewriting, and random access point detection from frame header bits. */

import assert from "node:assert/strict";
import {
  isRandomAccessPoint,
  isShownKeyFrame,
  leb128SizeBytes,
  type Obu,
  ObuType,
  readLeb128,
  readObu,
  splitObus,
  unsizedHeader,
  writeLeb128,
  writeSizedObus,
} from "./obu.ts";
import { bin, toHex } from "../../shared/testing.ts";

Deno.test("readLeb128 reads 1 to 8 bytes, little-endian 7-bit groups", () => {
  assert.deepEqual(readLeb128(bin("00"), 0), { value: 0, sizeBytes: 1 });
  assert.deepEqual(readLeb128(bin("7f"), 0), { value: 127, sizeBytes: 1 });
  assert.deepEqual(readLeb128(bin("ff 7f 80 01"), 0), { value: 16383, sizeBytes: 2 });
  assert.deepEqual(readLeb128(bin("aa 80 01"), 1), { value: 128, sizeBytes: 2 });
  // A non-minimal encoding is still valid: 8 bytes carrying 5.
  assert.deepEqual(readLeb128(bin("85 80 80 80 80 80 80 00"), 0), { value: 5, sizeBytes: 8 });
  assert.deepEqual(readLeb128(bin("ff ff ff ff 0f"), 0), { value: 2 ** 32 - 1, sizeBytes: 5 });
});

Deno.test("readLeb128 rejects more than 8 bytes, values past 2^32-1 and a cut-off value", () => {
  assert.equal(readLeb128(bin("80 80 80 80 80 80 80 80 00"), 0), undefined);
  assert.equal(readLeb128(bin("80 80 80 80 10"), 0), undefined); // 2^32
  assert.equal(readLeb128(bin("ff ff"), 0), undefined);
  assert.equal(readLeb128(bin(""), 0), undefined);
});

Deno.test("writeLeb128 writes the shortest encoding and readLeb128 reads it back", () => {
  for (const value of [0, 1, 127, 128, 300, 16383, 16384, 2 ** 21, 2 ** 28 + 5, 2 ** 32 - 1]) {
    const out = new Uint8Array(8);
    const end = writeLeb128(out, 0, value);
    assert.equal(end, leb128SizeBytes(value), `size of ${value}`);
    assert.deepEqual(readLeb128(out, 0), { value, sizeBytes: end });
  }
  const out = new Uint8Array(2);
  writeLeb128(out, 0, 300);
  assert.equal(toHex(out), "ac02");
});

Deno.test("splitObus reads sized OBUs and an unsized last one, with extension headers", () => {
  const obus = splitObus(bin("12 00" + "0a 02 aabb" + "36 40 03 010203" + "30 ccdd"));
  assert.deepEqual(obus.map((obu) => [obu.type, toHex(obu.header), toHex(obu.payload)]), [
    [ObuType.TemporalDelimiter, "12", ""],
    [ObuType.SequenceHeader, "0a", "aabb"],
    [ObuType.Frame, "3640", "010203"],
    [ObuType.Frame, "30", "ccdd"],
  ]);
});

Deno.test("splitObus rejects a forbidden bit, a size past the end, a bad leb128 and a cut extension", () => {
  const cases: [string, RegExp][] = [
    ["92 00", /byte 0: obu_forbidden_bit is set/],
    ["0a 02 aabb 32 05 0102", /byte 4: obu_size 5 runs past the end/],
    ["0a 80 80 80 80 80 80 80 80 00", /obu_size is not a valid leb128/],
    ["0a", /obu_size is not a valid leb128/],
    ["36", /obu_extension_header is cut off/],
  ];
  for (const [hex, message] of cases) {
    assert.throws(() => splitObus(bin(hex)), { name: "BadRequestError", message }, hex);
  }
});

Deno.test("readObu bounded by an end leaves the bytes after it alone", () => {
  const read = readObu(bin("30 aabb ff"), 0, 3);
  assert(typeof read !== "string");
  assert.equal(toHex(read.obu.payload), "aabb");
  assert.equal(read.end, 3);
});

Deno.test("writeSizedObus sets obu_has_size_field, writes obu_size and keeps the extension header", () => {
  const obus: Obu[] = [
    { type: ObuType.SequenceHeader, header: bin("08"), payload: bin("aabb") },
    { type: ObuType.Frame, header: bin("34 40"), payload: new Uint8Array(200).fill(7) },
  ];
  const out = writeSizedObus(obus);
  assert.equal(toHex(out.subarray(0, 8)), "0a02aabb3640c801");
  assert.equal(out.length, 4 + 4 + 200);
  assert.deepEqual(splitObus(out).map((obu) => obu.payload.length), [2, 200]);
});

Deno.test("unsizedHeader clears obu_has_size_field and copies", () => {
  const obu: Obu = { type: ObuType.Frame, header: bin("36 40"), payload: bin("") };
  assert.equal(toHex(unsizedHeader(obu)), "3440");
  assert.equal(toHex(obu.header), "3640");
});

/** A frame OBU whose uncompressed header starts with show_existing_frame, frame_type, show_frame. */
function frame(showExisting: number, frameType: number, showFrame: number): Obu {
  const first = (showExisting << 7) | (frameType << 5) | (showFrame << 4);
  return { type: ObuType.Frame, header: bin("32"), payload: Uint8Array.of(first, 0x55) };
}
const sequenceHeader: Obu = { type: ObuType.SequenceHeader, header: bin("0a"), payload: bin("000000043c") };
/** reduced_still_picture_header = 1 (fifth bit). */
const stillSequenceHeader: Obu = { type: ObuType.SequenceHeader, header: bin("0a"), payload: bin("18 00") };

Deno.test("isShownKeyFrame reads show_existing_frame, frame_type and show_frame", () => {
  assert.equal(isShownKeyFrame(frame(0, 0, 1), false), true);
  assert.equal(isShownKeyFrame(frame(0, 0, 0), false), false); // delayed random access point
  assert.equal(isShownKeyFrame(frame(1, 0, 1), false), false); // shows an earlier frame
  assert.equal(isShownKeyFrame(frame(0, 1, 1), false), false); // INTER_FRAME
  assert.equal(isShownKeyFrame(frame(0, 2, 1), false), false); // INTRA_ONLY_FRAME
  assert.equal(isShownKeyFrame(frame(0, 3, 1), false), false); // SWITCH_FRAME
  assert.equal(isShownKeyFrame({ type: ObuType.FrameHeader, header: bin("1a"), payload: bin("") }, false), false);
  // A reduced still picture header codes none of the three: every frame is a shown key frame.
  assert.equal(isShownKeyFrame(frame(1, 1, 0), true), true);
});

Deno.test("isRandomAccessPoint needs a sequence header before a first frame that is a shown key frame", () => {
  const metadata: Obu = { type: ObuType.Metadata, header: bin("2a"), payload: bin("01") };
  assert.equal(isRandomAccessPoint([sequenceHeader, frame(0, 0, 1)]), true);
  assert.equal(isRandomAccessPoint([metadata, sequenceHeader, frame(0, 0, 1), frame(0, 1, 0)]), true);
  assert.equal(isRandomAccessPoint([frame(0, 0, 1)]), false);
  assert.equal(isRandomAccessPoint([frame(0, 0, 1), sequenceHeader]), false);
  assert.equal(isRandomAccessPoint([sequenceHeader, frame(0, 1, 0), frame(0, 0, 1)]), false);
  assert.equal(isRandomAccessPoint([sequenceHeader]), false);
  assert.equal(isRandomAccessPoint([stillSequenceHeader, frame(1, 1, 0)]), true);
});
