/**
 * One record folder: its index (every recording and period it holds), the segments written into it and the
 * manifests rendered from the index. Everything goes through one write queue, in call order, starting with loading
 * the folder's index, so callers never wait: each fMP4 fragment is appended (durably) to its segment as it
 * completes, a finished segment is closed and added to the index, and the index and manifests (DASH MPD, HLS
 * playlists) are replaced after the segments they list: once for the segments whose closes were queued together (a
 * video segment and its audio), and only those whose text changed. A failed write is logged and counted and recording goes on;
 * a segment whose write failed keeps its place in the manifest, so every later segment keeps its number and time.
 *
 * Segment numbers are the folder's: a period's first segment takes the folder's next free number, whatever the
 * pipeline numbered it, so recordings that share a folder (a second one the same day, a rotation into the same day)
 * never overwrite each other.
 *
 * With format "ts", each period also muxes its cuts into MPEG-TS segments of the same numbers and times, written
 * whole once complete (a crash loses the open one; its fMP4 twin is recovered) and listed in the index and ts.m3u8.
 * A period whose tracks MPEG-TS cannot carry (Opus, VP9, AV1) gets none, and its index entry says why.
 *
 * With format "flv", each recording's periods are muxed into one FLV file, appended (durably) as it goes under the
 * open key `{recordDir}/{recordId}.flv` and closed under its final name when the recording finishes; every period is
 * placed on the recording's wall clock, so a splice's gap is a gap in the file's timestamps.
 */

import { periodDurationS, type PeriodIndex, type RecordingIndex, type TrackIndex } from "../manifest/mod.ts";
import {
  FlvWriter,
  type FragmentOutput,
  type SegmentOutput,
  type TrackInfo,
  type TsSegment,
  TsSegmentWriter,
} from "../media/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import { INDEX_NAME, initName, MEDIA_PATTERN, parseInitName, parseSegmentName, segmentName } from "./layout.ts";
import { renderManifests } from "./manifests.ts";
import type { PipelineOutput } from "./pipeline.ts";
import type { TrackKind } from "./source.ts";
import { errorMessage } from "../shared/errors.ts";

export interface FolderOptions {
  files: RecordingFiles;
  clock: Clock;
  log: Logger;
  streamId: string;
  /** Folder of the objects, relative to the store root, without a trailing slash. */
  recordDir: string;
  /** Write the HLS playlists beside the MPD. */
  hls: boolean;
  /**
   * Write MPEG-TS segments too, named by this: the object key of segment `number` of recording `recordId`, starting
   * at wall-clock `startMs`, inside the folder (`${recordDir}/...`).
   */
  tsKey?: (segment: { recordId: string; number: number; startMs: number }) => string;
  /** Write an FLV file per recording too, named by this once it ends at wall-clock `endMs`. */
  flvKey?: (file: { recordId: string; endMs: number }) => string;
  /** Told about every segment once it is closed and indexed. */
  onSegment?: (segment: StoredSegment) => void;
}

/** How a period starts: a fresh pipeline starts at media time 0; a rotation continues a running one. */
export interface PeriodStart {
  recordId: string;
  /** Which period of its recording this is, from 1 (splices add parts). */
  part: number;
  /** Wall-clock time of the period's time 0 when already known (a rotation); otherwise its first media's arrival. */
  startedAtMs?: number;
  /** Media time of the period's time 0 per track (a rotation's cut); absent means 0. */
  offsets?: { video: number; audio: number };
}

/** A segment that is closed, durable and in the index. */
export interface StoredSegment {
  recordId: string;
  track: TrackKind;
  /** Object key, relative to the store root. */
  key: string;
  number: number;
  durationS: number;
  sizeBytes: number;
}

/** What the folder holds of one recording. */
export interface RecordingSummary {
  durationS: number;
  periods: number;
  codecs: string[];
  /** Why a format is missing from some period (see PeriodIndex.ts.refused) or the recording, each reason once. */
  formatProblems: string[];
  /** The FLV file, once it is complete. */
  flvPath: string | undefined;
}

/** The FLV file of one recording, being written. */
interface FlvFile {
  writer: FlvWriter;
  /** The open object, until it is closed under its final name. */
  openKey: string;
  /** The tracks the writer has: those whose init came before the recording's first media output. */
  tracks: ReadonlySet<TrackKind>;
  /** Wall-clock time of the first period's time 0; each period's media is placed on this clock. */
  zeroMs: number;
  /** An append failed: the file keeps its intact beginning and gets nothing more. */
  broken: boolean;
}

