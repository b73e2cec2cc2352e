/**
 * The durability benchmark: how long after the recorder hands a segment's close over the segment is durable. On
 * fs that is the close itself (every fragment was fdatasync'd as it was appended; the close renames `KEY.part` to
 * `KEY`); on S3 it lasts until the upload queue has written the segment to s3rver on loopback and verified it
 * (seen as the queue deleting the spool copy, which it does only after a verified upload). Each stream writes what
 * a session writes for its video track, through the real storage stack (RecordingFiles, LocalObjects, UploadQueue,
 * OpenDAL): an init segment, then per segment 6 fragments of 1 s of 2.5 Mbit/s, the close, and the index and
 * manifests (MPD, HLS playlists) replaced, on a fixed schedule compressed from real time; N streams share one stack
 * in this process, as in the service. It leaves out the audio track, the media pipeline and WebRTC: only the
 * storage path is timed.
 */

import { join } from "node:path";
import { openDalOptions } from "../../src/config/mod.ts";
import type { RecordingIndex, TrackIndex } from "../../src/manifest/mod.ts";
import { initName, MEDIA_PATTERN, segmentName } from "../../src/recorder/layout.ts";
import { renderManifests } from "../../src/recorder/manifests.ts";
import { silentLogger } from "../../src/shared/log.ts";
import {
  type ByteRange,
  LocalObjects,
  LocalStore,
  type ObjectInfo,
  type ObjectStore,
  openDalStore,
  RecordingFiles,
  UploadQueue,
} from "../../src/storage/mod.ts";
import { type S3Server, s3StorageConfig, startS3Server } from "../../tests/helpers/s3_server.ts";
import { onCleanup } from "./cleanup.ts";

/** Fragments per segment: one per second of a 6 s segment, as the recorder cuts them. */
const FRAGMENTS_PER_SEGMENT = 6;
/** One second of 2.5 Mbit/s video. */
const FRAGMENT_BYTES = 2_500_000 / 8;
const VIDEO_TIMESCALE = 90_000;
const SEGMENT_TICKS = FRAGMENTS_PER_SEGMENT * VIDEO_TIMESCALE;
const INIT_BYTES = 700;
/** How long the last segment may take to become durable after the writers are done. */
const DRAIN_TIMEOUT_MS = 120_000;
const S3_BUCKET = "liverec-bench";

export type DurabilityBackend = "fs" | "s3";

export interface DurabilityOptions {
  backend: DurabilityBackend;
  streams: number;
  segmentsPerStream: number;
  /** Wall time between two closes of one stream (real time: the segment duration). */
  segmentIntervalMs: number;
  /** Parent dir for this run's storage root or spool. */
  dir: string;
  /** The S3 server of an s3 run. */
  server?: S3Server;
}

/** What a run wrote, and where: reported beside its figures. */
export interface DurabilitySetup {
  backend: DurabilityBackend;
  streams: number;
  segmentsPerStream: number;
  segmentIntervalMs: number;
  fragmentsPerSegment: number;
  fragmentBytes: number;
  segmentBytes: number;
  /** Filesystem type of the local files (storage root or spool), e.g. "ext4". */
  localFsType: string;
}

/** The setup and raw samples of one run, in ms; summarized by report.ts. */
export interface DurabilityRun {
  setup: DurabilitySetup;
  /** Every fragment append, fdatasync included: what bounds the media lost in a crash. */
  appendMs: number[];
  /** `RecordingFiles.close(key)` until it resolves. */
  closeMs: number[];
  /** `close(key)` called until the segment is durable (fs: the close resolved; s3: uploaded and verified). */
  durableMs: number[];
  /** s3: the segment's PUT until its verifying HEAD answered (the transfer alone, without queueing). */
  uploadMs: number[];
  /** The index and manifest replaced after a close. */
  replaceMs: number[];
  /** s3: passes of the upload queue that failed and were retried after its back-off (500 ms, doubling). */
  uploadFailedPasses: number;
  lastUploadError: string | undefined;
  /** The furthest any writer fell behind its schedule (slow writes stretch the cadence and ease the load). */
  maxLagMs: number;
  wallS: number;
}

