/** Golden SPS from libx264 (via ffmpeg) and hand-built SPS checked with ffmpeg's trace_headers. */

import assert from "node:assert/strict";
import { BadRequestError } from "../../shared/errors.ts";
import { avcCodecString, parseSps, type Sps } from "./sps.ts";
import { bin, randomBytes, seededRandom } from "../../shared/testing.ts";

interface SpsCase {
  name: string;
  hex: string;
  sps: Sps;
  codec: string;
}

const base = { chromaFormatIdc: 1, bitDepthLuma: 8, bitDepthChroma: 8 };

const SPS_CASES: SpsCase[] = [
  {
    name: "x264 constrained baseline 640x360 level 3.0 (cropped height, emulation prevention)",
    hex: "6742c01ed900a02ff970110000030001000003003c0f162e48",
    sps: { ...base, profileIdc: 66, constraintFlags: 0xc0, levelIdc: 30, widthPx: 640, heightPx: 360, frameRate: 30 },
    codec: "avc1.42c01e",
  },
  {
    name: "x264 constrained baseline 1280x720 level 3.1",
    hex: "6742c01fd9005005bb0110000003001000000303c0f1832480",
    sps: { ...base, profileIdc: 66, constraintFlags: 0xc0, levelIdc: 31, widthPx: 1280, heightPx: 720, frameRate: 30 },
    codec: "avc1.42c01f",
  },
  {
    name: "x264 High 1920x1080 level 4.0 (8 lines cropped) at 25 fps",
    hex: "67640028acd940780227e5c044000003000400000300c83c60c658",
    sps: { ...base, profileIdc: 100, constraintFlags: 0, levelIdc: 40, widthPx: 1920, heightPx: 1080, frameRate: 25 },
    codec: "avc1.640028",
  },
  {
    name: "x264 High interlaced 1920x1080 (field macroblocks, crop unit 4 lines)",
    hex: "67640028acd94078044fde022000007d20001d4c03e2c5b2c0",
    sps: {
      ...base,
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 40,
      widthPx: 1920,
      heightPx: 1080,
      frameRate: 60000 / 2002,
    },
    codec: "avc1.640028",
  },
  {
    name: "x264 High 10 1278x718 (odd crop)",
    hex: "676e0020a6cd9405005beab011000003000100000300780f183196",
    sps: {
      ...base,
      bitDepthLuma: 10,
      bitDepthChroma: 10,
      profileIdc: 110,
      constraintFlags: 0,
      levelIdc: 32,
      widthPx: 1278,
      heightPx: 718,
      frameRate: 60,
    },
    codec: "avc1.6e0020",
  },
  {
    name: "x264 High 4:2:2 1920x1080 (crop unit 1 line)",
    hex: "677a0028bcd940780227e27011000003000100000300320f183196",
    sps: {
      ...base,
      chromaFormatIdc: 2,
      profileIdc: 122,
      constraintFlags: 0,
      levelIdc: 40,
      widthPx: 1920,
      heightPx: 1080,
      frameRate: 25,
    },
    codec: "avc1.7a0028",
  },
  {
    name: "x264 High 4:4:4 Predictive 854x480 (crop unit 1 pixel)",
    hex: "67f4001e919b281b07bc5f80880000030008000003018078b16cb0",
    sps: {
      ...base,
      chromaFormatIdc: 3,
      profileIdc: 244,
      constraintFlags: 0,
      levelIdc: 30,
      widthPx: 854,
      heightPx: 480,
      frameRate: 24,
    },
    codec: "avc1.f4001e",
  },
  {
    name: "hand-built High with scaling lists, pic_order_cnt_type 1, extended SAR and full VUI before timing",
    hex: "67640028add3214c7102450b183470f0842214d34d34d34d34d34d34d34d34d34d34d34d34d34d34d34d350a6699405005bb" +
      "ff000400036a020203e0000003002000000c9080",
    sps: { ...base, profileIdc: 100, constraintFlags: 0, levelIdc: 40, widthPx: 1280, heightPx: 720, frameRate: 50 },
    codec: "avc1.640028",
  },
  {
    name: "hand-built High monochrome interlaced with cropping (crop units 1 x 2), no VUI",
    hex: "6764001e2736c08c53c922",
    sps: {
      ...base,
      chromaFormatIdc: 0,
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 30,
      widthPx: 557,
      heightPx: 314,
    },
    codec: "avc1.64001e",
  },
  {
    name: "hand-built High 4:4:4 10-bit with separate colour planes (crop units 1 x 1)",
    hex: "67f4001f92d9680a03dd3215",
    sps: {
      chromaFormatIdc: 3,
      bitDepthLuma: 10,
      bitDepthChroma: 10,
      profileIdc: 244,
      constraintFlags: 0,
      levelIdc: 31,
      widthPx: 637,
      heightPx: 473,
    },
    codec: "avc1.f4001f",
  },
];

