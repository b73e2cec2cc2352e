/** scanSegment against golden segments, every truncation of a real multi-fragment segment, and random bytes. */

import assert from "node:assert/strict";
import { bin, concat, randomBytes, randomInt, seededRandom } from "../shared/testing.ts";
import { mediaFragment, mediaSegment } from "./fmp4.ts";
import { type ScannedFragment, scanSegment, type SegmentScan } from "./fmp4_reader.ts";
import { Segmenter } from "./segmenter.ts";

/** styp (24 bytes) + moof + mdat: 2 samples, 5 bytes, at 90000 ticks; 133 bytes from offset 24. */
const FIRST = mediaSegment({
  sequenceNumber: 7,
  trackId: 1,
  baseDecodeTimeTicks: 90000,
  samples: [
    { durationTicks: 3000, ctsOffsetTicks: 0, isSync: true, data: bin("010203") },
    { durationTicks: 3000, ctsOffsetTicks: 0, isSync: false, data: bin("0405") },
  ],
});

/** moof + mdat: 1 sample, 4 bytes, at 96000 ticks; 116 bytes. */
const SECOND = mediaFragment({
  sequenceNumber: 8,
  trackId: 1,
  baseDecodeTimeTicks: 96000,
  samples: [{ durationTicks: 3003, ctsOffsetTicks: 0, isSync: false, data: bin("06070809") }],
});

const TWO_FRAGMENTS: ScannedFragment[] = [
  { offset: 24, sizeBytes: 133, sequenceNumber: 7, baseDecodeTimeTicks: 90000, durationTicks: 6000, sampleCount: 2 },
  { offset: 157, sizeBytes: 116, sequenceNumber: 8, baseDecodeTimeTicks: 96000, durationTicks: 3003, sampleCount: 1 },
];

/** A moof whose tfhd sets default-base-is-moof and a 960-tick default duration; its trun (v0, tfdt v0) carries
 * a data offset and sample sizes only. */
function defaultDurationFragment(sampleCount = "00000003"): Uint8Array {
  return bin(
    `00000064 'moof'
       00000010 'mfhd' 00000000 00000003
       0000004c 'traf'
         00000014 'tfhd' 00020008 00000002 000003c0
         00000010 'tfdt' 00000000 0000bb80
         00000020 'trun' 00000201 ${sampleCount} 0000006c 00000001 00000001 00000001
     0000000b 'mdat' aabbcc`,
  );
}

/** A moof whose trun has no per-sample fields: durations (3000) and sizes (2) are tfhd defaults. */
function defaultsOnlyFragment(mdat = "0000000c 'mdat' 01020304", dataOffset = "00000064"): Uint8Array {
  return bin(
    `0000005c 'moof'
       00000010 'mfhd' 00000000 00000009
       00000044 'traf'
         00000018 'tfhd' 00020018 00000001 00000bb8 00000002
         00000010 'tfdt' 00000000 00000000
         00000014 'trun' 00000001 00000002 ${dataOffset}
     ${mdat}`,
  );
}

const NO_TFDT = bin(
  `0000005c 'moof'
     00000010 'mfhd' 00000000 00000009
     00000044 'traf'
       00000018 'tfhd' 00020018 00000001 00000bb8 00000002
       00000010 'free' 00000000 00000000
       00000014 'trun' 00000001 00000002 00000064
   0000000c 'mdat' 01020304`,
);

const STYP = FIRST.subarray(0, 24);

const NOTHING: SegmentScan = { fragments: [], validBytes: 0 };

/** `segment` (styp + moof + mdat from mediaSegment) with its tfdt baseMediaDecodeTime replaced by `hex`. */
function withTfdt(segment: Uint8Array, hex: string): Uint8Array {
  const bytes = segment.slice();
  // styp 24, moof header 8, mfhd 16, traf header 8, tfhd 16, tfdt header 8 + version/flags 4
  const at = 24 + 8 + 16 + 8 + 16 + 12;
  assert.equal(String.fromCharCode(...bytes.subarray(at - 8, at - 4)), "tfdt");
  bytes.set(bin(hex), at);
  return bytes;
}

