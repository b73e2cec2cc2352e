/**
 * The port between ingest and the recorder: a live stream as tracks of RTP packets (WebRTC) or of whole frames
 * (RTMP), whoever delivers them.
 */

import type { AudioCodec, FrameAudioCodec, FramedAudioFormat, VideoCodec } from "../codec/mod.ts";
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

/** A track of a frame-based source (RTMP): what its configuration (sequence header) said. */
export type FrameTrack =
  | {
    kind: "video";
    codec: VideoCodec;
    /** Parameter sets from the decoder configuration record, used until in-band ones arrive. */
    parameterSets: Uint8Array[];
  }
  | { kind: "audio"; codec: FrameAudioCodec; format: FramedAudioFormat };

/** A whole frame of a frame-based source. */
export interface SourceFrame {
  /** Decode time in ms on the source's clock (RTMP's message timestamps, extended past 32 bits). */
  dtsMs: number;
  /** Presentation minus decode time in ms (B-frames; RTMP's composition time); 0 for audio. */
  ctsOffsetMs: number;
  /** Video: decoding can start here. Audio: always true. */
  keyframe: boolean;
  /** The frame in its ISOBMFF sample form (length-prefixed NAL units, OBUs, one AAC/MP3/Opus frame). */
  data: Uint8Array;
}
export type TrackKind = SourceTrack["kind"];

/** How a source delivers: RTP tracks (`rtp` and `senderReport` calls) or frame tracks (`frame` calls). */
export type SourceMedia =
  | { type: "rtp"; tracks: readonly SourceTrack[] }
  | { type: "frames"; tracks: readonly FrameTrack[] };

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
  frame(kind: TrackKind, frame: SourceFrame, arrivalMs: number): void;
}

/** What a publish has received and asked for so far, for metrics: every count only grows. */
export interface SourceCounters {
  /** RTP packets (WebRTC), or audio and video messages (RTMP). */
  packets: number;
  /** Their payload bytes. */
  bytes: number;
  /** Keyframe requests sent to the publisher (RTCP PLI). */
  keyframeRequests: number;
  /** RTCP NACK packets sent, asking for lost packets again. */
  nacks: number;
  /** Packets that came back as retransmissions (RTX), after a NACK. */
  retransmissions: number;
}

/** A published stream, as the recorder sees it. */
export interface LiveSource {
  /** This publish's id (a WHIP session's), unique among publishes. */
  readonly id: string;
  readonly streamId: string;
  /** How the publisher reached us. */
  readonly protocol: "whip" | "rtmp";
  readonly media: SourceMedia;
  /** Unix milliseconds when publishing started. */
  readonly publishedAtMs: number;
  /** Starts delivering to `listener`; the returned function stops it. */
  addListener(listener: SourceListener): () => void;
  /** Asks the publisher for a keyframe (an RTCP PLI for WebRTC). */
  requestKeyframe(): void;
  /**
   * Hands on, before it settles, what the publisher sent that still waits to be read (the ingest reads its sockets
   * in batches): called before a recording stops, so that it holds everything sent until then.
   */
  flush(): Promise<void>;
  counters(): SourceCounters;
}
