/** Init and media segments read back by mp4box.js: tracks, codec strings, timescales, samples and their bytes. */

import assert from "node:assert/strict";
import { bin, concat, toHex } from "../shared/testing.ts";
import { initSegment, mediaFragment, mediaSegment } from "./fmp4.ts";
import type { Sample } from "./track.ts";
import { AUDIO, AVCC_720P, parseMp4, VIDEO } from "./test_helpers.ts";

/** Deterministic sample bytes: `size` bytes counting up from `seed`. */
function payload(seed: number, size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (seed + i) & 0xff;
  return data;
}

Deno.test("the 720p avcC fixture is the record of its SPS and PPS byte for byte", () => {
  assert.equal(
    toHex(AVCC_720P),
    toHex(bin("01 42 c0 1f ff e1 000d 6742c01fda014016e806d0a135 01 0004 68ce06e2")),
  );
});

Deno.test("a video init segment parses as one fragmented avc1.42c01f track at 90 kHz", () => {
  const { info, file } = parseMp4(initSegment(VIDEO));
  assert.equal(info.isFragmented, true);
  assert.deepEqual(info.brands, ["iso6", "iso6", "isom", "cmfc", "dash", "mp41"]);
  assert.equal(info.tracks.length, 1);
  const track = info.tracks[0];
  assert.ok(track !== undefined, "one track");
  assert.deepEqual(
    { id: track.id, type: track.type, codec: track.codec, timescale: track.timescale, video: track.video },
    { id: 1, type: "video", codec: "avc1.42c01f", timescale: 90000, video: { width: 1280, height: 720 } },
  );
  assert.deepEqual({ w: track.track_width, h: track.track_height }, { w: 1280, h: 720 });
  const entry = file.moov?.traks[0]?.mdia.minf.stbl.stsd.entries[0] as unknown as Record<string, unknown>;
  assert.deepEqual(
    {
      type: entry["type"],
      width: entry["width"],
      height: entry["height"],
      depth: entry["depth"],
      frame_count: entry["frame_count"],
    },
    { type: "avc1", width: 1280, height: 720, depth: 0x18, frame_count: 1 },
  );
  const trex = file.moov?.mvex?.trexs[0];
  assert.deepEqual({ id: trex?.track_id, index: trex?.default_sample_description_index }, { id: 1, index: 1 });
  assert.equal(file.moov?.mvhd.next_track_id, 2);
});

Deno.test("an audio init segment parses as one Opus track at 48 kHz with its dOps", () => {
  const { info, file } = parseMp4(initSegment(AUDIO));
  assert.equal(info.tracks.length, 1);
  const track = info.tracks[0];
  assert.ok(track !== undefined, "one track");
  assert.deepEqual(
    { id: track.id, type: track.type, codec: track.codec, timescale: track.timescale, audio: track.audio },
    {
      id: 2,
      type: "audio",
      codec: "Opus",
      timescale: 48000,
      audio: { sample_rate: 48000, channel_count: 2, sample_size: 16 },
    },
  );
  const entry = file.moov?.traks[0]?.mdia.minf.stbl.stsd.entries[0] as unknown as Record<string, unknown>;
  const dOps = entry["dOps"] as Record<string, unknown>;
  assert.deepEqual(
    { channels: dOps["OutputChannelCount"], preSkip: dOps["PreSkip"], rate: dOps["InputSampleRate"] },
    { channels: 2, preSkip: 312, rate: 48000 },
  );
});

Deno.test("mediaSegment encodes styp + moof + mdat byte for byte", () => {
  const bytes = mediaSegment({
    sequenceNumber: 5,
    trackId: 2,
    baseDecodeTimeTicks: 960,
    samples: [{ durationTicks: 960, ctsOffsetTicks: 0, isSync: true, data: bin("f8ff") }],
  });
  const expected = bin(
    `00000018 'styp' 'msdh' 00000000 'msdh' 'cmfs'
     00000068 'moof'
       00000010 'mfhd' 00 000000 00000005
       00000050 'traf'
         00000010 'tfhd' 00 020000 00000002
         00000014 'tfdt' 01 000000 00000000 000003c0
         00000024 'trun' 01 000f01 00000001 00000070 000003c0 00000002 02000000 00000000
     0000000a 'mdat' f8ff`,
  );
  assert.equal(toHex(bytes), toHex(expected));
});

