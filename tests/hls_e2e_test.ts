/**
 * End to end through HLS: the test clip published over WebRTC into the running service, and the HLS playlists it
 * writes beside the MPD (index.m3u8 over video.m3u8 and audio.m3u8, the same fMP4 segments) played by stock hls.js
 * in headless Chromium from `GET /api/record/object/...`, after the recording and while it is still recorded, and
 * decoded by ffmpeg's HLS demuxer. Safari is not available here; nothing in the playlists is hls.js-specific.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { decodeErrors, probe } from "./helpers/media_tools.ts";
import { advances, isPlaying, type PlayerSnapshot, withPlayer } from "./helpers/player.ts";
import {
  objectUrl,
  publishInBackground,
  recordingFinished,
  recordingStarted,
  type Service,
  startService,
  waitFor,
} from "./helpers/service.ts";

const clip = await loadClip();
const TOML = `[recorder]\nauto_streams = ["hls-*"]\nsegment_duration = 2\n`;

/** The record folder (relative to the storage root) of the stream's running recording, from its MPD path. */
async function recordingDir(service: Service, streamId: string): Promise<string> {
  return dirname((await recordingStarted(service, streamId)).mpd_path);
}

/** A playlist as served to players; it must be served as an HLS playlist, uncached. */
async function fetchPlaylist(service: Service, path: string): Promise<string> {
  const response = await service.fetch(`/api/record/object/${path}`);
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  assert.equal(response.headers.get("content-type"), "application/vnd.apple.mpegurl", path);
  assert.equal(response.headers.get("cache-control"), "no-cache", path);
  return text;
}

/**
 * The player's errors, less the one hls.js may report on any of our recordings: their audio starts up to one 20 ms
 * Opus frame after the first keyframe (media time 0), so playback begins in front of a tiny hole, and when hls.js's
 * gap controller rather than its start-position seek steps over it, it says so as a non-fatal bufferSeekOverHole
 * from 0. A hole of 50 ms or more, or any other error, still counts.
 */
