/**
 * One recording of one live stream: the I/O shell around the pure RecordingPipeline. It feeds packets in, writes
 * what comes out (init and media segments, then the index and the manifest that list them) in order through one
 * write queue, asks for keyframes while the pipeline waits for one, and finalizes on stop. A failed write is
 * retried a few times, then logged and counted; recording goes on, and the manifest keeps the segment's place so
 * that every later segment keeps its number and time.
 */

import { periodDurationS, type PeriodIndex, type RecordingIndex, renderMpd, type TrackIndex } from "../manifest/mod.ts";
import type { SegmentOut } from "../media/mod.ts";
import type { ObjectStore } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import { INDEX_NAME, initName, MANIFEST_NAME, MEDIA_PATTERN, segmentName } from "./layout.ts";
import { type PipelineOutput, type PipelineStats, RecordingPipeline } from "./pipeline.ts";
import type { LiveSource, TrackKind } from "./source.ts";

/** Keyframe requests back off from the first to the last interval while the pipeline keeps waiting. */
const PLI_FIRST_INTERVAL_MS = 250;
const PLI_MAX_INTERVAL_MS = 2_000;
/** How often the live (dynamic) manifest asks players to reload it. */
const MANIFEST_UPDATE_PERIOD_S = 2;
/** Waits before the retries of a failed write. */
const RETRY_DELAYS_MS = [100, 500, 2_000];

export interface SessionOptions {
  source: LiveSource;
  store: ObjectStore;
  clock: Clock;
  log: Logger;
  recordId: string;
  /** Folder of the recording's objects, relative to the store root, without a trailing slash. */
  recordDir: string;
  segmentDurationMs: number;
  /** Waits before each retry of a failed write; the default backs off over 2.6 s. */
  retryDelaysMs?: readonly number[];
}

/** What the API reports about a recording. */
export interface SessionStatus {
  recordId: string;
  recordDir: string;
  mpdPath: string;
  startedAt: string;
  state: "recording" | "finished";
  durationS: number;
  segments: number;
  sizeBytes: number;
  storageErrors: number;
  lastStorageError: string | undefined;
  stats: PipelineStats;
}

