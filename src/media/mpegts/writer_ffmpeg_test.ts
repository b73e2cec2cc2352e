/**
 * End to end through real codecs and ffmpeg as the judge: the test clip's H.264 with its audio re-encoded to AAC,
 * libx265 and libx264 with B-frames, cut by SegmentCutter (or by GOP, for B-frames), written as `.ts` segments with an
 * `.m3u8`, then decoded by ffmpeg without an error, with every frame, the same pictures as the source, and segment N
 * starting where the fMP4 segment N of the same cuts starts. Skipped where ffmpeg is not installed.
 */

import assert from "node:assert/strict";
import { loadClip } from "../../../scripts/clip.ts";
import {
  aacEsdsBody,
  adtsAudioSpecificConfig,
  avcDecoderConfigurationRecord,
  NalType,
  nalType,
  splitAdts,
  toLengthPrefixed,
} from "../../codec/mod.ts";
import { concat } from "../../shared/testing.ts";
import { initSegment, mediaFragment, mediaSegment } from "../fmp4.ts";
import { type AudioFrame, type Cut, type FragmentCut, SegmentCutter, type VideoFrame } from "../segment_cutter.ts";
import { decodeErrors, exec, frameCounts, hasCommand, packets, parseMp4, pictureHashes } from "../test_helpers.ts";
import type { Sample, TrackInfo } from "../track.ts";
import { boxBody, mp4aTrack } from "./testing.ts";
import { TS_TIME_OFFSET_90KHZ, type TsSegment, TsSegmentWriter } from "./writer.ts";

const HAS_FFMPEG = hasCommand("ffmpeg") && hasCommand("ffprobe");
if (!HAS_FFMPEG) console.warn("SKIPPING MPEG-TS ffmpeg tests: ffmpeg/ffprobe not found on PATH");
const OFFSET_S = TS_TIME_OFFSET_90KHZ / 90000;

/** Writes the segments and a VOD playlist listing them (RFC 8216 §4.3); returns the playlist's path. */
async function writeHls(dir: string, segments: readonly TsSegment[]): Promise<string> {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:3"];
  const seconds = segments.map((s) => s.durationTicks / s.timescale);
  lines.push(`#EXT-X-TARGETDURATION:${Math.ceil(Math.max(...seconds))}`);
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${segments[0]!.number}`);
  for (const [i, segment] of segments.entries()) {
    await Deno.writeFile(`${dir}/segment_${segment.number}.ts`, segment.bytes);
    lines.push(`#EXTINF:${seconds[i]!.toFixed(6)},`, `segment_${segment.number}.ts`);
  }
  lines.push("#EXT-X-ENDLIST", "");
  await Deno.writeTextFile(`${dir}/playlist.m3u8`, lines.join("\n"));
  return `${dir}/playlist.m3u8`;
}

/** AAC-LC frames of `input`'s audio (or a sine when null) encoded by ffmpeg, as an mp4a track and audio frames; those
 * starting at or after `seconds` (the encoder's last, padded frame) are left out, so audio ends with the video. */
async function aacFrames(dir: string, input: string | null, seconds: number) {
  const path = `${dir}/audio.aac`;
  const source = input === null ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] : ["-i", input];
  await exec("ffmpeg", [
    ...["-v", "error", ...source, "-t", String(seconds), "-vn", "-ac", "2", "-ar", "48000"],
    ...["-c:a", "aac", "-f", "adts", path],
  ]);
  const { frames, reason } = splitAdts(await Deno.readFile(path));
  assert.equal(reason, undefined);
  const asc = adtsAudioSpecificConfig(frames[0]!.header);
  assert.ok(asc.ok);
  const track = mp4aTrack(aacEsdsBody(asc.value), 48000, 2);
  const audio: AudioFrame[] = frames
    .map((frame, i) => ({ ptsTicks: i * 1024, durationTicks: 1024, data: frame.payload }))
    .filter((frame) => frame.ptsTicks < seconds * 48000);
  return { track, audio };
}

