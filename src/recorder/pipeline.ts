/**
 * The pure recording pipeline of one recording: RTP packets of every track in, init segments and media segments
 * out. It restores packet order, depacketizes, maps each track's RTP clock onto one recording timeline (from RTCP
 * sender reports when every track has one, from arrival times otherwise) and cuts segments. It does no I/O and
 * reads no clock: arrival times come in as data.
 */

import {
  avcCodecString,
  avcDecoderConfigurationRecord,
  dOpsPayload,
  NalType,
  nalType,
  opusPacketDurationSamples,
  parseSps,
  type Sps,
} from "../codec/mod.ts";
import { initSegment, Segmenter, type SegmenterOutput, type TrackInfo } from "../media/mod.ts";
import {
  type AccessUnit,
  H264Depacketizer,
  OpusDepacketizer,
  ReorderBuffer,
  type ReorderOutput,
  type RtpPacket,
  TimestampUnwrapper,
} from "../rtp/mod.ts";
import type { SenderReport, SourceTrack, TrackKind } from "./source.ts";

/** Track timescales of the recording: the RTP clocks of H.264 and Opus (RFC 6184 §5.1, RFC 7587 §4.1). */
export const VIDEO_TIMESCALE = 90_000;
export const AUDIO_TIMESCALE = 48_000;
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
  | { type: "init"; track: TrackKind; bytes: Uint8Array; details: TrackDetails }
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
  videoFrames: number;
  audioFrames: number;
}

interface ClockSync {
  /** Smallest (arrival - media time) seen, in ms: the least-delayed packet's estimate of the sender's epoch. */
  arrivalOffsetMs: number | undefined;
  report: { ntpMs: number; extTimestamp: number } | undefined;
}

