/**
 * End to end through real codecs: x264 and libopus output is segmented as a recording would be, read back out of the
 * segments, and exported as progressive MP4 (whole, and a time range starting mid-GOP), which ffprobe and ffmpeg
 * must accept, count and decode without a word. Skipped (ignored) where ffmpeg is not installed.
 */

import assert from "node:assert/strict";
import { selectRange } from "./clip_range.ts";
import { initSegment } from "./fmp4.ts";
import { readInit, readSegmentSamples } from "./fmp4_samples.ts";
import { type Mp4Track, progressiveMp4 } from "./mp4_file.ts";
import type { SampleWithTime } from "./track.ts";
import {
  clipSamples,
  exec,
  hasCommand,
  opusFrames,
  parseMp4,
  plain,
  realClip,
  segmentFiles,
  segmentFrames,
  SEGMENTS_1S_FRAGMENTS_250MS,
  videoFrameRuns,
} from "./test_helpers.ts";

const HAS_FFMPEG = hasCommand("ffmpeg") && hasCommand("ffprobe");

interface Probed {
  format: { duration: string };
  streams: {
    codec_type: string;
    codec_name: string;
    start_time: string;
    duration: string;
    nb_read_frames: string;
  }[];
}

async function probe(path: string): Promise<Probed> {
  const args = ["-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path];
  return JSON.parse((await exec("ffprobe", args)).stdout) as Probed;
}

/** What ffmpeg prints at level "error" while decoding every stream of `path`: nothing, for a good file. */
async function decodeErrors(path: string): Promise<string> {
  return (await exec("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"])).stderr;
}

/** The first decoded video frame's key_frame flag and picture type. */
async function firstFrame(path: string): Promise<{ key_frame: number; pict_type: string }> {
  const args = ["-v", "error", "-select_streams", "v", "-read_intervals", "%+#1", "-show_frames", "-of", "json", path];
  const frames =
    (JSON.parse((await exec("ffprobe", args)).stdout) as { frames: { key_frame: number; pict_type: string }[] })
      .frames;
  assert.ok(frames[0] !== undefined, "a first frame");
  return { key_frame: frames[0].key_frame, pict_type: frames[0].pict_type };
}

/** Top-level box types of a file. */
function topLevel(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: string[] = [];
  for (let at = 0; at + 8 <= bytes.byteLength; at += view.getUint32(at)) {
    types.push(String.fromCharCode(...bytes.subarray(at + 4, at + 8)));
  }
  return types;
}

/** Audio starts this long after the video: a publisher whose microphone came up late. */
const AUDIO_DELAY_TICKS = 24480; // 0.51 s at 48 kHz

/** A 4 s recording of x264 (keyframe each second) and libopus, segmented into 1 s segments of 250 ms fragments. */
async function recording(dir: string) {
  const { video, audio, units, packets } = await realClip(dir, { videoSeconds: 4, audioSeconds: 3.4 });
  assert.ok(units.length === 120 && packets.length >= 170, "fixtures generated");

  const videoFrames = units.map((unit, i) => ({ dtsTicks: i * 3000, isKeyframe: unit.isKeyframe, data: unit.avcc }));
  const audioFrames = opusFrames(packets, AUDIO_DELAY_TICKS);
  const { outputs, stats } = segmentFrames(SEGMENTS_1S_FRAGMENTS_250MS, videoFrames, audioFrames);
  assert.equal(stats.droppedFrames, 0);
  return {
    video,
    audio,
    videoInit: initSegment(video),
    audioInit: initSegment(audio),
    videoSegments: segmentFiles(outputs, "video"),
    audioSegments: segmentFiles(outputs, "audio"),
    videoIn: videoFrames.map((f): SampleWithTime => ({
      decodeTimeTicks: f.dtsTicks,
      durationTicks: 3000,
      ctsOffsetTicks: 0,
      isSync: f.isKeyframe,
      data: f.data,
    })),
    audioIn: audioFrames.map((f): SampleWithTime => ({
      decodeTimeTicks: f.ptsTicks,
      durationTicks: f.durationTicks,
      ctsOffsetTicks: 0,
      isSync: true,
      data: f.data,
    })),
  };
}

