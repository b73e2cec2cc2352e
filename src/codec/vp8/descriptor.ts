/**
 * The VP8 RTP payload descriptor (RFC 7741 §4.2): reading every field a sender may put there, and writing the subset
 * liverec's packetizer uses (picture ID and the N bit). Receivers need only S and PID to find frame starts; the
 * rest is read so that the payload starts at the right byte, and kept for tests and diagnostics.
 */

import { BadRequestError } from "../../shared/errors.ts";

/** One packet's payload descriptor (RFC 7741 §4.2). */
export interface Vp8Descriptor {
  /** N: the frame is not used as a reference by any other frame. */
  nonReference: boolean;
  /** S: the payload starts a VP8 partition. */
  startOfPartition: boolean;
  /** PID: the partition index the payload starts in or continues, 0..7. */
  partitionIndex: number;
  /** I: PictureID, 7 bits (M = 0) or 15 bits (M = 1). */
  pictureId?: number;
  /** L: TL0PICIDX, the running index of temporal base layer frames. */
  tl0PicIdx?: number;
  /** T: TID, the temporal layer index. */
  temporalId?: number;
  /** T: Y, the frame depends only on temporal base layer frames (a layer sync point). */
  layerSync?: boolean;
  /** K: KEYIDX, the running index of key frames, 5 bits. */
  keyIndex?: number;
  /** Bytes the descriptor takes; the VP8 payload starts here. */
  sizeBytes: number;
}

/** Parses the descriptor at the start of `payload`; throws `BadRequestError` when it is truncated or nothing follows. */
export function parseVp8Descriptor(payload: Uint8Array): Vp8Descriptor {
  let offset = 0;
  const next = (field: string): number => {
    const byte = payload[offset++];
    if (byte === undefined) {
      throw new BadRequestError(`invalid VP8 payload descriptor: truncated before ${field} (${payload.length} bytes)`);
    }
    return byte;
  };
  const first = next("the first octet");
  const descriptor: Vp8Descriptor = {
    nonReference: (first & 0x20) !== 0,
    startOfPartition: (first & 0x10) !== 0,
    partitionIndex: first & 0x07,
    sizeBytes: 0,
  };
  if ((first & 0x80) !== 0) {
    const extension = next("the extension octet");
    if ((extension & 0x80) !== 0) {
      const high = next("PictureID");
      descriptor.pictureId = (high & 0x80) !== 0 ? ((high & 0x7f) << 8) | next("the PictureID low octet") : high;
    }
    if ((extension & 0x40) !== 0) descriptor.tl0PicIdx = next("TL0PICIDX");
    const hasTid = (extension & 0x20) !== 0;
    const hasKeyIdx = (extension & 0x10) !== 0;
    if (hasTid || hasKeyIdx) {
      const byte = next("TID/Y/KEYIDX");
      if (hasTid) {
        descriptor.temporalId = byte >> 6;
        descriptor.layerSync = (byte & 0x20) !== 0;
      }
      if (hasKeyIdx) descriptor.keyIndex = byte & 0x1f;
    }
  }
  if (offset >= payload.length) {
    throw new BadRequestError(`invalid VP8 payload: no VP8 data after the ${offset}-byte descriptor`);
  }
  descriptor.sizeBytes = offset;
  return descriptor;
}

/** What the packetizer writes: the first-octet bits and, when given, a 15-bit PictureID. */
export interface Vp8DescriptorFields {
  nonReference: boolean;
  startOfPartition: boolean;
  partitionIndex: number;
  /** Written with M = 1 (15 bits), as libwebrtc does. */
  pictureId?: number;
}

/** Serializes a descriptor with at most the I extension (RFC 7741 §4.2). */
export function writeVp8Descriptor(fields: Vp8DescriptorFields): Uint8Array {
  const first = (fields.nonReference ? 0x20 : 0) | (fields.startOfPartition ? 0x10 : 0) | (fields.partitionIndex & 7);
  if (fields.pictureId === undefined) return Uint8Array.of(first);
  const pictureId = fields.pictureId & 0x7fff;
  return Uint8Array.of(0x80 | first, 0x80, 0x80 | (pictureId >> 8), pictureId & 0xff);
}
