/**
 * werift parses every RTP header it receives with `RtpHeader.deSerialize`, which reads each bit field by printing the
 * byte as a binary string and parsing a slice of it back: at 24 streams that was 4% of the service's CPU. liverec
 * replaces it with a parser that builds the same `RtpHeader`, field for field, from shifts and masks.
 */

import { Buffer } from "node:buffer";
import { RtpHeader } from "werift";

/** RFC 8285 header extension profiles: one-byte (0xBEDE) and two-byte (0x100 in the top 12 bits; werift: 0x1000). */
const ONE_BYTE_PROFILE = 0xbede;
const TWO_BYTE_PROFILE = 0x1000;
const FIXED_HEADER_BYTES = 12;

type Extension = RtpHeader["extensions"][number];

/**
 * werift's RtpHeader from `raw`, as its own `deSerialize` makes it (the same fields, offsets and extension views,
 * extension id 15 ending a one-byte list, an unknown profile as one extension with id 0).
 */
export function parseRtpHeader(raw: Buffer): RtpHeader {
  const header = new RtpHeader();
  const first = raw[0]!;
  const second = raw[1]!;
  header.version = first >> 6;
  header.padding = (first & 0x20) !== 0;
  header.extension = (first & 0x10) !== 0;
  header.csrcLength = first & 0x0f;
  header.marker = (second & 0x80) !== 0;
  header.payloadType = second & 0x7f;
  header.sequenceNumber = raw.readUInt16BE(2);
  header.timestamp = raw.readUInt32BE(4);
  header.ssrc = raw.readUInt32BE(8);
  const csrc: number[] = [];
  for (let i = 0; i < header.csrcLength; i++) csrc.push(raw.readUInt32BE(FIXED_HEADER_BYTES + 4 * i));
  header.csrc = csrc;
  let offset = FIXED_HEADER_BYTES + 4 * header.csrcLength;
  if (header.extension) {
    header.extensionProfile = raw.readUInt16BE(offset) as RtpHeader["extensionProfile"];
    const length = raw.readUInt16BE(offset + 2) * 4;
    header.extensionLength = length;
    offset += 4;
    const extensions: Extension[] = [];
    const end = offset + length;
    const profile: number = header.extensionProfile;
    if (profile === ONE_BYTE_PROFILE) {
      while (offset < end) {
        const byte = raw[offset]!;
        if (byte === 0) {
          offset++;
          continue;
        }
        const id = byte >> 4;
        const size = (byte & 0x0f) + 1;
        offset++;
        if (id === 15) break;
        extensions.push({ id, payload: raw.subarray(offset, offset + size) });
        offset += size;
      }
    } else if (profile === TWO_BYTE_PROFILE) {
      while (offset < end) {
        if (raw[offset] === 0) {
          offset++;
          continue;
        }
        const id = raw[offset]!;
        const size = raw[offset + 1]!;
        offset += 2;
        extensions.push({ id, payload: raw.subarray(offset, offset + size) });
        offset += size;
      }
    } else {
      const payload = raw.subarray(offset, end);
      extensions.push({ id: 0, payload });
      offset += payload.length;
    }
    header.extensions = extensions;
  }
  header.payloadOffset = offset;
  if (header.padding) header.paddingSize = raw[raw.length - 1]!;
  return header;
}

let installed = false;

/** Makes werift parse RTP headers with `parseRtpHeader`; once per process, for every peer connection. */
export function useFastRtpHeaderParser(): void {
  if (installed) return;
  installed = true;
  (RtpHeader as unknown as { deSerialize: (raw: Buffer) => RtpHeader }).deSerialize = parseRtpHeader;
}
