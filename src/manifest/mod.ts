/**
 * Public surface of src/manifest: the recording index types, and the DASH MPD and HLS playlists rendered from them.
 * Pure strings; writing the manifests is the recorder's job.
 */

export {
  expandNumberTemplate,
  nonEmptyTracks,
  periodDurationS,
  periodId,
  type PeriodIndex,
  type RecordingIndex,
  type SegmentRun,
  trackEndTicks,
  type TrackIndex,
  type TsIndex,
  type TsSegmentRun,
} from "./recording_index.ts";
export { formatDuration, type MpdOptions, renderMpd } from "./mpd.ts";
export {
  hasTsSegments,
  type HlsMultivariantOptions,
  type HlsTrack,
  hlsTracks,
  renderHlsMedia,
  renderHlsMultivariant,
  renderHlsTs,
} from "./hls.ts";
