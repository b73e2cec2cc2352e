/**
 * End to end with Enhanced RTMP (veovera's v1/v2 FourCC tags) into the running service: H.265, VP9 and AV1 video with
 * Opus audio, which no publisher installable here sends (Debian's ffmpeg 5.1 and GStreamer 1.22 write legacy FLV only;
 * FFmpeg 8 does, but it is not installable here). The streams are real encoder output (ffmpeg's libx265, libvpx-vp9,
 * SVT-AV1 and libopus, read back from fragmented MP4), put into E-RTMP tags by liverec's FLV writer rows and pushed
 * over a raw RTMP connection. The recording is judged by ffmpeg: the codecs, every frame, a clean decode.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { MessageType } from "../src/ingest/rtmp/mod.ts";
import { openFlvStream } from "../src/media/flv/mod.ts";
import { readInit, readSegmentSamples, type SampleWithTime, type TrackInfo } from "../src/media/mod.ts";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { rawClient, statusCode } from "./helpers/rtmp_raw_client.ts";
import { recordingFinished, startService, waitFor } from "./helpers/service.ts";

const TOML =
  `[[recorder.rules]]\nmatch = "live/*"\nsegment_duration = 2\nsplice_window = 0\nformats = ["dash", "flv"]\n`;
const workDir = await Deno.makeTempDir({ prefix: "liverec-ertmp-" });

/** One track of an ffmpeg-encoded clip: what its init says and its samples with decode times. */
interface EncodedTrack {
  info: TrackInfo;
  samples: SampleWithTime[];
}

/** 3 s of testsrc2 and a sine encoded by ffmpeg with `videoArgs` and libopus, as one track per fragmented MP4. */
async function encode(name: string, videoArgs: string[]): Promise<{ video: EncodedTrack; audio: EncodedTrack }> {
  const tracks: EncodedTrack[] = [];
  for (const [map, codecArgs] of [["0:v", videoArgs], ["1:a", ["-c:a", "libopus", "-b:a", "64k"]]] as const) {
    const out = join(workDir, `${name}_${map.replace(":", "")}.mp4`);
    const { code, stderr } = await run("ffmpeg", [
      ...["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-map", map, ...codecArgs],
      ...["-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", out],
    ]);
    assert.equal(code, 0, stderr);
    tracks.push(splitFragmented(await Deno.readFile(out)));
  }
  return { video: tracks[0]!, audio: tracks[1]! };
}

/** A fragmented MP4 as its init (everything before the first moof) and the samples of its fragments. */
function splitFragmented(bytes: Uint8Array): EncodedTrack {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + 8 <= bytes.length && new TextDecoder().decode(bytes.subarray(offset + 4, offset + 8)) !== "moof") {
    offset += view.getUint32(offset);
  }
  return { info: readInit(bytes.subarray(0, offset)), samples: readSegmentSamples(bytes.subarray(offset)) };
}

/** Milliseconds of `ticks` at `timescale`. */
function ms(ticks: number, timescale: number): number {
  return Math.round(ticks * 1000 / timescale);
}

/** Publishes `clip` to `live/NAME` over a raw RTMP connection as E-RTMP tags, in real time, then unpublishes. */
async function publish(port: number, name: string, clip: { video: EncodedTrack; audio: EncodedTrack }) {
  const raw = await rawClient(port);
  try {
    await raw.handshake();
    await raw.send(raw.client.setChunkSize(65_536));
    await raw.send(raw.client.command("connect", 1, [new Map([["app", "live"], ["tcUrl", `rtmp://127.0.0.1/live`]])]));
    await raw.send(raw.client.command("createStream", 2, [null]));
    await raw.send(raw.client.command("publish", 3, [null, name, "live"], { streamId: 1 }));
    await raw.readUntil(
      "NetStream.Publish.Start",
      () => raw.received.some((message) => statusCode(message) === "NetStream.Publish.Start"),
    );
    const messages: { timestampMs: number; typeId: number; body: Uint8Array }[] = [];
    for (const track of [clip.video, clip.audio]) {
      const stream = openFlvStream(track.info.codec);
      assert.ok(!("refused" in stream), JSON.stringify(stream));
      const typeId = stream.kind === "video" ? MessageType.Video : MessageType.Audio;
      if (stream.sequenceHeader !== null) messages.push({ timestampMs: -1, typeId, body: stream.sequenceHeader });
      for (const sample of track.samples) {
        const { timescale } = track.info;
        const body = stream.frame(sample, ms(sample.ctsOffsetTicks, timescale));
        messages.push({ timestampMs: ms(sample.decodeTimeTicks, timescale), typeId, body });
      }
    }
    messages.sort((a, b) => a.timestampMs - b.timestampMs);
    const startMs = Date.now();
    for (const { timestampMs, typeId, body } of messages) {
      // In real time, as a live encoder sends.
      const aheadMs = startMs + timestampMs - Date.now();
      if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs));
      const chunkStream = typeId === MessageType.Video ? 6 : 4;
      await raw.send(raw.client.message(typeId, 1, Math.max(0, timestampMs), body, chunkStream));
    }
    await raw.send(raw.client.command("deleteStream", 4, [null, 1]));
  } finally {
    raw.close();
  }
}

const CODECS = [
  {
    name: "hevc",
    args: ["-c:v", "libx265", "-tag:v", "hvc1", "-x265-params", "log-level=error:keyint=30:bframes=0"],
    mpd: /hvc1\./,
  },
  { name: "vp9", args: ["-c:v", "libvpx-vp9", "-g", "30", "-deadline", "realtime", "-cpu-used", "8"], mpd: /vp09\./ },
  // SVT-AV1, whose sequence header ffmpeg has before the first frame: with libaom its empty_moov av1C is empty.
  { name: "av1", args: ["-c:v", "libsvtav1", "-preset", "12", "-g", "30"], mpd: /av01\./ },
];

for (const codec of CODECS) {
  Deno.test(`Enhanced RTMP ${codec.name} + Opus is recorded as sent: codecs, every frame, a clean decode`, async () => {
    const clip = await encode(codec.name, codec.args);
    const service = await startService({ toml: TOML });
    try {
      await publish(Number(new URL(service.rtmpUrl).port), codec.name, clip);
      await recordingFinished(service, `live/${codec.name}`);
      const row = await waitFor("the recording in the index, with its FLV", async () => {
        const query = `/api/recordings?stream=live/${codec.name}&from=2000-01-01T00:00:00Z`;
        const found = (await (await service.fetch(query)).json()).recordings[0];
        return found?.flv_path ? found as { mpd_path: string; flv_path: string } : undefined;
      });
      const mpd = join(service.root, row.mpd_path);
      const mpdText = await Deno.readTextFile(mpd);
      assert.match(mpdText, codec.mpd, mpdText);
      assert.match(mpdText, /codecs="opus"/, mpdText);
      assert.equal(await decodeErrors(mpd), "");
      const { streams } = await probe(mpd);
      const frames = Number(streams.find((s) => s.codec_type === "video")?.nb_read_frames);
      assert.equal(frames, clip.video.samples.length, "every video frame");
      assert.match(
        service.logs(),
        new RegExp(`publish started stream=live/${codec.name} protocol=rtmp tracks=video\\+audio`),
      );
      assert.ok((await Deno.stat(join(service.root, row.flv_path))).size > 10_000, "an FLV file with E-RTMP tags");
    } finally {
      await service.stop();
    }
  });
}
