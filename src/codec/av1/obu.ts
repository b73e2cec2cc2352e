/**
 * AV1 open bitstream units (AV1 spec §5.3, §4.10.5): leb128 sizes, OBU headers, splitting a low-overhead bitstream
 * into OBUs, writing OBUs back with `obu_has_size_field` = 1, and telling a temporal unit that is a random access
 * point from its first frame header (§5.9.2). It reads only the first bits of a frame header and never decodes
 * tiles; it does not check OBU order beyond what keyframe detection needs.
 */

import { BadRequestError } from "../../shared/errors.ts";

/** obu_type values (AV1 spec §6.2.2); 0 and 9..14 are reserved. */
export const ObuType = {
  SequenceHeader: 1,
  TemporalDelimiter: 2,
  FrameHeader: 3,
  TileGroup: 4,
  Metadata: 5,
  Frame: 6,
  RedundantFrameHeader: 7,
  TileList: 8,
  Padding: 15,
} as const;

/** One OBU: its header bytes and its payload, without any obu_size field (AV1 spec §5.3.1). */
export interface Obu {
  /** obu_type (§6.2.2). */
  type: number;
  /** obu_header as found: 1 byte, or 2 when obu_extension_flag is set; obu_has_size_field may be either. */
  header: Uint8Array;
  /** The OBU payload; a view into the bytes it was read from. */
  payload: Uint8Array;
}

/** Largest value leb128() may carry in a conforming bitstream (AV1 spec §4.10.5). */
const MAX_LEB128_VALUE = 2 ** 32 - 1;
/** leb128() reads at most 8 bytes (AV1 spec §4.10.5). */
const MAX_LEB128_BYTES = 8;
const HAS_SIZE_BIT = 0x02;
const EXTENSION_BIT = 0x04;
const FORBIDDEN_BIT = 0x80;
/** frame_type KEY_FRAME (AV1 spec §6.8.2). */
const KEY_FRAME = 0;

/** A leb128 value and how many bytes it took, or undefined for more than 8 bytes, a value past 2^32-1, or a cut. */
export function readLeb128(bytes: Uint8Array, offset: number): { value: number; sizeBytes: number } | undefined {
  let value = 0;
  for (let i = 0; i < MAX_LEB128_BYTES; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value <= MAX_LEB128_VALUE ? { value, sizeBytes: i + 1 } : undefined;
  }
  return undefined;
}

/** Bytes of the shortest leb128 encoding of `value` (AV1 spec §4.10.5). */
export function leb128SizeBytes(value: number): number {
  let sizeBytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    sizeBytes++;
  }
  return sizeBytes;
}

/** Writes the shortest leb128 encoding of `value` at `offset`; returns the offset after it. */
export function writeLeb128(out: Uint8Array, offset: number, value: number): number {
  do {
    const low = value % 0x80;
    value = Math.floor(value / 0x80);
    out[offset++] = value > 0 ? low | 0x80 : low;
  } while (value > 0);
  return offset;
}

/**
 * Reads the OBU at `offset`: its header, its obu_size when obu_has_size_field is set, else everything up to `end`.
 * Returns the OBU and the offset after it, or a reason it is invalid.
 */
export function readObu(bytes: Uint8Array, offset: number, end = bytes.length): { obu: Obu; end: number } | string {
  const first = bytes[offset];
  if (first === undefined || offset >= end) return "no OBU header";
  if ((first & FORBIDDEN_BIT) !== 0) return "obu_forbidden_bit is set";
  const headerBytes = (first & EXTENSION_BIT) !== 0 ? 2 : 1;
  if (offset + headerBytes > end) return "obu_extension_header is cut off";
  const header = bytes.subarray(offset, offset + headerBytes);
  let payloadStart = offset + headerBytes;
  let payloadEnd = end;
  if ((first & HAS_SIZE_BIT) !== 0) {
    const size = readLeb128(bytes.subarray(0, end), payloadStart);
    if (size === undefined) return "obu_size is not a valid leb128";
    payloadStart += size.sizeBytes;
    payloadEnd = payloadStart + size.value;
    if (payloadEnd > end) return `obu_size ${size.value} runs past the end`;
  }
  const obu = { type: (first >> 3) & 0x0f, header, payload: bytes.subarray(payloadStart, payloadEnd) };
  return { obu, end: payloadEnd };
}

