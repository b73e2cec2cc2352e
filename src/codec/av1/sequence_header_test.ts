/** Sequence headers from libaom (via ffmpeg) and hand-built ones for the branches encoders rarely take. */

import assert from "node:assert/strict";
import { av1CodecString, parseSequenceHeader, type SequenceHeader } from "./sequence_header.ts";
import { BitWriter } from "./testing.ts";
import { bin } from "../../shared/testing.ts";

const base: SequenceHeader = {
  seqProfile: 0,
  stillPicture: false,
  reducedStillPictureHeader: false,
  seqLevelIdx0: 0,
  seqTier0: 0,
  maxFrameWidthPx: 320,
  maxFrameHeightPx: 240,
  highBitdepth: false,
  twelveBit: false,
  bitDepth: 8,
  monochrome: false,
  subsamplingX: 1,
  subsamplingY: 1,
  chromaSamplePosition: 0,
  colorDescriptionPresent: false,
  colorPrimaries: 2,
  transferCharacteristics: 2,
  matrixCoefficients: 2,
  colorRange: 0,
};

const golden: { name: string; payload: string; header: SequenceHeader; codecs: string }[] = [
  {
    name: "libaom 320x240 8-bit 4:2:0",
    payload: "000000043cffbcdaf90040",
    header: base,
    codecs: "av01.0.00M.08",
  },
  {
    name: "libaom 320x240 10-bit 4:2:0",
    payload: "000000043cffbcdaf94040",
    header: { ...base, highBitdepth: true, bitDepth: 10 },
    codecs: "av01.0.00M.10",
  },
  {
    name: "libaom 192x108 monochrome, full range",
    payload: "00000003b5feb36be4a8",
    header: { ...base, maxFrameWidthPx: 192, maxFrameHeightPx: 108, monochrome: true, colorRange: 1 },
    codecs: "av01.0.00M.08.1.110.01.01.01.1",
  },
  {
    name: "libaom 192x108 High 4:4:4 BT.709 full range",
    payload: "20000003b5feb36be4808080c8",
    header: {
      ...base,
      seqProfile: 1,
      maxFrameWidthPx: 192,
      maxFrameHeightPx: 108,
      subsamplingX: 0,
      subsamplingY: 0,
      colorDescriptionPresent: true,
      colorPrimaries: 1,
      transferCharacteristics: 1,
      matrixCoefficients: 1,
      colorRange: 1,
    },
    codecs: "av01.1.00M.08.0.000.01.01.01.1",
  },
];

for (const c of golden) {
  Deno.test(`parseSequenceHeader reads ${c.name}`, () => {
    const header = parseSequenceHeader(bin(c.payload));
    assert.deepEqual(header, c.header);
    assert.equal(av1CodecString(header), c.codecs);
  });
}

/** Fields up to and including the operating points of a plain (not reduced) header with one operating point. */
function plainStart(w: BitWriter, seqProfile: number, seqLevelIdx: number): BitWriter {
  w.u(3, seqProfile).u(1, 0).u(1, 0); // seq_profile, still_picture, reduced_still_picture_header
  w.u(1, 0).u(1, 0).u(5, 0); // timing_info_present_flag, initial_display_delay_present_flag, op count - 1
  w.u(12, 0).u(5, seqLevelIdx); // operating_point_idc[0], seq_level_idx[0]
  if (seqLevelIdx > 7) w.u(1, 0); // seq_tier[0]
  return w;
}

/** Frame size 1920x1080 through enable_restoration, with every optional tool off. */
function plainMiddle(w: BitWriter): BitWriter {
  w.u(4, 10).u(4, 10).u(11, 1919).u(11, 1079); // frame_width/height_bits_minus_1, max_frame_width/height_minus_1
  w.u(1, 0); // frame_id_numbers_present_flag
  w.u(3, 0).u(4, 0); // superblock, filter intra, intra edge; interintra, masked, warped, dual filter
  w.u(1, 0).u(1, 1); // enable_order_hint, seq_choose_screen_content_tools
  w.u(1, 1); // seq_choose_integer_mv
  return w.u(3, 0); // enable_superres, enable_cdef, enable_restoration
}

