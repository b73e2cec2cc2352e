/**
 * The pure recording pipeline of one recording: RTP packets of every track in, init segments and media segments
 * out. It restores packet order, depacketizes, maps each track's RTP clock onto one recording timeline (from RTCP
 * sender reports when every track has one, from arrival times otherwise) and cuts segments. It does no I/O and
 * reads no clock: arrival times come in as data.
 */

import type { AudioCodec, Depacketizer, Frame, VideoCodec, VideoFormat } from "../codec/mod.ts";
import { initSegment, Segmenter, type SegmenterOutput, type TrackInfo } from "../media/mod.ts";
import { ReorderBuffer, type ReorderOutput, type RtpPacket, TimestampUnwrapper } from "../rtp/mod.ts";
import type { SenderReport, SourceTrack, TrackKind } from "./source.ts";

/** The video timescale: every video RTP payload format's clock, 90 kHz (RFC 6184 §5.1, RFC 7741 §4.1, ...). */
export const VIDEO_TIMESCALE = 90_000;
const VIDEO_TRACK_ID = 1;
const AUDIO_TRACK_ID = 2;
/** How long the reorder buffer waits for a missing packet before declaring it lost. */
const REORDER_DELAY_MS = 300;
/** Fragments are made durable as they complete: at most this much media is lost on a crash. */
const FRAGMENT_DURATION_MS = 1000;

/** What a track turned out to be, for the manifest. */
export interface TrackDetails {
  codecs: string;
  timescale: number;
  widthPx?: number;
  heightPx?: number;
  frameRate?: number;
  sampleRate?: number;
  channels?: number;
}

export type PipelineOutput =
  | {
    type: "init";
    track: TrackKind;
    bytes: Uint8Array;
    details: TrackDetails;
    /**
     * Present when the stream changed its format mid-recording (a new resolution, profile or sequence header): the
     * segment of `track` numbered `number` was the last one in the old format, and this init is for what follows.
     */
    after?: { track: TrackKind; number: number };
  }
  | SegmenterOutput;

/** Counters of what the pipeline saw and dropped; expected stream faults end up here, never in exceptions. */
export interface PipelineStats {
  videoPackets: number;
  audioPackets: number;
  lostPackets: number;
  droppedAccessUnits: number;
  /** Frames dropped because they came before the recording's first keyframe or went back in time. */
  droppedFrames: number;
  keyframesWithoutParameterSets: number;
  /** Keyframes whose format (size, profile, configuration record) differs from the one before: each starts a period. */
  formatChanges: number;
  /** Times a track's stream went on under another SSRC. */
  ssrcChanges: number;
  videoFrames: number;
  audioFrames: number;
}

