/**
 * Segmenter behaviour: keyframe cuts, gapless timelines, audio alignment, drops, jumps, flush, fragments within
 * segments, and a property test.
 */

import assert from "node:assert/strict";
import { concat, seededRandom } from "../shared/testing.ts";
import { initSegment } from "./fmp4.ts";
import { scanSegment } from "./fmp4_reader.ts";
import {
  type AudioFrame,
  type FragmentCut,
  SegmentCutter,
  type SegmenterOptions,
  type VideoFrame,
} from "./segment_cutter.ts";
import { type FragmentOutput, Segmenter, type SegmenterOutput, type SegmentOutput } from "./segmenter.ts";
import { AUDIO, parseMp4, VIDEO } from "./test_helpers.ts";

const VIDEO_TRACK = { trackId: VIDEO.trackId, timescale: VIDEO.timescale };
const AUDIO_TRACK = { trackId: AUDIO.trackId, timescale: AUDIO.timescale };
const AV: SegmenterOptions = { segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK, audio: AUDIO_TRACK };

type Event = { video: VideoFrame } | { audio: AudioFrame };

function video(ptsTicks: number, isKeyframe = false, size = 10): Event {
  return { video: { dtsTicks: ptsTicks, isKeyframe, data: new Uint8Array(size).fill(ptsTicks & 0xff) } };
}

function audio(ptsTicks: number, durationTicks = 960): Event {
  return { audio: { ptsTicks, durationTicks, data: new Uint8Array(3).fill(ptsTicks & 0xff) } };
}

/** 30 fps video from pts 0 with a keyframe every `gop` frames. */
function videoRun(count: number, gop: number, startTicks = 0): Event[] {
  return Array.from({ length: count }, (_, i) => video(startTicks + i * 3000, i % gop === 0));
}

/** 20 ms Opus frames from `startTicks`. */
function audioRun(count: number, startTicks = 0): Event[] {
  return Array.from({ length: count }, (_, i) => audio(startTicks + i * 960));
}

/** Merges per-track event lists in presentation order (video first on ties), as a jitter-free session would. */
function interleave(videoEvents: Event[], audioEvents: Event[]): Event[] {
  const seconds = (e: Event) => ("video" in e ? e.video.dtsTicks / 90000 : e.audio.ptsTicks / 48000);
  const out: Event[] = [];
  let v = 0;
  let a = 0;
  while (v < videoEvents.length || a < audioEvents.length) {
    const nextVideo = videoEvents[v];
    const nextAudio = audioEvents[a];
    if (nextVideo !== undefined && (nextAudio === undefined || seconds(nextVideo) <= seconds(nextAudio))) {
      out.push(nextVideo);
      v++;
    } else if (nextAudio !== undefined) {
      out.push(nextAudio);
      a++;
    }
  }
  return out;
}

/** A segment put back together from its outputs: its `segment` output plus its fragments and their bytes. */
interface Segment extends SegmentOutput {
  fragments: FragmentOutput[];
  /** The segment file: its fragments' bytes back to back. */
  bytes: Uint8Array;
}

interface Run {
  segmenter: Segmenter;
  /** Outputs in emission order, with the index of the event that produced each (events.length for flush). */
  emitted: { at: number; output: SegmenterOutput }[];
  video: Segment[];
  audio: Segment[];
}

function run(opts: SegmenterOptions, events: readonly Event[]): Run {
  const segmenter = new Segmenter(opts);
  const emitted: { at: number; output: SegmenterOutput }[] = [];
  events.forEach((event, at) => {
    const out = "video" in event ? segmenter.pushVideo(event.video) : segmenter.pushAudio(event.audio);
    for (const output of out) emitted.push({ at, output });
  });
  for (const output of segmenter.flush()) emitted.push({ at: events.length, output });
  const outputs = emitted.map((e) => e.output);
  return { segmenter, emitted, video: assemble("video", outputs), audio: assemble("audio", outputs) };
}

const STYP = "styp";
const MOOF = "moof";

/** The fourcc of the first box in `bytes`. */
function firstBoxType(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes.subarray(4, 8));
}

/** Groups a track's fragments into the segments that follow them, asserting the output contract on the way: every
 * fragment comes before its segment, a segment's fragments are contiguous and sum up to it, only the first of them
 * carries the styp, and nothing is left open after flush. */
function assemble(track: "video" | "audio", outputs: readonly SegmenterOutput[]): Segment[] {
  const segments: Segment[] = [];
  let open: FragmentOutput[] = [];
  for (const output of outputs) {
    if (output.track !== track) continue;
    if (output.type === "fragment") {
      const previous = open[open.length - 1];
      if (previous !== undefined) {
        assert.equal(output.segmentNumber, previous.segmentNumber, "fragments of one segment are contiguous");
        assert.equal(
          output.startTicks,
          previous.startTicks + previous.durationTicks,
          "fragment starts where the last ended",
        );
      }
      assert.equal(firstBoxType(output.bytes), previous === undefined ? STYP : MOOF, "styp only on a first fragment");
      assert.ok(output.samples.length > 0 && output.durationTicks > 0, "a fragment is never empty");
      open.push(output);
      continue;
    }
    const first = open[0];
    assert.ok(first !== undefined, `segment ${output.number} was preceded by its fragments`);
    assert.equal(first.segmentNumber, output.number, "fragments name their segment");
    assert.equal(first.startTicks, output.startTicks, "a segment starts with its first fragment");
    assert.equal(open.reduce((d, f) => d + f.durationTicks, 0), output.durationTicks, "fragment durations add up");
    assert.equal(open.reduce((n, f) => n + f.samples.length, 0), output.sampleCount, "fragment samples add up");
    const bytes = concat(open.map((f) => f.bytes));
    assert.equal(bytes.byteLength, output.sizeBytes, "sizeBytes is the sum of the fragments' bytes");
    segments.push({ ...output, fragments: open, bytes });
    open = [];
  }
  assert.deepEqual(open, [], "no fragment without its segment");
  return segments;
}

