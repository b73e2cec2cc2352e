/**
 * What a recording pipeline hands its capture, whatever the ingest: init segments with what the manifests need to
 * know of each track, and the segmenter's fragments and segments. Shared by the RTP pipeline (pipeline.ts) and the
 * frame pipeline (frame_pipeline.ts).
 */

import type { AudioFormat, VideoFormat } from "../codec/mod.ts";
import { initSegment, type SegmenterOutput, type TrackInfo } from "../media/mod.ts";
import type { TrackKind } from "./source.ts";

/** The video timescale: every video RTP payload format's clock, 90 kHz (RFC 6184 §5.1, RFC 7741 §4.1, ...). */
export const VIDEO_TIMESCALE = 90_000;
export const VIDEO_TRACK_ID = 1;
export const AUDIO_TRACK_ID = 2;
/** Fragments are made durable as they complete: at most this much media is lost on a crash. */
export const FRAGMENT_DURATION_MS = 1000;

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
    /** The track as the init segment describes it; other containers are written from it. */
    info: TrackInfo;
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
  /**
   * How far audio was moved against video when sender reports came after the recording had started on arrival
   * times (positive: later); 0 when no correction was made.
   */
  audioResyncMs: number;
  videoFrames: number;
  audioFrames: number;
}

/** Whether two keyframes' formats can share one init segment: same sample entry, configuration record and size. */
export function sameFormat(a: VideoFormat, b: VideoFormat): boolean {
  const [x, y] = [a.sampleEntry.config.body, b.sampleEntry.config.body];
  return a.sampleEntry.fourcc === b.sampleEntry.fourcc && a.widthPx === b.widthPx && a.heightPx === b.heightPx &&
    x.length === y.length && x.every((byte, i) => byte === y[i]);
}

/** The init segment of a video track in `format`, with its details. */
export function videoInit(format: VideoFormat, timescale: number): PipelineOutput & { type: "init" } {
  const { sampleEntry, widthPx, heightPx } = format;
  const info: TrackInfo = {
    trackId: VIDEO_TRACK_ID,
    timescale,
    codec: { kind: "video", sampleEntry, widthPx, heightPx },
  };
  const details: TrackDetails = {
    codecs: format.codecs,
    timescale,
    widthPx,
    heightPx,
    ...(format.frameRate !== undefined ? { frameRate: format.frameRate } : {}),
  };
  return { type: "init", track: "video", info, bytes: initSegment(info), details };
}

/** The init segment of an audio track in `format`, with its details. */
export function audioInit(format: AudioFormat, timescale: number): PipelineOutput & { type: "init" } {
  const { sampleEntry, channels, sampleRate } = format;
  const info: TrackInfo = {
    trackId: AUDIO_TRACK_ID,
    timescale,
    codec: { kind: "audio", sampleEntry, channels, sampleRate },
  };
  const details = { codecs: format.codecs, timescale, sampleRate, channels };
  return { type: "init", track: "audio", info, bytes: initSegment(info), details };
}

/** Every counter at 0. */
export function noCounts(): PipelineStats {
  return {
    videoPackets: 0,
    audioPackets: 0,
    lostPackets: 0,
    droppedAccessUnits: 0,
    droppedFrames: 0,
    keyframesWithoutParameterSets: 0,
    formatChanges: 0,
    ssrcChanges: 0,
    audioResyncMs: 0,
    videoFrames: 0,
    audioFrames: 0,
  };
}
