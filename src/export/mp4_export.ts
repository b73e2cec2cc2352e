/**
 * MP4 export of stored recordings: reads the init and media segments of recorded periods back through a ReadObject
 * port and remuxes them into one progressive (faststart) MP4, either whole recordings or "from wall-clock A for N
 * seconds" across segments, periods and recordings; a range can also be a fragmented MP4 ("fmp4": the same samples
 * with the same timing, written by fragmentedMp4). Remux only: nothing is decoded or re-encoded. It does not find
 * the periods (the caller reads index.json and passes them in time order) and does not stream: the file is built in
 * memory, which is why a range is capped at six hours.
 *
 * Choices:
 * - Periods are joined back to back: each period's span (from its first sample, or for a range from where its
 *   video starts, to its last sample's end) follows the previous one's with the wall-clock gap between them closed,
 *   so a pause is neither a frozen frame nor silence. Within a period every track keeps its offset from the others;
 *   a track that ends early (or is missing from a period) leaves a gap in that track only.
 * - At a join, a sample that began before the joined period's span (an Opus packet straddling the keyframe a range
 *   starts at, at most one per track) is dropped so the tracks never overlap; at the start of the file it is kept
 *   and trimmed by the edit list instead, as selectRange intends.
 * - A missing segment object is skipped and the export goes on: a recording that lost a segment still exports,
 *   with a gap where the segment was (the frame before it lasts across the gap). A missing init segment drops its
 *   track of that period the same way.
 * - A format change between periods (a publisher switching resolution or profile starts a new period with a new
 *   init segment) becomes a second sample entry of the same track (ISO/IEC 14496-12 §8.5.2): each distinct
 *   configuration is listed once, in order of first use, and every sample names its own. What cannot share a track
 *   still throws UnsupportedError (HTTP 422) naming both recordings: a different timescale, sample entry type
 *   (VP8 then H.264: ffmpeg 5.1 warns "multiple fourcc not supported" and drops every sample of the second type
 *   without an error) or audio channel count (ffmpeg 5.1 decodes every packet with the first entry's channels).
 * - Only the progressive MP4 carries a format change. In a fragmented one the change would be a fragment naming
 *   another sample entry in its tfhd, which ffmpeg 5.1 ignores: it decodes the later fragments with the first
 *   entry's configuration, into corrupt pictures. So "fmp4" refuses what "mp4" joins, with UnsupportedError.
 */

import { expandNumberTemplate, type PeriodIndex, type TrackIndex } from "../manifest/mod.ts";
import {
  compareTimes,
  fragmentedMp4,
  type MediaTime,
  type Mp4Track,
  progressiveMp4,
  readInit,
  readSegmentSamples,
  rescaleTicks,
  type SampleWithTime,
  selectRange,
  type TimeRange,
  type TrackCodec,
  type TrackInfo,
} from "../media/mod.ts";
import { assert } from "../shared/assert.ts";
import { BadRequestError, NotFoundError, UnsupportedError } from "../shared/errors.ts";

/** Reads one stored object (key relative to the storage root); undefined when it does not exist. */
export type ReadObject = (key: string) => Promise<Uint8Array | undefined>;

/** One period of a stored recording, located: the folder its index.json lives in, and the period. */
export interface StoredPeriod {
  recordDir: string;
  period: PeriodIndex;
}

/** Longest range `rangeMp4` exports: six hours, in milliseconds. */
export const MAX_RANGE_MS = 6 * 60 * 60 * 1000;

/** What `rangeMp4` writes: a progressive (faststart) MP4, or a fragmented one (moov with mvex, then moof + mdat). */
export const EXPORT_FORMATS = ["mp4", "fmp4"] as const;
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** How many segment reads run at once. */
const READ_CONCURRENCY = 8;

/** The common timeline of a file and of a period's span: microseconds. */
const MICROS = 1_000_000;

/** Time 0 of the joined tracks, where the first piece's span starts: time 0 of the file. */
const FILE_ORIGIN: MediaTime = { ticks: 0, timescale: MICROS };

const KINDS = ["video", "audio"] as const;
type Kind = typeof KINDS[number];

