/** Golden tables for the box writers: hand-derived bytes, and the same bytes read back by mp4box.js. */

import assert from "node:assert/strict";
import { bin } from "../shared/testing.ts";
import { encode } from "./byte_writer.ts";
import {
  audioSampleEntry,
  dinf,
  ftyp,
  hdlr,
  mdat,
  mdatHeader,
  mdatHeaderSize,
  mdhd,
  mfhd,
  moof,
  mvhd,
  smhd,
  stsd,
  styp,
  tfdt,
  tfhd,
  tkhd,
  type TrackWithEntries,
  trex,
  trun,
  visualSampleEntry,
  vmhd,
} from "./boxes.ts";
import { INIT_BRANDS, SEGMENT_BRANDS } from "./fmp4.ts";
import type { Sample, TrackCodec } from "./track.ts";
import { AUDIO, avcTrackCodec, DOPS_STEREO, golden, opusTrackCodec, parseBox, VIDEO } from "./test_helpers.ts";

const MATRIX = "00010000 00000000 00000000 00000000 00010000 00000000 00000000 00000000 40000000";
const PRE_DEFINED_6 = "000000000000000000000000000000000000000000000000";

/** 5e9: past 2^32, so version 1 headers. */
const BEYOND_32_BITS = 5_000_000_000;

function sample(durationTicks: number, data: number[], isSync: boolean, ctsOffsetTicks = 0): Sample {
  return { durationTicks, ctsOffsetTicks, isSync, data: new Uint8Array(data) };
}

/** Two H.264 formats of one track: 320x240 Constrained Baseline, then 640x360 Main, each with a small avcC. */
const AVC_240P = avcTrackCodec(bin("01 42c01f ff e1 0001 67 01 0001 68"), 320, 240);
const AVC_360P = avcTrackCodec(bin("01 4d401e ff e1 0001 67 01 0001 68"), 640, 360);

/** The visual sample entries of AVC_240P and AVC_360P as visualSampleEntry writes them. */
const AVC_240P_ENTRY = `0000006b 'avc1' 000000000000 0001 0000 0000 000000000000000000000000 0140 00f0 00480000 00480000
  00000000 0001 0000000000000000000000000000000000000000000000000000000000000000 0018 ffff
  00000015 'avcC' 01 42c01f ff e1 0001 67 01 0001 68`;
const AVC_360P_ENTRY = `0000006b 'avc1' 000000000000 0001 0000 0000 000000000000000000000000 0280 0168 00480000 00480000
  00000000 0001 0000000000000000000000000000000000000000000000000000000000000000 0018 ffff
  00000015 'avcC' 01 4d401e ff e1 0001 67 01 0001 68`;

golden("ftyp", ftyp, [
  {
    name: "the init brands",
    input: INIT_BRANDS,
    bytes: bin("00000024 'ftyp' 'iso6' 00000000 'iso6' 'isom' 'cmfc' 'dash' 'mp41'"),
    fields: { major_brand: "iso6", compatible_brands: ["iso6", "isom", "cmfc", "dash", "mp41"] },
  },
]);

golden("styp", styp, [
  {
    name: "the segment brands",
    input: SEGMENT_BRANDS,
    bytes: bin("00000018 'styp' 'msdh' 00000000 'msdh' 'cmfs'"),
    fields: { major_brand: "msdh", compatible_brands: ["msdh", "cmfs"] },
  },
]);

golden("mvhd", mvhd, [
  {
    name: "timescale 1000, next track 2",
    input: { timescale: 1000, nextTrackId: 2 },
    bytes: bin(
      `0000006c 'mvhd' 00 000000 00000000 00000000 000003e8 00000000 00010000 0100 0000 00000000 00000000 ${MATRIX}
       ${PRE_DEFINED_6} 00000002`,
    ),
    fields: { timescale: 1000, duration: 0, next_track_id: 2 },
  },
  {
    name: "a 2.5 s movie at 1 kHz, version 0",
    input: { timescale: 1000, durationTicks: 2500, nextTrackId: 3 },
    bytes: bin(
      `0000006c 'mvhd' 00 000000 00000000 00000000 000003e8 000009c4 00010000 0100 0000 00000000 00000000 ${MATRIX}
       ${PRE_DEFINED_6} 00000003`,
    ),
    fields: { version: 0, timescale: 1000, duration: 2500, next_track_id: 3 },
  },
  {
    name: "a duration beyond 32 bits, version 1",
    input: { timescale: 1000, durationTicks: BEYOND_32_BITS, nextTrackId: 2 },
    bytes: bin(
      `00000078 'mvhd' 01 000000 0000000000000000 0000000000000000 000003e8 000000012a05f200
       00010000 0100 0000 00000000 00000000 ${MATRIX} ${PRE_DEFINED_6} 00000002`,
    ),
    fields: { version: 1, timescale: 1000, duration: BEYOND_32_BITS, next_track_id: 2 },
  },
]);

