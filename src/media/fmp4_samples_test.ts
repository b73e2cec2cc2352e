/** readInit and readSegmentSamples: our own init and media segments read back exactly, hand-built fragments using
 * the tfhd/trun options we never write, torn segments, and garbage. */

import assert from "node:assert/strict";
import { BadRequestError, UnsupportedError } from "../shared/errors.ts";
import { bin, concat, randomBytes, randomInt, seededRandom } from "../shared/testing.ts";
import { initSegment, mediaSegment } from "./fmp4.ts";
import { scanSegment } from "./fmp4_reader.ts";
import { readInit, readSegmentSamples } from "./fmp4_samples.ts";
import type { SampleWithTime } from "./track.ts";
import {
  AUDIO,
  parseMp4,
  plain,
  segmentFiles,
  segmentFrames,
  SEGMENTS_1S_FRAGMENTS_250MS,
  VIDEO,
} from "./test_helpers.ts";

Deno.test("readInit reads back the track of a video and an audio init segment", () => {
  assert.deepEqual(readInit(initSegment(VIDEO)), VIDEO);
  assert.deepEqual(readInit(initSegment(AUDIO)), AUDIO);
});

Deno.test("readInit copies the configuration records out of the init segment", () => {
  const bytes = initSegment(VIDEO);
  const info = readInit(bytes);
  bytes.fill(0);
  assert.deepEqual(info, VIDEO);
});

Deno.test("readInit rejects what is not an init segment with typed errors", () => {
  assert.throws(() => readInit(new Uint8Array()), BadRequestError);
  const bytes = initSegment(AUDIO);
  for (let length = 0; length < bytes.byteLength; length++) {
    assert.throws(() => readInit(bytes.subarray(0, length)), BadRequestError, `cut at ${length}`);
  }
  const other = initSegment(VIDEO);
  const at = other.findIndex((_, i) => String.fromCharCode(...other.subarray(i, i + 4)) === "vide");
  other.set(bin("'meta'"), at);
  assert.throws(() => readInit(other), UnsupportedError);
  assert.throws(() => readInit(other), /"meta"/);
});

/** One recording through the Segmenter: 30 fps video with jittered timestamps and a keyframe a second, 20 ms Opus;
 * 1 s segments in 250 ms fragments. Returns each track's segment files and the samples that went in. */
function record(): { video: Uint8Array[]; audio: Uint8Array[]; videoIn: SampleWithTime[]; audioIn: SampleWithTime[] } {
  const random = seededRandom(11);
  const videoPts = Array.from({ length: 90 }, (_, i) => i * 3000 + (i % 30 === 0 ? 0 : randomInt(random, 0, 40)));
  const videoData = videoPts.map(() => randomBytes(random, randomInt(random, 1, 400)));
  const audioData = Array.from({ length: 150 }, () => randomBytes(random, randomInt(random, 1, 120)));
  const { outputs, stats } = segmentFrames(
    SEGMENTS_1S_FRAGMENTS_250MS,
    videoPts.map((dtsTicks, i) => ({ dtsTicks, isKeyframe: i % 30 === 0, data: videoData[i] ?? new Uint8Array() })),
    audioData.map((data, a) => ({ ptsTicks: a * 960, durationTicks: 960, data })),
  );
  assert.equal(stats.droppedFrames, 0);
  const videoIn = videoPts.map((ptsTicks, i) => ({
    decodeTimeTicks: ptsTicks,
    // A frame lasts until the next; the last one gets the duration before it (the Segmenter's fallback).
    durationTicks: (videoPts[i + 1] ?? ptsTicks + ptsTicks - (videoPts[i - 1] ?? 0)) - ptsTicks,
    ctsOffsetTicks: 0,
    isSync: i % 30 === 0,
    data: videoData[i] ?? new Uint8Array(),
  }));
  const audioIn = audioData.map((data, i) => ({
    decodeTimeTicks: i * 960,
    durationTicks: 960,
    ctsOffsetTicks: 0,
    isSync: true,
    data,
  }));
  return { video: segmentFiles(outputs, "video"), audio: segmentFiles(outputs, "audio"), videoIn, audioIn };
}

Deno.test("readSegmentSamples returns exactly the samples the Segmenter put into each segment", () => {
  const { video, audio, videoIn, audioIn } = record();
  assert.equal(video.length, 3);
  assert.ok(audio.length === 3 || audio.length === 4, `audio segments: ${audio.length}`);
  assert.deepEqual(plain(video.flatMap(readSegmentSamples)), plain(videoIn));
  assert.deepEqual(plain(audio.flatMap(readSegmentSamples)), plain(audioIn));
  // Each segment starts with a sync sample and its samples are views of the segment, not copies, also when the
  // segment is itself a view into a larger buffer.
  for (const segment of video) {
    const samples = readSegmentSamples(segment);
    assert.equal(samples[0]?.isSync, true);
    assert.ok(samples.every((s) => s.data.buffer === segment.buffer));
    const inside = concat([bin("deadbeef"), segment, bin("00")]).subarray(4, 4 + segment.byteLength);
    assert.deepEqual(plain(readSegmentSamples(inside)), plain(samples));
  }
});

