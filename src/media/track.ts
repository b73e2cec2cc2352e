/**
 * The values the fMP4 writers consume: a track's codec configuration and its samples. Codec-specific bytes (avcC,
 * dOps, ...) arrive already built by src/codec's rows; nothing here parses a bitstream or names a codec.
 */

import type { SampleEntry } from "../codec/mod.ts";

/** What a track's init segment says about its codec: the sample entry as the codec row built it, and its size. */
export type TrackCodec =
  | { kind: "video"; sampleEntry: SampleEntry; widthPx: number; heightPx: number }
  | { kind: "audio"; sampleEntry: SampleEntry; channels: number; sampleRate: number };

/** One track of an init segment; `timescale` is in ticks per second (the RTP clock: 90000 for video, 48000 for Opus). */
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
  /** A random access point (a keyframe; every audio frame). */
  isSync: boolean;
  /** The sample bytes in the codec's ISOBMFF form (see src/codec's Frame). */
  data: Uint8Array;
}

/** A sample placed on its track's decode timeline: what a segment holds once read back, and what a file is made of. */
export interface SampleWithTime extends Sample {
  /** Decode time in track timescale ticks on the recording's timeline (the tfdt base plus earlier durations). */
  decodeTimeTicks: number;
  /**
   * In a file whose track has several sample entries (a format change, see mp4_file.ts `Mp4Track.sampleEntries`):
   * the 0-based index of the one describing this sample, so sample_description_index - 1. Absent: 0, the first.
   */
  sampleEntryIndex?: number;
}