golden(
  "tkhd",
  (w, input: { info: TrackWithEntries; durationTicks?: number }) => tkhd(w, input.info, input.durationTicks),
  [
    {
      name: "a 1280x720 video track",
      input: { info: VIDEO },
      bytes: bin(
        `0000005c 'tkhd' 00 000003 00000000 00000000 00000001 00000000 00000000 00000000 00000000
       0000 0000 0000 0000 ${MATRIX} 05000000 02d00000`,
      ),
      fields: { flags: 3, track_id: 1, volume: 0 },
    },
    {
      name: "an audio track: volume 1.0, no size",
      input: { info: AUDIO },
      bytes: bin(
        `0000005c 'tkhd' 00 000003 00000000 00000000 00000002 00000000 00000000 00000000 00000000
       0000 0000 0100 0000 ${MATRIX} 00000000 00000000`,
      ),
      fields: { flags: 3, track_id: 2, width: 0, height: 0 },
    },
    {
      name: "a 2.5 s 1280x720 video track",
      input: { info: VIDEO, durationTicks: 2500 },
      bytes: bin(
        `0000005c 'tkhd' 00 000003 00000000 00000000 00000001 00000000 000009c4 00000000 00000000
       0000 0000 0000 0000 ${MATRIX} 05000000 02d00000`,
      ),
      fields: { version: 0, flags: 3, track_id: 1, duration: 2500, volume: 0 },
    },
    {
      name: "an audio track longer than 32 bits of the movie timescale, version 1",
      input: { info: AUDIO, durationTicks: BEYOND_32_BITS },
      bytes: bin(
        `00000068 'tkhd' 01 000003 0000000000000000 0000000000000000 00000002 00000000 000000012a05f200
       00000000 00000000 0000 0000 0100 0000 ${MATRIX} 00000000 00000000`,
      ),
      fields: { version: 1, track_id: 2, duration: BEYOND_32_BITS },
    },
    {
      name: "a video track that changes format: the last sample entry's size, 640x360",
      input: { info: { trackId: 1, timescale: 90000, codec: AVC_240P, sampleEntries: [AVC_240P, AVC_360P] } },
      bytes: bin(
        `0000005c 'tkhd' 00 000003 00000000 00000000 00000001 00000000 00000000 00000000 00000000
       0000 0000 0000 0000 ${MATRIX} 02800000 01680000`,
      ),
      fields: { track_id: 1, width: 640 * 0x1_0000, height: 360 * 0x1_0000 },
    },
  ],
);

golden(
  "mdhd",
  (w, input: { timescale: number; durationTicks?: number }) => mdhd(w, input.timescale, input.durationTicks),
  [
    {
      name: "90 kHz, language und",
      input: { timescale: 90000 },
      bytes: bin("00000020 'mdhd' 00 000000 00000000 00000000 00015f90 00000000 55c4 0000"),
      fields: { timescale: 90000, language: 0x55c4 },
    },
    {
      name: "48 kHz",
      input: { timescale: 48000 },
      bytes: bin("00000020 'mdhd' 00 000000 00000000 00000000 0000bb80 00000000 55c4 0000"),
      fields: { timescale: 48000 },
    },
    {
      name: "2 s at 90 kHz, version 0",
      input: { timescale: 90000, durationTicks: 180000 },
      bytes: bin("00000020 'mdhd' 00 000000 00000000 00000000 00015f90 0002bf20 55c4 0000"),
      fields: { version: 0, timescale: 90000, duration: 180000, language: 0x55c4 },
    },
    {
      name: "2^32 ticks (13.3 h at 90 kHz), version 1",
      input: { timescale: 90000, durationTicks: 0x1_0000_0000 },
      bytes: bin("0000002c 'mdhd' 01 000000 0000000000000000 0000000000000000 00015f90 0000000100000000 55c4 0000"),
      fields: { version: 1, timescale: 90000, duration: 0x1_0000_0000 },
    },
  ],
);

golden("hdlr", hdlr, [
  {
    name: "video",
    input: "vide",
    bytes: bin("0000002d 'hdlr' 00 000000 00000000 'vide' 000000000000000000000000 'VideoHandler' 00"),
    fields: { handler: "vide", name: "VideoHandler" },
  },
  {
    name: "sound",
    input: "soun",
    bytes: bin("0000002d 'hdlr' 00 000000 00000000 'soun' 000000000000000000000000 'SoundHandler' 00"),
    fields: { handler: "soun", name: "SoundHandler" },
  },
]);