/** A running recording; `start()` it, then `stop()` it exactly once. */
export class RecordingSession {
  readonly #opts: SessionOptions;
  readonly #startedAt: string;
  #pipeline: RecordingPipeline | undefined;
  #index: RecordingIndex | undefined;
  #period: PeriodIndex | undefined;
  #periodNumber = 1;
  #stopListening: (() => void) | undefined;
  #queue: Promise<void> = Promise.resolve();
  #state: "recording" | "finished" = "recording";
  #stopped: Promise<void> | undefined;
  #anchored = false;
  #nextPliAtMs = 0;
  #pliIntervalMs = PLI_FIRST_INTERVAL_MS;
  #sizeBytes = 0;
  /** Bytes and ticks of each track's stored segments, for its average bandwidth. */
  #trackTotals = { video: { bytes: 0, ticks: 0 }, audio: { bytes: 0, ticks: 0 } };
  #segments = 0;
  #storageErrors = 0;
  #lastStorageError: string | undefined;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.#startedAt = new Date(opts.clock.nowMs()).toISOString();
  }

  get mpdPath(): string {
    return `${this.#opts.recordDir}/${MANIFEST_NAME}`;
  }

  /** Loads the folder's index (earlier recordings of the day), adds this recording's period and starts listening. */
  async start(): Promise<void> {
    const { source, segmentDurationMs } = this.#opts;
    const index = await this.#loadIndex();
    this.#periodNumber = index.periods.length + 1;
    this.#period = { recordId: this.#opts.recordId, startedAt: this.#startedAt, status: "recording" };
    index.periods.push(this.#period);
    this.#index = index;
    this.#pipeline = new RecordingPipeline({
      tracks: source.tracks,
      segmentDurationMs,
      firstNumber: nextNumber(index),
    });
    this.#handle(this.#pipeline.start());
    this.#stopListening = source.addListener({
      rtp: (kind, packet, arrivalMs) => this.#handle(this.#pipeline!.pushRtp(kind, packet, arrivalMs)),
      senderReport: (kind, report) => this.#pipeline!.pushSenderReport(kind, report),
    });
    this.#askForKeyframe();
    await this.#queue;
  }

  /** Stops listening, writes the tail and the final (static) manifest; later calls wait for the same end. */
  stop(): Promise<void> {
    if (this.#stopped !== undefined) return this.#stopped;
    this.#stopListening?.();
    if (this.#pipeline !== undefined) this.#handle(this.#pipeline.flush());
    if (this.#period !== undefined) this.#period.status = "finished";
    this.#enqueue(() => this.#writeManifest());
    this.#stopped = this.#queue.then(() => {
      this.#state = "finished";
    });
    return this.#stopped;
  }

  status(): SessionStatus {
    return {
      recordId: this.#opts.recordId,
      recordDir: this.#opts.recordDir,
      mpdPath: this.mpdPath,
      startedAt: this.#startedAt,
      state: this.#state,
      durationS: this.#period === undefined ? 0 : periodDurationS(this.#period),
      segments: this.#segments,
      sizeBytes: this.#sizeBytes,
      storageErrors: this.#storageErrors,
      lastStorageError: this.#lastStorageError,
      stats: this.#pipeline!.stats,
    };
  }

  #handle(outputs: PipelineOutput[]): void {
    if (this.#period !== undefined && !this.#anchored && this.#pipeline!.started) {
      // A live manifest's clock must start when the media does (the first keyframe), not when recording was asked for.
      this.#anchored = true;
      this.#period.startedAt = new Date(this.#opts.clock.nowMs()).toISOString();
    }
    for (const output of outputs) {
      if (output.type === "init") this.#onInit(output);
      else this.#onSegment(output.segment);
    }
    if (this.#stopped === undefined) this.#askForKeyframe();
  }

  #onInit(output: PipelineOutput & { type: "init" }): void {
    const name = initName(output.track, this.#periodNumber);
    const track: TrackIndex = {
      ...output.details,
      init: name,
      media: MEDIA_PATTERN[output.track],
      startNumber: 0,
      segments: [],
      bandwidthBps: 0,
    };
    this.#period![output.track] = track;
    this.#enqueue(() => this.#write(name, output.bytes));
  }

  #onSegment(segment: SegmentOut): void {
    const name = segmentName(segment.track, segment.number);
    this.#enqueue(async () => {
      await this.#write(name, segment.bytes);
      const track = this.#period![segment.track];
      if (track === undefined) return;
      if (track.segments.length === 0) track.startNumber = segment.number;
      track.segments.push({ startTicks: segment.startTicks, durationTicks: segment.durationTicks });
      this.#segments++;
      const totals = this.#trackTotals[segment.track];
      totals.bytes += segment.bytes.length;
      totals.ticks += segment.durationTicks;
      track.bandwidthBps = totals.ticks > 0 ? Math.round(totals.bytes * 8 * track.timescale / totals.ticks) : 0;
      await this.#writeManifest();
    });
  }

  /** Writes the index first (it is what a restart reads), then the manifest rendered from it. */
  async #writeManifest(): Promise<void> {
    const index = this.#index!;
    const text = JSON.stringify(index);
    await this.#write(INDEX_NAME, new TextEncoder().encode(text), false);
    const nowIso = new Date(this.#opts.clock.nowMs()).toISOString();
    const mpd = renderMpd(index, { nowIso, minimumUpdatePeriodS: MANIFEST_UPDATE_PERIOD_S });
    await this.#write(MANIFEST_NAME, new TextEncoder().encode(mpd), false);
  }

  /** Writes one object of the recording folder, retrying; a write that keeps failing is logged and counted. */
  async #write(name: string, bytes: Uint8Array, countSize = true): Promise<void> {
    const key = `${this.#opts.recordDir}/${name}`;
    const delays = this.#opts.retryDelaysMs ?? RETRY_DELAYS_MS;
    for (let attempt = 0;; attempt++) {
      try {
        await this.#opts.store.write(key, bytes);
        if (countSize) this.#sizeBytes += bytes.length;
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (attempt >= delays.length) {
          this.#storageErrors++;
          this.#lastStorageError = message;
          this.#opts.log("error", "storage write failed; the object is missing", { key, error: message });
          return;
        }
        this.#opts.log("warn", "storage write failed; retrying", { key, attempt: attempt + 1, error: message });
        await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
      }
    }
  }

  #enqueue(task: () => Promise<unknown>): void {
    this.#queue = this.#queue.then(task).then(() => {}, (error) => {
      this.#opts.log("error", "recording task failed", { recordId: this.#opts.recordId, error: String(error) });
    });
  }

  #askForKeyframe(): void {
    if (!this.#pipeline!.waitingForKeyframe) {
      this.#pliIntervalMs = PLI_FIRST_INTERVAL_MS;
      return;
    }
    const now = this.#opts.clock.nowMs();
    if (now < this.#nextPliAtMs) return;
    this.#opts.source.requestKeyframe();
    this.#nextPliAtMs = now + this.#pliIntervalMs;
    this.#pliIntervalMs = Math.min(this.#pliIntervalMs * 2, PLI_MAX_INTERVAL_MS);
  }

  /** The folder's index, or a fresh one; an unreadable index is set aside, never overwritten in place. */
  async #loadIndex(): Promise<RecordingIndex> {
    const { store, recordDir, source, log } = this.#opts;
    const fresh: RecordingIndex = { version: 1, streamId: source.streamId, periods: [] };
    const key = `${recordDir}/${INDEX_NAME}`;
    let bytes: Uint8Array | undefined;
    try {
      if ((await store.stat(key)) === undefined) return fresh;
      bytes = await store.read(key);
      const index = JSON.parse(new TextDecoder().decode(bytes)) as RecordingIndex;
      if (index.version !== 1 || !Array.isArray(index.periods)) throw new Error("not a version 1 index");
      for (const period of index.periods) period.status = "finished";
      return index;
    } catch (error) {
      const aside = `${recordDir}/index.unreadable-${Date.parse(this.#startedAt)}.json`;
      log("warn", "recording index unreadable; starting a new one", { key, aside, error: String(error) });
      if (bytes !== undefined) await store.write(aside, bytes).catch(() => {});
      const existing = await store.list(`${recordDir}/`).catch(() => []);
      fresh.periods.push(...placeholderPeriods(existing));
      return fresh;
    }
  }
}

