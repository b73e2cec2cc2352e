/** Golden avcC records are the bytes ffmpeg's mp4 muxer writes for the same libx264 streams. */

import assert from "node:assert/strict";
import { avcDecoderConfigurationRecord } from "./avc_config.ts";
import { bin, toHex } from "../../shared/testing.ts";

const cases = [
  {
    name: "constrained baseline: no chroma/bit depth extension",
    sps: "6742c01fd9005005bb0110000003001000000303c0f1832480",
    pps: "68cb83cb20",
    avcC: "0142c01fffe100196742c01fd9005005bb0110000003001000000303c0f183248001000568cb83cb20",
  },
  {
    name: "High 4:2:0 8-bit: extension fd f8 f8 00",
    sps: "67640028acd940780227e5c044000003000400000300c83c60c658",
    pps: "68ebe3cb22c0",
    avcC: "01640028ffe1001b67640028acd940780227e5c044000003000400000300c83c60c65801000668ebe3cb22c0fdf8f800",
  },
  {
    name: "High 10: extension carries bit_depth_minus8 = 2",
    sps: "676e0020a6cd9405005beab011000003000100000300780f183196",
    pps: "68ebe3cb22c0",
    avcC: "016e0020ffe1001b676e0020a6cd9405005beab011000003000100000300780f18319601000668ebe3cb22c0fdfafa00",
  },
  {
    name: "High 4:2:2: extension carries chroma_format = 2",
    sps: "677a0028bcd940780227e27011000003000100000300320f183196",
    pps: "68ebe3cb22c0",
    avcC: "017a0028ffe1001b677a0028bcd940780227e27011000003000100000300320f18319601000668ebe3cb22c0fef8f800",
  },
  {
    // ffmpeg also appends the extension for profile 244; 14496-15 §5.3.3.1.2 lists only 100, 110, 122 and 144.
    name: "High 4:4:4 Predictive (244): no extension, as the spec's profile list says",
    sps: "67f4001e919b281b07bc5f80880000030008000003018078b16cb0",
    pps: "68ebe3c44844",
    avcC: "01f4001effe1001b67f4001e919b281b07bc5f80880000030008000003018078b16cb001000668ebe3c44844",
  },
];

for (const c of cases) {
  Deno.test(`avcDecoderConfigurationRecord writes ${c.name}`, () => {
    const record = avcDecoderConfigurationRecord([bin(c.sps)], [bin(c.pps)]);
    assert.deepEqual(toHex(record), c.avcC);
  });
}

Deno.test("avcDecoderConfigurationRecord lists several SPS and PPS with their counts", () => {
  const sps = bin(cases[0]!.sps);
  const pps = bin("68cb83cb20");
  const record = avcDecoderConfigurationRecord([sps, sps], [pps, pps, pps]);
  assert.deepEqual(record[5], 0xe2);
  assert.deepEqual(record[6 + 2 * (2 + sps.length)], 3);
  assert.deepEqual(record.length, 7 + 2 * (2 + sps.length) + 3 * (2 + pps.length));
});

Deno.test("avcDecoderConfigurationRecord rejects missing or mistyped parameter sets", () => {
  const sps = bin(cases[0]!.sps);
  const pps = bin("68cb83cb20");
  assert.throws(() => avcDecoderConfigurationRecord([], [pps]), {
    name: "BadRequestError",
    message: /needs 1 to 31 SPS NAL units, got 0/,
  });
  assert.throws(() => avcDecoderConfigurationRecord([sps], []), {
    name: "BadRequestError",
    message: /needs 1 to 255 PPS NAL units, got 0/,
  });
  assert.throws(
    () => avcDecoderConfigurationRecord([pps], [pps]),
    { name: "BadRequestError", message: /SPS list holds a NAL unit of type 8/ },
  );
  assert.throws(
    () => avcDecoderConfigurationRecord([sps], [sps]),
    { name: "BadRequestError", message: /PPS list holds a NAL unit of type 7/ },
  );
});

Deno.test("avcDecoderConfigurationRecord rejects an SPS that does not parse", () => {
  assert.throws(
    () => avcDecoderConfigurationRecord([bin("6764")], [bin("68ce")]),
    { name: "BadRequestError", message: /invalid SPS/ },
  );
});
