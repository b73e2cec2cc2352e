import assert from "node:assert/strict";
import { aacEsdsBody, mp3EsdsBody, splitAdts, toLengthPrefixed } from "../../codec/mod.ts";
import { UnsupportedError } from "../../shared/errors.ts";
import { bin, concat, toHex } from "../../shared/testing.ts";
import { type AudioFrame, type Cut, type FragmentCut, SegmentCutter, type VideoFrame } from "../segment_cutter.ts";
import type { Sample, TrackInfo } from "../track.ts";
import { annexBUnits, expected90k, H264_TRACK, mp4aTrack, PPS, readTs, SPS, type TsContents } from "./testing.ts";
import { mpegTsRefusal, TS_TIME_OFFSET_90KHZ, type TsSegment, TsSegmentWriter } from "./writer.ts";

const AAC_TRACK = mp4aTrack(aacEsdsBody(bin("1190")), 48000, 2);
const MP3_TRACK = mp4aTrack(mp3EsdsBody({ objectTypeIndication: 0x6b }), 44100, 2, 1);
const AUD = "09f0";

/** A fake H.264 access unit: one IDR or non-IDR slice NAL unit whose bytes say which frame it is. */
function h264Sample(index: number, isKeyframe: boolean): Uint8Array {
  return toLengthPrefixed([new Uint8Array([isKeyframe ? 0x65 : 0x41, 0x88, index >> 8, index & 0xff])]);
}

/** A fake raw AAC frame whose bytes say which frame it is. */
function aacFrame(index: number): Uint8Array {
  return new Uint8Array([0x21, 0x10, index >> 8, index & 0xff, ...new Array(index % 50).fill(7)]);
}

/** Runs video and audio frames through a SegmentCutter as a publisher sends them, the writer behind it. */
function cutAndWrite(
  video: VideoFrame[],
  audio: AudioFrame[],
  writer: TsSegmentWriter,
  opts = { segmentDurationMs: 1000, fragmentDurationMs: 250 },
): { cuts: Cut[]; segments: TsSegment[] } {
  const cutter = new SegmentCutter({
    ...opts,
    firstNumber: 7,
    video: { trackId: 1, timescale: 90000 },
    audio: { trackId: 2, timescale: 48000 },
  });
  const cuts: Cut[] = [];
  const segments: TsSegment[] = [];
  const take = (out: Cut[]) => {
    cuts.push(...out);
    segments.push(...writer.push(out));
  };
  let next = 0;
  for (const frame of video) {
    take(cutter.pushVideo(frame));
    while (next < audio.length && audio[next]!.ptsTicks * 90000 <= frame.dtsTicks * 48000) {
      take(cutter.pushAudio(audio[next++]!));
    }
  }
  while (next < audio.length) take(cutter.pushAudio(audio[next++]!));
  take(cutter.flush());
  segments.push(...writer.flush());
  return { cuts, segments };
}

/** The samples of a track's fragment cuts with their decode times. */
function timedSamples(cuts: readonly Cut[], track: "video" | "audio"): { dtsTicks: number; sample: Sample }[] {
  return cuts.flatMap((cut) => {
    if (cut.type !== "fragment" || cut.track !== track) return [];
    let dtsTicks = cut.startTicks;
    return cut.samples.map((sample) => {
      const entry = { dtsTicks, sample };
      dtsTicks += sample.durationTicks;
      return entry;
    });
  });
}