/** The open key of the FLV file of `recordId`, which recovery also looks for. */
export function openFlvKey(recordDir: string, recordId: string): string {
  return `${recordDir}/${recordId}.flv`;
}

/** The folder writer; create it, then call `beginPeriod` before writing a period's outputs. */
export class RecordFolder {
  readonly recordDir: string;
  readonly #opts: FolderOptions;
  #index: RecordingIndex;
  /** Segments with a failed append: the rest of their fragments are skipped. */
  readonly #brokenSegments = new Set<string>();
  /** The FLV file of each recording with format "flv"; null for one FLV cannot carry. */
  readonly #flv = new Map<string, FlvFile | null>();
  /** Why a recording has no FLV file. */
  readonly #flvRefusals = new Map<string, string>();
  #queue: Promise<void>;
  /** A manifest write is queued (see #manifestsLater). */
  #manifestsQueued = false;
  /** Segments indexed whose manifests are not written yet: told about once they are. */
  #unreported: StoredSegment[] = [];
  /** The text this folder last wrote to each manifest. */
  readonly #written = new Map<string, string>();
  #storageErrors = 0;
  #lastStorageError: string | undefined;

  constructor(opts: FolderOptions) {
    this.#opts = opts;
    this.recordDir = opts.recordDir;
    this.#index = { version: 1, streamId: opts.streamId, periods: [] };
    this.#queue = this.#loadIndex().then((index) => {
      this.#index = index;
    });
  }

  get storageErrors(): number {
    return this.#storageErrors;
  }

  get lastStorageError(): string | undefined {
    return this.#lastStorageError;
  }

  /** Resolves once every write asked for so far is done (or failed and was logged), and those they queued. */
  async idle(): Promise<void> {
    let queue: Promise<void>;
    do {
      queue = this.#queue;
      await queue;
    } while (queue !== this.#queue);
  }

  /**
   * Adds a period after every other in the index (the ones before it are finished from now on) and answers the
   * handle its outputs are written through. Outputs of an earlier period may still arrive after it (a rotation's
   * last audio segment) and still go to that period.
   */
  beginPeriod(start: PeriodStart): PeriodHandle {
    const handle = new PeriodHandle(start);
    this.#enqueue(() =>
      handle.settle(async () => {
        for (const period of this.#index.periods) period.status = "finished";
        const startedAtMs = start.startedAtMs ?? this.#opts.clock.nowMs();
        handle.period = {
          recordId: start.recordId,
          ...(start.part > 1 ? { part: start.part } : {}),
          startedAt: new Date(startedAtMs).toISOString(),
          status: "recording",
        };
        // Init names are numbered by period; after a deleted recording the count can be below a name in use.
        handle.periodNumber = Math.max(this.#index.periods.length, lastInitNumber(this.#index)) + 1;
        this.#index.periods.push(handle.period);
        if (start.part === 1) {
          await this.#opts.files.markActive({
            recordId: start.recordId,
            streamId: this.#opts.streamId,
            recordDir: this.recordDir,
            startedAt: handle.period.startedAt,
          });
        }
      })
    );
    return handle;
  }

  /** The period's media began now: a live manifest's clock starts with its first keyframe. */
  anchor(handle: PeriodHandle, nowMs: number): void {
    this.#enqueue(() => {
      if (handle.period !== undefined && handle.start.startedAtMs === undefined) {
        handle.period.startedAt = new Date(nowMs).toISOString();
      }
      return Promise.resolve();
    });
  }

  /** Writes one output of a pipeline into the period of `handle`. */
  write(handle: PeriodHandle, output: PipelineOutput): void {
    if (this.#opts.flvKey !== undefined) this.#enqueue(() => this.#onFlv(handle, output));
    if (output.type === "init") {
      handle.tracks[output.track] = output.info;
      this.#enqueue(() => this.#onInit(handle, output));
      return;
    }
    if (output.type === "fragment") this.#enqueue(() => this.#onFragment(handle, output));
    else this.#enqueue(() => this.#onSegment(handle, output));
    const ts = this.#tsWriter(handle);
    // A track whose init came after the period's first media output is not in its MPEG-TS writer.
    if (ts !== null && handle.tsTracks.has(output.track)) this.#writeTs(handle, ts.push([output]));
  }

  /** The period of `handle` gets no more outputs: its last MPEG-TS segment is written with what it has. */
  endPeriod(handle: PeriodHandle): void {
    const writer = handle.ts;
    if (writer === undefined || writer === null) return;
    this.#writeTs(handle, writer.flush());
    handle.ts = null;
    if (writer.stats.droppedSamples > 0 || writer.stats.incompleteSegments > 0) {
      this.#opts.log("warn", "MPEG-TS segments miss samples", { recordDir: this.recordDir, ...writer.stats });
    }
  }

  /** Marks every period of `recordId` finished and writes the manifests (static unless another recording runs). */
  finishRecording(recordId: string): void {
    this.#enqueue(async () => {
      await this.#closeFlv(recordId);
      for (const period of this.#index.periods) if (period.recordId === recordId) period.status = "finished";
      await this.#writeManifests();
      await this.#opts.files.clearActive(recordId);
    });
  }

  /** Duration, period count and codecs of `recordId` in this folder, as indexed so far. */
  summary(recordId: string): RecordingSummary {
    const periods = this.#index.periods.filter((p) => p.recordId === recordId);
    const codecs = new Set<string>();
    for (const p of periods) for (const t of [p.video, p.audio]) if (t !== undefined) codecs.add(t.codecs);
    const flvRefusal = this.#flvRefusals.get(recordId);
    return {
      durationS: periods.reduce((sum, p) => sum + periodDurationS(p), 0),
      periods: periods.length,
      codecs: [...codecs],
      formatProblems: [...new Set([...periods.flatMap((p) => p.ts?.refused ?? []), flvRefusal ?? []].flat())],
      flvPath: periods.find((p) => p.flv !== undefined)?.flv,
    };
  }

  /**
   * The period's MPEG-TS writer, opened at its first media output from the tracks whose init came before; null when
   * the format is off, the tracks cannot go into MPEG-TS (logged and put in the index once) or the period ended.
   */
  #tsWriter(handle: PeriodHandle): TsSegmentWriter | null {
    if (handle.ts !== undefined) return handle.ts;
    handle.ts = null;
    if (this.#opts.tsKey === undefined) return null;
    const { video, audio } = handle.tracks;
    const timescale = (video ?? audio)?.timescale ?? 1;
    try {
      handle.ts = new TsSegmentWriter({ ...(video ? { video } : {}), ...(audio ? { audio } : {}) });
      handle.tsTracks = new Set(Object.keys(handle.tracks) as TrackKind[]);
    } catch (error) {
      const refused = `no MPEG-TS output: ${errorMessage(error)}; liverec does not re-encode`;
      this.#opts.log("warn", "recording has no MPEG-TS output", { recordDir: this.recordDir, reason: refused });
      this.#enqueue(() => {
        if (handle.period !== undefined) handle.period.ts = { timescale, segments: [], refused };
        return Promise.resolve();
      });
      return null;
    }
    const offset = handle.start.offsets?.[video ? "video" : "audio"] ?? 0;
    this.#enqueue(() => {
      if (handle.period !== undefined) {
        handle.period.ts = { timescale, ...(offset > 0 ? { presentationTimeOffset: offset } : {}), segments: [] };
      }
      return Promise.resolve();
    });
    return handle.ts;
  }

  /** Writes one output into its recording's FLV file, opening the file at the recording's first media output. */
  async #onFlv(handle: PeriodHandle, output: PipelineOutput): Promise<void> {
    const period = handle.period;
    const recordId = handle.start.recordId;
    if (period === undefined || output.type === "segment") return;
    let flv = this.#flv.get(recordId);
    if (output.type === "init") {
      if (flv?.tracks.has(output.track)) flv.writer.changeFormat(output.info);
      return;
    }
    if (flv === undefined) {
      flv = this.#openFlv(handle, Date.parse(period.startedAt));
      if (flv !== null) await this.#appendFlv(flv, flv.writer.start());
    }
    if (flv === null || !flv.tracks.has(output.track)) return;
    const { timescale } = handle.tracks[output.track]!;
    const offsetTicks = handle.start.offsets?.[output.track] ?? 0;
    const shiftMs = Date.parse(period.startedAt) - flv.zeroMs - offsetTicks * 1000 / timescale;
    const startTicks = output.startTicks + Math.round(shiftMs * timescale / 1000);
    await this.#appendFlv(flv, flv.writer.push({ ...output, startTicks }));
  }

  #openFlv(handle: PeriodHandle, zeroMs: number): FlvFile | null {
    const recordId = handle.start.recordId;
    const { video, audio } = handle.tracks;
    let flv: FlvFile | null = null;
    try {
      flv = {
        writer: new FlvWriter({ ...(video ? { video } : {}), ...(audio ? { audio } : {}) }),
        openKey: openFlvKey(this.recordDir, recordId),
        tracks: new Set(Object.keys(handle.tracks) as TrackKind[]),
        zeroMs,
        broken: false,
      };
    } catch (error) {
      const reason = `no FLV output: ${errorMessage(error)}; liverec does not re-encode`;
      this.#opts.log("warn", "recording has no FLV output", { recordDir: this.recordDir, recordId, reason });
      this.#flvRefusals.set(recordId, reason);
    }
    this.#flv.set(recordId, flv);
    return flv;
  }

  async #appendFlv(flv: FlvFile, bytes: Uint8Array): Promise<void> {
    if (flv.broken || bytes.length === 0) return;
    const ok = await this.#write(flv.openKey, () => this.#opts.files.appendFragment(flv.openKey, bytes));
    if (!ok) flv.broken = true;
  }

  /** Writes the rest of the FLV file of `recordId` and closes it under its final name, listed in the index. */
  async #closeFlv(recordId: string): Promise<void> {
    const flv = this.#flv.get(recordId);
    const flvKey = this.#opts.flvKey;
    this.#flv.delete(recordId);
    if (flv === undefined || flv === null || flvKey === undefined) return;
    await this.#appendFlv(flv, flv.writer.flush());
    const endMs = flv.zeroMs + (flv.writer.originMs ?? 0) + flv.writer.endMs;
    const key = flvKey({ recordId, endMs });
    if (!(await this.#write(key, () => this.#opts.files.close(flv.openKey, key)))) return;
    const first = this.#index.periods.find((p) => p.recordId === recordId);
    if (first !== undefined) first.flv = key;
    if (flv.writer.stats.droppedSamples > 0) {
      this.#opts.log("warn", "FLV file misses samples", { recordDir: this.recordDir, recordId, ...flv.writer.stats });
    }
  }

  #writeTs(handle: PeriodHandle, segments: TsSegment[]): void {
    for (const segment of segments) this.#enqueue(() => this.#onTsSegment(handle, segment));
  }

  /** Stores a complete MPEG-TS segment, then lists it in the index and ts.m3u8. */
  async #onTsSegment(handle: PeriodHandle, segment: TsSegment): Promise<void> {
    const period = handle.period;
    const tsKey = this.#opts.tsKey;
    if (period?.ts === undefined || tsKey === undefined) return;
    const periodStartMs = Date.parse(period.startedAt) -
      (period.ts.presentationTimeOffset ?? 0) * 1000 / segment.timescale;
    const key = tsKey({
      recordId: handle.start.recordId,
      number: this.#number(handle, segment.number),
      startMs: periodStartMs + segment.startTicks * 1000 / segment.timescale,
    });
    if (!(await this.#write(key, () => this.#opts.files.replace(key, segment.bytes)))) return;
    period.ts.segments.push({
      name: key.slice(this.recordDir.length + 1),
      startTicks: segment.startTicks,
      durationTicks: segment.durationTicks,
    });
    this.#manifestsLater();
  }

  async #onInit(handle: PeriodHandle, output: PipelineOutput & { type: "init" }): Promise<void> {
    const period = handle.period;
    if (period === undefined) return;
    const name = initName(output.track, handle.periodNumber);
    const offset = handle.start.offsets?.[output.track] ?? 0;
    period[output.track] = {
      ...output.details,
      init: name,
      media: MEDIA_PATTERN[output.track],
      startNumber: 0,
      segments: [],
      bandwidthBps: 0,
      ...(offset > 0 ? { presentationTimeOffset: offset } : {}),
    };
    await this.#write(name, () => this.#opts.files.replace(this.#key(name), output.bytes));
    this.#manifestsLater();
  }

  async #onFragment(handle: PeriodHandle, fragment: FragmentOutput): Promise<void> {
    const key = this.#key(segmentName(fragment.track, this.#number(handle, fragment.segmentNumber)));
    // After a failed append the segment keeps only its intact beginning: later fragments would not follow on.
    if (this.#brokenSegments.has(key)) return;
    const ok = await this.#write(key, () => this.#opts.files.appendFragment(key, fragment.bytes));
    if (!ok) this.#brokenSegments.add(key);
  }

  async #onSegment(handle: PeriodHandle, segment: SegmentOutput): Promise<void> {
    const number = this.#number(handle, segment.number);
    const key = this.#key(segmentName(segment.track, number));
    this.#brokenSegments.delete(key);
    await this.#write(key, () => this.#opts.files.close(key));
    const track = handle.period?.[segment.track];
    if (track === undefined) return;
    if (track.segments.length === 0) track.startNumber = number;
    track.segments.push({ startTicks: segment.startTicks, durationTicks: segment.durationTicks });
    const totals = handle.totals[segment.track];
    totals.bytes += segment.sizeBytes;
    totals.ticks += segment.durationTicks;
    track.bandwidthBps = totals.ticks > 0 ? Math.round(totals.bytes * 8 * track.timescale / totals.ticks) : 0;
    this.#manifestsLater();
    this.#unreported.push({
      recordId: handle.start.recordId,
      track: segment.track,
      key,
      number,
      durationS: segment.durationTicks / track.timescale,
      sizeBytes: segment.sizeBytes,
    });
  }

  /**
   * The folder's number for the pipeline's segment `pipelineNumber`: the period's first segment (of either track)
   * takes the folder's next free number and the others follow it, so video and audio keep matching numbers.
   */
  #number(handle: PeriodHandle, pipelineNumber: number): number {
    handle.shift ??= nextNumber(this.#index) - pipelineNumber;
    return pipelineNumber + handle.shift;
  }

  /**
   * Writes the manifests after every write queued so far, so that segments closed together share one write, then
   * tells about the segments they list (`onSegment`: closed, durable and in the index).
   */
  #manifestsLater(): void {
    if (this.#manifestsQueued) return;
    this.#manifestsQueued = true;
    this.#enqueue(async () => {
      this.#manifestsQueued = false;
      await this.#writeManifests();
      const segments = this.#unreported;
      this.#unreported = [];
      for (const segment of segments) this.#opts.onSegment?.(segment);
    });
  }

  /**
   * Replaces the index (renamed first: it is what a restart reads) and the MPD and HLS playlists rendered from it, in
   * one go, skipping those whose text is what this folder last wrote; after a failed write the next one writes them
   * all again.
   */
  async #writeManifests(): Promise<void> {
    const { files, clock, hls } = this.#opts;
    const rendered = renderManifests(this.#index, new Date(clock.nowMs()).toISOString(), { hls });
    const changed = rendered.filter(({ name, text }) => this.#written.get(name) !== text);
    if (changed.length === 0) return;
    for (const { name } of changed) this.#written.delete(name);
    const objects = changed.map(({ name, text }) => ({ key: this.#key(name), bytes: new TextEncoder().encode(text) }));
    const names = changed.map(({ name }) => name).join(", ");
    if (!(await this.#write(names, () => files.replaceAll(objects)))) return;
    for (const { name, text } of changed) this.#written.set(name, text);
  }

  /** Runs one write; a failure is logged and counted, and answered with false. */
  async #write(what: string, write: () => Promise<void>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      this.#storageErrors++;
      this.#lastStorageError = errorMessage(error);
      this.#opts.log("error", "recording write failed", {
        recordDir: this.recordDir,
        what,
        error: this.#lastStorageError,
      });
      return false;
    }
  }

  #key(name: string): string {
    return `${this.recordDir}/${name}`;
  }

  #enqueue(task: () => Promise<unknown>): void {
    this.#queue = this.#queue.then(task).then(() => {}, (error) => {
      this.#opts.log("error", "recording task failed", { recordDir: this.recordDir, error: String(error) });
    });
  }

  /** The folder's index, or a fresh one; an unreadable index is set aside, never overwritten in place. */
  async #loadIndex(): Promise<RecordingIndex> {
    const { files, recordDir, streamId, log, clock } = this.#opts;
    const fresh: RecordingIndex = { version: 1, streamId, periods: [] };
    let bytes: Uint8Array | undefined;
    try {
      bytes = await files.read(this.#key(INDEX_NAME));
      if (bytes === undefined) return fresh;
      const index = parseIndex(bytes);
      for (const period of index.periods) period.status = "finished";
      return index;
    } catch (error) {
      const aside = `${recordDir}/index.unreadable-${clock.nowMs()}.json`;
      log("warn", "recording index unreadable; starting a new one", { recordDir, aside, error: String(error) });
      if (bytes !== undefined) await files.replace(aside, bytes).catch(() => {});
      const placeholder = placeholderPeriod(await files.list(`${recordDir}/`).catch(() => []));
      if (placeholder !== undefined) fresh.periods.push(placeholder);
      return fresh;
    }
  }
}

