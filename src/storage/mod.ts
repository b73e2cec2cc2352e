/** Storage: the ObjectStore port and its adapters (OpenDAL for real backends, memory for unit tests). */

export type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";
export { MemoryStore } from "./memory_store.ts";
export { OpenDalStore, type OpenDalStoreOptions } from "./opendal_store.ts";
export { LocalObjects } from "./local_objects.ts";
export { UploadQueue } from "./upload_queue.ts";
export { type ActiveRecording, type FilesStatus, RecordingFiles } from "./recording_files.ts";
