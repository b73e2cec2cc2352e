/**
 * A progressive, "faststart" MP4 of timed samples (ISO/IEC 14496-12 §6.2.3 order: ftyp, moov, mdat): the whole-file
 * export of a finished recording or of a clip. The moov is laid out first, in a measuring pass, so the chunk offsets
 * it carries are final before any byte is written (no rewrite, no seek back). Pure: it takes samples and returns
 * bytes (or the parts to stream); it reads no segments, and it does not decide which formats may share a track.
 *
 * Choices:
 * - Decode times are authoritative: a sample lasts until the next one decodes (its own `durationTicks` is used only
 *   for the last sample). A gap between recordings therefore stays a gap, both tracks keep their relative timing, and
 *   a caller that wants gaps closed rebases `decodeTimeTicks` before calling.
 * - Chunks: each track's samples are cut into chunks of about `chunkDurationMs` (1 s) of decode time, and the chunks
 *   of all tracks are written in order of their first decode time, so a player reading A and V in step moves through
 *   the mdat forwards, never more than a chunk apart.
 * - Edit lists (ISO/IEC 14496-12 §8.6.6): the movie starts at `origin` (default: the earliest presentation start of
 *   any track). A track presenting later than that gets an empty edit as long as the difference (a silent or black
 *   lead-in), and one presenting earlier gets a media_time that skips its head; a track that starts exactly at the
 *   origin with no composition delay gets no edts at all. So audio stays in sync with video however their first
 *   samples fall, without moving or cutting any sample. Opus pre-skip stays in dOps, as in the fragmented segments.
 * - Several sample entries (ISO/IEC 14496-12 §8.5.2): a track whose format changes (a publisher switching resolution
 *   between periods) lists each format once in stsd, and its samples name theirs by `sampleEntryIndex`. A chunk
 *   holds the samples of one entry only (a chunk is cut where the entry changes), and stsc carries each chunk's
 *   sample_description_index. Whether a player copes is the caller's to judge: ffmpeg 5.1 follows a change of
 *   decoder configuration within one codec (it hands the new one to the decoder), not a change of fourcc.
 * - tkhd width and height are the last sample entry's, neither the first's nor the largest: ffmpeg 5.1 takes a video
 *   stream's size from the last stsd entry it parses and, where tkhd differs from it, turns the ratio into a sample
 *   aspect ratio that stretches every picture (320x240 then 640x360 under a 320x240 tkhd decodes at SAR 3:4). With
 *   the last entry's size it derives none and shows each picture at its own size; a player that scales pictures to
 *   tkhd instead shows every format in the last one's frame (as it would the others in the first's).
 */

import { BadRequestError } from "../shared/errors.ts";
import { assert } from "../shared/assert.ts";
import { type Brands, ftyp, mdatHeader, mdatHeaderSize, U32_MAX } from "./boxes.ts";
import { encode, measure } from "./byte_writer.ts";
import { compareTimes, differenceTicks, type MediaTime, rescaleTicks } from "./media_time.ts";
import {
  type CompositionOffsetEntry,
  type EditEntry,
  moov,
  type MovieBoxesInput,
  type SampleToChunkEntry,
  type TimeToSampleEntry,
  type TrackBoxesInput,
} from "./mp4_boxes.ts";
import type { SampleWithTime, TrackCodec, TrackInfo } from "./track.ts";

/**
 * What the layout needs of a sample: its timing, sync flag, size and sample entry; the bytes only matter when
 * writing.
 */
export interface SampleShape {
  decodeTimeTicks: number;
  durationTicks: number;
  ctsOffsetTicks: number;
  isSync: boolean;
  data: { readonly byteLength: number };
  /** 0-based index into its track's `sampleEntries`; absent: 0. */
  sampleEntryIndex?: number;
}

/** One track of a file: its codec configuration and its samples in decode order, times in `info.timescale`. */
export interface Mp4Track<S extends SampleShape = SampleWithTime> {
  info: TrackInfo;
  /**
   * Every sample entry of a track that changes format, in stsd order: `info.codec` first (the very object), then
   * the others, all of `info.codec.kind`; each sample names its own by `sampleEntryIndex`. Absent: `[info.codec]`.
   */
  sampleEntries?: readonly TrackCodec[];
  samples: readonly S[];
}

