/**
 * The recording manager: decides which published streams are recorded (the most specific rule, possibly by asking
 * the on-demand callback; or the API, which overrides the rules until it stops the recording), and runs each
 * recording through its life: captures into its record folder, rotation into a new recording when the record
 * period is reached, a splice window in which a publisher that dropped out may come back to the same recording,
 * and the end. It tells an observer (webhooks, the recordings index) about each step.
 */

import {
  type RecordRule,
  relativePathProblem,
  renderTemplate,
  resolveRule,
  type RuleSettings,
  streamNameProblem,
} from "../config/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import { type GridTimer, setAlignedInterval } from "../shared/aligned_timer.ts";
import type { Clock } from "../shared/clock.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { Capture, type CaptureTarget } from "./capture.ts";
import type { StreamHub, UnpublishReason } from "./hub.ts";
import { HLS_MULTIVARIANT_NAME, HLS_TS_NAME, MANIFEST_NAME } from "./layout.ts";
import { askOnDemand, type OnDemandAnswer } from "./on_demand.ts";
import type { PipelineStats } from "./pipeline.ts";
import { RecordFolder, type StoredSegment } from "./record_folder.ts";
import type { LiveSource } from "./source.ts";

/** How often running recordings are checked against their record period (on the grid of the 1 s timers). */
const ROTATION_CHECK_MS = 1_000;
/** A recording logs its progress this often. */
const PROGRESS_LOG_MS = 60_000;

export interface ManagerOptions {
  hub: StreamHub;
  files: RecordingFiles;
  clock: Clock;
  log: Logger;
  /** Explicit rules first, then the auto_streams ones (see resolveRule). */
  rules: readonly RecordRule[];
  /** Settings of a recording no rule matches (started through the API). */
  defaults: RuleSettings;
  nodeAlias: string | undefined;
  observer?: RecordingObserver;
}

/** Told about each step of every recording; called synchronously, must not throw. */
export interface RecordingObserver {
  started?(recording: RecordingView): void;
  segment?(recording: RecordingView, segment: StoredSegment): void;
  /** The publisher left; the recording waits for it until `spliceDeadline`. */
  waiting?(recording: RecordingView): void;
  spliced?(recording: RecordingView): void;
  rotated?(from: RecordingView, to: RecordingView): void;
  finished?(recording: RecordingView): void;
}

export type RecordingState = "recording" | "waiting" | "finished";

/** A recording as the API, the index and webhooks see it. */
export interface RecordingView {
  recordId: string;
  streamId: string;
  recordDir: string;
  mpdPath: string;
  hlsPath: string | undefined;
  /** The MPEG-TS playlist, with format "ts". */
  tsPath: string | undefined;
  /** Why a format asked for is not written, one sentence each (MPEG-TS cannot carry Opus, say). */
  formatProblems: string[];
  /** The FLV file (format "flv"), once the recording has finished and the file has its name. */
  flvPath: string | undefined;
  state: RecordingState;
  startedAt: string;
  endedAt: string | undefined;
  durationS: number;
  periods: number;
  segments: number;
  sizeBytes: number;
  codecs: string[];
  storageErrors: number;
  lastStorageError: string | undefined;
  /** Why it is recorded: "api" or the rule's source ("recorder.rules[0]", "recorder.auto_streams[1]"). */
  reason: string;
  settings: RuleSettings;
  /** When the splice window of a waiting recording closes, ISO 8601. */
  spliceDeadline: string | undefined;
  stats: PipelineStats | undefined;
  /** The video's picture size while the publisher is there. */
  videoSize: { widthPx: number; heightPx: number } | undefined;
}

/** What starting or stopping a recording answers (the seed's fields plus the record's identity). */
export interface RecordingInfo {
  id: string;
  record_id: string;
  record_dir: string;
  mpd_path: string;
  /** The HLS multivariant playlist over the same segments. */
  hls_path: string | undefined;
  node_alias: string | null;
}

/** Whether a stream is live and recorded, and the recording's details when it is. */
export interface RecordingStatus {
  recording: boolean;
  streamLive: boolean;
  session: RecordingView | undefined;
}