/** Segment outputs with the index of the event that emitted each. */
function segmentsAt(r: Run): { at: number; segment: SegmentOutput }[] {
  return r.emitted.flatMap(({ at, output }) => output.type === "segment" ? [{ at, segment: output }] : []);
}

/** Timing summary of segments: [number, startTicks, durationTicks, sampleCount]. */
function timing(segments: readonly SegmentOutput[]): number[][] {
  return segments.map((s) => [s.number, s.startTicks, s.durationTicks, s.sampleCount]);
}

/** The init segment of a test track. */
function init(kind: "video" | "audio"): Uint8Array {
  return initSegment(kind === "video" ? VIDEO : AUDIO);
}

/** Samples of a track's segments as mp4box.js reads them, grouped per segment. */
function readBack(kind: "video" | "audio", segments: readonly Segment[]) {
  const trackId = kind === "video" ? VIDEO_TRACK.trackId : AUDIO_TRACK.trackId;
  const samples = parseMp4(concat([init(kind), ...segments.map((s) => s.bytes)])).samples.get(trackId) ?? [];
  const perSegment: { dts: number; duration: number; isSync: boolean; size: number; data: Uint8Array }[][] = segments
    .map(() => []);
  let index = 0;
  segments.forEach((segment, k) => {
    for (let i = 0; i < segment.sampleCount; i++, index++) {
      const s = samples[index];
      assert.ok(s !== undefined, `mp4box found fewer samples than the segments announce (${index})`);
      perSegment[k]?.push({
        dts: s.dts,
        duration: s.duration,
        isSync: s.is_sync,
        size: s.size,
        data: s.data ?? new Uint8Array(),
      });
    }
  });
  assert.equal(samples.length, index, "sample count read back");
  return perSegment;
}

/** Asserts the decode timeline of consecutive segments has no gap or overlap. */
function assertContinuous(segments: readonly SegmentOutput[]): void {
  for (let k = 1; k < segments.length; k++) {
    const previous = segments[k - 1];
    const current = segments[k];
    assert.ok(previous !== undefined && current !== undefined, "segments");
    assert.equal(current.startTicks, previous.startTicks + previous.durationTicks, `segment ${current.number} start`);
  }
}

Deno.test("Segmenter cuts video at the first keyframe at or after the target duration", () => {
  // Keyframes every 1.5 s; 2 s target: cuts at 3.0 s and 6.0 s, never at 1.5 s or 4.5 s.
  const r = run({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK }, videoRun(200, 45));
  assert.deepEqual(timing(r.video), [
    [1, 0, 270000, 90],
    [2, 270000, 270000, 90],
    [3, 540000, 60000, 20],
  ]);
  // A segment is emitted by the push of the keyframe that starts the next one.
  assert.deepEqual(segmentsAt(r).map((e) => e.at), [90, 180, 200]);
  const read = readBack("video", r.video);
  assert.deepEqual(read.map((segment) => segment[0]?.isSync), [true, true, true]);
  assert.equal(read.flat().filter((s) => s.isSync).length, Math.ceil(200 / 45));
});

Deno.test("Segmenter cuts exactly at the target when a keyframe lands on it", () => {
  const r = run({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK }, videoRun(120, 60));
  assert.deepEqual(timing(r.video), [[1, 0, 180000, 60], [2, 180000, 180000, 60]]);
});

Deno.test("Segmenter drops video before the first keyframe and starts the timeline at its pts", () => {
  const events = [video(0), video(3000), video(6000, true), video(9000), video(12000)];
  const r = run({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK }, events);
  assert.deepEqual(timing(r.video), [[1, 6000, 9000, 3]]);
  assert.deepEqual(
    { frames: r.segmenter.stats.videoFrames, dropped: r.segmenter.stats.droppedFrames },
    { frames: 5, dropped: 2 },
  );
  assert.equal(r.segmenter.stats.droppedBeforeKeyframe, 2);
});

Deno.test("Segmenter drops duplicate and backward video timestamps", () => {
  const events = [video(0, true), video(3000), video(3000), video(2000), video(6000), video(9000)];
  const r = run({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK }, events);
  assert.deepEqual(timing(r.video), [[1, 0, 12000, 4]]);
  assert.deepEqual(readBack("video", r.video)[0]?.map((s) => s.duration), [3000, 3000, 3000, 3000]);
  assert.equal(r.segmenter.stats.droppedNonIncreasing, 2);
  assert.equal(r.segmenter.stats.droppedFrames, 2);
});

