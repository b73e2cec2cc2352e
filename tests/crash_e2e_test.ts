/**
 * Durability end to end: the service is killed with SIGKILL while it records a live WHIP publish, restarted on
 * the same storage, and must hand back a finished, playable recording missing at most 1.5 s (the last fragment
 * and what was still in the reorder buffer); the same with an RTMP publish (ffmpeg), missing at most 2 s (its socket
 * is read twice a second).
 * Also: a full or read-only storage root is reported clearly and leaves what was recorded intact; a recording whose
 * MP4 merge the full disk defeats is marked failed and a signed `recording.failed` says why.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CLIP_PATH, loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { decodeErrors, periodFiles, probe, run } from "./helpers/media_tools.ts";
import {
  publishAndKill,
  recordingFinished,
  recordStatus,
  startService,
  todayFolder,
  waitFor,
} from "./helpers/service.ts";
import { startWebhookReceiver } from "./helpers/webhook_receiver.ts";

const clip = await loadClip();
const TOML = `[recorder]\nauto_streams = ["*"]\nsegment_duration = 4\n`;

/** A fresh tmpfs mounted with `options` (needs root), unmounted when disposed however the test ends. */
async function tmpfs(options: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "liverec-tmpfs-" });
  const mounted = await run("mount", ["-t", "tmpfs", "-o", options, "tmpfs", path]);
  assert.equal(mounted.code, 0, mounted.stderr);
  return { path, [Symbol.asyncDispose]: async () => void await run("umount", [path]) };
}

Deno.test("kill -9 during a recording loses at most 1.5 s; the restart finalizes it and recording goes on", async () => {
  const first = await startService({ toml: TOML });
  // Kill mid-segment: 4 s segments, killed 6.5 s in, so the second segment is open and half written.
  const sentBeforeKill = await publishAndKill(first, "crash", clip, 195);
  const dir = join(first.root, "crash", todayFolder());
  const partsLeft = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".part"));
  assert.ok(partsLeft.length > 0, "the kill interrupted an open segment");

  const second = await startService({ toml: TOML, storageRoot: first.root, dir: first.dir });
  try {
    assert.match(second.logs(), /recovered a recording interrupted by a crash/);
    const mpd = join(dir, "manifest.mpd");
    const text = await Deno.readTextFile(mpd);
    assert.match(text, /type="static"/);
    for (const name of ["video.m3u8", "audio.m3u8"]) {
      assert.match(await Deno.readTextFile(join(dir, name)), /\n#EXT-X-ENDLIST\n$/, `recovery finishes ${name}`);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".part")), [], "no open segment is left");
    assert.equal(await decodeErrors(mpd), "");
    const { streams } = await probe(mpd);
    const recorded = Number(streams.find((s) => s.codec_type === "video")?.nb_read_frames);
    assert.ok(recorded <= sentBeforeKill, `recorded ${recorded} of ${sentBeforeKill} frames sent`);
    assert.ok(
      recorded >= sentBeforeKill - 45,
      `at most 1.5 s (45 frames) lost: recorded ${recorded} of ${sentBeforeKill} frames sent`,
    );
    const status = await (await second.fetch("/api/storage")).json();
    assert.equal(status.local_dir, first.root);
    // The recordings index, left saying "recording" by the crash, says finished, with the recovered duration.
    const { recordings } = await (await second.fetch("/api/recordings?stream=crash&state=finished")).json();
    assert.equal(recordings.length, 1, JSON.stringify(recordings));
    assert.ok(Math.abs(recordings[0].duration_s - recorded / 30) < 0.5, JSON.stringify(recordings[0]));

    // The publisher comes back after the restart: a second period, and the day's manifest still plays whole.
    const again = await publishClip({ url: `${second.url}/whip/crash`, seconds: 4, clip });
    await recordingFinished(second, "crash");
    const periods = await periodFiles(mpd);
    assert.equal(periods.length, 2, await Deno.readTextFile(mpd));
    const frames: number[] = [];
    for (const period of periods) {
      for (const file of [period.video!, period.audio!]) assert.equal(await decodeErrors(file), "", file);
      frames.push(Number((await probe(period.video!)).streams[0]?.nb_read_frames));
    }
    assert.equal(frames[0], recorded, "the recovered period is unchanged");
    assert.equal(frames[1], again.videoFrames, "the new period holds every frame");
    const playlist = await Deno.readTextFile(join(dir, "video.m3u8"));
    assert.deepEqual(playlist.match(/^#EXT-X-(DISCONTINUITY|MAP:.*|ENDLIST)$/gm), [
      '#EXT-X-MAP:URI="init.m4s"',
      "#EXT-X-DISCONTINUITY",
      '#EXT-X-MAP:URI="init_2.m4s"',
      "#EXT-X-ENDLIST",
    ]);
  } finally {
    await second.stop();
  }
});

