/**
 * The codec seam: everything the rest of liverec needs to know about a codec, as one row per codec (`table.ts`).
 * Offer parsing, the pipeline, the MP4 writers, the manifests, export and recovery read rows and never name a
 * codec. A row is pure: it parses bitstreams and builds configuration records, it does no I/O.
 */

import type { ReorderOutput } from "../rtp/mod.ts";

/** One coded frame, ready to be an MP4 sample, with the RTP timestamp its packets carried. */
export interface Frame {
  /** RTP timestamp of the frame's packets, the 32-bit value as sent. */
  timestamp: number;
  /** Decoding can start here: an H.264/H.265 IRAP picture, a VP8/VP9 key frame, an AV1 key frame; every audio frame. */
  keyframe: boolean;
  /**
   * The sample in its ISOBMFF form: 4-byte length-prefixed NAL units (H.264, H.265), one VP8 frame, one VP9 frame or
   * superframe, an AV1 temporal unit of low-overhead OBUs without temporal delimiters, one Opus packet.
   */
  data: Uint8Array;
}

/** Counters since construction; stream faults end up here, never in exceptions. */
export interface DepacketizerStats {
  /** Frames emitted. */
  frames: number;
  /** Frames dropped: incomplete, corrupt, or not decodable while waiting for a keyframe. */
  droppedFrames: number;
  /** Packets that break the payload format (bad headers, impossible sizes). */
  malformedPackets: number;
  /** Packets reported lost by the reorder buffer. */
  lostPackets: number;
}

/**
 * RTP payloads of one track to frames, in sequence order. After a loss or a corrupt frame, video drops everything
 * up to the next keyframe, so every emitted frame decodes. Never throws, whatever the bytes.
 */
export interface Depacketizer {
  readonly stats: DepacketizerStats;
  /** True until a decodable keyframe arrived, and again after any loss or corruption; always false for audio. */
  readonly waitingForKeyframe: boolean;
  /** Takes the next packet or loss in sequence order; returns the frames it completes. */
  push(input: ReorderOutput): Frame[];
  /** Ends the stream: returns the pending frame if it is complete. */
  flush(): Frame[];
}

/** A track's MP4 sample entry (ISO/IEC 14496-12 §8.5.2) as data, so that the writers need no codec knowledge. */
export interface SampleEntry {
  /** Sample entry type: "avc1", "hvc1", "vp08", "vp09", "av01", "Opus". */
  fourcc: string;
  /** The decoder configuration box inside it. */
  config: {
    /** Its type: "avcC", "hvcC", "vpcC", "av1C", "dOps". */
    fourcc: string;
    /** Everything after its 8-byte box header (a FullBox's version and flags included, as for vpcC). */
    body: Uint8Array;
  };
}

/** What a video track is, as read from a keyframe. Two keyframes with different formats need two init segments. */
export interface VideoFormat {
  sampleEntry: SampleEntry;
  widthPx: number;
  heightPx: number;
  /** RFC 6381 `codecs` string for DASH and HLS, e.g. "avc1.42e01f", "vp09.00.31.08", "av01.0.04M.08". */
  codecs: string;
  /** Frames per second when the bitstream says (H.264/H.265 VUI timing); undefined otherwise. */
  frameRate?: number;
}

/** What an audio track is. */
export interface AudioFormat {
  sampleEntry: SampleEntry;
  channels: number;
  /** The sample entry's sample rate in Hz. */
  sampleRate: number;
  /** RFC 6381 `codecs` string, e.g. "opus". */
  codecs: string;
}

/** How one offered payload type's format parameters (SDP `a=fmtp`) are read. */
export type FmtpVerdict =
  /** Recordable; among payload types of one codec the highest `rank` is chosen. */
  | { rank: number; parameterSets: Uint8Array[] }
  /** Not recordable, with the reason (for the 422 answer and the log). */
  | { refused: string };

/** A video codec row. */
export interface VideoCodec {
  readonly kind: "video";
  /** The name in `[webrtc] video_codecs` and in logs: "h264", "h265", "vp8", "vp9", "av1". */
  readonly name: string;
  /** The SDP encoding name (RFC 8866 `a=rtpmap`), lower-case. */
  readonly sdpName: string;
  /** RTP clock rate in Hz; 90000 for every video payload format. */
  readonly clockRate: number;
  /** Reads an offered payload type's fmtp parameters (keys lower-case). */
  readFmtp(fmtp: ReadonlyMap<string, string>): FmtpVerdict;
  /** A depacketizer for one RTP stream of this codec. */
  createDepacketizer(): Depacketizer;
  /**
   * The format at a keyframe, from its in-band configuration (SPS, sequence header, frame header) or else from
   * `parameterSets` taken out of band (SDP). Undefined when neither is usable: the keyframe is dropped and counted.
   */
  format(keyframe: Frame, parameterSets: readonly Uint8Array[]): VideoFormat | undefined;
}

/** An audio codec row. */
export interface AudioCodec {
  readonly kind: "audio";
  /** The name in logs: "opus". */
  readonly name: string;
  /** The SDP encoding name (RFC 8866 `a=rtpmap`), lower-case. */
  readonly sdpName: string;
  /** RTP clock rate in Hz. */
  readonly clockRate: number;
  /** Reads an offered payload type's fmtp parameters (keys lower-case). */
  readFmtp(fmtp: ReadonlyMap<string, string>): FmtpVerdict;
  /** A depacketizer for one RTP stream of this codec. */
  createDepacketizer(): Depacketizer;
  /** The channel count to declare, from the offered payload type's fmtp parameters (keys lower-case). */
  channels(fmtp: ReadonlyMap<string, string>): number;
  /** The track format, from what was negotiated. */
  format(channels: number): AudioFormat;
  /** A frame's duration in RTP clock ticks; 0 for a frame that cannot be decoded (it is dropped). */
  frameDurationTicks(frame: Frame): number;
}

/** A row of the codec table. */
export type Codec = VideoCodec | AudioCodec;

/** An audio track's format as a frame-based ingest (RTMP) learns it, and how long each of its frames lasts. */
export interface FramedAudioFormat extends AudioFormat {
  /** A frame's duration in ticks of `sampleRate`; 0 for a frame that cannot be decoded (it is dropped). */
  frameDurationTicks(frame: Uint8Array): number;
}

/**
 * An audio codec as frame-based ingest carries it (RTMP's FLV tags): whole frames, after a decoder configuration
 * (AAC's AudioSpecificConfig, Opus's ID header) or, for MP3, none: the first frame's header says it all.
 */
export interface FrameAudioCodec {
  readonly kind: "audio";
  /** The name in logs: "aac", "mp3", "opus". */
  readonly name: string;
  /** The track's format from its configuration, or from its first frame; a reason when it is not recordable. */
  format(config: Uint8Array | undefined, firstFrame: Uint8Array): FramedAudioFormat | { refused: string };
}
