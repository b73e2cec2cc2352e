/**
 * The values the fMP4 writers consume: a track's codec configuration and its samples. Codec-specific bytes (avcC,
 * dOps) arrive already built by src/codec; nothing here parses a bitstream.
 */

/** A track's codec and the configuration record its sample entry carries. */
export type TrackCodec =
  | {
    kind: "avc";
    /** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1), the avcC box payload. */
    avcC: Uint8Array;
    widthPx: number;
    heightPx: number;
  }
  | {
    kind: "opus";
    /** OpusSpecificBox payload ("Encapsulation of Opus in ISOBMFF" §4.3.2), big-endian, without box header. */
    dOps: Uint8Array;
    channels: number;
    sampleRate: 48000;
  };

/** One track of an init segment; `timescale` is in ticks per second (90000 for video, 48000 for Opus). */
export interface TrackInfo {
  trackId: number;
  timescale: number;
  codec: TrackCodec;
}

/** One access unit as stored in a fragment (ISO/IEC 14496-12 §8.8.8 trun entry plus its mdat bytes). */
export interface Sample {
  /** Decode duration in track timescale ticks. */
  durationTicks: number;
  /** Composition time minus decode time, in ticks; may be negative (trun version 1). */
  ctsOffsetTicks: number;
  /** A random access point (IDR for H.264, every Opus packet). */
  isSync: boolean;
  /** AVCC length-prefixed NAL units for video, one raw Opus packet for audio. */
  data: Uint8Array;
}

/** A sample placed on its track's decode timeline: what a segment holds once read back, and what a file is made of. */
export interface SampleWithTime extends Sample {
  /** Decode time in track timescale ticks on the recording's timeline (the tfdt base plus earlier durations). */
  decodeTimeTicks: number;
}
