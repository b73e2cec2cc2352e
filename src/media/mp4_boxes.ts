/**
 * ISO BMFF box writers for a progressive (non-fragmented) MP4 (ISO/IEC 14496-12:2022), one function per fourcc, one
 * spec field per line: the containers of a moov without mvex, the edit list, and the sample tables. They write the
 * values they are given; run-length coding, chunking and offsets are worked out by mp4_file.ts. The headers (mvhd,
 * tkhd, mdhd, given real durations here), the mdat header and the boxes that do not depend on the samples (hdlr,
 * vmhd, smhd, dinf, the sample entries) are reused from boxes.ts.
 */

import type { ByteWriter } from "./byte_writer.ts";
import { dinf, hdlr, mdhd, mvhd, smhd, stsd, tkhd, U32_MAX, vmhd } from "./boxes.ts";
import type { TrackCodec, TrackInfo } from "./track.ts";

/** One stts entry: `sampleCount` consecutive samples lasting `sampleDeltaTicks` each (ISO/IEC 14496-12 §8.6.1.2). */
export interface TimeToSampleEntry {
  sampleCount: number;
  sampleDeltaTicks: number;
}

/** One ctts entry: `sampleCount` consecutive samples presented `sampleOffsetTicks` after they decode (§8.6.1.3). */
export interface CompositionOffsetEntry {
  sampleCount: number;
  sampleOffsetTicks: number;
}

/**
 * One stsc entry: chunks from `firstChunk` (1-based) on hold `samplesPerChunk` samples each, described by stsd entry
 * `sampleDescriptionIndex` (1-based) (§8.7.4).
 */
export interface SampleToChunkEntry {
  firstChunk: number;
  samplesPerChunk: number;
  sampleDescriptionIndex: number;
}

/** One elst entry (ISO/IEC 14496-12 §8.6.6): `segmentDurationTicks` of the movie timescale showing the media from
 * `mediaTimeTicks` (track timescale) on, or nothing when `mediaTimeTicks` is -1 (an empty edit). */
export interface EditEntry {
  segmentDurationTicks: number;
  mediaTimeTicks: number;
}

/** Everything a progressive trak says about its track and samples, worked out before writing. */
export interface TrackBoxesInput {
  info: TrackInfo;
  /** The stsd entries in order, `info.codec` first; stsc names them by 1-based sample_description_index. */
  sampleEntries: readonly TrackCodec[];
  /** Track presentation duration in the movie timescale: the sum of its edits, or of its samples without edits. */
  trackDurationTicks: number;
  /** Sum of the sample durations in the track timescale. */
  mediaDurationTicks: number;
  /** Empty: no edts box, the media plays from the movie's start. */
  edits: readonly EditEntry[];
  timeToSample: readonly TimeToSampleEntry[];
  /** Empty: no ctts box, every sample is presented when it decodes. */
  compositionOffsets: readonly CompositionOffsetEntry[];
  /** 1-based numbers of the sync samples; null: no stss box, every sample is a sync sample. */
  syncSamples: readonly number[] | null;
  sampleToChunk: readonly SampleToChunkEntry[];
  sampleSizes: readonly number[];
  /** Absolute file offsets of the chunks. */
  chunkOffsets: readonly number[];
  /** Write co64 instead of stco: some offset of the file is beyond 2^32 - 1. */
  hasLargeOffsets: boolean;
}

/** The moov of a progressive file. */
export interface MovieBoxesInput {
  timescale: number;
  /** Longest track duration, in the movie timescale. */
  durationTicks: number;
  tracks: readonly TrackBoxesInput[];
}

/** Movie box of a progressive file: header and one trak per track, no mvex (ISO/IEC 14496-12 §8.2.1). */
export function moov(w: ByteWriter, movie: MovieBoxesInput): void {
  const nextTrackId = Math.max(0, ...movie.tracks.map((track) => track.info.trackId)) + 1;
  w.box("moov", () => {
    mvhd(w, { timescale: movie.timescale, durationTicks: movie.durationTicks, nextTrackId });
    for (const track of movie.tracks) trak(w, track);
  });
}

/** Track box: header, optional edit list, media (ISO/IEC 14496-12 §8.3.1). */
export function trak(w: ByteWriter, track: TrackBoxesInput): void {
  w.box("trak", () => {
    tkhd(w, { ...track.info, sampleEntries: track.sampleEntries }, track.trackDurationTicks);
    if (track.edits.length > 0) edts(w, track.edits);
    mdia(w, track);
  });
}

/** Edit box holding the edit list (ISO/IEC 14496-12 §8.6.5). */
export function edts(w: ByteWriter, edits: readonly EditEntry[]): void {
  w.box("edts", () => elst(w, edits));
}

/** Edit list: maps the track's media onto the movie timeline; version 1 only when a value needs 64 bits (§8.6.6). */
export function elst(w: ByteWriter, edits: readonly EditEntry[]): void {
  const version = edits.some((e) => e.segmentDurationTicks > U32_MAX || e.mediaTimeTicks > 0x7fff_ffff) ? 1 : 0;
  w.fullBox("elst", version, 0, () => {
    w.u32(edits.length); // entry_count
    for (const edit of edits) {
      if (version === 1) {
        w.u64(edit.segmentDurationTicks); // segment_duration
        if (edit.mediaTimeTicks < 0) {
          w.u32(U32_MAX); // media_time, high word of -1: empty edit
          w.u32(U32_MAX); // media_time, low word
        } else {
          w.u64(edit.mediaTimeTicks); // media_time
        }
      } else {
        w.u32(edit.segmentDurationTicks); // segment_duration
        w.i32(edit.mediaTimeTicks); // media_time, -1: empty edit
      }
      w.i16(1); // media_rate_integer
      w.i16(0); // media_rate_fraction
    }
  });
}