/** PCRs never go back, are at most 100 ms apart, and every PES has its DTS at or after the last PCR before it. */
function checkPcr(contents: readonly TsContents[]): void {
  const pcrs = contents.flatMap((c) => c.pcrs.map((p) => p.value));
  for (let i = 1; i < pcrs.length; i++) {
    assert.ok(pcrs[i]! >= pcrs[i - 1]!, `PCR ${i} goes back`);
    assert.ok(pcrs[i]! - pcrs[i - 1]! <= 9000, `PCR ${i} is ${pcrs[i]! - pcrs[i - 1]!} ticks after the previous`);
  }
  for (const c of contents) {
    const firstPcr = c.pcrs[0];
    assert.ok(firstPcr !== undefined && firstPcr.packetIndex <= c.pes[0]!.packetIndex, "a PCR before the first PES");
    for (const pes of c.pes) {
      const before = c.pcrs.filter((p) => p.packetIndex <= pes.packetIndex).at(-1)!;
      assert.ok(before.value <= (pes.dts ?? pes.pts), "PCR at or before the DTS of what follows");
    }
  }
}

Deno.test("TsSegmentWriter muxes H.264 and AAC from SegmentCutter's cuts into aligned, self-contained segments", () => {
  const video: VideoFrame[] = Array.from({ length: 90 }, (_, i) => ({
    dtsTicks: 1000 + i * 3000,
    isKeyframe: i % 30 === 0,
    data: h264Sample(i, i % 30 === 0),
  }));
  const audio: AudioFrame[] = Array.from({ length: 141 }, (_, i) => ({
    ptsTicks: 600 + i * 1024,
    durationTicks: 1024,
    data: aacFrame(i),
  }));
  const writer = new TsSegmentWriter({ video: H264_TRACK, audio: AAC_TRACK });
  const { cuts, segments } = cutAndWrite(video, audio, writer);

  // Same numbers, starts and durations as the cut's video segments.
  const videoSegments = cuts.flatMap((c) => c.type === "segment" && c.track === "video" ? [c] : []);
  assert.equal(videoSegments.length, 3);
  assert.deepEqual(
    segments.map((s) => [s.number, s.startTicks, s.durationTicks, s.timescale]),
    videoSegments.map((c) => [c.number, c.startTicks, c.durationTicks, 90000]),
  );
  assert.deepEqual(segments.map((s) => s.number), [7, 8, 9]);
  assert.deepEqual({ ...writer.stats }, { segments: 3, droppedSamples: 0, incompleteSegments: 0, ptsBeforeDts: 0 });

  const counters = new Map<number, number>();
  const contents = segments.map((s) => readTs(s.bytes, counters));
  const videoSamples = timedSamples(cuts, "video");
  const audioSamples = timedSamples(cuts, "audio");
  assert.equal(videoSamples.length, 90);
  assert.equal(audioSamples.length, 141);

  let videoIndex = 0;
  let audioIndex = 0;
  contents.forEach((c, n) => {
    const segment = segments[n]!;
    assert.deepEqual([c.pmtPid, c.pcrPid, c.streams], [0x1000, 0x100, [
      { streamType: 0x1b, pid: 0x100 },
      { streamType: 0x0f, pid: 0x101 },
    ]]);
    const first = c.pes[0]!;
    assert.ok(first.pid === 0x100 && first.randomAccess && first.pcr !== null, "a keyframe with a PCR opens it");
    assert.equal(first.pts, expected90k(segment.startTicks, 90000, TS_TIME_OFFSET_90KHZ));

    for (const pes of c.pes) {
      if (pes.pid === 0x100) {
        const { dtsTicks, sample } = videoSamples[videoIndex++]!;
        assert.deepEqual([pes.streamId, pes.packetLength, pes.dts], [0xe0, 0, null]);
        assert.equal(pes.pts, expected90k(dtsTicks, 90000, TS_TIME_OFFSET_90KHZ));
        assert.equal(pes.randomAccess, sample.isSync);
        const units = annexBUnits(pes.data).map(toHex);
        const slice = toHex(sample.data.subarray(4));
        assert.deepEqual(units, sample.isSync ? [AUD, toHex(SPS), toHex(PPS), slice] : [AUD, slice]);
      } else {
        assert.equal(pes.streamId, 0xc0);
        assert.ok(pes.packetLength > 0, "audio PES are bounded");
        const { frames, reason } = splitAdts(pes.data);
        assert.equal(reason, undefined);
        assert.ok(frames.length >= 1 && frames.length <= 4, `${frames.length} AAC frames in 100 ms at most`);
        assert.equal(pes.pts, expected90k(audioSamples[audioIndex]!.dtsTicks, 48000, TS_TIME_OFFSET_90KHZ));
        for (const frame of frames) {
          const { dtsTicks, sample } = audioSamples[audioIndex++]!;
          assert.equal(toHex(frame.payload), toHex(sample.data));
          assert.deepEqual(
            [frame.header.objectType, frame.header.sampleRateHz, frame.header.channelConfiguration],
            [2, 48000, 2],
          );
          // The audio of segment N is the audio decoded within video segment N's span.
          assert.ok(dtsTicks * 90000 >= segment.startTicks * 48000 || n === 0, `audio frame ${audioIndex} early`);
          assert.ok(dtsTicks * 90000 < (segment.startTicks + segment.durationTicks) * 48000, "audio frame late");
        }
      }
    }
  });
  assert.equal(videoIndex, videoSamples.length, "every video sample once");
  assert.equal(audioIndex, audioSamples.length, "every audio frame once");
  checkPcr(contents);
});