golden("vmhd", (w) => vmhd(w), [
  {
    name: "copy mode, flags 1",
    input: null,
    bytes: bin("00000014 'vmhd' 00 000001 0000 000000000000"),
    fields: { flags: 1 },
  },
]);

golden("smhd", (w) => smhd(w), [
  { name: "centred", input: null, bytes: bin("00000010 'smhd' 00 000000 0000 0000"), fields: { balance: 0 } },
]);

golden("dinf", (w) => dinf(w), [
  {
    name: "one self-contained url entry",
    input: null,
    bytes: bin("00000024 'dinf' 0000001c 'dref' 00 000000 00000001 0000000c 'url ' 00 000001"),
  },
]);

golden("visual sample entry", visualSampleEntry, [
  {
    name: "avc1 320x240 with a small avcC",
    input: {
      sampleEntry: { fourcc: "avc1", config: { fourcc: "avcC", body: bin("01 42c01f ff e1 0001 67 01 0001 68") } },
      widthPx: 320,
      heightPx: 240,
    },
    bytes: bin(
      `0000006b 'avc1' 000000000000 0001 0000 0000 000000000000000000000000 0140 00f0 00480000 00480000 00000000 0001
       0000000000000000000000000000000000000000000000000000000000000000 0018 ffff
       00000015 'avcC' 01 42c01f ff e1 0001 67 01 0001 68`,
    ),
  },
]);

golden("audio sample entry", audioSampleEntry, [
  {
    name: "Opus stereo 48 kHz with dOps",
    input: {
      sampleEntry: { fourcc: "Opus", config: { fourcc: "dOps", body: DOPS_STEREO } },
      channels: 2,
      sampleRate: 48000,
    },
    bytes: bin(
      `00000037 'Opus' 000000000000 0001 0000000000000000 0002 0010 0000 0000 bb800000
       00000013 'dOps' 00 02 0138 0000bb80 0000 00`,
    ),
  },
]);

golden("stsd", stsd, [
  {
    name: "one entry, as a CMAF header has",
    input: [AVC_240P],
    bytes: bin(`0000007b 'stsd' 00 000000 00000001 ${AVC_240P_ENTRY}`),
  },
  {
    name: "two entries of one track, 320x240 then 640x360, in the order given",
    input: [AVC_240P, AVC_360P],
    bytes: bin(`000000e6 'stsd' 00 000000 00000002 ${AVC_240P_ENTRY} ${AVC_360P_ENTRY}`),
  },
]);

Deno.test("stsd with two entries reads back with mp4box.js as both sample entries, each with its avcC", () => {
  const opusMono = opusTrackCodec(bin("00 01 0138 0000bb80 0000 00"), 1);
  const cases: { entries: TrackCodec[]; expected: unknown[] }[] = [
    {
      entries: [AVC_240P, AVC_360P],
      expected: [
        { type: "avc1", width: 320, height: 240, profile: 0x42 },
        { type: "avc1", width: 640, height: 360, profile: 0x4d },
      ],
    },
    {
      entries: [AUDIO.codec, opusMono],
      expected: [{ type: "Opus", channels: 2, rate: 48000 }, { type: "Opus", channels: 1, rate: 48000 }],
    },
  ];
  for (const { entries, expected } of cases) {
    const parsed = parseBox(encode((w) => stsd(w, entries)));
    const read = (parsed["entries"] as Record<string, unknown>[]).map((entry) => {
      if (entry["type"] === "avc1") {
        const avcC = entry["avcC"] as Record<string, unknown>;
        return {
          type: entry["type"],
          width: entry["width"],
          height: entry["height"],
          profile: avcC["AVCProfileIndication"],
        };
      }
      return { type: entry["type"], channels: entry["channel_count"], rate: entry["samplerate"] };
    });
    assert.deepEqual(read, expected);
  }
});

golden("trex", trex, [
  {
    name: "track 2, description 1, no defaults",
    input: 2,
    bytes: bin("00000020 'trex' 00 000000 00000002 00000001 00000000 00000000 00000000"),
    fields: { track_id: 2, default_sample_description_index: 1, default_sample_flags: 0 },
  },
]);

golden("mfhd", mfhd, [
  { name: "sequence 1", input: 1, bytes: bin("00000010 'mfhd' 00 000000 00000001"), fields: { sequence_number: 1 } },
  {
    name: "sequence 2^32 - 1",
    input: 0xffff_ffff,
    bytes: bin("00000010 'mfhd' 00 000000 ffffffff"),
    fields: { sequence_number: 0xffff_ffff },
  },
]);

