/** Storage: the ObjectStore port and its adapters (local files for fs, OpenDAL for object stores, memory for tests). */

import process from "node:process";
import { errorMessage, StorageError } from "../shared/errors.ts";
import type { ObjectStore } from "./object_store.ts";
import type { OpenDalStoreOptions, OpenDalTarget } from "./opendal_store.ts";

export type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";
export type { OpenDalStoreOptions, OpenDalTarget } from "./opendal_store.ts";
export { MemoryStore } from "./memory_store.ts";
export { LocalObjects } from "./local_objects.ts";
export { LocalStore } from "./local_store.ts";
export { UploadQueue } from "./upload_queue.ts";
export { type ActiveRecording, type FilesStatus, RecordingFiles } from "./recording_files.ts";

/**
 * An OpenDAL store for `target`. OpenDAL is loaded only here, on first use, so that a build without its native addon
 * (the arm64 binary) still runs with fs storage; there, this throws a StorageError that says so.
 */
export async function openDalStore(target: OpenDalTarget, options?: OpenDalStoreOptions): Promise<ObjectStore> {
  let module;
  try {
    module = await import("./opendal_store.ts");
  } catch (error) {
    throw new StorageError(
      `storage type "${target.scheme}" needs OpenDAL's native addon, which this build for ` +
        `${process.platform}-${process.arch} lacks (${errorMessage(error).split(". ")[0]}); use type = "fs"`,
      { cause: error },
    );
  }
  return new module.OpenDalStore(target, options);
}