Deno.test("TsSegmentWriter writes audio-only MP3 with the PCR on the audio PID", () => {
  const frames = Array.from({ length: 100 }, (_, i) => concat([bin("fffb9040"), new Uint8Array(413).fill(i)]));
  const cutter = new SegmentCutter({
    segmentDurationMs: 1000,
    firstNumber: 1,
    audio: { trackId: 1, timescale: 44100 },
  });
  const writer = new TsSegmentWriter({ audio: MP3_TRACK });
  const cuts: Cut[] = [];
  const segments: TsSegment[] = [];
  frames.forEach((data, i) => cuts.push(...cutter.pushAudio({ ptsTicks: i * 1152, durationTicks: 1152, data })));
  cuts.push(...cutter.flush());
  segments.push(...writer.push(cuts), ...writer.flush());
  assert.deepEqual(
    segments.map((s) => [s.number, s.startTicks, s.durationTicks, s.timescale]),
    cuts.flatMap((c) => c.type === "segment" ? [[c.number, c.startTicks, c.durationTicks, 44100]] : []),
  );
  const counters = new Map<number, number>();
  const contents = segments.map((s) => readTs(s.bytes, counters));
  const samples = timedSamples(cuts, "audio");
  let index = 0;
  for (const c of contents) {
    assert.deepEqual([c.pcrPid, c.streams], [0x101, [{ streamType: 0x03, pid: 0x101 }]]);
    assert.ok(c.pes[0]!.pcr !== null, "the first PES carries the PCR");
    for (const pes of c.pes) {
      assert.equal(pes.pts, expected90k(samples[index]!.dtsTicks, 44100, TS_TIME_OFFSET_90KHZ));
      const count = pes.data.length / 417;
      assert.ok(Number.isInteger(count) && count <= 3, `${count} MP3 frames in 100 ms at most`);
      for (let i = 0; i < count; i++) {
        assert.equal(toHex(pes.data.subarray(i * 417, (i + 1) * 417)), toHex(samples[index++]!.sample.data));
      }
    }
  }
  assert.equal(index, 100);
  checkPcr(contents);
});

/** Hand-made cuts: one fragment holding `samples` from `startTicks`, then its segment. */
function segmentCuts(
  track: "video" | "audio",
  number: number,
  startTicks: number,
  samples: Sample[],
): [FragmentCut, Cut] {
  const durationTicks = samples.reduce((total, s) => total + s.durationTicks, 0);
  return [
    {
      type: "fragment",
      track,
      trackId: track === "video" ? 1 : 2,
      segmentNumber: number,
      firstOfSegment: true,
      startTicks,
      durationTicks,
      samples,
    },
    { type: "segment", track, number, startTicks, durationTicks, sampleCount: samples.length },
  ];
}

