/**
 * Init segments, media segments and the fragments that continue them, for single-track fragmented MP4 (ISO/IEC
 * 14496-12, CMAF-compatible), each produced as one Uint8Array sized in a measuring pass and filled in a second pass,
 * so sample bytes are copied exactly once. No sidx, and no edit list in an init segment: Opus pre-skip is left to the
 * dOps PreSkip field.
 */

import { type ByteWriter, encode, measure } from "./byte_writer.ts";
import { type Brands, ftyp, mdat, mdatHeaderSize, moof, moov, styp } from "./boxes.ts";
import type { Sample, TrackInfo } from "./track.ts";
import { assert } from "../shared/assert.ts";

/** Init segment brands: ISO BMFF 6th edition, CMAF track ("cmfc"), DASH, MP4 (ISO/IEC 14496-12 §4.3, 23000-19). */
export const INIT_BRANDS: Brands = {
  majorBrand: "iso6",
  minorVersion: 0,
  compatibleBrands: ["iso6", "isom", "cmfc", "dash", "mp41"],
};

/** Media segment brands: DASH media segment ("msdh", ISO/IEC 23009-1 §6.3.4) and CMAF segment ("cmfs"). */
export const SEGMENT_BRANDS: Brands = {
  majorBrand: "msdh",
  minorVersion: 0,
  compatibleBrands: ["msdh", "cmfs"],
};

/** ftyp + moov for one track: the CMAF header (init.m4s for video, audio_init.m4s for audio). */
export function initSegment(track: TrackInfo): Uint8Array {
  assert(Number.isInteger(track.trackId) && track.trackId >= 1, `trackId must be >= 1, got ${track.trackId}`);
  assert(Number.isInteger(track.timescale) && track.timescale >= 1, `timescale must be >= 1, got ${track.timescale}`);
  return encode((w) => {
    ftyp(w, INIT_BRANDS);
    moov(w, [track]);
  });
}

/** Arguments of `mediaSegment` and `mediaFragment`: one fragment of one track. */
export interface MediaSegmentInput {
  /** mfhd sequence number, strictly increasing per track across the fragments of a recording (§8.8.5). */
  sequenceNumber: number;
  trackId: number;
  /**
   * 1-based stsd entry of the samples, for a track with several sample entries (an export file's format change);
   * absent: 1, the trex default (ISO/IEC 14496-12 §8.8.7).
   */
  sampleDescriptionIndex?: number;
  /** tfdt baseMediaDecodeTime of the first sample, in track timescale ticks. */
  baseDecodeTimeTicks: number;
  samples: readonly Sample[];
}

/** styp + moof(mfhd, traf(tfhd, tfdt, trun)) + mdat for one track (ISO/IEC 14496-12 §8.16, CMAF segment). */
export function mediaSegment(args: MediaSegmentInput): Uint8Array {
  return encodeFragment(args, true);
}

/** moof + mdat: a fragment that continues a segment begun by `mediaSegment` (ISO/IEC 14496-12 §8.8.4, §8.1.1). */
export function mediaFragment(args: MediaSegmentInput): Uint8Array {
  return encodeFragment(args, false);
}

function encodeFragment(args: MediaSegmentInput, withStyp: boolean): Uint8Array {
  return encode((w: ByteWriter) => {
    if (withStyp) styp(w, SEGMENT_BRANDS);
    writeFragment(w, args);
  });
}

/** moof + mdat of one track fragment, written into `w` (fmp4_file.ts writes whole files of them). */
export function writeFragment(w: ByteWriter, args: MediaSegmentInput): void {
  let payloadBytes = 0;
  for (const sample of args.samples) payloadBytes += sample.data.byteLength;
  const fragment = {
    sequenceNumber: args.sequenceNumber,
    trackId: args.trackId,
    ...(args.sampleDescriptionIndex === undefined ? {} : { sampleDescriptionIndex: args.sampleDescriptionIndex }),
    baseDecodeTimeTicks: args.baseDecodeTimeTicks,
    dataOffset: 0,
    samples: args.samples,
  };
  // With default-base-is-moof the first sample starts right after the moof and the mdat header.
  fragment.dataOffset = measure((m) => moof(m, fragment)) + mdatHeaderSize(payloadBytes);
  moof(w, fragment);
  mdat(w, args.samples);
}
