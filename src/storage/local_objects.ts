/**
 * Objects being recorded, as files under one local directory. A segment grows fragment by fragment in `KEY.part`,
 * each append made durable (fdatasync) before it returns, and is closed by renaming it to `KEY`; small objects
 * (init segments, indexes, manifests) are replaced atomically (temporary file, fsync, rename), so a crash leaves
 * either the old or the new version, never half of one. For the fs backend this directory is the storage root;
 * for object stores it is the spool that the upload queue drains.
 *
 * On the recording path only the fdatasyncs, which wait for the disk, leave the event loop. The opens, writes,
 * renames and closes are synchronous: each takes microseconds on a local disk, while a runtime's asynchronous call
 * costs two thread wake-ups (about 300 µs of CPU each on the 2-core test VM), and a segment's manifests took about
 * fifty of them.
 */

import { closeSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate } from "node:fs/promises";
import { dirname, join } from "node:path";
import { errorMessage, isNotFound, StorageError } from "../shared/errors.ts";
import { LatencyHistogram } from "../shared/latency_histogram.ts";
import { datasync, syncFolder } from "../shared/sync_folder.ts";
import { checkedKey, checkedPrefix } from "./keys.ts";
import type { ByteRange } from "./object_store.ts";

const PART_SUFFIX = ".part";
const TEMP_MARKER = ".tmp-";

/** A local file's identity for "has it changed since I read it". */
export interface LocalStat {
  sizeBytes: number;
  mtimeMs: number;
}

/** Local files for objects, keyed like the store. */
export class LocalObjects {
  readonly dir: string;
  /** The descriptors of the objects being appended to. */
  readonly #open = new Map<string, { fd: number; path: string }>();
  /** Per key, the last replace or delete: they run one at a time, so the byte count and "is it still X" hold. */
  readonly #busy = new Map<string, Promise<unknown>>();
  #totalBytes = 0;
  /** How long writes of media and manifests took (the data handed to the kernel), and their fdatasyncs. */
  readonly writeLatency = new LatencyHistogram();
  readonly fsyncLatency = new LatencyHistogram();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Bytes held under the directory, as counted at `init()` plus what was written and deleted since. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /**
   * Creates the directory and, for a spool, counts what it holds; a storage root full of recordings is not walked
   * (its count then starts at zero).
   */
  async init(countExisting = true): Promise<void> {
    await this.#io("create", this.dir, () => mkdir(this.dir, { recursive: true }));
    this.#totalBytes = 0;
    if (!countExisting) return;
    for await (const path of walk(this.dir)) this.#totalBytes += (await statOf(path))?.sizeBytes ?? 0;
  }

