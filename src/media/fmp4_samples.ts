/**
 * Reads liverec's own fragmented MP4 back into values, so finished recordings can be re-muxed: the track of an init
 * segment (`readInit`) and the timed samples of a media segment (`readSegmentSamples`). Independent of mp4box.js and
 * small on purpose: one track, one sample entry (avc1 or Opus), the first traf of each moof. It is no general demuxer:
 * no edit lists, no encryption, no trex defaults; sample bytes are returned as views into the input, never copied.
 */

import { BadRequestError, UnsupportedError } from "../shared/errors.ts";
import { scanSegment } from "./fmp4_reader.ts";
import type { SampleWithTime, TrackCodec, TrackInfo } from "./track.ts";

/** A box whose header and body lie within the bytes read (ISO/IEC 14496-12 §4.2); offsets are absolute. */
interface Box {
  type: string;
  start: number;
  bodyStart: number;
  end: number;
}

/** The boxes back to back in [start, end); stops at the first header that is torn or overruns `end`. Size 0 ("to
 * the end of the enclosing box") is accepted only for the last box, which is what it means. */
function children(view: DataView, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  for (let at = start; at + 8 <= end;) {
    const size32 = view.getUint32(at);
    const type = String.fromCharCode(
      view.getUint8(at + 4),
      view.getUint8(at + 5),
      view.getUint8(at + 6),
      view.getUint8(at + 7),
    );
    let headerBytes = 8;
    let sizeBytes = size32 === 0 ? end - at : size32;
    if (size32 === 1) {
      if (at + 16 > end) break;
      headerBytes = 16;
      sizeBytes = view.getUint32(at + 8) * 0x1_0000_0000 + view.getUint32(at + 12);
    }
    if (sizeBytes < headerBytes || sizeBytes > end - at) break;
    boxes.push({ type, start: at, bodyStart: at + headerBytes, end: at + sizeBytes });
    at += sizeBytes;
  }
  return boxes;
}

/** Big-endian reads within [offset, end) of an init segment; a read past the end throws a typed error. */
class InitReader {
  #offset: number;
  readonly #end: number;
  readonly #view: DataView;
  readonly #what: string;

  constructor(view: DataView, box: Box) {
    this.#view = view;
    this.#offset = box.bodyStart;
    this.#end = box.end;
    this.#what = box.type;
  }

  u16(): number {
    return this.#view.getUint16(this.#take(2));
  }

  u32(): number {
    return this.#view.getUint32(this.#take(4));
  }

  skip(count: number): void {
    this.#take(count);
  }

  #take(count: number): number {
    if (count > this.#end - this.#offset) {
      throw new BadRequestError(`invalid init segment: ${this.#what} box is truncated`);
    }
    this.#offset += count;
    return this.#offset - count;
  }
}

/** The one child of `parent` of type `type`, or a typed error naming what is missing. */
function child(view: DataView, parent: Box, type: string, skipBytes = 0): Box {
  const found = children(view, parent.bodyStart + skipBytes, parent.end).find((box) => box.type === type);
  if (found === undefined) throw new BadRequestError(`invalid init segment: ${parent.type} has no ${type} box`);
  return found;
}

/** Track ID, timescale and codec of an init segment written by `initSegment` (ftyp + moov with one trak): reads
 * tkhd, mdhd and the first stsd entry (ISO/IEC 14496-12 §8.3.2, §8.4.2, §8.5.2). Throws BadRequestError when the
 * bytes are not such a segment, UnsupportedError for a sample entry other than avc1 or Opus. */
export function readInit(bytes: Uint8Array): TrackInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = { type: "file", start: 0, bodyStart: 0, end: bytes.byteLength };
  const trak = child(view, child(view, top, "moov"), "trak");

  const tkhd = new InitReader(view, child(view, trak, "tkhd"));
  const tkhdVersion = tkhd.u32() >>> 24; // version, flags
  tkhd.skip(tkhdVersion === 1 ? 16 : 8); // creation_time, modification_time
  const trackId = tkhd.u32(); // track_ID

  const mdia = child(view, trak, "mdia");
  const mdhd = new InitReader(view, child(view, mdia, "mdhd"));
  const mdhdVersion = mdhd.u32() >>> 24; // version, flags
  mdhd.skip(mdhdVersion === 1 ? 16 : 8); // creation_time, modification_time
  const timescale = mdhd.u32(); // timescale
  if (trackId === 0 || timescale === 0) {
    throw new BadRequestError(`invalid init segment: track_ID ${trackId}, timescale ${timescale}`);
  }

  const stsd = child(view, child(view, child(view, mdia, "minf"), "stbl"), "stsd");
  const entry = children(view, stsd.bodyStart + 8, stsd.end)[0]; // after version, flags, entry_count
  if (entry === undefined) throw new BadRequestError("invalid init segment: stsd has no sample entry");
  return { trackId, timescale, codec: readSampleEntry(view, entry) };
}