/** Options of `progressiveMp4`. */
export interface ProgressiveMp4Options {
  /**
   * Time on the recording timeline that becomes 0 in the file; default: the earliest presentation start of any
   * track. A track starting later gets an empty edit, one starting earlier an edit that skips its head.
   */
  origin?: MediaTime;
  /** Timescale of mvhd, tkhd and elst durations. Default 1000. */
  movieTimescale?: number;
  /** Target decode duration of a chunk, the unit in which tracks are interleaved in the mdat. Default 1000. */
  chunkDurationMs?: number;
}

/**
 * Brands of a progressive MP4: ISO base media, version 2 features, MP4 v1 (§4.3). No codec brand: players go by the
 * sample entries, and the same brands then serve every codec.
 */
const PROGRESSIVE_BRANDS: Brands = {
  majorBrand: "isom",
  minorVersion: 0x200,
  compatibleBrands: ["isom", "iso2", "mp41"],
};

/** A run of consecutive samples of one track stored back to back in the mdat (ISO/IEC 14496-12 §8.7.4). */
export interface Mp4Chunk {
  /** Index into the non-empty tracks, in the order given. */
  trackIndex: number;
  firstSample: number;
  sampleCount: number;
}

/** A laid-out file: the bytes before the samples, and the order the samples follow in. */
export interface Mp4Layout<S extends SampleShape = SampleWithTime> {
  /** ftyp + moov + the mdat header. */
  header: Uint8Array;
  /** The chunks in file order; their samples' bytes follow the header back to back. */
  chunks: Mp4Chunk[];
  /** The tracks that have samples (empty ones are left out of the file), indexed by `Mp4Chunk.trackIndex`. */
  tracks: Mp4Track<S>[];
  /** Size of the whole file. */
  sizeBytes: number;
}

/**
 * A progressive MP4 with moov before mdat holding every sample of `tracks` (empty tracks are left out). Throws
 * BadRequestError when no track has samples or decode times do not increase.
 */
export function progressiveMp4(tracks: readonly Mp4Track[], opts: ProgressiveMp4Options = {}): Uint8Array {
  const parts = progressiveMp4Parts(tracks, opts);
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return bytes;
}

/** The file of `progressiveMp4` as parts to stream without copying: the header, then views of the sample bytes. */
export function progressiveMp4Parts(tracks: readonly Mp4Track[], opts: ProgressiveMp4Options = {}): Uint8Array[] {
  const layout = layoutProgressiveMp4(tracks, opts);
  const parts = [layout.header];
  for (const chunk of layout.chunks) {
    const samples = layout.tracks[chunk.trackIndex]?.samples;
    const end = chunk.firstSample + chunk.sampleCount;
    assert(samples !== undefined && end <= samples.length, `chunk of track ${chunk.trackIndex} out of range`);
    for (let i = chunk.firstSample; i < end; i++) parts.push(samples[i]!.data);
  }
  return parts;
}