  /** Appends to the open object `key` (creating `KEY.part`) and makes the bytes durable. */
  async append(key: string, bytes: Uint8Array): Promise<void> {
    let open = this.#open.get(key);
    if (open === undefined) {
      const path = this.#path(key) + PART_SUFFIX;
      open = { fd: await this.#io("open", path, () => openInFolder(path, "a")), path };
      this.#open.set(key, open);
    }
    const { fd, path } = open;
    await this.#io("append to", path, () => this.#writeDurably(fd, bytes));
    this.#totalBytes += bytes.length;
  }

  /**
   * Closes the open object `key`: `KEY.part` becomes `KEY`, or `finalKey` when given (an object named only once it
   * is complete). A key never appended to is left alone.
   */
  async close(key: string, finalKey = key): Promise<void> {
    const part = this.#path(key) + PART_SUFFIX;
    const path = this.#path(finalKey);
    const fd = this.#open.get(key)?.fd;
    this.#open.delete(key);
    try {
      if (fd !== undefined) closeSync(fd);
      if (finalKey !== key) mkdirSync(dirname(path), { recursive: true });
      renameSync(part, path);
      await syncFolder(dirname(path));
    } catch (error) {
      if (!isNotFound(error)) {
        throw new StorageError(`closing ${path} failed: ${errorMessage(error)}`, { cause: error });
      }
    }
  }

  /** Replaces `key` atomically with `bytes`. */
  replace(key: string, bytes: Uint8Array): Promise<void> {
    return this.replaceAll([{ key, bytes }]);
  }

  /**
   * Replaces each object atomically, all in one go: every new version is written and fdatasynced side by side, then
   * they are renamed in the order given, and each folder is synced once. A manifest update touches several small
   * files of one folder, and one at a time each would cost two trips off the event loop.
   */
  replaceAll(objects: readonly { key: string; bytes: Uint8Array }[]): Promise<void> {
    return this.#serialized(objects.map(({ key }) => key), () => this.#replaceAll(objects));
  }

  async #replaceAll(objects: readonly { key: string; bytes: Uint8Array }[]): Promise<void> {
    const files = objects.map(({ key, bytes }) => {
      const path = this.#path(key);
      const temp = `${path}${TEMP_MARKER}${crypto.randomUUID().slice(0, 8)}`;
      return { path, temp, bytes, before: 0, fd: -1 };
    });
    try {
      const startMs = performance.now();
      for (const file of files) {
        await this.#io("write", file.temp, () => {
          file.before = statSync(file.path, { throwIfNoEntry: false })?.size ?? 0;
          file.fd = openInFolder(file.temp, "w");
          writeAll(file.fd, file.bytes);
        });
      }
      const writtenMs = performance.now();
      this.writeLatency.observeMs(writtenMs - startMs);
      await Promise.all(files.map((file) => this.#io("write", file.temp, () => datasync(file.fd))));
      this.fsyncLatency.observeMs(performance.now() - writtenMs);
      for (const file of files) await this.#io("rename", file.temp, () => renameSync(file.temp, file.path));
    } catch (error) {
      // A full disk must not keep the half-written copies too.
      for (const file of files) {
        try {
          rmSync(file.temp, { force: true });
        } catch {
          // The write's error is the one to report.
        }
      }
      throw error;
    } finally {
      for (const file of files) if (file.fd >= 0) closeSync(file.fd);
    }
    const folders = [...new Set(files.map((file) => dirname(file.path)))];
    await Promise.all(folders.map((folder) => this.#io("sync folder", folder, () => syncFolder(folder))));
    for (const file of files) this.#totalBytes += file.bytes.length - file.before;
  }

  /** The closed object's bytes (only those of `range`, when given), or undefined when there is none. */
  async read(key: string, range?: ByteRange): Promise<Uint8Array | undefined> {
    const path = this.#path(key);
    try {
      return range === undefined ? bytesOf(await readFile(path)) : await readRange(path, range);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new StorageError(`reading ${path} failed: ${errorMessage(error)}`, { cause: error });
    }
  }

  async stat(key: string): Promise<LocalStat | undefined> {
    return await statOf(this.#path(key));
  }

  /** Keys of closed objects below `prefix` (`""` for all). */
  async list(prefix: string): Promise<string[]> {
    const names = await this.#fileNames(prefix);
    return names.filter((name) => !name.endsWith(PART_SUFFIX) && !name.includes(TEMP_MARKER)).sort();
  }

  /** Keys of objects left open (`KEY.part`) below `prefix`: what a crash interrupted. */
  async openKeys(prefix: string): Promise<string[]> {
    const names = await this.#fileNames(prefix);
    return names.filter((name) => name.endsWith(PART_SUFFIX)).map((name) => name.slice(0, -PART_SUFFIX.length)).sort();
  }

  /** Every file below `prefix` (closed, open or temporary), relative to the directory; no stat per file. */
  async #fileNames(prefix: string): Promise<string[]> {
    const names: string[] = [];
    for await (const path of walk(join(this.dir, checkedPrefix(prefix)))) names.push(path.slice(this.dir.length + 1));
    return names;
  }

  /** The bytes of an object left open, for recovery. */
  async readOpen(key: string): Promise<Uint8Array> {
    return bytesOf(await readFile(this.#path(key) + PART_SUFFIX));
  }

  /**
   * Cuts an object left open back to `sizeBytes` (its last complete fragment) and closes it, under `finalKey` when
   * given; 0 deletes it.
   */
  async salvage(key: string, sizeBytes: number, finalKey = key): Promise<void> {
    const part = this.#path(key) + PART_SUFFIX;
    const before = (await statOf(part))?.sizeBytes ?? 0;
    if (sizeBytes === 0) {
      await rm(part);
    } else {
      const path = this.#path(finalKey);
      await truncate(part, sizeBytes);
      await mkdir(dirname(path), { recursive: true });
      await rename(part, path);
    }
    this.#totalBytes -= before - sizeBytes;
  }

  delete(key: string): Promise<void> {
    return this.#serialized([key], () => this.#delete(key));
  }

  /** Deletes `key` only if it still holds exactly `bytes` (no newer version replaced it); true when it did. */
  deleteIfSame(key: string, bytes: Uint8Array): Promise<boolean> {
    return this.#serialized([key], async () => {
      const now = await this.read(key);
      if (now === undefined || !sameBytes(now, bytes)) return false;
      await this.#delete(key);
      return true;
    });
  }

  /** Runs `action` after every earlier serialized action on any of `keys`. */
  #serialized<T>(keys: readonly string[], action: () => Promise<T>): Promise<T> {
    const previous = keys.map((key) => this.#busy.get(key)?.catch(() => {})).filter((busy) => busy !== undefined);
    const next = (previous.length === 0 ? Promise.resolve() : Promise.all(previous)).then(action);
    for (const key of keys) this.#busy.set(key, next);
    void next.finally(() => {
      for (const key of keys) if (this.#busy.get(key) === next) this.#busy.delete(key);
    }).catch(() => {});
    return next;
  }

  async #delete(key: string): Promise<void> {
    const path = this.#path(key);
    const size = (await statOf(path))?.sizeBytes ?? 0;
    try {
      await rm(path);
      this.#totalBytes -= size;
    } catch (error) {
      if (!isNotFound(error)) {
        throw new StorageError(`deleting ${path} failed: ${errorMessage(error)}`, { cause: error });
      }
    }
  }

  /** Closes every open file (the objects stay open on disk, to be salvaged or continued). */
  dispose(): Promise<void> {
    for (const { fd } of this.#open.values()) closeSync(fd);
    this.#open.clear();
    return Promise.resolve();
  }

  #path(key: string): string {
    return join(this.dir, checkedKey(key));
  }

  /** Writes `bytes` at the file's position and fdatasyncs, timing both. */
  async #writeDurably(fd: number, bytes: Uint8Array): Promise<void> {
    const startMs = performance.now();
    writeAll(fd, bytes);
    const writtenMs = performance.now();
    this.writeLatency.observeMs(writtenMs - startMs);
    await datasync(fd);
    this.fsyncLatency.observeMs(performance.now() - writtenMs);
  }

  async #io<T>(what: string, path: string, action: () => T | Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw new StorageError(`cannot ${what} ${path}: ${errorMessage(error)}`, { cause: error });
    }
  }
}

