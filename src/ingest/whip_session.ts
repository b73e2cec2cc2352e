/**
 * One WHIP publish (RFC 9725): a werift peer connection answering the publisher's offer, exposed to the recorder
 * as a LiveSource. Packets leave werift (or, on the shared port, liverec's media path) here as plain RtpPacket values
 * with their arrival time.
 */

import { type RTCDtlsTransport, RTCPeerConnection, RtcpSrPacket } from "werift";
import type { RtpPacket } from "../rtp/mod.ts";
import type {
  LiveSource,
  SenderReport,
  SourceCounters,
  SourceListener,
  SourceMedia,
  SourceTrack,
  TrackKind,
} from "../recorder/mod.ts";
import type { Clock } from "../shared/clock.ts";
import type { OfferChoice } from "./offer.ts";
import { LayerPicker } from "./simulcast.ts";
import { MediaReceiver, ntpToUnixMs } from "./media_receiver.ts";
import type { NackSender } from "./nack_sender.ts";
import { useOwnNack } from "./own_nack.ts";
import { sendRtcp, type SrtpEngine, useOwnSrtp } from "./own_srtp.ts";
import type { Libsrtp, SrtpReceiver } from "../srtp/mod.ts";
import type { MuxSession, UdpMux } from "./udp_mux.ts";
import { useFastRtpHeaderParser } from "./werift_rtp_header.ts";
import { peerConfig, rtpCodec, rtxCodec, type WebrtcOptions } from "./webrtc_config.ts";

useFastRtpHeaderParser();

/** Packets held at most while a simulcast layer is chosen (about 10 s of three layers at 2.5 Mbit/s). */
const MAX_HELD_PACKETS = 10_000;

/** Names of the SRTP protection profiles werift negotiates (RFC 5764 §4.1.2, RFC 7714 §14.2). */
const SRTP_PROFILE_NAMES: Record<number, string> = {
  1: "SRTP_AES128_CM_HMAC_SHA1_80",
  7: "SRTP_AEAD_AES_128_GCM",
};

/** A publisher's peer connection and the listeners of its media. */
export class WhipSession implements LiveSource {
  readonly id = crypto.randomUUID();
  readonly protocol = "whip";
  readonly streamId: string;
  readonly tracks: readonly SourceTrack[];
  readonly media: SourceMedia;
  readonly publishedAtMs: number;
  readonly pc: RTCPeerConnection;
  readonly #listeners = new Set<SourceListener>();
  readonly #clock: Clock;
  /** Kinds already received from a transceiver: a second one of the same kind is not recorded. */
  readonly #received = new Set<TrackKind>();
  /** The SSRC of the publisher's recorded video, once a packet named it (a keyframe request needs it). */
  #videoSsrc: number | undefined;
  /** With simulcast: which layer is recorded; until it is chosen, keyframe requests go to every layer seen. */
  readonly #layers: { picker: LayerPicker; ssrcs: Set<number> } | undefined;
  /**
   * Every packet that arrived while the simulcast layer was being chosen, in arrival order: released (the chosen
   * layer's and the audio) with their arrival times once it is, so that nothing of the recorded stream is lost.
   */
  #held: { kind: TrackKind; packet: RtpPacket; arrivalMs: number; rid: string }[] | undefined;
  #lastPacketAtMs: number;
  /** RTP packets received, of every track and layer (recorded or not), and their payload bytes. */
  #rtpPackets = 0;
  #rtpBytes = 0;
  #keyframeRequests = 0;
  #retransmissions = 0;
  /** Who sends NACKs: werift's receivers (through liverec's sender), then liverec's media path once it takes over. */
  readonly #nackSenders: NackSender[] = [];
  readonly #startBitrateKbps: number;
  /** The payload type of the video's retransmissions (RFC 4588), when negotiated. */
  readonly #rtxPayloadType: number | undefined;
  /** liverec's own media path, once DTLS has completed on the shared port (media_receiver.ts). */
  #mediaReceiver: MediaReceiver | undefined;

  /** This session's share of the one UDP port, when the service has one. */
  readonly #mux: MuxSession | undefined;
  readonly #libsrtp: Libsrtp | undefined;
  /** Who decrypts the media and with which protection profile (RFC 5764 §4.1.2), once DTLS has completed. */
  srtp: string | undefined;
  /** Who takes the media from the socket to the recorder: werift, or liverec's own path (media_receiver.ts). */
  get mediaPath(): "liverec" | "werift" {
    return this.#mediaReceiver === undefined ? "werift" : "liverec";
  }
  #releaseSrtp: (() => void)[] = [];