Deno.test("Segmenter clamps a forward timestamp jump to the previous duration and continues the timeline", () => {
  const jump = 20 * 90000;
  const events = [
    ...videoRun(30, 30),
    video(90000 + jump, true), // 20 s ahead of where it should be
    ...Array.from({ length: 89 }, (_, i) => video(90000 + jump + (i + 1) * 3000, (i + 1) % 30 === 0)),
  ];
  const r = run({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK }, events);
  assert.equal(r.segmenter.stats.timestampJumps, 1);
  assert.equal(r.segmenter.stats.droppedFrames, 0);
  const durations = readBack("video", r.video).flat().map((s) => s.duration);
  assert.equal(Math.max(...durations), 3000, "no giant sample");
  assert.equal(durations.length, 120);
  assertContinuous(r.video);
  // The keyframe after the jump is at decode time 1 s, so the first cut is the one at 2 s.
  assert.deepEqual(timing(r.video), [[1, 0, 180000, 60], [2, 180000, 180000, 60]]);
});

Deno.test("Segmenter treats a backward jump beyond maxJumpMs as a discontinuity, not a stream of drops", () => {
  const events = [...videoRun(30, 30, 3_600 * 90000), ...videoRun(60, 30)];
  const r = run({ segmentDurationMs: 1000, firstNumber: 1, video: VIDEO_TRACK }, events);
  assert.equal(r.segmenter.stats.timestampJumps, 1);
  assert.equal(r.segmenter.stats.droppedFrames, 0);
  assert.equal(r.video.reduce((n, s) => n + s.sampleCount, 0), 90);
  assertContinuous(r.video);
});

Deno.test("Segmenter flush gives the last frame the previous duration, or 3000 ticks when it is alone", () => {
  const r = run({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK }, [
    video(0, true),
    video(3003),
    video(6006),
  ]);
  assert.deepEqual(readBack("video", r.video)[0]?.map((s) => s.duration), [3003, 3003, 3003]);
  const alone = run({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK }, [video(500, true)]);
  assert.deepEqual(timing(alone.video), [[1, 500, 3000, 1]]);
});

Deno.test("Segmenter flush with nothing pushed emits nothing", () => {
  assert.deepEqual(run(AV, []).emitted, []);
  assert.deepEqual(run(AV, [video(0), audio(0)]).emitted, []);
});

Deno.test("Segmenter numbers segments of both tracks from firstNumber and fragments (mfhd) from 1", () => {
  const r = run({ ...AV, firstNumber: 17 }, interleave(videoRun(180, 60), audioRun(300)));
  assert.deepEqual(r.video.map((s) => s.number), [17, 18, 19]);
  assert.deepEqual(r.audio.map((s) => s.number), [17, 18, 19]);
  for (const kind of ["video", "audio"] as const) {
    const file = parseMp4(concat([init(kind), ...r[kind].map((s) => s.bytes)])).file;
    assert.deepEqual(file.moofs.map((m) => m.mfhd?.sequence_number), [1, 2, 3], `${kind} mfhd`);
  }
});

Deno.test("Segmenter cuts audio at the first frame at or after each video cut", () => {
  // Video keyframes every 1 s; audio starts 10 ms after video, so no audio frame lands exactly on a cut.
  const r = run(AV, interleave(videoRun(300, 30), audioRun(500, 480)));
  assert.deepEqual(r.video.map((s) => s.startTicks), [0, 180000, 360000, 540000, 720000]);
  const videoCutsSeconds = r.video.map((s) => s.startTicks / 90000);
  const audioStartsSeconds = r.audio.map((s) => s.startTicks / 48000);
  assert.deepEqual(audioStartsSeconds, [0.01, 2.01, 4.01, 6.01, 8.01]);
  audioStartsSeconds.slice(1).forEach((start, k) => {
    const cut = videoCutsSeconds[k + 1] ?? NaN;
    assert.ok(start >= cut && start < cut + 0.02, `audio segment ${k + 2} starts within one frame after the cut`);
  });
  assertContinuous(r.audio);
  assert.equal(r.audio.reduce((n, s) => n + s.sampleCount, 0), 500);
  // Each audio segment is emitted when the first audio frame past the cut arrives, right after its video segment.
  const emitted = segmentsAt(r);
  for (const { segment, at } of emitted.filter((e) => e.segment.track === "audio").slice(0, -1)) {
    const video = emitted.find((e) => e.segment.track === "video" && e.segment.number === segment.number);
    assert.ok(video !== undefined && video.at <= at, `audio ${segment.number} after video ${segment.number}`);
  }
});

Deno.test("Segmenter drops audio before the first keyframe's time", () => {
  const events = [
    audio(0),
    audio(960),
    video(0), // not a keyframe: dropped
    audio(1920),
    ...videoRun(90, 30, 3000).map((e, i) => i === 0 ? video(3000, true) : e),
    ...audioRun(140, 2880),
  ];
  const r = run(AV, events);
  // The first keyframe is at 3000/90000 s = 1600 audio ticks, so frames at 0, 960 are dropped; 1920 is kept.
  assert.equal(r.audio[0]?.startTicks, 1920);
  assert.equal(r.segmenter.stats.droppedBeforeKeyframe, 3);
  const placedAudio = r.audio.reduce((n, s) => n + s.sampleCount, 0);
  assert.equal(placedAudio, 141);
});

