/**
 * End to end from libdatachannel, the WebRTC stack of OBS's WHIP output, through npm node-datachannel (its prebuilt
 * native addon, loaded by Deno): a publisher set up as OBS sets it up (send-only Opus then H.264 sections with
 * their SSRCs, libdatachannel's own H.264 packetizer on Annex B frames, its generic RTP packetizer for Opus, RTCP
 * sender reports and NACK responses) sends the test clip in real time over WHIP into the running service. The
 * recording is judged by ffprobe/ffmpeg: every frame sent and no more, both tracks, a clean decode. It checks the
 * transport and packetization of a non-browser stack, not picture content.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import ndc from "node-datachannel";
import { type Clip, loadClip } from "../scripts/clip.ts";
import { syncErrors } from "./helpers/av_sync.ts";
import { decodeErrors, probe } from "./helpers/media_tools.ts";
import { recordingFinished, recordStatus, type Service, startService, waitFor } from "./helpers/service.ts";

const STREAM = "ldc-1";
const SECONDS = 8;
/** OBS's payload types and mids: audio first. */
const AUDIO_PT = 111;
const VIDEO_PT = 96;
const START_CODE = new Uint8Array([0, 0, 0, 1]);

/** What the publisher sent, for comparison with what was recorded. */
interface Sent {
  videoFrames: number;
  audioPackets: number;
  /** RTCP PLI packets (RFC 4585 §6.3.1) the service sent. */
  keyframeRequests: number;
  offer: string;
  answer: string;
  selectedPair: string;
}

