/**
 * Reads back what survives of a media segment file after a crash: walks its top-level boxes (an optional styp, then
 * moof + mdat pairs) and reports every complete fragment and where the last one ends, so a torn file can be cut back
 * to it. Reads only box headers and the fragment header boxes, never sample bytes; never throws, whatever the input.
 * It is no general MP4 parser: anything but the layout src/media writes ends the scan.
 */

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
  if (first !== null && first.type === STYP) offset = first.sizeBytes;
  for (;;) {
    const moofBox = readBoxHeader(view, offset, end);
    if (moofBox === null || moofBox.type !== MOOF) break;
    const mdatOffset = offset + moofBox.sizeBytes;
    const mdatBox = readBoxHeader(view, mdatOffset, end);
    if (mdatBox === null || mdatBox.type !== MDAT) break;
    const fragment = readMoof(view, offset, moofBox, mdatBox);
    if (fragment === null) break;
    fragments.push(fragment);
    offset = mdatOffset + mdatBox.sizeBytes;
  }
  const last = fragments[fragments.length - 1];
  return { fragments, validBytes: last === undefined ? 0 : last.offset + last.sizeBytes };
}

/** A box header (ISO/IEC 14496-12 §4.2) whose whole box lies within the bytes read. */
interface BoxHeader {
  type: number;
  headerBytes: number;
  sizeBytes: number;
}

function fourcc(code: string): number {
  return ((code.charCodeAt(0) << 24) | (code.charCodeAt(1) << 16) | (code.charCodeAt(2) << 8) | code.charCodeAt(3)) >>>
    0;
}

const STYP = fourcc("styp");
const MOOF = fourcc("moof");
const MDAT = fourcc("mdat");
const MFHD = fourcc("mfhd");
const TRAF = fourcc("traf");
const TFHD = fourcc("tfhd");
const TFDT = fourcc("tfdt");
const TRUN = fourcc("trun");

/** High 32-bit word of 2^53 - 1: 64-bit values above it are not exact in a number; no real tfdt comes near. */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

/** tfhd flags (ISO/IEC 14496-12 §8.8.7.1). */
const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_SAMPLE_DURATION = 0x000008;
const TFHD_DEFAULT_SAMPLE_SIZE = 0x000010;
const TFHD_DEFAULT_SAMPLE_FLAGS = 0x000020;

/** trun flags (ISO/IEC 14496-12 §8.8.8.1). */
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_SAMPLE_DURATION = 0x000100;
const TRUN_SAMPLE_SIZE = 0x000200;
const TRUN_SAMPLE_FLAGS = 0x000400;
const TRUN_SAMPLE_CTS_OFFSET = 0x000800;

/** The box at `offset` if its header is valid and the whole box ends by `end`; null otherwise. Size 0 ("to the end
 * of the file") is rejected: in a file that may be torn it cannot prove the box complete. */