Deno.test("Segmenter buffers audio until video decides its cuts: same output in any arrival order", () => {
  const videoEvents = videoRun(150, 30);
  const audioEvents = audioRun(250);
  const reference = run(AV, interleave(videoEvents, audioEvents));
  const audioFirst = run(AV, [...audioEvents.slice(0, 200), ...videoEvents, ...audioEvents.slice(200)]);
  const videoFirst = run(AV, [...videoEvents, ...audioEvents]);
  for (const other of [audioFirst, videoFirst]) {
    assert.deepEqual(timing(other.video), timing(reference.video));
    assert.deepEqual(timing(other.audio), timing(reference.audio));
    assert.deepEqual(other.audio.map((s) => s.bytes), reference.audio.map((s) => s.bytes));
    assert.equal(other.segmenter.stats.droppedFrames, 0);
  }
  assert.equal(timing(reference.audio).length, 3);
});

Deno.test("Segmenter absorbs lost audio into the previous sample so audio stays on its pts", () => {
  // Frames 10..14 lost: frame 9 lasts 6 frames' worth and frame 15 still starts at its own pts.
  const events = audioRun(50).filter((_, i) => i < 10 || i >= 15);
  const r = run({ segmentDurationMs: 2000, firstNumber: 1, audio: AUDIO_TRACK }, events);
  const samples = readBack("audio", r.audio).flat();
  assert.equal(samples[9]?.duration, 6 * 960);
  assert.equal(samples[10]?.dts, 15 * 960);
  assert.equal(samples.at(-1)?.duration, 960, "the last frame keeps its own duration");
});

Deno.test("Segmenter gives an audio frame that claims no duration the previous one at flush", () => {
  const r = run({ segmentDurationMs: 2000, firstNumber: 1, audio: AUDIO_TRACK }, [
    audio(0),
    audio(960),
    audio(1920, 0),
  ]);
  assert.deepEqual(readBack("audio", r.audio).flat().map((s) => s.duration), [960, 960, 960]);
});

Deno.test("Segmenter cuts audio-only recordings every segment duration", () => {
  const r = run({ segmentDurationMs: 1000, firstNumber: 3, audio: AUDIO_TRACK }, audioRun(160, 960));
  assert.deepEqual(timing(r.audio), [
    [3, 960, 48000, 50],
    [4, 48960, 48000, 50],
    [5, 96960, 48000, 50],
    [6, 144960, 9600, 10],
  ]);
  const samples = readBack("audio", r.audio).flat();
  assert.equal(samples.length, 160);
  assert.ok(samples.every((s) => s.isSync));
});

Deno.test("Segmenter keeps audio flowing when video stalls, after maxAudioWaitMs, without losing frames", () => {
  // Video stops after 1 s; 30 s of audio keep coming; then flush.
  const r = run({ ...AV, maxAudioWaitMs: 5000 }, interleave(videoRun(30, 30), audioRun(1500)));
  assert.equal(r.segmenter.stats.droppedFrames, 0);
  assert.equal(r.audio.reduce((n, s) => n + s.sampleCount, 0), 1500);
  assert.ok(r.segmenter.stats.audioPlacedEarly > 0, "audio was placed without waiting for video");
  // Placed audio was bounded by the wait: no more than ~5 s may sit in the queue at the end.
  const beforeFlush = r.emitted.filter((e) => e.at < 1530).length;
  assert.equal(beforeFlush, 0, "no cut happened, nothing to emit before flush");
});

Deno.test("Segmenter drops audio that waits longer than maxAudioWaitMs for a first keyframe", () => {
  const r = run({ ...AV, maxAudioWaitMs: 1000 }, [...audioRun(200), ...videoRun(60, 30, 4 * 90000)]);
  // 4 s of audio, video starts at 4 s: all of it is either too old or before the keyframe.
  assert.equal(r.segmenter.stats.droppedAudioWait + r.segmenter.stats.droppedBeforeKeyframe, 200);
  assert.ok(r.segmenter.stats.droppedAudioWait > 0, "some audio was dropped while waiting");
  assert.deepEqual(r.audio, []);
});

Deno.test("Segmenter drops all audio at flush when no video keyframe ever came", () => {
  const r = run(AV, [video(0), ...audioRun(100)]);
  assert.deepEqual(r.emitted, []);
  assert.equal(r.segmenter.stats.droppedFrames, 101);
});

/** Fragment summary: [segmentNumber, startTicks, durationTicks, sampleCount]. */
function fragmentTiming(segments: readonly Segment[]): number[][] {
  return segments.flatMap((s) =>
    s.fragments.map((f) => [f.segmentNumber, f.startTicks, f.durationTicks, f.samples.length])
  );
}