/** track_ID of each track in the exported file, whatever the segments used. */
const TRACK_IDS: Record<Kind, number> = { video: 1, audio: 2 };

/** A track of one period as read: the init segment's track and samples on the period's timeline (0 = startedAt). */
type LoadedTrack = Mp4Track;

/** What one period adds to a file: its tracks and the span [startUs, endUs) of its timeline they cover. */
interface Piece {
  recordId: string;
  tracks: Partial<Record<Kind, LoadedTrack>>;
  startUs: number;
  endUs: number;
}

/**
 * All of `periods` (for a whole recording: every period of it in its folder's index, in order) as one MP4: the
 * periods follow each other with the gaps between them closed and the A/V offsets within each period kept, a format
 * change between them a new sample entry. A missing segment object is skipped (see the file comment). Throws
 * NotFoundError when no segment could be read, UnsupportedError when a track of the periods cannot be joined into
 * one (a different timescale, codec or channel count).
 */
export async function recordingMp4(read: ReadObject, periods: readonly StoredPeriod[]): Promise<Uint8Array> {
  const pieces: Piece[] = [];
  for (const { recordDir, period } of periods) {
    const tracks: Partial<Record<Kind, LoadedTrack>> = {};
    for (const kind of KINDS) {
      const track = period[kind];
      if (track === undefined) continue;
      const loaded = await loadTrack(read, recordDir, track, track.segments.map((_, i) => i));
      if (loaded !== undefined) tracks[kind] = loaded;
    }
    const piece = pieceOf(period.recordId, tracks, null);
    if (piece !== undefined) pieces.push(piece);
  }
  if (pieces.length === 0) {
    const ids = periods.map(({ period }) => JSON.stringify(period.recordId)).join(", ");
    throw new NotFoundError(`no stored samples in recording ${ids === "" ? "(no periods)" : ids}`);
  }
  return progressiveMp4(joinPieces(pieces).map(fileTrack), { origin: FILE_ORIGIN });
}

/**
 * "From wall-clock `startMs` for `durationMs`" across segments, periods and recordings, as one MP4 of `format`
 * (progressive by default). `periods` may come from several folders and recordings, in time order. Only the segments
 * overlapping the range are read; within each period selectRange's rule applies (video from the keyframe at or
 * before the start, audio overlapping from there), and the periods are joined as in `recordingMp4`. A missing segment
 * object is skipped. Both formats hold the same samples with the same timing. Throws BadRequestError for an invalid
 * range (not finite, duration not in (0, 6 h]), NotFoundError when nothing was recorded in it, UnsupportedError when
 * a track of the periods joined cannot be joined into one, or for "fmp4" when its format changes (see the file
 * comment).
 */
export async function rangeMp4(
  read: ReadObject,
  periods: readonly StoredPeriod[],
  range: { startMs: number; durationMs: number },
  format: ExportFormat = "mp4",
): Promise<Uint8Array> {
  checkRange(range);
  const pieces: Piece[] = [];
  for (const stored of periods) {
    const piece = await rangePiece(read, stored, range);
    if (piece !== undefined) pieces.push(piece);
  }
  if (pieces.length === 0) {
    throw new NotFoundError(
      `nothing recorded from ${new Date(range.startMs).toISOString()} for ${range.durationMs / 1000} s`,
    );
  }
  const joined = joinPieces(pieces);
  if (format === "fmp4") {
    joined.forEach(checkSingleEntry);
    return fragmentedMp4(joined.map(fileTrack), FILE_ORIGIN);
  }
  return progressiveMp4(joined.map(fileTrack), { origin: FILE_ORIGIN });
}

/** Largest |time value| a Date holds (ECMA-262 §21.4.1.22), so the range start can be named in a message. */
const MAX_DATE_MS = 8.64e15;