/** Starts s3rver on loopback for the s3 runs; cleanup stops it if the benchmark is interrupted. */
export async function startBenchS3(): Promise<S3Server> {
  const server = await startS3Server({ bucket: S3_BUCKET });
  onCleanup("s3rver", () => server.stop());
  return server;
}

/** Writes `segmentsPerStream` segments per stream through the storage stack of `backend` and times them. */
export async function runDurability(opts: DurabilityOptions): Promise<DurabilityRun> {
  const dir = await Deno.makeTempDir({ dir: opts.dir, prefix: `${opts.backend}${opts.streams}-` });
  const closedAtMs = new Map<string, number>();
  const run: DurabilityRun = {
    setup: {
      backend: opts.backend,
      streams: opts.streams,
      segmentsPerStream: opts.segmentsPerStream,
      segmentIntervalMs: opts.segmentIntervalMs,
      fragmentsPerSegment: FRAGMENTS_PER_SEGMENT,
      fragmentBytes: FRAGMENT_BYTES,
      segmentBytes: FRAGMENT_BYTES * FRAGMENTS_PER_SEGMENT,
      localFsType: await fsTypeOf(dir),
    },
    appendMs: [],
    closeMs: [],
    durableMs: [],
    uploadMs: [],
    replaceMs: [],
    uploadFailedPasses: 0,
    lastUploadError: undefined,
    maxLagMs: 0,
    wallS: 0,
  };
  const segmentsTotal = opts.streams * opts.segmentsPerStream;
  const allDurable = Promise.withResolvers<void>();
  const onDurable = (key: string) => {
    const closedMs = closedAtMs.get(key);
    if (closedMs === undefined) return; // init segments, or a mutable object
    closedAtMs.delete(key);
    run.durableMs.push(performance.now() - closedMs);
    if (run.durableMs.length === segmentsTotal) allDurable.resolve();
  };

  const stack = await openStack(opts, dir, onDurable, run.uploadMs);
  const startedMs = performance.now();
  try {
    const prefix = `bench-durability-${opts.backend}${opts.streams}`;
    await Promise.all(Array.from({ length: opts.streams }, (_, i) =>
      writeStream({
        files: stack.files,
        folder: `${prefix}/stream${i}`,
        // Publishers' keyframes fall at unrelated times: spread the streams' closes over the interval.
        startMs: performance.now() + i * opts.segmentIntervalMs / opts.streams,
        opts,
        run,
        closing: (key, atMs) => {
          if (opts.backend === "s3") closedAtMs.set(key, atMs);
        },
      })));
    if (opts.backend === "s3") {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        allDurable.promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${closedAtMs.size} segment(s) not uploaded ${DRAIN_TIMEOUT_MS} ms after the last`)),
            DRAIN_TIMEOUT_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      await stack.check(prefix, segmentsTotal);
      const failures = stack.uploadFailures();
      run.uploadFailedPasses = failures.failedAttempts;
      run.lastUploadError = failures.lastError;
    }
    run.wallS = (performance.now() - startedMs) / 1000;
    return run;
  } finally {
    await stack.close();
  }
}

interface Stack {
  files: RecordingFiles;
  /** Throws unless the store holds `segments` segments of full size below `prefix`. */
  check(prefix: string, segments: number): Promise<void>;
  /** Failed passes of the upload queue (each one retried after a back-off) and the last error. */
  uploadFailures(): { failedAttempts: number; lastError: string | undefined };
  close(): Promise<void>;
}

/** The storage stack of the service for `backend`: fs writes the root itself; s3 spools and uploads. */
async function openStack(
  opts: DurabilityOptions,
  dir: string,
  onDurable: (key: string) => void,
  uploadMs: number[],
): Promise<Stack> {
  if (opts.backend === "fs") {
    const root = join(dir, "records");
    const local = new LocalObjects(root);
    await local.init();
    return {
      files: new RecordingFiles({ local, store: new LocalStore(local) }),
      check: () => Promise.resolve(),
      uploadFailures: () => ({ failedAttempts: 0, lastError: undefined }),
      close: async () => {},
    };
  }
  const server = opts.server;
  if (server === undefined) throw new Error("an s3 durability run needs the s3rver");
  const s3 = await openDalStore(openDalOptions(s3StorageConfig(server, `/${crypto.randomUUID().slice(0, 8)}`)));
  const problem = await s3.check(); // as the service does at start-up; it also opens the connection
  if (problem !== undefined) throw new Error(`s3rver: ${problem}`);
  const local = new WatchedSpool(join(dir, "spool"), onDurable);
  await local.init();
  const store = new TimedStore(s3, uploadMs);
  const queue = new UploadQueue({ local, store, log: silentLogger });
  queue.start();
  return {
    files: new RecordingFiles({ local, store, queue }),
    async check(prefix, segments) {
      // The index and manifest may still be going up; s3rver can fail a listing that races a write.
      if (!(await queue.drained(10_000))) throw new Error("the spool did not drain");
      const listed = await s3.list(`${prefix}/`).catch((error) => {
        throw new Error(
          `${error instanceof Error ? error.message : error}\ns3rver's log ends:\n${tail(server.logs())}`,
        );
      });
      const keys = listed.filter((key) => /\/seg_\d+\.m4s$/.test(key));
      const sizes = await Promise.all(keys.map(async (key) => (await s3.stat(key))?.sizeBytes));
      const full = sizes.filter((size) => size === FRAGMENT_BYTES * FRAGMENTS_PER_SEGMENT).length;
      if (full !== segments) throw new Error(`s3rver holds ${full} complete segments of ${segments} under ${prefix}/`);
    },
    uploadFailures() {
      const { failedAttempts, lastError } = queue.status;
      return { failedAttempts, lastError: lastError?.replaceAll(local.dir, "<spool>") };
    },
    async close() {
      await queue.drained(10_000);
      await queue.stop();
    },
  };
}