Deno.test("Segmenter closes a fragment of 30 fps video or Opus once it spans fragmentDurationMs (1 s)", () => {
  const events = interleave(videoRun(300, 60), audioRun(500));
  const r = run({ ...AV, fragmentDurationMs: 1000 }, events);
  const seconds = (n: number, ticksPerSecond: number, samples: number) =>
    Array.from({ length: n }, (_, k) => [Math.floor(k / 2) + 1, k * ticksPerSecond, ticksPerSecond, samples]);
  assert.deepEqual(fragmentTiming(r.video), seconds(10, 90000, 30));
  assert.deepEqual(fragmentTiming(r.audio), seconds(10, 48000, 50));
  assert.deepEqual(timing(r.video), [1, 2, 3, 4, 5].map((n) => [n, (n - 1) * 180000, 180000, 60]));
  // A fragment goes out with the push of the first frame after its span (its last sample's duration is known then).
  r.emitted.forEach(({ at, output }) => {
    if (output.type !== "fragment" || at === events.length) return;
    const event = events[at];
    const endPts = output.startTicks + output.durationTicks;
    assert.ok(
      event !== undefined && output.track in event,
      `${output.track} fragment emitted by a ${output.track} push`,
    );
    assert.equal("video" in event ? event.video.dtsTicks : "audio" in event ? event.audio.ptsTicks : NaN, endPts);
  });
  assert.equal(r.emitted.filter((e) => e.at === events.length).length, 4, "flush: last fragment and segment of each");
});

Deno.test("Segmenter ends a video fragment on any frame and starts a new one with every segment", () => {
  // 700 ms fragments of 100 ms frames: 7 frames each; keyframes every 1.5 s cut 3 s segments.
  const events = Array.from({ length: 60 }, (_, i) => video(i * 9000, i % 15 === 0));
  const r = run({ segmentDurationMs: 2500, fragmentDurationMs: 700, firstNumber: 1, video: VIDEO_TRACK }, events);
  assert.deepEqual(fragmentTiming(r.video), [
    [1, 0, 63000, 7],
    [1, 63000, 63000, 7],
    [1, 126000, 63000, 7],
    [1, 189000, 63000, 7],
    [1, 252000, 18000, 2], // cut at 3 s by the keyframe, mid-fragment
    [2, 270000, 63000, 7],
    [2, 333000, 63000, 7],
    [2, 396000, 63000, 7],
    [2, 459000, 63000, 7],
    [2, 522000, 18000, 2], // flush
  ]);
  const read = readBack("video", r.video).flat();
  let index = 0;
  for (const fragment of r.video.flatMap((s) => s.fragments)) {
    assert.equal(read[index]?.dts, fragment.startTicks, "tfdt is the first sample's decode time");
    index += fragment.samples.length;
  }
});

Deno.test("Segmenter fragments concatenate to the same samples as one-fragment segments (mp4box)", () => {
  const events = interleave(videoRun(400, 45), audioRun(660, 480));
  const whole = run(AV, events);
  for (const fragmentDurationMs of [20, 333, 1000, 1900, 5000]) {
    const r = run({ ...AV, fragmentDurationMs }, events);
    for (const kind of ["video", "audio"] as const) {
      const where = `${kind}, ${fragmentDurationMs} ms`;
      assert.deepEqual(timing(r[kind]), timing(whole[kind]), `${where}: segments`);
      assert.deepEqual(readBack(kind, r[kind]), readBack(kind, whole[kind]), `${where}: samples`);
      // Each segment file alone, after the init segment, holds exactly its samples.
      for (const segment of r[kind]) {
        const trackId = kind === "video" ? VIDEO_TRACK.trackId : AUDIO_TRACK.trackId;
        const samples = parseMp4(concat([init(kind), segment.bytes])).samples.get(trackId) ?? [];
        assert.equal(samples.length, segment.sampleCount, `${where}: segment ${segment.number} samples`);
        assert.equal(samples[0]?.dts, segment.startTicks, `${where}: segment ${segment.number} start`);
      }
    }
    const fragmentsPerSegment = r.video.map((s) => s.fragments.length);
    if (fragmentDurationMs < 1000) assert.ok(fragmentsPerSegment.every((n) => n > 1), "several fragments");
    if (fragmentDurationMs >= 5000) assert.ok(fragmentsPerSegment.every((n) => n === 1), "fragment > segment: one");
  }
});

Deno.test("Segmenter numbers fragments (mfhd) 1, 2, 3... per track with tfdt continuous across segments", () => {
  const r = run({ ...AV, firstNumber: 40, fragmentDurationMs: 400 }, interleave(videoRun(200, 60), audioRun(330)));
  for (const kind of ["video", "audio"] as const) {
    const fragments = r[kind].flatMap((s) => s.fragments);
    assert.ok(r[kind].length >= 3 && fragments.length > 2 * r[kind].length, `${kind}: several segments and fragments`);
    const moofs = parseMp4(concat([init(kind), ...r[kind].map((s) => s.bytes)])).file.moofs;
    assert.deepEqual(moofs.map((m) => m.mfhd?.sequence_number), fragments.map((_, k) => k + 1), `${kind} mfhd`);
    assert.deepEqual(moofs.map((m) => m.trafs[0]?.tfdt?.baseMediaDecodeTime), fragments.map((f) => f.startTicks));
    fragments.slice(1).forEach((f, k) => {
      const previous = fragments[k];
      assert.equal(f.startTicks, (previous?.startTicks ?? NaN) + (previous?.durationTicks ?? NaN), `${kind} tfdt ${k}`);
    });
  }
});

