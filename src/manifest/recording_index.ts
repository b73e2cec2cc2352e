/**
 * The recording index: the value a stream's record directory keeps (as index.json) describing every recording
 * (DASH Period) of one day's manifest, and the arithmetic on it. Types and pure functions only; the recorder owns
 * reading, updating and writing it.
 */

import { assert } from "../shared/assert.ts";
import { UnsupportedError } from "../shared/errors.ts";

/** One media segment of a track; `startTicks` is the segment's tfdt baseMediaDecodeTime (ISO/IEC 14496-12 §8.8.12). */
export interface SegmentRun {
  /** Media time of the first sample, in the track's timescale; 0 is the start of the recording for every track. */
  startTicks: number;
  /** Media duration of the segment, in the track's timescale. */
  durationTicks: number;
}

/** One track of a recording, as a DASH Representation with a SegmentTemplate and SegmentTimeline. */
export interface TrackIndex {
  /** RFC 6381 codecs string: "avc1.42c01f", "opus". */
  codecs: string;
  /** Ticks per second of the track (the mdhd timescale): 90000 for video, 48000 for Opus. */
  timescale: number;
  /** Initialization segment, relative to the MPD: "init.m4s" / "audio_init.m4s". */
  init: string;
  /** Media segment template, relative to the MPD: "seg_$Number%04d$.m4s" (ISO/IEC 23009-1 §5.3.9.4.4). */
  media: string;
  /** `$Number$` of the first entry of `segments`. */
  startNumber: number;
  /** Every segment of the track, in order. */
  segments: SegmentRun[];
  /** Average bitrate, in bits per second, from the segment sizes. */
  bandwidthBps: number;
  /**
   * Media time, in the track's timescale, that is time 0 of the period (DASH SegmentBase@presentationTimeOffset);
   * absent means 0. A period that a running recording rotated into starts where the previous one ended.
   */
  presentationTimeOffset?: number;
  widthPx?: number;
  heightPx?: number;
  /** Frames per second. */
  frameRate?: number;
  /** Samples per second of the decoded audio. */
  sampleRate?: number;
  channels?: number;
}

/** One MPEG-TS segment: video and audio muxed, cut where the fMP4 segments of the same number are. */
export interface TsSegmentRun extends SegmentRun {
  /** Object name relative to the record folder (it may have folders of its own): "1764990000_12.ts". */
  name: string;
}

/** A period's MPEG-TS segments (format "ts"), or why it has none. */
export interface TsIndex {
  /** Ticks per second of the segments' times: the video track's (the audio track's without video). */
  timescale: number;
  /** Media time of the period's time 0, in `timescale` (see TrackIndex.presentationTimeOffset); absent means 0. */
  presentationTimeOffset?: number;
  segments: TsSegmentRun[];
  /** Set when the period's tracks cannot go into MPEG-TS without re-encoding (Opus, VP9, AV1, ...): why. */
  refused?: string;
}

/** One recording of the stream: a DASH Period. */
export interface PeriodIndex {
  /** The recording this period belongs to; with `part`, unique within the index. */
  recordId: string;
  /**
   * The period's number within its recording, from 1, when a recording has several (a publisher that came back
   * inside the splice window continues the same recording in a new period); absent means 1.
   */
  part?: number;
  /** Wall-clock time of media time 0 of this recording, ISO 8601 (e.g. "2025-07-24T10:00:00.000Z"). */
  startedAt: string;
  /** Only the last period may still be "recording"; an earlier one is treated as finished whatever it says. */
  status: "recording" | "finished";
  video?: TrackIndex;
  audio?: TrackIndex;
  /** The same media as MPEG-TS segments, when the recording's formats include "ts". */
  ts?: TsIndex;
  /**
   * On a recording's first period, with format "flv": the object key (from the store root) of its FLV file, once
   * the file is complete and has its name.
   */
  flv?: string;
}

/** Everything one manifest describes: the recordings of one stream in one record directory. */
export interface RecordingIndex {
  version: 1;
  streamId: string;
  periods: PeriodIndex[];
}

/**
 * Media time at which the last segment of `track` ends, in its timescale (0 without segments). Segment times count
 * from the start of the recording, so this is also the track's extent within its Period, gaps included.
 */
export function trackEndTicks(track: TrackIndex): number {
  const last = track.segments[track.segments.length - 1];
  return last === undefined ? 0 : last.startTicks + last.durationTicks - (track.presentationTimeOffset ?? 0);
}

/** Period@id of `period`: the record id, with "-N" for the Nth part of a spliced recording. */
export function periodId(period: PeriodIndex): string {
  return (period.part ?? 1) > 1 ? `${period.recordId}-${period.part}` : period.recordId;
}

/** Whether `track` exists and has at least one segment. */
export function hasSegments(track: TrackIndex | undefined): track is TrackIndex {
  return track !== undefined && track.segments.length > 0;
}

