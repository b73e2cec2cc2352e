/**
 * End to end through the running service: the test clip published over real WebRTC (werift) on loopback, recorded
 * by auto_streams and by the API, then judged by ffprobe/ffmpeg reading what landed on disk.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { syncErrors } from "./helpers/av_sync.ts";
import { decodeErrors, probe } from "./helpers/media_tools.ts";
import { recordingFinished, startService, todayFolder } from "./helpers/service.ts";

const clip = await loadClip();

Deno.test("a stream matching auto_streams is recorded whole: decodable, right duration, every frame, in sync", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["auto-*"]\nsegment_duration = 2\n` });
  try {
    const sent = await publishClip({ url: `${service.url}/whip/auto-1`, seconds: 10, clip });
    await recordingFinished(service, "auto-1");
    const mpd = join(service.root, "auto-1", todayFolder(), "manifest.mpd");
    const text = await Deno.readTextFile(mpd);
    assert.match(text, /type="static"/);
    assert.match(text, /codecs="avc1\.42c01f"/);
    assert.match(text, /codecs="opus"/);
    assert.equal(await decodeErrors(mpd), "");
    const { streams, durationS } = await probe(mpd);
    const video = streams.find((s) => s.codec_type === "video");
    const audio = streams.find((s) => s.codec_type === "audio");
    assert.ok(video && audio, `both streams present: ${JSON.stringify(streams)}`);
    assert.equal(Number(video.nb_read_frames), sent.videoFrames, "every video frame sent was recorded");
    assert.ok(Math.abs(durationS - 10) <= 0.5, `duration ${durationS} s within 0.5 s of 10 s`);
    assert.deepEqual(await syncErrors(mpd, { minMarks: 8, clipDurationS: clip.durationMs / 1000 }), []);
    const files = [...Deno.readDirSync(join(service.root, "auto-1", todayFolder()))].map((e) => e.name).sort();
    for (const name of ["init.m4s", "audio_init.m4s", "seg_0001.m4s", "audio_seg_0001.m4s", "manifest.mpd"]) {
      assert.ok(files.includes(name), `${name} in ${files.join(", ")}`);
    }
  } finally {
    await service.stop();
  }
});

Deno.test("H.264 in packetization-mode 0 (one NAL unit per packet) is recorded frame for frame", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["*"]\nsegment_duration = 2\n` });
  try {
    const sent = await publishClip({
      url: `${service.url}/whip/mode0`,
      seconds: 4,
      clip,
      h264Fmtp: "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
    });
    await recordingFinished(service, "mode0");
    const mpd = join(service.root, "mode0", todayFolder(), "manifest.mpd");
    assert.equal(await decodeErrors(mpd), "");
    const video = (await probe(mpd)).streams.find((s) => s.codec_type === "video");
    assert.equal(Number(video?.nb_read_frames), sent.videoFrames);
  } finally {
    await service.stop();
  }
});

Deno.test("offers with setup:active and setup:passive are answered with the other role and recorded whole", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["*"]\nsegment_duration = 2\n` });
  try {
    for (const offerSetup of ["active", "passive"] as const) {
      const sent = await publishClip({ url: `${service.url}/whip/setup-${offerSetup}`, seconds: 3, clip, offerSetup });
      await recordingFinished(service, `setup-${offerSetup}`);
      const mpd = join(service.root, `setup-${offerSetup}`, todayFolder(), "manifest.mpd");
      assert.equal(await decodeErrors(mpd), "", offerSetup);
      const video = (await probe(mpd)).streams.find((s) => s.codec_type === "video");
      assert.equal(Number(video?.nb_read_frames), sent.videoFrames, offerSetup);
    }
  } finally {
    await service.stop();
  }
});

Deno.test("an offer with one usable track records that track alone", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["*"]\nsegment_duration = 2\n` });
  try {
    const sent = await publishClip({ url: `${service.url}/whip/voice`, seconds: 4, clip, video: false });
    await recordingFinished(service, "voice");
    const mpd = join(service.root, "voice", todayFolder(), "manifest.mpd");
    assert.doesNotMatch(await Deno.readTextFile(mpd), /contentType="video"/);
    assert.equal(await decodeErrors(mpd), "");
    const { streams, durationS } = await probe(mpd);
    assert.deepEqual(streams.map((s) => s.codec_type), ["audio"]);
    assert.equal(Number(streams[0]!.nb_read_frames), sent.audioFrames);
    assert.ok(Math.abs(durationS - 4) <= 0.5, `duration ${durationS}`);
  } finally {
    await service.stop();
  }
});