Deno.test("Segmenter flush emits each track's last fragment and then its segment", () => {
  const r = run({ ...AV, fragmentDurationMs: 1000 }, interleave(videoRun(45, 30), audioRun(70)));
  const flushed = r.emitted.filter((e) => e.at === 115).map((e) => [e.output.type, e.output.track]);
  assert.deepEqual(flushed, [["fragment", "video"], ["segment", "video"], ["fragment", "audio"], ["segment", "audio"]]);
  assert.deepEqual(fragmentTiming(r.video), [[1, 0, 90000, 30], [1, 90000, 45000, 15]]);
  assert.deepEqual(fragmentTiming(r.audio), [[1, 0, 48000, 50], [1, 48000, 19200, 20]]);
});

Deno.test("Segmenter without fragmentDurationMs emits each segment as one fragment right before it", () => {
  const r = run(AV, interleave(videoRun(200, 60), audioRun(330)));
  const outputs = r.emitted.map((e) => e.output);
  outputs.forEach((output, k) => {
    if (output.type !== "segment") return;
    const fragment = outputs[k - 1];
    assert.ok(fragment?.type === "fragment" && fragment.track === output.track, "its fragment just before it");
    assert.deepEqual(
      [fragment.segmentNumber, fragment.startTicks, fragment.durationTicks, fragment.samples.length],
      [output.number, output.startTicks, output.durationTicks, output.sampleCount],
    );
  });
  assert.equal(outputs.length, 2 * (r.video.length + r.audio.length));
  assert.ok([...r.video, ...r.audio].every((s) => s.fragments.length === 1));
});

Deno.test("Segmenter rejects misuse as bugs", () => {
  assert.throws(() => new Segmenter({ segmentDurationMs: 2000, firstNumber: 1 }), Error, "no track");
  assert.throws(
    () => new Segmenter({ segmentDurationMs: 0, firstNumber: 1, video: VIDEO_TRACK }),
    Error,
    "zero duration",
  );
  assert.throws(
    () => new Segmenter({ segmentDurationMs: 2000, fragmentDurationMs: 0, firstNumber: 1, video: VIDEO_TRACK }),
    Error,
    "zero fragment duration",
  );
  const videoOnly = new Segmenter({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK });
  assert.throws(
    () => videoOnly.pushAudio({ ptsTicks: 0, durationTicks: 960, data: new Uint8Array(1) }),
    Error,
    "no audio",
  );
  videoOnly.flush();
  assert.throws(
    () => videoOnly.pushVideo({ dtsTicks: 0, isKeyframe: true, data: new Uint8Array(1) }),
    Error,
    "after flush",
  );
});

/** A messy A/V session: leading P-frames, irregular GOPs, jitter, duplicates, loss, rare jumps, arrival skew. */
function messySession(rand: () => number): { events: Event[]; maxAudioStepTicks: number; hasJump: boolean } {
  const videoEvents: Event[] = [];
  const audioEvents: Event[] = [];
  let videoPts = Math.floor(rand() * 9000);
  let sinceKeyframe = 0;
  let hasJump = false;
  const frames = 100 + Math.floor(rand() * 400);
  for (let i = 0; i < frames; i++) {
    const roll = rand();
    if (roll < 0.02) videoPts -= Math.floor(rand() * 6000); // backward step
    else if (roll < 0.021) {
      videoPts += 15 * 90000; // timestamp jump
      hasJump = true;
    } else if (roll > 0.05) videoPts += 2900 + Math.floor(rand() * 200); // jittery 30 fps (else: duplicate)
    const isKeyframe = i > 3 && (rand() < 0.02 || sinceKeyframe > 20 + rand() * 100);
    sinceKeyframe = isKeyframe ? 0 : sinceKeyframe + 1;
    videoEvents.push(video(Math.max(0, videoPts), isKeyframe, 1 + Math.floor(rand() * 40)));
  }
  let audioPts = Math.floor(rand() * 48000);
  let maxAudioStepTicks = 960;
  const audioFrames = Math.floor((frames * 3000 * 48000) / 90000 / 960);
  for (let i = 0; i < audioFrames; i++) {
    const roll = rand();
    const lost = roll < 0.05 ? 1 + Math.floor(rand() * 3) : 0;
    const step = roll > 0.99 ? 0 : 960 * (1 + lost);
    if (step > 0 && i > 0) maxAudioStepTicks = Math.max(maxAudioStepTicks, step);
    audioPts += step;
    audioEvents.push(audio(audioPts));
  }
  // Arrival skew: one track runs up to 0.5 s ahead of the other.
  const skewSeconds = (rand() - 0.5) * 1;
  const at = (e: Event) => ("video" in e ? e.video.dtsTicks / 90000 + skewSeconds : e.audio.ptsTicks / 48000);
  const events: Event[] = [];
  let v = 0;
  let a = 0;
  while (v < videoEvents.length || a < audioEvents.length) {
    const nextVideo = videoEvents[v];
    const nextAudio = audioEvents[a];
    if (nextVideo !== undefined && (nextAudio === undefined || at(nextVideo) <= at(nextAudio))) {
      events.push(nextVideo);
      v++;
    } else if (nextAudio !== undefined) {
      events.push(nextAudio);
      a++;
    }
  }
  return { events, maxAudioStepTicks, hasJump };
}