/** Runs the frames through one SegmentCutter, in send order; every cut, in emission order. */
function cut(video: readonly VideoFrame[], audio: readonly AudioFrame[], videoTimescale: number): Cut[] {
  const cutter = new SegmentCutter({
    segmentDurationMs: 1000,
    fragmentDurationMs: 250,
    firstNumber: 1,
    video: { trackId: 1, timescale: videoTimescale },
    audio: { trackId: 2, timescale: 48000 },
  });
  const cuts: Cut[] = [];
  let next = 0;
  for (const frame of video) {
    cuts.push(...cutter.pushVideo(frame));
    while (next < audio.length && audio[next]!.ptsTicks * videoTimescale <= frame.dtsTicks * 48000) {
      cuts.push(...cutter.pushAudio(audio[next++]!));
    }
  }
  while (next < audio.length) cuts.push(...cutter.pushAudio(audio[next++]!));
  cuts.push(...cutter.flush());
  return cuts;
}

/** The fMP4 media segments the same cuts make (as segmenter.ts writes them), per track, by segment number. */
function fmp4Segments(cuts: readonly Cut[], track: TrackInfo, role: "video" | "audio"): Map<number, Uint8Array> {
  const parts = new Map<number, Uint8Array[]>();
  let sequenceNumber = 1;
  for (const c of cuts) {
    if (c.type !== "fragment" || c.track !== role) continue;
    const input = {
      sequenceNumber: sequenceNumber++,
      trackId: track.trackId,
      baseDecodeTimeTicks: c.startTicks,
      samples: c.samples,
    };
    const bytes = c.firstOfSegment ? mediaSegment(input) : mediaFragment(input);
    parts.set(c.segmentNumber, [...parts.get(c.segmentNumber) ?? [], bytes]);
  }
  return new Map([...parts].map(([number, list]) => [number, concat(list)]));
}

/** Pushes cuts into a writer in the batches SegmentCutter returned them (here: one by one), then flushes it. */
function writeTs(writer: TsSegmentWriter, cuts: readonly Cut[]): TsSegment[] {
  const segments = cuts.flatMap((c) => writer.push([c]));
  return [...segments, ...writer.flush()];
}