const CASES: { name: string; bytes: Uint8Array; scan: SegmentScan }[] = [
  {
    name: "styp and two fragments written by mediaSegment and mediaFragment",
    bytes: concat([FIRST, SECOND]),
    scan: { fragments: TWO_FRAGMENTS, validBytes: 273 },
  },
  {
    name: "a fragment without a styp",
    bytes: SECOND,
    scan: { fragments: [{ ...TWO_FRAGMENTS[1]!, offset: 0 }], validBytes: 116 },
  },
  {
    name: "tfhd default_sample_duration stands in for durations the trun leaves out",
    bytes: defaultDurationFragment(),
    scan: {
      fragments: [
        {
          offset: 0,
          sizeBytes: 111,
          sequenceNumber: 3,
          baseDecodeTimeTicks: 48000,
          durationTicks: 2880,
          sampleCount: 3,
        },
      ],
      validBytes: 111,
    },
  },
  {
    name: "a trun without per-sample fields takes durations and sizes from the tfhd",
    bytes: defaultsOnlyFragment(),
    scan: {
      fragments: [
        { offset: 0, sizeBytes: 104, sequenceNumber: 9, baseDecodeTimeTicks: 0, durationTicks: 6000, sampleCount: 2 },
      ],
      validBytes: 104,
    },
  },
  {
    name: "an mdat with a 64-bit largesize (size 1)",
    bytes: defaultsOnlyFragment("00000001 'mdat' 00000000 00000014 01020304", "0000006c"),
    scan: {
      fragments: [
        { offset: 0, sizeBytes: 112, sequenceNumber: 9, baseDecodeTimeTicks: 0, durationTicks: 6000, sampleCount: 2 },
      ],
      validBytes: 112,
    },
  },
  {
    name: "bytes after the last complete fragment are not valid",
    bytes: concat([FIRST, SECOND, SECOND.subarray(0, 115)]),
    scan: { fragments: TWO_FRAGMENTS, validBytes: 273 },
  },
  { name: "no bytes", bytes: new Uint8Array(0), scan: NOTHING },
  { name: "a lone styp is no fragment", bytes: STYP, scan: NOTHING },
  { name: "a moof without its mdat", bytes: FIRST.subarray(0, 24 + 120), scan: NOTHING },
  {
    name: "a size 0 box (up to the end of the file) cannot be proven complete",
    bytes: concat([FIRST, SECOND, bin("00000000 'moof' 00000000")]),
    scan: { fragments: TWO_FRAGMENTS, validBytes: 273 },
  },
  {
    name: "an mdat of size 0 after its moof",
    bytes: concat([FIRST, SECOND.subarray(0, 104), bin("00000000 'mdat' 06070809")]),
    scan: { fragments: TWO_FRAGMENTS.slice(0, 1), validBytes: 157 },
  },
  {
    name: "a box of other type between fragments ends the scan",
    bytes: concat([FIRST, bin("00000008 'free'"), SECOND]),
    scan: { fragments: TWO_FRAGMENTS.slice(0, 1), validBytes: 157 },
  },
  {
    name: "a second styp ends the scan",
    bytes: concat([FIRST, STYP, SECOND]),
    scan: { fragments: TWO_FRAGMENTS.slice(0, 1), validBytes: 157 },
  },
  {
    name: "a moof followed by a box other than mdat",
    bytes: concat([FIRST.subarray(0, 144), bin("0000000d 'free' 0405060708")]),
    scan: NOTHING,
  },
  { name: "a traf without tfdt", bytes: NO_TFDT, scan: NOTHING },
  {
    name: "sample data that runs past the mdat",
    bytes: defaultsOnlyFragment("0000000b 'mdat' 010203"),
    scan: NOTHING,
  },
  {
    name: "sample data that starts before the mdat payload",
    bytes: defaultsOnlyFragment("0000000c 'mdat' 01020304", "00000060"),
    scan: NOTHING,
  },
  {
    name: "a trun sample_count far beyond its box",
    bytes: defaultDurationFragment("ffffffff"),
    scan: NOTHING,
  },
  {
    name: "a tfdt of 2^53 - 1 reads exactly",
    bytes: withTfdt(FIRST, "001fffff ffffffff"),
    scan: {
      fragments: [{ ...TWO_FRAGMENTS[0]!, baseDecodeTimeTicks: Number.MAX_SAFE_INTEGER }],
      validBytes: 157,
    },
  },
  { name: "a tfdt of 2^53 or more is rejected", bytes: withTfdt(FIRST, "00200000 00000000"), scan: NOTHING },
  {
    name: "a largesize at or above 2^53",
    bytes: concat([FIRST, bin("00000001 'moof' 00200000 00000000")]),
    scan: { fragments: TWO_FRAGMENTS.slice(0, 1), validBytes: 157 },
  },
  {
    name: "a largesize smaller than its 16-byte header",
    bytes: concat([FIRST, bin("00000001 'moof' 00000000 0000000f 00")]),
    scan: { fragments: TWO_FRAGMENTS.slice(0, 1), validBytes: 157 },
  },
  {
    name: "a box size smaller than its 8-byte header",
    bytes: concat([FIRST, bin("00000004 'moof' 00000000")]),
    scan: { fragments: TWO_FRAGMENTS.slice(0, 1), validBytes: 157 },
  },
];

