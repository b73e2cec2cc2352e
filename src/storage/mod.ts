/** Storage: the ObjectStore port and its adapters (OpenDAL for real backends, memory for unit tests). */

export type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";
export { checkedKey, checkedPrefix } from "./keys.ts";
export { MemoryStore } from "./memory_store.ts";
export { MAX_PRESIGN_EXPIRES_S, OpenDalStore, type OpenDalStoreOptions, type OpenDalTarget } from "./opendal_store.ts";
export { LocalObjects, type LocalStat } from "./local_objects.ts";
export { UploadQueue, type UploadQueueOptions, type UploadStatus } from "./upload_queue.ts";
export {
  type ActiveRecording,
  type FilesStatus,
  RecordingFiles,
  type RecordingFilesOptions,
} from "./recording_files.ts";
