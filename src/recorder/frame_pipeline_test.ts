/** FramePipeline on the test clip's H.264 as RTMP would send it, with AAC audio timed in milliseconds. */

import assert from "node:assert/strict";
import { FRAME_AUDIO_CODECS, FRAME_VIDEO_CODECS, type FramedAudioFormat, toLengthPrefixed } from "../codec/mod.ts";
import { type FragmentOutput, readSegmentSamples, type SampleWithTime, type SegmentOutput } from "../media/mod.ts";
import { loadClip } from "../../scripts/clip.ts";
import { FramePipeline } from "./frame_pipeline.ts";
import type { FrameTrack, SourceFrame } from "./source.ts";
import { type PipelineOutput, VIDEO_TIMESCALE } from "./track_outputs.ts";

const clip = await loadClip();
const h264 = FRAME_VIDEO_CODECS.get("avc1")!.codec;
/** AAC LC, 44.1 kHz, stereo (AudioSpecificConfig 0x12 0x10): 1024 samples a frame, 23.2 ms. */
const aac = FRAME_AUDIO_CODECS.get("mp4a")!.format(
  new Uint8Array([0x12, 0x10]),
  new Uint8Array(1),
) as FramedAudioFormat;
const AAC_FRAME_MS = 1024 * 1000 / 44_100;

function tracks(): FrameTrack[] {
  const parameterSets = clip.video[0]!.nalUnits.filter((nal) => (nal[0]! & 0x1f) === 7 || (nal[0]! & 0x1f) === 8);
  return [{ kind: "video", codec: h264, parameterSets }, {
    kind: "audio",
    codec: FRAME_AUDIO_CODECS.get("mp4a")!,
    format: aac,
  }];
}

/** The clip's video as RTMP frames (ms timestamps), with `ctsMs(i)` as each frame's composition offset. */
function videoFrames(ctsMs: (i: number) => number): SourceFrame[] {
  return clip.video.map((frame, i) => ({
    dtsMs: Math.round(frame.ticks / 90),
    ctsOffsetMs: ctsMs(i),
    keyframe: frame.keyframe,
    data: toLengthPrefixed(frame.nalUnits),
  }));
}

/** AAC frames over `seconds`, their timestamps rounded down to whole ms as RTMP carries them, from `startMs`. */
function audioFrames(seconds: number, startMs = 0): SourceFrame[] {
  return Array.from({ length: Math.floor(seconds * 1000 / AAC_FRAME_MS) }, (_, n) => ({
    dtsMs: startMs + Math.floor(n * AAC_FRAME_MS),
    ctsOffsetMs: 0,
    keyframe: true,
    data: new Uint8Array([n & 0xff, 1, 2]),
  }));
}

/** Runs frames of both kinds through a pipeline in timestamp order. */
function run(video: SourceFrame[], audio: SourceFrame[]) {
  const pipeline = new FramePipeline({ tracks: tracks(), segmentDurationMs: 2000, firstNumber: 1 });
  const outputs: PipelineOutput[] = [...pipeline.start()];
  const events = [
    ...video.map((frame) => ({ kind: "video" as const, frame })),
    ...audio.map((frame) => ({ kind: "audio" as const, frame })),
  ].sort((a, b) => a.frame.dtsMs - b.frame.dtsMs);
  for (const { kind, frame } of events) outputs.push(...pipeline.pushFrame(kind, frame, 1_000 + frame.dtsMs));
  outputs.push(...pipeline.flush());
  const samples = (track: "video" | "audio"): SampleWithTime[] =>
    outputs.filter((o): o is FragmentOutput => o.type === "fragment" && o.track === track)
      .flatMap((o) => readSegmentSamples(o.bytes));
  const segments = outputs.filter((o): o is SegmentOutput => o.type === "segment");
  return { pipeline, outputs, segments, video: samples("video"), audio: samples("audio") };
}

Deno.test("FramePipeline times AAC by its 1024 samples, not by RTMP's whole milliseconds", () => {
  const { video, audio, pipeline } = run(videoFrames(() => 0), audioFrames(4));
  assert.equal(video.length, clip.video.length);
  assert.equal(audio.length, audioFrames(4).length);
  assert.ok(audio.slice(0, -1).every((s) => s.durationTicks === 1024), "every AAC frame lasts 1024 samples");
  assert.deepEqual(audio.map((s) => s.decodeTimeTicks), audio.map((_, n) => n * 1024));
  assert.equal(pipeline.stats.droppedFrames, 0);
});

Deno.test("FramePipeline keeps a gap in the audio where RTMP's timestamps jump", () => {
  const audio = [...audioFrames(1), ...audioFrames(1, 1_500)];
  const result = run(videoFrames(() => 0), audio);
  const second = result.audio[audioFrames(1).length]!;
  assert.equal(second.decodeTimeTicks, Math.round(1.5 * 44_100), "the frame after the gap starts 1.5 s in");
});

Deno.test("FramePipeline keeps B-frames' composition offsets; the first keyframe decodes where it presents", () => {
  // As x264 with B-frames sends it: the keyframe presents 2 frames after it decodes, the rest by a pattern.
  const pattern = [67, 133, 33, 0];
  const { video } = run(videoFrames((i) => i === 0 ? 67 : pattern[i % 4]!), audioFrames(4));
  assert.equal(video[0]!.ctsOffsetTicks, 0, "the first keyframe: decode time = presentation time");
  assert.equal(video[0]!.decodeTimeTicks, 67 * 90, "decode times move later by its offset");
  video.forEach((sample, i) => {
    const want = (i === 0 ? 67 : pattern[i % 4]!) * 90 - 67 * 90;
    assert.equal(sample.ctsOffsetTicks, want, `frame ${i}'s offset, relative to the first keyframe's`);
  });
  const presentationTicks = video[1]!.decodeTimeTicks + video[1]!.ctsOffsetTicks;
  const sentMs = Math.round(clip.video[1]!.ticks / 90) + pattern[1]!;
  assert.equal(presentationTicks, sentMs * VIDEO_TIMESCALE / 1000, "presentation as sent");
});

Deno.test("FramePipeline drops audio from before the first keyframe", () => {
  const early = audioFrames(0.5, -500);
  const { audio, pipeline } = run(videoFrames(() => 0), [...early, ...audioFrames(2)]);
  assert.equal(audio.length, audioFrames(2).length);
  assert.equal(pipeline.stats.droppedFrames, early.length);
});
