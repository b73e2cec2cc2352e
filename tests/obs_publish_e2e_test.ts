/**
 * End to end from real OBS Studio (Debian's obs-studio 29) into the running service: OBS runs headless on Xvfb with a
 * configuration written from scratch (tests/helpers/obs.ts): a Media Source playing the test clip in a loop, Simple
 * output mode with its defaults (x264 "veryfast", B-frames, x264's own keyframe interval, AAC), a custom RTMP server
 * `rtmp://…/live` with stream key `obs`. It starts streaming and recording from its command line, streams about 10 s,
 * and is stopped as a user stops it: Stop Streaming (obs-websocket's StopStream), then Stop Recording, then quit.
 *
 * OBS's own recording shares the stream's encoders, so it holds the very packets OBS sent: it is the reference every
 * format liverec wrote is judged against (by ffprobe/ffmpeg): each video packet byte for byte and in order, audio
 * frames the same, the same presentation times against the audio, B-frames kept, a clean decode.
 *
 * ffmpeg 5.1 reads a fragmented MP4 whose trun has negative composition offsets with every video pts moved later by
 * the largest of them (it does so with its own `-movflags negative_cts_offsets` output too), so the DASH segments'
 * presentation times are read from their boxes here instead (tfdt and the first trun entry).
 *
 * Skipped, saying so on one line, when OBS or Xvfb is not installed (apt-get install obs-studio xvfb).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CLIP_PATH } from "../scripts/clip.ts";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import {
  freePort,
  obsMissing,
  ObsWebSocket,
  type Running,
  startObs,
  startXvfb,
  writeObsConfig,
} from "./helpers/obs.ts";
import { recordingFinished, recordStatus, startService, waitFor } from "./helpers/service.ts";

const TOML = `[[recorder.rules]]
match = "live/*"
segment_duration = 2
splice_window = 0
formats = ["dash", "hls", "ts", "flv", "mp4"]
`;

const STREAM = "live/obs";
/** How long OBS streams once liverec records it. */
const PUBLISH_S = 10;
/** How far a presentation time may move (ms timestamps in RTMP and FLV, 90 kHz and audio rate in the others). */
const TIME_TOLERANCE_S = 0.002;

const missing = await obsMissing();
if (missing !== undefined) console.log(`obs_publish_e2e_test.ts skipped: ${missing}`);

/** A packet as ffprobe reads it: presentation and decode time (s), keyframe flag, MD5 of its bytes. */
interface Packet {
  pts: number;
  dts: number;
  key: boolean;
  hash: string;
}

/** The packets of `file`'s video or audio stream, in decode order. */
async function packets(file: string, stream: "v" | "a"): Promise<Packet[]> {
  const { code, stdout, stderr } = await run("ffprobe", [
    ...["-v", "error", "-select_streams", stream, "-show_data_hash", "MD5"],
    ...["-show_entries", "packet=pts_time,dts_time,flags,data_hash", "-of", "json", file],
  ]);
  assert.equal(code, 0, stderr);
  type Row = { pts_time?: string; dts_time?: string; flags: string; data_hash: string };
  return (JSON.parse(stdout).packets as Row[]).map((p) => ({
    pts: Number(p.pts_time),
    dts: Number(p.dts_time),
    key: p.flags.startsWith("K"),
    hash: p.data_hash,
  }));
}

/** Where two packet lists line up: `recorded[i]` is `sent[i + shift]` for every i where both exist. */
interface Alignment {
  shift: number;
  /** The indices of `recorded` that have a counterpart in `sent`. */
  from: number;
  to: number;
}

/**
 * The shift at which every overlapping packet of `recorded` has the same bytes as `sent`'s, with the longest
 * overlap; undefined when none overlaps by `minOverlap` packets. One list may begin or end before the other: OBS's
 * recording runs on after its stream stops, and an output that starts after the encoder joins at a keyframe.
 */
function align(sent: Packet[], recorded: Packet[], minOverlap: number): Alignment | undefined {
  let best: Alignment | undefined;
  for (let shift = -recorded.length + 1; shift < sent.length; shift++) {
    const from = Math.max(0, -shift);
    const to = Math.min(recorded.length, sent.length - shift);
    if (to - from < Math.max(minOverlap, best === undefined ? 0 : best.to - best.from + 1)) continue;
    let same = true;
    for (let i = from; i < to && same; i++) same = recorded[i]!.hash === sent[i + shift]!.hash;
    if (same) best = { shift, from, to };
  }
  return best;
}

