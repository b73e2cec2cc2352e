/**
 * End to end with ffmpeg 5.1 (which reads legacy FLV, not Enhanced RTMP) as the judge: the test clip's H.264 with
 * its audio re-encoded to AAC, cut by SegmentCutter into ~1 s batches, and libx264 with B-frames next to libmp3lame
 * MP3, both written by FlvWriter; ffmpeg decodes each file without an error, ffprobe reads every packet with the
 * pts and dts the writer meant, and the pictures are the source's. Skipped where ffmpeg is not installed.
 */

import assert from "node:assert/strict";
import { loadClip } from "../../../scripts/clip.ts";
import {
  aacEsdsBody,
  adtsAudioSpecificConfig,
  avcDecoderConfigurationRecord,
  mp3EsdsBody,
  NalType,
  nalType,
  splitAdts,
  toLengthPrefixed,
} from "../../codec/mod.ts";
import { splitMp3 } from "../../codec/mp3/mod.ts";
import { concat } from "../../shared/testing.ts";
import { boxBody } from "../mpegts/testing.ts";
import { type AudioFrame, type Cut, type FragmentCut, SegmentCutter, type VideoFrame } from "../segment_cutter.ts";
import { decodeErrors, exec, frameCounts, hasCommand, packets, parseMp4, pictureHashes } from "../test_helpers.ts";
import type { Sample, TrackInfo } from "../track.ts";
import { audioTrack, videoTrack } from "./testing.ts";
import { FlvWriter } from "./writer.ts";

const HAS_FFMPEG = hasCommand("ffmpeg") && hasCommand("ffprobe");
if (!HAS_FFMPEG) console.warn("SKIPPING FLV ffmpeg tests: ffmpeg/ffprobe not found on PATH");

/** Packets of one stream type in file order, with pts and dts in ms (FLV's time base). */
async function packetsMs(path: string, type: "v" | "a"): Promise<{ ptsMs: number; dtsMs: number }[]> {
  return (await packets(path, type)).map((p) => ({ ptsMs: Math.round(p.pts * 1000), dtsMs: Math.round(p.dts * 1000) }));
}

/** A time in ms, rounded half up, as the writer must convert it: `ticks / timescale` seconds. */
function ms(ticks: number, timescale: number): number {
  return Math.floor((ticks * 1000 * 2 + timescale) / (2 * timescale));
}

/** The samples of a role's fragment cuts with their decode times. */
function timed(cuts: readonly Cut[], role: "video" | "audio"): { dtsTicks: number; sample: Sample }[] {
  return cuts.flatMap((cut) => {
    if (cut.type !== "fragment" || cut.track !== role) return [];
    let dtsTicks = cut.startTicks;
    return cut.samples.map((sample) => {
      const entry = { dtsTicks, sample };
      dtsTicks += sample.durationTicks;
      return entry;
    });
  });
}

