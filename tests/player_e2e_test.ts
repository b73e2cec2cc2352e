/**
 * End to end through a real player: the test clip published over WebRTC into the running service, and the DASH
 * manifest it writes played by stock dash.js in headless Chromium from `GET /api/record/object/...`, after the
 * recording (static MPD) and while it is still being recorded (dynamic MPD). It does not judge picture quality;
 * ffprobe/ffmpeg do that in record_e2e_test.ts.
 */

import assert from "node:assert/strict";
import { loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { advances, isPlaying, withPlayer } from "./helpers/player.ts";
import {
  objectUrl,
  publishInBackground,
  recordingFinished,
  recordingStarted,
  startService,
  waitFor,
} from "./helpers/service.ts";

const clip = await loadClip();
const TOML = `[recorder]\nauto_streams = ["play-*"]\nsegment_duration = 2\n`;

Deno.test("a finished recording plays in dash.js to its end: 720p video and Opus audio selected, no errors", async () => {
  const service = await startService({ toml: TOML });
  try {
    const [, { mpd_path: mpdPath }] = await Promise.all([
      publishClip({ url: `${service.url}/whip/play-1`, seconds: 8, clip }),
      recordingStarted(service, "play-1"),
    ]);
    await recordingFinished(service, "play-1");
    const mpd = await (await service.fetch(`/api/record/object/${mpdPath}`)).text();
    assert.match(mpd, /type="static"/);

    await withPlayer(objectUrl(service, mpdPath), async (player) => {
      const playing = await player.waitUntil(
        "currentTime past 3 s",
        (s) => isPlaying(s) && s.currentTime > 3 ? s : undefined,
        20_000,
      );
      assert.deepEqual(playing.errors, [], "no dash.js or <video> errors");
      assert.equal(playing.dynamic, false, "the finished recording is played as static");
      assert.match(playing.videoTrack?.codec ?? "(no video track)", /avc1\.42c01f/);
      assert.match(playing.audioTrack?.codec ?? "(no audio track)", /opus/);
      assert.equal(`${playing.videoWidth}x${playing.videoHeight}`, "1280x720");
      assert.ok(
        playing.durationS !== null && Math.abs(playing.durationS - 8) <= 1,
        `duration ${playing.durationS} s within 1 s of the 8 s published`,
      );
      const ended = await player.waitUntil("playback to end", (s) => s.ended ? s : undefined, 15_000);
      assert.deepEqual(ended.errors, [], "no errors through to the end");
      assert.ok(ended.currentTime >= 7.5, `ended at ${ended.currentTime} s, not before the last segment`);
    });
  } finally {
    await service.stop();
  }
});

Deno.test("a recording in progress plays live in dash.js: time advances 2 s while the stream is still published", async () => {
  const service = await startService({ toml: TOML });
  const publish = publishInBackground({ url: `${service.url}/whip/play-live`, seconds: 14, clip });
  try {
    const { mpd_path: mpdPath } = await recordingStarted(service, "play-live");
    await waitFor("the live MPD to list video and audio segments", async () => {
      const mpd = await (await service.fetch(`/api/record/object/${mpdPath}`)).text();
      return /contentType="video"[\s\S]*<S [\s\S]*contentType="audio"[\s\S]*<S /.test(mpd) ? mpd : undefined;
    });

    await withPlayer(objectUrl(service, mpdPath), async (player) => {
      const advanced = await advances(player, 2);
      assert.equal(publish.ended(), false, "time advanced while the stream was still being published");
      assert.deepEqual(advanced.errors, [], "no dash.js or <video> errors");
      assert.equal(advanced.dynamic, true, "the recording in progress is played as live");
      assert.ok(advanced.videoTrack !== null && advanced.audioTrack !== null, "video and audio tracks selected");
    });
    await publish.result;
    await recordingFinished(service, "play-live");
  } finally {
    await publish.result.catch(() => {});
    await service.stop();
  }
});
