/**
 * A WHIP session's media from the shared UDP port straight to the recorder, once DTLS has given the SRTP keys:
 * decrypt in place, parse each header once, unwrap retransmissions (RFC 4588), and hand on plain `RtpPacket` views of
 * the received datagram. werift's RTP side (its RTP routing, statistics and events, and several Buffer objects
 * per packet) was the largest part of the service's CPU after its SRTP. What werift did for the media, this class
 * does too: NACKs (`nack_sender.ts`), receiver reports about every stream once a second (RFC 3550 §6.4.2, which
 * libwebrtc publishers use for their loss-based bandwidth estimate and round-trip time), and sender reports read for
 * the recording's clock. werift keeps ICE, DTLS, keyframe requests and every session that this path does not serve
 * (simulcast, media on more than one transport, and ports of their own).
 */

import { parseRtpPacket, receiverReport, ReceptionStats, type RtpPacket, senderReports } from "../rtp/mod.ts";
import type { SenderReport, TrackKind } from "../recorder/mod.ts";
import type { SrtpReceiver } from "../srtp/mod.ts";
import { type GridTimer, setAlignedInterval } from "../shared/aligned_timer.ts";
import type { Clock } from "../shared/clock.ts";
import { POLL_INTERVAL_MS } from "../shared/udp_socket.ts";
import { NackSender } from "./nack_sender.ts";

/** Seconds between 1900 (NTP epoch) and 1970 (Unix epoch). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
/** Time between two receiver reports, unless set. */
const REPORT_INTERVAL_MS = 1_000;
/** A NACK is repeated this long after a poll could have seen its retransmission: the round trip and a busy box. */
const NACK_SLACK_MS = 40;

/** Which payload types the answer gave each recorded track. */
export interface MediaRoutes {
  video?: { payloadType: number; clockRate: number; rtxPayloadType: number | undefined };
  audio?: { payloadType: number; clockRate: number };
}

/** Where the media goes: the session, which counts and delivers it. */
export interface MediaSink {
  rtp(kind: TrackKind, packet: RtpPacket, arrivalMs: number, retransmitted: boolean): void;
  senderReport(kind: TrackKind, report: SenderReport): void;
}

/** Whether a demultiplexed datagram (RFC 7983 §7: first byte 128 to 191) is RTCP rather than RTP (RFC 5761 §4). */
export function isRtcp(datagram: Uint8Array): boolean {
  const payloadType = (datagram[1] ?? 0) & 0x7f;
  return payloadType >= 64 && payloadType <= 95;
}

/** One session's receiving side after DTLS. */
export class MediaReceiver {
  readonly nack: NackSender;
  readonly #routes: MediaRoutes;
  readonly #srtp: SrtpReceiver;
  readonly #clock: Clock;
  readonly #sink: MediaSink;
  readonly #rtcpSsrc: number;
  readonly #sendRtcp: (packets: Uint8Array[]) => void;
  /** Reception statistics by SSRC, with the kind of each. */
  readonly #streams = new Map<number, { kind: TrackKind; stats: ReceptionStats }>();
  /** The SSRC of the recorded video, which retransmissions restore. */
  #videoSsrc: number | undefined;
  readonly #reports: GridTimer;

  constructor(options: {
    routes: MediaRoutes;
    srtp: SrtpReceiver;
    clock: Clock;
    sink: MediaSink;
    rtcpSsrc: number;
    /** Protects and sends plain RTCP packets to the publisher. */
    sendRtcp: (packets: Uint8Array[]) => void;
    reportIntervalMs?: number;
  }) {
    this.#routes = options.routes;
    this.#srtp = options.srtp;
    this.#clock = options.clock;
    this.#sink = options.sink;
    this.#rtcpSsrc = options.rtcpSsrc;
    this.#sendRtcp = options.sendRtcp;
    // Packets are read a poll at a time: a retransmission asked for is seen at the next poll at the latest.
    this.nack = new NackSender(options.clock, options.rtcpSsrc, options.sendRtcp, POLL_INTERVAL_MS + NACK_SLACK_MS);
    this.#reports = setAlignedInterval(() => this.#report(), options.reportIntervalMs ?? REPORT_INTERVAL_MS);
  }