function playbackErrors(s: PlayerSnapshot): string[] {
  const startHoleS = s.buffered[0]?.[0] ?? 0;
  const startGapJump = /^hls\.js non-fatal mediaError error bufferSeekOverHole \(.*seeking from 0 to /;
  return s.errors.filter((error) => !(startHoleS < 0.05 && startGapJump.test(error)));
}

function segmentCount(playlist: string): number {
  return playlist.split("\n").filter((line) => line.endsWith(".m4s")).length;
}

Deno.test("a finished recording plays in hls.js from index.m3u8 to its end and ffmpeg decodes every frame", async () => {
  const service = await startService({ toml: TOML });
  try {
    const [sent, dir] = await Promise.all([
      publishClip({ url: `${service.url}/whip/hls-1`, seconds: 8, clip }),
      recordingDir(service, "hls-1"),
    ]);
    await recordingFinished(service, "hls-1");
    const multivariant = await fetchPlaylist(service, `${dir}/index.m3u8`);
    assert.match(multivariant, /^#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",.*URI="audio\.m3u8"$/m);
    assert.match(multivariant, /^#EXT-X-STREAM-INF:.*CODECS="avc1\.42c01f,opus",RESOLUTION=1280x720,.*\nvideo\.m3u8$/m);
    for (const name of ["video.m3u8", "audio.m3u8"]) {
      const playlist = await fetchPlaylist(service, `${dir}/${name}`);
      assert.match(playlist, /^#EXT-X-PLAYLIST-TYPE:EVENT$/m, name);
      assert.match(playlist, /\n#EXT-X-ENDLIST\n$/, `${name} is finished`);
      assert.ok(segmentCount(playlist) >= 4, `${name} lists ${segmentCount(playlist)} segments`);
    }

    await withPlayer(objectUrl(service, `${dir}/index.m3u8`), async (player) => {
      const playing = await player.waitUntil(
        "currentTime past 3 s",
        (s) => isPlaying(s) && s.currentTime > 3 ? s : undefined,
        20_000,
      );
      assert.deepEqual(playbackErrors(playing), [], "no hls.js or <video> errors");
      assert.equal(playing.dynamic, false, "the finished recording is played as VOD");
      // hls.js names the codec from the avcC, with the hex in capitals.
      assert.match(playing.videoTrack?.codec ?? "(no video track)", /avc1\.42c01f/i);
      assert.match(playing.audioTrack?.codec ?? "(no audio track)", /opus/i);
      assert.equal(playing.audioRenditions, 1, "the AUDIO rendition is offered");
      assert.equal(`${playing.videoWidth}x${playing.videoHeight}`, "1280x720");
      assert.ok(
        playing.durationS !== null && Math.abs(playing.durationS - 8) <= 1,
        `duration ${playing.durationS} s within 1 s of the 8 s published`,
      );
      const ended = await player.waitUntil("playback to end", (s) => s.ended ? s : undefined, 15_000);
      assert.deepEqual(playbackErrors(ended), [], "no errors through to the end");
      assert.ok(ended.currentTime >= 7.5, `ended at ${ended.currentTime} s, not before the last segment`);
    }, "hls.js");

    // ffmpeg's HLS demuxer reads the same playlists from disk, following the AUDIO rendition too.
    const m3u8 = join(service.root, dir, "index.m3u8");
    assert.equal(await decodeErrors(m3u8), "");
    const { streams } = await probe(m3u8);
    const video = streams.find((s) => s.codec_type === "video");
    const audio = streams.find((s) => s.codec_type === "audio");
    assert.ok(video && audio, `both streams present: ${JSON.stringify(streams)}`);
    assert.equal(audio.codec_name, "opus");
    assert.equal(`${video.width}x${video.height}`, "1280x720");
    assert.equal(Number(video.nb_read_frames), sent.videoFrames, "every video frame sent is in the HLS presentation");
  } finally {
    await service.stop();
  }
});

Deno.test("a recording in progress is an EVENT playlist without ENDLIST that hls.js plays live, ENDLIST once it ends", async () => {
  const service = await startService({ toml: TOML });
  const publish = publishInBackground({ url: `${service.url}/whip/hls-live`, seconds: 14, clip });
  try {
    const dir = await recordingDir(service, "hls-live");
    await waitFor("the live playlists to list video and audio segments", async () => {
      const response = await service.fetch(`/api/record/object/${dir}/index.m3u8`);
      if (response.status !== 200 || !/AUDIO="audio"/.test(await response.text())) return undefined;
      const counts = await Promise.all(
        ["video.m3u8", "audio.m3u8"].map(async (name) => segmentCount(await fetchPlaylist(service, `${dir}/${name}`))),
      );
      return counts.every((n) => n > 0) ? true : undefined;
    });
    for (const name of ["video.m3u8", "audio.m3u8"]) {
      const live = await fetchPlaylist(service, `${dir}/${name}`);
      assert.match(live, /^#EXT-X-PLAYLIST-TYPE:EVENT$/m, name);
      assert.doesNotMatch(live, /#EXT-X-ENDLIST/, `${name} has no ENDLIST while recording`);
    }

    await withPlayer(objectUrl(service, `${dir}/index.m3u8`), async (player) => {
      const advanced = await advances(player, 2);
      assert.equal(publish.ended(), false, "time advanced while the stream was still being published");
      assert.deepEqual(playbackErrors(advanced), [], "no hls.js or <video> errors");
      assert.equal(advanced.dynamic, true, "the recording in progress is played as live");
      assert.ok(advanced.videoTrack !== null && advanced.audioTrack !== null, "video and audio are buffered");
    }, "hls.js");
    await publish.result;
    await recordingFinished(service, "hls-live");
    for (const name of ["video.m3u8", "audio.m3u8"]) {
      const finished = await fetchPlaylist(service, `${dir}/${name}`);
      assert.match(finished, /^#EXT-X-PLAYLIST-TYPE:EVENT$/m, name);
      assert.match(finished, /\n#EXT-X-ENDLIST\n$/, `${name} gets its ENDLIST when the recording ends`);
    }
  } finally {
    await publish.result.catch(() => {});
    await service.stop();
  }
});