/** The tracks of `period` that have at least one segment, video first. */
export function nonEmptyTracks(period: PeriodIndex): TrackIndex[] {
  return [period.video, period.audio].filter(hasSegments);
}

/**
 * Expands a DASH SegmentTemplate@media (ISO/IEC 23009-1 §5.3.9.4.4) for segment `number`: `$Number$`,
 * `$Number%0<width>d$` (zero-padded to at least width digits) and `$$`. The recorder writes no other identifier; one
 * in an index read back from storage is an UnsupportedError naming it.
 */
export function expandNumberTemplate(template: string, number: number): string {
  const parts = template.split("$");
  if (parts.length % 2 === 0) {
    throw new UnsupportedError(`unpaired "$" in segment template ${JSON.stringify(template)}`);
  }
  return parts.map((part, i) => {
    if (i % 2 === 0) return part;
    if (part === "") return "$";
    if (part === "Number") return String(number);
    const width = /^Number%0(\d+)d$/.exec(part)?.[1];
    if (width === undefined) {
      throw new UnsupportedError(`unsupported identifier $${part}$ in segment template ${JSON.stringify(template)}`);
    }
    return String(number).padStart(Number(width), "0");
  }).join("");
}

/** Milliseconds since the epoch of the ISO 8601 date-time `iso`; `what` names it in the assertion. */
export function isoMs(iso: string, what: string): number {
  const ms = Date.parse(iso);
  assert(Number.isFinite(ms), `${what} is not an ISO 8601 date-time: ${JSON.stringify(iso)}`);
  return ms;
}

/**
 * Duration of `period` in seconds: the longest track, each measured to the end of its last segment. For tracks
 * whose segments start at 0 and follow each other without gaps this is the sum of the segment durations; with a
 * gap or a late first segment it still covers every segment the SegmentTimeline lists.
 */
export function periodDurationS(p: PeriodIndex): number {
  let durationS = 0;
  for (const track of nonEmptyTracks(p)) durationS = Math.max(durationS, trackEndTicks(track) / track.timescale);
  return durationS;
}

function isNonNegativeInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function checkTrack(track: TrackIndex, where: string): void {
  assert(isNonNegativeInteger(track.timescale) && track.timescale > 0, `${where}: bad timescale ${track.timescale}`);
  assert(isNonNegativeInteger(track.startNumber), `${where}: bad startNumber ${track.startNumber}`);
  assert(Number.isFinite(track.bandwidthBps) && track.bandwidthBps >= 0, `${where}: bad bandwidth`);
  const offset = track.presentationTimeOffset ?? 0;
  assert(isNonNegativeInteger(offset), `${where}: bad presentationTimeOffset ${offset}`);
  assert((track.segments[0]?.startTicks ?? offset) >= offset, `${where}: first segment starts before the period`);
  let previousEnd = 0;
  for (const [i, s] of track.segments.entries()) {
    assert(isNonNegativeInteger(s.startTicks), `${where}: segment ${i} has bad startTicks ${s.startTicks}`);
    assert(isNonNegativeInteger(s.durationTicks) && s.durationTicks > 0, `${where}: segment ${i} has no duration`);
    assert(i === 0 || s.startTicks >= previousEnd, `${where}: segment ${i} overlaps the one before`);
    previousEnd = s.startTicks + s.durationTicks;
  }
}

function checkTs(ts: TsIndex, where: string): void {
  assert(isNonNegativeInteger(ts.timescale) && ts.timescale > 0, `${where}: bad timescale ${ts.timescale}`);
  let previousEnd = 0;
  for (const [i, s] of ts.segments.entries()) {
    assert(isNonNegativeInteger(s.startTicks) && s.startTicks >= previousEnd, `${where}: segment ${i} overlaps`);
    assert(isNonNegativeInteger(s.durationTicks) && s.durationTicks > 0, `${where}: segment ${i} has no duration`);
    assert(s.name.length > 0 && !/[\r\n]/.test(s.name), `${where}: segment ${i} has a bad name`);
    previousEnd = s.startTicks + s.durationTicks;
  }
}

/**
 * Asserts what every renderer relies on: a known version, unique period ids, positive timescales and whole-tick
 * segments that follow each other without overlap. A failure is a bug in whoever built the index.
 */
export function checkIndex(index: RecordingIndex): void {
  assert(index.version === 1, `unknown recording index version ${index.version}`);
  const ids = new Set<string>();
  for (const period of index.periods) {
    const id = periodId(period);
    assert(!ids.has(id), `duplicate period id ${JSON.stringify(id)}`);
    ids.add(id);
    if (period.video !== undefined) checkTrack(period.video, `${period.recordId} video`);
    if (period.audio !== undefined) checkTrack(period.audio, `${period.recordId} audio`);
    if (period.ts !== undefined) checkTs(period.ts, `${period.recordId} ts`);
  }
}