function gop(first: number, ctsOffsets: number[]): Sample[] {
  return ctsOffsets.map((ctsOffsetTicks, i) => ({
    durationTicks: 3003,
    ctsOffsetTicks,
    isSync: i === 0,
    data: h264Sample(first + i, i === 0),
  }));
}

Deno.test("TsSegmentWriter writes B-frames' PTS and DTS exactly, DTS only where it differs", () => {
  const writer = new TsSegmentWriter({ video: H264_TRACK });
  // Decode order I P B B with positive offsets (as ffmpeg's mp4 muxer writes them): presentation I B B P.
  const [segment] = writer.push(segmentCuts("video", 1, 90000, gop(0, [3003, 9009, 0, 0])));
  const pes = readTs(segment!.bytes).pes;
  const offset = TS_TIME_OFFSET_90KHZ + 90000;
  assert.deepEqual(pes.map((p) => [p.pts - offset, p.dts === null ? null : p.dts - offset]), [
    [3003, 0],
    [12012, 3003],
    [6006, null],
    [9009, null],
  ]);
});

Deno.test("TsSegmentWriter moves DTS back by the first segment's decode delay when composition offsets are negative", () => {
  const writer = new TsSegmentWriter({ video: H264_TRACK });
  const offset = TS_TIME_OFFSET_90KHZ;
  // Decode order I P B B with negative offsets (trun version 1): presentation I B B P, the B-frames before their DTS.
  const first = writer.push(segmentCuts("video", 1, 0, gop(0, [0, 6006, -3003, -3003])));
  assert.deepEqual(readTs(first[0]!.bytes).pes.map((p) => [p.pts - offset, p.dts === null ? null : p.dts - offset]), [
    [0, -3003],
    [9009, 0],
    [3003, null],
    [6006, null],
  ]);
  // A later, deeper reordering cannot move DTS again: those samples get DTS = PTS, counted.
  const second = writer.push(segmentCuts("video", 2, 12012, gop(4, [0, 9009, -6006, -6006, -3003])));
  const pes = readTs(second[0]!.bytes).pes;
  assert.ok(pes.every((p) => p.dts === null || p.dts <= p.pts));
  assert.equal(writer.stats.ptsBeforeDts, 2);
});

Deno.test("TsSegmentWriter converts timestamps exactly far into a recording and wraps them at 2^33", () => {
  const writer = new TsSegmentWriter({ audio: mp4aTrack(aacEsdsBody(bin("1210")), 44100, 2) });
  // 3.3 days in: the 90 kHz time (with the offset) crosses 3 × 2^33 within the segment.
  const startTicks = Math.floor(((3 * 2 ** 33 - TS_TIME_OFFSET_90KHZ - 200_000) * 44100) / 90000) + 7;
  const samples = Array.from({ length: 200 }, (_, i) => ({
    durationTicks: 1024,
    ctsOffsetTicks: 0,
    isSync: true,
    data: aacFrame(i),
  }));
  const [segment] = writer.push(segmentCuts("audio", 1, startTicks, samples));
  const pes = readTs(segment!.bytes).pes;
  let frame = 0;
  for (const p of pes) {
    assert.equal(p.pts, expected90k(startTicks + frame * 1024, 44100, TS_TIME_OFFSET_90KHZ));
    frame += splitAdts(p.data).frames.length;
  }
  assert.equal(frame, 200);
  assert.ok(pes.some((p) => p.pts < pes[0]!.pts), "the timestamps wrapped within the segment");
});