/**
 * ffmpeg's decode errors for the format `name`, less the one ffmpeg 5.1 makes up for fragmented MP4 (DASH, HLS): it
 * moves each fragment's pictures later by that fragment's own largest negative composition offset (see the file
 * comment), so where x264's B-frame pattern changes the largest offset from one fragment to the next, the last
 * picture of one fragment and the first of the next come out at the same time. That happens when OBS runs on a busy
 * machine. The times in the boxes are checked on their own below.
 */
function withoutFragmentShifts(name: string, errors: string): string {
  if (name !== "mpd" && name !== "hls") return errors;
  return errors.split("\n").filter((line) => !/non monotonically increasing dts to muxer in stream 0/.test(line))
    .join("\n");
}

/** The boxes directly inside `bytes[from, to)`: type and payload bounds. */
function* boxes(
  bytes: Uint8Array,
  from = 0,
  to = bytes.length,
): Generator<{ type: string; start: number; end: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = from; at + 8 <= to;) {
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    yield { type: new TextDecoder().decode(bytes.subarray(at + 4, at + 8)), start: at + header, end: at + size };
    at += size;
  }
}

function child(bytes: Uint8Array, path: string[], from = 0, to = bytes.length): { start: number; end: number } {
  const [type, ...rest] = path;
  for (const box of boxes(bytes, from, to)) {
    if (box.type === type) return rest.length === 0 ? box : child(bytes, rest, box.start, box.end);
  }
  throw new Error(`no ${type} box`);
}

/**
 * The presentation time (s) of the first sample of a fragmented-MP4 track: tfdt plus the first trun entry's
 * composition offset (signed in trun version 1), over the mdhd timescale of its init segment.
 */
async function firstPresentationS(initPath: string, segmentPath: string): Promise<number> {
  const init = await Deno.readFile(initPath);
  const mdhd = child(init, ["moov", "trak", "mdia", "mdhd"]);
  const initView = new DataView(init.buffer, init.byteOffset);
  const timescale = initView.getUint32(mdhd.start + (init[mdhd.start] === 1 ? 20 : 12));
  const segment = await Deno.readFile(segmentPath);
  const view = new DataView(segment.buffer, segment.byteOffset);
  const tfdt = child(segment, ["moof", "traf", "tfdt"]);
  const base = segment[tfdt.start] === 1 ? Number(view.getBigUint64(tfdt.start + 4)) : view.getUint32(tfdt.start + 4);
  const trun = child(segment, ["moof", "traf", "trun"]);
  const version = segment[trun.start]!;
  const flags = view.getUint32(trun.start) & 0xffffff;
  if ((flags & 0x800) === 0) return base / timescale;
  let at = trun.start + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
  at += (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0);
  const offset = version === 1 ? view.getInt32(at) : view.getUint32(at);
  return (base + offset) / timescale;
}

