/**
 * Public surface of src/manifest: the recording index types and the DASH MPD rendered from them. Pure strings;
 * writing the manifest is the recorder's job.
 */

export {
  nonEmptyTracks,
  periodDurationS,
  type PeriodIndex,
  type RecordingIndex,
  type SegmentRun,
  trackEndTicks,
  type TrackIndex,
} from "./recording_index.ts";
export { formatDuration, type MpdOptions, renderMpd } from "./mpd.ts";
