/**
 * The RTP packet value and its fixed-header codec (RFC 3550 §5.1). Parsing validates the header, skips CSRCs and
 * the header extension, and strips padding; it keeps none of them. Serializing writes a minimal header (no CSRC,
 * extension or padding) for tests and the test publisher.
 */

import { BadRequestError } from "../shared/errors.ts";

/** One RTP packet; `payload` is a view into the parsed bytes, not a copy. */
export interface RtpPacket {
  /** PT, 7 bits. */
  payloadType: number;
  /** 16-bit sequence number as sent. */
  sequenceNumber: number;
  /** 32-bit media timestamp in the stream's clock rate (RTP ticks). */
  timestamp: number;
  /** M bit; for video it marks the last packet of an access unit (RFC 6184 §5.1). */
  marker: boolean;
  /** Synchronization source, unsigned 32 bits. */
  ssrc: number;
  /** Payload after CSRCs and header extension, padding removed. */
  payload: Uint8Array;
}

const FIXED_HEADER_BYTES = 12;

/** Parses one RTP packet (RFC 3550 §5.1, §5.3.1); throws `BadRequestError` for anything that is not RTP v2. */
export function parseRtpPacket(bytes: Uint8Array): RtpPacket {
  if (bytes.length < FIXED_HEADER_BYTES) {
    throw new BadRequestError(`invalid RTP packet: ${bytes.length} bytes is shorter than the 12-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = view.getUint8(0);
  const version = first >> 6;
  if (version !== 2) throw new BadRequestError(`invalid RTP packet: version ${version}, expected 2`);
  const hasPadding = (first & 0x20) !== 0;
  const hasExtension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  const second = view.getUint8(1);

  let offset = FIXED_HEADER_BYTES + 4 * csrcCount;
  if (hasExtension) {
    if (offset + 4 > bytes.length) {
      throw new BadRequestError(`invalid RTP packet: header extension starts past the end (${bytes.length} bytes)`);
    }
    const extensionWords = view.getUint16(offset + 2);
    offset += 4 + 4 * extensionWords;
  }
  let end = bytes.length;
  if (hasPadding) {
    const paddingBytes = bytes[end - 1]!;
    if (paddingBytes === 0) throw new BadRequestError("invalid RTP packet: padding bit set with a padding count of 0");
    end -= paddingBytes;
  }
  if (offset > end) {
    throw new BadRequestError(
      `invalid RTP packet: headers and padding need ${offset + bytes.length - end} bytes, packet has ${bytes.length}`,
    );
  }
  return {
    payloadType: second & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    marker: (second & 0x80) !== 0,
    ssrc: view.getUint32(8),
    payload: bytes.subarray(offset, end),
  };
}

/** Writes `packet` as RTP v2 with no CSRC, extension or padding; fields are masked to their widths. */
export function serializeRtpPacket(packet: RtpPacket): Uint8Array {
  const out = new Uint8Array(FIXED_HEADER_BYTES + packet.payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, 0x80); // V=2, P=0, X=0, CC=0
  view.setUint8(1, (packet.marker ? 0x80 : 0) | (packet.payloadType & 0x7f)); // M, PT
  view.setUint16(2, packet.sequenceNumber & 0xffff); // sequence number
  view.setUint32(4, packet.timestamp >>> 0); // timestamp
  view.setUint32(8, packet.ssrc >>> 0); // SSRC
  out.set(packet.payload, FIXED_HEADER_BYTES);
  return out;
}
