/**
 * Reads liverec's own fragmented MP4 back into values, so finished recordings can be re-muxed: the track of an init
 * segment (`readInit`) and the timed samples of a media segment (`readSegmentSamples`). Independent of mp4box.js and
 * small on purpose: one track, one sample entry (of any codec: its configuration box is copied out, not parsed), the
 * first traf of each moof. It is no general demuxer:
 * no edit lists, no encryption, no trex defaults; sample bytes are returned as views into the input, never copied.
 */

import { BadRequestError, UnsupportedError } from "../shared/errors.ts";
import { Cursor, readBoxHeader, readTfdt, readTfhd, readTrunHeader, readTrunSample } from "./box_reader.ts";
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
  for (let at = start;;) {
    const header = readBoxHeader(view, at, end, { sizeZeroIsToEnd: true });
    if (header === null) break;
    boxes.push({ type: header.type, start: at, bodyStart: at + header.headerBytes, end: at + header.sizeBytes });
    at += header.sizeBytes;
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
 * tkhd, mdhd, hdlr and the first stsd entry (ISO/IEC 14496-12 §8.3.2, §8.4.2, §8.4.3, §8.5.2). Throws
 * BadRequestError when the bytes are not such a segment, UnsupportedError for a track neither video nor sound. */
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
  const hdlr = new InitReader(view, child(view, mdia, "hdlr"));
  hdlr.skip(8); // version, flags, pre_defined
  const handlerType = fourcc(hdlr.u32()); // handler_type
  if (handlerType !== "vide" && handlerType !== "soun") {
    throw new UnsupportedError(`init segment handler "${handlerType}" is not supported (vide or soun only)`);
  }
  return { trackId, timescale, codec: readSampleEntry(view, entry, handlerType === "vide") };
}

/** Size of the fields of a VisualSampleEntry before its child boxes (ISO/IEC 14496-12 §12.1.3). */
const VISUAL_SAMPLE_ENTRY_BYTES = 78;

/** Size of the fields of an AudioSampleEntry before its child boxes (ISO/IEC 14496-12 §12.2.3). */
const AUDIO_SAMPLE_ENTRY_BYTES = 28;

/** A visual or audio sample entry, with its first child box (the configuration record) copied out. */
function readSampleEntry(view: DataView, entry: Box, isVideo: boolean): TrackCodec {
  const fields = new InitReader(view, entry);
  const configAt = isVideo ? VISUAL_SAMPLE_ENTRY_BYTES : AUDIO_SAMPLE_ENTRY_BYTES;
  const config = children(view, entry.bodyStart + configAt, entry.end)[0];
  if (config === undefined) throw new BadRequestError(`invalid init segment: ${entry.type} has no configuration box`);
  const sampleEntry = { fourcc: entry.type, config: { fourcc: config.type, body: bodyCopy(view, config) } };
  if (isVideo) {
    fields.skip(24); // reserved[6], data_reference_index, pre_defined, reserved, pre_defined[3]
    const widthPx = fields.u16(); // width
    const heightPx = fields.u16(); // height
    fields.skip(VISUAL_SAMPLE_ENTRY_BYTES - 28); // resolutions, reserved, frame_count, compressorname, depth, pre_defined
    return { kind: "video", sampleEntry, widthPx, heightPx };
  }
  fields.skip(16); // reserved[6], data_reference_index, reserved[2]
  const channels = fields.u16(); // channelcount
  fields.skip(6); // samplesize, pre_defined, reserved
  const sampleRate = fields.u32() >>> 16; // samplerate, 16.16
  return { kind: "audio", sampleEntry, channels, sampleRate };
}

/** Four bytes as their ASCII characters. */
function fourcc(value: number): string {
  return String.fromCharCode(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/** A copy of a box's body: configuration records outlive the init segment bytes they came from. */
function bodyCopy(view: DataView, box: Box): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + box.bodyStart, box.end - box.bodyStart).slice();
}

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

/** Appends the samples of a moof's first traf to `out`; false (and nothing appended) if anything does not add up. */
function readFragment(bytes: Uint8Array, view: DataView, moof: Box, mdat: Box, out: SampleWithTime[]): boolean {
  const traf = children(view, moof.bodyStart, moof.end).find((box) => box.type === "traf");
  if (traf === undefined) return false;
  const boxes = children(view, traf.bodyStart, traf.end);
  const tfhd = boxes.find((box) => box.type === "tfhd");
  const tfdt = boxes.find((box) => box.type === "tfdt");
  if (tfhd === undefined || tfdt === undefined) return false;

  const defaults = readTfhd(new Cursor(view, tfhd.bodyStart, tfhd.end));
  // A base_data_offset counts from a file start we do not have.
  if (defaults === null || defaults.hasBaseDataOffset) return false;
  let decodeTimeTicks = readTfdt(new Cursor(view, tfdt.bodyStart, tfdt.end));
  if (decodeTimeTicks === null) return false;

  // Data offsets count from the moof (default-base-is-moof, or the first traf without a base, §8.8.7.1) and must
  // land in the mdat payload.
  const payload = { start: mdat.bodyStart, end: mdat.end };
  let dataAt = moof.start;
  const samples: SampleWithTime[] = [];
  for (const box of boxes) {
    if (box.type !== "trun") continue;
    const body = new Cursor(view, box.bodyStart, box.end);
    // readTrunHeader rejects a garbage sample_count before any loop; a run without per-sample fields cannot
    // describe more samples than its mdat has bytes.
    const run = readTrunHeader(body);
    if (run === null) return false;
    if (run.dataOffset !== null) dataAt = moof.start + run.dataOffset;
    if (run.entryBytes === 0 && run.sampleCount > payload.end - payload.start) return false;
    for (let i = 0; i < run.sampleCount; i++) {
      const { durationTicks, sizeBytes, flags, ctsOffsetTicks } = readTrunSample(body, run, defaults, i);
      if (sizeBytes === null || dataAt < payload.start || dataAt + sizeBytes > payload.end) return false;
      samples.push({
        decodeTimeTicks,
        durationTicks,
        ctsOffsetTicks,
        isSync: flags === null || (flags & SAMPLE_IS_NON_SYNC) === 0,
        data: bytes.subarray(dataAt, dataAt + sizeBytes),
      });
      decodeTimeTicks += durationTicks;
      dataAt += sizeBytes;
    }
    if (body.failed) return false;
  }
  out.push(...samples);
  return true;
}