for (const { name, bytes, scan } of CASES) {
  Deno.test(`scanSegment: ${name}`, () => {
    assert.deepEqual(scanSegment(bytes), scan);
    // The same bytes inside a larger buffer read the same (views honour byteOffset).
    const embedded = concat([bin("ff ff ff"), bytes, bin("ff")]).subarray(3, 3 + bytes.byteLength);
    assert.deepEqual(scanSegment(embedded), scan);
  });
}

/** A 2 s segment of 30 fps video from the Segmenter in 200 ms fragments, and the fragments it emitted. */
function segmenterSegment(): { bytes: Uint8Array; fragments: ScannedFragment[] } {
  const segmenter = new Segmenter({
    segmentDurationMs: 2000,
    fragmentDurationMs: 200,
    firstNumber: 1,
    video: { trackId: 1, timescale: 90000 },
  });
  const random = seededRandom(7);
  const outputs = Array.from(
    { length: 60 },
    (_, i) =>
      segmenter.pushVideo({
        dtsTicks: i * 3000,
        isKeyframe: i === 0,
        data: randomBytes(random, randomInt(random, 1, 60)),
      }),
  ).flat();
  outputs.push(...segmenter.flush());
  const parts: Uint8Array[] = [];
  const fragments: ScannedFragment[] = [];
  let offset = 0;
  for (const output of outputs) {
    if (output.type !== "fragment" || output.segmentNumber !== 1) continue;
    const stypBytes = parts.length === 0 ? 24 : 0;
    fragments.push({
      offset: offset + stypBytes,
      sizeBytes: output.bytes.byteLength - stypBytes,
      sequenceNumber: fragments.length + 1,
      baseDecodeTimeTicks: output.startTicks,
      durationTicks: output.durationTicks,
      sampleCount: output.samples.length,
    });
    parts.push(output.bytes);
    offset += output.bytes.byteLength;
  }
  return { bytes: concat(parts), fragments };
}

