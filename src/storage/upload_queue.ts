/**
 * The upload queue of an object store: drains the local spool into the store, one object at a time, in the order
 * that keeps the remote side consistent. The spool directory is the queue's journal: a closed file in it is an
 * upload still owed, so the queue survives restarts by construction. Each object is uploaded, verified (its
 * remote size), and only then deleted locally; failures are retried with back-off, forever, without loss.
 *
 * Order, per folder: first every immutable object (segments, init segments) by the time it was closed, then the
 * mutable ones (index, manifest) as they were read *before* that listing, so a manifest never reaches the store
 * ahead of a segment it lists, and an older manifest never replaces a newer one.
 */

import { dirname } from "node:path";
import type { Logger } from "../shared/log.ts";
import type { LocalObjects } from "./local_objects.ts";
import type { ObjectStore } from "./object_store.ts";
import { errorMessage } from "../shared/errors.ts";

/** Objects rewritten in place while a recording runs; everything else is written once. */
const MUTABLE = /(?:^|\/)(?:index\.json|manifest\.mpd|[^/]+\.m3u8)$/;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

export interface UploadQueueOptions {
  local: LocalObjects;
  store: ObjectStore;
  log: Logger;
  retryFirstMs?: number;
  retryMaxMs?: number;
}

/** What the queue has done and still owes. */
export interface UploadStatus {
  pendingObjects: number;
  pendingBytes: number;
  uploadedObjects: number;
  failedAttempts: number;
  lastError: string | undefined;
  /** When the oldest object still waiting was written (Unix ms), as the last pass found it; undefined: none. */
  oldestPendingAtMs: number | undefined;
}

/** Uploads closed spool objects to the store until stopped. */
export class UploadQueue {
  readonly #opts: UploadQueueOptions;
  #wake: (() => void) | undefined;
  #pendingWake = false;
  #stopped = false;
  /** Objects found in the spool at start may have been uploaded just before a crash: check before sending. */
  #checkFirst = true;
  /** Immutable objects whose write went through but whose check did not: look before sending them again. */
  readonly #unverified = new Set<string>();
  #loop: Promise<void> | undefined;
  #idle: PromiseWithResolvers<void> | undefined;
  #status: UploadStatus = {
    pendingObjects: 0,
    pendingBytes: 0,
    uploadedObjects: 0,
    failedAttempts: 0,
    lastError: undefined,
    oldestPendingAtMs: undefined,
  };

  constructor(opts: UploadQueueOptions) {
    this.#opts = opts;
  }

  get status(): UploadStatus {
    return { ...this.#status, pendingBytes: this.#opts.local.totalBytes };
  }

  /** Starts draining, beginning with whatever an earlier run left in the spool. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Something new was closed in the spool. */
  notify(): void {
    this.#pendingWake = true;
    this.#wake?.();
  }

  /** Resolves once the spool is empty (or after `timeoutMs`, with false). */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.#opts.local.list("")).length === 0 && !this.#pendingWake) return true;
      this.notify();
      this.#idle ??= Promise.withResolvers<void>();
      await Promise.race([this.#idle.promise, sleep(Math.min(200, deadline - Date.now()))]);
    }
    return false;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { retryFirstMs = RETRY_FIRST_MS, retryMaxMs = RETRY_MAX_MS, log } = this.#opts;
    let backoffMs = retryFirstMs;
    while (!this.#stopped) {
      this.#pendingWake = false;
      try {
        const uploaded = await this.#drainOnce();
        this.#checkFirst = false;
        backoffMs = retryFirstMs;
        if (uploaded === 0 && !this.#pendingWake) {
          this.#idle?.resolve();
          this.#idle = undefined;
          await this.#sleepUntilWoken(60_000);
        }
      } catch (error) {
        this.#status.failedAttempts++;
        this.#status.lastError = errorMessage(error);
        log("warn", "upload failed; will retry", { error: this.#status.lastError, retryInMs: backoffMs });
        await this.#sleepUntilWoken(backoffMs, false);
        backoffMs = Math.min(backoffMs * 2, retryMaxMs);
      }
    }
  }

  /** One pass over the spool; returns how many objects it uploaded. Throws on the first failure. */
  async #drainOnce(): Promise<number> {
    const { local } = this.#opts;
    const keys = await local.list("");
    this.#status.pendingObjects = keys.length;
    let oldestMs: number | undefined;
    for (const key of keys) {
      const mtimeMs = (await local.stat(key))?.mtimeMs;
      if (mtimeMs !== undefined && mtimeMs < (oldestMs ?? Infinity)) oldestMs = mtimeMs;
    }
    this.#status.oldestPendingAtMs = oldestMs;
    let uploaded = 0;
    for (const folder of [...new Set(keys.map((key) => dirname(key)))]) {
      const prefix = folder === "." ? "" : `${folder}/`;
      // Snapshot the mutable objects first: everything they list was closed before this moment.
      const snapshots: { key: string; bytes: Uint8Array }[] = [];
      const mutable = keys.filter((k) => dirname(k) === folder && MUTABLE.test(k));
      for (const key of mutable.sort((a, b) => mutableRank(a) - mutableRank(b))) {
        const bytes = await local.read(key);
        if (bytes !== undefined) snapshots.push({ key, bytes });
      }
      const immutable = (await local.list(prefix)).filter((k) => dirname(k) === folder && !MUTABLE.test(k));
      const closedAt = new Map<string, number>();
      for (const key of immutable) closedAt.set(key, (await local.stat(key))?.mtimeMs ?? 0);
      immutable.sort((a, b) => closedAt.get(a)! - closedAt.get(b)! || a.localeCompare(b));
      for (const key of immutable) {
        const bytes = await local.read(key);
        if (bytes === undefined) continue;
        const look = this.#checkFirst || this.#unverified.has(key);
        const already = look && (await this.#opts.store.stat(key))?.sizeBytes === bytes.length;
        if (!already) await this.#upload(key, bytes, true);
        this.#unverified.delete(key);
        await local.delete(key);
        uploaded++;
      }
      for (const { key, bytes } of snapshots) {
        await this.#upload(key, bytes);
        // A newer version written meanwhile stays, for the next pass.
        await local.deleteIfSame(key, bytes);
        uploaded++;
      }
    }
    return uploaded;
  }

  /** Writes and verifies one object; an immutable one written but not verified is looked at before a resend. */
  async #upload(key: string, bytes: Uint8Array, immutable = false): Promise<void> {
    const { store, log } = this.#opts;
    await store.write(key, bytes);
    if (immutable) this.#unverified.add(key);
    const remote = await store.stat(key);
    if (remote?.sizeBytes !== bytes.length) {
      throw new Error(
        `upload of "${key}" not verified: the store has ${remote?.sizeBytes ?? "no"} bytes, sent ${bytes.length}`,
      );
    }
    this.#status.uploadedObjects++;
    log("debug", "uploaded", { key, bytes: bytes.length });
  }

  #sleepUntilWoken(ms: number, wakeEarly = true): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = wakeEarly ? done : () => this.#stopped && done();
    }).then(() => {
      this.#wake = undefined;
    });
  }
}

/** Upload order of a folder's mutable objects: the index, then what lists segments, then what lists playlists. */
function mutableRank(key: string): number {
  if (key.endsWith("index.json")) return 0;
  if (key.endsWith("index.m3u8")) return 2;
  return 1;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
