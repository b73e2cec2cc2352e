/**
 * End to end from real RTMP publishers into the running service: ffmpeg pushes H.264 + AAC (the test clip, and an
 * x264 clip with B-frames, as OBS sends by default), and the recordings are judged by ffprobe/ffmpeg: the codecs
 * sent, every frame, pictures in presentation order, and A/V sync against the clip's flash and beep, in every format
 * (DASH, HLS over MPEG-TS, FLV, the final MP4).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CLIP_PATH } from "../scripts/clip.ts";
import { syncErrors } from "./helpers/av_sync.ts";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { recordingFinished, type Service, startService, waitFor } from "./helpers/service.ts";

const TOML = `[[recorder.rules]]
match = "live/*"
segment_duration = 2
splice_window = 0
formats = ["dash", "hls", "ts", "flv", "mp4"]
`;

const workDir = await Deno.makeTempDir({ prefix: "liverec-rtmp-" });

/** `input` remuxed by ffmpeg with `args`, into `name` in the work folder. */
async function make(name: string, args: string[]): Promise<string> {
  const out = join(workDir, name);
  const { code, stderr } = await run("ffmpeg", ["-nostdin", "-v", "error", "-y", ...args, out]);
  assert.equal(code, 0, stderr);
  return out;
}

/** Pushes `file` in real time to `url` with ffmpeg, streams copied. */
async function push(url: string, file: string, extra: string[] = []): Promise<{ code: number; stderr: string }> {
  return await run("ffmpeg", ["-nostdin", "-v", "error", "-re", "-i", file, "-c", "copy", ...extra, "-f", "flv", url]);
}

/** The index row of the finished recording of `stream`, once `done` holds of it. */
async function finishedRow<Row>(service: Service, stream: string, done: (row: Row) => boolean): Promise<Row> {
  await recordingFinished(service, stream);
  return await waitFor("the recording in the index", async () => {
    const listing = await (await service.fetch(`/api/recordings?stream=${stream}&from=2000-01-01T00:00:00Z`)).json();
    const row = listing.recordings[0] as Row | undefined;
    return row !== undefined && done(row) ? row : undefined;
  });
}

/** The finished recording of `stream`: its MPD, the MPEG-TS playlist beside it, its FLV and its MP4, as files. */
async function recording(
  service: Service,
  stream: string,
): Promise<{ mpd: string; mpdText: string; ts: string; flv: string; mp4: string }> {
  type Row = { mpd_path: string; ts_path: string; flv_path: string; mp4_path: string | null };
  const row = await finishedRow<Row>(service, stream, (row) => row.mp4_path !== null);
  assert.match(row.flv_path, /\/[^/]+_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.flv$/);
  const mpd = join(service.root, row.mpd_path);
  const ts = join(service.root, row.ts_path);
  const index = JSON.parse(await Deno.readTextFile(join(mpd, "..", "index.json")));
  const [period] = index.periods as { video: { segments: unknown[] }; ts: { segments: unknown[] } }[];
  assert.deepEqual(
    period!.ts.segments.map((s) => ({ ...s as object, name: undefined })),
    period!.video.segments.map((s) => ({ ...s as object, name: undefined })),
    "MPEG-TS segments are cut where the video's fMP4 segments are",
  );
  const [flv, mp4] = [join(service.root, row.flv_path), join(service.root, row.mp4_path!)];
  return { mpd, mpdText: await Deno.readTextFile(mpd), ts, flv, mp4 };
}

/** Packets of `file`'s video: presentation and decode times, as ffprobe reads them. */
async function videoPackets(file: string): Promise<{ pts: number; dts: number }[]> {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,dts_time", "-of", "csv=p=0", file],
  ]);
  // MPEG-TS packets carry side data, which ffprobe prints as a blank line after the packet's.
  return stdout.trim().split("\n").filter((line) => line !== "").map((line) => {
    const [pts, dts] = line.split(",").map(Number);
    return { pts: pts!, dts: dts! };
  });
}

