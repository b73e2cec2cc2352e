/**
 * Public surface of src/export: stored recordings (whole, or a wall-clock range across periods and recordings) read
 * back through a ReadObject port and remuxed into one progressive MP4 (or, for a range, a fragmented one). It reads
 * no index and serves nothing.
 */

export {
  EXPORT_FORMATS,
  type ExportFormat,
  MAX_RANGE_MS,
  rangeMp4,
  type ReadObject,
  recordingMp4,
  type StoredPeriod,
} from "./mp4_export.ts";
