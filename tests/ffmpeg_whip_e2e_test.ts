/**
 * End to end from FFmpeg's own WHIP muxer (`-f whip`, FFmpeg 8): a lavfi test pattern and tone, encoded to H.264
 * constrained baseline and Opus, published in real time into the running service, and the recording judged by
 * ffprobe/ffmpeg: every frame FFmpeg muxed and no more, both tracks, a clean decode. FFmpeg's offer is unlike a
 * browser's: `a=setup:passive` (liverec must be the DTLS client), no ICE candidates, and it talks only to the first
 * UDP host candidate of the answer.
 *
 * The FFmpeg found on this machine (Debian's) has no whip muxer, and no package source reachable here has one, so
 * the test looks for an ffmpeg that has it, in LIVEREC_FFMPEG8 or on PATH, and is skipped, saying so on one line,
 * when there is none. A LIVEREC_FFMPEG8 that names an ffmpeg without the muxer is a failure, not a skip.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { recordingFinished, startService, waitFor } from "./helpers/service.ts";

const STREAM = "ffmpeg-1";
const SECONDS = 4;
const FRAME_RATE = 30;

/** An ffmpeg binary and what it can do, or why none is usable. */
type Found =
  | { ffmpeg: string; h264Encoder: string[]; opusEncoder: string[] }
  | { ffmpeg: undefined; why: string; fail: boolean };

/** `ffmpeg -muxers` lists whip as a muxer ("E"), e.g. ` E  whip            WHIP(WebRTC-HTTP ingestion protocol) muxer`. */
async function hasWhipMuxer(ffmpeg: string): Promise<boolean> {
  const { code, stdout } = await run(ffmpeg, ["-hide_banner", "-muxers"]).catch(() => ({ code: -1, stdout: "" }));
  return code === 0 && /^\s*[D ]?E[ d]*\s+whip\s/m.test(stdout);
}

