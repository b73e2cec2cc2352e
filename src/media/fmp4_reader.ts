/**
 * Reads back what survives of a media segment file after a crash: walks its top-level boxes (an optional styp, then
 * moof + mdat pairs) and reports every complete fragment and where the last one ends, so a torn file can be cut back
 * to it. Reads only box headers and the fragment header boxes, never sample bytes; never throws, whatever the input.
 * It is no general MP4 parser: anything but the layout src/media writes ends the scan.
 */

import {
  type BoxHeader,
  Cursor,
  readBoxHeader,
  readTfdt,
  readTfhd,
  readTrunHeader,
  readTrunSample,
  type TrackFragmentHeader,
  TRUN_SAMPLE_DURATION,
  TRUN_SAMPLE_SIZE,
} from "./box_reader.ts";

/** One complete fragment (moof + mdat) found in a segment file; ticks are in the track timescale. */
export interface ScannedFragment {
  /** Byte offset of the moof in the segment. */
  offset: number;
  /** Bytes of the moof and its mdat together. */
  sizeBytes: number;
  /** mfhd sequence_number (ISO/IEC 14496-12 §8.8.5). */
  sequenceNumber: number;
  /** tfdt baseMediaDecodeTime (ISO/IEC 14496-12 §8.8.12). */
  baseDecodeTimeTicks: number;
  /** Sum of the sample durations of the trun boxes, or tfhd default_sample_duration (§8.8.7, §8.8.8). */
  durationTicks: number;
  sampleCount: number;
}

/** The complete fragments of a possibly torn segment, and the length it can be cut back to. */
export interface SegmentScan {
  fragments: ScannedFragment[];
  /** End offset of the last complete moof + mdat pair; 0 when there is none (a lone styp does not count). */
  validBytes: number;
}

/** Walks top-level boxes of a (possibly torn) segment: styp, then moof+mdat pairs (ISO/IEC 14496-12 §8.16, §8.8). */
export function scanSegment(bytes: Uint8Array): SegmentScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  const fragments: ScannedFragment[] = [];
  let offset = 0;
  const first = readBoxHeader(view, 0, end);
  if (first !== null && first.type === "styp") offset = first.sizeBytes;
  for (;;) {
    const moofBox = readBoxHeader(view, offset, end);
    if (moofBox === null || moofBox.type !== "moof") break;
    const mdatOffset = offset + moofBox.sizeBytes;
    const mdatBox = readBoxHeader(view, mdatOffset, end);
    if (mdatBox === null || mdatBox.type !== "mdat") break;
    const fragment = readMoof(view, offset, moofBox, mdatBox);
    if (fragment === null) break;
    fragments.push(fragment);
    offset = mdatOffset + mdatBox.sizeBytes;
  }
  const last = fragments[fragments.length - 1];
  return { fragments, validBytes: last === undefined ? 0 : last.offset + last.sizeBytes };
}

/** The fields of a moof (mfhd, first traf) checked against the mdat that follows; null if anything is off. */
function readMoof(view: DataView, moofOffset: number, moofBox: BoxHeader, mdatBox: BoxHeader): ScannedFragment | null {
  const moofEnd = moofOffset + moofBox.sizeBytes;
  let sequenceNumber: number | null = null;
  let trafRuns: TrafRuns | null = null;
  // Sample data must lie in the mdat payload, in bytes from the first byte of the moof.
  const payload = { start: moofBox.sizeBytes + mdatBox.headerBytes, end: moofBox.sizeBytes + mdatBox.sizeBytes };
  for (let at = moofOffset + moofBox.headerBytes; at < moofEnd;) {
    const child = readBoxHeader(view, at, moofEnd);
    if (child === null) return null;
    if (child.type === "mfhd") {
      const body = new Cursor(view, at + child.headerBytes, at + child.sizeBytes);
      body.skip(4); // version, flags
      sequenceNumber = body.u32(); // sequence_number
      if (body.failed) return null;
    } else if (child.type === "traf" && trafRuns === null) {
      trafRuns = readTraf(view, at, child, payload);
      if (trafRuns === null) return null;
    }
    at += child.sizeBytes;
  }
  if (sequenceNumber === null || trafRuns === null) return null;
  return {
    offset: moofOffset,
    sizeBytes: moofBox.sizeBytes + mdatBox.sizeBytes,
    sequenceNumber,
    baseDecodeTimeTicks: trafRuns.baseDecodeTimeTicks,
    durationTicks: trafRuns.durationTicks,
    sampleCount: trafRuns.sampleCount,
  };
}

