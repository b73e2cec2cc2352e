/**
 * One publish being recorded: feeds the source's packets (or frames) through a RecordingPipeline (or FramePipeline)
 * and writes what comes out into a period of a record folder. It asks for keyframes while the pipeline waits for one, and it can rotate: at
 * the next keyframe the open segment ends and every later segment goes to a new recording's period, so the two
 * recordings meet without a gap and without a frame in both. The media timeline runs on across a rotation; the new
 * period's presentation time offset makes its first frame time 0. A keyframe in a new format (the publisher changed
 * its resolution, say) is cut the same way, into the next period of the same recording with its own init segment.
 */

import type { Clock } from "../shared/clock.ts";
import { FramePipeline } from "./frame_pipeline.ts";
import {
  type PipelineOutput,
  type PipelineStats,
  RecordingPipeline,
  SYNC_WAIT_MS,
  VIDEO_TIMESCALE,
} from "./pipeline.ts";
import type { PeriodHandle, RecordFolder } from "./record_folder.ts";
import type { LiveSource, TrackKind } from "./source.ts";

/** Keyframe requests back off from the first to the last interval while the pipeline keeps waiting. */
const PLI_FIRST_INTERVAL_MS = 250;
const PLI_MAX_INTERVAL_MS = 2_000;
/**
 * A sender clock further than this from ours is not trusted to date a recording; the recording's first frame may also
 * have waited up to SYNC_WAIT_MS for sender reports.
 */
const MAX_CLOCK_SKEW_MS = SYNC_WAIT_MS + 5_000;

/** Where a capture writes: a recording's period in a folder. */
export interface CaptureTarget {
  folder: RecordFolder;
  recordId: string;
}

export interface CaptureOptions {
  source: LiveSource;
  clock: Clock;
  segmentDurationMs: number;
  target: CaptureTarget;
  /** The period's number within its recording (a splice continues a recording in its next part). */
  part: number;
  /** Claims the recording's next part number, for a period that a format change starts. */
  nextPart: () => number;
}

/** A rotation asked for and not yet complete: into another recording, or into the next period of this one. */
interface Rotation {
  next: CaptureTarget;
  /** The part of the period the rotation begins: 1 in another recording, the next one in the same recording. */
  part: number;
  /** The segment that ends the old recording, of the track that decides the cut. */
  last: { track: TrackKind; number: number };
  /** The track whose first output after the cut completes the rotation: audio follows video's cut, if there is audio. */
  follower: TrackKind;
  /** Media time of the cut in video ticks, once the deciding track's last segment closed. */
  cutTicks: number | undefined;
  handle: PeriodHandle | undefined;
  done: (result: { cutMs: number }) => void;
}

/** A running capture; `start()` it, then `stop()` it once. */
export class Capture {
  readonly #opts: CaptureOptions;
  readonly #pipeline: RecordingPipeline | FramePipeline;
  #target: CaptureTarget;
  #handle: PeriodHandle;
  /** Wall-clock time and video media time of the current period's time 0. */
  #origin: { ms: number; ticks: number } | undefined;
  /** Latest media time written, in video ticks. */
  #endTicks = 0;
  /** The latest init segment of each track: what a period begun by a rotation starts with. */
  readonly #inits = new Map<TrackKind, PipelineOutput & { type: "init" }>();
  #rotation: Rotation | undefined;
  #stopListening: (() => void) | undefined;
  #stopped: Promise<void> | undefined;
  #nextPliAtMs = 0;
  #pliIntervalMs = PLI_FIRST_INTERVAL_MS;
  /** Resolves once the first period is set up in its folder (index loaded, marked in progress); rejects if not. */
  readonly begun: Promise<void>;

  constructor(opts: CaptureOptions) {
    this.#opts = opts;
    this.#target = opts.target;
    const media = opts.source.media;
    const common = { segmentDurationMs: opts.segmentDurationMs, firstNumber: 1 };
    this.#pipeline = media.type === "rtp"
      ? new RecordingPipeline({ tracks: media.tracks, ...common })
      : new FramePipeline({ tracks: media.tracks, ...common });
    this.#handle = opts.target.folder.beginPeriod({ recordId: opts.target.recordId, part: opts.part });
    this.begun = this.#handle.begun;
  }

