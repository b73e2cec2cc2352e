/**
 * Where recordings are written: durable local files first (the storage root for `fs`, the spool for object
 * stores), then, for object stores, the upload queue. Reads look at the local files first (the newest version of
 * a manifest, a segment not uploaded yet), then at the store. It also keeps the markers of recordings in progress,
 * in a hidden folder beside the objects, so that a restart can find what a crash interrupted.
 */

import { mkdir, readdir, readFile, rename, rm, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage, isNotFound, NotFoundError, StorageError } from "../shared/errors.ts";
import type { HistogramSnapshot } from "../shared/latency_histogram.ts";
import type { LocalObjects } from "./local_objects.ts";
import type { ByteRange, ObjectInfo, ObjectStore } from "./object_store.ts";
import type { UploadQueue, UploadStatus } from "./upload_queue.ts";

const STATE_FOLDER = ".liverec/active";

/** What a marker of a recording in progress holds. */
export interface ActiveRecording {
  recordId: string;
  streamId: string;
  recordDir: string;
  startedAt: string;
}

/** The state of the local side, for status answers. */
export interface FilesStatus {
  backend: string;
  localDir: string;
  localBytes: number;
  /** The spool's limit; undefined for fs storage, where the local files are the recordings. */
  spoolLimitBytes: number | undefined;
  upload: UploadStatus | undefined;
  /** Local writes (to the storage root, or the spool) and their fdatasyncs. */
  writeLatency: HistogramSnapshot;
  fsyncLatency: HistogramSnapshot;
}

export interface RecordingFilesOptions {
  local: LocalObjects;
  store: ObjectStore;
  /** Present for object stores: drains `local` (the spool) into `store`. */
  queue?: UploadQueue;
  spoolLimitBytes?: number;
  /** When > 0, objects already in the store are served by redirect to a presigned URL valid this long. */
  presignExpiresS?: number;
}

/** The recorder's view of storage. */
export class RecordingFiles {
  readonly #opts: RecordingFilesOptions;

  constructor(opts: RecordingFilesOptions) {
    this.#opts = opts;
  }

  get store(): ObjectStore {
    return this.#opts.store;
  }

  get local(): LocalObjects {
    return this.#opts.local;
  }

  /** Appends a fragment to the open object `key`; durable when it resolves. */
  async appendFragment(key: string, bytes: Uint8Array): Promise<void> {
    const { local, spoolLimitBytes } = this.#opts;
    if (spoolLimitBytes !== undefined && local.totalBytes + bytes.length > spoolLimitBytes) {
      throw new StorageError(
        `the spool ${local.dir} is full (${local.totalBytes} of ${spoolLimitBytes} bytes): uploads are not keeping up`,
      );
    }
    await local.append(key, bytes);
  }

  /** The object is complete, under `finalKey` when given: for object stores it is now owed to the store. */
  async close(key: string, finalKey = key): Promise<void> {
    await this.#opts.local.close(key, finalKey);
    this.#opts.queue?.notify();
  }

  /** Replaces a whole small object (init segment, index, manifest) atomically. */
  async replace(key: string, bytes: Uint8Array): Promise<void> {
    await this.replaceAll([{ key, bytes }]);
  }

  /** Replaces each object atomically, in one go (`LocalObjects.replaceAll`): a folder's index and manifests. */
  async replaceAll(objects: readonly { key: string; bytes: Uint8Array }[]): Promise<void> {
    await this.#opts.local.replaceAll(objects);
    this.#opts.queue?.notify();
  }

  /** The newest version of `key`: the local one, else the store's; undefined when neither has it. */
  async read(key: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    const local = await this.#opts.local.read(key, range);
    if (local !== undefined) return local;
    try {
      return await this.#opts.store.read(key, range);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * A presigned URL to send a reader of `key` to, when presigning is configured and the store (not the spool)
   * holds the object; undefined otherwise.
   */
  async redirectFor(key: string): Promise<string | undefined> {
    const { presignExpiresS = 0, local, store } = this.#opts;
    if (presignExpiresS <= 0 || (await local.stat(key)) !== undefined) return undefined;
    if ((await store.stat(key)) === undefined) return undefined;
    return await store.presignRead(key, presignExpiresS);
  }

  /** Removes `key` locally and from the store; either may already lack it. */
  async delete(key: string): Promise<void> {
    await this.#opts.local.delete(key);
    await this.#opts.store.delete(key);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const local = await this.#opts.local.stat(key);
    return local !== undefined ? { sizeBytes: local.sizeBytes } : await this.#opts.store.stat(key);
  }

  /** Closed objects below `prefix`, local and stored; a store that cannot list makes this throw its StorageError. */
  async list(prefix: string): Promise<string[]> {
    const [local, stored] = await Promise.all([this.#opts.local.list(prefix), this.#opts.store.list(prefix)]);
    return [...new Set([...local, ...stored])].sort();
  }

  status(): FilesStatus {
    const { local, store, queue, spoolLimitBytes } = this.#opts;
    return {
      backend: store.description,
      localDir: local.dir,
      localBytes: local.totalBytes,
      spoolLimitBytes,
      upload: queue?.status,
      writeLatency: local.writeLatency.snapshot(),
      fsyncLatency: local.fsyncLatency.snapshot(),
    };
  }

  /** The local folder's disk: its free and total bytes. */
  async diskSpace(): Promise<{ freeBytes: number; totalBytes: number }> {
    const disk = await statfs(this.#opts.local.dir);
    return { freeBytes: disk.bavail * disk.bsize, totalBytes: disk.blocks * disk.bsize };
  }

  /** Records that a recording is in progress (durably, before its first media). */
  async markActive(recording: ActiveRecording): Promise<void> {
    const dir = this.#stateDir();
    const path = join(dir, `${recording.recordId}.json`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(`${path}.tmp`, JSON.stringify(recording));
      await rename(`${path}.tmp`, path);
    } catch (error) {
      const reason = errorMessage(error);
      throw new StorageError(`cannot record in ${this.#opts.local.dir}: ${reason}`, { cause: error });
    }
  }

  /** The recording was finalized. */
  async clearActive(recordId: string): Promise<void> {
    await rm(join(this.#stateDir(), `${recordId}.json`), { force: true });
  }

  /** Recordings that were in progress when the service last stopped without finalizing them. */
  async activeRecordings(): Promise<ActiveRecording[]> {
    const dir = this.#stateDir();
    const found: ActiveRecording[] = [];
    try {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (!entry.isFile() || !entry.name.endsWith(".json")) continue;
        found.push(JSON.parse(await readFile(join(dir, entry.name), "utf8")) as ActiveRecording);
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return found.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /** The hidden folder of the in-progress markers, beside the objects (walks and listings skip it). */
  #stateDir(): string {
    return join(this.#opts.local.dir, STATE_FOLDER);
  }
}