/** The ffmpeg of LIVEREC_FFMPEG8, else the one on PATH, if it has the whip muxer, with the encoders it has. */
async function findWhipFfmpeg(): Promise<Found> {
  const given = Deno.env.get("LIVEREC_FFMPEG8");
  const ffmpeg = given ?? "ffmpeg";
  if (!await hasWhipMuxer(ffmpeg)) {
    const { stdout } = await run(ffmpeg, ["-hide_banner", "-version"]).catch(() => ({ stdout: "" }));
    const version = /^ffmpeg version \S+/.exec(stdout)?.[0] ?? "not runnable";
    return given !== undefined
      ? { ffmpeg: undefined, why: `LIVEREC_FFMPEG8=${given} (${version}) has no whip muxer`, fail: true }
      : {
        ffmpeg: undefined,
        why: `the ffmpeg on PATH (${version}) has no whip muxer (FFmpeg 8's); set LIVEREC_FFMPEG8 to one that has`,
        fail: false,
      };
  }
  const { stdout: encoders } = await run(ffmpeg, ["-hide_banner", "-encoders"]);
  const has = (name: string) => new RegExp(`^\\s*\\S+\\s+${name}\\s`, "m").test(encoders);
  // WHIP takes H.264 without B-frames in (constrained) baseline, and stereo Opus at 48 kHz.
  const h264Encoder = has("libx264")
    ? ["-c:v", "libx264", "-profile:v", "baseline", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0"]
    : has("libopenh264")
    ? ["-c:v", "libopenh264", "-profile:v", "constrained_baseline", "-b:v", "1M"]
    : undefined;
  const opusEncoder = has("libopus")
    ? ["-c:a", "libopus"]
    : has("opus")
    ? ["-c:a", "opus", "-strict", "-2"]
    : undefined;
  if (h264Encoder === undefined || opusEncoder === undefined) {
    return { ffmpeg: undefined, why: `${ffmpeg} has the whip muxer but no H.264 or Opus encoder`, fail: true };
  }
  return { ffmpeg, h264Encoder, opusEncoder };
}

const found = await findWhipFfmpeg();
if (found.ffmpeg === undefined && !found.fail) console.log(`ffmpeg_whip_e2e_test.ts skipped: ${found.why}`);

Deno.test({
  name: "FFmpeg's WHIP muxer (-f whip) publishes H.264 + Opus from lavfi: every frame recorded, decodes cleanly",
  ignore: found.ffmpeg === undefined && !found.fail,
  async fn() {
    if (found.ffmpeg === undefined) throw new Error(found.why);
    const service = await startService({
      toml: `[recorder]\nauto_streams = ["ffmpeg-*"]\nsegment_duration = 2\n`,
    });
    try {
      const publish = await run(found.ffmpeg, [
        "-hide_banner",
        "-nostdin",
        "-v",
        "verbose",
        "-re",
        "-f",
        "lavfi",
        "-i",
        `testsrc=size=640x360:rate=${FRAME_RATE}`,
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        `${SECONDS}`,
        "-pix_fmt",
        "yuv420p",
        ...found.h264Encoder,
        "-g",
        `${FRAME_RATE}`,
        ...found.opusEncoder,
        "-ar",
        "48000",
        "-ac",
        "2",
        "-f",
        "whip",
        `${service.url}/whip/${STREAM}`,
      ]);
      const logs = `--- ffmpeg ---\n${publish.stderr.slice(-6000)}\n--- service (tail) ---\n` +
        service.logs().split("\n").slice(-40).join("\n");
      assert.equal(publish.code, 0, `ffmpeg published and exited cleanly\n${logs}`);
      // ffmpeg's closing statistics at -v verbose: "Output stream #0:0 (video): 120 frames encoded; 120 packets
      // muxed (... bytes);" — what the whip muxer was given, and so sent.
      const muxed = (kind: string) => {
        const match = new RegExp(`Output stream #0:\\d+ \\(${kind}\\):[^\\n]*?(\\d+) packets muxed`).exec(
          publish.stderr,
        );
        assert.ok(match !== null, `ffmpeg reports the ${kind} packets it muxed\n${logs}`);
        return Number(match[1]);
      };
      const sentVideo = muxed("video");
      const sentAudio = muxed("audio");
      assert.ok(sentVideo >= SECONDS * FRAME_RATE * 0.97, `ffmpeg sent ${sentVideo} video frames\n${logs}`);

      // ffmpeg DELETEs its WHIP session when it ends.
      await recordingFinished(service, STREAM);
      const row = await waitFor("the recording in the index", async () => {
        const listing = await (await service.fetch(`/api/recordings?stream=${STREAM}&from=2000-01-01T00:00:00Z`))
          .json();
        return listing.recordings[0] as { mpd_path: string; state: string } | undefined;
      });
      const mpd = join(service.root, row.mpd_path);
      const mpdText = await Deno.readTextFile(mpd);
      assert.match(mpdText, /codecs="avc1\.42[0-9a-f]{4}"/i, `H.264 (constrained) baseline\n${mpdText}`);
      assert.match(mpdText, /codecs="opus"/, mpdText);
      assert.equal(await decodeErrors(mpd), "", `ffmpeg decodes the recording without errors\n${logs}`);

      const { streams, durationS } = await probe(mpd);
      const video = streams.find((s) => s.codec_type === "video");
      const audio = streams.find((s) => s.codec_type === "audio");
      assert.equal(video?.codec_name, "h264", JSON.stringify(streams));
      assert.equal(`${video.width}x${video.height}`, "640x360", "the size ffmpeg encoded");
      assert.equal(audio?.codec_name, "opus", `the audio is recorded: ${JSON.stringify(streams)}`);
      const frames = Number(video.nb_read_frames);
      const audioFrames = Number(audio.nb_read_frames);
      console.log(
        `ffmpeg sent ${sentVideo} video frames and ${sentAudio} Opus packets; recorded ${frames} and ` +
          `${audioFrames}, ${durationS} s`,
      );
      assert.ok(
        frames >= 0.97 * sentVideo && frames <= sentVideo,
        `recorded ${frames} of ${sentVideo} video frames sent\n${logs}`,
      );
      assert.ok(
        audioFrames >= 0.97 * sentAudio && audioFrames <= sentAudio,
        `recorded ${audioFrames} of ${sentAudio} Opus packets sent\n${logs}`,
      );
      assert.ok(durationS >= 3, `recorded ${durationS} s of the ${SECONDS} s sent`);
    } finally {
      await service.stop();
    }
  },
});
