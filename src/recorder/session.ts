/**
 * One recording of one live stream: the I/O shell around the pure RecordingPipeline. It feeds packets in and
 * writes what comes out, in order, through one write queue: each fMP4 fragment is appended (durably) to its
 * segment as soon as it completes, a finished segment is closed and added to the index, and the index and the
 * manifests rendered from it (DASH MPD, HLS playlists) are replaced after the segments they list. It asks for
 * keyframes while the pipeline waits for one and finalizes on stop. A failed write is logged and counted and
 * recording goes on; a segment whose write failed keeps its place in the manifest, so every later segment keeps
 * its number and time.
 */

import { periodDurationS, type PeriodIndex, type RecordingIndex, type TrackIndex } from "../manifest/mod.ts";
import type { FragmentOutput, SegmentOutput } from "../media/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import { INDEX_NAME, initName, MANIFEST_NAME, MEDIA_PATTERN, parseSegmentName, segmentName } from "./layout.ts";
import { renderManifests } from "./manifests.ts";
import { type PipelineOutput, type PipelineStats, RecordingPipeline } from "./pipeline.ts";
import type { LiveSource, TrackKind } from "./source.ts";

/** Keyframe requests back off from the first to the last interval while the pipeline keeps waiting. */
const PLI_FIRST_INTERVAL_MS = 250;
const PLI_MAX_INTERVAL_MS = 2_000;

export interface SessionOptions {
  source: LiveSource;
  files: RecordingFiles;
  clock: Clock;
  log: Logger;
  recordId: string;
  /** Folder of the recording's objects, relative to the store root, without a trailing slash. */
  recordDir: string;
  segmentDurationMs: number;
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
  /** Segments with a failed append: the rest of their fragments are skipped. */
  readonly #brokenSegments = new Set<string>();
  #storageErrors = 0;
  #lastStorageError: string | undefined;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.#startedAt = new Date(opts.clock.nowMs()).toISOString();
  }

  get mpdPath(): string {
    return `${this.#opts.recordDir}/${MANIFEST_NAME}`;
  }

  /**
   * Loads the folder's index (earlier recordings of the day), marks the recording as in progress (for crash
   * recovery), adds its period and starts listening.
   */
  async start(): Promise<void> {
    const { source, segmentDurationMs, files, recordId, recordDir } = this.#opts;
    const index = await this.#loadIndex();
    await files.markActive({ recordId, streamId: source.streamId, recordDir, startedAt: this.#startedAt });
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
    this.#enqueue(() => this.#opts.files.clearActive(this.#opts.recordId));
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
      else if (output.type === "fragment") this.#onFragment(output);
      else this.#onSegment(output);
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
    this.#enqueue(async () => {
      await this.#write(name, () => this.#opts.files.replace(this.#key(name), output.bytes), output.bytes.length);
      await this.#writeManifest();
    });
  }

  #onFragment(fragment: FragmentOutput): void {
    const key = this.#key(segmentName(fragment.track, fragment.segmentNumber));
    this.#enqueue(async () => {
      // After a failed append the segment keeps only its intact beginning: later fragments would not follow on.
      if (this.#brokenSegments.has(key)) return;
      const ok = await this.#write(
        key,
        () => this.#opts.files.appendFragment(key, fragment.bytes),
        fragment.bytes.length,
      );
      if (!ok) this.#brokenSegments.add(key);
    });
  }

  #onSegment(segment: SegmentOutput): void {
    const key = this.#key(segmentName(segment.track, segment.number));
    this.#enqueue(async () => {
      this.#brokenSegments.delete(key);
      await this.#write(key, () => this.#opts.files.close(key), 0);
      const track = this.#period![segment.track];
      if (track === undefined) return;
      if (track.segments.length === 0) track.startNumber = segment.number;
      track.segments.push({ startTicks: segment.startTicks, durationTicks: segment.durationTicks });
      this.#segments++;
      const totals = this.#trackTotals[segment.track];
      totals.bytes += segment.sizeBytes;
      totals.ticks += segment.durationTicks;
      track.bandwidthBps = totals.ticks > 0 ? Math.round(totals.bytes * 8 * track.timescale / totals.ticks) : 0;
      await this.#writeManifest();
    });
  }

  /**
   * Replaces the index first (it is what a restart reads), then the MPD and the HLS playlists rendered from it,
   * stopping at the first failed write; the next segment's close writes them all again.
   */
  async #writeManifest(): Promise<void> {
    const { files, clock } = this.#opts;
    for (const { name, text } of renderManifests(this.#index!, new Date(clock.nowMs()).toISOString())) {
      const bytes = new TextEncoder().encode(text);
      if (!(await this.#write(name, () => files.replace(this.#key(name), bytes), 0))) return;
    }
  }

  /** Runs one write; a failure is logged and counted, and answered with false. */
  async #write(what: string, write: () => Promise<void>, sizeBytes: number): Promise<boolean> {
    try {
      await write();
      this.#sizeBytes += sizeBytes;
      return true;
    } catch (error) {
      this.#storageErrors++;
      this.#lastStorageError = error instanceof Error ? error.message : String(error);
      this.#opts.log("error", "recording write failed", {
        recordId: this.#opts.recordId,
        what,
        error: this.#lastStorageError,
      });
      return false;
    }
  }

  #key(name: string): string {
    return `${this.#opts.recordDir}/${name}`;
  }

  #enqueue(task: () => Promise<unknown>): void {
    this.#queue = this.#queue.then(task).then(() => {}, (error) => {
      this.#opts.log("error", "recording task failed", { recordId: this.#opts.recordId, error: String(error) });
    });
  }

  #askForKeyframe(): void {
    if (!this.#pipeline!.keyframeWanted) {
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
    const { files, recordDir, source, log } = this.#opts;
    const fresh: RecordingIndex = { version: 1, streamId: source.streamId, periods: [] };
    let bytes: Uint8Array | undefined;
    try {
      bytes = await files.read(this.#key(INDEX_NAME));
      if (bytes === undefined) return fresh;
      const index = parseIndex(bytes);
      for (const period of index.periods) period.status = "finished";
      return index;
    } catch (error) {
      const aside = `${recordDir}/index.unreadable-${Date.parse(this.#startedAt)}.json`;
      log("warn", "recording index unreadable; starting a new one", { recordDir, aside, error: String(error) });
      if (bytes !== undefined) await files.replace(aside, bytes).catch(() => {});
      const existing = await files.list(`${recordDir}/`).catch(() => []);
      fresh.periods.push(...placeholderPeriods(existing));
      return fresh;
    }
  }
}

/** A stored recording index. */
export function parseIndex(bytes: Uint8Array): RecordingIndex {
  const index = JSON.parse(new TextDecoder().decode(bytes)) as RecordingIndex;
  if (index.version !== 1 || !Array.isArray(index.periods)) throw new Error("not a version 1 index");
  return index;
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
    const segment = parseSegmentName(key.slice(key.lastIndexOf("/") + 1));
    if (segment !== undefined) maxNumber = Math.max(maxNumber, segment.number);
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