Deno.test({
  name: "x264 + libopus segments read back exactly and export to MP4s that ffprobe counts and ffmpeg decodes cleanly",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-mp4-" });
    try {
      const rec = await recording(dir);
      assert.equal(rec.videoSegments.length, 4);

      // Read back: the init segments give the tracks, the segments every sample exactly as it went in.
      assert.deepEqual(readInit(rec.videoInit), rec.video);
      assert.deepEqual(readInit(rec.audioInit), rec.audio);
      const videoSamples = rec.videoSegments.flatMap(readSegmentSamples);
      const audioSamples = rec.audioSegments.flatMap(readSegmentSamples);
      // The Segmenter gives the last sample of each track the duration before it, as the inputs here do.
      assert.deepEqual(plain(videoSamples), plain(rec.videoIn));
      assert.deepEqual(plain(audioSamples), plain(rec.audioIn));

      const tracks: Mp4Track[] = [
        { info: readInit(rec.videoInit), samples: videoSamples },
        { info: readInit(rec.audioInit), samples: audioSamples },
      ];

      // The whole recording: faststart, audio 0.51 s late through an empty edit.
      const whole = progressiveMp4(tracks);
      assert.deepEqual(topLevel(whole), ["ftyp", "moov", "mdat"]);
      const parsed = parseMp4(whole);
      assert.deepEqual(parsed.info.tracks.map((t) => [t.codec, t.nb_samples]), [
        ["avc1.42c00d", 120],
        ["Opus", audioSamples.length],
      ]);
      await Deno.writeFile(`${dir}/whole.mp4`, whole);
      const wholeProbe = await probe(`${dir}/whole.mp4`);
      const [v, a] = wholeProbe.streams;
      assert.deepEqual([v?.codec_name, v?.nb_read_frames], ["h264", "120"]);
      assert.deepEqual([a?.codec_name, a?.nb_read_frames], ["opus", String(audioSamples.length)]);
      assert.equal(Number(v?.start_time), 0);
      assert.ok(Math.abs(Number(a?.start_time) - 0.51) < 0.002, `audio starts at 0.51 s, got ${a?.start_time}`);
      assert.ok(Math.abs(Number(wholeProbe.format.duration) - 4) < 0.01, `duration ${wholeProbe.format.duration}`);
      assert.equal(await decodeErrors(`${dir}/whole.mp4`), "", "ffmpeg decodes the whole recording silently");

      // 1.5 s for 1.2 s: mid-GOP, so the clip starts at the keyframe at 1.0 s and runs to 2.7 s; the audio packet
      // straddling 1.0 s (from 0.99 s) is edited to start with the picture.
      const clip = selectRange(tracks, { startTicks: 1500, durationTicks: 1200, timescale: 1000 });
      assert.deepEqual(clip.origin, { ticks: 90000, timescale: 90000 });
      const range = progressiveMp4(clip.tracks, { origin: clip.origin });
      assert.deepEqual(topLevel(range), ["ftyp", "moov", "mdat"]);
      await Deno.writeFile(`${dir}/range.mp4`, range);
      const rangeProbe = await probe(`${dir}/range.mp4`);
      const [rv, ra] = rangeProbe.streams;
      assert.equal(rv?.nb_read_frames, "51", "frames 30..80: 1.0 s up to 2.7 s");
      assert.deepEqual(await firstFrame(`${dir}/range.mp4`), { key_frame: 1, pict_type: "I" });
      assert.equal(Number(rv?.start_time), 0);
      assert.ok(Math.abs(Number(ra?.start_time)) < 0.002, `audio starts with the video, got ${ra?.start_time}`);
      assert.ok(Math.abs(Number(rangeProbe.format.duration) - 1.7) < 0.021, `duration ${rangeProbe.format.duration}`);
      assert.equal(await decodeErrors(`${dir}/range.mp4`), "", "ffmpeg decodes the clip silently");

      // The control: cut at A itself, without its keyframe, the frames up to the next keyframe (at 2.0 s) are lost.
      const torn = progressiveMp4([{ info: rec.video, samples: videoSamples.slice(45, 81) }]);
      await Deno.writeFile(`${dir}/torn.mp4`, torn);
      const [tornVideo] = (await probe(`${dir}/torn.mp4`)).streams;
      assert.equal(tornVideo?.nb_read_frames, "21", "of 36 frames only those from the keyframe at 2.0 s decode");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "x264 at 320x240, 640x360, then 320x240 again as one track of two sample entries: ffmpeg decodes every frame " +
    "at its own size and square",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-mp4-" });
    try {
      const small = await realClip(dir, { videoSeconds: 2, audioSeconds: 1 });
      const large = await realClip(dir, { videoSeconds: 2, audioSeconds: 1, widthPx: 640, heightPx: 360 });
      assert.ok(small.units.length === 60 && large.units.length === 60, "fixtures generated");
      const track: Mp4Track = {
        info: small.video,
        sampleEntries: [small.video.codec, large.video.codec],
        samples: [
          ...clipSamples(small.units, 0, 0),
          ...clipSamples(large.units, 2 * 90000, 1),
          ...clipSamples(small.units, 4 * 90000, 0),
        ],
      };
      const path = `${dir}/changes.mp4`;
      await Deno.writeFile(path, progressiveMp4([track]));

      assert.equal(await decodeErrors(path), "", "ffmpeg decodes across both changes silently");
      const { streams, format } = await probe(path);
      assert.deepEqual([streams[0]?.codec_name, streams[0]?.nb_read_frames], ["h264", "180"]);
      assert.ok(Math.abs(Number(format.duration) - 6) < 0.01, `duration ${format.duration}`);
      // Each frame at its own size, and square: a tkhd of another size than the last entry's would make ffmpeg
      // stretch them all (SAR 3:4 with the first entry's 320x240).
      assert.deepEqual(await videoFrameRuns(path), [["320x240 1:1", 60], ["640x360 1:1", 60], ["320x240 1:1", 60]]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