/** Size of the fields of a VisualSampleEntry before its child boxes (ISO/IEC 14496-12 §12.1.3). */
const VISUAL_SAMPLE_ENTRY_BYTES = 78;

/** Size of the fields of an AudioSampleEntry before its child boxes (ISO/IEC 14496-12 §12.2.3). */
const AUDIO_SAMPLE_ENTRY_BYTES = 28;

/** The codec of an avc1 or Opus sample entry, with its configuration record copied out. */
function readSampleEntry(view: DataView, entry: Box): TrackCodec {
  const fields = new InitReader(view, entry);
  if (entry.type === "avc1") {
    fields.skip(24); // reserved[6], data_reference_index, pre_defined, reserved, pre_defined[3]
    const widthPx = fields.u16(); // width
    const heightPx = fields.u16(); // height
    fields.skip(VISUAL_SAMPLE_ENTRY_BYTES - 28); // resolutions, reserved, frame_count, compressorname, depth, pre_defined
    const avcC = child(view, entry, "avcC", VISUAL_SAMPLE_ENTRY_BYTES);
    return { kind: "avc", avcC: bodyCopy(view, avcC), widthPx, heightPx };
  }
  if (entry.type === "Opus") {
    fields.skip(16); // reserved[6], data_reference_index, reserved[2]
    const channels = fields.u16(); // channelcount
    fields.skip(AUDIO_SAMPLE_ENTRY_BYTES - 18); // samplesize, pre_defined, reserved, samplerate
    const dOps = child(view, entry, "dOps", AUDIO_SAMPLE_ENTRY_BYTES);
    return { kind: "opus", dOps: bodyCopy(view, dOps), channels, sampleRate: 48000 };
  }
  throw new UnsupportedError(`init segment sample entry "${entry.type}" is not supported (avc1 or Opus only)`);
}

/** A copy of a box's body: configuration records outlive the init segment bytes they came from. */
function bodyCopy(view: DataView, box: Box): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + box.bodyStart, box.end - box.bodyStart).slice();
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
const TRUN_SAMPLE_DURATION = 0x000100;
const TRUN_SAMPLE_SIZE = 0x000200;
const TRUN_SAMPLE_FLAGS = 0x000400;
const TRUN_SAMPLE_CTS_OFFSET = 0x000800;

/** sample_is_non_sync_sample of the sample flags (ISO/IEC 14496-12 §8.8.3.1). */
const SAMPLE_IS_NON_SYNC = 0x0001_0000;

/** Every sample of the complete fragments of a (possibly torn) media segment, in decode order, with decode times
 * from each fragment's tfdt (ISO/IEC 14496-12 §8.8.7, §8.8.8, §8.8.12). Only the prefix `scanSegment` accepts is
 * read; a fragment whose sample data cannot be located inside its mdat (an explicit base_data_offset, sizes given
 * nowhere) ends the read there. Never throws. A sample without flags in its trun or tfhd counts as sync. */
export function readSegmentSamples(bytes: Uint8Array): SampleWithTime[] {
  const usable = bytes.subarray(0, scanSegment(bytes).validBytes);
  const view = new DataView(usable.buffer, usable.byteOffset, usable.byteLength);
  const samples: SampleWithTime[] = [];
  const top = children(view, 0, usable.byteLength);
  for (let i = 0; i < top.length; i++) {
    const moof = top[i];
    const mdat = top[i + 1];
    if (moof?.type !== "moof") continue;
    if (mdat?.type !== "mdat" || !readFragment(usable, view, moof, mdat, samples)) break;
    i++;
  }
  return samples;
}

/** The tfhd fields that apply to every run of a traf. */
interface TrafDefaults {
  durationTicks: number;
  sizeBytes: number | null;
  flags: number | null;
}