Deno.test("mediaFragment is the moof + mdat of mediaSegment, without the styp", () => {
  const args = {
    sequenceNumber: 6,
    trackId: 2,
    baseDecodeTimeTicks: 1920,
    samples: [{ durationTicks: 960, ctsOffsetTicks: 0, isSync: true, data: bin("f8ff") }],
  };
  const segment = mediaSegment(args);
  assert.equal(toHex(mediaFragment(args)), toHex(segment.subarray(0x18)));
  assert.equal(toHex(segment.subarray(0, 8)), toHex(bin("00000018 'styp'")));
});

Deno.test("init + three media segments: mp4box extracts every sample with its time, duration, flags and bytes", () => {
  const segments: Uint8Array[] = [];
  const expected: { dts: number; duration: number; isSync: boolean; data: Uint8Array }[] = [];
  let decodeTicks = 0;
  for (let n = 1; n <= 3; n++) {
    const samples: Sample[] = [];
    const base = decodeTicks;
    for (let i = 0; i < 10; i++) {
      const durationTicks = 3000 + ((n * 7 + i) % 5); // uneven, like RTP timestamps of a real camera
      const data = payload(n * 31 + i, 50 + i * 13);
      samples.push({ durationTicks, ctsOffsetTicks: 0, isSync: i === 0, data });
      expected.push({ dts: decodeTicks, duration: durationTicks, isSync: i === 0, data });
      decodeTicks += durationTicks;
    }
    segments.push(mediaSegment({ sequenceNumber: n, trackId: 1, baseDecodeTimeTicks: base, samples }));
  }
  const { info, samples } = parseMp4(concat([initSegment(VIDEO), ...segments]));
  assert.equal(info.tracks[0]?.nb_samples, 30);
  const got = (samples.get(1) ?? []).map((s) => ({
    dts: s.dts,
    duration: s.duration,
    isSync: s.is_sync,
    data: s.data,
  }));
  assert.deepEqual(got, expected);
});

Deno.test("composition offsets are signed (trun version 1)", () => {
  const samples: Sample[] = [
    { durationTicks: 3000, ctsOffsetTicks: 3000, isSync: true, data: payload(1, 10) },
    { durationTicks: 3000, ctsOffsetTicks: -3000, isSync: false, data: payload(2, 10) },
  ];
  const segment = mediaSegment({ sequenceNumber: 1, trackId: 1, baseDecodeTimeTicks: 90000, samples });
  const parsed = parseMp4(concat([initSegment(VIDEO), segment])).samples.get(1) ?? [];
  assert.deepEqual(parsed.map((s) => [s.dts, s.cts]), [[90000, 93000], [93000, 90000]]);
});

Deno.test("tfdt beyond 32 bits survives a round trip (a day of 90 kHz video)", () => {
  const base = 24 * 3600 * 90000;
  const segment = mediaSegment({
    sequenceNumber: 43200,
    trackId: 1,
    baseDecodeTimeTicks: base,
    samples: [{ durationTicks: 3000, ctsOffsetTicks: 0, isSync: true, data: payload(0, 4) }],
  });
  const parsed = parseMp4(concat([initSegment(VIDEO), segment])).samples.get(1) ?? [];
  assert.deepEqual(parsed.map((s) => s.dts), [base]);
});

Deno.test("an Opus segment parses with 20 ms sync samples", () => {
  const samples: Sample[] = Array.from({ length: 50 }, (_, i) => ({
    durationTicks: 960,
    ctsOffsetTicks: 0,
    isSync: true,
    data: payload(i, 80 + (i % 7)),
  }));
  const segment = mediaSegment({ sequenceNumber: 1, trackId: 2, baseDecodeTimeTicks: 480, samples });
  const parsed = parseMp4(concat([initSegment(AUDIO), segment])).samples.get(2) ?? [];
  assert.equal(parsed.length, 50);
  assert.ok(parsed.every((s, i) => s.is_sync && s.duration === 960 && s.dts === 480 + 960 * i));
  assert.deepEqual(parsed.map((s) => s.data), samples.map((s) => s.data));
});
