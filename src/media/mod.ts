/**
 * Public surface of src/media: single-track fragmented MP4 writers, the segmenter that emits fragments as they
 * complete, and the scanner that finds the complete fragments of a torn segment. Everything else in this folder (the
 * byte writer, individual box writers) is private to it.
 */

export type { Sample, TrackCodec, TrackInfo } from "./track.ts";
export {
  INIT_BRANDS,
  initSegment,
  mediaFragment,
  mediaSegment,
  type MediaSegmentInput,
  SEGMENT_BRANDS,
} from "./fmp4.ts";
export { type ScannedFragment, scanSegment, type SegmentScan } from "./fmp4_reader.ts";
export {
  type AudioFrame,
  type FragmentOutput,
  Segmenter,
  type SegmenterOptions,
  type SegmenterOutput,
  type SegmenterStats,
  type SegmenterTrack,
  type SegmentOutput,
  type VideoFrame,
} from "./segmenter.ts";
