/**
 * A WHIP publisher (RFC 9725 client) over werift: offers send-only H.264 and/or Opus, POSTs the offer, and sends
 * access units and Opus packets as RTP. Used by the bundled test publisher, the tests and the benchmarks.
 */

import { Buffer } from "node:buffer";
import { MediaStreamTrack, RTCPeerConnection, type RTCRtpSender } from "werift";
import { AUDIO_CODECS, packetizeH264, VIDEO_CODECS } from "../codec/mod.ts";
import { serializeRtpPacket } from "../rtp/mod.ts";
import { useOwnSrtp } from "./own_srtp.ts";
import { openLibsrtp } from "../srtp/mod.ts";
import { peerConfig, rtpCodec } from "./webrtc_config.ts";

export interface WhipPublishOptions {
  /** The WHIP endpoint, e.g. `http://127.0.0.1:7777/whip/stream1`. */
  url: string;
  token?: string;
  video: boolean;
  audio: boolean;
  /**
   * H.264 fmtp to offer; the default is what browsers offer for constrained baseline. With packetization-mode=0
   * every NAL unit travels in a packet of its own, however large (fine on loopback, where datagrams reach 64 KiB).
   */
  h264Fmtp?: string;
  /**
   * The DTLS role the POSTed offer asks for (RFC 5763 §5): `active` or `passive` instead of werift's `actpass`, as
   * some publishers offer it; this end then takes the role the answer leaves it.
   */
  offerSetup?: "active" | "passive";
}

/** A live publish; send media with increasing RTP timestamps, then `close()`. */
export interface WhipPublisher {
  readonly resourceUrl: string;
  /** The server's SDP answer. */
  readonly answerSdp: string;
  /** How many keyframe requests (PLI) the server sent. */
  readonly keyframeRequests: number;
  /** `performance.now()` when the server last sent RTCP (its receiver reports come every 0.5-1.5 s). */
  readonly lastHeardAtMs: number;
  sendVideo(nalUnits: Uint8Array[], rtpTimestamp: number): Promise<void>;
  sendAudio(opusPacket: Uint8Array, rtpTimestamp: number): Promise<void>;
  close(): Promise<void>;
}

/** Connects to a WHIP endpoint; rejects with the server's error text when the POST is refused. */
export async function publishWhip(opts: WhipPublishOptions): Promise<WhipPublisher> {
  const fmtp = opts.h264Fmtp ?? "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
  const mode = /packetization-mode=1/.test(fmtp) ? 1 : 0;
  const pc = new RTCPeerConnection({
    ...peerConfig(
      // A full ICE agent that must not reach any STUN server: point it at a dead loopback port instead.
      {
        publicIps: [],
        udpPortRange: undefined,
        stunServers: ["stun:127.0.0.1:9"],
        iceLite: false,
        loopback: true,
        videoCodecs: ["h264"],
        simulcastLayer: undefined,
        startBitrateKbps: 0,
      },
      {
        video: [rtpCodec(VIDEO_CODECS.get("h264")!, fmtp)],
        audio: [rtpCodec(AUDIO_CODECS.get("opus")!, "minptime=10;useinbandfec=1")],
      },
    ),
    iceStunGatherTimeout: 0.05,
  });
  const video = opts.video
    ? pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" })
    : undefined;
  const audio = opts.audio
    ? pc.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" })
    : undefined;
  await pc.setLocalDescription(await pc.createOffer());
  // libsrtp or liverec's SRTP protects what this publisher sends: werift's costs it 30-45 µs a packet (srtp_bench.ts).
  const libsrtp = await openLibsrtp();
  const releaseSrtp = pc.dtlsTransports.map((dtls) => useOwnSrtp(dtls, () => {}, libsrtp));
  const headers: Record<string, string> = { "content-type": "application/sdp" };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const offer = pc.localDescription!.sdp;
  const body = opts.offerSetup === undefined
    ? offer
    : offer.replaceAll("a=setup:actpass", `a=setup:${opts.offerSetup}`);
  const response = await fetch(opts.url, { method: "POST", headers, body });
  const answer = await response.text();
  if (response.status !== 201) {
    await pc.close();
    for (const release of releaseSrtp) release();
    throw new Error(`WHIP POST ${opts.url} answered ${response.status}: ${answer}`);
  }
  const resourceUrl = new URL(response.headers.get("location") ?? "", opts.url).href;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  await waitConnected(pc);

  let keyframeRequests = 0;
  let lastHeardAtMs = performance.now();
  video?.sender.onRtcp.subscribe((rtcp) => {
    lastHeardAtMs = performance.now();
    if (rtcp.type === 206) keyframeRequests++;
  });
  audio?.sender.onRtcp.subscribe(() => (lastHeardAtMs = performance.now()));
  const videoSeq = { value: randomUint16() };
  const audioSeq = { value: randomUint16() };
  const send = (
    sender: RTCRtpSender,
    seq: { value: number },
    payload: Uint8Array,
    timestamp: number,
    marker: boolean,
  ) => {
    const bytes = serializeRtpPacket({
      payloadType: 96,
      sequenceNumber: seq.value,
      timestamp,
      marker,
      ssrc: 1,
      payload,
    });
    seq.value = (seq.value + 1) & 0xffff;
    return sender.sendRtp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  };
  return {
    resourceUrl,
    answerSdp: answer,
    get keyframeRequests() {
      return keyframeRequests;
    },
    get lastHeardAtMs() {
      return lastHeardAtMs;
    },
    async sendVideo(nalUnits, rtpTimestamp) {
      if (video === undefined) return;
      const payloads = packetizeH264(nalUnits, mode === 1 ? { mtu: 1200, mode } : { mtu: 65_000, mode });
      for (const [i, payload] of payloads.entries()) {
        await send(video.sender, videoSeq, payload, rtpTimestamp >>> 0, i === payloads.length - 1);
      }
    },
    async sendAudio(opusPacket, rtpTimestamp) {
      if (audio === undefined) return;
      await send(audio.sender, audioSeq, opusPacket, rtpTimestamp >>> 0, false);
    },
    async close() {
      await fetch(resourceUrl, { method: "DELETE", headers }).then((r) => r.body?.cancel()).catch(() => {});
      await pc.close();
      for (const release of releaseSrtp) release();
    },
  };
}

function randomUint16(): number {
  return crypto.getRandomValues(new Uint16Array(1))[0]!;
}

function waitConnected(pc: RTCPeerConnection, timeoutMs = 10_000): Promise<void> {
  if (pc.connectionState === "connected") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`WHIP connection not established in ${timeoutMs} ms`)), timeoutMs);
    pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(timer);
        resolve();
      } else if (state === "failed" || state === "closed") {
        clearTimeout(timer);
        reject(new Error(`WHIP connection ${state}`));
      }
    });
  });
}
