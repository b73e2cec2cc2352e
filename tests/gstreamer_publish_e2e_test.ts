/**
 * End to end from GStreamer's WebRTC stack: webrtcbin with bundle-policy=max-bundle, as GStreamer publishers
 * (whipclientsink, simple-whip-client) send it, publishes a test pattern and a tone over WHIP into the running
 * service (tests/fixtures/gst_whip_publisher.py, on Debian's python3-gst). Its offer carries the audio as
 * `a=bundle-only` with port 0, so each case also checks that the audio is recorded. The recordings are judged by
 * ffprobe/ffmpeg: the codec sent, every frame sent and no more, a clean decode.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CLIP_PATH } from "../scripts/clip.ts";
import { syncErrors } from "./helpers/av_sync.ts";
import { decodeErrors, periodFiles, probe, run } from "./helpers/media_tools.ts";
import { recordingFinished, recordStatus, type Service, startService, waitFor } from "./helpers/service.ts";

const PUBLISHER = new URL("./fixtures/gst_whip_publisher.py", import.meta.url).pathname;
/** Debian's Python, which python3-gst-1.0 is installed for (a python3 earlier on PATH may not have it). */
const PYTHON = "/usr/bin/python3";
const SECONDS = 4;
/** How long the sync test publishes the clip: enough for six of its marks. */
const SYNC_SECONDS = 9;

/**
 * One row per codec: the encoder and payloader, the MPD's codecs string, ffprobe's codec name. VP9 is encoded without
 * lookahead (`lag-in-frames=0`), as real-time senders do: with vp9enc's default of 25 frames, pictures leave 0.8 s
 * after the sound captured with them, and how the sender reports place them moves with the encoder's load.
 */
const CODECS = [
  {
    name: "H.264 High",
    encoder: "video/x-raw,format=I420 ! x264enc tune=zerolatency key-int-max=60 ! video/x-h264,profile=high ! " +
      "rtph264pay name=pay pt=102 config-interval=-1 ! application/x-rtp,media=video,encoding-name=H264,payload=102",
    mpdCodecs: /codecs="avc1\.64[0-9a-f]{4}"/,
    ffprobeName: "h264",
  },
  {
    name: "H.265",
    encoder: "video/x-raw,format=I420 ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max=60 ! h265parse ! " +
      "rtph265pay name=pay pt=104 config-interval=-1 ! application/x-rtp,media=video,encoding-name=H265,payload=104",
    mpdCodecs: /codecs="hvc1\.1\.6\.L\d+(\.[0-9A-F]+)*"/,
    ffprobeName: "hevc",
  },
  {
    name: "VP8",
    encoder: "video/x-raw,format=I420 ! vp8enc deadline=1 keyframe-max-dist=60 ! " +
      "rtpvp8pay name=pay pt=96 ! application/x-rtp,media=video,encoding-name=VP8,payload=96",
    mpdCodecs: /codecs="vp08\.00\.\d\d\.08"/,
    ffprobeName: "vp8",
  },
  {
    name: "VP9 profile 0",
    encoder: "video/x-raw,format=I420 ! vp9enc deadline=1 cpu-used=8 lag-in-frames=0 keyframe-max-dist=60 ! " +
      "rtpvp9pay name=pay pt=98 ! application/x-rtp,media=video,encoding-name=VP9,payload=98",
    mpdCodecs: /codecs="vp09\.00\.\d\d\.08"/,
    ffprobeName: "vp9",
  },
  {
    name: "VP9 profile 2 (10-bit)",
    encoder: "video/x-raw,format=I420_10LE ! vp9enc deadline=1 cpu-used=8 lag-in-frames=0 keyframe-max-dist=60 ! " +
      "rtpvp9pay name=pay pt=98 ! application/x-rtp,media=video,encoding-name=VP9,payload=98",
    mpdCodecs: /codecs="vp09\.02\.\d\d\.10"/,
    ffprobeName: "vp9",
  },
];

interface Published {
  video_frames: number;
  audio_buffers: number;
  offer: string;
}

async function publish(service: Service, stream: string, encoder: string, options: string[] = []): Promise<Published> {
  const { code, stdout, stderr } = await run(PYTHON, [
    PUBLISHER,
    `${service.url}/whip/${stream}`,
    encoder,
    `${options.includes("--clip") ? SYNC_SECONDS : SECONDS}`,
    ...options,
  ]);
  assert.equal(
    code,
    0,
    `the GStreamer publisher failed: ${stderr}\n${service.logs().split("\n").slice(-20).join("\n")}`,
  );
  return JSON.parse(stdout);
}