/** Appends the samples of a moof's first traf to `out`; false (and nothing appended) if anything does not add up. */
function readFragment(bytes: Uint8Array, view: DataView, moof: Box, mdat: Box, out: SampleWithTime[]): boolean {
  const traf = children(view, moof.bodyStart, moof.end).find((box) => box.type === "traf");
  if (traf === undefined) return false;
  const boxes = children(view, traf.bodyStart, traf.end);
  const tfhd = boxes.find((box) => box.type === "tfhd");
  const tfdt = boxes.find((box) => box.type === "tfdt");
  if (tfhd === undefined || tfdt === undefined) return false;

  const header = new Cursor(view, tfhd);
  const tfhdFlags = header.u32() & 0xff_ffff; // version, flags
  header.skip(4); // track_ID
  if (tfhdFlags & TFHD_BASE_DATA_OFFSET) return false; // base_data_offset: from a file start we do not have
  if (tfhdFlags & TFHD_SAMPLE_DESCRIPTION_INDEX) header.skip(4); // sample_description_index
  const defaults: TrafDefaults = {
    durationTicks: tfhdFlags & TFHD_DEFAULT_SAMPLE_DURATION ? header.u32() : 0, // default_sample_duration
    sizeBytes: tfhdFlags & TFHD_DEFAULT_SAMPLE_SIZE ? header.u32() : null, // default_sample_size
    flags: tfhdFlags & TFHD_DEFAULT_SAMPLE_FLAGS ? header.u32() : null, // default_sample_flags
  };
  const decodeTime = new Cursor(view, tfdt);
  const tfdtVersion = decodeTime.u32() >>> 24; // version, flags
  let decodeTimeTicks = tfdtVersion === 1 ? decodeTime.u64() : decodeTime.u32(); // baseMediaDecodeTime
  if (header.failed || decodeTime.failed || tfdtVersion > 1) return false;

  // Data offsets count from the moof (default-base-is-moof, or the first traf without a base, §8.8.7.1) and must
  // land in the mdat payload.
  const payload = { start: mdat.bodyStart, end: mdat.end };
  let dataAt = moof.start;
  const samples: SampleWithTime[] = [];
  for (const box of boxes) {
    if (box.type !== "trun") continue;
    const run = new Cursor(view, box);
    const versionAndFlags = run.u32(); // version, flags
    const version = versionAndFlags >>> 24;
    const flags = versionAndFlags & 0xff_ffff;
    const sampleCount = run.u32(); // sample_count
    if (flags & TRUN_DATA_OFFSET) dataAt = moof.start + run.i32(); // data_offset
    const firstSampleFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? run.u32() : null; // first_sample_flags
    const perSampleFields = [TRUN_SAMPLE_DURATION, TRUN_SAMPLE_SIZE, TRUN_SAMPLE_FLAGS, TRUN_SAMPLE_CTS_OFFSET];
    const entryBytes = 4 * perSampleFields.filter((field) => flags & field).length;
    // Checked before looping, so a garbage sample_count is rejected rather than spun through; a run without
    // per-sample fields cannot describe more samples than its mdat has bytes.
    if (run.failed || sampleCount * entryBytes > run.remaining) return false;
    if (entryBytes === 0 && sampleCount > payload.end - payload.start) return false;
    for (let i = 0; i < sampleCount; i++) {
      const durationTicks = flags & TRUN_SAMPLE_DURATION ? run.u32() : defaults.durationTicks; // sample_duration
      const sizeBytes = flags & TRUN_SAMPLE_SIZE ? run.u32() : defaults.sizeBytes; // sample_size
      const sampleFlags = flags & TRUN_SAMPLE_FLAGS // sample_flags
        ? run.u32()
        : i === 0 && firstSampleFlags !== null
        ? firstSampleFlags
        : defaults.flags;
      let ctsOffsetTicks = 0;
      if (flags & TRUN_SAMPLE_CTS_OFFSET) ctsOffsetTicks = version === 0 ? run.u32() : run.i32(); // composition offset
      if (sizeBytes === null || dataAt < payload.start || dataAt + sizeBytes > payload.end) return false;
      samples.push({
        decodeTimeTicks,
        durationTicks,
        ctsOffsetTicks,
        isSync: sampleFlags === null || (sampleFlags & SAMPLE_IS_NON_SYNC) === 0,
        data: bytes.subarray(dataAt, dataAt + sizeBytes),
      });
      decodeTimeTicks += durationTicks;
      dataAt += sizeBytes;
    }
    if (run.failed) return false;
  }
  out.push(...samples);
  return true;
}

/** Big-endian reads within a box body; a read past its end sets `failed` and yields 0 instead of throwing. */
class Cursor {
  failed = false;
  #offset: number;
  readonly #end: number;
  readonly #view: DataView;

  constructor(view: DataView, box: Box) {
    this.#view = view;
    this.#offset = box.bodyStart;
    this.#end = box.end;
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
    if (high > 0x1f_ffff) this.failed = true;
    return this.failed ? 0 : high * 0x1_0000_0000 + this.#view.getUint32(this.#offset - 4);
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
