/**
 * Playback with auth on, for players that send no header: the API hands out signed URLs of a finished recording's
 * DASH manifest, HLS playlist and MP4, and with nothing but those URLs ffmpeg decodes each, VLC reads each, stock
 * dash.js and hls.js play the manifests to their end in Chromium, and a `<video src>` plays the MP4. A tampered, moved or expired URL
 * is refused with 403, and the URLs themselves are only given for the token.
 */

import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { join } from "node:path";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { CHROMIUM, CHROMIUM_ARGS, withPlayer } from "./helpers/player.ts";
import { startService, waitFor } from "./helpers/service.ts";

const TOKEN = "playback-test-token-42";
const STREAM = "signed-1";
const auth = { headers: { authorization: `Bearer ${TOKEN}` } };

interface PlaybackUrls {
  record_id: string;
  expires_at: string;
  mpd_url: string;
  hls_url: string;
  ts_url: string | null;
  mp4_url: string;
}

Deno.test("signed playback URLs play without a token in ffmpeg, VLC, dash.js, hls.js and <video>; tampered or expired: 403", async () => {
  const service = await startService({
    toml: `[recorder]\nauto_streams = ["signed-*"]\nsegment_duration = 2\n\n[auth]\ntokens = ["${TOKEN}"]\n`,
  });
  try {
    await publishClip({ url: `${service.url}/whip/${STREAM}`, seconds: 6, token: TOKEN, clip: await loadClip() });
    const row = await waitFor("the finished recording", async () => {
      const listing = await (await service.fetch(`/api/recordings?stream=${STREAM}&state=finished`, auth)).json();
      return listing.recordings?.[0] as { record_id: string } | undefined;
    });
    const playbackPath = `/api/recordings/${row.record_id}/playback`;
    assert.equal((await service.fetch(playbackPath)).status, 401, "signed URLs are given for the token only");
    const urls: PlaybackUrls = await (await service.fetch(`${playbackPath}?expires_in=600`, auth)).json();
    assert.match(urls.mpd_url, new RegExp(`^${service.url}/play/\\d+/[\\w-]{22}/signed-1/.+/manifest\\.mpd$`));
    assert.ok(Math.abs(Date.parse(urls.expires_at) - Date.now() - 600_000) < 5_000, urls.expires_at);

    // ffmpeg, given only the URL.
    const videoFrames = new Map<string, number>();
    for (const url of [urls.mpd_url, urls.hls_url, urls.mp4_url]) {
      assert.equal(await decodeErrors(url), "", `ffmpeg decodes ${url}`);
      const { streams, durationS } = await probe(url);
      videoFrames.set(url, Number(streams.find((s) => s.codec_type === "video")?.nb_read_frames));
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), ["h264", "opus"], url);
      assert.ok(durationS >= 5, `${url}: ${durationS} s`);
    }

    // VLC (which refuses to run as root: as nobody), remuxing what it reads from each URL into a file ffprobe counts.
    const vlcDir = await Deno.makeTempDir({ prefix: "liverec-vlc-" });
    await Deno.chmod(vlcDir, 0o777);
    for (const url of [urls.mpd_url, urls.hls_url, urls.mp4_url]) {
      const out = join(vlcDir, `${url.slice(url.lastIndexOf("/") + 1)}.ts`);
      const asUser = Deno.uid() === 0 ? ["runuser", "-u", "nobody", "--"] : [];
      const [command, ...args] = [
        ...asUser,
        "cvlc",
        "-q",
        url,
        "--sout",
        `#std{access=file,mux=ts,dst=${out}}`,
        "vlc://quit",
      ];
      const vlc = await run(command!, args);
      assert.equal(vlc.code, 0, `VLC read ${url}\n${vlc.stderr}`);
      const frames = (await probe(out)).streams.find((s) => s.codec_type === "video")?.nb_read_frames;
      assert.ok(Number(frames) >= 0.9 * videoFrames.get(url)!, `VLC got ${frames} video frames of ${url}`);
    }
    await Deno.remove(vlcDir, { recursive: true });

    // Stock dash.js and hls.js in Chromium, to the end.
    for (const [url, kind] of [[urls.mpd_url, "dash.js"], [urls.hls_url, "hls.js"]] as const) {
      await withPlayer(url, async (player) => {
        const end = await player.waitUntil("the end", (s) => (s.ended ? s : undefined), 30_000);
        // hls.js steps over the hole before the audio's first frame with a non-fatal message; how big that hole may
        // be is hls_e2e_test.ts's subject, not this test's.
        const errors = end.errors.filter((e) => !/non-fatal mediaError error bufferSeekOverHole .*from 0 to/.test(e));
        assert.deepEqual(errors, [], `${kind}: no player errors`);
        assert.ok(end.currentTime >= 5, `${kind} played to ${end.currentTime} s`);
        assert.ok(player.requests().every((r) => !r.includes("/api/")), `${kind} used the signed URLs only`);
      }, kind);
    }

    // A plain <video src> on the MP4.
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    try {
      const page = await browser.newPage();
      await page.setContent(`<video id="v" src="${urls.mp4_url}" muted autoplay></video>`);
      const playing = await waitFor("the <video> to play the MP4", async () => {
        type Video = { paused: boolean; readyState: number; currentTime: number; error: { message: string } | null };
        const state = await page.evaluate(() => {
          const page = globalThis as unknown as { document: { getElementById(id: string): Video } };
          const video = page.document.getElementById("v");
          const { paused, readyState, currentTime } = video;
          return { paused, readyState, currentTime, error: video.error?.message };
        });
        if (state.error !== undefined) throw new Error(`<video> error: ${state.error}`);
        return !state.paused && state.readyState >= 3 && state.currentTime > 1 ? state : undefined;
      }, 15_000);
      assert.ok(playing.currentTime > 1);
    } finally {
      await browser.close();
    }

    // Refusals.
    const status = async (url: string) => (await fetch(url)).status;
    const [, expires, signature] = /\/play\/(\d+)\/([\w-]+)\//.exec(urls.mpd_url)!;
    const flipped = signature!.replace(/^./, (c) => (c === "A" ? "B" : "A"));
    assert.equal(await status(urls.mpd_url.replace(signature!, flipped)), 403, "tampered signature");
    assert.equal(await status(urls.mpd_url.replace(`/${expires}/`, `/${Number(expires) + 60}/`)), 403, "longer life");
    assert.equal(await status(urls.mpd_url.replace(`/${STREAM}/`, "/other/")), 403, "another folder");
    const short: PlaybackUrls = await (await service.fetch(`${playbackPath}?expires_in=1`, auth)).json();
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await fetch(short.mpd_url);
    assert.equal(expired.status, 403, "expired");
    assert.match((await expired.json()).error.message, /expired at/);
    assert.equal((await service.fetch(`${playbackPath}?expires_in=0`, auth)).status, 400);
  } finally {
    await service.stop();
  }
});