/** Publishes `seconds` of the looped clip to `url`, paced in real time, then DELETEs the WHIP session. */
async function publishWithLibdatachannel(url: string, clip: Clip, seconds: number): Promise<Sent> {
  const cname = `liverec-test-${crypto.randomUUID().slice(0, 8)}`;
  const [audioSsrc, videoSsrc, videoStart, audioStart] = crypto.getRandomValues(new Uint32Array(4));
  // Bound to loopback, libjuice gathers the one loopback host candidate: no traffic leaves 127.0.0.1.
  const pc = new ndc.PeerConnection("liverec-test", { iceServers: [], bindAddress: "127.0.0.1" });
  let location: string | undefined;
  try {
    const audio = new ndc.Audio("0", "SendOnly");
    audio.addOpusCodec(AUDIO_PT);
    audio.addSSRC(audioSsrc!, cname, "liverec-test", "audio");
    const audioTrack = pc.addTrack(audio);
    const audioConfig = new ndc.RtpPacketizationConfig(audioSsrc!, cname, AUDIO_PT, 48_000);
    const audioPacketizer = new ndc.RtpPacketizer(audioConfig);
    audioPacketizer.addToChain(new ndc.RtcpSrReporter(audioConfig));
    audioTrack.setMediaHandler(audioPacketizer);

    const video = new ndc.Video("1", "SendOnly");
    video.addH264Codec(VIDEO_PT);
    video.addSSRC(videoSsrc!, cname, "liverec-test", "video");
    const videoTrack = pc.addTrack(video);
    const videoConfig = new ndc.RtpPacketizationConfig(videoSsrc!, cname, VIDEO_PT, 90_000);
    const videoPacketizer = new ndc.H264RtpPacketizer("StartSequence", videoConfig);
    videoPacketizer.addToChain(new ndc.RtcpSrReporter(videoConfig));
    videoPacketizer.addToChain(new ndc.RtcpNackResponder());
    videoTrack.setMediaHandler(videoPacketizer);
    let keyframeRequests = 0;
    videoTrack.onMessage((message) => (keyframeRequests += countPli(new Uint8Array(message))));

    let gathered = false;
    let state = "new";
    pc.onGatheringStateChange((gathering) => (gathered ||= gathering === "complete"));
    pc.onStateChange((connection) => (state = connection));
    pc.setLocalDescription();
    await waitFor("libdatachannel to gather its candidates", () => Promise.resolve(gathered || undefined), 5_000);
    const offer = pc.localDescription()!.sdp;
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/sdp" }, body: offer });
    const answer = await response.text();
    assert.equal(response.status, 201, `WHIP POST answered ${response.status}: ${answer}`);
    location = new URL(response.headers.get("location")!, url).href;
    pc.setRemoteDescription(answer, "answer");
    await waitFor(`libdatachannel to connect (${state})`, () => {
      if (state === "failed" || state === "closed") throw new Error(`libdatachannel's connection went ${state}`);
      return Promise.resolve(state === "connected" && videoTrack.isOpen() && audioTrack.isOpen() || undefined);
    }, 10_000);
    const pair = pc.getSelectedCandidatePair();
    const selectedPair = `${pair?.local.address}:${pair?.local.port} -> ${pair?.remote.address}:${pair?.remote.port}`;

    // The clip in real time, looped, from its first keyframe: RTP timestamps are set on the packetizer's config
    // before each frame, as OBS does.
    const events = [];
    for (let loopMs = 0; loopMs < seconds * 1000; loopMs += clip.durationMs) {
      for (const frame of clip.video) events.push({ ms: loopMs + frame.ticks / 90, loopMs, video: frame });
      for (const frame of clip.audio) events.push({ ms: loopMs + frame.ticks / 48, loopMs, audio: frame });
    }
    events.sort((a, b) => a.ms - b.ms);
    let videoFrames = 0;
    let audioPackets = 0;
    const startedAt = performance.now();
    for (const event of events) {
      if (event.ms >= seconds * 1000) break;
      const wait = startedAt + event.ms - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      if (event.video !== undefined) {
        videoConfig.timestamp = (videoStart! + Math.round(event.loopMs * 90) + event.video.ticks) >>> 0;
        assert.ok(videoTrack.sendMessageBinary(Buffer.from(annexB(event.video.nalUnits))), "video frame sent");
        videoFrames++;
      } else if (event.audio !== undefined) {
        audioConfig.timestamp = (audioStart! + Math.round(event.loopMs * 48) + event.audio.ticks) >>> 0;
        assert.ok(audioTrack.sendMessageBinary(Buffer.from(event.audio.data)), "Opus packet sent");
        audioPackets++;
      }
    }
    const deleted = await fetch(location, { method: "DELETE" });
    await deleted.body?.cancel();
    assert.equal(deleted.status, 200, `WHIP DELETE of ${location}`);
    location = undefined;
    return { videoFrames, audioPackets, keyframeRequests, offer, answer, selectedPair };
  } finally {
    if (location !== undefined) await fetch(location, { method: "DELETE" }).then((r) => r.body?.cancel(), () => {});
    pc.close();
  }
}

/** An access unit as Annex B: each NAL unit after a 4-byte start code, what OBS hands libdatachannel. */
function annexB(nalUnits: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(nalUnits.reduce((n, nal) => n + START_CODE.length + nal.length, 0));
  let offset = 0;
  for (const nal of nalUnits) {
    out.set(START_CODE, offset);
    out.set(nal, offset + START_CODE.length);
    offset += START_CODE.length + nal.length;
  }
  return out;
}

/** PLI packets (payload-specific feedback, FMT 1) in a compound RTCP packet; 0 for anything else. */
function countPli(packet: Uint8Array): number {
  let count = 0;
  for (let offset = 0; offset + 4 <= packet.length;) {
    if (packet[offset]! >> 6 !== 2) return count;
    if (packet[offset + 1] === 206 && (packet[offset]! & 0x1f) === 1) count++;
    offset += 4 * (((packet[offset + 2]! << 8) | packet[offset + 3]!) + 1);
  }
  return count;
}

function serviceTail(service: Service): string {
  return service.logs().split("\n").slice(-40).join("\n");
}