Deno.test("parseSequenceHeader skips timing, decoder model, display delays and a second operating point", () => {
  const w = new BitWriter();
  w.u(3, 2).u(1, 0).u(1, 0); // seq_profile 2
  w.u(1, 1); // timing_info_present_flag
  w.u(32, 1001).u(32, 60000).u(1, 1).u(1, 1); // display tick, time_scale, equal_picture_interval, uvlc(0)
  w.u(1, 1); // decoder_model_info_present_flag
  w.u(5, 9).u(32, 90000).u(5, 31).u(5, 31); // buffer_delay_length_minus_1 = 9, decoding tick, removal/presentation
  w.u(1, 1).u(5, 1); // initial_display_delay_present_flag, operating_points_cnt_minus_1 = 1
  w.u(12, 0x303).u(5, 12).u(1, 1); // op 0: idc, seq_level_idx 12 (level 5.0), seq_tier 1
  w.u(1, 1).u(10, 500).u(10, 600).u(1, 0); // decoder_model_present_for_this_op, delays, low_delay_mode_flag
  w.u(1, 1).u(4, 9); // initial_display_delay_present_for_this_op, initial_display_delay_minus_1
  w.u(12, 0x101).u(5, 4); // op 1: level 3.0, no tier bit
  w.u(1, 0).u(1, 0); // no decoder model, no initial display delay for op 1
  w.u(4, 11).u(4, 11).u(12, 3839).u(12, 2159); // 3840x2160
  w.u(1, 1).u(4, 5).u(3, 2); // frame_id_numbers_present_flag, delta/additional frame id lengths
  w.u(3, 7).u(4, 15); // superblock..intra edge, interintra..dual filter
  w.u(1, 1).u(2, 3); // enable_order_hint, enable_jnt_comp, enable_ref_frame_mvs
  w.u(1, 0).u(1, 1); // seq_choose_screen_content_tools = 0, seq_force_screen_content_tools = 1
  w.u(1, 0).u(1, 1); // seq_choose_integer_mv = 0, seq_force_integer_mv = 1
  w.u(3, 6); // order_hint_bits_minus_1
  w.u(3, 7); // superres, cdef, restoration
  w.u(1, 1).u(1, 1).u(1, 0); // high_bitdepth, twelve_bit, mono_chrome
  w.u(1, 1).u(8, 9).u(8, 16).u(8, 9); // color description: BT.2020, PQ, BT.2020 non-constant
  w.u(1, 0).u(1, 1).u(1, 0); // color_range, subsampling_x = 1, subsampling_y = 0 (4:2:2)
  w.u(1, 0).u(1, 1); // separate_uv_delta_q, film_grain_params_present
  const header = parseSequenceHeader(w.bytes());
  assert.deepEqual(header, {
    ...base,
    seqProfile: 2,
    seqLevelIdx0: 12,
    seqTier0: 1,
    maxFrameWidthPx: 3840,
    maxFrameHeightPx: 2160,
    highBitdepth: true,
    twelveBit: true,
    bitDepth: 12,
    subsamplingX: 1,
    subsamplingY: 0,
    colorDescriptionPresent: true,
    colorPrimaries: 9,
    transferCharacteristics: 16,
    matrixCoefficients: 9,
    frameRate: 60000 / 1001,
  });
  assert.equal(av1CodecString(header), "av01.2.12H.12.0.100.09.16.09.0");
});

