/**
 * H.265 NAL unit vocabulary: the 2-byte NAL unit header, type numbers, IRAP (keyframe) detection, Annex B and
 * 4-byte length-prefixed framing, and the SDP `sprop-vps`/`sprop-sps`/`sprop-pps` values. Slice data is never
 * parsed here beyond the first bit of a slice segment header; SPS parsing lives in `sps.ts`, hvcC in `hvcc.ts`.
 */

import { BadRequestError } from "../../shared/errors.ts";

/** nal_unit_type values (ITU-T H.265 Table 7-1) and the RTP payload structures (RFC 7798 §4.4). */
export const NalType = {
  /** RASL_N: random access skipped leading picture, not decodable when decoding starts at its IRAP (§7.4.2.2). */
  RaslN: 8,
  /** RASL_R. */
  RaslR: 9,
  /** BLA_W_LP: broken link access, the first IRAP type (§7.4.2.2). */
  BlaWLp: 16,
  /** BLA_W_RADL. */
  BlaWRadl: 17,
  /** BLA_N_LP. */
  BlaNLp: 18,
  /** IDR_W_RADL: instantaneous decoding refresh. */
  IdrWRadl: 19,
  /** IDR_N_LP. */
  IdrNLp: 20,
  /** CRA_NUT: clean random access, the last IRAP type in use. */
  Cra: 21,
  /** Video parameter set. */
  Vps: 32,
  /** Sequence parameter set. */
  Sps: 33,
  /** Picture parameter set. */
  Pps: 34,
  /** Access unit delimiter. */
  Aud: 35,
  /** End of sequence. */
  EndOfSequence: 36,
  /** End of bitstream. */
  EndOfBitstream: 37,
  /** Filler data. */
  Filler: 38,
  /** Prefix supplemental enhancement information. */
  PrefixSei: 39,
  /** Suffix supplemental enhancement information. */
  SuffixSei: 40,
  /** Aggregation packet, RFC 7798 §4.4.2. */
  Ap: 48,
  /** Fragmentation unit, RFC 7798 §4.4.3. */
  Fu: 49,
  /** Payload content information packet, RFC 7798 §4.4.4. */
  Paci: 50,
} as const;

/** One of the named NAL unit / RTP payload types. */
export type NalType = typeof NalType[keyof typeof NalType];

/** nal_unit_type: bits 1..6 of the 2-byte NAL unit header (ITU-T H.265 §7.3.1.2); 0 for an empty array. */
export function nalType(nal: Uint8Array): number {
  return ((nal[0] ?? 0) >> 1) & 0x3f;
}

/** nuh_layer_id: 6 bits straddling the two header bytes (§7.3.1.2); 0 is the base layer. */
export function layerId(nal: Uint8Array): number {
  return (((nal[0] ?? 0) & 0x01) << 5) | ((nal[1] ?? 0) >> 3);
}

/** nuh_temporal_id_plus1: the low 3 bits of the second header byte (§7.3.1.2); 0 is forbidden. */
export function temporalIdPlus1(nal: Uint8Array): number {
  return (nal[1] ?? 0) & 0x07;
}

/** VCL NAL unit types are 0..31 (§7.4.2.2, Table 7-1); only these carry slice segments. */
export function isVcl(nal: Uint8Array): boolean {
  return nal.length >= 2 && nalType(nal) < 32;
}

/** IRAP pictures (BLA, IDR, CRA: types 16..21) start a decodable sequence (§3.73, §7.4.2.2). */
export function isIrap(nal: Uint8Array): boolean {
  const type = nalType(nal);
  return nal.length >= 2 && type >= NalType.BlaWLp && type <= NalType.Cra;
}

/** VPS, SPS or PPS (types 32..34). */
export function isParameterSet(nal: Uint8Array): boolean {
  const type = nalType(nal);
  return nal.length >= 2 && type >= NalType.Vps && type <= NalType.Pps;
}

/**
 * first_slice_segment_in_pic_flag, the first bit of a slice segment header (§7.3.6.1): true when this VCL NAL unit
 * begins its picture.
 */
export function startsPicture(vcl: Uint8Array): boolean {
  return ((vcl[2] ?? 0) & 0x80) !== 0;
}

/**
 * Splits an Annex B byte stream on 3- and 4-byte start codes (ITU-T H.265 Annex B). Bytes before the first start
 * code, empty NAL units and trailing zero bytes (trailing_zero_8bits, a 4-byte start code's leading zero) are
 * dropped. The results are views into `bytes`.
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
      throw new BadRequestError(`invalid H.265 sample: ${sample.length - offset} stray bytes at offset ${offset}`);
    }
    const sizeBytes = view.getUint32(offset);
    offset += 4;
    if (sizeBytes === 0 || offset + sizeBytes > sample.length) {
      throw new BadRequestError(
        `invalid H.265 sample: NAL unit of ${sizeBytes} bytes at offset ${offset - 4} in ${sample.length} bytes`,
      );
    }
    nalUnits.push(sample.subarray(offset, offset + sizeBytes));
    offset += sizeBytes;
  }
  return nalUnits;
}

/**
 * Decodes an SDP `sprop-vps`, `sprop-sps` or `sprop-pps` value: comma-separated base64 NAL units (RFC 7798 §7.1).
 * Throws `BadRequestError` for invalid base64 or an entry shorter than a NAL unit header.
 */
export function parseSpropNalUnits(name: string, value: string): Uint8Array[] {
  return value.split(",").map((entry) => {
    const trimmed = entry.trim();
    let binary: string;
    try {
      binary = atob(trimmed);
    } catch {
      throw new BadRequestError(`invalid ${name}: ${JSON.stringify(trimmed)} is not base64`);
    }
    if (binary.length < 2) throw new BadRequestError(`invalid ${name}: entry ${JSON.stringify(trimmed)} is too short`);
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  });
}
