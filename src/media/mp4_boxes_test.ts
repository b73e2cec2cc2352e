/** Golden tables for the progressive MP4 box writers: hand-derived bytes, and the same bytes read back by mp4box.js. */

import { bin } from "../shared/testing.ts";
import { mdhd, mvhd, tkhd } from "./boxes.ts";
import { co64, ctts, edts, elst, mdatHeader, stco, stsc, stss, stsz, stts } from "./mp4_boxes.ts";
import type { TrackInfo } from "./track.ts";
import { AVCC_720P, DOPS_STEREO, golden } from "./test_helpers.ts";

const MATRIX = "00010000 00000000 00000000 00000000 00010000 00000000 00000000 00000000 40000000";
const PRE_DEFINED_6 = "000000000000000000000000000000000000000000000000";

/** 5e9: past 2^32, so version 1 boxes and co64. */
const BEYOND_32_BITS = 5_000_000_000;

const VIDEO: TrackInfo = {
  trackId: 1,
  timescale: 90000,
  codec: { kind: "avc", avcC: AVCC_720P, widthPx: 1280, heightPx: 720 },
};
const AUDIO: TrackInfo = {
  trackId: 2,
  timescale: 48000,
  codec: { kind: "opus", dOps: DOPS_STEREO, channels: 2, sampleRate: 48000 },
};

golden("mvhd", mvhd, [
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

golden("tkhd", (w, input: { info: TrackInfo; durationTicks: number }) => tkhd(w, input.info, input.durationTicks), [
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
]);

golden(
  "mdhd",
  (w, input: { timescale: number; durationTicks: number }) => mdhd(w, input.timescale, input.durationTicks),
  [
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

golden("elst", elst, [
  {
    name: "an empty edit of 500 ms before the media from its start",
    input: [{ segmentDurationTicks: 500, mediaTimeTicks: -1 }, { segmentDurationTicks: 2000, mediaTimeTicks: 0 }],
    bytes: bin(
      `00000028 'elst' 00 000000 00000002
       000001f4 ffffffff 0001 0000
       000007d0 00000000 0001 0000`,
    ),
    fields: {
      version: 0,
      entries: [
        { segment_duration: 500, media_time: -1, media_rate_integer: 1, media_rate_fraction: 0 },
        { segment_duration: 2000, media_time: 0, media_rate_integer: 1, media_rate_fraction: 0 },
      ],
    },
  },
  {
    name: "media that skips its first 10 ms (480 ticks at 48 kHz)",
    input: [{ segmentDurationTicks: 2000, mediaTimeTicks: 480 }],
    bytes: bin("0000001c 'elst' 00 000000 00000001 000007d0 000001e0 0001 0000"),
    fields: {
      entries: [{ segment_duration: 2000, media_time: 480, media_rate_integer: 1, media_rate_fraction: 0 }],
    },
  },
  {
    name: "an empty edit beyond 32 bits, version 1",
    input: [
      { segmentDurationTicks: BEYOND_32_BITS, mediaTimeTicks: -1 },
      { segmentDurationTicks: 1000, mediaTimeTicks: 0 },
    ],
    bytes: bin(
      `00000038 'elst' 01 000000 00000002
       000000012a05f200 ffffffffffffffff 0001 0000
       00000000000003e8 0000000000000000 0001 0000`,
    ),
    fields: {
      version: 1,
      entries: [
        { segment_duration: BEYOND_32_BITS, media_time: -1, media_rate_integer: 1, media_rate_fraction: 0 },
        { segment_duration: 1000, media_time: 0, media_rate_integer: 1, media_rate_fraction: 0 },
      ],
    },
  },
]);

golden("edts", edts, [
  {
    name: "wrapping its edit list",
    input: [{ segmentDurationTicks: 2000, mediaTimeTicks: 480 }],
    bytes: bin("00000024 'edts' 0000001c 'elst' 00 000000 00000001 000007d0 000001e0 0001 0000"),
  },
]);

golden("stts", stts, [
  { name: "no samples", input: [], bytes: bin("00000010 'stts' 00 000000 00000000"), fields: { sample_counts: [] } },
  {
    name: "three 30 fps frames and one longer",
    input: [{ sampleCount: 3, sampleDeltaTicks: 3000 }, { sampleCount: 1, sampleDeltaTicks: 3003 }],
    bytes: bin("00000020 'stts' 00 000000 00000002 00000003 00000bb8 00000001 00000bbb"),
    fields: { sample_counts: [3, 1], sample_deltas: [3000, 3003] },
  },
]);

golden("ctts", ctts, [
  {
    name: "non-negative offsets, version 0",
    input: [{ sampleCount: 2, sampleOffsetTicks: 3000 }, { sampleCount: 1, sampleOffsetTicks: 0 }],
    bytes: bin("00000020 'ctts' 00 000000 00000002 00000002 00000bb8 00000001 00000000"),
    fields: { version: 0, sample_counts: [2, 1], sample_offsets: [3000, 0] },
  },
  {
    name: "a negative offset, version 1",
    input: [{ sampleCount: 1, sampleOffsetTicks: 6000 }, { sampleCount: 1, sampleOffsetTicks: -3000 }],
    bytes: bin("00000020 'ctts' 01 000000 00000002 00000001 00001770 00000001 fffff448"),
    fields: { version: 1, sample_counts: [1, 1], sample_offsets: [6000, -3000] },
  },
]);

golden("stss", stss, [
  {
    name: "keyframes at samples 1 and 31",
    input: [1, 31],
    bytes: bin("00000018 'stss' 00 000000 00000002 00000001 0000001f"),
    fields: { sample_numbers: [1, 31] },
  },
]);

golden("stsc", stsc, [
  {
    name: "two chunks of 30 samples, then chunks of 12",
    input: [
      { firstChunk: 1, samplesPerChunk: 30, sampleDescriptionIndex: 1 },
      { firstChunk: 3, samplesPerChunk: 12, sampleDescriptionIndex: 1 },
    ],
    bytes: bin("00000028 'stsc' 00 000000 00000002 00000001 0000001e 00000001 00000003 0000000c 00000001"),
    fields: { first_chunk: [1, 3], samples_per_chunk: [30, 12], sample_description_index: [1, 1] },
  },
]);

golden("stsz", stsz, [
  {
    name: "a table of differing sizes",
    input: [5, 3, 200],
    bytes: bin("00000020 'stsz' 00 000000 00000000 00000003 00000005 00000003 000000c8"),
    fields: { sample_size: 0, sample_count: 3, sample_sizes: [5, 3, 200] },
  },
  {
    name: "one shared size, no table",
    input: [160, 160],
    bytes: bin("00000014 'stsz' 00 000000 000000a0 00000002"),
    fields: { sample_size: 160, sample_count: 2, sample_sizes: [160, 160] }, // mp4box.js expands the shared size
  },
  {
    name: "no samples",
    input: [],
    bytes: bin("00000014 'stsz' 00 000000 00000000 00000000"),
    fields: { sample_size: 0, sample_count: 0 },
  },
]);

golden("stco", stco, [
  {
    name: "two 32-bit offsets",
    input: [48, 4096],
    bytes: bin("00000018 'stco' 00 000000 00000002 00000030 00001000"),
    fields: { chunk_offsets: [48, 4096] },
  },
]);

golden("co64", co64, [
  {
    name: "an offset beyond 4 GiB",
    input: [48, BEYOND_32_BITS],
    bytes: bin("00000020 'co64' 00 000000 00000002 0000000000000030 000000012a05f200"),
    fields: { chunk_offsets: [48, BEYOND_32_BITS] },
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