Deno.test({
  name: "the test clip's H.264 with AAC as HLS MPEG-TS: decodes cleanly, every frame, aligned with fMP4 segments",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-ts-clip-" });
    try {
      const clip = await loadClip();
      const parameterSets = clip.video[0]!.nalUnits.filter((nal) =>
        nalType(nal) === NalType.Sps || nalType(nal) === NalType.Pps
      );
      const [sps, pps] = parameterSets;
      const videoTrack: TrackInfo = {
        trackId: 1,
        timescale: 90000,
        codec: {
          kind: "video",
          sampleEntry: {
            fourcc: "avc1",
            config: { fourcc: "avcC", body: avcDecoderConfigurationRecord([sps!], [pps!]) },
          },
          widthPx: 1280,
          heightPx: 720,
        },
      };
      // Samples without in-band SPS/PPS, as an avc1 track stores them: the writer puts them before each keyframe.
      const video: VideoFrame[] = clip.video.map((frame) => ({
        dtsTicks: frame.ticks,
        isKeyframe: frame.keyframe,
        data: toLengthPrefixed(frame.nalUnits.filter((nal) => !parameterSets.includes(nal))),
      }));
      const clipPath = new URL("../../../tests/fixtures/clip.mp4", import.meta.url).pathname;
      const { track: audioTrack, audio } = await aacFrames(dir, clipPath, 4);
      const cuts = cut(video, audio, 90000);
      const writer = new TsSegmentWriter({ video: videoTrack, audio: audioTrack });
      const segments = writeTs(writer, cuts);
      assert.deepEqual(segments.map((s) => s.number), [1, 2, 3, 4]);
      assert.deepEqual({ ...writer.stats }, { segments: 4, droppedSamples: 0, incompleteSegments: 0, ptsBeforeDts: 0 });
      const playlist = await writeHls(dir, segments);

      assert.equal(await decodeErrors(playlist), "");
      const videoSamples = cuts.reduce(
        (n, c) => n + (c.type === "fragment" && c.track === "video" ? c.samples.length : 0),
        0,
      );
      const audioSamples = cuts.reduce(
        (n, c) => n + (c.type === "fragment" && c.track === "audio" ? c.samples.length : 0),
        0,
      );
      assert.equal(videoSamples, 120);
      assert.ok(audioSamples >= 186, `${audioSamples} AAC frames`);
      assert.deepEqual(await frameCounts(playlist), { video: videoSamples, audio: audioSamples });

      // Segment N of the TS starts where fMP4 segment N of the same cuts starts, video and audio.
      const videoFmp4 = fmp4Segments(cuts, videoTrack, "video");
      const audioFmp4 = fmp4Segments(cuts, audioTrack, "audio");
      for (const segment of segments) {
        const ts = `${dir}/segment_${segment.number}.ts`;
        for (const [type, fmp4] of [["v", videoFmp4], ["a", audioFmp4]] as const) {
          const path = `${dir}/${type}_${segment.number}.mp4`;
          const track = type === "v" ? videoTrack : audioTrack;
          await Deno.writeFile(path, concat([initSegment(track), fmp4.get(segment.number)!]));
          const tsStart = (await packets(ts, type))[0]!.pts - OFFSET_S;
          const fmp4Start = (await packets(path, type))[0]!.pts;
          assert.ok(
            Math.abs(tsStart - fmp4Start) <= 0.5 / 90000,
            `segment ${segment.number} ${type}: ${tsStart} vs ${fmp4Start}`,
          );
        }
        assert.ok(
          Math.abs((await packets(ts, "v"))[0]!.pts - OFFSET_S - segment.startTicks / 90000) < 1e-6,
          "and where the cut says",
        );
      }

      // The same pictures as the fMP4 of the same samples.
      const fmp4Video = `${dir}/video.mp4`;
      await Deno.writeFile(fmp4Video, concat([initSegment(videoTrack), ...videoFmp4.values()]));
      assert.deepEqual(await pictureHashes(playlist), await pictureHashes(fmp4Video));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The first video track of an MP4 file as mp4box.js reads it: samples in decode order and the track timescale. */
function mp4Samples(
  file: Uint8Array,
): { timescale: number; samples: { dts: number; cts: number; duration: number; isSync: boolean; data: Uint8Array }[] } {
  const parsed = parseMp4(file);
  const track = parsed.info.tracks[0]!;
  const samples = parsed.samples.get(track.id)!.map((s) => ({
    dts: s.dts,
    cts: s.cts,
    duration: s.duration,
    isSync: s.is_sync,
    data: s.data!,
  }));
  return { timescale: track.timescale, samples };
}

Deno.test({
  name: "libx265 H.265 with AAC as HLS MPEG-TS: parameter sets from the hvcC, decodes to the source's pictures",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-ts-h265-" });
    try {
      const source = `${dir}/h265.mp4`;
      await exec("ffmpeg", [
        ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3", "-c:v", "libx265"],
        ...["-x265-params", "bframes=0:keyint=30:min-keyint=30:scenecut=0:log-level=error", "-tag:v", "hvc1", source],
      ]);
      const file = await Deno.readFile(source);
      const hvcC = boxBody(file, ["moov", "trak", "mdia", "minf", "stbl", "stsd", "hvc1", "hvcC"]);
      const { timescale, samples } = mp4Samples(file);
      const videoTrack: TrackInfo = {
        trackId: 1,
        timescale,
        codec: {
          kind: "video",
          sampleEntry: { fourcc: "hvc1", config: { fourcc: "hvcC", body: hvcC } },
          widthPx: 320,
          heightPx: 240,
        },
      };
      const video = samples.map((s) => ({ dtsTicks: s.cts, isKeyframe: s.isSync, data: s.data }));
      const { track: audioTrack, audio } = await aacFrames(dir, null, 3);
      const cuts = cut(video, audio, timescale);
      const writer = new TsSegmentWriter({ video: videoTrack, audio: audioTrack });
      const segments = writeTs(writer, cuts);
      assert.equal(segments.length, 3);
      assert.equal(writer.stats.droppedSamples, 0);
      const playlist = await writeHls(dir, segments);
      assert.equal(await decodeErrors(playlist), "");
      const audioSamples = cuts.reduce(
        (n, c) => n + (c.type === "fragment" && c.track === "audio" ? c.samples.length : 0),
        0,
      );
      assert.deepEqual(await frameCounts(playlist), { video: 90, audio: audioSamples });
      // Each segment alone decodes from its first picture: the parameter sets came from the hvcC.
      for (const segment of segments) assert.equal(await decodeErrors(`${dir}/segment_${segment.number}.ts`), "");
      assert.deepEqual(await pictureHashes(playlist), await pictureHashes(source));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "libx264 with 3 B-frames as MPEG-TS: ffprobe's PTS and DTS follow the source's, pictures identical",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-ts-bframes-" });
    try {
      const source = `${dir}/bframes.mp4`;
      await exec("ffmpeg", [
        ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3", "-c:v", "libx264"],
        ...["-bf", "3", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", source],
      ]);
      const file = await Deno.readFile(source);
      const avcC = boxBody(file, ["moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1", "avcC"]);
      const { timescale, samples } = mp4Samples(file);
      assert.ok(samples.some((s) => s.cts < s.dts + samples[0]!.cts - samples[0]!.dts), "the stream has B-frames");
      const videoTrack: TrackInfo = {
        trackId: 1,
        timescale,
        codec: {
          kind: "video",
          sampleEntry: { fourcc: "avc1", config: { fourcc: "avcC", body: avcC } },
          widthPx: 320,
          heightPx: 240,
        },
      };
      // One segment per GOP, cut by hand: SegmentCutter takes no composition offsets.
      const cuts: Cut[] = [];
      const gops = samples.reduce<(typeof samples)[]>((list, s) => {
        if (s.isSync || list.length === 0) list.push([]);
        list.at(-1)!.push(s);
        return list;
      }, []);
      gops.forEach((gop, i) => {
        const cutSamples: Sample[] = gop.map((s) => ({
          durationTicks: s.duration,
          ctsOffsetTicks: s.cts - s.dts,
          isSync: s.isSync,
          data: s.data,
        }));
        const startTicks = gop[0]!.dts;
        const durationTicks = gop.reduce((n, s) => n + s.duration, 0);
        const fragment: FragmentCut = {
          type: "fragment",
          track: "video",
          trackId: 1,
          segmentNumber: i,
          firstOfSegment: true,
          startTicks,
          durationTicks,
          samples: cutSamples,
        };
        cuts.push(fragment, {
          type: "segment",
          track: "video",
          number: i,
          startTicks,
          durationTicks,
          sampleCount: gop.length,
        });
      });
      const writer = new TsSegmentWriter({ video: videoTrack });
      const segments = writeTs(writer, cuts);
      assert.equal(segments.length, 3);
      assert.deepEqual({ ...writer.stats }, { segments: 3, droppedSamples: 0, incompleteSegments: 0, ptsBeforeDts: 0 });
      const playlist = await writeHls(dir, segments);
      assert.equal(await decodeErrors(playlist), "");

      // Decode order, PTS and DTS as in the source, up to the constant shifts (the TS offset, the source's edit list).
      const ours = await packets(playlist, "v");
      const theirs = await packets(source, "v");
      assert.equal(ours.length, 75);
      assert.equal(ours.length, theirs.length);
      const shift = ours[0]!.pts - theirs[0]!.pts;
      ours.forEach((p, i) => {
        assert.ok(Math.abs(p.pts - theirs[i]!.pts - shift) < 1e-5, `pts of packet ${i}: ${p.pts} vs ${theirs[i]!.pts}`);
        assert.ok(Math.abs(p.dts - theirs[i]!.dts - shift) < 1e-5, `dts of packet ${i}: ${p.dts} vs ${theirs[i]!.dts}`);
      });
      assert.ok(
        Math.abs(ours[0]!.pts - OFFSET_S - samples[0]!.cts / timescale) < 1e-5,
        "PTS = offset + composition time",
      );
      assert.deepEqual(await pictureHashes(playlist), await pictureHashes(source));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
