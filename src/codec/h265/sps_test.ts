/**
 * Golden SPS from libx265 (via ffmpeg 5.1) and one hand-built SPS that exercises the syntax x265 never writes
 * (sub-layer profiles, scaling lists, predicted reference picture sets, long-term pictures, a full VUI), checked
 * with ffmpeg's trace_headers bitstream filter, which parsed it to its rbsp_stop_one_bit.
 */

import assert from "node:assert/strict";
import { BadRequestError } from "../../shared/errors.ts";
import { hevcCodecString, parseSps, type ProfileTierLevel, type Sps } from "./sps.ts";
import { bin, randomBytes, seededRandom } from "../../shared/testing.ts";

interface SpsCase {
  name: string;
  hex: string;
  sps: Sps;
  codecs: string;
}

const main: ProfileTierLevel = {
  profileSpace: 0,
  highTier: false,
  profileIdc: 1,
  compatibilityFlags: 0x60000000,
  constraintIndicatorFlags: bin("90 00 00 00 00 00"),
  levelIdc: 60,
};
const rext = { ...main, profileIdc: 4, compatibilityFlags: 0x08000000 };
const base = { maxSubLayers: 1, temporalIdNesting: true, chromaFormatIdc: 1, bitDepthLuma: 8, bitDepthChroma: 8 };

const SPS_CASES: SpsCase[] = [
  {
    name: "x265 Main 320x240 level 2 at 30 fps",
    hex: "42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003003c10",
    sps: { ...base, profileTierLevel: main, widthPx: 320, heightPx: 240, frameRate: 30 },
    codecs: "hvc1.1.6.L60.90",
  },
  {
    name: "x265 Main 10 318x178 (conformance window on both axes) at 25 fps",
    hex: "42010102200000030090000003000003003ca00a080b9d48d96566924caf016808000003000800000300c840",
    sps: {
      ...base,
      profileTierLevel: { ...main, profileIdc: 2, compatibilityFlags: 0x20000000 },
      bitDepthLuma: 10,
      bitDepthChroma: 10,
      widthPx: 318,
      heightPx: 178,
      frameRate: 25,
    },
    codecs: "hvc1.2.4.L60.90",
  },
  {
    name: "x265 Main 4:2:2 10 200x120 at 24 fps (two constraint bytes)",
    hex: "4201010408000003009d0800000300003cb0192079365959a4932bc05a020000030002000003003010",
    sps: {
      ...base,
      profileTierLevel: { ...rext, constraintIndicatorFlags: bin("9d 08 00 00 00 00") },
      chromaFormatIdc: 2,
      bitDepthLuma: 10,
      bitDepthChroma: 10,
      widthPx: 200,
      heightPx: 120,
      frameRate: 24,
    },
    codecs: "hvc1.4.10.L60.9D.8",
  },
  {
    name: "x265 Main 4:4:4 160x96 at 50 fps",
    hex: "4201010408000003009e0800000300003c9002840c2cb2b349265780b404000003000400000300c820",
    sps: {
      ...base,
      profileTierLevel: { ...rext, constraintIndicatorFlags: bin("9e 08 00 00 00 00") },
      chromaFormatIdc: 3,
      widthPx: 160,
      heightPx: 96,
      frameRate: 50,
    },
    codecs: "hvc1.4.10.L60.9E.8",
  },
  {
    name: "x265 monochrome 160x96 level 1",
    hex: "4201010408000003009fc800000300001ec050818596566924caf016c080000003008000000f04",
    sps: {
      ...base,
      profileTierLevel: { ...rext, constraintIndicatorFlags: bin("9f c8 00 00 00 00"), levelIdc: 30 },
      chromaFormatIdc: 0,
      widthPx: 160,
      heightPx: 96,
      frameRate: 30,
    },
    codecs: "hvc1.4.10.L30.9F.C8",
  },
  {
    name: "x265 with two temporal sub-layers (reserved PTL bits, no temporal id nesting)",
    hex: "42010201600000030090000003000003003c0000a01620245965662b349265780b4040000003004000000782",
    sps: {
      ...base,
      profileTierLevel: main,
      maxSubLayers: 2,
      temporalIdNesting: false,
      widthPx: 176,
      heightPx: 144,
      frameRate: 30,
    },
    codecs: "hvc1.1.6.L60.90",
  },
  {
    name: "x265 at 30000/1001 fps with HRD parameters after the timing info",
    hex: "42010101600000030090000003000003003ca0162024596566924caf01680800001f480003a98300a6837000f420003d0910",
    sps: { ...base, profileTierLevel: main, widthPx: 176, heightPx: 144, frameRate: 30000 / 1001 },
    codecs: "hvc1.1.6.L60.90",
  },
  {
    // Main 10, High tier, level 4.1; sub-layer 0 with profile and level; 1928x1088 cropped by (2+2)*2 and 4*2;
    // scaling_list_data with explicit and predicted lists; PCM; three short-term RPS, the second and third predicted,
    // the second dropping a candidate whose delta POC is 0 (7-61), so the third codes 3 flag groups, not 4;
    // two long-term pictures; VUI with SAR, overscan, colour description, chroma location, default display window
    // and timing 60000/1001.
    name: "hand-built SPS with every optional structure before the VUI timing",
    hex: "420102222000000300b0000003000003007bc000222000000300b00000030000030078a003c4801106dcad94579244b6d269" +
      "349a4d26569349a4d26932b49a4d269349da4d269349a4d269349a4d269349a4d269349a4d269349a4cad269349a4d2693" +
      "49a4d269349a4d269349a4d269349a4d26569349a4d269349a4d269349a4d269349a4d269349a4d2693261069349a4d26934" +
      "9a4d269349a4d269349a4d269349a4d26932841a4d269349a4d269349a4d269349a4d269349a4d269349a4ca1069349a4d2" +
      "69349a4d269349a4d269349a4d269349a4d2693841a4d269349a4d269349a4d269349a4d269349a4d269349a4cbbbd08d6b" +
      "5a74cb11e43ffc0010000ed4244026d9a642c00000fa40003a9802",
    sps: {
      ...base,
      profileTierLevel: {
        ...main,
        highTier: true,
        profileIdc: 2,
        compatibilityFlags: 0x20000000,
        constraintIndicatorFlags: bin("b0 00 00 00 00 00"),
        levelIdc: 123,
      },
      maxSubLayers: 2,
      temporalIdNesting: false,
      bitDepthLuma: 10,
      bitDepthChroma: 10,
      widthPx: 1920,
      heightPx: 1080,
      frameRate: 60000 / 1001,
    },
    codecs: "hvc1.2.4.H123.B0",
  },
];

