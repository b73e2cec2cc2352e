/**
 * NAL unit framing shared by H.264 and H.265: Annex B byte streams (start codes) and MP4 samples of 4-byte
 * length-prefixed NAL units (ISO/IEC 14496-15 §4.3.2). It knows no NAL unit types.
 */

import { BadRequestError } from "../shared/errors.ts";

/**
 * Splits an Annex B byte stream on 3- and 4-byte start codes (ITU-T H.264 and H.265 Annex B). Bytes before the
 * first start code, empty NAL units and trailing zero bytes (trailing_zero_8bits, a 4-byte start code's leading
 * zero) are dropped. The results are views into `bytes`.
 */
export function splitAnnexB(bytes: Uint8Array): Uint8Array[] {
  const nalUnits: Uint8Array[] = [];
  let nalStart = -1;
  let i = 0;
  while (i + 2 < bytes.length) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      if (nalStart >= 0) pushTrimmed(nalUnits, bytes, nalStart, i);
      i += 3;
      nalStart = i;
    } else {
      i++;
    }
  }
  if (nalStart >= 0) pushTrimmed(nalUnits, bytes, nalStart, bytes.length);
  return nalUnits;
}

function pushTrimmed(out: Uint8Array[], bytes: Uint8Array, start: number, end: number): void {
  while (end > start && bytes[end - 1] === 0) end--;
  if (end > start) out.push(bytes.subarray(start, end));
}

/** NAL units as one MP4 sample: each preceded by its size as a 4-byte big-endian integer (ISO/IEC 14496-15 §4.3.2). */
export function toLengthPrefixed(nalUnits: readonly Uint8Array[]): Uint8Array {
  let sizeBytes = 0;
  for (const nal of nalUnits) sizeBytes += 4 + nal.length;
  const out = new Uint8Array(sizeBytes);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const nal of nalUnits) {
    view.setUint32(offset, nal.length);
    out.set(nal, offset + 4);
    offset += 4 + nal.length;
  }
  return out;
}

/**
 * The NAL units of a sample of 4-byte length-prefixed NAL units, as views into it. Throws `BadRequestError` when a
 * length runs past the end or is zero.
 */
export function splitLengthPrefixed(sample: Uint8Array): Uint8Array[] {
  const view = new DataView(sample.buffer, sample.byteOffset, sample.byteLength);
  const nalUnits: Uint8Array[] = [];
  let offset = 0;
  while (offset < sample.length) {
    if (offset + 4 > sample.length) {
      throw new BadRequestError(`invalid sample: ${sample.length - offset} stray bytes at offset ${offset}`);
    }
    const sizeBytes = view.getUint32(offset);
    offset += 4;
    if (sizeBytes === 0 || offset + sizeBytes > sample.length) {
      throw new BadRequestError(
        `invalid sample: NAL unit of ${sizeBytes} bytes at offset ${offset - 4} in ${sample.length} bytes`,
      );
    }
    nalUnits.push(sample.subarray(offset, offset + sizeBytes));
    offset += sizeBytes;
  }
  return nalUnits;
}
