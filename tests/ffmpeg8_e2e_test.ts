/**
 * End to end from FFmpeg 8's own muxers into the running service: its WHIP muxer (H.264 + Opus), and its FLV muxer
 * over RTMP, which writes Enhanced RTMP for H.265, VP9 and AV1. The recordings are judged by ffprobe/ffmpeg: the
 * codecs, every frame FFmpeg muxed and no more, both tracks, a clean decode.
 *
 * FFmpeg's WHIP offer is unlike a browser's: `a=setup:passive` (liverec must be the DTLS client), no ICE candidates,
 * and it talks only to the first UDP host candidate of the answer.
 *
 * Debian's FFmpeg is 5.1; FFmpeg 8 comes as the PyAV wheel, which `scripts/test_deps.sh` installs into
 * node_modules/.cache/pyav (or set LIVEREC_PYAV_PYTHON to a python that has it). Where it is missing, the tests
 * are skipped, saying so on one line; a LIVEREC_PYAV_PYTHON without it is a failure, not a skip.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { recordingFinished, type Service, startService, waitFor } from "./helpers/service.ts";

const PUBLISHER = new URL("./fixtures/pyav_publisher.py", import.meta.url).pathname;
const INSTALLED = new URL("../node_modules/.cache/pyav/bin/python", import.meta.url).pathname;
const FRAME_RATE = 30;

/** A python with PyAV whose FFmpeg has the whip muxer, or why there is none. */
async function findPyav(): Promise<{ python: string } | { python: undefined; why: string; fail: boolean }> {
  const given = Deno.env.get("LIVEREC_PYAV_PYTHON");
  const python = given ?? INSTALLED;
  const check = "import av; print(av.ffmpeg_version_info, 'whip' in av.formats_available)";
  const { code, stdout, stderr } = await run(python, ["-c", check]).catch((error) => ({
    code: -1,
    stdout: "",
    stderr: String(error),
  }));
  if (code === 0 && stdout.trim().endsWith("True")) return { python };
  const what = code === 0 ? `FFmpeg ${stdout.trim().split(" ")[0]} without the whip muxer` : stderr.trim();
  return given !== undefined
    ? { python: undefined, why: `LIVEREC_PYAV_PYTHON=${given}: ${what}`, fail: true }
    : { python: undefined, why: `no PyAV (FFmpeg 8) at ${INSTALLED}: ${what.split("\n").at(-1)}`, fail: false };
}

const found = await findPyav();
const skip = found.python === undefined && !found.fail;
if (skip) console.log(`ffmpeg8_e2e_test.ts skipped: ${found.why}`);