Deno.test("ffmpeg pushes the clip as H.264 + AAC over RTMP: recorded whole, decodes, audio in sync", async () => {
  const service = await startService({ toml: TOML });
  try {
    // The clip looped to 9 s, its Opus as AAC (FLV carries no Opus).
    const clip = await make("clip_aac.mp4", [
      ...["-stream_loop", "2", "-i", CLIP_PATH.pathname, "-t", "9", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k"],
    ]);
    const pushed = await push(`${service.rtmpUrl}/live/cam1`, clip);
    assert.equal(pushed.code, 0, pushed.stderr);
    const { mpd, mpdText, ts, flv, mp4 } = await recording(service, "live/cam1");
    assert.match(mpdText, /codecs="avc1\.42c01f"/, mpdText);
    assert.match(mpdText, /codecs="mp4a\.40\.2"/, mpdText);
    const sent = (await probe(clip)).streams;
    const frames = (s: typeof sent, type: string) => Number(s.find((x) => x.codec_type === type)?.nb_read_frames);
    for (const file of [mpd, ts, flv, mp4]) {
      assert.equal(await decodeErrors(file), "", file);
      const { streams } = await probe(file);
      assert.equal(frames(streams, "video"), frames(sent, "video"), `every video frame in ${file}`);
      assert.ok(
        Math.abs(frames(streams, "audio") - frames(sent, "audio")) <= 2,
        `audio frames in ${file}: ${frames(streams, "audio")} of ${frames(sent, "audio")}`,
      );
      assert.deepEqual(await syncErrors(file, { minMarks: 6, clipDurationS: 4 }), [], file);
    }
    assert.match(service.logs(), /publish started stream=live\/cam1 protocol=rtmp tracks=video\+audio/);
  } finally {
    await service.stop();
  }
});

Deno.test("x264 with B-frames over RTMP (OBS's default): composition offsets kept, pictures in presentation order", async () => {
  const service = await startService({ toml: TOML });
  try {
    const clip = await make("bframes.mp4", [
      ...["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440"],
      ...["-t", "6", "-c:v", "libx264", "-bf", "3", "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    ]);
    const pushed = await push(`${service.rtmpUrl}/live/bframes`, clip);
    assert.equal(pushed.code, 0, pushed.stderr);
    const { mpd, ts, flv, mp4 } = await recording(service, "live/bframes");
    const sent = await videoPackets(clip);
    for (const file of [mpd, ts, flv, mp4]) {
      assert.equal(await decodeErrors(file), "", file);
      const recorded = await videoPackets(file);
      assert.equal(recorded.length, sent.length, `every frame in ${file}`);
      assert.ok(recorded.some((p) => p.pts !== p.dts), `B-frames in ${file}: presentation differs from decode order`);
      // The same presentation order, up to a constant shift of the timeline.
      const shift = recorded[0]!.pts - sent[0]!.pts;
      for (const [i, p] of recorded.entries()) {
        assert.ok(
          Math.abs(p.pts - shift - sent[i]!.pts) < 0.002,
          `${file} frame ${i}: pts ${p.pts} vs ${sent[i]!.pts}`,
        );
      }
    }
  } finally {
    await service.stop();
  }
});

Deno.test("garbage and a torn session on the RTMP port are logged and closed; the next publisher records", async () => {
  const service = await startService({ toml: TOML });
  try {
    const port = Number(new URL(service.rtmpUrl.replace("rtmp:", "http:")).port);
    // An HTTP request where an RTMP handshake belongs, then a valid handshake start cut off mid-packet.
    for (const bytes of [new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"), new Uint8Array([3, 0, 0, 0])]) {
      const socket = await Deno.connect({ hostname: "127.0.0.1", port });
      await socket.write(bytes);
      socket.close();
    }
    await waitFor(
      "the refused handshake in the log",
      () => Promise.resolve(/WARN +rtmp connection closed .*reason=/.test(service.logs()) || undefined),
    );
    const clip = await make("after.mp4", [
      ...["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3", "-c:v", "libx264", "-g", "30"],
    ]);
    const pushed = await push(`${service.rtmpUrl}/live/after`, clip);
    assert.equal(pushed.code, 0, pushed.stderr);
    const { mpd } = await recording(service, "live/after");
    assert.equal(await decodeErrors(mpd), "");
  } finally {
    await service.stop();
  }
});

Deno.test("RTMP publishes are refused with a reason: a wrong token, a stream already live", async () => {
  const service = await startService({ toml: `[auth]\ntokens = ["secret-token"]\n\n${TOML}` });
  try {
    const clip = await make("short.mp4", [
      ...["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "6", "-c:v", "libx264", "-g", "30"],
    ]);
    const refused = await push(`${service.rtmpUrl}/live/cam2?token=wrong`, clip);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /invalid token/, refused.stderr);
    const first = push(`${service.rtmpUrl}/live/cam2?token=secret-token`, clip);
    await waitFor("the first publisher to be live", async () => {
      const status = await (await service.fetch("/api/record/live/cam2", {
        headers: { authorization: "Bearer secret-token" },
      })).json();
      return status.stream_live ? status : undefined;
    });
    const second = await push(`${service.rtmpUrl}/live/cam2?token=secret-token`, clip);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /already being published/, second.stderr);
    assert.equal((await first).code, 0);
  } finally {
    await service.stop();
  }
});

Deno.test("MP3 audio over RTMP is recorded as mp4a.6B; GStreamer (x264enc, voaacenc, flvmux, rtmp2sink) as H.264 + AAC", async () => {
  const service = await startService({ toml: TOML });
  try {
    const mp3 = await make("mp3.mp4", [
      ...["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440"],
      ...[
        "-t",
        "5",
        "-c:v",
        "libx264",
        "-bf",
        "0",
        "-g",
        "30",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "libmp3lame",
        "-ar",
        "44100",
      ],
    ]);
    const pushed = await push(`${service.rtmpUrl}/live/mp3`, mp3);
    assert.equal(pushed.code, 0, pushed.stderr);
    const mp3Recording = await recording(service, "live/mp3");
    assert.match(mp3Recording.mpdText, /codecs="mp4a\.6B"/, mp3Recording.mpdText);
    for (const file of [mp3Recording.mpd, mp3Recording.ts, mp3Recording.flv, mp3Recording.mp4]) {
      assert.equal(await decodeErrors(file), "", file);
      const audio = (await probe(file)).streams.find((s) => s.codec_type === "audio");
      assert.equal(audio?.codec_name, "mp3", file);
    }

    // GStreamer encodes live, as a hardware encoder would: x264enc and voaacenc into flvmux, pushed by rtmp2sink.
    const gst = await run("gst-launch-1.0", [
      ..."-q videotestsrc num-buffers=150 ! video/x-raw,width=320,height=240,framerate=30/1".split(" "),
      ..."! x264enc key-int-max=30 bframes=0 ! h264parse ! flvmux name=m streamable=true !".split(" "),
      "rtmp2sink",
      `location=${service.rtmpUrl}/live/gst`,
      ..."audiotestsrc num-buffers=220 ! audio/x-raw,rate=44100 ! voaacenc ! aacparse ! m.".split(" "),
    ]);
    assert.equal(gst.code, 0, gst.stderr + gst.stdout);
    const gstRecording = await recording(service, "live/gst");
    assert.match(gstRecording.mpdText, /codecs="avc1\./, gstRecording.mpdText);
    assert.match(gstRecording.mpdText, /codecs="mp4a\.40\.2"/, gstRecording.mpdText);
    for (const file of [gstRecording.mpd, gstRecording.ts, gstRecording.flv, gstRecording.mp4]) {
      assert.equal(await decodeErrors(file), "", file);
      const frames = (await probe(file)).streams.find((s) => s.codec_type === "video")?.nb_read_frames;
      assert.equal(Number(frames), 150, `every frame of 5 s at 30 fps in ${file}`);
    }
  } finally {
    await service.stop();
  }
});

Deno.test("a recording started through the API mid-GOP of an RTMP stream begins at that GOP's keyframe", async () => {
  const service = await startService({ toml: `[recorder]\nsegment_duration = 2\n` });
  try {
    // Keyframes every 4 s: the API call at about 2 s comes mid-GOP, and RTMP cannot be asked for a keyframe.
    const clip = await make("gop.mp4", [
      ...["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "8", "-c:v", "libx264", "-bf", "0"],
      ...["-g", "120", "-keyint_min", "120", "-sc_threshold", "0", "-pix_fmt", "yuv420p"],
    ]);
    const pushing = push(`${service.rtmpUrl}/live/gop`, clip);
    await waitFor("the stream to be live for 2 s", async () => {
      const status = await (await service.fetch("/api/record/live/gop")).json();
      return status.stream_live ? status : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const started = await service.fetch("/api/record/live/gop", { method: "POST" });
    assert.equal(started.status, 200, await started.text());
    assert.equal((await pushing).code, 0);
    // An RTMP unpublish opens the splice window: the API stops the recording at once.
    const stopped = await service.fetch("/api/record/live/gop", { method: "DELETE" });
    assert.equal(stopped.status, 200, await stopped.text());
    const row = await finishedRow<{ mpd_path: string }>(service, "live/gop", () => true);
    const mpd = join(service.root, row.mpd_path);
    assert.equal(await decodeErrors(mpd), "");
    // Everything from the keyframe at 0 s on: the frames before the API call were kept for it.
    const frames = Number((await probe(mpd)).streams.find((s) => s.codec_type === "video")?.nb_read_frames);
    assert.equal(frames, 240, "all 8 s, from the GOP in progress when the recording started");
  } finally {
    await service.stop();
  }
});

Deno.test("an on-demand rule whose callback answers after 1.5 s records an RTMP stream from its first frame", async () => {
  const callback = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    await request.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    return Response.json({ record: true });
  });
  const service = await startService({
    toml: `[[recorder.rules]]\nmatch = "live/*"\nrecord = "on_demand"\nsplice_window = 0\n` +
      `on_demand_url = "http://127.0.0.1:${callback.addr.port}/should-record"\n`,
  });
  try {
    // Keyframes every second: a publish that kept only the frames since the latest keyframe would begin at 1 s.
    const clip = await make("on_demand.mp4", [
      ...["-i", CLIP_PATH.pathname, "-t", "4", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k"],
    ]);
    const pushed = await push(`${service.rtmpUrl}/live/asked`, clip);
    assert.equal(pushed.code, 0, pushed.stderr);
    const row = await finishedRow<{ mpd_path: string }>(service, "live/asked", () => true);
    const mpd = join(service.root, row.mpd_path);
    assert.equal(await decodeErrors(mpd), "");
    const sent = (await probe(clip)).streams;
    const { streams } = await probe(mpd);
    const frames = (s: typeof sent, type: string) => Number(s.find((x) => x.codec_type === type)?.nb_read_frames);
    assert.equal(frames(streams, "video"), frames(sent, "video"), "every video frame, from the first");
    assert.ok(frames(streams, "audio") >= frames(sent, "audio") - 2, "the audio from the start");
  } finally {
    await service.stop();
    await callback.shutdown();
  }
});
