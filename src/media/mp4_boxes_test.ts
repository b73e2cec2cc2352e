/** Golden tables for the progressive MP4 box writers (the headers they share are in boxes_test.ts): hand-derived
 * bytes, and the same bytes read back by mp4box.js. */

import { bin } from "../shared/testing.ts";
import { co64, ctts, edts, elst, stco, stsc, stss, stsz, stts } from "./mp4_boxes.ts";
import { golden } from "./test_helpers.ts";

/** 5e9: past 2^32, so version 1 boxes and co64. */
const BEYOND_32_BITS = 5_000_000_000;

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
  {
    name: "a change of sample entry at chunk 3, then at chunk 5 back to the first",
    input: [
      { firstChunk: 1, samplesPerChunk: 30, sampleDescriptionIndex: 1 },
      { firstChunk: 3, samplesPerChunk: 30, sampleDescriptionIndex: 2 },
      { firstChunk: 4, samplesPerChunk: 12, sampleDescriptionIndex: 2 },
      { firstChunk: 5, samplesPerChunk: 30, sampleDescriptionIndex: 1 },
    ],
    bytes: bin(
      `00000040 'stsc' 00 000000 00000004 00000001 0000001e 00000001 00000003 0000001e 00000002
       00000004 0000000c 00000002 00000005 0000001e 00000001`,
    ),
    fields: { first_chunk: [1, 3, 4, 5], samples_per_chunk: [30, 30, 12, 30], sample_description_index: [1, 2, 2, 1] },
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