Deno.test("TsSegmentWriter writes a segment without waiting for audio that stalled, and counts audio that came late", () => {
  const writer = new TsSegmentWriter({ video: H264_TRACK, audio: AAC_TRACK });
  const audio = (first: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      durationTicks: 960,
      ctsOffsetTicks: 0,
      isSync: true,
      data: aacFrame(first + i),
    }));
  const out: TsSegment[] = [];
  out.push(...writer.push(segmentCuts("video", 1, 0, gop(0, [0, 0, 0]))));
  assert.equal(out.length, 0, "waits for the audio");
  out.push(...writer.push(segmentCuts("audio", 1, 0, audio(0, 6))));
  assert.deepEqual(out.map((s) => s.number), [1], "audio reached the end of video segment 1 (9009 ticks)");
  out.push(...writer.push(segmentCuts("video", 2, 9009, gop(3, [0, 0, 0]))));
  out.push(...writer.push(segmentCuts("video", 3, 18018, gop(6, [0, 0, 0]))));
  assert.equal(out.length, 1, "still within the wait");
  out.push(...writer.push(segmentCuts("video", 4, 27027, gop(9, [0, 0, 0]))));
  assert.deepEqual(out.map((s) => s.number), [1, 2]);
  // Audio for segment 2 (5760..10560 ticks: 120..220 ms) comes after it was written.
  out.push(...writer.push(segmentCuts("audio", 2, 5760, audio(6, 5))));
  out.push(...writer.flush());
  assert.deepEqual(out.map((s) => s.number), [1, 2, 3, 4]);
  assert.deepEqual({ ...writer.stats }, { segments: 4, droppedSamples: 5, incompleteSegments: 1, ptsBeforeDts: 0 });
  const counters = new Map<number, number>();
  assert.deepEqual(out.map((s) => readTs(s.bytes, counters).pes.filter((p) => p.pid === 0x101).length), [2, 0, 0, 0]);
});

Deno.test("TsSegmentWriter drops a torn sample and keeps the rest", () => {
  const writer = new TsSegmentWriter({ video: H264_TRACK });
  const samples = gop(0, [0, 0, 0]);
  samples[1] = { ...samples[1]!, data: bin("00000009 4101") };
  const [segment] = writer.push(segmentCuts("video", 1, 0, samples));
  assert.equal(readTs(segment!.bytes).pes.length, 2);
  assert.equal(writer.stats.droppedSamples, 1);
});

Deno.test("TsSegmentWriter refuses tracks MPEG-TS cannot carry, naming them", () => {
  const vp9: TrackInfo = {
    trackId: 1,
    timescale: 90000,
    codec: {
      kind: "video",
      sampleEntry: { fourcc: "vp09", config: { fourcc: "vpcC", body: bin("01000000 0a 8000") } },
      widthPx: 640,
      heightPx: 360,
    },
  };
  const opus: TrackInfo = {
    trackId: 2,
    timescale: 48000,
    codec: {
      kind: "audio",
      sampleEntry: { fourcc: "Opus", config: { fourcc: "dOps", body: bin("00 02 0138 0000bb80 0000 00") } },
      channels: 2,
      sampleRate: 48000,
    },
  };
  assert.throws(
    () => new TsSegmentWriter({ video: vp9, audio: opus }),
    (error: unknown) =>
      error instanceof UnsupportedError &&
      /track 1 \(video\): no MPEG-TS stream type for sample entry "vp09"/.test(error.message) &&
      /track 2 \(audio\): no MPEG-TS stream type for sample entry "Opus"/.test(error.message),
  );
  assert.match(mpegTsRefusal(mp4aTrack(aacEsdsBody(bin("1194")), 48000, 2)) ?? "", /960-sample frames/);
  const ac3 = mp4aTrack(concat([bin("00000000 03 12 0000 00 04 0d a5 15 000000 00000000 00000000")]), 48000, 2);
  assert.match(mpegTsRefusal(ac3) ?? "", /objectTypeIndication 0xa5/);
  assert.equal(mpegTsRefusal(AAC_TRACK), undefined);
  assert.equal(mpegTsRefusal(H264_TRACK), undefined);
});
