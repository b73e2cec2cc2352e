/**
 * The recorder: live streams (the hub), the manager that records them (a capture feeding each recording's record
 * folder), crash recovery and deleting recordings.
 */

export { type HubListener, StreamHub, type UnpublishReason } from "./hub.ts";
export {
  type ManagerOptions,
  type RecordingInfo,
  RecordingManager,
  type RecordingObserver,
  type RecordingState,
  type RecordingStatus,
  type RecordingView,
} from "./manager.ts";
export type { StoredSegment } from "./record_folder.ts";
export { parseIndex } from "./record_folder.ts";
export type {
  FrameTrack,
  LiveSource,
  SenderReport,
  SourceCounters,
  SourceFrame,
  SourceListener,
  SourceMedia,
  SourceTrack,
  TrackKind,
} from "./source.ts";
export { dailyRecordDir, INDEX_NAME } from "./layout.ts";
export { type RecoveredRecording, recoverRecordings } from "./recovery.ts";
export { deleteRecording } from "./delete_recording.ts";
export { viewJson } from "./view_json.ts";