/** The moov (and so the whole layout) of a progressive MP4, from the samples' timing and sizes alone. */
export function layoutProgressiveMp4<S extends SampleShape>(
  tracks: readonly Mp4Track<S>[],
  opts: ProgressiveMp4Options = {},
): Mp4Layout<S> {
  const movieTimescale = opts.movieTimescale ?? 1000;
  const chunkDurationMs = opts.chunkDurationMs ?? 1000;
  assert(Number.isInteger(movieTimescale) && movieTimescale > 0, `movieTimescale must be > 0, got ${movieTimescale}`);
  assert(chunkDurationMs > 0, `chunkDurationMs must be > 0, got ${chunkDurationMs}`);
  const present: Mp4Track<S>[] = tracks.filter((track) => track.samples.length > 0);
  if (present.length === 0) throw new BadRequestError("cannot write an MP4 without samples: every track is empty");
  const ids = new Set(present.map((track) => track.info.trackId));
  assert(ids.size === present.length, "track IDs must be unique");

  const sampleEntries = present.map(sampleEntriesOf);
  const timings = present.map(trackTiming);
  const origin = opts.origin ??
    timings.map((t) => t.presentationStart).reduce((a, b) => compareTimes(a, b) <= 0 ? a : b);

  // Chunks of every track, then all of them in order of first decode time (ties: track order).
  const chunks = present.flatMap((track, trackIndex) => chunksOf(track, trackIndex, chunkDurationMs));
  chunks.sort((a, b) => compareTimes(a.start, b.start) || a.trackIndex - b.trackIndex);
  let payloadBytes = 0;
  for (const chunk of chunks) {
    chunk.offset = payloadBytes;
    payloadBytes += chunk.sizeBytes;
  }

  const chunksOfTrack = present.map((_, trackIndex) => chunks.filter((chunk) => chunk.trackIndex === trackIndex));
  const boxes: TrackBoxesInput[] = present.map((track, trackIndex) => {
    const timing = timings[trackIndex];
    const own = chunksOfTrack[trackIndex];
    const entries = sampleEntries[trackIndex];
    assert(timing !== undefined && own !== undefined && entries !== undefined, "timing, chunks and entries per track");
    const edit = editsOf(track.info, timing, origin, movieTimescale);
    return {
      info: track.info,
      sampleEntries: entries,
      trackDurationTicks: edit.trackDurationTicks,
      mediaDurationTicks: timing.mediaDurationTicks,
      edits: edit.edits,
      timeToSample: timing.timeToSample,
      compositionOffsets: timing.compositionOffsets,
      syncSamples: timing.syncSamples,
      sampleToChunk: sampleToChunk(own),
      sampleSizes: track.samples.map((sample) => sample.data.byteLength),
      chunkOffsets: own.map(() => 0), // measured with placeholders: the size does not depend on the values
      hasLargeOffsets: false,
    };
  });
  const movie: MovieBoxesInput = {
    timescale: movieTimescale,
    durationTicks: Math.max(...boxes.map((track) => track.trackDurationTicks)),
    tracks: boxes,
  };

  // Two passes: the moov's size fixes where the mdat payload starts. co64 only grows the moov, so once an offset is
  // past 2^32 - 1 with stco it stays past it with co64.
  const brands = PROGRESSIVE_BRANDS;
  const mdatHeaderBytes = mdatHeaderSize(payloadBytes);
  const payloadStart = () => measure((w) => ftyp(w, brands)) + measure((w) => moov(w, movie)) + mdatHeaderBytes;
  const lastChunkStart = chunks[chunks.length - 1]?.offset ?? 0;
  const hasLargeOffsets = payloadStart() + lastChunkStart > U32_MAX;
  for (const track of boxes) track.hasLargeOffsets = hasLargeOffsets;
  const start = payloadStart();
  chunksOfTrack.forEach((own, trackIndex) => {
    const track = boxes[trackIndex];
    assert(track !== undefined, "boxes per track");
    track.chunkOffsets = own.map((chunk) => start + chunk.offset);
  });

  const header = encode((w) => {
    ftyp(w, brands);
    moov(w, movie);
    mdatHeader(w, payloadBytes);
  });
  assert(header.byteLength === start, `header of ${header.byteLength} bytes, laid out ${start}`);
  return {
    header,
    chunks: chunks.map(({ trackIndex, firstSample, sampleCount }) => ({ trackIndex, firstSample, sampleCount })),
    tracks: present,
    sizeBytes: start + payloadBytes,
  };
}

/**
 * The edit list that puts `track` on a movie timeline starting at `origin`, as progressiveMp4 writes it (see the file
 * comment); a fragmented file of the same samples gives its tracks the same. Throws BadRequestError as progressiveMp4
 * does when decode times do not increase or the track ends before `origin`.
 */
export function trackEdits(track: Mp4Track<SampleShape>, origin: MediaTime, movieTimescale: number): EditEntry[] {
  return editsOf(track.info, trackTiming(track), origin, movieTimescale).edits;
}