/** One recording: a record id in a folder, and the capture feeding it while the publisher is there. */
class Recording {
  readonly recordId: string;
  readonly streamId: string;
  readonly folder: RecordFolder;
  readonly settings: RuleSettings;
  readonly reason: string;
  /** The folder was given (an API `base_dir`), not rendered from the template: rotation stays in it. */
  readonly fixedFolder: boolean;
  startedAtMs: number;
  endedAtMs: number | undefined;
  state: RecordingState = "recording";
  part = 1;
  capture: Capture | undefined;
  spliceTimer: ReturnType<typeof setTimeout> | undefined;
  spliceDeadlineMs: number | undefined;
  /** The stop of the capture the publisher dropped out of: its last segments count once it resolves. */
  interrupted: Promise<void> | undefined;
  segments = 0;
  sizeBytes = 0;
  /** When it last logged its progress (or started). */
  progressLoggedAtMs: number;
  /** Media seconds of the parts before the current capture (a spliced recording), toward the record period. */
  earlierPartsS = 0;
  /** Set once the recording is being ended (stopped, or rotated away from); resolves when it is finished. */
  ending: Promise<void> | undefined;

  constructor(init: {
    recordId: string;
    streamId: string;
    folder: RecordFolder;
    settings: RuleSettings;
    reason: string;
    fixedFolder: boolean;
    startedAtMs: number;
  }) {
    this.recordId = init.recordId;
    this.streamId = init.streamId;
    this.folder = init.folder;
    this.settings = init.settings;
    this.reason = init.reason;
    this.fixedFolder = init.fixedFolder;
    this.startedAtMs = init.startedAtMs;
    this.progressLoggedAtMs = init.startedAtMs;
  }

  view(): RecordingView {
    const summary = this.folder.summary(this.recordId);
    const hls = this.settings.formats.includes("hls");
    return {
      recordId: this.recordId,
      streamId: this.streamId,
      recordDir: this.folder.recordDir,
      mpdPath: `${this.folder.recordDir}/${MANIFEST_NAME}`,
      hlsPath: hls ? `${this.folder.recordDir}/${HLS_MULTIVARIANT_NAME}` : undefined,
      tsPath: this.settings.formats.includes("ts") ? `${this.folder.recordDir}/${HLS_TS_NAME}` : undefined,
      formatProblems: summary.formatProblems,
      flvPath: summary.flvPath,
      state: this.state,
      startedAt: new Date(this.startedAtMs).toISOString(),
      endedAt: this.endedAtMs === undefined ? undefined : new Date(this.endedAtMs).toISOString(),
      durationS: summary.durationS,
      periods: summary.periods,
      segments: this.segments,
      sizeBytes: this.sizeBytes,
      codecs: summary.codecs,
      storageErrors: this.folder.storageErrors,
      lastStorageError: this.folder.lastStorageError,
      reason: this.reason,
      settings: this.settings,
      spliceDeadline: this.spliceDeadlineMs === undefined ? undefined : new Date(this.spliceDeadlineMs).toISOString(),
      stats: this.capture?.stats,
      videoSize: this.capture?.videoSize,
    };
  }
}