  /** Seconds of media written to the current recording's period. */
  get recordedS(): number {
    return this.#origin === undefined ? 0 : (this.#endTicks - this.#origin.ticks) / VIDEO_TIMESCALE;
  }

  get stats(): PipelineStats {
    return this.#pipeline.stats;
  }

  /** The video's picture size as its latest init segment says, once there is one. */
  get videoSize(): { widthPx: number; heightPx: number } | undefined {
    const { widthPx, heightPx } = this.#inits.get("video")?.details ?? {};
    return widthPx === undefined || heightPx === undefined ? undefined : { widthPx, heightPx };
  }

  /** True from `rotate()` until the rotation is complete. */
  get rotating(): boolean {
    return this.#rotation !== undefined;
  }

  start(): void {
    this.#route(this.#pipeline.start());
    this.#stopListening = this.#opts.source.addListener({
      rtp: (kind, packet, arrivalMs) => {
        if (this.#pipeline instanceof RecordingPipeline) this.#route(this.#pipeline.pushRtp(kind, packet, arrivalMs));
      },
      senderReport: (kind, report) => {
        if (this.#pipeline instanceof RecordingPipeline) this.#pipeline.pushSenderReport(kind, report);
      },
      frame: (kind, frame, arrivalMs) => {
        if (this.#pipeline instanceof FramePipeline) this.#route(this.#pipeline.pushFrame(kind, frame, arrivalMs));
      },
    });
    this.#askForKeyframe();
  }

  /**
   * Ends the current recording at the next keyframe and continues into `next`; resolves with the wall-clock time
   * of the cut once the old recording has its last segment. Undefined when nothing was recorded yet (no cut to
   * make) or a rotation is already under way.
   */
  rotate(next: CaptureTarget): Promise<{ cutMs: number }> | undefined {
    if (this.#rotation !== undefined || this.#stopped !== undefined) return undefined;
    const last = this.#pipeline.cutAtNextKeyframe();
    if (last === undefined) return undefined;
    return new Promise((done) => {
      this.#beginRotation(next, 1, last, done);
      this.#askForKeyframe();
    });
  }

  /** Stops listening and writes the tail; resolves when the folders have written everything. */
  stop(): Promise<void> {
    if (this.#stopped !== undefined) return this.#stopped;
    this.#stopListening?.();
    this.#route(this.#pipeline.flush());
    // Both folders of a rotation under way: completing it moves the target to the next one.
    const folders = [this.#target.folder];
    const rotation = this.#rotation;
    if (rotation !== undefined) {
      folders.push(rotation.next.folder);
      this.#completeRotation(rotation);
    }
    this.#target.folder.endPeriod(this.#handle);
    this.#stopped = Promise.all(folders.map((folder) => folder.idle())).then(() => {});
    return this.#stopped;
  }

  #route(outputs: PipelineOutput[]): void {
    if (this.#origin === undefined && this.#pipeline.started) {
      this.#origin = { ms: this.#wallClockZero(), ticks: 0 };
      this.#target.folder.anchor(this.#handle, this.#origin.ms);
    }
    for (const output of outputs) {
      if (output.type === "init") {
        this.#inits.set(output.track, output);
        if (output.after !== undefined) {
          this.#formatChanged(output.after);
          continue;
        }
      } else {
        this.#endTicks = Math.max(this.#endTicks, this.#endInVideoTicks(output));
      }
      const rotation = this.#rotation;
      if (rotation === undefined || !this.#isAfterCut(rotation, output)) {
        this.#target.folder.write(this.#handle, output);
        continue;
      }
      rotation.handle ??= this.#beginNext(rotation);
      rotation.next.folder.write(rotation.handle, output);
      if (output.track === rotation.follower) this.#completeRotation(rotation);
    }
    if (this.#stopped === undefined) this.#askForKeyframe();
  }

  /**
   * The stream's format changed after segment `last.number`: the next period of this recording begins at the cut,
   * with the new init segment. During a rotation the new init goes to the period that rotation begins.
   */
  #formatChanged(last: { track: TrackKind; number: number }): void {
    const rotation = this.#rotation;
    if (rotation !== undefined) {
      if (rotation.handle !== undefined) rotation.next.folder.write(rotation.handle, this.#inits.get(last.track)!);
      return;
    }
    this.#beginRotation(this.#target, this.#opts.nextPart(), last, () => {});
  }

  /** Cuts after segment `last.number` of its track into period `part` of `next` (audio follows video's cut). */
  #beginRotation(
    next: CaptureTarget,
    part: number,
    last: { track: TrackKind; number: number },
    done: Rotation["done"],
  ): void {
    const hasAudio = this.#opts.source.media.tracks.some((track) => track.kind === "audio");
    const follower = last.track === "video" && hasAudio ? "audio" : last.track;
    this.#rotation = { next, part, last, follower, cutTicks: undefined, handle: undefined, done };
  }

  /** Whether `output` belongs to the recording after the cut; the deciding track's last segment fixes the cut. */
  #isAfterCut(rotation: Rotation, output: PipelineOutput): boolean {
    if (output.type === "init") return false;
    const number = output.type === "fragment" ? output.segmentNumber : output.number;
    if (output.track === rotation.last.track) {
      if (output.type === "segment" && number === rotation.last.number) {
        rotation.cutTicks = this.#endInVideoTicks(output);
      }
      return number > rotation.last.number;
    }
    // Audio of a stream with video: before the cut while its media time is.
    return rotation.cutTicks !== undefined &&
      output.startTicks * VIDEO_TIMESCALE >= rotation.cutTicks * this.#pipeline.audioTimescale;
  }

  #beginNext(rotation: Rotation): PeriodHandle {
    const cutTicks = rotation.cutTicks ?? this.#endTicks;
    const handle = rotation.next.folder.beginPeriod({
      recordId: rotation.next.recordId,
      part: rotation.part,
      startedAtMs: this.#wallClockAt(cutTicks),
      offsets: { video: cutTicks, audio: Math.floor(cutTicks * this.#pipeline.audioTimescale / VIDEO_TIMESCALE) },
    });
    for (const init of this.#inits.values()) rotation.next.folder.write(handle, init);
    return handle;
  }

  #completeRotation(rotation: Rotation): void {
    if (this.#rotation !== rotation) return;
    this.#rotation = undefined;
    const cutTicks = rotation.cutTicks ?? this.#endTicks;
    const cutMs = this.#wallClockAt(cutTicks);
    if (rotation.handle !== undefined) {
      this.#target.folder.endPeriod(this.#handle);
      this.#target = rotation.next;
      this.#handle = rotation.handle;
      // A new recording counts its media from the cut; a new period of the same recording goes on counting.
      if (rotation.part === 1) this.#origin = { ms: cutMs, ticks: cutTicks };
    }
    rotation.done({ cutMs });
  }

  /** Wall-clock time (Unix ms) of video media time `ticks`, on the current period's clock. */
  #wallClockAt(ticks: number): number {
    const origin = this.#origin ?? { ms: this.#opts.clock.nowMs(), ticks: 0 };
    return Math.round(origin.ms + (ticks - origin.ticks) * 1000 / VIDEO_TIMESCALE);
  }

  /**
   * Wall-clock time of the first frame: the pipeline's estimate (from the least-delayed packet, or the sender's
   * reports) rather than now, which lags behind on a busy machine. Now when the estimate lies in the future (a live
   * manifest must not promise segments early) or further back than `MAX_CLOCK_SKEW_MS` (a sender clock gone wrong).
   */
  #wallClockZero(): number {
    const now = this.#opts.clock.nowMs();
    const estimate = this.#pipeline.zeroMs;
    if (estimate === undefined || estimate > now || now - estimate > MAX_CLOCK_SKEW_MS) return now;
    return Math.round(estimate);
  }

  /** Where a fragment or segment ends, in video ticks. */
  #endInVideoTicks(output: PipelineOutput & { type: "fragment" | "segment" }): number {
    const timescale = output.track === "video" ? VIDEO_TIMESCALE : this.#pipeline.audioTimescale;
    return Math.round((output.startTicks + output.durationTicks) * VIDEO_TIMESCALE / timescale);
  }

  #askForKeyframe(): void {
    if (!this.#pipeline.keyframeWanted) {
      this.#pliIntervalMs = PLI_FIRST_INTERVAL_MS;
      return;
    }
    const now = this.#opts.clock.nowMs();
    if (now < this.#nextPliAtMs) return;
    this.#opts.source.requestKeyframe();
    this.#nextPliAtMs = now + this.#pliIntervalMs;
    this.#pliIntervalMs = Math.min(this.#pliIntervalMs * 2, PLI_MAX_INTERVAL_MS);
  }
}