/**
 * The sample entries of `track` (`[info.codec]` unless it has several), checked against its samples: asserts that
 * they start with `info.codec`, share its kind, and that every sample names one of them.
 */
export function sampleEntriesOf(track: Mp4Track<SampleShape>): readonly TrackCodec[] {
  const { info } = track;
  const entries = track.sampleEntries ?? [info.codec];
  assert(entries[0] === info.codec, `track ${info.trackId}: the first sample entry must be info.codec`);
  const otherKind = entries.some((codec) => codec.kind !== info.codec.kind);
  assert(!otherKind, `track ${info.trackId}: every sample entry must be ${info.codec.kind}`);
  const stray = track.samples.findIndex((sample) => {
    const index = sample.sampleEntryIndex ?? 0;
    return !Number.isInteger(index) || index < 0 || index >= entries.length;
  });
  assert(stray === -1, `track ${info.trackId}: sample ${stray} names no sample entry of ${entries.length}`);
  return entries;
}

/** A track's sample timing tables and where its presentation starts. */
interface TrackTiming {
  timeToSample: TimeToSampleEntry[];
  compositionOffsets: CompositionOffsetEntry[];
  syncSamples: number[] | null;
  mediaDurationTicks: number;
  /** Decode time of the first sample: media time 0. */
  firstDecode: MediaTime;
  /** Earliest composition time of any sample. */
  presentationStart: MediaTime;
}

/** stts from decode time differences (the last sample keeps its duration), ctts, stss, and the track's extent. */
function trackTiming(track: Mp4Track<SampleShape>): TrackTiming {
  const { samples, info } = track;
  const timeToSample: TimeToSampleEntry[] = [];
  const compositionOffsets: CompositionOffsetEntry[] = [];
  const syncSamples: number[] = [];
  let earliestPresentation = Infinity;
  samples.forEach((sample, i) => {
    const next = samples[i + 1];
    const deltaTicks = next === undefined ? sample.durationTicks : next.decodeTimeTicks - sample.decodeTimeTicks;
    if (next !== undefined && deltaTicks <= 0) {
      throw new BadRequestError(
        `track ${info.trackId}: decode times must increase, sample ${i + 1} at ${next.decodeTimeTicks} ticks ` +
          `follows ${sample.decodeTimeTicks}`,
      );
    }
    if (deltaTicks < 0 || deltaTicks > U32_MAX) {
      throw new BadRequestError(`track ${info.trackId}: sample ${i} lasts ${deltaTicks} ticks, beyond 32 bits`);
    }
    const lastDelta = timeToSample[timeToSample.length - 1];
    if (lastDelta?.sampleDeltaTicks === deltaTicks) lastDelta.sampleCount++;
    else timeToSample.push({ sampleCount: 1, sampleDeltaTicks: deltaTicks });
    const lastOffset = compositionOffsets[compositionOffsets.length - 1];
    if (lastOffset?.sampleOffsetTicks === sample.ctsOffsetTicks) lastOffset.sampleCount++;
    else compositionOffsets.push({ sampleCount: 1, sampleOffsetTicks: sample.ctsOffsetTicks });
    if (sample.isSync) syncSamples.push(i + 1);
    earliestPresentation = Math.min(earliestPresentation, sample.decodeTimeTicks + sample.ctsOffsetTicks);
  });
  const first = samples[0];
  const last = samples[samples.length - 1];
  assert(first !== undefined && last !== undefined, "timing of an empty track");
  const hasOffsets = compositionOffsets.some((entry) => entry.sampleOffsetTicks !== 0);
  return {
    timeToSample,
    compositionOffsets: hasOffsets ? compositionOffsets : [],
    syncSamples: syncSamples.length === samples.length ? null : syncSamples,
    mediaDurationTicks: last.decodeTimeTicks + last.durationTicks - first.decodeTimeTicks,
    firstDecode: { ticks: first.decodeTimeTicks, timescale: info.timescale },
    presentationStart: { ticks: earliestPresentation, timescale: info.timescale },
  };
}