Deno.test("scanSegment finds exactly the fragments the Segmenter emitted for a segment", () => {
  const { bytes, fragments } = segmenterSegment();
  assert.equal(fragments.length, 10);
  assert.deepEqual(
    fragments.map((f) => [f.sequenceNumber, f.baseDecodeTimeTicks, f.durationTicks, f.sampleCount]),
    Array.from({ length: 10 }, (_, k) => [k + 1, k * 18000, 18000, 6]),
  );
  assert.deepEqual(scanSegment(bytes), { fragments, validBytes: bytes.byteLength });
});

Deno.test("scanSegment of every truncation keeps exactly the fragments that are complete", () => {
  const { bytes, fragments } = segmenterSegment();
  for (let length = 0; length <= bytes.byteLength; length++) {
    const complete = fragments.filter((f) => f.offset + f.sizeBytes <= length);
    const last = complete[complete.length - 1];
    const expected = { fragments: complete, validBytes: last === undefined ? 0 : last.offset + last.sizeBytes };
    assert.deepEqual(scanSegment(bytes.subarray(0, length)), expected, `cut at ${length}`);
  }
});

/** Asserts what holds for any input: fragments are back to back, inside the bytes, and end at validBytes. */
function assertWellFormed(bytes: Uint8Array, scan: SegmentScan, where: string): void {
  let end = scan.fragments[0]?.offset ?? 0;
  for (const fragment of scan.fragments) {
    assert.equal(fragment.offset, end, `${where}: fragments are back to back`);
    assert.ok(fragment.sizeBytes >= 16, `${where}: a fragment holds at least two box headers`);
    end = fragment.offset + fragment.sizeBytes;
  }
  assert.equal(scan.validBytes, scan.fragments.length === 0 ? 0 : end, `${where}: validBytes`);
  assert.ok(scan.validBytes <= bytes.byteLength, `${where}: within the input`);
}

Deno.test("scanSegment never throws on random bytes, box-shaped garbage or corrupted segments", () => {
  const random = seededRandom(2024);
  const { bytes: real } = segmenterSegment();
  const types = ["styp", "moof", "mdat", "mfhd", "traf", "tfhd", "tfdt", "trun", "free"];
  /** Box headers with hostile sizes (0, 1 with random largesize, tiny, huge), nested at random. */
  const boxSoup = (depth: number): Uint8Array => {
    const parts: Uint8Array[] = [];
    for (let i = randomInt(random, 0, 4); i > 0; i--) {
      const type = bin(`'${types[randomInt(random, 0, types.length - 1)]}'`);
      const body = depth > 0 && random() < 0.5 ? boxSoup(depth - 1) : randomBytes(random, randomInt(random, 0, 24));
      const roll = random();
      const size = roll < 0.6
        ? 8 + body.byteLength
        : roll < 0.7
        ? 0
        : roll < 0.8
        ? 1
        : randomInt(random, 0, 0xffff_ffff);
      const header = new DataView(new ArrayBuffer(size === 1 ? 16 : 8));
      header.setUint32(0, size);
      if (size === 1) {
        header.setUint32(8, random() < 0.5 ? 0 : randomInt(random, 0, 0xffff_ffff));
        header.setUint32(12, random() < 0.5 ? 16 + body.byteLength : randomInt(random, 0, 0xffff_ffff));
      }
      parts.push(new Uint8Array(header.buffer), type, body);
    }
    return concat(parts);
  };
  for (let i = 0; i < 3000; i++) {
    const kind = i % 3;
    let bytes: Uint8Array;
    if (kind === 0) {
      bytes = randomBytes(random, randomInt(random, 0, 300));
    } else if (kind === 1) {
      bytes = concat([real.subarray(0, randomInt(random, 0, real.byteLength)), boxSoup(3)]);
    } else {
      bytes = real.slice();
      for (let n = randomInt(random, 1, 8); n > 0; n--) {
        bytes[randomInt(random, 0, bytes.byteLength - 1)] = randomInt(random, 0, 255);
      }
    }
    assertWellFormed(bytes, scanSegment(bytes), `input ${i}`);
  }
});
