/** Hand-built VP8 payload descriptors for every optional field of RFC 7741 §4.2. */

import assert from "node:assert/strict";
import { parseVp8Descriptor, writeVp8Descriptor } from "./descriptor.ts";
import { bin, toHex } from "../../shared/testing.ts";

const base = { nonReference: false, startOfPartition: false, partitionIndex: 0 };

const cases = [
  { name: "no extension, S = 1, PID = 0", hex: "10 aa", expected: { ...base, startOfPartition: true, sizeBytes: 1 } },
  {
    name: "N and PID 5, reserved bits set and ignored",
    hex: "6d aa",
    expected: { ...base, nonReference: true, partitionIndex: 5, sizeBytes: 1 },
  },
  {
    name: "a 7-bit PictureID",
    hex: "90 80 45 aa",
    expected: { ...base, startOfPartition: true, pictureId: 0x45, sizeBytes: 3 },
  },
  {
    name: "a 15-bit PictureID",
    hex: "90 80 9234 aa",
    expected: { ...base, startOfPartition: true, pictureId: 0x1234, sizeBytes: 4 },
  },
  { name: "TL0PICIDX alone", hex: "80 40 07 aa", expected: { ...base, tl0PicIdx: 7, sizeBytes: 3 } },
  {
    name: "TID and Y without KEYIDX",
    hex: "80 20 a5 aa",
    expected: { ...base, temporalId: 2, layerSync: true, sizeBytes: 3 },
  },
  { name: "KEYIDX without TID", hex: "80 10 e5 aa", expected: { ...base, keyIndex: 5, sizeBytes: 3 } },
  {
    name: "every extension: I (15 bits), L, T and K",
    hex: "90 f0 ffff 09 5f aa bb",
    expected: {
      ...base,
      startOfPartition: true,
      pictureId: 0x7fff,
      tl0PicIdx: 9,
      temporalId: 1,
      layerSync: false,
      keyIndex: 31,
      sizeBytes: 6,
    },
  },
];

for (const c of cases) {
  Deno.test(`parseVp8Descriptor reads ${c.name}`, () => {
    assert.deepEqual(parseVp8Descriptor(bin(c.hex)), c.expected);
  });
}

Deno.test("parseVp8Descriptor rejects a descriptor cut short or with no VP8 data after it", () => {
  const bad: [string, RegExp][] = [
    ["", /truncated before the first octet/],
    ["90", /truncated before the extension octet/],
    ["90 80", /truncated before PictureID/],
    ["90 80 92", /truncated before the PictureID low octet/],
    ["80 40", /truncated before TL0PICIDX/],
    ["80 30", /truncated before TID\/Y\/KEYIDX/],
    ["10", /no VP8 data after the 1-byte descriptor/],
    ["90 80 9234", /no VP8 data after the 4-byte descriptor/],
  ];
  for (const [hex, message] of bad) {
    assert.throws(() => parseVp8Descriptor(bin(hex)), { name: "BadRequestError", message }, hex);
  }
});

Deno.test("writeVp8Descriptor writes the first octet alone or with a 15-bit PictureID", () => {
  assert.deepEqual(toHex(writeVp8Descriptor({ ...base, startOfPartition: true })), "10");
  assert.deepEqual(toHex(writeVp8Descriptor({ ...base, nonReference: true, partitionIndex: 3 })), "23");
  assert.deepEqual(toHex(writeVp8Descriptor({ ...base, startOfPartition: true, pictureId: 5 })), "90808005");
  const written = writeVp8Descriptor({ ...base, pictureId: 0x1234 });
  assert.deepEqual(parseVp8Descriptor(Uint8Array.of(...written, 0xaa)).pictureId, 0x1234);
});
