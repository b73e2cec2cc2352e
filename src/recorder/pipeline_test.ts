import assert from "node:assert/strict";
import { loadClip } from "../../scripts/clip.ts";
import { CLIP_TRACKS, clipPackets, type TimedPacket } from "../../tests/helpers/clip_packets.ts";
import type { SegmentOutput } from "../media/mod.ts";
import { NO_REPORT_WAIT_MS, type PipelineOutput, RecordingPipeline, VIDEO_TIMESCALE } from "./pipeline.ts";

const clip = await loadClip();
const TRACKS = CLIP_TRACKS;

function run(packets: TimedPacket[], tracks = TRACKS, segmentDurationMs = 2000) {
  const pipeline = new RecordingPipeline({ tracks, segmentDurationMs, firstNumber: 1 });
  const outputs: PipelineOutput[] = [...pipeline.start()];
  for (const { kind, packet, arrivalMs } of packets) outputs.push(...pipeline.pushRtp(kind, packet, arrivalMs));
  outputs.push(...pipeline.flush());
  const segments = outputs.filter((o): o is SegmentOutput => o.type === "segment");
  return {
    pipeline,
    outputs,
    video: segments.filter((s) => s.track === "video"),
    audio: segments.filter((s) => s.track === "audio"),
  };
}

function frames(segments: SegmentOutput[]): number {
  return segments.reduce((sum, s) => sum + s.sampleCount, 0);
}

function assertContinuous(segments: SegmentOutput[]): void {
  for (let i = 1; i < segments.length; i++) {
    assert.equal(segments[i]!.startTicks, segments[i - 1]!.startTicks + segments[i - 1]!.durationTicks);
    assert.equal(segments[i]!.number, segments[i - 1]!.number + 1);
  }
}

Deno.test("RecordingPipeline records every frame of a clean stream into keyframe-aligned segments", () => {
  const { outputs, video, audio, pipeline } = run(clipPackets(clip, { seconds: 8 }));
  assert.deepEqual(outputs.slice(0, 1).map((o) => o.type === "init" && o.track), ["audio"]);
  const videoInit = outputs.find((o) => o.type === "init" && o.track === "video");
  assert.ok(videoInit?.type === "init");
  assert.equal(videoInit.details.codecs, "avc1.42c01f");
  assert.equal(videoInit.details.widthPx, 1280);
  assert.equal(frames(video), 240);
  assert.equal(frames(audio), 400);
  assert.equal(video.length, 4);
  assertContinuous(video);
  assertContinuous(audio);
  assert.equal(video[0]!.startTicks, 0);
  const totalVideo = video.reduce((sum, s) => sum + s.durationTicks, 0) / VIDEO_TIMESCALE;
  assert.ok(Math.abs(totalVideo - 8) < 0.001, `video ${totalVideo} s`);
  assert.ok(Math.abs(audio[0]!.startTicks) / 48_000 < 0.034, "audio starts within one frame of video");
  assert.equal(pipeline.stats.lostPackets, 0);
  assert.equal(pipeline.waitingForKeyframe, false);
});

Deno.test("RecordingPipeline is unaffected by RTP sequence and timestamp wrap-around", () => {
  const packets = clipPackets(clip, {
    seconds: 6,
    videoTimestampStart: 2 ** 32 - 90_000 * 2,
    audioTimestampStart: 2 ** 32 - 48_000 * 3,
    videoSequenceStart: 65_000,
    audioSequenceStart: 65_500,
  });
  const { video, audio } = run(packets);
  assert.equal(frames(video), 180);
  assert.equal(frames(audio), 300);
  assertContinuous(video);
  assertContinuous(audio);
  const seconds = video.reduce((sum, s) => sum + s.durationTicks, 0) / VIDEO_TIMESCALE;
  assert.ok(Math.abs(seconds - 6) < 0.001);
});