Deno.test({
  name: "OBS Studio streams x264 (B-frames) + AAC over RTMP: every packet it sent, byte for byte, in every format",
  ignore: missing !== undefined,
  async fn() {
    const service = await startService({ toml: TOML });
    const work = await Deno.makeTempDir({ prefix: "liverec-obs-" });
    const home = join(work, "home");
    const recordingDir = join(work, "obs-recording");
    await Deno.mkdir(recordingDir, { recursive: true });
    const websocketPort = freePort();
    const websocketPassword = crypto.randomUUID();
    await writeObsConfig({
      home,
      server: `${service.rtmpUrl}/live`,
      key: "obs",
      media: CLIP_PATH.pathname,
      recordingDir,
      websocketPort,
      websocketPassword,
    });
    let xvfb: (Running & { display: string }) | undefined;
    let obs: Running | undefined;
    let reference: string;
    let row: {
      mpd_path: string;
      hls_path: string;
      ts_path: string;
      flv_path: string;
      mp4_path: string;
      duration_s: number;
      codecs: string[];
    };
    try {
      xvfb = await startXvfb();
      obs = startObs({ home, display: xvfb.display, args: ["--startstreaming", "--startrecording"] });
      const exited = obs.status.then((s) => {
        throw new Error(`OBS exited (${s.code}) while streaming:\n${obs!.log()}`);
      });
      exited.catch(() => {});
      const ws = await Promise.race([ObsWebSocket.connect(websocketPort, websocketPassword), exited]);
      try {
        await Promise.race([
          exited,
          waitFor("OBS streaming and recording, and liverec recording its stream", async () => {
            const streaming = (await ws.request("GetStreamStatus")).data.outputActive === true;
            const recording = (await ws.request("GetRecordStatus")).data.outputActive === true;
            return streaming && recording && (await recordStatus(service, STREAM)).recording ? true : undefined;
          }, 30_000),
        ]);
        await new Promise((resolve) => setTimeout(resolve, PUBLISH_S * 1000));
        // Stop Streaming as the button does it: the output drains to the stop time, then unpublishes.
        const stopped = await ws.request("StopStream");
        assert.ok(stopped.ok, `StopStream: ${stopped.comment}`);
        await recordingFinished(service, STREAM, 20_000);
        await waitFor("OBS to report the stream stopped", () =>
          Promise.resolve(
            ws.events("StreamStateChanged").some((e) => e.outputState === "OBS_WEBSOCKET_OUTPUT_STOPPED") ||
              undefined,
          ));
        const record = await ws.request("StopRecord");
        assert.ok(record.ok, `StopRecord: ${record.comment}`);
        reference = await waitFor("OBS's recording to be written", () => {
          const done = ws.events("RecordStateChanged").find((e) => e.outputState === "OBS_WEBSOCKET_OUTPUT_STOPPED");
          return Promise.resolve(done?.outputPath as string | undefined);
        });
      } finally {
        ws.close();
      }
      // Both outputs are stopped and the file is written: OBS can go. (SIGINT would close its window, but OBS 29 now
      // and then hangs after "Shutting down"; SIGTERM ends it at once.)
      await obs.stop("SIGTERM");
      row = await waitFor("the recording in the index, with its MP4", async () => {
        const listing = await (await service.fetch(`/api/recordings?stream=${STREAM}&from=2000-01-01T00:00:00Z`))
          .json();
        assert.ok(listing.recordings.length <= 1, JSON.stringify(listing));
        return listing.recordings[0]?.mp4_path ? listing.recordings[0] : undefined;
      });
    } catch (error) {
      throw new Error(`${error}\n--- OBS's output (end) ---\n${obs?.log().slice(-4000) ?? "(not started)"}`, {
        cause: error,
      });
    } finally {
      await obs?.stop("SIGTERM");
      await xvfb?.stop("SIGTERM");
      await service.stop();
    }

    // The publish as liverec saw it: accepted, both tracks, ended by OBS's unpublish, nothing to complain about.
    const logs = service.logs();
    assert.match(logs, /INFO +rtmp publish .*app=live name=obs accepted=true/);
    assert.match(logs, /INFO +publish started stream=live\/obs protocol=rtmp tracks=video\+audio/);
    assert.match(logs, /INFO +publish ended stream=live\/obs protocol=rtmp reason=FCUnpublish/);
    assert.deepEqual(logs.split("\n").filter((line) => /^\S+ (WARN|ERROR)/.test(line)), [], "warnings or errors");

    // The recording: one, in every format.
    const [mpd, hls, ts, flv, mp4] = [row.mpd_path, row.hls_path, row.ts_path, row.flv_path, row.mp4_path]
      .map((path) => join(service.root, path)) as [string, string, string, string, string];
    const day = join(mpd, "..");
    assert.ok(
      row.duration_s >= PUBLISH_S - 1 && row.duration_s <= PUBLISH_S + 5,
      `${row.duration_s} s recorded of about ${PUBLISH_S} s streamed`,
    );
    assert.match(row.codecs.join(), /^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
    const mpdText = await Deno.readTextFile(mpd);
    assert.match(mpdText, /codecs="avc1\.64/, "H.264 High, as x264 encodes by default"); // OBS's x264: High profile
    assert.match(mpdText, /codecs="mp4a\.40\.2"/);

    const refVideo = await packets(reference, "v");
    const refAudio = await packets(reference, "a");
    assert.ok(refVideo.some((p) => p.pts !== p.dts), "OBS sent B-frames");

    const formats = { mpd, hls, ts, flv, mp4 };
    const counts: Record<string, { video: number; audio: number }> = {};
    for (const [name, path] of Object.entries(formats)) {
      assert.equal(withoutFragmentShifts(name, await decodeErrors(path)), "", `${name} decodes cleanly`);
      const { streams } = await probe(path);
      const video = streams.find((s) => s.codec_type === "video");
      const audio = streams.find((s) => s.codec_type === "audio");
      assert.deepEqual([video?.codec_name, video?.width, video?.height], ["h264", 1280, 720], name);
      assert.equal(audio?.codec_name, "aac", name);
      const v = await packets(path, "v");
      const a = await packets(path, "a");
      counts[name] = { video: v.length, audio: a.length };
      assert.ok(v.some((p) => p.pts !== p.dts), `B-frames in ${name}: presentation differs from decode order`);
    }
    // Every format holds the same frames: one pipeline cut them.
    for (const [name, count] of Object.entries(counts)) assert.deepEqual(count, counts.flv, `${name} vs flv`);

    // Byte for byte what OBS sent, in order, for as long as it streamed: FLV, MP4 and the fMP4 segments carry the
    // encoder's samples unchanged. OBS's recording runs on after its stream stops; it normally starts at the same
    // keyframe, but an output started a moment after the encoder begins at its next keyframe, so only the overlap
    // is compared (at least 3 s of it).
    const video = await packets(flv, "v");
    const audio = await packets(flv, "a");
    assert.ok(video.length >= (PUBLISH_S - 1) * 30, `${video.length} video frames for ${PUBLISH_S} s at 30 fps`);
    const videoAlignment = align(refVideo, video, 90);
    assert.ok(videoAlignment !== undefined, "liverec's video packets are OBS's");
    const audioAlignment = align(refAudio, audio, 140);
    assert.ok(audioAlignment !== undefined, "liverec's AAC frames are OBS's");
    const v: Alignment = videoAlignment;
    const a: Alignment = audioAlignment;
    if (v.from > 0) {
      console.log(`obs_publish_e2e_test.ts: OBS's recording started ${v.from} frames after its stream`);
    }
    assert.ok(v.from > 0 || refVideo[v.shift]!.key, "the recording starts at the keyframe OBS's stream started at");
    assert.equal(v.to, video.length, "OBS recorded at least as long as it streamed");
    for (const path of [mpd, hls, mp4]) {
      assert.deepEqual(align(refVideo, await packets(path, "v"), 90), v, `video of ${path}`);
      assert.deepEqual(align(refAudio, await packets(path, "a"), 140), a, `audio of ${path}`);
    }
    // Presentation times as OBS had them, all against the first audio frame both have: B-frames where they were,
    // audio in sync, neither drifting.
    const sentAnchor: Packet = refAudio[a.from + a.shift]!;
    const check = (what: string, got: number, want: number) =>
      assert.ok(Math.abs(got - want) <= TIME_TOLERANCE_S, `${what}: ${got} s, sent at ${want} s`);
    for (const path of [flv, mp4, ts]) {
      const recVideo = await packets(path, "v");
      const recAudio = await packets(path, "a");
      const anchor: Packet = recAudio[a.from]!;
      for (let i = v.from; i < v.to; i++) {
        check(`${path} video ${i}`, recVideo[i]!.pts - anchor.pts, refVideo[i + v.shift]!.pts - sentAnchor.pts);
      }
      for (let i = a.from; i < a.to; i++) {
        check(`${path} audio ${i}`, recAudio[i]!.pts - anchor.pts, refAudio[i + a.shift]!.pts - sentAnchor.pts);
      }
    }
    // The DASH segments, read from their boxes (see the file comment): the first picture against the first audio
    // frame, as in the FLV (judged against OBS's above).
    const dashOffset = await firstPresentationS(join(day, "init.m4s"), join(day, "seg_0001.m4s")) -
      await firstPresentationS(join(day, "audio_init.m4s"), join(day, "audio_seg_0001.m4s"));
    const flvOffset = video[0]!.pts - audio[0]!.pts;
    assert.ok(Math.abs(dashOffset - flvOffset) <= TIME_TOLERANCE_S, `DASH: video at ${dashOffset} s vs ${flvOffset} s`);
  },
});