/** Totals of a traf's runs; `nextDataOffset` is where the next run's data starts, from the moof, null if unknown. */
interface TrafRuns {
  baseDecodeTimeTicks: number;
  durationTicks: number;
  sampleCount: number;
  nextDataOffset: number | null;
}

/** tfhd defaults, tfdt and every trun of a traf; null if the tfhd or tfdt is missing or any box is malformed. */
function readTraf(
  view: DataView,
  trafOffset: number,
  traf: BoxHeader,
  payload: { start: number; end: number },
): TrafRuns | null {
  const trafEnd = trafOffset + traf.sizeBytes;
  let defaults: TrackFragmentHeader | null = null;
  let baseDecodeTimeTicks: number | null = null;
  // Without a data_offset the first run starts at the base data offset: the moof's first byte (§8.8.7.1).
  const runs: TrafRuns = { baseDecodeTimeTicks: 0, durationTicks: 0, sampleCount: 0, nextDataOffset: 0 };
  for (let at = trafOffset + traf.headerBytes; at < trafEnd;) {
    const child = readBoxHeader(view, at, trafEnd);
    if (child === null) return null;
    const body = new Cursor(view, at + child.headerBytes, at + child.sizeBytes);
    if (child.type === "tfhd") {
      defaults = readTfhd(body);
      if (defaults === null) return null;
      if (defaults.hasBaseDataOffset) runs.nextDataOffset = null;
    } else if (child.type === "tfdt") {
      baseDecodeTimeTicks = readTfdt(body);
      if (baseDecodeTimeTicks === null) return null;
    } else if (child.type === "trun") {
      // The tfhd comes first in a traf (§8.8.6); a run before it cannot be interpreted.
      if (defaults === null || !readTrun(body, defaults, payload, runs)) return null;
    }
    at += child.sizeBytes;
  }
  if (defaults === null || baseDecodeTimeTicks === null) return null;
  runs.baseDecodeTimeTicks = baseDecodeTimeTicks;
  return runs;
}

/** Adds one trun's samples to `runs` (ISO/IEC 14496-12 §8.8.8); false if the box is shorter than its sample_count
 * says or its data falls outside the mdat payload. */
function readTrun(
  body: Cursor,
  defaults: TrackFragmentHeader,
  payload: { start: number; end: number },
  runs: TrafRuns,
): boolean {
  const run = readTrunHeader(body);
  if (run === null) return false;
  const { sampleCount } = run;
  let durationTicks = 0;
  let dataBytes: number | null = 0;
  if (run.flags & (TRUN_SAMPLE_DURATION | TRUN_SAMPLE_SIZE)) {
    for (let i = 0; i < sampleCount; i++) {
      const sample = readTrunSample(body, run, defaults, i);
      durationTicks += sample.durationTicks;
      dataBytes = dataBytes === null || sample.sizeBytes === null ? null : dataBytes + sample.sizeBytes;
    }
  } else {
    // Every sample takes the tfhd defaults: no need to walk a sample_count that may be garbage.
    durationTicks = sampleCount * (defaults.defaultDurationTicks ?? 0);
    dataBytes = defaults.defaultSizeBytes === null ? null : sampleCount * defaults.defaultSizeBytes;
  }
  if (body.failed) return false;
  const start = defaults.hasBaseDataOffset ? null : run.dataOffset ?? runs.nextDataOffset;
  const isOutside = start !== null && dataBytes !== null && dataBytes > 0 &&
    (start < payload.start || start + dataBytes > payload.end);
  if (isOutside) return false;
  runs.nextDataOffset = start === null || dataBytes === null ? null : start + dataBytes;
  runs.durationTicks += durationTicks;
  runs.sampleCount += sampleCount;
  return true;
}