  constructor(
    streamId: string,
    choice: OfferChoice,
    webrtc: WebrtcOptions,
    clock: Clock,
    mux?: UdpMux,
    libsrtp?: Libsrtp,
  ) {
    this.streamId = streamId;
    this.#clock = clock;
    this.publishedAtMs = clock.nowMs();
    this.#lastPacketAtMs = this.publishedAtMs;
    this.#startBitrateKbps = webrtc.startBitrateKbps;
    const { video, audio } = choice;
    this.#rtxPayloadType = video?.rtx?.payloadType;
    const tracks: SourceTrack[] = [];
    if (video !== undefined) {
      tracks.push({
        kind: "video",
        codec: video.codec,
        payloadType: video.offered.payloadType,
        parameterSets: video.parameterSets,
      });
    }
    if (audio !== undefined) {
      const channels = audio.codec.channels(audio.offered.fmtp);
      tracks.push({ kind: "audio", codec: audio.codec, payloadType: audio.offered.payloadType, channels });
    }
    this.tracks = tracks;
    this.media = { type: "rtp", tracks };
    const simulcast = video !== undefined && video.rids.length > 0;
    if (simulcast) {
      const picker = new LayerPicker({ codec: video.codec, rids: video.rids, wanted: webrtc.simulcastLayer });
      this.#layers = { picker, ssrcs: new Set() };
      if (picker.chosen === undefined) this.#held = [];
    }
    this.#mux = mux?.session();
    this.#libsrtp = libsrtp;
    this.pc = new RTCPeerConnection(peerConfig(
      webrtc,
      {
        video: video === undefined ? [] : [
          rtpCodec(video.codec, video.offered.fmtpText, video.offered.payloadType),
          ...(video.rtx !== undefined ? [rtxCodec(video.rtx.payloadType, video.offered.payloadType)] : []),
        ],
        audio: audio === undefined ? [] : [rtpCodec(audio.codec, audio.offered.fmtpText, audio.offered.payloadType)],
      },
      simulcast,
      this.#mux?.marker,
    ));
    this.pc.onRemoteTransceiverAdded.subscribe((transceiver) => {
      const kind = transceiver.kind;
      if (kind !== "video" && kind !== "audio") return;
      if (!tracks.some((t) => t.kind === kind) || this.#received.has(kind)) return;
      this.#received.add(kind);
      const receiver = transceiver.receiver;
      this.#nackSenders.push(useOwnNack(receiver, clock));
      const rtxPayloadType = kind === "video" ? this.#rtxPayloadType : undefined;
      if (rtxPayloadType !== undefined) {
        // werift unwraps RTX before its tracks see a packet: retransmissions are counted on their way in.
        const handle = receiver.handleRtpBySsrc;
        receiver.handleRtpBySsrc = (packet, extensions) => {
          if (packet.header.payloadType === rtxPayloadType) this.#retransmissions++;
          handle(packet, extensions);
        };
      }
      transceiver.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((rtp) => {
          const packet: RtpPacket = {
            payloadType: rtp.header.payloadType,
            sequenceNumber: rtp.header.sequenceNumber,
            timestamp: rtp.header.timestamp,
            marker: rtp.header.marker,
            ssrc: rtp.header.ssrc,
            payload: rtp.payload,
          };
          this.#receive(kind, packet, this.#clock.nowMs(), track.rid ?? "");
        });
      });
      transceiver.receiver.onRtcp.subscribe((rtcp) => {
        if (!(rtcp instanceof RtcpSrPacket)) return;
        // Each simulcast layer has its own RTP clock: only the recorded one's reports time the recording.
        if (kind === "video" && this.#layers !== undefined && rtcp.ssrc !== this.#videoSsrc) return;
        this.#senderReport(kind, {
          ntpMs: ntpToUnixMs(rtcp.senderInfo.ntpTimestamp),
          rtpTimestamp: rtcp.senderInfo.rtpTimestamp,
          arrivalMs: this.#clock.nowMs(),
        });
      });
    });
  }

  /**
   * Answers the offer; resolves with the answer SDP once werift has its local description.
   *
   * To an `actpass` offer liverec answers `setup:passive` and so is the DTLS server (RFC 5763 §5 allows either
   * role). As a DTLS client, werift can handle a publisher's retransmitted ServerHello flight after the handshake
   * has finished and derive fresh keys that the publisher never sees: every SRTP packet then fails authentication.
   * Chromium retransmits within tens of milliseconds on loopback, so a busy machine hit this. werift's server side answers
   * retransmitted flights from its cache instead.
   */
  async answer(offerSdp: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: "offer", sdp: withoutBundleOnly(offerSdp) });
    const answer = await this.pc.createAnswer();
    let sdp = /^a=setup:actpass\r?$/m.test(offerSdp)
      ? answer.sdp.replace(/^a=setup:active(?=\r?$)/gm, "a=setup:passive")
      : answer.sdp;
    const video = this.tracks.find((track) => track.kind === "video");
    if (video !== undefined && this.#startBitrateKbps > 0) {
      sdp = withStartBitrate(sdp, video.payloadType, this.#startBitrateKbps);
    }
    await this.pc.setLocalDescription({ type: "answer", sdp });
    this.#mux?.attach(this.pc);
    this.#releaseSrtp = this.pc.dtlsTransports.map((dtls) =>
      useOwnSrtp(
        dtls,
        (engine, profile, receiving) => this.#srtpStarted(dtls, engine, profile, receiving),
        this.#libsrtp,
      )
    );
    return this.pc.localDescription!.sdp;
  }

  /**
   * DTLS has given the SRTP keys. On the shared port, with one transport for all media (BUNDLE) and without
   * simulcast (whose layers werift tells apart by header extension), liverec takes the media from here on.
   */
  #srtpStarted(dtls: RTCDtlsTransport, engine: SrtpEngine, profile: number, receiving?: SrtpReceiver): void {
    this.srtp = `${engine} ${SRTP_PROFILE_NAMES[profile] ?? profile}`;
    this.#mediaReceiver?.close();
    this.#mediaReceiver = undefined;
    const mux = this.#mux;
    if (mux === undefined || this.#layers !== undefined || receiving === undefined) return;
    if (this.pc.dtlsTransports.length !== 1) return;
    const route = (kind: TrackKind) => {
      const track = this.tracks.find((t) => t.kind === kind);
      return track === undefined ? undefined : { payloadType: track.payloadType, clockRate: track.codec.clockRate };
    };
    const video = route("video");
    const audio = route("audio");
    const receiver = this.pc.getTransceivers()[0]?.receiver;
    this.#mediaReceiver = new MediaReceiver({
      routes: {
        ...(video !== undefined ? { video: { ...video, rtxPayloadType: this.#rtxPayloadType } } : {}),
        ...(audio !== undefined ? { audio } : {}),
      },
      srtp: receiving,
      clock: this.#clock,
      rtcpSsrc: receiver?.rtcpSsrc ?? 1,
      sendRtcp: (packets) => sendRtcp(dtls, packets),
      sink: {
        rtp: (kind, packet, arrivalMs, retransmitted) => {
          if (retransmitted) this.#retransmissions++;
          this.#receive(kind, packet, arrivalMs, "");
        },
        senderReport: (kind, report) => this.#senderReport(kind, report),
      },
    });
    this.#nackSenders.push(this.#mediaReceiver.nack);
    mux.onMedia = (datagram, arrivalMs) => this.#mediaReceiver?.receive(datagram, arrivalMs);
  }

  /** A packet of `kind` (of the simulcast layer `rid`, or ""), from werift or liverec's media path. */
  #receive(kind: TrackKind, packet: RtpPacket, arrivalMs: number, rid: string): void {
    this.#lastPacketAtMs = arrivalMs;
    this.#rtpPackets++;
    this.#rtpBytes += packet.payload.length;
    const layers = this.#layers;
    if (this.#held !== undefined && layers !== undefined) {
      this.#held.push({ kind, packet, arrivalMs, rid });
      if (kind === "video") {
        layers.ssrcs.add(packet.ssrc);
        layers.picker.push(rid, packet, arrivalMs);
      }
      if (layers.picker.chosen !== undefined || this.#held.length >= MAX_HELD_PACKETS) this.#release();
      return;
    }
    // The picker goes on looking at the other layers: one with a larger picture takes over.
    if (kind === "video" && layers !== undefined && layers.picker.push(rid, packet, arrivalMs) !== rid) return;
    this.#deliver(kind, packet, arrivalMs);
  }

  #senderReport(kind: TrackKind, report: SenderReport): void {
    for (const listener of this.#listeners) listener.senderReport(kind, report);
  }

  #deliver(kind: TrackKind, packet: RtpPacket, arrivalMs: number): void {
    if (kind === "video") this.#videoSsrc = packet.ssrc;
    for (const listener of this.#listeners) listener.rtp(kind, packet, arrivalMs);
  }

  /** The simulcast layer is chosen (or the hold is full: it is chosen now): what was held goes on. */
  #release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    const chosen = this.#layers!.picker.choose();
    for (const { kind, packet, arrivalMs, rid } of held) {
      if (kind === "audio" || rid === chosen) this.#deliver(kind, packet, arrivalMs);
    }
  }

  addListener(listener: SourceListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  flush(): Promise<void> {
    return this.#mux?.mux.flush() ?? Promise.resolve();
  }

  requestKeyframe(): void {
    const layers = this.#layers;
    // While a simulcast layer is still to be chosen, every layer is asked: its keyframe shows its size.
    const ssrcs = layers !== undefined && layers.picker.chosen === undefined ? [...layers.ssrcs] : [this.#videoSsrc];
    const transceiver = this.pc.getTransceivers().find((t) => t.kind === "video");
    for (const ssrc of ssrcs) {
      if (ssrc === undefined) continue;
      this.#keyframeRequests++;
      transceiver?.receiver.sendRtcpPLI(ssrc).catch(() => {});
    }
  }

  counters(): SourceCounters {
    return {
      packets: this.#rtpPackets,
      bytes: this.#rtpBytes,
      keyframeRequests: this.#keyframeRequests,
      nacks: this.#nackSenders.reduce((sum, sender) => sum + sender.sent, 0),
      retransmissions: this.#retransmissions,
    };
  }

  /** Where the transport stands, for the log of a publish that ended without media: did it ever connect, send? */
  get transport(): { connection: string; ice: string; rtpPackets: number } {
    return { connection: this.pc.connectionState, ice: this.pc.iceConnectionState, rtpPackets: this.#rtpPackets };
  }

  /** Unix ms of the last RTP packet (or of the publish, before any). */
  get lastPacketAtMs(): number {
    return this.#lastPacketAtMs;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    if (this.#mux !== undefined) this.#mux.onMedia = undefined;
    this.#mediaReceiver?.close();
    await this.pc.close().catch(() => {});
    this.#mux?.mux.closeSession(this.#mux);
    for (const release of this.#releaseSrtp) release();
  }
}

/**
 * The offer with every `a=bundle-only` section given a port. A max-bundle offerer (GStreamer's webrtcbin, Firefox)
 * sends the sections after the first as `m=... 0 ...` with `a=bundle-only` (RFC 9143 §7.5.3); werift reads port 0 as
 * a rejected section and would answer it inactive. The answerer may accept such a section (RFC 9143 §7.3.1), which
 * is what the rewrite makes werift do.
 */
export function withoutBundleOnly(sdp: string): string {
  return sdp.split(/(?=^m=)/m).map((section) => {
    if (!/^a=bundle-only\r?$/m.test(section)) return section;
    return section.replace(/^(m=\S+) 0 /, "$1 9 ").replace(/^a=bundle-only\r?\n/m, "");
  }).join("");
}

/**
 * The answer with `x-google-start-bitrate` on the video payload type: the bandwidth libwebrtc publishers (Chromium,
 * Safari, Edge) start from, in kbit/s. liverec sends them no congestion feedback (werift's transport-cc feedback made
 * Chromium send less, not more), so they would stay at their own 300 kbit/s start; they still back off on the losses
 * that liverec's receiver reports show. Other publishers ignore the parameter.
 */
export function withStartBitrate(sdp: string, payloadType: number, kbps: number): string {
  const parameter = `x-google-start-bitrate=${kbps}`;
  const fmtp = new RegExp(`^(a=fmtp:${payloadType} [^\r\n]*)`, "m");
  if (fmtp.test(sdp)) return sdp.replace(fmtp, `$1;${parameter}`);
  return sdp.replace(
    new RegExp(`^(a=rtpmap:${payloadType} [^\r\n]*)(\r?\n)`, "m"),
    `$1$2a=fmtp:${payloadType} ${parameter}$2`,
  );
}
