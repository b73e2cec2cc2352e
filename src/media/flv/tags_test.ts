import assert from "node:assert/strict";
import { bin, concat, randomBytes, randomInt, seededRandom, toHex } from "../../shared/testing.ts";
import { flvHeader, flvTag, flvWholePrefixBytes, TagType } from "./tags.ts";

Deno.test("flvHeader writes the signature, version 1, the track flags, DataOffset 9 and PreviousTagSize0", () => {
  const expected = bin(
    "'FLV'" + // Signature
      "01" + // Version 1
      "05" + // TypeFlagsReserved 0, TypeFlagsAudio 1 (0x04), TypeFlagsReserved 0, TypeFlagsVideo 1 (0x01)
      "00000009" + // DataOffset: the header's 9 bytes
      "00000000", // PreviousTagSize0: always 0
  );
  assert.equal(toHex(flvHeader({ hasVideo: true, hasAudio: true })), toHex(expected));
  assert.equal(flvHeader({ hasVideo: true, hasAudio: false })[4], 0x01);
  assert.equal(flvHeader({ hasVideo: false, hasAudio: true })[4], 0x04);
});

Deno.test("flvTag puts timestamps of 2^24 ms and more in TimestampExtended, and wraps after 2^32 ms", () => {
  const timestamp = (tag: Uint8Array) => toHex(tag.subarray(4, 8));
  assert.equal(timestamp(flvTag(TagType.Video, 0xff_ffff, bin("00"))), "ffffff00");
  assert.equal(timestamp(flvTag(TagType.Video, 0x100_0000, bin("00"))), "00000001");
  assert.equal(timestamp(flvTag(TagType.Video, 0xfedc_ba98, bin("00"))), "dcba98fe");
  assert.equal(timestamp(flvTag(TagType.Video, 2 ** 32 + 5, bin("00"))), "00000500");
});

/** A small file: header, a script tag, a video tag and an audio tag; and where each whole prefix ends. */
function smallFile(): { file: Uint8Array; boundaries: number[] } {
  const parts = [
    flvHeader({ hasVideo: true, hasAudio: true }),
    flvTag(TagType.Script, 0, bin("02 0003 'abc' 05")),
    flvTag(TagType.Video, 0, bin("17 00 000000 01020304")),
    flvTag(TagType.Audio, 2 ** 24 + 3, bin("af 01 2110")),
  ];
  const boundaries: number[] = [];
  parts.reduce((end, part) => {
    boundaries.push(end + part.length);
    return end + part.length;
  }, 0);
  return { file: concat(parts), boundaries };
}

Deno.test("flvWholePrefixBytes of every truncation is the last tag boundary before the cut, 0 before the header", () => {
  const { file, boundaries } = smallFile();
  assert.equal(flvWholePrefixBytes(file), file.length);
  for (let length = 0; length <= file.length; length++) {
    const expected = boundaries.filter((end) => end <= length).at(-1) ?? 0;
    assert.equal(flvWholePrefixBytes(file.subarray(0, length)), expected, `cut at ${length}`);
  }
});

Deno.test("flvWholePrefixBytes stops before a tag whose size, type, StreamID or PreviousTagSize does not hold", () => {
  const { file, boundaries } = smallFile();
  const [header, script, video] = boundaries as [number, number, number, number];
  const corrupt = (offset: number, value: number) => {
    const copy = file.slice();
    copy[offset] = value;
    return flvWholePrefixBytes(copy);
  };
  assert.equal(corrupt(script - 1, 0x99), header, "PreviousTagSize of the script tag");
  assert.equal(corrupt(script, 0x07), script, "TagType 7");
  assert.equal(corrupt(script, 0x29), script, "Filter bit set on a video tag");
  assert.equal(corrupt(script + 9, 0x01), script, "StreamID 1");
  assert.equal(corrupt(video + 3, 0x05), video, "DataSize past the end");
  assert.equal(corrupt(0, 0x66), 0, "signature");
  assert.equal(corrupt(3, 0x02), 0, "version 2");
  assert.equal(corrupt(8, 0x08), 0, "DataOffset 8");
  assert.equal(corrupt(12, 0x01), 0, "PreviousTagSize0 not 0");
  // Zeros after the last tag (blocks a crash left allocated but unwritten) are not a tag.
  assert.equal(flvWholePrefixBytes(concat([file, new Uint8Array(4096)])), file.length);
});

Deno.test("flvWholePrefixBytes never throws on random bytes and only ever returns 0 or a prefix that reads back", () => {
  const random = seededRandom(0xf1f);
  const { file } = smallFile();
  for (let i = 0; i < 2000; i++) {
    const tail = randomBytes(random, randomInt(random, 0, 64));
    const input = i % 2 === 0 ? tail : concat([file.subarray(0, randomInt(random, 0, file.length)), tail]);
    const whole = flvWholePrefixBytes(input);
    assert.ok(whole === 0 || (whole >= 13 && whole <= input.length), `case ${i}: ${whole} of ${input.length}`);
    if (whole > 0) assert.equal(flvWholePrefixBytes(input.subarray(0, whole)), whole, `case ${i} is stable`);
  }
});