/** The first segment number after every segment already listed in the index. */
function nextNumber(index: RecordingIndex): number {
  let next = 1;
  for (const period of index.periods) {
    for (const kind of ["video", "audio"] as TrackKind[]) {
      const track = period[kind];
      if (track !== undefined) next = Math.max(next, track.startNumber + track.segments.length);
    }
  }
  return next;
}

/**
 * When the index is lost, an empty stand-in period that reserves the numbers and init names already used by
 * objects in the folder, so a new recording cannot overwrite them.
 */
function placeholderPeriods(keys: string[]): PeriodIndex[] {
  let maxNumber = 0;
  let maxInit = 0;
  for (const key of keys) {
    const segment = /(?:^|\/)(?:audio_)?seg_(\d+)\.m4s$/.exec(key);
    if (segment !== null) maxNumber = Math.max(maxNumber, Number(segment[1]));
    const init = /(?:^|\/)(?:audio_)?init(?:_(\d+))?\.m4s$/.exec(key);
    if (init !== null) maxInit = Math.max(maxInit, init[1] === undefined ? 1 : Number(init[1]));
  }
  const periods: PeriodIndex[] = [];
  for (let i = 0; i < maxInit; i++) {
    periods.push({ recordId: `lost-${i + 1}`, startedAt: new Date(0).toISOString(), status: "finished" });
  }
  if (periods.length > 0 && maxNumber > 0) {
    periods[0]!.video = {
      codecs: "",
      timescale: 1,
      init: "",
      media: "",
      startNumber: maxNumber + 1,
      segments: [],
      bandwidthBps: 0,
    };
  }
  return periods;
}
