/**
 * Never-throwing readers shared by the two fragmented MP4 readers (fmp4_reader.ts, fmp4_samples.ts): box headers, a
 * bounds-checked big-endian cursor, and the fields of the track fragment boxes tfhd, tfdt and trun. They parse fields
 * only; what the fields mean for a fragment (where its data lies, its totals, its samples) is left to the callers.
 */

/** A box header (ISO/IEC 14496-12 §4.2) whose whole box lies within the bytes read. */
export interface BoxHeader {
  type: string;
  headerBytes: number;
  sizeBytes: number;
}

/** The box at `offset` if its header is valid and the whole box ends by `end`; null otherwise. Size 0 ("to the end
 * of the enclosing box") is rejected unless `sizeZeroIsToEnd`: in a file that may be torn it proves nothing. */
export function readBoxHeader(
  view: DataView,
  offset: number,
  end: number,
  { sizeZeroIsToEnd = false }: { sizeZeroIsToEnd?: boolean } = {},
): BoxHeader | null {
  if (offset + 8 > end) return null;
  const size32 = view.getUint32(offset);
  const type = String.fromCharCode(
    view.getUint8(offset + 4),
    view.getUint8(offset + 5),
    view.getUint8(offset + 6),
    view.getUint8(offset + 7),
  );
  let headerBytes = 8;
  let sizeBytes = size32 === 0 && sizeZeroIsToEnd ? end - offset : size32;
  if (size32 === 1) {
    if (offset + 16 > end) return null;
    headerBytes = 16;
    // Inexact beyond 2^53, but then far beyond `end` too.
    sizeBytes = view.getUint32(offset + 8) * 0x1_0000_0000 + view.getUint32(offset + 12);
  }
  if (sizeBytes < headerBytes || sizeBytes > end - offset) return null;
  return { type, headerBytes, sizeBytes };
}

/** High 32-bit word of 2^53 - 1: 64-bit values above it are not exact in a number; no real tfdt comes near. */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

/** Big-endian reads within [offset, end); a read past the end sets `failed` and yields 0 instead of throwing. */
export class Cursor {
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
    return this.#take(4) ? this.#view.getUint32(this.#offset - 4) : 0;
  }

  i32(): number {
    return this.#take(4) ? this.#view.getInt32(this.#offset - 4) : 0;
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

/** tfhd flags (ISO/IEC 14496-12 §8.8.7.1). */
const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_SAMPLE_DURATION = 0x000008;
const TFHD_DEFAULT_SAMPLE_SIZE = 0x000010;
const TFHD_DEFAULT_SAMPLE_FLAGS = 0x000020;

/** trun flags (ISO/IEC 14496-12 §8.8.8.1). */
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
export const TRUN_SAMPLE_DURATION = 0x000100;
export const TRUN_SAMPLE_SIZE = 0x000200;
const TRUN_SAMPLE_FLAGS = 0x000400;
const TRUN_SAMPLE_CTS_OFFSET = 0x000800;

/** What a traf's tfhd says about every run in it (ISO/IEC 14496-12 §8.8.7); null fields are absent. */
export interface TrackFragmentHeader {
  /** An explicit base_data_offset counts from the file start, which a lone segment cannot check against. */
  hasBaseDataOffset: boolean;
  defaultDurationTicks: number | null;
  defaultSizeBytes: number | null;
  defaultFlags: number | null;
}

/** The fields of a tfhd body (ISO/IEC 14496-12 §8.8.7); null if it is truncated. */
export function readTfhd(body: Cursor): TrackFragmentHeader | null {
  const flags = body.u32() & 0xff_ffff; // version, flags
  body.skip(4); // track_ID
  if (flags & TFHD_BASE_DATA_OFFSET) body.skip(8); // base_data_offset
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) body.skip(4); // sample_description_index
  const defaultDurationTicks = flags & TFHD_DEFAULT_SAMPLE_DURATION ? body.u32() : null; // default_sample_duration
  const defaultSizeBytes = flags & TFHD_DEFAULT_SAMPLE_SIZE ? body.u32() : null; // default_sample_size
  const defaultFlags = flags & TFHD_DEFAULT_SAMPLE_FLAGS ? body.u32() : null; // default_sample_flags
  if (body.failed) return null;
  return {
    hasBaseDataOffset: (flags & TFHD_BASE_DATA_OFFSET) !== 0,
    defaultDurationTicks,
    defaultSizeBytes,
    defaultFlags,
  };
}