/** Recordings by stream name; at most one per stream. */
export class RecordingManager {
  readonly #opts: ManagerOptions;
  readonly #recordings = new Map<string, Recording>();
  /** Starts in progress (an on-demand question), so that stop and shutdown can wait for them. */
  readonly #starting = new Map<string, Promise<unknown>>();
  /**
   * Every recording until it is finished, by record id: a folder reports segments by record id, also those of a
   * recording that rotation already replaced in `#recordings`.
   */
  readonly #byRecordId = new Map<string, Recording>();
  /** Runs `#look` while there are recordings: an idle service does not wake up for it. */
  #rotationTimer: GridTimer | undefined;
  #segmentsWritten = 0;
  /** Why new recordings are refused (storage full, see retention), or undefined while they are not. */
  #refusing: string | undefined;
  /** Ends in progress (rotations included), until their folder has written everything. */
  readonly #ending = new Set<Promise<void>>();

  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    opts.hub.listen({
      published: (source) => this.#onPublished(source),
      unpublished: (source, reason) => this.#onUnpublished(source, reason),
    });
  }

  /**
   * Starts recording a live stream through the API, whatever the rules say; `baseDir` is its folder. A stream already
   * recorded keeps its recording (and folder), which is answered.
   */
  async start(streamId: string, request: { baseDir?: string } = {}): Promise<RecordingInfo> {
    const problem = streamNameProblem(streamId);
    if (problem !== undefined) throw new BadRequestError(problem);
    if (request.baseDir !== undefined) {
      const dirProblem = relativePathProblem(request.baseDir);
      if (dirProblem !== undefined) throw new BadRequestError(`base_dir: ${dirProblem}`);
    }
    const source = this.#opts.hub.get(streamId);
    if (source === undefined) throw new NotFoundError(`stream "${streamId}" is not being published`);
    await this.#starting.get(streamId)?.catch(() => {});
    // As live777 does (Liveman counts on it): a start of a stream already recorded answers the recording running.
    const running = this.#recordings.get(streamId);
    if (running !== undefined) return this.#info(running);
    if (this.#refusing !== undefined) throw new ConflictError(`new recordings are refused: ${this.#refusing}`);
    const rule = resolveRule(this.#opts.rules, streamId);
    const settings = rule?.settings ?? this.#opts.defaults;
    return this.#info(await this.#begin(source, settings, "api", request.baseDir));
  }

  /** The stream's recording status; `recording: false` when none runs or waits. */
  status(streamId: string): RecordingStatus {
    const streamLive = this.#opts.hub.get(streamId) !== undefined;
    const recording = this.#recordings.get(streamId);
    return { recording: recording !== undefined, streamLive, session: recording?.view() };
  }

  /**
   * Refuses new recordings (neither the rules nor the API start any) while `reason` is set; running ones go on.
   * Undefined lets them start again.
   */
  refuseNew(reason: string | undefined): void {
    this.#refusing = reason;
  }

  /** Why new recordings are refused, if they are. */
  get refusing(): string | undefined {
    return this.#refusing;
  }

  /** Media segments stored since the service started, of every recording. */
  get segmentsWritten(): number {
    return this.#segmentsWritten;
  }

  /** Every recording running or waiting in its splice window. */
  list(): RecordingView[] {
    return [...this.#recordings.values()].map((recording) => recording.view());
  }

  /** Stops and finalizes the stream's recording (also one waiting for its publisher); NotFoundError when none. */
  async stop(streamId: string): Promise<RecordingInfo> {
    await this.#starting.get(streamId)?.catch(() => {});
    const recording = this.#recordings.get(streamId);
    if (recording === undefined) throw new NotFoundError(`stream "${streamId}" is not being recorded`);
    await this.#opts.hub.get(streamId)?.flush();
    await this.#end(recording);
    return this.#info(recording);
  }

  /** Finalizes every recording; used on SIGINT/SIGTERM. */
  async shutdown(): Promise<void> {
    this.#rotationTimer?.clear();
    this.#rotationTimer = undefined;
    await Promise.allSettled([...this.#starting.values()]);
    await Promise.allSettled([...this.#recordings.keys()].map((streamId) => this.#opts.hub.get(streamId)?.flush()));
    await Promise.allSettled([...this.#recordings.values()].map((recording) => this.#end(recording)));
    await Promise.allSettled([...this.#ending]);
  }

  /**
   * Starts a recording of `source` and waits until it is set up in its folder. It claims the stream at once; if
   * storage refuses the folder, the recording is dropped and the error thrown.
   */
  async #begin(source: LiveSource, settings: RuleSettings, reason: string, baseDir?: string): Promise<Recording> {
    const nowMs = this.#opts.clock.nowMs();
    const recordId = newRecordId(nowMs);
    const recordDir = baseDir ?? this.#folderPath(settings, source.streamId, recordId, nowMs);
    for (const other of this.#recordings.values()) {
      if (other.folder.recordDir === recordDir) {
        throw new ConflictError(`folder "${recordDir}" is in use by another recording`);
      }
    }
    const recording = new Recording({
      recordId,
      streamId: source.streamId,
      folder: this.#folder(source.streamId, recordDir, settings),
      settings,
      reason,
      fixedFolder: baseDir !== undefined,
      startedAtMs: nowMs,
    });
    this.#recordings.set(source.streamId, recording);
    this.#rotationTimer ??= setAlignedInterval(() => this.#look(), ROTATION_CHECK_MS);
    this.#byRecordId.set(recordId, recording);
    this.#capture(recording, source);
    try {
      await recording.capture?.begun;
    } catch (error) {
      await recording.capture?.stop();
      recording.capture = undefined;
      this.#markFinished(recording);
      throw error;
    }
    const view = recording.view();
    this.#opts.log("info", "recording started", {
      stream: view.streamId,
      recordId: view.recordId,
      mpd: view.mpdPath,
      reason: view.reason,
    });
    this.#opts.observer?.started?.(view);
    return recording;
  }

  /** Marks `recording` finished and forgets it. */
  #markFinished(recording: Recording): void {
    recording.state = "finished";
    this.#byRecordId.delete(recording.recordId);
    if (this.#recordings.get(recording.streamId) === recording) this.#recordings.delete(recording.streamId);
    if (this.#recordings.size === 0) {
      this.#rotationTimer?.clear();
      this.#rotationTimer = undefined;
    }
  }

  #capture(recording: Recording, source: LiveSource): void {
    recording.capture = new Capture({
      source,
      clock: this.#opts.clock,
      segmentDurationMs: recording.settings.segmentDurationS * 1000,
      target: { folder: recording.folder, recordId: recording.recordId },
      part: recording.part,
      // The capture outlives a rotation: a format change begins a period of the stream's current recording.
      nextPart: () => ++(this.#recordings.get(source.streamId) ?? recording).part,
    });
    recording.capture.start();
  }

  /** A folder writer whose segments are counted towards the recording they belong to. */
  #folder(streamId: string, recordDir: string, settings: RuleSettings): RecordFolder {
    const folder: RecordFolder = new RecordFolder({
      files: this.#opts.files,
      clock: this.#opts.clock,
      log: this.#opts.log,
      streamId,
      recordDir,
      hls: settings.formats.includes("hls"),
      ...(settings.formats.includes("ts")
        ? {
          tsKey: ({ recordId, number, startMs }) =>
            renderTemplate(settings.tsTemplate, {
              stream: streamId,
              recordId,
              startMs: this.#byRecordId.get(recordId)?.startedAtMs ?? startMs,
              recordDir,
              segment: { number, startMs },
            }),
        }
        : {}),
      ...(settings.formats.includes("flv")
        ? {
          flvKey: ({ recordId, endMs }) =>
            renderTemplate(settings.flvTemplate, {
              stream: streamId,
              recordId,
              startMs: this.#byRecordId.get(recordId)?.startedAtMs ?? endMs,
              endMs,
              recordDir,
            }),
        }
        : {}),
      onSegment: (segment) => {
        const recording = this.#byRecordId.get(segment.recordId);
        if (recording === undefined) return;
        recording.segments++;
        recording.sizeBytes += segment.sizeBytes;
        this.#segmentsWritten++;
        this.#opts.observer?.segment?.(recording.view(), segment);
      },
    });
    return folder;
  }

  #folderPath(settings: RuleSettings, streamId: string, recordId: string, startMs: number): string {
    const folder = renderTemplate(settings.pathTemplate, { stream: streamId, recordId, startMs });
    return settings.prefix === undefined ? folder : `${settings.prefix}/${folder}`;
  }

  #onPublished(source: LiveSource): void {
    const streamId = source.streamId;
    const waiting = this.#recordings.get(streamId);
    if (waiting !== undefined && waiting.state === "waiting" && waiting.ending === undefined) {
      this.#splice(waiting, source);
      return;
    }
    if (waiting !== undefined) return;
    const rule = resolveRule(this.#opts.rules, streamId);
    if (rule === undefined || rule.mode === "never") return;
    if (this.#refusing !== undefined) {
      this.#opts.log("warn", "recording refused", { stream: streamId, reason: this.#refusing });
      return;
    }
    const decided = rule.mode === "on_demand" ? this.#ask(rule, source) : Promise.resolve(rule.settings);
    const starting = decided.then((settings) => {
      if (settings === undefined || this.#opts.hub.get(streamId) !== source || this.#recordings.has(streamId)) return;
      return this.#begin(source, settings, rule.source);
    }).catch((error) => {
      this.#opts.log("error", "recording did not start", { stream: streamId, error: String(error) });
    }).finally(() => {
      if (this.#starting.get(streamId) === starting) this.#starting.delete(streamId);
    });
    this.#starting.set(streamId, starting);
  }

  /** The settings to record with, or undefined when the on-demand callback (or its fallback) says no. */
  async #ask(rule: RecordRule, source: LiveSource): Promise<RuleSettings | undefined> {
    const answer: OnDemandAnswer = await askOnDemand(rule.onDemand!, {
      stream: source.streamId,
      nodeAlias: this.#opts.nodeAlias,
      publishedAt: new Date(source.publishedAtMs).toISOString(),
    });
    this.#opts.log("info", "on-demand recording decided", {
      stream: source.streamId,
      record: answer.record,
      reason: answer.reason,
    });
    if (!answer.record) return undefined;
    return { ...rule.settings, ...answer.overrides };
  }

  #onUnpublished(source: LiveSource, reason: UnpublishReason): void {
    const recording = this.#recordings.get(source.streamId);
    const capture = recording?.capture;
    if (recording === undefined || capture === undefined || recording.ending !== undefined) return;
    const final = reason === "ended" && !recording.settings.spliceOnUnpublish;
    if (final || recording.settings.spliceWindowS === 0) {
      this.#end(recording).catch((error) => {
        this.#opts.log("error", "recording did not stop cleanly", { stream: source.streamId, error: String(error) });
      });
      return;
    }
    // The publisher dropped out, or ended and may come back (splice_on_unpublish): keep the recording open for the
    // splice window.
    recording.state = "waiting";
    recording.capture = undefined;
    recording.earlierPartsS += capture.recordedS;
    const windowMs = recording.settings.spliceWindowS * 1000;
    recording.spliceDeadlineMs = this.#opts.clock.nowMs() + windowMs;
    recording.spliceTimer = setTimeout(() => {
      this.#opts.log("info", "splice window closed", { stream: recording.streamId, recordId: recording.recordId });
      void this.#end(recording);
    }, windowMs);
    recording.interrupted = capture.stop().then(() => {
      this.#opts.log("info", "recording waits for its publisher", {
        stream: recording.streamId,
        recordId: recording.recordId,
        until: recording.view().spliceDeadline,
      });
      this.#opts.observer?.waiting?.(recording.view());
    });
  }

  /** The publisher came back within the window: the same recording goes on in a new period. */
  #splice(recording: Recording, source: LiveSource): void {
    clearTimeout(recording.spliceTimer);
    recording.spliceTimer = undefined;
    recording.spliceDeadlineMs = undefined;
    recording.state = "recording";
    recording.part++;
    this.#capture(recording, source);
    // Reported once the new period is in the folder's index and the last segments of the one before are counted (a
    // segment closed by that stop is counted after the new period begins), so that the view counts both.
    const report = () => {
      this.#opts.log("info", "recording spliced", {
        stream: recording.streamId,
        recordId: recording.recordId,
        part: recording.part,
      });
      this.#opts.observer?.spliced?.(recording.view());
    };
    void Promise.allSettled([recording.interrupted, recording.capture!.begun]).then(report);
  }

  /**
   * Stops the capture (if any) and finalizes; later calls wait for the same end. The state turns "finished" only
   * once the last segments and the final manifests are stored, so nothing reported before says "finished".
   */
  #end(recording: Recording): Promise<void> {
    if (recording.ending !== undefined) return recording.ending;
    const capture = recording.capture;
    recording.capture = undefined;
    clearTimeout(recording.spliceTimer);
    recording.spliceDeadlineMs = undefined;
    const ended = (async () => {
      await capture?.stop();
      recording.endedAtMs = this.#opts.clock.nowMs();
      recording.folder.finishRecording(recording.recordId);
      await recording.folder.idle();
      this.#markFinished(recording);
      const view = recording.view();
      const stats = capture?.stats;
      this.#opts.log("info", "recording finished", {
        stream: recording.streamId,
        recordId: recording.recordId,
        seconds: view.durationS,
        // Of the last publish (a spliced recording has one per publish).
        ...(stats !== undefined
          ? {
            videoFrames: stats.videoFrames,
            audioFrames: stats.audioFrames,
            lostPackets: stats.lostPackets,
            droppedFrames: stats.droppedFrames + stats.droppedAccessUnits,
          }
          : {}),
      });
      this.#opts.observer?.finished?.(view);
    })();
    return this.#trackEnding(recording, ended);
  }

  /** Remembers `recording`'s end in progress, so that later ends and the shutdown wait for it. */
  #trackEnding(recording: Recording, ended: Promise<void>): Promise<void> {
    recording.ending = ended;
    this.#ending.add(ended);
    return ended.finally(() => this.#ending.delete(ended));
  }

  /** Once a second: rotates the recordings that reached their record period, and logs progress once a minute. */
  #look(): void {
    const nowMs = this.#opts.clock.nowMs();
    for (const recording of this.#recordings.values()) {
      const capture = recording.capture;
      if (capture === undefined || capture.rotating || recording.ending !== undefined) continue;
      if (nowMs - recording.progressLoggedAtMs >= PROGRESS_LOG_MS) {
        recording.progressLoggedAtMs = nowMs;
        const { stats } = capture;
        this.#opts.log("info", "recording progress", {
          stream: recording.streamId,
          recordId: recording.recordId,
          seconds: recording.earlierPartsS + capture.recordedS,
          segments: recording.segments,
          bytes: recording.sizeBytes,
          lostPackets: stats.lostPackets,
          droppedFrames: stats.droppedFrames + stats.droppedAccessUnits,
        });
      }
      if (recording.earlierPartsS + capture.recordedS < recording.settings.recordPeriodS) continue;
      this.#rotate(recording, capture);
    }
  }

  /** Ends `recording` at the next keyframe and continues the same capture into a new recording. */
  #rotate(recording: Recording, capture: Capture): void {
    const nowMs = this.#opts.clock.nowMs();
    const recordId = newRecordId(nowMs);
    const recordDir = recording.fixedFolder
      ? recording.folder.recordDir
      : this.#folderPath(recording.settings, recording.streamId, recordId, nowMs);
    const folder = recordDir === recording.folder.recordDir
      ? recording.folder
      : this.#folder(recording.streamId, recordDir, recording.settings);
    const next = new Recording({
      recordId,
      streamId: recording.streamId,
      folder,
      settings: recording.settings,
      reason: recording.reason,
      fixedFolder: recording.fixedFolder,
      startedAtMs: nowMs,
    });
    const target: CaptureTarget = { folder, recordId };
    const rotated = capture.rotate(target);
    if (rotated === undefined) return;
    // From now on segments after the cut count towards the new recording.
    this.#recordings.set(recording.streamId, next);
    this.#byRecordId.set(recordId, next);
    next.capture = capture;
    const ended = rotated.then(async ({ cutMs }) => {
      next.startedAtMs = cutMs;
      recording.capture = undefined;
      recording.endedAtMs = cutMs;
      recording.folder.finishRecording(recording.recordId);
      await recording.folder.idle();
      this.#markFinished(recording);
      const [from, to] = [recording.view(), next.view()];
      this.#opts.log("info", "recording rotated", {
        stream: recording.streamId,
        from: from.recordId,
        to: to.recordId,
        seconds: from.durationS,
      });
      this.#opts.observer?.finished?.(from);
      this.#opts.observer?.rotated?.(from, to);
      this.#opts.observer?.started?.(to);
    });
    void this.#trackEnding(recording, ended);
  }

  #info(recording: Recording): RecordingInfo {
    const view = recording.view();
    return {
      id: recording.streamId,
      record_id: view.recordId,
      record_dir: view.recordDir,
      mpd_path: view.mpdPath,
      hls_path: view.hlsPath,
      node_alias: this.#opts.nodeAlias ?? null,
    };
  }
}

/** A record id: the start time plus a random suffix, e.g. `20261121T100503Z-0a1b2c3d`. */
function newRecordId(nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${crypto.randomUUID().slice(0, 8)}`;
}