Deno.test("parseSequenceHeader reads a reduced still picture header", () => {
  const w = new BitWriter();
  w.u(3, 0).u(1, 1).u(1, 1).u(5, 8); // seq_profile, still_picture, reduced_still_picture_header, seq_level_idx[0]
  w.u(4, 7).u(4, 7).u(8, 99).u(8, 49); // 100x50
  w.u(3, 0).u(3, 0); // superblock..intra edge; superres, cdef, restoration
  w.u(1, 0).u(1, 0).u(1, 0).u(1, 1).u(2, 2).u(1, 0); // 8-bit, not mono, no colour description, range, csp 2
  w.u(1, 0); // film_grain_params_present
  const header = parseSequenceHeader(w.bytes());
  assert.deepEqual(header, {
    ...base,
    stillPicture: true,
    reducedStillPictureHeader: true,
    seqLevelIdx0: 8, // a reduced header has no seq_tier: it is 0
    maxFrameWidthPx: 100,
    maxFrameHeightPx: 50,
    colorRange: 1,
    chromaSamplePosition: 2,
  });
  assert.equal(av1CodecString(header), "av01.0.08M.08.0.112.01.01.01.1");
});

Deno.test("parseSequenceHeader infers 4:4:4 full range for sRGB with the identity matrix", () => {
  const w = plainMiddle(plainStart(new BitWriter(), 1, 9));
  w.u(1, 0); // high_bitdepth (profile 1 has no mono_chrome)
  w.u(1, 1).u(8, 1).u(8, 13).u(8, 0); // BT.709 primaries, sRGB transfer, identity matrix
  w.u(1, 0).u(1, 0); // separate_uv_delta_q, film_grain_params_present
  const header = parseSequenceHeader(w.bytes());
  assert.deepEqual(
    [header.seqLevelIdx0, header.seqTier0, header.colorRange, header.subsamplingX, header.subsamplingY],
    [9, 0, 1, 0, 0],
  );
  assert.equal(av1CodecString(header), "av01.1.09M.08.0.000.01.13.00.1");
});

Deno.test("parseSequenceHeader infers 4:2:2 for a 10-bit Professional profile stream", () => {
  const w = plainMiddle(plainStart(new BitWriter(), 2, 5));
  w.u(1, 1).u(1, 0).u(1, 0).u(1, 0); // high_bitdepth, twelve_bit = 0, mono_chrome, no colour description
  w.u(1, 0).u(1, 0).u(1, 0); // color_range, separate_uv_delta_q, film_grain_params_present
  const header = parseSequenceHeader(w.bytes());
  assert.deepEqual([header.bitDepth, header.subsamplingX, header.subsamplingY], [10, 1, 0]);
  assert.equal(av1CodecString(header), "av01.2.05M.10.0.100.01.01.01.0");
});

Deno.test("av1CodecString keeps the short form only for the binding's defaults", () => {
  assert.equal(av1CodecString(base), "av01.0.00M.08");
  assert.equal(av1CodecString({ ...base, seqLevelIdx0: 13, seqTier0: 1 }), "av01.0.13H.08");
  // An explicit BT.709 description is the default; a vertical chroma sample position is not.
  const bt709 = { colorDescriptionPresent: true, colorPrimaries: 1, transferCharacteristics: 1, matrixCoefficients: 1 };
  assert.equal(av1CodecString({ ...base, ...bt709 }), "av01.0.00M.08");
  assert.equal(av1CodecString({ ...base, chromaSamplePosition: 1 }), "av01.0.00M.08.0.111.01.01.01.0");
  assert.equal(av1CodecString({ ...base, ...bt709, colorPrimaries: 2 }), "av01.0.00M.08.0.110.02.01.01.0");
});

Deno.test("parseSequenceHeader rejects a reserved profile and every truncation", () => {
  assert.throws(() => parseSequenceHeader(bin("60 00 00 00")), {
    name: "BadRequestError",
    message: "invalid AV1 sequence header: seq_profile 3 is reserved",
  });
  // film_grain_params_present is the last field: without the trailing bits, any cut shows.
  const payload = bin(golden[0]!.payload);
  for (let length = 0; length < payload.length - 1; length++) {
    assert.throws(
      () => parseSequenceHeader(payload.subarray(0, length)),
      { name: "BadRequestError", message: /invalid AV1 sequence header: truncated while reading/ },
      `length ${length}`,
    );
  }
});