/** Publishes `seconds` of test pattern and tone through FFmpeg 8's `muxer`; answers the packets it muxed. */
async function publish(
  muxer: "whip" | "flv",
  url: string,
  codecs: { video: string; audio: string },
  seconds: number,
): Promise<{ video: number; audio: number }> {
  if (found.python === undefined) throw new Error(found.why);
  const args = [PUBLISHER, muxer, url, codecs.video, codecs.audio, String(seconds)];
  const { code, stdout, stderr } = await run(found.python, args);
  assert.equal(code, 0, `FFmpeg 8 published and exited cleanly\n${stderr.slice(-4000)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

/** The MPD of the finished recording of `stream`, and its text. */
async function finishedMpd(service: Service, stream: string): Promise<{ mpd: string; text: string }> {
  await recordingFinished(service, stream);
  const row = await waitFor("the recording in the index", async () => {
    const listing = await (await service.fetch(`/api/recordings?stream=${stream}&from=2000-01-01T00:00:00Z`)).json();
    return listing.recordings[0] as { mpd_path: string; state: string } | undefined;
  });
  const mpd = join(service.root, row.mpd_path);
  return { mpd, text: await Deno.readTextFile(mpd) };
}

/** Video and audio frames of a recording as ffprobe counts them, after a clean decode. */
async function recordedFrames(mpd: string): Promise<{ video: number; audio: number; codecs: string[] }> {
  assert.equal(await decodeErrors(mpd), "", `ffmpeg decodes ${mpd} without errors`);
  const { streams } = await probe(mpd);
  const count = (type: string) => Number(streams.find((s) => s.codec_type === type)?.nb_read_frames ?? 0);
  return { video: count("video"), audio: count("audio"), codecs: streams.map((s) => s.codec_name ?? "") };
}

Deno.test({
  name: "FFmpeg 8's WHIP muxer publishes H.264 + Opus: every frame recorded, decodes cleanly",
  ignore: skip,
  async fn() {
    const service = await startService({ toml: `[recorder]\nauto_streams = ["ffmpeg-*"]\nsegment_duration = 2\n` });
    try {
      const sent = await publish("whip", `${service.url}/whip/ffmpeg-1`, { video: "libx264", audio: "libopus" }, 4);
      assert.ok(sent.video >= 4 * FRAME_RATE, `FFmpeg sent ${sent.video} video frames`);
      // FFmpeg DELETEs its WHIP session when it ends.
      const { mpd, text } = await finishedMpd(service, "ffmpeg-1");
      assert.match(text, /codecs="avc1\.42[0-9a-f]{4}"/i, `H.264 (constrained) baseline\n${text}`);
      assert.match(text, /codecs="opus"/, text);
      const recorded = await recordedFrames(mpd);
      console.log(`FFmpeg 8 sent ${JSON.stringify(sent)} over WHIP; recorded ${JSON.stringify(recorded)}`);
      const logs = service.logs().split("\n").slice(-30).join("\n");
      assert.ok(recorded.video >= 0.97 * sent.video && recorded.video <= sent.video, `video frames\n${logs}`);
      // Opus packets before the first keyframe are not recorded (a recording begins with a picture).
      assert.ok(recorded.audio >= 0.97 * sent.audio && recorded.audio <= sent.audio, `Opus packets\n${logs}`);
    } finally {
      await service.stop();
    }
  },
});

/** What FFmpeg 8's FLV muxer sends: Enhanced RTMP FourCC tracks for all but H.264 and AAC (legacy tags). */
const RTMP_CASES = [
  { name: "hevc-aac", video: "libx265", audio: "aac", codecs: [/hvc1\./, /mp4a\.40\.2/] },
  { name: "hevc-opus", video: "libx265", audio: "libopus", codecs: [/hvc1\./, /"opus"/] },
  { name: "vp9-opus", video: "libvpx-vp9", audio: "libopus", codecs: [/vp09\./, /"opus"/] },
  { name: "av1-opus", video: "libsvtav1", audio: "libopus", codecs: [/av01\./, /"opus"/] },
  { name: "h264-aac", video: "libx264", audio: "aac", codecs: [/avc1\./, /mp4a\.40\.2/] },
];

Deno.test({
  name: "FFmpeg 8's FLV muxer over RTMP (Enhanced RTMP): H.265 + AAC, H.265 + Opus, VP9 + Opus, AV1 + Opus, " +
    "H.264 + AAC, each recorded frame for frame",
  ignore: skip,
  async fn() {
    const service = await startService({
      toml: `[[recorder.rules]]\nmatch = "ff8/*"\nsegment_duration = 2\nsplice_window = 0\n`,
    });
    try {
      for (const { name, video, audio, codecs } of RTMP_CASES) {
        const sent = await publish("flv", `${service.rtmpUrl}/ff8/${name}`, { video, audio }, 3);
        const { mpd, text } = await finishedMpd(service, `ff8/${name}`);
        for (const codec of codecs) assert.match(text, codec, `${name}\n${text}`);
        const recorded = await recordedFrames(mpd);
        console.log(`${name}: FFmpeg 8 sent ${JSON.stringify(sent)}; recorded ${JSON.stringify(recorded)}`);
        // RTMP runs over TCP: every frame arrives, and every one is recorded.
        assert.equal(recorded.video, sent.video, `${name}: every video frame`);
        assert.ok(Math.abs(recorded.audio - sent.audio) <= 1, `${name}: the audio frames`);
      }
    } finally {
      await service.stop();
    }
  },
});