Deno.test("RecordingPipeline restores reordered packets without loss", () => {
  const packets = clipPackets(clip, { seconds: 4 });
  for (let i = 10; i + 3 < packets.length; i += 17) {
    [packets[i], packets[i + 2]] = [packets[i + 2]!, packets[i]!];
  }
  const { video, audio, pipeline } = run(packets);
  assert.equal(frames(video), 120);
  assert.equal(frames(audio), 200);
  assert.equal(pipeline.stats.lostPackets, 0);
});

Deno.test("RecordingPipeline drops a damaged frame, waits for the next keyframe, and keeps recording", () => {
  const packets = clipPackets(clip, { seconds: 4 });
  // Lose the last packet of the 45th video frame, mid-GOP in the second second.
  const lastPackets = packets.flatMap((p, i) => p.kind === "video" && p.packet.marker ? [i] : []);
  packets.splice(lastPackets[44]!, 1);
  const { video, pipeline } = run(packets);
  assert.equal(pipeline.stats.lostPackets, 1);
  // Frames 45 to 60 are lost (the damaged one and the rest of its GOP); the keyframe at 2 s resumes recording.
  assert.equal(frames(video), 120 - 16);
  assertContinuous(video);
  assert.equal(pipeline.waitingForKeyframe, false);
});

Deno.test("RecordingPipeline waits for the first keyframe and says so", () => {
  const packets = clipPackets(clip, { seconds: 2 });
  const firstP = packets.findIndex((p) => p.kind === "video" && p.packet.marker) + 1;
  const pipeline = new RecordingPipeline({ tracks: TRACKS, segmentDurationMs: 2000, firstNumber: 1 });
  assert.equal(pipeline.waitingForKeyframe, true);
  // Start mid-GOP: everything before the keyframe at 1 s is dropped.
  const fromMidGop = packets.slice(firstP).filter((p) => p.kind === "video");
  for (const p of fromMidGop.slice(0, 50)) pipeline.pushRtp(p.kind, p.packet, p.arrivalMs);
  assert.equal(pipeline.waitingForKeyframe, true);
  for (const p of fromMidGop.slice(50)) pipeline.pushRtp(p.kind, p.packet, p.arrivalMs);
  assert.equal(pipeline.waitingForKeyframe, false);
});

Deno.test("RecordingPipeline aligns audio and video from RTCP sender reports when every track has one", () => {
  const packets = clipPackets(clip, { seconds: 4, videoTimestampStart: 1_000, audioTimestampStart: 7_000_000 });
  const pipeline = new RecordingPipeline({ tracks: TRACKS, segmentDurationMs: 2000, firstNumber: 1 });
  // Both clocks map media time 0 to the same NTP instant; arrival times claim audio is 500 ms late.
  pipeline.pushSenderReport("video", { ntpMs: 5_123.4, rtpTimestamp: 1_000, arrivalMs: 5_123.4 });
  pipeline.pushSenderReport("audio", { ntpMs: 5_123.4, rtpTimestamp: 7_000_000, arrivalMs: 5_123.4 });
  const outputs: PipelineOutput[] = [];
  for (const p of packets) {
    outputs.push(...pipeline.pushRtp(p.kind, p.packet, p.arrivalMs + (p.kind === "audio" ? 500 : 0)));
  }
  outputs.push(...pipeline.flush());
  const audio = outputs.filter((o): o is SegmentOutput => o.type === "segment" && o.track === "audio");
  assert.ok(audio[0]!.startTicks < 48 * 34, `audio starts at ${audio[0]!.startTicks} ticks, not 500 ms late`);
});