interface StreamWriter {
  files: RecordingFiles;
  folder: string;
  /** performance.now() of the stream's start: its first fragment is due one fragment interval later. */
  startMs: number;
  opts: DurabilityOptions;
  run: DurabilityRun;
  /** Called as `close(key)` is about to be called, at `atMs` (performance.now()). */
  closing(key: string, atMs: number): void;
}

/** Writes one stream like a session writes its video track, each fragment when its schedule says it is complete. */
async function writeStream(w: StreamWriter): Promise<void> {
  const { files, folder, opts, run } = w;
  const fragment = new Uint8Array(FRAGMENT_BYTES);
  for (let at = 0; at < fragment.length; at += 65_536) crypto.getRandomValues(fragment.subarray(at, at + 65_536));
  const track: TrackIndex = {
    codecs: "avc1.64001f",
    timescale: VIDEO_TIMESCALE,
    init: initName("video", 1),
    media: MEDIA_PATTERN.video,
    startNumber: 1,
    segments: [],
    bandwidthBps: 2_500_000,
    widthPx: 1280,
    heightPx: 720,
    frameRate: 30,
  };
  const index: RecordingIndex = {
    version: 1,
    streamId: folder,
    periods: [{
      recordId: crypto.randomUUID(),
      startedAt: new Date().toISOString(),
      status: "recording",
      video: track,
    }],
  };
  const writeManifest = async () => {
    const startMs = performance.now();
    for (const { name, text } of renderManifests(index, new Date().toISOString())) {
      await files.replace(`${folder}/${name}`, new TextEncoder().encode(text));
    }
    run.replaceMs.push(performance.now() - startMs);
  };
  await files.replace(`${folder}/${track.init}`, new Uint8Array(INIT_BYTES));
  await writeManifest();

  const fragmentIntervalMs = opts.segmentIntervalMs / FRAGMENTS_PER_SEGMENT;
  for (let number = 1; number <= opts.segmentsPerStream; number++) {
    const key = `${folder}/${segmentName("video", number)}`;
    for (let f = 1; f <= FRAGMENTS_PER_SEGMENT; f++) {
      const dueMs = w.startMs + ((number - 1) * FRAGMENTS_PER_SEGMENT + f) * fragmentIntervalMs;
      const waitMs = dueMs - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs)); // the media's pace
      else run.maxLagMs = Math.max(run.maxLagMs, -waitMs);
      const startMs = performance.now();
      await files.appendFragment(key, fragment);
      run.appendMs.push(performance.now() - startMs);
    }
    // The segmenter closes a segment as the next keyframe arrives, right after its last fragment.
    const closeStartMs = performance.now();
    w.closing(key, closeStartMs);
    await files.close(key);
    const closeMs = performance.now() - closeStartMs;
    run.closeMs.push(closeMs);
    if (opts.backend === "fs") run.durableMs.push(closeMs); // the fragments were durable as they were appended
    track.segments.push({ startTicks: (number - 1) * SEGMENT_TICKS, durationTicks: SEGMENT_TICKS });
    await writeManifest();
  }
}

