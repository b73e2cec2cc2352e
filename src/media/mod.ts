/**
 * Public surface of src/media: single-track fragmented MP4 writers, the segment cutter that decides where segments
 * and fragments end (for any container) and the fMP4 segmenter that writes its cuts as they complete, the scanner
 * that finds the complete fragments of a torn segment, the readers that turn init and media segments back into
 * samples, the progressive (faststart) and fragmented MP4 exports with their time-range selection, and the MPEG-TS
 * segment and FLV file writers that mux the same cuts. Everything
 * else in this folder (the byte writer, individual box writers, the layout planner) is private to it.
 */

export type { Sample, SampleWithTime, TrackCodec, TrackInfo } from "./track.ts";
export { compareTimes, type MediaTime, rescaleTicks } from "./media_time.ts";
export { fragmentedMp4 } from "./fmp4_file.ts";
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
  type Cut,
  type FragmentCut,
  type SegmentCut,
  SegmentCutter,
  type SegmenterOptions,
  type SegmenterStats,
  type SegmenterTrack,
  type VideoFrame,
} from "./segment_cutter.ts";
export { type FragmentOutput, Segmenter, type SegmenterOutput, type SegmentOutput } from "./segmenter.ts";
export { readInit, readSegmentSamples } from "./fmp4_samples.ts";
export { type TsSegment, TsSegmentWriter } from "./mpegts/mod.ts";
export { flvWholePrefixBytes, FlvWriter } from "./flv/mod.ts";
export {
  type Mp4Track,
  progressiveMp4,
  type ProgressiveMp4Options,
  progressiveMp4Parts,
  type SampleShape,
} from "./mp4_file.ts";
export { type RangeSelection, selectRange, type TimeRange } from "./clip_range.ts";
