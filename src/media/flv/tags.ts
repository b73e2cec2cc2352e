/**
 * FLV file framing (Adobe FLV 10.1 §E.2, §E.3): the 9-byte header with PreviousTagSize0, tags with their 11-byte
 * header and trailing PreviousTagSize, and the scan that finds how much of a torn file is whole (crash recovery cuts
 * the file back to it). It knows nothing of codecs: tag bodies come from codecs.ts, timestamps from the writer.
 */

import { assert } from "../../shared/assert.ts";

/** TagType values (FLV 10.1 §E.4.1). */
export const TagType = { Audio: 8, Video: 9, Script: 18 } as const;

/** Bytes of the FLV header, and so its DataOffset (FLV 10.1 §E.2, version 1). */
export const FLV_HEADER_BYTES = 9;
/** Bytes of a tag header before its body (FLV 10.1 §E.4.1). */
export const TAG_HEADER_BYTES = 11;
/** Bytes of the PreviousTagSize after the header and after each tag. */
export const PREVIOUS_TAG_SIZE_BYTES = 4;
/** Largest tag body: DataSize is a UI24. */
export const MAX_TAG_BODY_BYTES = 0xff_ffff;

/** Tag timestamps are UI24 ms plus an extension byte: 32 bits, wrapping after about 49.7 days. */
const TIMESTAMP_MODULUS = 2 ** 32;

/** The FLV header (signature, version 1, which tracks are present, DataOffset 9) and PreviousTagSize0 (0). */
export function flvHeader({ hasVideo, hasAudio }: { hasVideo: boolean; hasAudio: boolean }): Uint8Array {
  return Uint8Array.of(
    0x46, // Signature "F"
    0x4c, // "L"
    0x56, // "V"
    0x01, // Version 1
    (hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0), // TypeFlagsReserved 0, TypeFlagsAudio, reserved 0, TypeFlagsVideo
    0x00, // DataOffset (UI32): 9, the header's size
    0x00,
    0x00,
    FLV_HEADER_BYTES,
    0x00, // PreviousTagSize0 (UI32): always 0
    0x00,
    0x00,
    0x00,
  );
}

/** One tag with its PreviousTagSize: `body` (at most 16 MiB - 1) at `timestampMs` ms, on stream 0. */
export function flvTag(tagType: number, timestampMs: number, body: Uint8Array): Uint8Array {
  assert(body.length <= MAX_TAG_BODY_BYTES, `a tag body of ${body.length} bytes`);
  assert(Number.isInteger(timestampMs) && timestampMs >= 0, `tag timestamp ${timestampMs}`);
  const timestamp = timestampMs % TIMESTAMP_MODULUS;
  const out = new Uint8Array(TAG_HEADER_BYTES + body.length + PREVIOUS_TAG_SIZE_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, tagType); // Reserved 0, Filter 0 (not encrypted), TagType
  view.setUint8(1, body.length >>> 16); // DataSize (UI24): bytes after StreamID
  view.setUint16(2, body.length & 0xffff);
  view.setUint8(4, (timestamp >>> 16) & 0xff); // Timestamp (UI24): the low 24 bits, in ms
  view.setUint16(5, timestamp & 0xffff);
  view.setUint8(7, timestamp >>> 24); // TimestampExtended (UI8): the upper 8 bits
  view.setUint8(8, 0); // StreamID (UI24): always 0
  view.setUint16(9, 0);
  out.set(body, TAG_HEADER_BYTES);
  view.setUint32(TAG_HEADER_BYTES + body.length, TAG_HEADER_BYTES + body.length); // PreviousTagSize
  return out;
}

/**
 * Bytes of the longest prefix of `bytes` that is an FLV header with PreviousTagSize0 followed by whole tags, each of
 * type audio, video or script data and followed by the PreviousTagSize that matches it: where a file torn by a crash
 * is cut back to. 0 when not even the header is whole (or it is not an FLV version 1 header). Never throws.
 */
export function flvWholePrefixBytes(bytes: Uint8Array): number {
  const u8 = (at: number) => bytes[at] ?? 0;
  const u24 = (at: number) => u8(at) * 0x1_0000 + u8(at + 1) * 0x100 + u8(at + 2);
  const u32 = (at: number) => u8(at) * 0x100_0000 + u24(at + 1);
  if (bytes.length < FLV_HEADER_BYTES) return 0;
  if (u8(0) !== 0x46 || u8(1) !== 0x4c || u8(2) !== 0x56 || u8(3) !== 0x01) return 0;
  const dataOffset = u32(5);
  let whole = dataOffset + PREVIOUS_TAG_SIZE_BYTES;
  if (dataOffset < FLV_HEADER_BYTES || whole > bytes.length || u32(dataOffset) !== 0) return 0;
  const tagTypes: readonly number[] = Object.values(TagType);
  for (;;) {
    const at = whole;
    if (at + TAG_HEADER_BYTES > bytes.length) return whole;
    if (!tagTypes.includes(u8(at)) || u24(at + 8) !== 0) return whole; // Filter and reserved bits 0, StreamID 0
    const tagBytes = TAG_HEADER_BYTES + u24(at + 1);
    if (at + tagBytes + PREVIOUS_TAG_SIZE_BYTES > bytes.length) return whole;
    if (u32(at + tagBytes) !== tagBytes) return whole;
    whole = at + tagBytes + PREVIOUS_TAG_SIZE_BYTES;
  }
}
