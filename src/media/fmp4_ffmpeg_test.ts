/**
 * End to end through real codecs: x264 and libopus output, segmented into 250 ms fragments, written as init + media
 * segments and read by ffprobe/ffmpeg. Skipped (ignored) where ffmpeg is not installed.
 */

import assert from "node:assert/strict";
import { concat, toHex } from "../shared/testing.ts";
import { initSegment } from "./fmp4.ts";
import { fragmentedMp4 } from "./fmp4_file.ts";
import {
  clipSamples,
  exec,
  hasCommand,
  opusFrames,
  parseMp4,
  realClip,
  segmentFrames,
  SEGMENTS_1S_FRAGMENTS_250MS,
  videoFrameRuns,
} from "./test_helpers.ts";

const HAS_FFMPEG = hasCommand("ffmpeg") && hasCommand("ffprobe");

interface ProbedStream {
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  nb_read_frames: string;
}

async function probe(path: string): Promise<ProbedStream[]> {
  const { stdout } = await exec("ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-of", "json", path]);
  return (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
}

Deno.test({
  name: "ffprobe and ffmpeg accept fragmented x264 + libopus segments and decode every frame without errors",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-media-" });
    try {
      const clip = await realClip(dir, { videoSeconds: 2, audioSeconds: 2 });
      const { sps, units, packets } = clip;
      assert.ok(units.length === 60 && packets.length > 90, "fixtures generated");

      const { outputs, stats } = segmentFrames(
        SEGMENTS_1S_FRAGMENTS_250MS,
        units.map((unit, i) => ({ dtsTicks: i * 3000, isKeyframe: unit.isKeyframe, data: unit.avcc })),
        opusFrames(packets),
      );
      const segments = (track: "video" | "audio") =>
        outputs.flatMap((o) => o.track === track && o.type === "segment" ? [o] : []);
      const fragments = (track: "video" | "audio") =>
        outputs.flatMap((o) => o.track === track && o.type === "fragment" ? [o] : []);
      assert.deepEqual(segments("video").map((s) => s.sampleCount), [30, 30]);
      assert.equal(segments("audio").length, 2);
      assert.deepEqual(fragments("video").map((f) => f.samples.length), [8, 8, 8, 6, 8, 8, 8, 6]);
      assert.ok(fragments("audio").length >= 8, "audio in 250 ms fragments");
      assert.equal(stats.droppedFrames, 0);

      const videoFile = concat([initSegment(clip.video), ...fragments("video").map((f) => f.bytes)]);
      const audioFile = concat([initSegment(clip.audio), ...fragments("audio").map((f) => f.bytes)]);
      await Deno.writeFile(`${dir}/video.mp4`, videoFile);
      await Deno.writeFile(`${dir}/audio.mp4`, audioFile);

      assert.equal(parseMp4(videoFile).info.tracks[0]?.codec, `avc1.${toHex(sps.subarray(1, 4))}`);

      const [video] = await probe(`${dir}/video.mp4`);
      assert.deepEqual(
        { codec: video?.codec_name, profile: video?.profile, w: video?.width, h: video?.height },
        { codec: "h264", profile: "Constrained Baseline", w: 320, h: 240 },
      );
      assert.equal(video?.nb_read_frames, "60");
      const [audio] = await probe(`${dir}/audio.mp4`);
      assert.deepEqual(
        { codec: audio?.codec_name, rate: audio?.sample_rate, channels: audio?.channels },
        { codec: "opus", rate: "48000", channels: 2 },
      );
      assert.equal(audio?.nb_read_frames, String(packets.length));

      for (const file of ["video.mp4", "audio.mp4"]) {
        const { stderr } = await exec("ffmpeg", ["-v", "error", "-i", `${dir}/${file}`, "-f", "null", "-"]);
        assert.equal(stderr, "", `ffmpeg decodes ${file} without errors`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ffmpeg 5.1 ignores tfhd sample_description_index: a fragmented format change decodes with the first entry " +
    "(why the fmp4 export refuses format changes)",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-media-" });
    try {
      const small = await realClip(dir, { videoSeconds: 2, audioSeconds: 1 });
      const large = await realClip(dir, { videoSeconds: 2, audioSeconds: 1, widthPx: 640, heightPx: 360 });
      const track = {
        info: small.video,
        sampleEntries: [small.video.codec, large.video.codec],
        samples: [...clipSamples(small.units, 0, 0), ...clipSamples(large.units, 2 * 90000, 1)],
      };
      const path = `${dir}/changes.mp4`;
      await Deno.writeFile(path, fragmentedMp4([track], { ticks: 0, timescale: 90000 }));

      const [video] = await probe(path);
      assert.equal(video?.nb_read_frames, "120", "every frame is demuxed");
      const { stderr } = await exec("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"]);
      const runs = await videoFrameRuns(path);
      // Should this fail, ffmpeg now switches sample entries between fragments, and src/export could stop refusing
      // format changes in "fmp4".
      assert.deepEqual(runs, [["320x240 1:1", 120]], "the 640x360 frames decode as 320x240");
      assert.match(stderr, /error while decoding|corrupted|out of range|invalid/, "and not cleanly");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