/** Media box: header, handler and media information (ISO/IEC 14496-12 §8.4.1). */
export function mdia(w: ByteWriter, track: TrackBoxesInput): void {
  w.box("mdia", () => {
    mdhd(w, track.info.timescale, track.mediaDurationTicks);
    hdlr(w, track.info.codec.kind === "video" ? "vide" : "soun");
    minf(w, track);
  });
}

/** Media information box: media header, data information, sample table (ISO/IEC 14496-12 §8.4.4). */
export function minf(w: ByteWriter, track: TrackBoxesInput): void {
  w.box("minf", () => {
    if (track.info.codec.kind === "video") vmhd(w);
    else smhd(w);
    dinf(w);
    stbl(w, track);
  });
}

/** Sample table: sample entries, timing, sync samples, chunking, sizes and chunk offsets (ISO/IEC 14496-12 §8.5.1). */
export function stbl(w: ByteWriter, track: TrackBoxesInput): void {
  w.box("stbl", () => {
    stsd(w, track.sampleEntries);
    stts(w, track.timeToSample);
    if (track.compositionOffsets.length > 0) ctts(w, track.compositionOffsets);
    if (track.syncSamples !== null) stss(w, track.syncSamples);
    stsc(w, track.sampleToChunk);
    stsz(w, track.sampleSizes);
    if (track.hasLargeOffsets) co64(w, track.chunkOffsets);
    else stco(w, track.chunkOffsets);
  });
}

/** Decoding time to sample, run-length coded (ISO/IEC 14496-12 §8.6.1.2). */
export function stts(w: ByteWriter, entries: readonly TimeToSampleEntry[]): void {
  w.fullBox("stts", 0, 0, () => {
    w.u32(entries.length); // entry_count
    for (const entry of entries) {
      w.u32(entry.sampleCount); // sample_count
      w.u32(entry.sampleDeltaTicks); // sample_delta
    }
  });
}

/** Composition time to sample, run-length coded; version 1 (signed offsets) only when one is negative (§8.6.1.3). */
export function ctts(w: ByteWriter, entries: readonly CompositionOffsetEntry[]): void {
  const version = entries.some((entry) => entry.sampleOffsetTicks < 0) ? 1 : 0;
  w.fullBox("ctts", version, 0, () => {
    w.u32(entries.length); // entry_count
    for (const entry of entries) {
      w.u32(entry.sampleCount); // sample_count
      if (version === 1) w.i32(entry.sampleOffsetTicks); // sample_offset, signed
      else w.u32(entry.sampleOffsetTicks); // sample_offset
    }
  });
}

/** Sync samples by 1-based number, ascending (ISO/IEC 14496-12 §8.6.2). */
export function stss(w: ByteWriter, sampleNumbers: readonly number[]): void {
  w.fullBox("stss", 0, 0, () => {
    w.u32(sampleNumbers.length); // entry_count
    for (const sampleNumber of sampleNumbers) w.u32(sampleNumber); // sample_number
  });
}

/** Sample to chunk, one entry per change of samples per chunk or of sample entry (ISO/IEC 14496-12 §8.7.4). */
export function stsc(w: ByteWriter, entries: readonly SampleToChunkEntry[]): void {
  w.fullBox("stsc", 0, 0, () => {
    w.u32(entries.length); // entry_count
    for (const entry of entries) {
      w.u32(entry.firstChunk); // first_chunk
      w.u32(entry.samplesPerChunk); // samples_per_chunk
      w.u32(entry.sampleDescriptionIndex); // sample_description_index
    }
  });
}

/** Sample sizes: one shared sample_size when all are equal, else a table (ISO/IEC 14496-12 §8.7.3.2). */
export function stsz(w: ByteWriter, sizes: readonly number[]): void {
  const first = sizes[0] ?? 0;
  const isConstant = first > 0 && sizes.every((size) => size === first);
  w.fullBox("stsz", 0, 0, () => {
    w.u32(isConstant ? first : 0); // sample_size, 0: sizes follow
    w.u32(sizes.length); // sample_count
    if (!isConstant) {
      for (const size of sizes) w.u32(size); // entry_size
    }
  });
}

/** Chunk offsets from the start of the file, 32-bit (ISO/IEC 14496-12 §8.7.5). */
export function stco(w: ByteWriter, offsets: readonly number[]): void {
  w.fullBox("stco", 0, 0, () => {
    w.u32(offsets.length); // entry_count
    for (const offset of offsets) w.u32(offset); // chunk_offset
  });
}

/** Chunk offsets from the start of the file, 64-bit, for files past 4 GiB (ISO/IEC 14496-12 §8.7.5). */
export function co64(w: ByteWriter, offsets: readonly number[]): void {
  w.fullBox("co64", 0, 0, () => {
    w.u32(offsets.length); // entry_count
    for (const offset of offsets) w.u64(offset); // chunk_offset
  });
}