golden("tfhd", (w, input: { trackId: number; sampleDescriptionIndex?: number }) => {
  tfhd(w, input.trackId, input.sampleDescriptionIndex);
}, [
  {
    name: "default-base-is-moof, track 1",
    input: { trackId: 1 },
    bytes: bin("00000010 'tfhd' 00 020000 00000001"),
    fields: { flags: 0x020000, track_id: 1 },
  },
  {
    name: "sample description 1, trex's default: no field, as without one",
    input: { trackId: 1, sampleDescriptionIndex: 1 },
    bytes: bin("00000010 'tfhd' 00 020000 00000001"),
    fields: { flags: 0x020000, track_id: 1 },
  },
  {
    name: "sample description 2: sample-description-index-present and the index",
    input: { trackId: 1, sampleDescriptionIndex: 2 },
    bytes: bin("00000014 'tfhd' 00 020002 00000001 00000002"),
    fields: { flags: 0x020002, track_id: 1, default_sample_description_index: 2 },
  },
]);

golden("tfdt", tfdt, [
  {
    name: "zero",
    input: 0,
    bytes: bin("00000014 'tfdt' 01 000000 0000000000000000"),
    fields: { version: 1, baseMediaDecodeTime: 0 },
  },
  {
    name: "beyond 32 bits (a day at 90 kHz is 7.8e9)",
    input: 7_776_000_000,
    bytes: bin("00000014 'tfdt' 01 000000 00000001 cf7c5800"),
    fields: { version: 1, baseMediaDecodeTime: 7_776_000_000 },
  },
  {
    name: "2^53 - 1",
    input: Number.MAX_SAFE_INTEGER,
    bytes: bin("00000014 'tfdt' 01 000000 001fffff ffffffff"),
  },
]);

golden("trun", trun, [
  {
    name: "no samples",
    input: { dataOffset: 0, samples: [] },
    bytes: bin("00000014 'trun' 01 000f01 00000000 00000000"),
    fields: { sample_count: 0 },
  },
  {
    name: "a sync and a non-sync sample with a negative cts offset",
    input: { dataOffset: 0x70, samples: [sample(3000, [1, 2, 3], true), sample(3003, [4], false, -1)] },
    bytes: bin(
      `00000034 'trun' 01 000f01 00000002 00000070
       00000bb8 00000003 02000000 00000000
       00000bbb 00000001 01010000 ffffffff`,
    ),
    fields: {
      version: 1,
      flags: 0xf01,
      sample_count: 2,
      data_offset: 0x70,
      sample_duration: [3000, 3003],
      sample_size: [3, 1],
      sample_flags: [0x0200_0000, 0x0101_0000],
      sample_composition_time_offset: [0, -1],
    },
  },
]);

golden("mdat", mdat, [
  { name: "empty", input: [], bytes: bin("00000008 'mdat'") },
  {
    name: "samples back to back",
    input: [sample(1, [1, 2, 3], true), sample(1, [4], false)],
    bytes: bin("0000000c 'mdat' 01020304"),
  },
]);

golden("mdatHeader", mdatHeader, [
  { name: "a 32-bit size", input: 4, bytes: bin("0000000c 'mdat'") },
  {
    name: "a largesize once the box passes 2^32 - 1 bytes",
    input: 0xffff_fff8,
    bytes: bin("00000001 'mdat' 00000001 00000008"),
  },
], { wholeBox: false });

golden("moof", moof, [
  {
    name: "one Opus sample",
    input: {
      sequenceNumber: 5,
      trackId: 2,
      baseDecodeTimeTicks: 960,
      dataOffset: 112,
      samples: [sample(960, [9, 9], true)],
    },
    bytes: bin(
      `00000068 'moof'
         00000010 'mfhd' 00 000000 00000005
         00000050 'traf'
           00000010 'tfhd' 00 020000 00000002
           00000014 'tfdt' 01 000000 00000000 000003c0
           00000024 'trun' 01 000f01 00000001 00000070 000003c0 00000002 02000000 00000000`,
    ),
  },
  {
    name: "one frame of a track's second sample entry",
    input: {
      sequenceNumber: 7,
      trackId: 1,
      sampleDescriptionIndex: 2,
      baseDecodeTimeTicks: 3000,
      dataOffset: 116,
      samples: [sample(3000, [1, 2, 3], true)],
    },
    bytes: bin(
      `0000006c 'moof'
         00000010 'mfhd' 00 000000 00000007
         00000054 'traf'
           00000014 'tfhd' 00 020002 00000001 00000002
           00000014 'tfdt' 01 000000 00000000 00000bb8
           00000024 'trun' 01 000f01 00000001 00000074 00000bb8 00000003 02000000 00000000`,
    ),
  },
]);

Deno.test("mdatHeaderSize switches to a 64-bit largesize only past 2^32 - 1 bytes", () => {
  assert.equal(mdatHeaderSize(0), 8);
  assert.equal(mdatHeaderSize(0xffff_fff7), 8);
  assert.equal(mdatHeaderSize(0xffff_fff8), 16);
});