Deno.test("kill -9 during an RTMP recording loses at most 2 s; the restart finalizes it", async () => {
  // The clip looped to 20 s with its Opus as AAC (FLV carries no Opus).
  const clipAac = join(await Deno.makeTempDir({ prefix: "liverec-crash-" }), "clip_aac.mp4");
  const args = ["-stream_loop", "3", "-i", CLIP_PATH.pathname, "-t", "20", "-c:v", "copy", "-c:a", "aac"];
  const made = await run("ffmpeg", ["-nostdin", "-v", "error", "-y", ...args, clipAac]);
  assert.equal(made.code, 0, made.stderr);
  const first = await startService({ toml: TOML });
  // ffmpeg reports the frames it has sent (muxed into the connection) ten times a second.
  const ffmpeg = new Deno.Command("ffmpeg", {
    args: [
      ...["-nostdin", "-v", "error", "-progress", "pipe:1", "-stats_period", "0.1", "-re", "-i", clipAac],
      ...["-c", "copy", "-f", "flv", `${first.rtmpUrl}/live/crash`],
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let sentBeforeKill = 0;
  try {
    // Killed 6.5 s in, mid-segment, as the WHIP test above.
    let progress = "";
    for await (const text of ffmpeg.stdout.pipeThrough(new TextDecoderStream())) {
      progress += text;
      sentBeforeKill = Number([...progress.matchAll(/^frame=(\d+)$/gm)].at(-1)?.[1] ?? 0);
      if (sentBeforeKill >= 195) break;
    }
  } finally {
    await first.stop("SIGKILL");
    ffmpeg.kill("SIGKILL");
    await ffmpeg.status;
  }
  assert.ok(sentBeforeKill >= 195, `ffmpeg sent ${sentBeforeKill} frames`);
  const dir = join(first.root, "live/crash", todayFolder());
  assert.ok([...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".part")), "the kill interrupted an open segment");

  const second = await startService({ toml: TOML, storageRoot: first.root, dir: first.dir });
  try {
    assert.match(second.logs(), /recovered a recording interrupted by a crash/);
    const mpd = join(dir, "manifest.mpd");
    assert.match(await Deno.readTextFile(mpd), /type="static"/);
    assert.equal(await decodeErrors(mpd), "");
    const recorded = Number((await probe(mpd)).streams.find((s) => s.codec_type === "video")?.nb_read_frames);
    // The last fragment (up to 1 s), what the socket held under its low-water mark (up to 0.5 s), and ffmpeg's
    // report, up to 0.1 s behind what it sent.
    assert.ok(recorded <= sentBeforeKill + 3, `recorded ${recorded} of ${sentBeforeKill} frames sent`);
    assert.ok(
      recorded >= sentBeforeKill - 60,
      `at most 2 s (60 frames) lost: recorded ${recorded} of ${sentBeforeKill}`,
    );
  } finally {
    await second.stop();
  }
});

Deno.test({
  name: "a full disk is reported in the log and the API status, and what was recorded before stays intact",
  ignore: Deno.uid() !== 0, // mounting a small tmpfs needs root (CI runs as root)
  async fn() {
    await using root = await tmpfs("size=2m");
    await using receiver = await startWebhookReceiver();
    // "full" is also merged into one MP4 when it ends, which the full disk must defeat; segments stay 4 s long.
    const toml = `${TOML}\n[[recorder.rules]]\nmatch = "full"\nformats = ["dash", "mp4"]\n\n${receiver.toml}`;
    const service = await startService({ toml, storageRoot: root.path });
    const abort = new AbortController();
    try {
      const publishing = publishClip({ url: `${service.url}/whip/full`, seconds: 20, clip, signal: abort.signal });
      const failing = await waitFor("the API to report the full disk", async () => {
        const status = await recordStatus(service, "full");
        return (status.storage_errors ?? 0) > 0 ? status : undefined;
      }, 20_000);
      assert.equal(failing.recording, true, "recording goes on");
      assert.match(failing.last_storage_error ?? "", /No space left on device/);
      assert.match(service.logs(), /recording write failed.*No space left on device/);
      abort.abort();
      await publishing;

      // The recording ends failed: the index row says so, and a signed recording.failed names the full disk.
      const failed = await receiver.waitForEvent("recording.failed", (event) => event.data.stream === "full", 60_000);
      assert.ok(receiver.requests().every((request) => request.signed), "every webhook is signed with the secret");
      assert.equal(failed.data.record_id, failing.record_id, failed.body);
      assert.equal(failed.data.state, "failed", failed.body);
      assert.match(failed.data.error ?? "", /^MP4 merge failed: .*No space left on device/, failed.body);
      assert.equal(failed.data.mp4_path, null, failed.body);
      assert.ok(failed.data.segments >= 1, failed.body);
      assert.deepEqual(receiver.events("recording.finished"), [], "a failed recording is not also finished");
      const row = await (await service.fetch(`/api/recordings/${failed.data.record_id}`)).json();
      assert.equal(row.state, "failed", JSON.stringify(row));
      assert.equal(row.stream, "full");
      assert.match(service.logs(), /MP4 merge failed/);
      const dir = join(root.path, "full", todayFolder());
      const leftovers = [...Deno.readDirSync(dir)].map((entry) => entry.name).filter((name) => name.includes(".tmp-"));
      assert.deepEqual(leftovers, [], "failed writes remove their temporary files");
      const whole = join(await Deno.makeTempDir(), "first.mp4");
      const init = await Deno.readFile(join(dir, "init.m4s"));
      const first = await Deno.readFile(join(dir, "seg_0001.m4s"));
      await Deno.writeFile(whole, new Uint8Array([...init, ...first]));
      assert.equal(await decodeErrors(whole), "", "the segment written before the disk filled decodes");
      const frames = Number((await probe(whole)).streams[0]?.nb_read_frames);
      assert.equal(frames, 120, "the first 4 s segment is whole");
    } finally {
      abort.abort();
      await service.stop();
    }
  },
});

Deno.test({
  name: "a read-only recording folder refuses to start a recording with a 503 that says why",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using root = await tmpfs("ro,size=1m");
    const service = await startService({ toml: "", storageRoot: root.path });
    const abort = new AbortController();
    try {
      let answer: Response | undefined;
      await publishClip({
        url: `${service.url}/whip/ro`,
        seconds: 1,
        clip,
        signal: abort.signal,
        onConnected: async () => (answer = await service.fetch("/api/record/ro", { method: "POST" })),
      });
      assert.equal(answer?.status, 503);
      const body = await answer!.json();
      assert.equal(body.error.code, "storage_unavailable");
      assert.match(body.error.message, /read-only file system/i);
    } finally {
      abort.abort();
      await service.stop();
    }
  },
});
