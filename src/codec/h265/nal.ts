/**
 * H.265 NAL unit vocabulary: the 2-byte NAL unit header, type numbers, IRAP (keyframe) detection and the SDP
 * `sprop-vps`/`sprop-sps`/`sprop-pps` values (the framing is in ../nal_units.ts). Slice data is never
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