Deno.test("RecordingPipeline holds the first frames until both tracks' sender reports arrive, then aligns by them", () => {
  const packets = clipPackets(clip, { seconds: 6, videoTimestampStart: 1_000, audioTimestampStart: 7_000_000 });
  const pipeline = new RecordingPipeline({ tracks: TRACKS, segmentDurationMs: 2000, firstNumber: 1 });
  // Arrival times claim audio is 100 ms early (video's encoding delay); the reports say they are together. As
  // Chromium sends them: video's 0.5 s in, audio's 2 s in.
  const outputs: PipelineOutput[] = [];
  let firstOutputMs: number | undefined;
  for (const p of packets) {
    const arrivalMs = p.arrivalMs + (p.kind === "video" ? 100 : 0);
    const sinceMs = arrivalMs - packets[0]!.arrivalMs;
    if (sinceMs >= 500 && sinceMs < 510) {
      pipeline.pushSenderReport("video", { ntpMs: 5_123.4, rtpTimestamp: 1_000, arrivalMs: 5_123.4 });
    }
    if (sinceMs >= 2_000 && !pipeline.started) {
      pipeline.pushSenderReport("audio", { ntpMs: 5_123.4, rtpTimestamp: 7_000_000, arrivalMs: 5_123.4 });
    }
    const out = pipeline.pushRtp(p.kind, p.packet, arrivalMs);
    if (out.some((o) => o.type !== "init")) firstOutputMs ??= arrivalMs - packets[0]!.arrivalMs;
    outputs.push(...out);
  }
  outputs.push(...pipeline.flush());
  assert.ok(firstOutputMs !== undefined && firstOutputMs >= 2_000, `held until the reports: ${firstOutputMs} ms`);
  const video = outputs.filter((o): o is SegmentOutput => o.type === "segment" && o.track === "video");
  const audio = outputs.filter((o): o is SegmentOutput => o.type === "segment" && o.track === "audio");
  assert.equal(frames(video), 180, "nothing held is lost");
  assert.equal(frames(audio), 300);
  assert.equal(audio[0]!.startTicks, 0, "audio starts with video, as the reports say");
});

Deno.test("RecordingPipeline without sender reports syncs by arrival after NO_REPORT_WAIT_MS, losing nothing held", () => {
  const packets = clipPackets(clip, { seconds: 6 });
  const pipeline = new RecordingPipeline({ tracks: TRACKS, segmentDurationMs: 2000, firstNumber: 1 });
  const outputs: PipelineOutput[] = [];
  let firstOutputMs: number | undefined;
  for (const p of packets) {
    const out = pipeline.pushRtp(p.kind, p.packet, p.arrivalMs);
    if (out.some((o) => o.type !== "init")) firstOutputMs ??= p.arrivalMs - packets[0]!.arrivalMs;
    outputs.push(...out);
  }
  outputs.push(...pipeline.flush());
  assert.ok(firstOutputMs !== undefined && Math.abs(firstOutputMs - NO_REPORT_WAIT_MS) < 40, `${firstOutputMs} ms`);
  const segments = outputs.filter((o): o is SegmentOutput => o.type === "segment");
  assert.equal(frames(segments.filter((s) => s.track === "video")), 180);
  assert.equal(frames(segments.filter((s) => s.track === "audio")), 300);
});

Deno.test("RecordingPipeline moves audio to where late sender reports put it, once, when it started on arrival times", () => {
  const packets = clipPackets(clip, { seconds: 6, videoTimestampStart: 1_000, audioTimestampStart: 7_000_000 });
  const pipeline = new RecordingPipeline({ tracks: TRACKS, segmentDurationMs: 2000, firstNumber: 1 });
  // Video leaves the encoder 400 ms after its audio; the reports come 5 s in, after SYNC_WAIT_MS.
  const outputs: PipelineOutput[] = [];
  for (const p of packets) {
    const arrivalMs = p.arrivalMs + (p.kind === "video" ? 400 : 0);
    if (arrivalMs - packets[0]!.arrivalMs >= 5_000 && pipeline.stats.audioResyncMs === 0) {
      pipeline.pushSenderReport("video", { ntpMs: 5_123.4, rtpTimestamp: 1_000, arrivalMs: 5_123.4 });
      pipeline.pushSenderReport("audio", { ntpMs: 5_123.4, rtpTimestamp: 7_000_000, arrivalMs: 5_123.4 });
    }
    outputs.push(...pipeline.pushRtp(p.kind, p.packet, arrivalMs));
  }
  outputs.push(...pipeline.flush());
  assert.ok(Math.abs(pipeline.stats.audioResyncMs - 400) <= 20, `moved by ${pipeline.stats.audioResyncMs} ms`);
  const segments = outputs.filter((o): o is SegmentOutput => o.type === "segment");
  const endS = (track: string, timescale: number) => {
    const last = segments.filter((s) => s.track === track).at(-1)!;
    return (last.startTicks + last.durationTicks) / timescale;
  };
  // Both tracks end with the clip's 6th second, as the reports say; without the move audio ends 400 ms early.
  assert.ok(Math.abs(endS("audio", 48_000) - endS("video", VIDEO_TIMESCALE)) < 0.05, `${endS("audio", 48_000)} s`);
  assert.equal(frames(segments.filter((s) => s.track === "video")), 180);
});