interface TrackState {
  readonly clockRate: number;
  readonly unwrapper: TimestampUnwrapper;
  readonly reorder: ReorderBuffer;
  readonly sync: ClockSync;
  /** Extended RTP timestamp and recording ticks of the track's first recorded frame. */
  anchor: { extTimestamp: number; ticks: number } | undefined;
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
    videoFrames: 0,
    audioFrames: 0,
  };
  readonly #segmenter: Segmenter;
  readonly #video:
    | (TrackState & { track: SourceTrack & { kind: "video" }; depacketizer: H264Depacketizer })
    | undefined;
  readonly #audio:
    | (TrackState & { track: SourceTrack & { kind: "audio" }; depacketizer: OpusDepacketizer })
    | undefined;
  /** The recording's time zero in the common clock (ms), fixed by the first recorded frame. */
  #zeroMs: number | undefined;
  #useReports = false;
  #videoSps: Sps | undefined;

  constructor(opts: { tracks: readonly SourceTrack[]; segmentDurationMs: number; firstNumber: number }) {
    const video = opts.tracks.find((t): t is SourceTrack & { kind: "video" } => t.kind === "video");
    const audio = opts.tracks.find((t): t is SourceTrack & { kind: "audio" } => t.kind === "audio");
    if (video !== undefined) {
      this.#video = { ...trackState(video.clockRate), track: video, depacketizer: new H264Depacketizer() };
    }
    if (audio !== undefined) {
      this.#audio = { ...trackState(audio.clockRate), track: audio, depacketizer: new OpusDepacketizer() };
    }
    this.#segmenter = new Segmenter({
      segmentDurationMs: opts.segmentDurationMs,
      fragmentDurationMs: FRAGMENT_DURATION_MS,
      firstNumber: opts.firstNumber,
      ...(video !== undefined ? { video: { trackId: VIDEO_TRACK_ID, timescale: VIDEO_TIMESCALE } } : {}),
      ...(audio !== undefined ? { audio: { trackId: AUDIO_TRACK_ID, timescale: AUDIO_TIMESCALE } } : {}),
    });
  }

  /** True while video is expected but no usable keyframe came yet (at start, or after a loss). */
  get waitingForKeyframe(): boolean {
    return this.#video !== undefined && (this.#videoSps === undefined || this.#video.depacketizer.waitingForKeyframe);
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
      droppedAccessUnits: this.#video?.depacketizer.stats.droppedAccessUnits ?? 0,
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

  /** The audio init segment, available at once (Opus needs nothing from the stream). */
  start(): PipelineOutput[] {
    const audio = this.#audio;
    if (audio === undefined) return [];
    const channels = audio.track.channels;
    const info: TrackInfo = {
      trackId: AUDIO_TRACK_ID,
      timescale: AUDIO_TIMESCALE,
      codec: {
        kind: "opus",
        dOps: dOpsPayload({ channels, preSkip: 0, inputSampleRate: 48_000 }),
        channels,
        sampleRate: 48_000,
      },
    };
    const details = { codecs: "opus", timescale: AUDIO_TIMESCALE, sampleRate: 48_000, channels };
    return [{ type: "init", track: "audio", bytes: initSegment(info), details }];
  }

  pushRtp(kind: TrackKind, packet: RtpPacket, arrivalMs: number): PipelineOutput[] {
    const out: PipelineOutput[] = [];
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

  /** Drains every buffer and closes the open segments; the pipeline is done afterwards. */
  flush(): PipelineOutput[] {
    const out: PipelineOutput[] = [];
    if (this.#video !== undefined) {
      for (const item of this.#video.reorder.flush()) this.#videoItem(item, out);
      for (const au of this.#video.depacketizer.flush()) this.#videoAccessUnit(au, out);
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
    for (const au of video.depacketizer.push(item)) this.#videoAccessUnit(au, out);
  }

  #audioItem(item: ReorderOutput, out: PipelineOutput[]): void {
    const audio = this.#audio!;
    if (item.type === "loss") this.#counts.lostPackets += item.count;
    for (const frame of audio.depacketizer.push(item)) {
      const durationTicks = opusPacketDurationSamples(frame.data);
      if (durationTicks === 0) continue;
      const ticks = this.#ticks(audio, frame.timestamp, AUDIO_TIMESCALE, false);
      if (ticks === undefined) {
        this.#counts.droppedFrames++;
        continue;
      }
      this.#counts.audioFrames++;
      out.push(...this.#segmenter.pushAudio({ ptsTicks: ticks, durationTicks, data: frame.data }));
    }
  }

  #videoAccessUnit(au: AccessUnit, out: PipelineOutput[]): void {
    const video = this.#video!;
    if (this.#videoSps === undefined) {
      if (!au.keyframe) {
        this.#counts.droppedFrames++;
        return;
      }
      const init = this.#videoInit(au);
      if (init === undefined) {
        this.#counts.keyframesWithoutParameterSets++;
        return;
      }
      out.push(init);
    }
    const ticks = this.#ticks(video, au.timestamp, VIDEO_TIMESCALE, true);
    if (ticks === undefined) {
      this.#counts.droppedFrames++;
      return;
    }
    this.#counts.videoFrames++;
    const frame = { ptsTicks: ticks, isKeyframe: au.keyframe, data: toAvcc(au.nalUnits) };
    out.push(...this.#segmenter.pushVideo(frame));
  }

  /** Builds the video init segment from the keyframe's SPS/PPS (in-band first, then the SDP's). */
  #videoInit(au: AccessUnit): PipelineOutput | undefined {
    const video = this.#video!;
    const all = [...au.nalUnits, ...video.track.parameterSets];
    const sps = all.find((nal) => nalType(nal) === NalType.Sps);
    const pps = all.find((nal) => nalType(nal) === NalType.Pps);
    if (sps === undefined || pps === undefined) return undefined;
    let parsed: Sps;
    try {
      parsed = parseSps(sps);
    } catch {
      return undefined;
    }
    this.#videoSps = parsed;
    const info: TrackInfo = {
      trackId: VIDEO_TRACK_ID,
      timescale: VIDEO_TIMESCALE,
      codec: {
        kind: "avc",
        avcC: avcDecoderConfigurationRecord([sps], [pps]),
        widthPx: parsed.widthPx,
        heightPx: parsed.heightPx,
      },
    };
    const details: TrackDetails = {
      codecs: avcCodecString(parsed),
      timescale: VIDEO_TIMESCALE,
      widthPx: parsed.widthPx,
      heightPx: parsed.heightPx,
      ...(parsed.frameRate !== undefined ? { frameRate: parsed.frameRate } : {}),
    };
    return { type: "init", track: "video", bytes: initSegment(info), details };
  }

  /**
   * Maps a frame's RTP timestamp to recording ticks, anchoring the track at its first frame. Returns undefined for
   * frames that fall before the recording's start.
   */
  #ticks(state: TrackState, rtpTimestamp: number, timescale: number, isVideo: boolean): number | undefined {
    const ext = state.unwrapper.unwrap(rtpTimestamp);
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
    const ticks = state.anchor.ticks + Math.round((ext - state.anchor.extTimestamp) * timescale / state.clockRate);
    return ticks < 0 ? undefined : ticks;
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

function trackState(clockRate: number): TrackState {
  return {
    clockRate,
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

/** NAL units to an AVCC sample (4-byte big-endian lengths), leaving out access unit delimiters and filler data. */
function toAvcc(nalUnits: Uint8Array[]): Uint8Array {
  const kept = nalUnits.filter((nal) => {
    const type = nalType(nal);
    return type !== NalType.Aud && type !== NalType.Filler;
  });
  let size = 0;
  for (const nal of kept) size += 4 + nal.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const nal of kept) {
    view.setUint32(offset, nal.length);
    out.set(nal, offset + 4);
    offset += 4 + nal.length;
  }
  return out;
}