interface ClockSync {
  /** Smallest (arrival - media time) seen, in ms: the least-delayed packet's estimate of the sender's epoch. */
  arrivalOffsetMs: number | undefined;
  report: { ntpMs: number; extTimestamp: number } | undefined;
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
  readonly #counts: PipelineStats = {
    videoPackets: 0,
    audioPackets: 0,
    lostPackets: 0,
    droppedAccessUnits: 0,
    droppedFrames: 0,
    keyframesWithoutParameterSets: 0,
    formatChanges: 0,
    ssrcChanges: 0,
    videoFrames: 0,
    audioFrames: 0,
  };
  readonly #segmenter: Segmenter;
  #video: (TrackState & { track: SourceTrack & { kind: "video" } }) | undefined;
  #audio: (TrackState & { track: SourceTrack & { kind: "audio" } }) | undefined;
  /** Arrival time of the packet being processed. */
  #arrivalMs = 0;
  /** The recording's time zero in the common clock (ms), fixed by the first recorded frame. */
  #zeroMs: number | undefined;
  #useReports = false;
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
    const format = audio.track.codec.format(audio.track.channels);
    const { sampleEntry, channels, sampleRate } = format;
    const info: TrackInfo = {
      trackId: AUDIO_TRACK_ID,
      timescale: audio.clockRate,
      codec: { kind: "audio", sampleEntry, channels, sampleRate },
    };
    const details = { codecs: format.codecs, timescale: audio.clockRate, sampleRate, channels };
    return [{ type: "init", track: "audio", bytes: initSegment(info), details }];
  }

  pushRtp(kind: TrackKind, packet: RtpPacket, arrivalMs: number): PipelineOutput[] {
    const out: PipelineOutput[] = [];
    this.#arrivalMs = arrivalMs;
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
    state.sync.report = { ntpMs: report.ntpMs, extTimestamp: state.unwrapper.unwrap(report.rtpTimestamp) };
  }

  /**
   * The publisher's stream of `kind` went on under another SSRC (a simulcast layer switch, a restarted sender): its
   * sequence numbers and RTP clock start anew. What the old stream left is drained; the new one is placed after the
   * old one's last frame by arrival time, and starts at a keyframe like any stream.
   */
  #restart(kind: TrackKind, out: PipelineOutput[]): void {
    this.#counts.ssrcChanges++;
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
      const ticks = this.#ticks(audio, frame.timestamp, false);
      if (ticks === undefined) {
        this.#counts.droppedFrames++;
        continue;
      }
      this.#counts.audioFrames++;
      out.push(...this.#segmenter.pushAudio({ ptsTicks: ticks, durationTicks, data: frame.data }));
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
    const ticks = this.#ticks(video, frame.timestamp, true);
    if (ticks === undefined) {
      this.#counts.droppedFrames++;
      return;
    }
    this.#counts.videoFrames++;
    out.push(...this.#segmenter.pushVideo({ ptsTicks: ticks, isKeyframe: frame.keyframe, data: frame.data }));
  }

  /** The video init segment of `format`, which from now on is the recording's. */
  #videoInit(format: VideoFormat): PipelineOutput & { type: "init" } {
    const video = this.#video!;
    this.#videoFormat = format;
    const { sampleEntry, widthPx, heightPx } = format;
    const info: TrackInfo = {
      trackId: VIDEO_TRACK_ID,
      timescale: video.clockRate,
      codec: { kind: "video", sampleEntry, widthPx, heightPx },
    };
    const details: TrackDetails = {
      codecs: format.codecs,
      timescale: video.clockRate,
      widthPx,
      heightPx,
      ...(format.frameRate !== undefined ? { frameRate: format.frameRate } : {}),
    };
    return { type: "init", track: "video", bytes: initSegment(info), details };
  }

  /**
   * Maps a frame's RTP timestamp to recording ticks, anchoring the track at its first frame. Returns undefined for
   * frames that fall before the recording's start.
   */
  #ticks(state: TrackState, rtpTimestamp: number, isVideo: boolean): number | undefined {
    const timescale = state.clockRate;
    const ext = state.unwrapper.unwrap(rtpTimestamp);
    if (state.anchor === undefined && state.resumeFrom !== undefined) {
      const { ticks, arrivalMs } = state.resumeFrom;
      state.anchor = { extTimestamp: ext, ticks: ticks + Math.round((this.#arrivalMs - arrivalMs) * timescale / 1000) };
    }
    if (state.anchor === undefined) {
      if (this.#zeroMs === undefined) {
        // Video defines time zero (its first keyframe); audio does only when there is no video.
        if (!isVideo && this.#video !== undefined) return undefined;
        this.#useReports = [this.#video, this.#audio].every((t) => t === undefined || t.sync.report !== undefined);
        this.#zeroMs = this.#syncMs(state, ext);
      }
      const offsetMs = this.#syncMs(state, ext) - this.#zeroMs;
      const ticks = Math.round(offsetMs * timescale / 1000);
      if (ticks < 0) return undefined;
      state.anchor = { extTimestamp: ext, ticks };
    }
    const ticks = state.anchor.ticks + ext - state.anchor.extTimestamp;
    if (ticks < 0) return undefined;
    state.lastFrame = { ticks, arrivalMs: this.#arrivalMs };
    return ticks;
  }

  /** A frame's time in the common clock (ms): the sender's NTP clock or the receiver's arrival clock. */
  #syncMs(state: TrackState, extTimestamp: number): number {
    const mediaMs = extTimestamp * 1000 / state.clockRate;
    if (this.#useReports && state.sync.report !== undefined) {
      return state.sync.report.ntpMs + mediaMs - state.sync.report.extTimestamp * 1000 / state.clockRate;
    }
    return (state.sync.arrivalOffsetMs ?? 0) + mediaMs;
  }
}

/** Whether two keyframes' formats can share one init segment: same sample entry, configuration record and size. */
function sameFormat(a: VideoFormat, b: VideoFormat): boolean {
  const [x, y] = [a.sampleEntry.config.body, b.sampleEntry.config.body];
  return a.sampleEntry.fourcc === b.sampleEntry.fourcc && a.widthPx === b.widthPx && a.heightPx === b.heightPx &&
    x.length === y.length && x.every((byte, i) => byte === y[i]);
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