/** Asserts a track's fragments against the segments they make up: each one closed as soon as it spanned
 * `fragmentDurationMs` (or by its segment's end), mfhd 1, 2, 3..., and `scanSegment` finding exactly them. */
function assertFragments(
  kind: "video" | "audio",
  segments: readonly Segment[],
  fragmentDurationMs: number | undefined,
  where: string,
): void {
  const timescale = kind === "video" ? VIDEO_TRACK.timescale : AUDIO_TRACK.timescale;
  const durations = readBack(kind, segments).map((samples) => samples.map((s) => s.duration));
  let sequenceNumber = 1;
  segments.forEach((segment, k) => {
    if (fragmentDurationMs === undefined) assert.equal(segment.fragments.length, 1, `${where}: one fragment`);
    let sampleIndex = 0;
    let offset = 0;
    const expected = segment.fragments.map((fragment, f) => {
      const own = durations[k]?.slice(sampleIndex, sampleIndex + fragment.samples.length) ?? [];
      sampleIndex += fragment.samples.length;
      assert.equal(own.reduce((d, x) => d + x, 0), fragment.durationTicks, `${where}: ${kind} fragment duration`);
      if (fragmentDurationMs !== undefined) {
        const targetTicks = (fragmentDurationMs * timescale) / 1000;
        const isLast = f === segment.fragments.length - 1;
        if (!isLast) assert.ok(fragment.durationTicks >= targetTicks, `${where}: ${kind} fragment long enough`);
        const withoutLast = fragment.durationTicks - (own[own.length - 1] ?? 0);
        assert.ok(withoutLast < targetTicks, `${where}: ${kind} fragment closed as soon as it was long enough`);
      }
      // The styp heading the first fragment's bytes is not part of the scanned moof + mdat pair.
      const stypBytes = f === 0 ? new DataView(fragment.bytes.buffer, fragment.bytes.byteOffset).getUint32(0) : 0;
      const scanned = {
        offset: offset + stypBytes,
        sizeBytes: fragment.bytes.byteLength - stypBytes,
        sequenceNumber: sequenceNumber++,
        baseDecodeTimeTicks: fragment.startTicks,
        durationTicks: fragment.durationTicks,
        sampleCount: fragment.samples.length,
      };
      offset += fragment.bytes.byteLength;
      return scanned;
    });
    assert.deepEqual(scanSegment(segment.bytes), { fragments: expected, validBytes: segment.sizeBytes }, where);
  });
}

Deno.test("Segmenter invariants hold over random sessions (continuity, sync starts, no frame lost, alignment, fragments)", () => {
  for (let seed = 1; seed <= 100; seed++) {
    const rand = seededRandom(seed);
    const { events, maxAudioStepTicks, hasJump } = messySession(rand);
    const opts: SegmenterOptions = {
      ...AV,
      segmentDurationMs: 500 + Math.floor(rand() * 3000),
      firstNumber: 1 + Math.floor(rand() * 1000),
    };
    const fragmentDurationMs = rand() < 0.25 ? undefined : 20 + Math.floor(rand() * 2500);
    const r = run(fragmentDurationMs === undefined ? opts : { ...opts, fragmentDurationMs }, events);
    const stats = r.segmenter.stats;
    const where = `seed ${seed}`;
    const placed = [...r.video, ...r.audio].reduce((n, s) => n + s.sampleCount, 0);
    assert.equal(placed, stats.videoFrames + stats.audioFrames - stats.droppedFrames, `${where}: frames accounted`);
    assert.equal(
      stats.droppedFrames,
      stats.droppedBeforeKeyframe + stats.droppedNonIncreasing + stats.droppedAudioWait,
      `${where}: drop counters`,
    );
    if (!hasJump) assert.equal(stats.droppedAudioWait, 0, `${where}: no audio waited 10 s`);
    for (const track of [r.video, r.audio]) {
      assert.deepEqual(track.map((s) => s.number), track.map((_, k) => opts.firstNumber + k), `${where}: numbering`);
      assertContinuous(track);
    }
    const videoSamples = readBack("video", r.video);
    videoSamples.forEach((samples, k) => {
      assert.ok(samples[0]?.isSync === true, `${where}: video segment ${k} starts with a sync sample`);
      const segment = r.video[k];
      assert.ok(segment !== undefined, "segment");
      assert.equal(samples[0]?.dts, segment.startTicks, `${where}: tfdt of video segment ${k}`);
      assert.equal(samples.reduce((d, s) => d + s.duration, 0), segment.durationTicks, `${where}: duration ${k}`);
      assert.ok(samples.every((s) => s.duration > 0 && s.duration <= 10 * 90000), `${where}: sane video durations`);
      if (k < r.video.length - 1) {
        assert.ok(
          segment.durationTicks * 1000 >= opts.segmentDurationMs * 90,
          `${where}: video segment ${k} long enough`,
        );
      }
    });
    readBack("audio", r.audio).forEach((samples, k) => {
      assert.equal(samples[0]?.dts, r.audio[k]?.startTicks, `${where}: tfdt of audio segment ${k}`);
    });
    if (stats.audioPlacedEarly === 0 && stats.timestampJumps === 0) {
      // Every audio boundary sits at or just after a video cut (within one audio step).
      const cuts = r.video.map((s) => s.startTicks / 90000);
      for (const segment of r.audio.slice(1)) {
        const start = segment.startTicks / 48000;
        const ok = cuts.some((cut) => start >= cut && start < cut + maxAudioStepTicks / 48000 + 1e-9);
        assert.ok(ok, `${where}: audio segment ${segment.number} at ${start}s is aligned to a video cut`);
      }
    }
    // Fragments change how segments are delivered, never what they contain.
    const whole = fragmentDurationMs === undefined ? r : run(opts, events);
    for (const kind of ["video", "audio"] as const) {
      assertFragments(kind, r[kind], fragmentDurationMs, where);
      assert.deepEqual(timing(r[kind]), timing(whole[kind]), `${where}: ${kind} segments as without fragments`);
      assert.deepEqual(readBack(kind, r[kind]), readBack(kind, whole[kind]), `${where}: ${kind} samples`);
    }
  }
});