  /** Takes one SRTP or SRTCP datagram (the receiver's own copy: it is decrypted in place) that arrived at `arrivalMs`. */
  receive(datagram: Uint8Array, arrivalMs: number): void {
    if (isRtcp(datagram)) {
      this.#receiveRtcp(datagram, arrivalMs);
      return;
    }
    // A packet SRTP refuses (authentication, replay) or that is no RTP is dropped, as werift dropped it.
    const plain = this.#srtp.unprotectRtp(datagram);
    if (!(plain instanceof Uint8Array)) return;
    let packet: RtpPacket;
    try {
      packet = parseRtpPacket(plain);
    } catch {
      return;
    }
    const { video, audio } = this.#routes;
    if (video !== undefined && packet.payloadType === video.payloadType) {
      this.#videoSsrc = packet.ssrc;
      this.#count("video", video.clockRate, packet, arrivalMs);
      this.nack.arrived(packet.ssrc, packet.sequenceNumber);
      this.#sink.rtp("video", packet, arrivalMs, false);
    } else if (video?.rtxPayloadType !== undefined && packet.payloadType === video.rtxPayloadType) {
      // RFC 4588 §4: the original sequence number, then the original payload. Padding-only packets (bandwidth probes)
      // carry neither.
      if (packet.payload.length < 2 || this.#videoSsrc === undefined) return;
      const original: RtpPacket = {
        payloadType: video.payloadType,
        sequenceNumber: (packet.payload[0]! << 8) | packet.payload[1]!,
        timestamp: packet.timestamp,
        marker: packet.marker,
        ssrc: this.#videoSsrc,
        payload: packet.payload.subarray(2),
      };
      this.nack.arrived(original.ssrc, original.sequenceNumber);
      this.#sink.rtp("video", original, arrivalMs, true);
    } else if (audio !== undefined && packet.payloadType === audio.payloadType) {
      this.#count("audio", audio.clockRate, packet, arrivalMs);
      this.#sink.rtp("audio", packet, arrivalMs, false);
    }
  }

  close(): void {
    this.#reports.clear();
    this.nack.close();
  }

  #count(kind: TrackKind, clockRate: number, packet: RtpPacket, arrivalMs: number): void {
    let stream = this.#streams.get(packet.ssrc);
    if (stream === undefined) {
      this.#streams.set(packet.ssrc, stream = { kind, stats: new ReceptionStats(packet.ssrc, clockRate) });
    }
    stream.stats.received(packet.sequenceNumber, packet.timestamp, arrivalMs);
  }

  #receiveRtcp(datagram: Uint8Array, arrivalMs: number): void {
    const plain = this.#srtp.unprotectRtcp(datagram);
    if (!(plain instanceof Uint8Array)) return;
    for (const { ssrc, ntpTimestamp, rtpTimestamp } of senderReports(plain)) {
      const stream = this.#streams.get(ssrc);
      if (stream === undefined) continue;
      stream.stats.senderReport(ntpTimestamp, arrivalMs);
      this.#sink.senderReport(stream.kind, { ntpMs: ntpToUnixMs(ntpTimestamp), rtpTimestamp, arrivalMs });
    }
  }

  #report(): void {
    const nowMs = this.#clock.nowMs();
    const blocks = [...this.#streams.values()].flatMap(({ stats }) => stats.reportBlock(nowMs) ?? []);
    if (blocks.length > 0) this.#sendRtcp([receiverReport(this.#rtcpSsrc, blocks)]);
  }
}

/** A 64-bit NTP timestamp (RFC 5905 §6) as Unix milliseconds. */
export function ntpToUnixMs(ntp: bigint): number {
  const seconds = Number(ntp >> 32n);
  const fraction = Number(ntp & 0xffff_ffffn) / 2 ** 32;
  return (seconds - NTP_UNIX_OFFSET_S + fraction) * 1000;
}
