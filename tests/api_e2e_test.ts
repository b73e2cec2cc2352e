/**
 * The recording API end to end with real WebRTC publishers: start/status/stop with base_dir, keyframe requests,
 * a second recording of the same stream on the same day, one publisher per stream, and finalizing on SIGTERM.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { publishWhip } from "../src/ingest/whip_client.ts";
import { decodeErrors, periodFiles, probe } from "./helpers/media_tools.ts";
import { recordingFinished, recordStatus, startService, streamLive, todayFolder, waitFor } from "./helpers/service.ts";

const clip = await loadClip();

Deno.test("the API starts a recording into base_dir, reports it while live, and stops it into a static manifest", async () => {
  const service = await startService();
  try {
    // Ask for the recording mid-GOP (the 10th frame of 30), so that it has to wait for, and ask for, a keyframe.
    let midGop: () => void = () => {};
    const reachedMidGop = new Promise<void>((resolve) => (midGop = resolve));
    const publishing = publishClip({
      url: `${service.url}/whip/api-1`,
      seconds: 9,
      clip,
      onVideoFrame: (sent) => sent === 10 && midGop(),
    });
    await reachedMidGop;
    const startResponse = await service.fetch(`/api/record/api-1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ base_dir: "custom/dir" }),
    });
    assert.equal(startResponse.status, 200);
    const started = await startResponse.json();
    assert.equal(started.id, "api-1");
    assert.equal(started.record_dir, "custom/dir");
    assert.equal(started.mpd_path, "custom/dir/manifest.mpd");
    assert.equal(started.hls_path, "custom/dir/index.m3u8");
    // record_id as live777 (and Liveman, which shows it as a date) has it: the start in Unix seconds.
    assert.match(started.record_id, /^\d{10}$/);
    assert.ok(Math.abs(Number(started.record_id) - Date.now() / 1000) <= 2, `record_id ${started.record_id}`);
    assert.match(started.liverec_record_id, /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    const row = await (await service.fetch(`/api/recordings/${started.record_id}`)).json();
    assert.equal(row.record_id, started.liverec_record_id, "either id names the recording");
    assert.ok(Math.abs(Number(started.record_id) - Date.parse(row.started_at) / 1000) < 1, "the start, to the second");

    // Idempotent, as live777's start is: the recording running, the same body.
    const again = await service.fetch(`/api/record/api-1`, { method: "POST" });
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), started);

    const dynamic = await waitFor("a live manifest listing segments", async () => {
      const response = await service.fetch(`/api/record/object/custom/dir/manifest.mpd`);
      const text = response.ok ? await response.text() : (await response.body?.cancel(), "");
      return /type="dynamic"/.test(text) && /<S /.test(text) ? text : undefined;
    });
    assert.match(dynamic, /availabilityStartTime=/);
    const running = await recordStatus(service, "api-1");
    assert.equal(running.recording, true);
    assert.equal(running.mpd_path, "custom/dir/manifest.mpd");
    assert.ok((running.segments ?? 0) >= 1, `segments: ${running.segments}`);

    const stopResponse = await service.fetch(`/api/record/api-1`, { method: "DELETE" });
    assert.equal(stopResponse.status, 200);
    assert.equal((await stopResponse.json()).mpd_path, "custom/dir/manifest.mpd");
    assert.equal((await recordStatus(service, "api-1")).recording, false);
    const sent = await publishing;
    assert.ok(sent.keyframeRequests >= 1, "the recorder asked for a keyframe when it started mid-GOP");

    const mpd = join(service.root, "custom", "dir", "manifest.mpd");
    assert.match(await Deno.readTextFile(mpd), /type="static"/);
    assert.equal(await decodeErrors(mpd), "");
    const { streams, durationS } = await probe(mpd);
    assert.deepEqual(streams.map((s) => s.codec_type).sort(), ["audio", "video"]);
    assert.ok(durationS > 2, `recorded ${durationS} s`);
  } finally {
    await service.stop();
  }
});

Deno.test("a second recording of a stream on the same day adds a period and never overwrites the first", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["twice"]\nsegment_duration = 2\n` });
  try {
    const dir = join(service.root, "twice", todayFolder());
    const first = await publishClip({ url: `${service.url}/whip/twice`, seconds: 4, clip });
    await recordingFinished(service, "twice");
    const firstFiles = new Map<string, Uint8Array>();
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.name.endsWith(".m4s")) firstFiles.set(entry.name, await Deno.readFile(join(dir, entry.name)));
    }
    const second = await publishClip({ url: `${service.url}/whip/twice`, seconds: 4, clip });
    await recordingFinished(service, "twice");

    for (const [name, bytes] of firstFiles) {
      assert.deepEqual(await Deno.readFile(join(dir, name)), bytes, `${name} is unchanged`);
    }
    const mpd = await Deno.readTextFile(join(dir, "manifest.mpd"));
    const periods = [...mpd.matchAll(/<Period id="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(periods.length, 2, mpd);
    assert.match(mpd, /initialization="init_2\.m4s"/);
    const startNumbers = [...mpd.matchAll(/media="seg_[^"]+" startNumber="(\d+)"/g)].map((m) => Number(m[1]));
    assert.equal(startNumbers[0], 1);
    assert.ok(startNumbers[1]! > 1, `numbering continues: ${startNumbers}`);
    assert.ok(Deno.statSync(join(dir, `seg_${String(startNumbers[1]).padStart(4, "0")}.m4s`)).isFile);
    const sent = [first.videoFrames, second.videoFrames];
    for (const [i, period] of (await periodFiles(join(dir, "manifest.mpd"))).entries()) {
      for (const file of [period.video!, period.audio!]) assert.equal(await decodeErrors(file), "", file);
      const frames = Number((await probe(period.video!)).streams[0]?.nb_read_frames);
      assert.equal(frames, sent[i], `period ${i + 1} holds every frame sent`);
    }
  } finally {
    await service.stop();
  }
});

Deno.test("a second publisher of a live stream is refused with 409", async () => {
  const service = await startService();
  try {
    const publishing = publishClip({ url: `${service.url}/whip/solo`, seconds: 3, clip });
    await streamLive(service, "solo");
    await assert.rejects(publishClip({ url: `${service.url}/whip/solo`, seconds: 1, clip }), /409/);
    await publishing;
  } finally {
    await service.stop();
  }
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} finalizes a recording in progress before the service exits`, async () => {
    const service = await startService({ toml: `[recorder]\nauto_streams = ["*"]\nsegment_duration = 2\n` });
    let code = -1;
    const abort = new AbortController();
    const publishing = publishClip({ url: `${service.url}/whip/${signal}`, seconds: 30, clip, signal: abort.signal })
      .catch(() => undefined);
    try {
      await waitFor(
        "a few segments",
        async () => ((await recordStatus(service, signal)).segments ?? 0) >= 4 || undefined,
      );
    } finally {
      code = await service.stop(signal);
      abort.abort();
      await publishing;
    }
    assert.equal(code, 0);
    assert.match(service.logs(), /stopping: finalizing recordings/);
    const mpd = join(service.root, signal, todayFolder(), "manifest.mpd");
    assert.match(await Deno.readTextFile(mpd), /type="static"/);
    assert.equal(await decodeErrors(mpd), "");
    const { durationS } = await probe(mpd);
    assert.ok(durationS >= 3, `finalized ${durationS} s`);
  });
}

Deno.test("the answer is ICE-lite, DTLS passive, with host candidates from [webrtc]: public IPs, loopback, the UDP port range", async () => {
  const service = await startService({
    toml: `[webrtc]\npublic_ips = ["203.0.113.7"]\nudp_port_range = [41000, 41010]\n`,
  });
  try {
    const publisher = await publishWhip({ url: `${service.url}/whip/ice`, video: true, audio: true });
    const candidates = publisher.answerSdp.split("\r\n").filter((line) => line.startsWith("a=candidate:"));
    await publisher.close();
    assert.match(publisher.answerSdp, /^a=ice-lite$/m);
    assert.match(publisher.answerSdp, /^a=setup:passive$/m, "liverec is the DTLS server (see WhipSession.answer)");
    const hosts = candidates.map((line) => line.split(" "));
    assert.ok(hosts.every((parts) => parts[7] === "host"), "host candidates only: no STUN, no relay");
    const addresses = new Set(hosts.map((parts) => parts[4]));
    assert.ok(addresses.has("203.0.113.7") && addresses.has("127.0.0.1"), [...addresses].join(", "));
    for (const parts of hosts) {
      const port = Number(parts[5]);
      assert.ok(port >= 41000 && port <= 41010, `port ${port} within the configured range`);
    }
  } finally {
    await service.stop();
  }
});

Deno.test("a recording started through the API before media flows holds every frame sent", async () => {
  const service = await startService();
  try {
    let response: Response | undefined;
    const sent = await publishClip({
      url: `${service.url}/whip/api-2`,
      seconds: 6,
      clip,
      onConnected: async () => (response = await service.fetch(`/api/record/api-2`, { method: "POST" })),
    });
    assert.ok(response !== undefined);
    assert.equal(response.status, 200);
    const { mpd_path } = await response.json();
    await recordingFinished(service, "api-2");
    const mpd = join(service.root, mpd_path);
    assert.equal(await decodeErrors(mpd), "");
    const { streams } = await probe(mpd);
    const video = streams.find((s) => s.codec_type === "video");
    assert.equal(Number(video?.nb_read_frames), sent.videoFrames);
  } finally {
    await service.stop();
  }
});

Deno.test("a publisher that stops sending media without ending its session is let go after 10 s; its recording waits", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["*"]\nsegment_duration = 2\n` });
  const publisher = await publishWhip({ url: `${service.url}/whip/silent`, video: true, audio: true });
  try {
    for (const [i, frame] of clip.video.slice(0, 30).entries()) await publisher.sendVideo(frame.nalUnits, i * 3000);
    await streamLive(service, "silent");
    const waiting = await waitFor("the silent publish to end", async () => {
      const now = await recordStatus(service, "silent");
      return now.stream_live ? undefined : now;
    }, 20_000);
    assert.match(
      service.logs(),
      /publish ended.*reason="no media for 10000 ms" connection=connected ice=connected rtpPackets=[1-9]\d*/,
      "the log says the transport was up and media had come",
    );
    // A lost publisher (not a WHIP DELETE) may come back: the recording waits out the default 180 s splice window.
    assert.equal(waiting.recording, true);
    assert.equal(waiting.state, "waiting");
    const leftS = (Date.parse(String(waiting.splice_deadline)) - Date.now()) / 1000;
    assert.ok(leftS > 160 && leftS <= 180, `splice window closes in ${leftS} s`);
  } finally {
    await publisher.close();
    await service.stop();
  }
});