Deno.test("readSegmentSamples agrees with mp4box.js, negative composition offsets included", () => {
  const samples = [
    { durationTicks: 3000, ctsOffsetTicks: 3000, isSync: true, data: bin("0a0b0c") },
    { durationTicks: 3000, ctsOffsetTicks: -3000, isSync: false, data: bin("0d") },
    { durationTicks: 3003, ctsOffsetTicks: 0, isSync: false, data: bin("0e0f") },
  ];
  const segment = mediaSegment({ sequenceNumber: 1, trackId: 1, baseDecodeTimeTicks: 7_776_000_000, samples });
  const read = readSegmentSamples(segment);
  const parsed = parseMp4(concat([initSegment(VIDEO), segment])).samples.get(1) ?? [];
  assert.deepEqual(
    read.map((s) => [s.decodeTimeTicks, s.decodeTimeTicks + s.ctsOffsetTicks, s.durationTicks, s.isSync, s.data]),
    parsed.map((s) => [s.dts, s.cts, s.duration, s.is_sync, s.data]),
  );
  assert.deepEqual(read.map((s) => s.decodeTimeTicks), [7_776_000_000, 7_776_003_000, 7_776_006_000]);
});

/** A fragment using what src/media never writes: tfhd defaults (duration 1000, size 2, non-sync flags), a version 0
 * tfdt, a first run with first_sample_flags (sync) and a data_offset, and a second run with only (unsigned, version
 * 0) composition offsets that continues where the first run's data ended. */
const HAND_BUILT = bin(
  `00000078 'moof'
     00000010 'mfhd' 00 000000 00000001
     00000060 'traf'
       0000001c 'tfhd' 00 020038 00000001 000003e8 00000002 01010000
       00000010 'tfdt' 00 000000 00000064
       00000018 'trun' 00 000005 00000002 00000080 02000000
       00000014 'trun' 00 000800 00000001 000001f4
   0000000e 'mdat' 0102 0304 0506`,
);

Deno.test("readSegmentSamples applies tfhd defaults, first_sample_flags and runs without a data_offset", () => {
  assert.deepEqual(plain(readSegmentSamples(HAND_BUILT)), [
    { decodeTimeTicks: 100, durationTicks: 1000, ctsOffsetTicks: 0, isSync: true, data: bin("0102") },
    { decodeTimeTicks: 1100, durationTicks: 1000, ctsOffsetTicks: 0, isSync: false, data: bin("0304") },
    { decodeTimeTicks: 2100, durationTicks: 1000, ctsOffsetTicks: 500, isSync: false, data: bin("0506") },
  ]);
  const parsed = parseMp4(concat([initSegment(VIDEO), HAND_BUILT])).samples.get(1) ?? [];
  assert.deepEqual(parsed.map((s) => [s.dts, s.cts, s.is_sync]), [[100, 100, true], [1100, 1100, false], [
    2100,
    2600,
    false,
  ]]);
});

Deno.test("readSegmentSamples stops at a fragment whose data it cannot place", () => {
  // An explicit base_data_offset counts from a file start a lone segment does not have.
  const withBase = bin(
    `00000058 'moof'
       00000010 'mfhd' 00 000000 00000001
       00000040 'traf'
         00000018 'tfhd' 00 000001 00000001 0000000000000000
         00000010 'tfdt' 00 000000 00000000
         00000010 'trun' 00 000000 00000000
     00000008 'mdat'`,
  );
  assert.equal(scanSegment(withBase).fragments.length, 1, "scanSegment accepts it");
  assert.deepEqual(readSegmentSamples(concat([HAND_BUILT, withBase, HAND_BUILT])).length, 3);
});

Deno.test("readSegmentSamples of every truncation returns the samples of the complete fragments", () => {
  const { video } = record();
  const segment = video[0];
  assert.ok(segment !== undefined);
  const all = readSegmentSamples(segment);
  for (let length = 0; length <= segment.byteLength; length++) {
    const prefix = segment.subarray(0, length);
    const complete = scanSegment(prefix).fragments.reduce((n, f) => n + f.sampleCount, 0);
    assert.deepEqual(readSegmentSamples(prefix), all.slice(0, complete), `cut at ${length}`);
  }
});

Deno.test("readSegmentSamples never throws on random bytes, corrupted segments or box-shaped garbage", () => {
  const random = seededRandom(99);
  const { video } = record();
  const real = video[1] ?? new Uint8Array();
  const types = ["moof", "mdat", "mfhd", "traf", "tfhd", "tfdt", "trun"];
  let withSamples = 0;
  for (let i = 0; i < 3000; i++) {
    let bytes: Uint8Array;
    if (i % 3 === 0) {
      bytes = randomBytes(random, randomInt(random, 0, 300));
    } else if (i % 3 === 1) {
      bytes = i % 2 === 0 ? real.slice() : HAND_BUILT.slice();
      for (let n = randomInt(random, 1, 8); n > 0; n--) {
        bytes[randomInt(random, 0, bytes.byteLength - 1)] = randomInt(random, 0, 255);
      }
    } else {
      // Valid box headers around random bodies, so the walk gets past the top level.
      const body = randomBytes(random, randomInt(random, 0, 64));
      const type = types[randomInt(random, 0, types.length - 1)] ?? "moof";
      const inner = concat([bin(`000000${(8 + body.byteLength).toString(16).padStart(2, "0")} '${type}'`), body]);
      bytes = concat([
        bin(`000000${(8 + inner.byteLength).toString(16).padStart(2, "0")} 'moof'`),
        inner,
        bin("0000000c 'mdat'"),
        randomBytes(random, 4),
      ]);
    }
    const samples = readSegmentSamples(bytes);
    let total = 0;
    for (const sample of samples) {
      assert.equal(sample.data.buffer, bytes.buffer, `input ${i}: a view of the input`);
      assert.ok(sample.data.byteOffset + sample.data.byteLength <= bytes.byteOffset + bytes.byteLength);
      total += sample.data.byteLength;
    }
    assert.ok(total <= bytes.byteLength, `input ${i}: no byte read twice`);
    if (samples.length > 0) withSamples++;
  }
  assert.ok(withSamples > 300, `corrupted segments still yield samples (${withSamples} did)`);
});