function checkRange({ startMs, durationMs }: { startMs: number; durationMs: number }): void {
  if (!Number.isFinite(startMs) || Math.abs(startMs) > MAX_DATE_MS) {
    throw new BadRequestError(`invalid export range: "startMs" must be a wall-clock time in ms, got ${startMs}`);
  }
  if (!Number.isFinite(durationMs) || durationMs <= 0 || durationMs > MAX_RANGE_MS) {
    throw new BadRequestError(
      `invalid export range: "durationMs" must be more than 0 and at most ${MAX_RANGE_MS} (6 h), got ${durationMs}`,
    );
  }
}

/**
 * The part of one period that a range export takes, reading only the segments it needs: video first, for the
 * keyframe the clip starts at, then the audio overlapping from there.
 */
async function rangePiece(
  read: ReadObject,
  { recordDir, period }: StoredPeriod,
  range: { startMs: number; durationMs: number },
): Promise<Piece | undefined> {
  const startedAtMs = Date.parse(period.startedAt);
  assert(Number.isFinite(startedAtMs), `startedAt of ${period.recordId} is not a date: ${period.startedAt}`);
  const fromUs = Math.round((range.startMs - startedAtMs) * 1000);
  const timeRange: TimeRange = {
    startTicks: fromUs,
    durationTicks: Math.round(range.durationMs * 1000),
    timescale: MICROS,
  };
  const to: MediaTime = { ticks: fromUs + timeRange.durationTicks, timescale: MICROS };

  const tracks: Partial<Record<Kind, LoadedTrack>> = {};
  let from: MediaTime = { ticks: fromUs, timescale: MICROS };
  if (period.video !== undefined) {
    const wanted = overlappingSegments(period.video, from, to);
    const video = await loadTrack(read, recordDir, period.video, wanted);
    if (video !== undefined) {
      tracks.video = video;
      from = selectRange([video], timeRange).origin;
    }
  }
  if (period.audio !== undefined) {
    const wanted = overlappingSegments(period.audio, from, to);
    const audio = await loadTrack(read, recordDir, period.audio, wanted);
    if (audio !== undefined) tracks.audio = audio;
  }

  const kinds = KINDS.filter((kind) => tracks[kind] !== undefined);
  const selection = selectRange(kinds.map((kind) => tracks[kind]!), timeRange);
  const selected: Partial<Record<Kind, LoadedTrack>> = {};
  kinds.forEach((kind, i) => {
    const track = selection.tracks[i];
    if (track !== undefined && track.samples.length > 0) selected[kind] = track;
  });
  return pieceOf(
    period.recordId,
    selected,
    rescaleTicks(selection.origin.ticks, selection.origin.timescale, MICROS, "round"),
  );
}

/** Indexes into `track.segments` of the segments whose span on the period timeline overlaps [from, to). */
function overlappingSegments(track: TrackIndex, from: MediaTime, to: MediaTime): number[] {
  const offset = track.presentationTimeOffset ?? 0;
  const wanted: number[] = [];
  track.segments.forEach((segment, i) => {
    const start = { ticks: segment.startTicks - offset, timescale: track.timescale };
    const end = { ticks: segment.startTicks + segment.durationTicks - offset, timescale: track.timescale };
    if (compareTimes(start, to) < 0 && compareTimes(from, end) < 0) wanted.push(i);
  });
  return wanted;
}

/**
 * The samples of segments `wanted` (indexes into `track.segments`) of a track, moved onto the period timeline (media
 * time minus the presentation time offset). Undefined when there is nothing to read: no segment wanted, no init
 * segment stored, or no sample in the segments that are stored. Missing segments are skipped.
 */
async function loadTrack(
  read: ReadObject,
  recordDir: string,
  track: TrackIndex,
  wanted: readonly number[],
): Promise<LoadedTrack | undefined> {
  if (wanted.length === 0) return undefined;
  const init = await read(objectKey(recordDir, track.init));
  if (init === undefined) return undefined;
  const info = readInit(init);
  const keys = wanted.map((i) => objectKey(recordDir, expandNumberTemplate(track.media, track.startNumber + i)));
  const offset = track.presentationTimeOffset ?? 0;
  const samples: SampleWithTime[] = [];
  for (const bytes of await readAll(read, keys)) {
    if (bytes === undefined) continue;
    for (const sample of readSegmentSamples(bytes)) {
      samples.push({ ...sample, decodeTimeTicks: sample.decodeTimeTicks - offset });
    }
  }
  return samples.length === 0 ? undefined : { info, samples };
}

