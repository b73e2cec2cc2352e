/** The recorder: live streams (the hub), recordings of them (sessions) and the manager that runs them. */

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
export type { LiveSource, SenderReport, SourceListener, SourceTrack, TrackKind } from "./source.ts";
export { dailyRecordDir, HLS_MEDIA_NAME, HLS_MULTIVARIANT_NAME, INDEX_NAME, MANIFEST_NAME } from "./layout.ts";
export { type RecoveredRecording, recoverRecordings } from "./recovery.ts";
export { deleteRecording } from "./delete_recording.ts";