Deno.test("Segmenter says a keyframe is due once the open segment reaches the target, until one arrives", () => {
  const segmenter = new Segmenter({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK });
  assert.equal(segmenter.keyframeDue, false, "nothing recorded yet");
  segmenter.pushVideo({ dtsTicks: 0, isKeyframe: true, data: new Uint8Array(4) });
  for (let i = 1; i <= 60; i++) {
    segmenter.pushVideo({ dtsTicks: i * 3000, isKeyframe: false, data: new Uint8Array(4) });
    assert.equal(segmenter.keyframeDue, i * 3000 >= 180000, `after frame ${i}`);
  }
  const cut = segmenter.pushVideo({ dtsTicks: 63 * 3000, isKeyframe: true, data: new Uint8Array(4) });
  assert.ok(cut.some((o) => o.type === "segment"), "the keyframe cuts the overdue segment");
  assert.equal(segmenter.keyframeDue, false, "a fresh segment is not due");
});

Deno.test("SegmentCutter hands out the cuts the fMP4 Segmenter writes: the same fragments, segments and samples", () => {
  const events = interleave(videoRun(150, 45), audioRun(250));
  const opts = { ...AV, fragmentDurationMs: 1000 };
  const cutter = new SegmentCutter(opts);
  const cuts = events.flatMap((e) => "video" in e ? cutter.pushVideo(e.video) : cutter.pushAudio(e.audio));
  cuts.push(...cutter.flush());
  const written = run(opts, events).emitted.map((e) => e.output);
  // What a second container writer would get from the cutter is what became fMP4: one output a cut, same times.
  assert.deepEqual(
    cuts.map((c) => [c.type, c.track, c.startTicks, c.durationTicks, c.type === "fragment" ? c.samples.length : 0]),
    written.map((o) => [o.type, o.track, o.startTicks, o.durationTicks, o.type === "fragment" ? o.samples.length : 0]),
  );
  const fragment = cuts.find((c): c is FragmentCut => c.type === "fragment" && c.track === "video")!;
  assert.ok(fragment.firstOfSegment && fragment.samples[0]!.isSync, "a segment's first fragment opens on a keyframe");
  const bytes = (written.find((o) => o.type === "fragment" && o.track === "video") as FragmentOutput).bytes;
  const mdat = bytes.subarray(bytes.byteLength - fragment.samples.reduce((n, s) => n + s.data.byteLength, 0));
  assert.deepEqual(mdat, concat(fragment.samples.map((s) => s.data)), "the mdat holds the cut's samples in order");
});

Deno.test("SegmentCutter keeps B-frames' composition offsets on a decode timeline and cuts at keyframes by decode time", () => {
  // I P B B P B B ... in decode order: dts steps by one frame, each P presents 3 frames after it decodes and each B
  // one frame before; the I frame presents 1 frame late, as x264 sends it (the offsets as RTMP carries them).
  const offsets = [1, 3, -1, -1];
  const frames: VideoFrame[] = Array.from({ length: 120 }, (_, i) => ({
    dtsTicks: i * 3000,
    ctsOffsetTicks: (i % 30 === 0 ? 1 : offsets[1 + ((i % 30) - 1) % 3]!) * 3000,
    isKeyframe: i % 30 === 0,
    data: new Uint8Array([i & 0xff]),
  }));
  const cutter = new SegmentCutter({ segmentDurationMs: 2000, firstNumber: 1, video: VIDEO_TRACK });
  const cuts = [...frames.flatMap((f) => cutter.pushVideo(f)), ...cutter.flush()];
  const fragments = cuts.filter((c): c is FragmentCut => c.type === "fragment");
  const samples = fragments.flatMap((f) => f.samples);
  assert.deepEqual(samples.map((s) => s.ctsOffsetTicks), frames.map((f) => f.ctsOffsetTicks));
  assert.deepEqual(fragments.map((f) => f.startTicks), [0, 60 * 3000], "2 s segments, cut at the keyframes' dts");
  assert.ok(fragments.every((f) => f.samples[0]!.isSync));
});
