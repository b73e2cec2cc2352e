/**
 * The pure recording pipeline of one recording: RTP packets of every track in, init segments and media segments
 * out. It restores packet order, depacketizes, maps each track's RTP clock onto one recording timeline (from RTCP
 * sender reports when every track has one within `SYNC_WAIT_MS` of the first keyframe, from arrival times until they
 * come otherwise) and cuts segments. It does no I/O and
 * reads no clock: arrival times come in as data.
 */

import type { AudioCodec, Depacketizer, Frame, VideoCodec, VideoFormat } from "../codec/mod.ts";
import { Segmenter } from "../media/mod.ts";
import { ReorderBuffer, type ReorderOutput, type RtpPacket, TimestampUnwrapper } from "../rtp/mod.ts";
import type { SenderReport, SourceTrack, TrackKind } from "./source.ts";
import {
  AUDIO_TRACK_ID,
  audioInit,
  FRAGMENT_DURATION_MS,
  noCounts,
  type PipelineOutput,
  type PipelineStats,
  sameFormat,
  VIDEO_TRACK_ID,
  videoInit,
} from "./track_outputs.ts";

export { type PipelineOutput, type PipelineStats, type TrackDetails, VIDEO_TIMESCALE } from "./track_outputs.ts";

/**
 * How long the reorder buffer waits for a missing packet before declaring it lost, in media time. A retransmission
 * comes within 5 ms of the NACK as a rule, but a busy event loop delays the NACK itself: on a loaded 2-core box a
 * recovery took 470 ms. A recorder can wait; the 512-packet cap bounds the memory.
 */
const REORDER_DELAY_MS = 1000;
/**
 * How long the first frames of a recording with audio and video are held back, waiting for every track's first RTCP
 * sender report. Arrival times put audio early by the sender's extra video latency (encoding, pacing: about 100 ms
 * in Chromium), and browsers send their first reports only after the media: audio about 2 s in.
 */
export const SYNC_WAIT_MS = 3000;
/** How long the start waits when no track sent a report at all: a publisher that sends none is not kept waiting. */
export const NO_REPORT_WAIT_MS = 1000;
/** A later correction of audio against video smaller than this is not made: it is within the arrival jitter. */
const RESYNC_MIN_MS = 10;
/** How far the sender clocks of the tracks' reports (each less its arrival) may differ and still be one clock. */
const REPORT_CLOCK_TOLERANCE_MS = 50;
/** NTP times this close after a whole second in every track's report are taken for a sender that writes no fraction. */
const NO_FRACTION_MS = 5;
/** How long before the first video keyframe's arrival audio is held too, in case the reports place it after it. */
const EARLY_AUDIO_MS = 1000;

interface ClockSync {
  /** Smallest (arrival - media time) seen, in ms: the least-delayed packet's estimate of the sender's epoch. */
  arrivalOffsetMs: number | undefined;
  /** The latest sender report, and how far the sender's clock was ahead of ours when it arrived. */
  report: { ntpMs: number; extTimestamp: number; clockAheadMs: number } | undefined;
}

/** A frame waiting for the recording's sync decision, with what placing it needs. */
interface HeldFrame {
  kind: TrackKind;
  frame: Frame;
  /** Audio: the frame's duration in ticks; 0 for video. */
  durationTicks: number;
  arrivalMs: number;
}

interface TrackState {
  /** The track's RTP clock, which is also its timescale in the recording. */
  readonly clockRate: number;
  /** The SSRC of the RTP stream this state follows, once a packet named it. */
  ssrc: number | undefined;
  readonly depacketizer: Depacketizer;
  readonly unwrapper: TimestampUnwrapper;
  readonly reorder: ReorderBuffer;
  readonly sync: ClockSync;
  /** Extended RTP timestamp and recording ticks of the track's first recorded frame. */
  anchor: { extTimestamp: number; ticks: number } | undefined;
  /** Recording ticks and arrival time of the latest frame recorded. */
  lastFrame: { ticks: number; arrivalMs: number } | undefined;
  /** For a stream that replaced another (a new SSRC): where the old one's last frame was, to go on from there. */
  resumeFrom: { ticks: number; arrivalMs: number } | undefined;
}