/**
 * The edit list placing a track's presentation on the movie timeline that starts at `origin`, and the track's
 * duration on it (see the file comment). Durations in the movie timescale round up so no sample is cut off.
 */
function editsOf(
  info: TrackInfo,
  timing: TrackTiming,
  origin: MediaTime,
  movieTimescale: number,
): { edits: EditEntry[]; trackDurationTicks: number } {
  const edits: EditEntry[] = [];
  const emptyTicks = differenceTicks(timing.presentationStart, origin, movieTimescale, "round");
  const mediaStart = compareTimes(timing.presentationStart, origin) >= 0 ? timing.presentationStart : origin;
  // A negative composition offset can put the first presentation before the first decode; an edit cannot reach it.
  const mediaTimeTicks = Math.max(0, differenceTicks(mediaStart, timing.firstDecode, info.timescale, "round"));
  if (mediaTimeTicks >= timing.mediaDurationTicks) {
    throw new BadRequestError(
      `track ${info.trackId} ends before the export origin ${origin.ticks}/${origin.timescale}`,
    );
  }
  const segmentDurationTicks = rescaleTicks(
    timing.mediaDurationTicks - mediaTimeTicks,
    info.timescale,
    movieTimescale,
    "ceil",
  );
  if (emptyTicks > 0) edits.push({ segmentDurationTicks: emptyTicks, mediaTimeTicks: -1 });
  if (edits.length === 0 && mediaTimeTicks === 0) return { edits, trackDurationTicks: segmentDurationTicks };
  edits.push({ segmentDurationTicks, mediaTimeTicks });
  return { edits, trackDurationTicks: edits.reduce((total, edit) => total + edit.segmentDurationTicks, 0) };
}

/** A chunk being laid out: where it starts in time, its sample entry, its size, and its offset in the mdat payload. */
interface PlannedChunk extends Mp4Chunk {
  start: MediaTime;
  /** 0-based, as `SampleShape.sampleEntryIndex`. */
  sampleEntryIndex: number;
  sizeBytes: number;
  offset: number;
}

/**
 * A track's samples cut into chunks of about `chunkDurationMs` of decode time, and where the sample entry changes:
 * stsc gives a chunk one sample_description_index (§8.7.4).
 */
function chunksOf(track: Mp4Track<SampleShape>, trackIndex: number, chunkDurationMs: number): PlannedChunk[] {
  const timescale = track.info.timescale;
  const chunks: PlannedChunk[] = [];
  let open: PlannedChunk | undefined;
  for (let i = 0; i < track.samples.length; i++) {
    const sample = track.samples[i];
    assert(sample !== undefined, "sample index");
    const sampleEntryIndex = sample.sampleEntryIndex ?? 0;
    if (
      open === undefined ||
      open.sampleEntryIndex !== sampleEntryIndex ||
      (sample.decodeTimeTicks - open.start.ticks) * 1000 >= chunkDurationMs * timescale
    ) {
      open = {
        trackIndex,
        firstSample: i,
        sampleCount: 0,
        start: { ticks: sample.decodeTimeTicks, timescale },
        sampleEntryIndex,
        sizeBytes: 0,
        offset: 0,
      };
      chunks.push(open);
    }
    open.sampleCount++;
    open.sizeBytes += sample.data.byteLength;
  }
  return chunks;
}

/**
 * stsc entries of a track's chunks: a new entry only where the number of samples per chunk or the sample entry
 * changes (§8.7.4).
 */
function sampleToChunk(chunks: readonly PlannedChunk[]): SampleToChunkEntry[] {
  const entries: SampleToChunkEntry[] = [];
  chunks.forEach((chunk, i) => {
    const last = entries[entries.length - 1];
    const sampleDescriptionIndex = chunk.sampleEntryIndex + 1;
    if (last?.samplesPerChunk === chunk.sampleCount && last.sampleDescriptionIndex === sampleDescriptionIndex) return;
    entries.push({ firstChunk: i + 1, samplesPerChunk: chunk.sampleCount, sampleDescriptionIndex });
  });
  return entries;
}