for (const { name, hex, sps, codecs } of SPS_CASES) {
  Deno.test(`parseSps reads ${name}`, () => {
    const parsed = parseSps(bin(hex));
    assert.deepEqual(parsed, sps);
    assert.equal(hevcCodecString(parsed.profileTierLevel), codecs);
  });
}

Deno.test("hevcCodecString follows the examples of ISO/IEC 14496-15 Annex E", () => {
  const ptl = (fields: Partial<ProfileTierLevel>): ProfileTierLevel => ({ ...main, ...fields });
  // Main, all constraint bytes zero: the constraint element is left out entirely.
  assert.equal(hevcCodecString(ptl({ levelIdc: 93, constraintIndicatorFlags: new Uint8Array(6) })), "hvc1.1.6.L93");
  assert.equal(
    hevcCodecString(ptl({ levelIdc: 93, constraintIndicatorFlags: bin("b0 00 00 00 00 00") })),
    "hvc1.1.6.L93.B0",
  );
  assert.equal(
    hevcCodecString(ptl({
      profileSpace: 1,
      profileIdc: 4,
      compatibilityFlags: 0x82000000,
      highTier: true,
      levelIdc: 120,
      constraintIndicatorFlags: bin("b0 23 00 00 00 00"),
    })),
    "hvc1.A4.41.H120.B0.23",
  );
  assert.equal(
    hevcCodecString(ptl({
      profileSpace: 2,
      compatibilityFlags: 0xf77db57b, // bit-reversed: 0xdeadbeef
      highTier: true,
      levelIdc: 254,
      constraintIndicatorFlags: bin("12 34 56 78 9a bc"),
    })),
    "hvc1.B1.DEADBEEF.H254.12.34.56.78.9A.BC",
  );
});

Deno.test("parseSps takes the size and profile of an SPS whose tail is unreadable, without a frame rate", () => {
  const full = bin(SPS_CASES[0]!.hex);
  // 24 of 42 bytes: past the bit depths, far from the VUI timing info.
  const cut = parseSps(full.subarray(0, 24));
  assert.equal(cut.widthPx, 320);
  assert.equal(cut.frameRate, undefined);
});

Deno.test("parseSps rejects what is not a base-layer SPS, naming the problem", () => {
  assert.throws(() => parseSps(bin("4401c172b46240")), /not an SPS/);
  assert.throws(() => parseSps(bin("4209 0101 6000 0003")), /nuh_layer_id 1/);
  assert.throws(() => parseSps(bin("c201 0101")), /not an SPS/);
  assert.throws(() => parseSps(bin("4201")), /too short/);
  assert.throws(
    () => parseSps(bin(SPS_CASES[0]!.hex).subarray(0, 12)),
    /truncated while reading general_constraint_indicator_flags/,
  );
});

Deno.test("parseSps rejects a conformance window that crops the whole picture", () => {
  // 16x16 luma samples with conf_win_left_offset 4 and right 4 (in 2-sample units): 0 pixels wide.
  const sps = bin("42010101600000030090000003000003003ca0884652fc");
  assert.throws(() => parseSps(sps), (error) => error instanceof BadRequestError && /leave 0x16/.test(error.message));
});

Deno.test("parseSps throws only BadRequestError on random bytes after a valid header", () => {
  const random = seededRandom(265);
  for (let i = 0; i < 2000; i++) {
    const sps = new Uint8Array([0x42, 0x01, ...randomBytes(random, Math.floor(random() * 40))]);
    try {
      parseSps(sps);
    } catch (error) {
      assert.ok(error instanceof BadRequestError, `seed 265 case ${i}: ${error}`);
    }
  }
});