for (const c of SPS_CASES) {
  Deno.test(`parseSps decodes ${c.name}`, () => {
    const sps = parseSps(bin(c.hex));
    assert.deepEqual(sps, c.sps);
    assert.deepEqual(avcCodecString(sps), c.codec);
  });
}

Deno.test("parseSps leaves frameRate out when the VUI has no timing info", () => {
  const sps = parseSps(bin("6764001e2736c08c53c922"));
  assert.deepEqual("frameRate" in sps, false);
});

Deno.test("parseSps rejects a NAL unit that is not an SPS", () => {
  assert.throws(() => parseSps(bin("68cb83cb20")), { name: "BadRequestError", message: /not an SPS/ });
});

Deno.test("parseSps names the field where a truncated SPS ends", () => {
  const full = bin(SPS_CASES[2]!.hex);
  assert.throws(
    () => parseSps(full.subarray(0, 8)),
    { name: "BadRequestError", message: /invalid SPS: truncated while reading pic_height_in_map_units_minus1/ },
  );
});

Deno.test("parseSps rejects an out-of-range chroma_format_idc", () => {
  // profile 100, seq_parameter_set_id 0, chroma_format_idc ue = 4 (00101), then padding.
  const bytes = bin("67640028" + "94" + "ffffffff");
  assert.throws(() => parseSps(bytes), {
    name: "BadRequestError",
    message: /chroma_format_idc must be between 0 and 3, got 4/,
  });
});

Deno.test("parseSps rejects cropping that removes the whole picture", () => {
  // Baseline, 1x1 macroblock, crop left 8 (units of 2 pixels): width 16 - 16 = 0.
  // 1 sps_id | 1 log2_max_frame_num | 1 poc_type | 1 lsb | 1 max_refs | 0 gaps | 1 w | 1 h | 1 frame_mbs_only
  // | 1 direct_8x8 | 1 cropping | 0001001 left=8 | 1 right | 1 top | 1 bottom | 0 vui | 1 stop
  const bits = "1111101111" + "1" + "0001001" + "111" + "0" + "1";
  assert.throws(() => parseSps(bin("6742c01e" + bitsToHex(bits))), {
    name: "BadRequestError",
    message: /leaves 0x16 pixels/,
  });
});

Deno.test("parseSps throws only BadRequestError on random bytes", () => {
  const random = seededRandom(7);
  let parsed = 0;
  for (let i = 0; i < 20_000; i++) {
    const length = Math.floor(random() * 40);
    const bytes = randomBytes(random, length);
    if (length > 0 && random() < 0.8) bytes[0] = 0x67;
    if (length > 1 && random() < 0.5) bytes[1] = [66, 77, 100, 110, 122, 244][Math.floor(random() * 6)]!;
    try {
      const sps = parseSps(bytes);
      assert(sps.widthPx > 0 && sps.heightPx > 0);
      parsed++;
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
    }
  }
  assert(parsed > 0, "some random inputs should parse, or the test does not reach the deep fields");
});

Deno.test("avcCodecString pads each byte to two lowercase hex digits", () => {
  assert.deepEqual(avcCodecString({ profileIdc: 66, constraintFlags: 0xe0, levelIdc: 9 }), "avc1.42e009");
  assert.deepEqual(avcCodecString({ profileIdc: 77, constraintFlags: 0x40, levelIdc: 0x1f }), "avc1.4d401f");
});

function bitsToHex(bits: string): string {
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, "0");
  return (padded.match(/.{8}/g) ?? []).map((byte) => parseInt(byte, 2).toString(16).padStart(2, "0")).join("");
}