/** Writes all of `bytes` at the file's position. */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written, bytes.length - written);
}

/** Opens the file at `path` (flags "a" or "w"), creating its folder when it is missing. */
function openInFolder(path: string, flags: "a" | "w"): number {
  try {
    return openSync(path, flags);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    mkdirSync(dirname(path), { recursive: true });
    return openSync(path, flags);
  }
}

/** A Node Buffer as the plain Uint8Array the rest of liverec expects (same memory, no copy). */
function bytesOf(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

async function statOf(path: string): Promise<LocalStat | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? { sizeBytes: info.size, mtimeMs: info.mtimeMs } : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * The path of every file below `dir` (none when it does not exist), leaving out hidden (dot) entries such as state
 * folders. A file may be renamed away after it is listed (a closed part, a replaced temporary file): callers treat
 * a listed file that is no longer there as absent.
 */
async function* walk(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* walk(path);
    } else if (entry.isFile()) {
      yield path;
    }
  }
}

/** The bytes of `range` in the file at `path`: fewer when the file ends first, as `Uint8Array.slice` gives. */
async function readRange(path: string, range: ByteRange): Promise<Uint8Array> {
  const file = await open(path, "r");
  try {
    const bytes = new Uint8Array(Math.max(0, range.endInclusive - range.start + 1));
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await file.read(bytes, filled, bytes.length - filled, range.start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === bytes.length ? bytes : bytes.slice(0, filled);
  } finally {
    await file.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