Deno.test("GStreamer webrtcbin (max-bundle) publishes H.264 High, H.265, VP8 and VP9 (profiles 0, 2) with Opus: each recorded whole", async (t) => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["gst-*"]\nsegment_duration = 2\n` });
  try {
    for (const [i, { name, encoder, mpdCodecs, ffprobeName }] of CODECS.entries()) {
      await t.step(name, async () => {
        const stream = `gst-${i}`;
        const sent = await publish(service, stream, encoder);
        assert.match(
          sent.offer,
          /^m=audio 0 [^\r\n]*\r?\n(?:[^m][^\r\n]*\r?\n)*a=bundle-only/m,
          "audio is bundle-only",
        );
        await recordingFinished(service, stream);
        const row = await waitFor("the recording in the index", async () => {
          const listing = await (await service.fetch(`/api/recordings?stream=${stream}&from=2000-01-01T00:00:00Z`))
            .json();
          return listing.recordings[0] as { mpd_path: string; state: string } | undefined;
        });
        const mpd = join(service.root, row.mpd_path);
        const mpdText = await Deno.readTextFile(mpd);
        assert.match(mpdText, mpdCodecs, mpdText);
        assert.match(mpdText, /codecs="opus"/, mpdText);
        // GStreamer's Opus offer says sprop-stereo=0: a mono track.
        assert.match(mpdText, /AudioChannelConfiguration [^>]*value="1"/, mpdText);
        assert.equal(await decodeErrors(mpd), "", `ffmpeg decodes the ${name} recording without errors`);
        const { streams } = await probe(mpd);
        const video = streams.find((s) => s.codec_type === "video");
        const audio = streams.find((s) => s.codec_type === "audio");
        assert.equal(video?.codec_name, ffprobeName, JSON.stringify(streams));
        assert.equal(audio?.codec_name, "opus", `the bundle-only audio is recorded: ${JSON.stringify(streams)}`);
        // On a miscount, the service's own counts (frames placed before the first picture, packets lost) say where.
        const counts = service.logs().split("\n").filter((line) => line.includes(`stream=${stream} `)).join("\n");
        const frames = Number(video.nb_read_frames);
        assert.ok(
          frames >= 0.97 * sent.video_frames && frames <= sent.video_frames,
          `recorded ${frames} of ${sent.video_frames} video frames sent\n${counts}`,
        );
        const audioFrames = Number(audio.nb_read_frames);
        assert.ok(
          audioFrames >= 0.97 * sent.audio_buffers && audioFrames <= sent.audio_buffers,
          `recorded ${audioFrames} of ${sent.audio_buffers} Opus packets sent\n${counts}`,
        );
        assert.equal((await recordStatus(service, stream)).recording, false);
      });
    }
  } finally {
    await service.stop();
  }
});

Deno.test("a publisher back within the splice window in another codec continues the recording in a new period", async () => {
  const service = await startService({
    toml: `[recorder]\nauto_streams = ["gst-*"]\nsegment_duration = 2\nsplice_on_unpublish = true\n`,
  });
  try {
    const [vp8, h264] = [CODECS.find((c) => c.name === "VP8")!, CODECS.find((c) => c.name === "H.264 High")!];
    await publish(service, "gst-again", vp8.encoder);
    const waiting = await waitFor("the recording to wait for its publisher", async () => {
      const status = await recordStatus(service, "gst-again");
      return status.state === "waiting" ? status : undefined;
    });
    await publish(service, "gst-again", h264.encoder);
    assert.equal((await service.fetch("/api/record/gst-again", { method: "DELETE" })).status, 200);
    await recordingFinished(service, "gst-again");

    const row = await (await service.fetch(`/api/recordings/${waiting.record_id}`)).json();
    assert.equal(row.periods, 2, JSON.stringify(row));
    const mpd = join(service.root, row.mpd_path);
    const periods = (await Deno.readTextFile(mpd)).split("<Period ").slice(1);
    assert.match(periods[0]!, vp8.mpdCodecs);
    assert.match(periods[1]!, h264.mpdCodecs);
    const names = [];
    for (const period of await periodFiles(mpd)) {
      assert.equal(await decodeErrors(period.video!), "", "each period decodes on its own");
      names.push((await probe(period.video!)).streams[0]?.codec_name);
    }
    assert.deepEqual(names, ["vp8", "h264"]);
  } finally {
    await service.stop();
  }
});

Deno.test("GStreamer sending the clip through an encoder with 1.3 s of lookahead: audio within one video frame of video", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["gst-*"]\nsegment_duration = 2\n` });
  const dir = await Deno.makeTempDir({ prefix: "liverec-gst-clip-" });
  try {
    // The clip looped three times, so that the publish never runs out of it.
    const clip = join(dir, "loop.mp4");
    const looped = await run("ffmpeg", [
      "-v",
      "error",
      "-stream_loop",
      "2",
      "-i",
      CLIP_PATH.pathname,
      "-c",
      "copy",
      clip,
    ]);
    assert.equal(looped.code, 0, looped.stderr);
    // x264enc's defaults look 40 frames ahead, so its video leaves well after the audio captured with it: arrival
    // times would put audio about 400 ms early. Only the sender reports say which audio goes with which picture.
    const encoder = "video/x-raw,format=I420 ! x264enc bframes=0 key-int-max=60 ! video/x-h264,profile=high ! " +
      "rtph264pay name=pay pt=102 config-interval=-1 ! application/x-rtp,media=video,encoding-name=H264,payload=102";
    await publish(service, "gst-sync", encoder, ["--clip", clip, "--capture-time-reports"]);
    await recordingFinished(service, "gst-sync");
    const listing = await (await service.fetch("/api/recordings?stream=gst-sync&from=2000-01-01T00:00:00Z")).json();
    const mpd = join(service.root, listing.recordings[0].mpd_path);
    assert.equal(await decodeErrors(mpd), "");
    // Where in its 4 s loop the clip was when sending began is not known: each beep is judged against the range of
    // the clip's own offsets. The first second has no sound: the audio captured with the first pictures sent was
    // dropped before the connection was up, while those pictures were still in the encoder.
    assert.deepEqual(await syncErrors(mpd, { minMarks: 5, fromS: 1.5 }), []);
  } finally {
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