Deno.test("RecordingPipeline ignores sender reports that tell of two sender clocks, and syncs by arrival", () => {
  const packets = clipPackets(clip, { seconds: 6, videoTimestampStart: 1_000, audioTimestampStart: 7_000_000 });
  const pipeline = new RecordingPipeline({ tracks: TRACKS, segmentDurationMs: 2000, firstNumber: 1 });
  // The reports say audio is 400 ms late, but the sender's clock would then be 400 ms apart in the two reports.
  pipeline.pushSenderReport("video", { ntpMs: 5_123.4, rtpTimestamp: 1_000, arrivalMs: 5_123.4 });
  pipeline.pushSenderReport("audio", { ntpMs: 4_723.4, rtpTimestamp: 7_000_000, arrivalMs: 5_123.4 });
  const outputs: PipelineOutput[] = [];
  for (const p of packets) outputs.push(...pipeline.pushRtp(p.kind, p.packet, p.arrivalMs));
  outputs.push(...pipeline.flush());
  const audio = outputs.filter((o): o is SegmentOutput => o.type === "segment" && o.track === "audio");
  assert.equal(frames(audio), 300, "audio starts with video, as it arrived");
  assert.equal(audio[0]!.startTicks, 0);
});

Deno.test("RecordingPipeline records audio alone when the offer had no video", () => {
  const packets = clipPackets(clip, { seconds: 4 }).filter((p) => p.kind === "audio");
  const { audio, video } = run(packets, TRACKS.filter((t) => t.kind === "audio"));
  assert.equal(video.length, 0);
  assert.equal(frames(audio), 200);
  assertContinuous(audio);
});

Deno.test("RecordingPipeline goes on when the video continues under a new SSRC, clock and sequence (a layer switch)", () => {
  const first = clipPackets(clip, { seconds: 4 });
  // 4 s later the same clip comes from another RTP stream: other SSRC, sequence numbers and timestamp base.
  const second = clipPackets(clip, {
    seconds: 4,
    baseMs: 1_700_000_004_000,
    videoTimestampStart: 123_456_789,
    videoSequenceStart: 40_000,
    audioTimestampStart: 4 * 48_000,
    audioSequenceStart: first.filter((p) => p.kind === "audio").length + 2000,
  }).map((p) => p.kind === "video" ? { ...p, packet: { ...p.packet, ssrc: 7777 } } : p);
  const { video, audio, pipeline } = run([...first, ...second]);
  assert.equal(pipeline.stats.ssrcChanges, 1);
  assert.equal(pipeline.stats.formatChanges, 0, "the same picture format goes on in the same period");
  assert.equal(frames(video), 240, "every frame of both streams (each starts with a keyframe)");
  assert.equal(frames(audio), 400);
  assertContinuous(video);
  const seconds = video.reduce((sum, s) => sum + s.durationTicks, 0) / VIDEO_TIMESCALE;
  assert.ok(Math.abs(seconds - 8) < 0.05, `the new stream follows on by arrival time: ${seconds} s of video`);
});