/** The spool, telling when the queue deletes an object: it does so only once the store has it, verified. */
class WatchedSpool extends LocalObjects {
  readonly #onDeleted: (key: string) => void;

  constructor(dir: string, onDeleted: (key: string) => void) {
    super(dir);
    this.#onDeleted = onDeleted;
  }

  override async delete(key: string): Promise<void> {
    await super.delete(key);
    this.#onDeleted(key);
  }
}

/** A store that times each segment's PUT until the HEAD that verifies it. */
class TimedStore implements ObjectStore {
  readonly description: string;
  readonly #inner: ObjectStore;
  readonly #uploadMs: number[];
  readonly #writeStartMs = new Map<string, number>();

  constructor(inner: ObjectStore, uploadMs: number[]) {
    this.description = inner.description;
    this.#inner = inner;
    this.#uploadMs = uploadMs;
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    if (/\/seg_\d+\.m4s$/.test(key)) this.#writeStartMs.set(key, performance.now());
    await this.#inner.write(key, data);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.#inner.stat(key);
    const startMs = this.#writeStartMs.get(key);
    if (startMs !== undefined) {
      this.#writeStartMs.delete(key);
      this.#uploadMs.push(performance.now() - startMs);
    }
    return info;
  }

  read(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.#inner.read(key, range);
  }

  list(prefix: string): Promise<string[]> {
    return this.#inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }

  check(): Promise<string | undefined> {
    return this.#inner.check();
  }

  presignRead(key: string, expiresS: number): Promise<string | undefined> {
    return this.#inner.presignRead(key, expiresS);
  }
}

function tail(text: string): string {
  return text.split("\n").slice(-15).join("\n");
}

/** The type of the filesystem holding `path` (the longest matching mount point in /proc/mounts), or "unknown". */
async function fsTypeOf(path: string): Promise<string> {
  try {
    const real = await Deno.realPath(path);
    let best = { mount: "", type: "unknown" };
    for (const line of (await Deno.readTextFile("/proc/mounts")).split("\n")) {
      const [, mount, type] = line.split(" ");
      if (mount === undefined || type === undefined) continue;
      const inside = real === mount || real.startsWith(mount.endsWith("/") ? mount : `${mount}/`);
      if (inside && mount.length >= best.mount.length) best = { mount, type };
    }
    return best.type;
  } catch {
    return "unknown";
  }
}
