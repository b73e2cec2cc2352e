/**
 * Public surface of src/export: stored recordings (whole, or a wall-clock range across periods and recordings) read
 * back through a ReadObject port and remuxed into one progressive MP4. It reads no index and serves nothing.
 */

export { MAX_RANGE_MS, rangeMp4, type ReadObject, recordingMp4, type StoredPeriod } from "./mp4_export.ts";