Deno.test({
  name: "the test clip's H.264 with AAC as FLV: ffmpeg decodes it cleanly, every packet at the pts and dts meant",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-flv-clip-" });
    try {
      const clip = await loadClip();
      const parameterSets = clip.video[0]!.nalUnits.filter((nal) =>
        nalType(nal) === NalType.Sps || nalType(nal) === NalType.Pps
      );
      const [sps, pps] = parameterSets;
      const video = videoTrack("avc1", "avcC", avcDecoderConfigurationRecord([sps!], [pps!]));
      const videoFrames: VideoFrame[] = clip.video.map((frame) => ({
        dtsTicks: frame.ticks,
        isKeyframe: frame.keyframe,
        data: toLengthPrefixed(frame.nalUnits.filter((nal) => !parameterSets.includes(nal))),
      }));

      // The clip's audio as AAC-LC frames, those starting after the video's 4 s left out.
      const aacPath = `${dir}/audio.aac`;
      const clipPath = new URL("../../../tests/fixtures/clip.mp4", import.meta.url).pathname;
      await exec("ffmpeg", [
        ...["-v", "error", "-i", clipPath, "-t", "4", "-vn", "-ac", "2", "-ar", "48000", "-c:a", "aac"],
        ...["-f", "adts", aacPath],
      ]);
      const { frames, reason } = splitAdts(await Deno.readFile(aacPath));
      assert.equal(reason, undefined);
      const asc = adtsAudioSpecificConfig(frames[0]!.header);
      assert.ok(asc.ok);
      const audio = audioTrack("mp4a", "esds", aacEsdsBody(asc.value), 48000);
      const audioFrames: AudioFrame[] = frames
        .map((frame, i) => ({ ptsTicks: i * 1024, durationTicks: 1024, data: frame.payload }))
        .filter((frame) => frame.ptsTicks < 4 * 48000);

      // SegmentCutter hands out ~1 s batches per track, in the order a live publisher's frames make them.
      const cutter = new SegmentCutter({
        segmentDurationMs: 1000,
        firstNumber: 1,
        video: { trackId: 1, timescale: 90000 },
        audio: { trackId: 2, timescale: 48000 },
      });
      const writer = new FlvWriter({ video, audio });
      const cuts: Cut[] = [];
      const chunks = [writer.start()];
      const take = (out: Cut[]) => {
        for (const cut of out) {
          cuts.push(cut);
          chunks.push(writer.push(cut));
        }
      };
      let next = 0;
      for (const frame of videoFrames) {
        take(cutter.pushVideo(frame));
        while (next < audioFrames.length && audioFrames[next]!.ptsTicks * 90000 <= frame.dtsTicks * 48000) {
          take(cutter.pushAudio(audioFrames[next++]!));
        }
      }
      while (next < audioFrames.length) take(cutter.pushAudio(audioFrames[next++]!));
      take(cutter.flush());
      chunks.push(writer.flush());
      const path = `${dir}/clip.flv`;
      for (const chunk of chunks) await Deno.writeFile(path, chunk, { append: true });
      assert.deepEqual({ ...writer.stats }, { droppedSamples: 0, stalls: 0 });

      assert.equal(await decodeErrors(path), "");
      const videoSamples = timed(cuts, "video");
      const audioSamples = timed(cuts, "audio");
      assert.equal(videoSamples.length, clip.video.length);
      assert.ok(audioSamples.length >= 186, `${audioSamples.length} AAC frames`);
      assert.deepEqual(await frameCounts(path), { video: videoSamples.length, audio: audioSamples.length });

      const origin = Math.min(videoSamples[0]!.dtsTicks / 90000, audioSamples[0]!.dtsTicks / 48000);
      assert.equal(origin, 0);
      const expectedVideo = videoSamples.map(({ dtsTicks }) => ({
        ptsMs: ms(dtsTicks, 90000),
        dtsMs: ms(dtsTicks, 90000),
      }));
      const expectedAudio = audioSamples.map(({ dtsTicks }) => ({
        ptsMs: ms(dtsTicks, 48000),
        dtsMs: ms(dtsTicks, 48000),
      }));
      assert.deepEqual(await packetsMs(path, "v"), expectedVideo);
      assert.deepEqual(await packetsMs(path, "a"), expectedAudio);
      const end = (list: typeof videoSamples, timescale: number) =>
        ms(list.at(-1)!.dtsTicks + list.at(-1)!.sample.durationTicks, timescale);
      assert.equal(writer.endMs, Math.max(end(videoSamples, 90000), end(audioSamples, 48000)));
      assert.deepEqual(await pictureHashes(path), await pictureHashes(clipPath));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "libx264 with 3 B-frames and libmp3lame MP3 as FLV: ffprobe's pts and dts are the source's in ms",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-flv-bframes-" });
    try {
      const source = `${dir}/bframes.mp4`;
      await exec("ffmpeg", [
        ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "3", "-c:v", "libx264"],
        ...["-bf", "3", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", source],
      ]);
      const mp3Path = `${dir}/audio.mp3`;
      await exec("ffmpeg", [
        ...["-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "3", "-ac", "2"],
        ...["-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0", "-id3v2_version", "0", mp3Path],
      ]);
      const file = await Deno.readFile(source);
      const parsed = parseMp4(file);
      const mp4Track = parsed.info.tracks[0]!;
      const timescale = mp4Track.timescale;
      const samples = parsed.samples.get(mp4Track.id)!;
      assert.ok(samples.some((s) => s.cts !== s.dts + samples[0]!.cts - samples[0]!.dts), "the stream has B-frames");
      const avcC = boxBody(file, ["moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1", "avcC"]);
      const video: TrackInfo = { ...videoTrack("avc1", "avcC", avcC), timescale };
      const mp3 = splitMp3(await Deno.readFile(mp3Path));
      assert.equal(mp3.reason, undefined);
      const header = mp3.frames[0]!.header;
      const audio = audioTrack("mp4a", "esds", mp3EsdsBody(header), header.sampleRateHz, header.channels);

      // One video cut per GOP (1 s), then the MP3 frames up to its end: batches as SegmentCutter makes them.
      const fragment = (track: "video" | "audio", startTicks: number, list: Sample[]): FragmentCut => ({
        type: "fragment",
        track,
        trackId: track === "video" ? 1 : 2,
        segmentNumber: 0,
        firstOfSegment: true,
        startTicks,
        durationTicks: list.reduce((n, s) => n + s.durationTicks, 0),
        samples: list,
      });
      const videoSamples: Sample[] = samples.map((s) => ({
        durationTicks: s.duration,
        ctsOffsetTicks: s.cts - s.dts,
        isSync: s.is_sync,
        data: s.data!,
      }));
      const audioSamples: Sample[] = mp3.frames.map((frame) => ({
        durationTicks: frame.header.samplesPerFrame,
        ctsOffsetTicks: 0,
        isSync: true,
        data: frame.data,
      }));
      const writer = new FlvWriter({ video, audio });
      const chunks = [writer.start()];
      let audioIndex = 0;
      let audioTicks = 0;
      for (let gop = 0; gop * 25 < videoSamples.length; gop++) {
        const list = videoSamples.slice(gop * 25, gop * 25 + 25);
        chunks.push(writer.push(fragment("video", samples[gop * 25]!.dts, list)));
        const endSeconds = (samples[gop * 25]!.dts + list.reduce((n, s) => n + s.durationTicks, 0)) / timescale;
        const batch: Sample[] = [];
        const start = audioTicks;
        while (audioIndex < audioSamples.length && audioTicks / header.sampleRateHz < endSeconds) {
          batch.push(audioSamples[audioIndex++]!);
          audioTicks += header.samplesPerFrame;
        }
        chunks.push(writer.push(fragment("audio", start, batch)));
      }
      chunks.push(writer.push(fragment("audio", audioTicks, audioSamples.slice(audioIndex))));
      chunks.push(writer.flush());
      const path = `${dir}/bframes.flv`;
      await Deno.writeFile(path, concat(chunks));
      assert.deepEqual({ ...writer.stats }, { droppedSamples: 0, stalls: 0 });

      assert.equal(await decodeErrors(path), "");
      assert.equal(samples[0]!.dts, 0);
      assert.deepEqual(
        await packetsMs(path, "v"),
        samples.map((s) => ({ ptsMs: ms(s.cts, timescale), dtsMs: ms(s.dts, timescale) })),
      );
      assert.deepEqual(
        await packetsMs(path, "a"),
        audioSamples.map((_, i) => {
          const t = ms(i * header.samplesPerFrame, header.sampleRateHz);
          return { ptsMs: t, dtsMs: t };
        }),
      );
      assert.deepEqual(await frameCounts(path), { video: 75, audio: audioSamples.length });
      assert.deepEqual(await pictureHashes(path), await pictureHashes(source));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
