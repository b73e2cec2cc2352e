/** The port between ingest and the recorder: a live stream as tracks of RTP packets, whoever delivers them. */

import type { AudioCodec, VideoCodec } from "../codec/mod.ts";
import type { RtpPacket } from "../rtp/mod.ts";

/** A track as negotiated with the publisher: a row of the codec table and what the negotiation added to it. */
export type SourceTrack =
  | {
    kind: "video";
    codec: VideoCodec;
    payloadType: number;
    /** Parameter sets taken out of band (SDP `sprop-*`), used until in-band ones arrive. */
    parameterSets: Uint8Array[];
  }
  | { kind: "audio"; codec: AudioCodec; payloadType: number; channels: number };

export type TrackKind = SourceTrack["kind"];

/** An RTCP sender report reduced to what synchronisation needs (RFC 3550 §6.4.1). */
export interface SenderReport {
  /** The report's NTP time as Unix milliseconds. */
  ntpMs: number;
  /** The RTP timestamp that corresponds to `ntpMs`. */
  rtpTimestamp: number;
  /** The receiver's wall clock when the report arrived. */
  arrivalMs: number;
}

/** Receives what a source delivers; `arrivalMs` is the receiver's wall clock when the packet arrived. */
export interface SourceListener {
  rtp(kind: TrackKind, packet: RtpPacket, arrivalMs: number): void;
  senderReport(kind: TrackKind, report: SenderReport): void;
}

/** A published stream, as the recorder sees it. */
export interface LiveSource {
  readonly streamId: string;
  readonly tracks: readonly SourceTrack[];
  /** Unix milliseconds when publishing started. */
  readonly publishedAtMs: number;
  /** Starts delivering to `listener`; the returned function stops it. */
  addListener(listener: SourceListener): () => void;
  /** Asks the publisher for a keyframe (an RTCP PLI for WebRTC). */
  requestKeyframe(): void;
}