/** baseMediaDecodeTime of a tfdt body, in track timescale ticks (ISO/IEC 14496-12 §8.8.12); null if it is truncated,
 * of an unknown version, or not exact in a number. */
export function readTfdt(body: Cursor): number | null {
  const version = body.u32() >>> 24; // version, flags
  if (version > 1) return null;
  const baseDecodeTimeTicks = version === 1 ? body.u64() : body.u32(); // baseMediaDecodeTime
  return body.failed ? null : baseDecodeTimeTicks;
}

/** The fields of a trun before its sample entries (ISO/IEC 14496-12 §8.8.8). */
export interface TrackRunHeader {
  version: number;
  flags: number;
  sampleCount: number;
  /** From the base data offset; null: the run follows the previous one's data. */
  dataOffset: number | null;
  firstSampleFlags: number | null;
  /** Bytes of one sample entry: 4 per per-sample field present. */
  entryBytes: number;
}

/** The header of a trun body; null if it is truncated or shorter than its sample_count says, checked before any
 * entry is read, so a garbage sample_count is rejected instead of spun through. */
export function readTrunHeader(body: Cursor): TrackRunHeader | null {
  const versionAndFlags = body.u32(); // version, flags
  const flags = versionAndFlags & 0xff_ffff;
  const sampleCount = body.u32(); // sample_count
  const dataOffset = flags & TRUN_DATA_OFFSET ? body.i32() : null; // data_offset
  const firstSampleFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? body.u32() : null; // first_sample_flags
  const perSampleFields = [TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_CTS_OFFSET];
  const entryBytes = 4 * perSampleFields.filter((field) => flags & field).length;
  if (body.failed || sampleCount * entryBytes > body.remaining) return null;
  return { version: versionAndFlags >>> 24, flags, sampleCount, dataOffset, firstSampleFlags, entryBytes };
}

/** One sample of a trun, its absent fields filled from the tfhd (ISO/IEC 14496-12 §8.8.8). */
export interface TrackRunSample {
  durationTicks: number;
  /** null: given neither in the trun nor in the tfhd. */
  sizeBytes: number | null;
  /** null: given neither in the trun nor in the tfhd. */
  flags: number | null;
  ctsOffsetTicks: number;
}

/** Reads the entry of sample `index` of `run` from `body`; the caller checks `body.failed` after the run. */
export function readTrunSample(
  body: Cursor,
  run: TrackRunHeader,
  defaults: TrackFragmentHeader,
  index: number,
): TrackRunSample {
  const durationTicks = run.flags & TRUN_SAMPLE_DURATION // sample_duration
    ? body.u32()
    : defaults.defaultDurationTicks ?? 0;
  const sizeBytes = run.flags & TRUN_SAMPLE_SIZE ? body.u32() : defaults.defaultSizeBytes; // sample_size
  const flags = run.flags & TRUN_SAMPLE_FLAGS // sample_flags
    ? body.u32()
    : index === 0 && run.firstSampleFlags !== null
    ? run.firstSampleFlags
    : defaults.defaultFlags;
  let ctsOffsetTicks = 0;
  if (run.flags & TRUN_SAMPLE_CTS_OFFSET) {
    ctsOffsetTicks = run.version === 0 ? body.u32() : body.i32(); // sample_composition_time_offset
  }
  return { durationTicks, sizeBytes, flags, ctsOffsetTicks };
}