Deno.test("libdatachannel (OBS's WebRTC stack, via node-datachannel) publishes H.264 + Opus: every frame recorded, decodes cleanly", async () => {
  const service = await startService({ toml: `[recorder]\nauto_streams = ["ldc-*"]\nsegment_duration = 2\n` });
  try {
    const clip = await loadClip();
    const sent = await publishWithLibdatachannel(`${service.url}/whip/${STREAM}`, clip, SECONDS)
      .catch((error) => Promise.reject(new Error(`${error}\n${serviceTail(service)}`, { cause: error })));
    console.log(
      `libdatachannel ${ndc.getLibraryVersion()} sent ${sent.videoFrames} video frames and ${sent.audioPackets} ` +
        `Opus packets over ${sent.selectedPair}; the service asked for ${sent.keyframeRequests} keyframes`,
    );
    // libdatachannel's own style: a section per track, no bundle-only, and loopback only.
    assert.match(sent.offer, /^m=audio [1-9]\d* UDP\/TLS\/RTP\/SAVPF 111\r?$/m, sent.offer);
    assert.match(sent.offer, /^m=video [1-9]\d* UDP\/TLS\/RTP\/SAVPF 96\r?$/m, sent.offer);
    assert.doesNotMatch(sent.offer, /a=bundle-only/, sent.offer);
    assert.match(sent.answer, /^a=rtpmap:96 H264\/90000\r?$/m, sent.answer);
    assert.match(sent.answer, /^a=rtpmap:111 opus\/48000\/2\r?$/m, sent.answer);
    assert.match(sent.selectedPair, /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/, "ICE over loopback");

    await recordingFinished(service, STREAM);
    const row = await waitFor("the recording in the index", async () => {
      const listing = await (await service.fetch(`/api/recordings?stream=${STREAM}&from=2000-01-01T00:00:00Z`)).json();
      return listing.recordings[0] as { mpd_path: string; state: string } | undefined;
    });
    const mpd = join(service.root, row.mpd_path);
    const mpdText = await Deno.readTextFile(mpd);
    assert.match(mpdText, /codecs="avc1\.42[0-9a-f]{4}"/i, `H.264 constrained baseline, as the clip\n${mpdText}`);
    assert.match(mpdText, /codecs="opus"/, mpdText);
    assert.equal((mpdText.match(/<Period /g) ?? []).length, 1, `one Period\n${mpdText}`);
    assert.equal(await decodeErrors(mpd), "", `ffmpeg decodes the recording without errors\n${serviceTail(service)}`);

    const { streams, durationS } = await probe(mpd);
    const video = streams.find((s) => s.codec_type === "video");
    const audio = streams.find((s) => s.codec_type === "audio");
    assert.equal(video?.codec_name, "h264", JSON.stringify(streams));
    assert.equal(`${video.width}x${video.height}`, "1280x720", "the clip's frame size");
    assert.equal(audio?.codec_name, "opus", `the audio is recorded: ${JSON.stringify(streams)}`);
    const frames = Number(video.nb_read_frames);
    const audioFrames = Number(audio.nb_read_frames);
    console.log(`recorded ${frames} video frames and ${audioFrames} Opus packets, ${durationS} s`);
    assert.ok(
      frames >= 0.97 * sent.videoFrames && frames <= sent.videoFrames,
      `recorded ${frames} of ${sent.videoFrames} video frames sent\n${serviceTail(service)}`,
    );
    assert.ok(
      audioFrames >= 0.97 * sent.audioPackets && audioFrames <= sent.audioPackets,
      `recorded ${audioFrames} of ${sent.audioPackets} Opus packets sent`,
    );
    assert.ok(durationS >= 3, `recorded ${durationS} s of the ${SECONDS} s sent`);
    assert.deepEqual(await syncErrors(mpd, { minMarks: SECONDS - 3, clipDurationS: clip.durationMs / 1000 }), []);
    assert.equal((await recordStatus(service, STREAM)).recording, false);
  } finally {
    await service.stop();
    ndc.cleanup();
  }
});
