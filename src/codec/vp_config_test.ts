/** The vpcC record, level table and codecs string of the VP Codec ISO Media File Format Binding. */

import assert from "node:assert/strict";
import { vpcCBody, type VpCodecConfiguration, vpCodecString, vpLevelForSize } from "./vp_config.ts";
import { toHex } from "../shared/testing.ts";

const hdr: VpCodecConfiguration = {
  profile: 2,
  level: 10,
  bitDepth: 10,
  chromaSubsampling: 1,
  videoFullRangeFlag: 1,
  colourPrimaries: 9,
  transferCharacteristics: 16,
  matrixCoefficients: 9,
};

Deno.test("vpcCBody writes FullBox version 1, the record's fields and no initialization data", () => {
  // The binding's own example, "vp09.02.10.10.01.09.16.09.01": bitDepth 10 << 4 | chroma 1 << 1 | full range 1 = a3.
  assert.deepEqual(toHex(vpcCBody(hdr)), "01000000" + "02" + "0a" + "a3" + "09" + "10" + "09" + "0000");
});

Deno.test("vpCodecString writes the mandatory fields as two-digit decimals", () => {
  assert.deepEqual(vpCodecString("vp09", hdr), "vp09.02.10.10");
  assert.deepEqual(vpCodecString("vp08", { ...hdr, profile: 0, level: 31, bitDepth: 8 }), "vp08.00.31.08");
});

Deno.test("vpcCBody refuses values its fields cannot hold, naming them", () => {
  const cases: [Partial<VpCodecConfiguration>, RegExp][] = [
    [{ profile: 4 }, /profile must be between 0 and 3, got 4/],
    [{ bitDepth: 9 }, /bitDepth must be 8, 10 or 12, got 9/],
    [{ chromaSubsampling: 4 }, /chromaSubsampling must be between 0 and 3, got 4/],
    [{ videoFullRangeFlag: 2 }, /videoFullRangeFlag must be between 0 and 1, got 2/],
    [{ matrixCoefficients: 256 }, /matrixCoefficients must be between 0 and 255, got 256/],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => vpcCBody({ ...hdr, ...change }), { name: "BadRequestError", message });
  }
});

Deno.test("vpLevelForSize picks the lowest level whose picture size and breadth hold the frame", () => {
  const cases: [number, number, number][] = [
    [192, 192, 10], // 36864 samples: the level 1 limit
    [193, 192, 11],
    [320, 240, 20],
    [640, 360, 21],
    [854, 480, 30],
    [1280, 720, 31],
    [1920, 1080, 40], // levels 4 and 4.1 differ in sample rate only: the lower one
    [3840, 2160, 50],
    [8192, 4352, 60],
    [600, 50, 11], // 30000 samples fit level 1, but 600 is wider than its 512
    [1920, 100, 30], // ffmpeg says 21: it ignores the breadth limit
    [16_384, 16_384, 0], // larger than level 6.2
  ];
  for (const [widthPx, heightPx, level] of cases) {
    assert.deepEqual(vpLevelForSize(widthPx, heightPx), level, `${widthPx}x${heightPx}`);
  }
});