/** One period of a folder, as its writer sees it; opaque to callers. */
export class PeriodHandle {
  readonly start: PeriodStart;
  period: PeriodIndex | undefined;
  periodNumber = 0;
  /** Folder number minus pipeline number, fixed by the period's first fragment. */
  shift: number | undefined;
  /** The tracks of the period, from its init outputs. */
  readonly tracks: { video?: TrackInfo; audio?: TrackInfo } = {};
  /** Its MPEG-TS writer: undefined until its first media output, null when it has none (or no more). */
  ts: TsSegmentWriter | null | undefined;
  /** The tracks its MPEG-TS writer has. */
  tsTracks: ReadonlySet<TrackKind> = new Set();
  readonly totals = { video: { bytes: 0, ticks: 0 }, audio: { bytes: 0, ticks: 0 } };
  /** Resolves once the period is in the index and its recording is marked in progress; rejects if that failed. */
  readonly begun: Promise<void>;
  readonly #begun = Promise.withResolvers<void>();

  constructor(start: PeriodStart) {
    this.start = start;
    this.begun = this.#begun.promise;
    this.begun.catch(() => {}); // a caller that does not wait for it still sees the failure logged by the folder
  }

  /** Runs the folder's part of beginning the period and settles `begun` with its outcome. */
  async settle(begin: () => Promise<void>): Promise<void> {
    try {
      await begin();
      this.#begun.resolve();
    } catch (error) {
      this.#begun.reject(error);
      throw error;
    }
  }
}