/** Reads `keys` with at most READ_CONCURRENCY reads in flight; the results are in the order of `keys`. */
async function readAll(read: ReadObject, keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
  const results: (Uint8Array | undefined)[] = keys.map(() => undefined);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < keys.length; i = next++) results[i] = await read(keys[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, worker));
  return results;
}

/** A stored object's key: `name` in folder `recordDir` (the empty folder is the storage root). */
function objectKey(recordDir: string, name: string): string {
  const dir = recordDir.replace(/\/+$/, "");
  return dir === "" ? name : `${dir}/${name}`;
}

/**
 * A period's piece of the file: the tracks that have samples, and the span they cover on the period timeline, from
 * the earliest first sample (but not before `originUs`, where a range's video starts) to the latest sample end.
 * Undefined when no track has samples.
 */
function pieceOf(
  recordId: string,
  tracks: Partial<Record<Kind, LoadedTrack>>,
  originUs: number | null,
): Piece | undefined {
  let startUs = Infinity;
  let endUs = -Infinity;
  for (const kind of KINDS) {
    const track = tracks[kind];
    const first = track?.samples[0];
    const last = track?.samples[track.samples.length - 1];
    if (track === undefined || first === undefined || last === undefined) continue;
    startUs = Math.min(startUs, rescaleTicks(first.decodeTimeTicks, track.info.timescale, MICROS, "round"));
    endUs = Math.max(
      endUs,
      rescaleTicks(last.decodeTimeTicks + last.durationTicks, track.info.timescale, MICROS, "round"),
    );
  }
  if (startUs === Infinity) return undefined;
  return { recordId, tracks, startUs: originUs === null ? startUs : Math.max(startUs, originUs), endUs };
}

/**
 * One track of the file being joined: the first period's track (its codec the first sample entry), every distinct
 * sample entry in order of first use with the recording that brought it, and the samples.
 */
interface JoinedTrack {
  kind: Kind;
  info: TrackInfo;
  entries: { codec: TrackCodec; recordId: string }[];
  samples: SampleWithTime[];
}

/**
 * The pieces back to back as the tracks of one file, the first piece's span starting at FILE_ORIGIN (see the file
 * comment for the rules at a join).
 */
function joinPieces(pieces: readonly Piece[]): JoinedTrack[] {
  const joined: Partial<Record<Kind, JoinedTrack>> = {};
  let offsetUs = 0;
  pieces.forEach((piece, pieceIndex) => {
    for (const kind of KINDS) {
      const track = piece.tracks[kind];
      if (track === undefined) continue;
      const into = joined[kind] ??= {
        kind,
        info: { ...track.info, trackId: TRACK_IDS[kind] },
        entries: [{ codec: track.info.codec, recordId: piece.recordId }],
        samples: [],
      };
      const sampleEntryIndex = sampleEntryFor(into, track.info, piece.recordId);
      const timescale = track.info.timescale;
      const shiftTicks = rescaleTicks(offsetUs - piece.startUs, MICROS, timescale, "round");
      const firstTicks = pieceIndex === 0 ? -Infinity : rescaleTicks(piece.startUs, MICROS, timescale, "round");
      for (const sample of track.samples) {
        if (sample.decodeTimeTicks < firstTicks) continue;
        into.samples.push({ ...sample, decodeTimeTicks: sample.decodeTimeTicks + shiftTicks, sampleEntryIndex });
      }
    }
    offsetUs += piece.endUs - piece.startUs;
  });
  return KINDS.map((kind) => joined[kind]).filter((track) => track !== undefined);
}

/** A joined track as the file writers take it: several sample entries only when its format changes. */
function fileTrack({ info, entries, samples }: JoinedTrack): Mp4Track {
  if (entries.length === 1) return { info, samples };
  return { info, sampleEntries: entries.map((entry) => entry.codec), samples };
}

/**
 * The index into `into.entries` of the sample entry for a period whose track is `info`: an equal one's, else a new
 * one's. Throws UnsupportedError, naming both recordings, when `info` cannot join the track at all.
 */