/**
 * The OBUs of a low-overhead bitstream (AV1 spec §5.2), e.g. one temporal unit from an IVF file or one MP4 sample:
 * every OBU sized except possibly the last, which then fills the rest. Throws BadRequestError naming the bad OBU.
 */
export function splitObus(data: Uint8Array): Obu[] {
  const obus: Obu[] = [];
  let offset = 0;
  while (offset < data.length) {
    const read = readObu(data, offset);
    if (typeof read === "string") throw new BadRequestError(`invalid AV1 OBU at byte ${offset}: ${read}`);
    obus.push(read.obu);
    offset = read.end;
  }
  return obus;
}

/** Bytes `obu` takes in the low-overhead format with obu_has_size_field = 1 (AV1 spec §5.3.1). */
export function sizedObuBytes(obu: Obu): number {
  return obu.header.length + leb128SizeBytes(obu.payload.length) + obu.payload.length;
}

/** Writes `obu` with obu_has_size_field = 1 and its obu_size at `offset`, keeping its extension header. */
export function writeSizedObu(out: Uint8Array, offset: number, obu: Obu): number {
  out.set(obu.header, offset);
  out[offset] = obu.header[0]! | HAS_SIZE_BIT;
  offset = writeLeb128(out, offset + obu.header.length, obu.payload.length);
  out.set(obu.payload, offset);
  return offset + obu.payload.length;
}

/** `obus` as one low-overhead bitstream in which every OBU has obu_has_size_field = 1 (AV1 ISOBMFF binding §2.4). */
export function writeSizedObus(obus: readonly Obu[]): Uint8Array {
  let sizeBytes = 0;
  for (const obu of obus) sizeBytes += sizedObuBytes(obu);
  const out = new Uint8Array(sizeBytes);
  let offset = 0;
  for (const obu of obus) offset = writeSizedObu(out, offset, obu);
  return out;
}

/** The header with obu_has_size_field cleared, as RTP carries it (AV1 RTP spec §4.5). */
export function unsizedHeader(obu: Obu): Uint8Array {
  const header = obu.header.slice();
  header[0] = header[0]! & ~HAS_SIZE_BIT;
  return header;
}

/** reduced_still_picture_header, the fifth bit of a sequence header OBU payload (AV1 spec §5.5.1). */
export function hasReducedStillPictureHeader(sequenceHeader: Obu): boolean {
  return ((sequenceHeader.payload[0] ?? 0) & 0x08) !== 0;
}

/**
 * Whether a frame header or frame OBU starts a key frame with show_frame = 1: show_existing_frame = 0, frame_type
 * KEY_FRAME, show_frame = 1, the first 4 bits of uncompressed_header() (AV1 spec §5.9.2); a reduced still picture
 * header implies all three.
 */
export function isShownKeyFrame(frameHeader: Obu, reducedStillPictureHeader: boolean): boolean {
  if (reducedStillPictureHeader) return true;
  const first = frameHeader.payload[0];
  if (first === undefined) return false;
  const showExistingFrame = (first & 0x80) !== 0;
  const frameType = (first >> 5) & 0x03;
  const showFrame = (first & 0x10) !== 0;
  return !showExistingFrame && frameType === KEY_FRAME && showFrame;
}

/** Frame header and frame OBUs carry uncompressed_header() first (AV1 spec §5.9.1, §5.10.1). */
export function isFrameHeader(obu: Obu): boolean {
  return obu.type === ObuType.FrameHeader || obu.type === ObuType.Frame;
}

/**
 * A random access point, the AV1 ISOBMFF binding's sync sample (§2.4): a sequence header OBU comes before the
 * first frame header, and that first frame is a key frame with show_frame = 1.
 */
export function isRandomAccessPoint(obus: readonly Obu[]): boolean {
  let sequenceHeader: Obu | undefined;
  for (const obu of obus) {
    if (obu.type === ObuType.SequenceHeader) sequenceHeader = obu;
    if (isFrameHeader(obu)) {
      return sequenceHeader !== undefined && isShownKeyFrame(obu, hasReducedStillPictureHeader(sequenceHeader));
    }
  }
  return false;
}
