/**
 * End to end from an RTMP publisher to real players: ffmpeg pushes the clip as H.264 + AAC, and stock players in
 * headless Chromium play what was recorded from `GET /api/record/object/...`: dash.js the MPD (AAC in fMP4), hls.js
 * the MPEG-TS playlist (ApsaraVideo's default format).
 */

import assert from "node:assert/strict";
import { dirname } from "node:path";
import { CLIP_PATH } from "../scripts/clip.ts";
import { run } from "./helpers/media_tools.ts";
import { isPlaying, type PlayerKind, withPlayer } from "./helpers/player.ts";
import { objectUrl, recordingFinished, type Service, startService, waitFor } from "./helpers/service.ts";

const TOML = `[[recorder.rules]]
match = "live/*"
segment_duration = 2
splice_window = 0
formats = ["dash", "ts"]
`;

/** Pushes 8 s of the clip, its Opus as AAC, to `stream`; answers the finished recording's folder. */
async function recordAac(service: Service, stream: string): Promise<string> {
  const pushed = await run("ffmpeg", [
    ...["-nostdin", "-v", "error", "-re", "-stream_loop", "2", "-i", CLIP_PATH.pathname, "-t", "8"],
    ...["-c:v", "copy", "-c:a", "aac", "-b:a", "128k", "-f", "flv", `${service.rtmpUrl}/${stream}`],
  ]);
  assert.equal(pushed.code, 0, pushed.stderr);
  await recordingFinished(service, stream);
  const row = await waitFor("the recording in the index", async () => {
    const listing = await (await service.fetch(`/api/recordings?stream=${stream}&from=2000-01-01T00:00:00Z`)).json();
    return listing.recordings[0] as { mpd_path: string } | undefined;
  });
  return dirname(row.mpd_path);
}

/**
 * hls.js's word that the picture did not move at its very start although seconds were buffered from 0: headless
 * Chromium on a busy machine (CI runs two e2e files at once) can take that long to start decoding. The playback
 * that follows is checked as usual.
 */
const START_STALL = /^hls\.js non-fatal mediaError error bufferStalledError \(Playback stalling at @0 .*"start":0,/;

/** Plays `path` in `kind` to its end: H.264 and AAC selected, 1280x720, about 8 s, no errors. */
async function playsToEnd(service: Service, path: string, kind: PlayerKind): Promise<void> {
  await withPlayer(objectUrl(service, path), async (player) => {
    const playing = await player.waitUntil(
      "currentTime past 3 s",
      (s) => isPlaying(s) && s.currentTime > 3 ? s : undefined,
      20_000,
    );
    assert.deepEqual(playing.errors.filter((error) => !START_STALL.test(error)), [], `no ${kind} or <video> errors`);
    assert.match(playing.videoTrack?.codec ?? "(no video track)", /avc1\.42c01f/i);
    assert.match(playing.audioTrack?.codec ?? "(no audio track)", /mp4a\.40\.2/i);
    assert.equal(`${playing.videoWidth}x${playing.videoHeight}`, "1280x720");
    assert.ok(
      playing.durationS !== null && Math.abs(playing.durationS - 8) <= 1,
      `duration ${playing.durationS} s within 1 s of the 8 s published`,
    );
    const ended = await player.waitUntil("playback to end", (s) => s.ended ? s : undefined, 15_000);
    assert.deepEqual(ended.errors.filter((error) => !START_STALL.test(error)), [], "no errors through to the end");
    assert.ok(ended.currentTime >= 7.5, `ended at ${ended.currentTime} s, not before the last segment`);
  }, kind);
}

Deno.test("an RTMP recording (H.264 + AAC) plays to its end in dash.js from its MPD and in hls.js from ts.m3u8", async () => {
  const service = await startService({ toml: TOML });
  try {
    const dir = await recordAac(service, "live/players");
    const ts = await service.fetch(`/api/record/object/${dir}/ts.m3u8`);
    assert.equal(ts.headers.get("content-type"), "application/vnd.apple.mpegurl");
    const segment = /^(\d+_\d+\.ts)$/m.exec(await ts.text())?.[1];
    assert.ok(segment !== undefined, "ts.m3u8 lists {unix}_{seq}.ts segments");
    const segmentResponse = await service.fetch(`/api/record/object/${dir}/${segment}`);
    assert.equal(segmentResponse.headers.get("content-type"), "video/mp2t");
    await segmentResponse.body?.cancel();
    await playsToEnd(service, `${dir}/manifest.mpd`, "dash.js");
    await playsToEnd(service, `${dir}/ts.m3u8`, "hls.js");
  } finally {
    await service.stop();
  }
});
