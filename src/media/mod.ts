/**
 * Public surface of src/media: single-track fragmented MP4 writers and the segmenter. Everything else in this
 * folder (the byte writer, individual box writers) is private to it.
 */

export type { Sample, TrackCodec, TrackInfo } from "./track.ts";
export { INIT_BRANDS, initSegment, mediaSegment, type MediaSegmentInput, SEGMENT_BRANDS } from "./fmp4.ts";
export {
  type AudioFrame,
  Segmenter,
  type SegmenterOptions,
  type SegmenterStats,
  type SegmenterTrack,
  type SegmentOut,
  type VideoFrame,
} from "./segmenter.ts";