function sampleEntryFor(into: JoinedTrack, info: TrackInfo, recordId: string): number {
  const first = into.entries[0];
  assert(first !== undefined, "a joined track has a first sample entry");
  const a = first.codec;
  const b = info.codec;
  let refusal: string | undefined;
  if (into.info.timescale !== info.timescale) refusal = `timescale ${into.info.timescale} vs ${info.timescale}`;
  else if (a.kind !== b.kind) refusal = `codec ${a.kind} vs ${b.kind}`;
  else if (a.sampleEntry.fourcc !== b.sampleEntry.fourcc) {
    refusal = `codec ${a.sampleEntry.fourcc} vs ${b.sampleEntry.fourcc}`;
  } else if (a.kind === "audio" && b.kind === "audio" && a.channels !== b.channels) {
    refusal = `${a.sampleEntry.fourcc} channels ${a.channels} vs ${b.channels}`;
  }
  if (refusal !== undefined) {
    throw new UnsupportedError(
      `cannot join ${namePeriods(first.recordId, recordId)} into one MP4: their ${into.kind} differs (${refusal}), ` +
        `which one track cannot carry; export them separately`,
    );
  }
  const index = into.entries.findIndex((entry) => sameSampleEntry(entry.codec, b));
  if (index >= 0) return index;
  into.entries.push({ codec: b, recordId });
  return into.entries.length - 1;
}

/**
 * Throws UnsupportedError, naming the recordings, when a track has more than one sample entry: a fragmented file
 * cannot carry its format change so that ffmpeg follows it (see the file comment).
 */
function checkSingleEntry({ kind, entries }: JoinedTrack): void {
  const [first, second] = entries;
  if (first === undefined || second === undefined) return;
  throw new UnsupportedError(
    `cannot join ${namePeriods(first.recordId, second.recordId)} into one fragmented MP4: their ${kind} changes ` +
      `format (${difference(first.codec, second.codec)}), which players such as ffmpeg do not follow between ` +
      `fragments; export them as "mp4", or separately`,
  );
}

/** The periods joined, for a message: of two recordings, or of one (whose format changed). */
function namePeriods(firstId: string, secondId: string): string {
  return firstId === secondId
    ? `periods of recording ${JSON.stringify(firstId)}`
    : `recordings ${JSON.stringify(firstId)} and ${JSON.stringify(secondId)}`;
}

/** What differs between two sample entries of one type, for a message. */
function difference(a: TrackCodec, b: TrackCodec): string {
  const parts: string[] = [];
  if (!sameBytes(a.sampleEntry.config.body, b.sampleEntry.config.body)) {
    parts.push(`${a.sampleEntry.fourcc} configuration (${a.sampleEntry.config.fourcc})`);
  }
  if (a.kind === "video" && b.kind === "video" && (a.widthPx !== b.widthPx || a.heightPx !== b.heightPx)) {
    parts.push(`${a.widthPx}x${a.heightPx} vs ${b.widthPx}x${b.heightPx}`);
  }
  if (a.kind === "audio" && b.kind === "audio" && a.sampleRate !== b.sampleRate) {
    parts.push(`${a.sampleRate} Hz vs ${b.sampleRate} Hz`);
  }
  return parts.length === 0 ? `${a.sampleEntry.fourcc} sample entry` : parts.join(", ");
}

/** Whether two sample entries would be written as the same bytes. */
function sameSampleEntry(a: TrackCodec, b: TrackCodec): boolean {
  if (a.sampleEntry.fourcc !== b.sampleEntry.fourcc || a.sampleEntry.config.fourcc !== b.sampleEntry.config.fourcc) {
    return false;
  }
  if (!sameBytes(a.sampleEntry.config.body, b.sampleEntry.config.body)) return false;
  if (a.kind === "video" && b.kind === "video") return a.widthPx === b.widthPx && a.heightPx === b.heightPx;
  if (a.kind === "audio" && b.kind === "audio") return a.channels === b.channels && a.sampleRate === b.sampleRate;
  return false;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