/** One recording's RTP-to-segments pipeline. */
export class RecordingPipeline {
  readonly #counts: PipelineStats = noCounts();
  readonly #segmenter: Segmenter;
  #video: (TrackState & { track: SourceTrack & { kind: "video" } }) | undefined;
  #audio: (TrackState & { track: SourceTrack & { kind: "audio" } }) | undefined;
  /** Arrival time of the packet being processed. */
  #arrivalMs = 0;
  /** The recording's time zero in the common clock (ms), fixed by the first recorded frame. */
  #zeroMs: number | undefined;
  /** Whether the tracks are synchronised by sender reports (else by arrival), once decided. */
  #useReports: boolean | undefined;
  /** Frames waiting until `#useReports` is decided. */
  #held: HeldFrame[] = [];
  /** Arrival of the first held video frame: the sync decision's wait starts there. */
  #firstHeldVideoMs: number | undefined;
  /** The video format of the current init segment, fixed by the first recorded keyframe. */
  #videoFormat: VideoFormat | undefined;

  constructor(opts: { tracks: readonly SourceTrack[]; segmentDurationMs: number; firstNumber: number }) {
    const video = opts.tracks.find((t): t is SourceTrack & { kind: "video" } => t.kind === "video");
    const audio = opts.tracks.find((t): t is SourceTrack & { kind: "audio" } => t.kind === "audio");
    if (video !== undefined) this.#video = { ...trackState(video.codec), track: video };
    if (audio !== undefined) this.#audio = { ...trackState(audio.codec), track: audio };
    this.#segmenter = new Segmenter({
      segmentDurationMs: opts.segmentDurationMs,
      fragmentDurationMs: FRAGMENT_DURATION_MS,
      firstNumber: opts.firstNumber,
      ...(video !== undefined ? { video: { trackId: VIDEO_TRACK_ID, timescale: video.codec.clockRate } } : {}),
      ...(audio !== undefined ? { audio: { trackId: AUDIO_TRACK_ID, timescale: audio.codec.clockRate } } : {}),
    });
  }

  /** The audio track's timescale (its RTP clock rate); 48000 when there is no audio. */
  get audioTimescale(): number {
    return this.#audio?.clockRate ?? 48_000;
  }

  /** True while video is expected but no usable keyframe came yet (at start, or after a loss). */
  get waitingForKeyframe(): boolean {
    return this.#video !== undefined &&
      (this.#videoFormat === undefined || this.#video.depacketizer.waitingForKeyframe);
  }

  /** True when the publisher should be asked for a keyframe: one is missing, or the open segment is due a cut. */
  get keyframeWanted(): boolean {
    return this.waitingForKeyframe || this.#segmenter.keyframeDue;
  }

  /** See Segmenter.cutAtNextKeyframe: the next keyframe ends the open segment, whose track and number it answers. */
  cutAtNextKeyframe(): { track: TrackKind; number: number } | undefined {
    return this.#segmenter.cutAtNextKeyframe();
  }

  /** What the pipeline and its stages counted so far. */
  get stats(): PipelineStats {
    return {
      ...this.#counts,
      droppedAccessUnits: this.#video?.depacketizer.stats.droppedFrames ?? 0,
      droppedFrames: this.#counts.droppedFrames + this.#segmenter.stats.droppedFrames,
    };
  }

  /** True once the recording's time zero is fixed (its first frame was recorded). */
  get started(): boolean {
    return this.#zeroMs !== undefined;
  }

  /**
   * Unix ms of media time 0 in the clock the tracks are synchronised on: the sender's (RTCP sender reports) or the
   * earliest arrival seen; undefined before the first frame.
   */
  get zeroMs(): number | undefined {
    return this.#zeroMs;
  }

  /** The audio init segment, available at once (audio formats come from the negotiation, not the stream). */
  start(): PipelineOutput[] {
    const audio = this.#audio;
    if (audio === undefined) return [];
    return [audioInit(audio.track.codec.format(audio.track.channels), audio.clockRate)];
  }

  pushRtp(kind: TrackKind, packet: RtpPacket, arrivalMs: number): PipelineOutput[] {
    const out: PipelineOutput[] = [];
    this.#arrivalMs = arrivalMs;
    this.#decideSync(out, false);
    const state = kind === "video" ? this.#video : this.#audio;
    if (state !== undefined && state.ssrc !== packet.ssrc) {
      if (state.ssrc !== undefined) this.#restart(kind, out);
      (kind === "video" ? this.#video : this.#audio)!.ssrc = packet.ssrc;
    }
    if (kind === "video" && this.#video !== undefined) {
      this.#counts.videoPackets++;
      observeArrival(this.#video, packet.timestamp, arrivalMs);
      for (const item of this.#video.reorder.push(packet)) this.#videoItem(item, out);
    } else if (kind === "audio" && this.#audio !== undefined) {
      this.#counts.audioPackets++;
      observeArrival(this.#audio, packet.timestamp, arrivalMs);
      for (const item of this.#audio.reorder.push(packet)) this.#audioItem(item, out);
    }
    return out;
  }

  pushSenderReport(kind: TrackKind, report: SenderReport): void {
    const state = kind === "video" ? this.#video : this.#audio;
    if (state === undefined) return;
    state.sync.report = {
      ntpMs: report.ntpMs,
      extTimestamp: state.unwrapper.unwrap(report.rtpTimestamp),
      clockAheadMs: report.ntpMs - report.arrivalMs,
    };
    if (this.#useReports === false) this.#resyncAudio();
  }

  /**
   * Whether every track has a sender report and they tell of one sender clock. A report carries the time it was
   * sent, so each track's report, less its arrival time, gives the sender's clock against ours; these agree to
   * within the network's jitter unless a sender writes wrong times (werift's reports lose the fraction of the second).
   */
  #reportsUsable(): boolean {
    const reports = [this.#video, this.#audio].flatMap((t) => t === undefined ? [] : [t.sync.report]);
    if (reports.some((report) => report === undefined)) return false;
    const known = reports as { ntpMs: number; clockAheadMs: number }[];
    // werift writes no fraction of a second into its reports' NTP times (a few ms at most): they time nothing.
    if (known.every((report) => report.ntpMs % 1000 < NO_FRACTION_MS)) return false;
    const aheadMs = known.map((report) => report.clockAheadMs);
    return Math.max(...aheadMs) - Math.min(...aheadMs) <= REPORT_CLOCK_TOLERANCE_MS;
  }

  /**
   * Once both tracks have sender reports after the recording started on arrival times (the reports came later than
   * SYNC_WAIT_MS, as GStreamer's do), moves audio to where the reports put it against video, once. Arrival times put
   * audio early by the sender's extra video latency, so audio usually moves later and a short gap opens in it; if it
   * moves earlier, the audio that overlaps is dropped.
   */
  #resyncAudio(): void {
    const [video, audio] = [this.#video, this.#audio];
    if (video?.anchor === undefined || audio?.anchor === undefined || !this.#reportsUsable()) return;
    this.#useReports = true;
    // The report clock's time at recording tick 0, from video's anchor; then audio's anchor frame in that clock.
    const reportMs = (state: TrackState, ext: number) =>
      state.sync.report!.ntpMs + (ext - state.sync.report!.extTimestamp) * 1000 / state.clockRate;
    const zeroMs = reportMs(video, video.anchor.extTimestamp) - video.anchor.ticks * 1000 / video.clockRate;
    const ticks = Math.round((reportMs(audio, audio.anchor.extTimestamp) - zeroMs) * audio.clockRate / 1000);
    if (Math.abs(ticks - audio.anchor.ticks) * 1000 < RESYNC_MIN_MS * audio.clockRate) return;
    this.#counts.audioResyncMs = Math.round((ticks - audio.anchor.ticks) * 1000 / audio.clockRate);
    audio.anchor = { extTimestamp: audio.anchor.extTimestamp, ticks };
  }

  /**
   * The publisher's stream of `kind` went on under another SSRC (a simulcast layer switch, a restarted sender): its
   * sequence numbers and RTP clock start anew. What the old stream left is drained; the new one is placed after the
   * old one's last frame by arrival time, and starts at a keyframe like any stream.
   */
  #restart(kind: TrackKind, out: PipelineOutput[]): void {
    this.#counts.ssrcChanges++;
    // Frames held for the sync decision belong to the old stream's clock: they are placed first.
    this.#decideSync(out, true);
    if (kind === "video") {
      const video = this.#video!;
      for (const item of video.reorder.flush()) this.#videoItem(item, out);
      for (const frame of video.depacketizer.flush()) this.#videoFrame(frame, out);
      this.#video = { ...trackState(video.track.codec), track: video.track, resumeFrom: video.lastFrame };
    } else {
      const audio = this.#audio!;
      for (const item of audio.reorder.flush()) this.#audioItem(item, out);
      this.#audio = { ...trackState(audio.track.codec), track: audio.track, resumeFrom: audio.lastFrame };
    }
  }

  /** Drains every buffer and closes the open segments; the pipeline is done afterwards. */
  flush(): PipelineOutput[] {
    const out: PipelineOutput[] = [];
    if (this.#video !== undefined) {
      for (const item of this.#video.reorder.flush()) this.#videoItem(item, out);
      for (const frame of this.#video.depacketizer.flush()) this.#videoFrame(frame, out);
    }
    if (this.#audio !== undefined) {
      for (const item of this.#audio.reorder.flush()) this.#audioItem(item, out);
    }
    this.#decideSync(out, true);
    out.push(...this.#segmenter.flush());
    return out;
  }

  #videoItem(item: ReorderOutput, out: PipelineOutput[]): void {
    const video = this.#video!;
    if (item.type === "loss") this.#counts.lostPackets += item.count;
    for (const frame of video.depacketizer.push(item)) this.#videoFrame(frame, out);
  }

  #audioItem(item: ReorderOutput, out: PipelineOutput[]): void {
    const audio = this.#audio!;
    if (item.type === "loss") this.#counts.lostPackets += item.count;
    for (const frame of audio.depacketizer.push(item)) {
      const durationTicks = audio.track.codec.frameDurationTicks(frame);
      if (durationTicks === 0) continue;
      this.#hold({ kind: "audio", frame, durationTicks, arrivalMs: this.#arrivalMs }, out);
    }
  }

  #videoFrame(frame: Frame, out: PipelineOutput[]): void {
    const video = this.#video!;
    if (this.#videoFormat === undefined) {
      if (!frame.keyframe) {
        this.#counts.droppedFrames++;
        return;
      }
      const format = video.track.codec.format(frame, video.track.parameterSets);
      if (format === undefined) {
        this.#counts.keyframesWithoutParameterSets++;
        return;
      }
      out.push(this.#videoInit(format));
    } else if (frame.keyframe) {
      // A keyframe in another format cannot share the init segment: the segment before it is the old format's last.
      const format = video.track.codec.format(frame, video.track.parameterSets);
      if (format !== undefined && !sameFormat(format, this.#videoFormat)) {
        const last = this.#segmenter.cutAtNextKeyframe();
        this.#counts.formatChanges++;
        out.push(last === undefined ? this.#videoInit(format) : { ...this.#videoInit(format), after: last });
      }
    }
    this.#hold({ kind: "video", frame, durationTicks: 0, arrivalMs: this.#arrivalMs }, out);
  }

  /** Places a frame on the timeline, or holds it back while the sync decision waits for sender reports. */
  #hold(held: HeldFrame, out: PipelineOutput[]): void {
    if (this.#useReports !== undefined) {
      this.#place(held, out);
      return;
    }
    this.#held.push(held);
    this.#firstHeldVideoMs ??= held.kind === "video" ? held.arrivalMs : undefined;
    // Audio may be recorded from before the first keyframe's arrival (the reports may say it came with it), but
    // not from earlier than EARLY_AUDIO_MS: older audio goes on, to be dropped.
    if (this.#firstHeldVideoMs === undefined && this.#video !== undefined) {
      while (this.#held[0] !== undefined && this.#held[0].arrivalMs < held.arrivalMs - EARLY_AUDIO_MS) {
        this.#place(this.#held.shift()!, out);
      }
    }
    this.#decideSync(out, false);
  }

  /**
   * Decides how the tracks are synchronised, once every track has a sender report, `SYNC_WAIT_MS` after the first
   * video keyframe, at the end (`final`), or at once with a single track; then places the frames held so far.
   */
  #decideSync(out: PipelineOutput[], final: boolean): void {
    if (this.#useReports !== undefined || this.#held.length === 0) return;
    const tracks = [this.#video, this.#audio].filter((t) => t !== undefined);
    const reported = tracks.filter((t) => t.sync.report !== undefined).length;
    const waitedMs = this.#arrivalMs - (this.#firstHeldVideoMs ?? this.#arrivalMs);
    // Wait while a track has no report yet: up to SYNC_WAIT_MS once one came, NO_REPORT_WAIT_MS while none did.
    const waitMs = reported > 0 ? SYNC_WAIT_MS : NO_REPORT_WAIT_MS;
    if (!final && tracks.length > 1 && reported < tracks.length && waitedMs < waitMs) return;
    this.#useReports = this.#reportsUsable();
    const held = this.#held;
    this.#held = [];
    for (const frame of held) this.#place(frame, out);
  }

  #place({ kind, frame, durationTicks, arrivalMs }: HeldFrame, out: PipelineOutput[]): void {
    const state = kind === "video" ? this.#video! : this.#audio!;
    const ticks = this.#ticks(state, frame.timestamp, kind === "video", arrivalMs);
    if (ticks === undefined) {
      this.#counts.droppedFrames++;
    } else if (kind === "video") {
      this.#counts.videoFrames++;
      out.push(...this.#segmenter.pushVideo({ dtsTicks: ticks, isKeyframe: frame.keyframe, data: frame.data }));
    } else {
      this.#counts.audioFrames++;
      out.push(...this.#segmenter.pushAudio({ ptsTicks: ticks, durationTicks, data: frame.data }));
    }
  }

  /** The video init segment of `format`, which from now on is the recording's. */
  #videoInit(format: VideoFormat): PipelineOutput & { type: "init" } {
    this.#videoFormat = format;
    return videoInit(format, this.#video!.clockRate);
  }

  /**
   * Maps a frame's RTP timestamp to recording ticks, anchoring the track at its first frame. Returns undefined for
   * frames that fall before the recording's start.
   */
  #ticks(state: TrackState, rtpTimestamp: number, isVideo: boolean, arrivalMs: number): number | undefined {
    const timescale = state.clockRate;
    const ext = state.unwrapper.unwrap(rtpTimestamp);
    if (state.anchor === undefined && state.resumeFrom !== undefined) {
      const ticksSince = Math.round((arrivalMs - state.resumeFrom.arrivalMs) * timescale / 1000);
      state.anchor = { extTimestamp: ext, ticks: state.resumeFrom.ticks + ticksSince };
    }
    if (state.anchor === undefined) {
      if (this.#zeroMs === undefined) {
        // Video defines time zero (its first keyframe); audio does only when there is no video.
        if (!isVideo && this.#video !== undefined) return undefined;
        this.#zeroMs = this.#syncMs(state, ext);
      }
      const offsetMs = this.#syncMs(state, ext) - this.#zeroMs;
      const ticks = Math.round(offsetMs * timescale / 1000);
      if (ticks < 0) return undefined;
      state.anchor = { extTimestamp: ext, ticks };
    }
    const ticks = state.anchor.ticks + ext - state.anchor.extTimestamp;
    if (ticks < 0) return undefined;
    state.lastFrame = { ticks, arrivalMs };
    return ticks;
  }

  /** A frame's time in the common clock (ms): the sender's NTP clock or the receiver's arrival clock. */
  #syncMs(state: TrackState, extTimestamp: number): number {
    const mediaMs = extTimestamp * 1000 / state.clockRate;
    if (this.#useReports === true && state.sync.report !== undefined) {
      return state.sync.report.ntpMs + mediaMs - state.sync.report.extTimestamp * 1000 / state.clockRate;
    }
    return (state.sync.arrivalOffsetMs ?? 0) + mediaMs;
  }
}

function trackState(codec: VideoCodec | AudioCodec): TrackState {
  const clockRate = codec.clockRate;
  return {
    clockRate,
    depacketizer: codec.createDepacketizer(),
    ssrc: undefined,
    lastFrame: undefined,
    resumeFrom: undefined,
    unwrapper: new TimestampUnwrapper(),
    reorder: new ReorderBuffer({
      capacityPackets: 512,
      maxDelayTicks: Math.round(clockRate * REORDER_DELAY_MS / 1000),
    }),
    sync: { arrivalOffsetMs: undefined, report: undefined },
    anchor: undefined,
  };
}

function observeArrival(state: TrackState, rtpTimestamp: number, arrivalMs: number): void {
  if (state.anchor !== undefined) return;
  const offset = arrivalMs - state.unwrapper.unwrap(rtpTimestamp) * 1000 / state.clockRate;
  if (state.sync.arrivalOffsetMs === undefined || offset < state.sync.arrivalOffsetMs) {
    state.sync.arrivalOffsetMs = offset;
  }
}