/** A stored recording index. */
export function parseIndex(bytes: Uint8Array): RecordingIndex {
  const index = JSON.parse(new TextDecoder().decode(bytes)) as RecordingIndex;
  if (index.version !== 1 || !Array.isArray(index.periods)) throw new Error("not a version 1 index");
  return index;
}

/** The highest number of an init segment the index names (`init.m4s` is 1, `init_7.m4s` is 7), or 0. */
function lastInitNumber(index: RecordingIndex): number {
  let last = 0;
  for (const period of index.periods) {
    for (const track of [period.video, period.audio]) {
      if (track !== undefined) last = Math.max(last, parseInitName(track.init) ?? 0);
    }
  }
  return last;
}

/** The first segment number after every segment already listed in the index. */
export function nextNumber(index: RecordingIndex): number {
  let next = 1;
  for (const period of index.periods) {
    for (const kind of ["video", "audio"] as TrackKind[]) {
      const track: TrackIndex | undefined = period[kind];
      if (track !== undefined) next = Math.max(next, track.startNumber + track.segments.length);
    }
  }
  return next;
}

/**
 * When the index is lost, an empty stand-in period that reserves the segment numbers and init names already used by
 * objects in the folder (through `nextNumber` and `lastInitNumber`), so a new recording cannot overwrite them.
 */
function placeholderPeriod(keys: string[]): PeriodIndex | undefined {
  let maxNumber = 0;
  let maxInit = 0;
  for (const key of keys) {
    const name = key.slice(key.lastIndexOf("/") + 1);
    maxNumber = Math.max(maxNumber, parseSegmentName(name)?.number ?? 0);
    maxInit = Math.max(maxInit, parseInitName(name) ?? 0);
  }
  if (maxNumber === 0 && maxInit === 0) return undefined;
  return {
    recordId: "lost",
    startedAt: new Date(0).toISOString(),
    status: "finished",
    video: {
      codecs: "",
      timescale: 1,
      init: maxInit === 0 ? "" : initName("video", maxInit),
      media: "",
      startNumber: maxNumber + 1,
      segments: [],
      bandwidthBps: 0,
    },
  };
}