function readBoxHeader(view: DataView, offset: number, end: number): BoxHeader | null {
  if (offset + 8 > end) return null;
  const size32 = view.getUint32(offset);
  const type = view.getUint32(offset + 4);
  let headerBytes = 8;
  let sizeBytes = size32;
  if (size32 === 1) {
    if (offset + 16 > end) return null;
    headerBytes = 16;
    // Inexact beyond 2^53, but then far beyond `end` too.
    sizeBytes = view.getUint32(offset + 8) * 0x1_0000_0000 + view.getUint32(offset + 12);
  }
  if (sizeBytes < headerBytes || sizeBytes > end - offset) return null;
  return { type, headerBytes, sizeBytes };
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
    if (child.type === MFHD) {
      const body = new Cursor(view, at + child.headerBytes, at + child.sizeBytes);
      body.skip(4); // version, flags
      sequenceNumber = body.u32(); // sequence_number
      if (body.failed) return null;
    } else if (child.type === TRAF && trafRuns === null) {
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

/** What a traf's tfhd says about its samples (ISO/IEC 14496-12 §8.8.7). */
interface TrackFragmentDefaults {
  durationTicks: number | null;
  sizeBytes: number | null;
  /** An explicit base_data_offset counts from the file start, which a lone segment cannot check against. */
  hasBaseDataOffset: boolean;
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
  let defaults: TrackFragmentDefaults | null = null;
  let baseDecodeTimeTicks: number | null = null;
  // Without a data_offset the first run starts at the base data offset: the moof's first byte (§8.8.7.1).
  const runs: TrafRuns = { baseDecodeTimeTicks: 0, durationTicks: 0, sampleCount: 0, nextDataOffset: 0 };
  for (let at = trafOffset + traf.headerBytes; at < trafEnd;) {
    const child = readBoxHeader(view, at, trafEnd);
    if (child === null) return null;
    const body = new Cursor(view, at + child.headerBytes, at + child.sizeBytes);
    if (child.type === TFHD) {
      const flags = body.u32() & 0xff_ffff; // version, flags
      body.skip(4); // track_ID
      if (flags & TFHD_BASE_DATA_OFFSET) body.skip(8); // base_data_offset
      if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) body.skip(4); // sample_description_index
      const durationTicks = flags & TFHD_DEFAULT_SAMPLE_DURATION ? body.u32() : null; // default_sample_duration
      const sizeBytes = flags & TFHD_DEFAULT_SAMPLE_SIZE ? body.u32() : null; // default_sample_size
      if (flags & TFHD_DEFAULT_SAMPLE_FLAGS) body.skip(4); // default_sample_flags
      if (body.failed) return null;
      defaults = { durationTicks, sizeBytes, hasBaseDataOffset: (flags & TFHD_BASE_DATA_OFFSET) !== 0 };
      if (defaults.hasBaseDataOffset) runs.nextDataOffset = null;
    } else if (child.type === TFDT) {
      const version = body.u32() >>> 24; // version, flags
      if (version > 1) return null;
      baseDecodeTimeTicks = version === 1 ? body.u64() : body.u32(); // baseMediaDecodeTime
      if (body.failed) return null;
    } else if (child.type === TRUN) {
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
  defaults: TrackFragmentDefaults,
  payload: { start: number; end: number },
  runs: TrafRuns,
): boolean {
  const flags = body.u32() & 0xff_ffff; // version, flags
  const sampleCount = body.u32(); // sample_count
  const dataOffset = flags & TRUN_DATA_OFFSET ? body.i32() : null; // data_offset
  if (flags & TRUN_FIRST_SAMPLE_FLAGS) body.skip(4); // first_sample_flags
  if (body.failed) return false;
  const hasDuration = (flags & TRUN_SAMPLE_DURATION) !== 0;
  const hasSize = (flags & TRUN_SAMPLE_SIZE) !== 0;
  const otherEntryBytes = (flags & TRUN_SAMPLE_FLAGS ? 4 : 0) + (flags & TRUN_SAMPLE_CTS_OFFSET ? 4 : 0);
  const entryBytes = (hasDuration ? 4 : 0) + (hasSize ? 4 : 0) + otherEntryBytes;
  // Checked before any loop, so a garbage sample_count is rejected instead of spun through.
  if (sampleCount * entryBytes > body.remaining) return false;
  let durationTicks = 0;
  let dataBytes: number | null = 0;
  if (hasDuration || hasSize) {
    for (let i = 0; i < sampleCount; i++) {
      durationTicks += hasDuration ? body.u32() : defaults.durationTicks ?? 0; // sample_duration
      const sizeBytes = hasSize ? body.u32() : defaults.sizeBytes; // sample_size
      dataBytes = dataBytes === null || sizeBytes === null ? null : dataBytes + sizeBytes;
      body.skip(otherEntryBytes); // sample_flags, sample_composition_time_offset
    }
  } else {
    durationTicks = sampleCount * (defaults.durationTicks ?? 0);
    dataBytes = defaults.sizeBytes === null ? null : sampleCount * defaults.sizeBytes;
  }
  if (body.failed) return false;
  const start = defaults.hasBaseDataOffset ? null : dataOffset ?? runs.nextDataOffset;
  const isOutside = start !== null && dataBytes !== null && dataBytes > 0 &&
    (start < payload.start || start + dataBytes > payload.end);
  if (isOutside) return false;
  runs.nextDataOffset = start === null || dataBytes === null ? null : start + dataBytes;
  runs.durationTicks += durationTicks;
  runs.sampleCount += sampleCount;
  return true;
}

/** Big-endian reads within [offset, end); a read past the end sets `failed` and yields 0 instead of throwing. */
class Cursor {
  failed = false;
  #offset: number;
  readonly #end: number;
  readonly #view: DataView;

  constructor(view: DataView, offset: number, end: number) {
    this.#view = view;
    this.#offset = offset;
    this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#offset;
  }

  u32(): number {
    if (!this.#take(4)) return 0;
    return this.#view.getUint32(this.#offset - 4);
  }

  i32(): number {
    if (!this.#take(4)) return 0;
    return this.#view.getInt32(this.#offset - 4);
  }

  /** A 64-bit unsigned value; one at or above 2^53 fails (no exact number for it). */
  u64(): number {
    if (!this.#take(8)) return 0;
    const high = this.#view.getUint32(this.#offset - 8);
    if (high > MAX_SAFE_HIGH_WORD) {
      this.failed = true;
      return 0;
    }
    return high * 0x1_0000_0000 + this.#view.getUint32(this.#offset - 4);
  }

  skip(count: number): void {
    this.#take(count);
  }

  #take(count: number): boolean {
    if (this.failed || count > this.#end - this.#offset) {
      this.failed = true;
      return false;
    }
    this.#offset += count;
    return true;
  }
}
