/**
 * H.264 NAL unit vocabulary: type numbers, SDP sprop-parameter-sets, keyframe detection (framing: ../nal_units.ts).
 * Slice data is never looked at here; SPS parsing lives in `h264_sps.ts` and the avcC record in `avc_config.ts`.
 */

import { BadRequestError } from "../../shared/errors.ts";

/** nal_unit_type values (ITU-T H.264 Table 7-1) and the RTP payload structures (RFC 6184 §5.2, Table 1). */
export const NalType = {
  /** Coded slice of a non-IDR picture. */
  Slice: 1,
  /** Coded slice data partition A. */
  SliceDataA: 2,
  /** Coded slice data partition B. */
  SliceDataB: 3,
  /** Coded slice data partition C. */
  SliceDataC: 4,
  /** Coded slice of an IDR picture: a random access point. */
  Idr: 5,
  /** Supplemental enhancement information. */
  Sei: 6,
  /** Sequence parameter set. */
  Sps: 7,
  /** Picture parameter set. */
  Pps: 8,
  /** Access unit delimiter. */
  Aud: 9,
  /** End of sequence. */
  EndOfSequence: 10,
  /** End of stream. */
  EndOfStream: 11,
  /** Filler data. */
  Filler: 12,
  /** Single-time aggregation packet, RFC 6184 §5.7.1. */
  StapA: 24,
  /** Single-time aggregation packet with DON, RFC 6184 §5.7.1 (interleaved mode only). */
  StapB: 25,
  /** Multi-time aggregation packet with 16-bit offsets, RFC 6184 §5.7.2 (interleaved mode only). */
  Mtap16: 26,
  /** Multi-time aggregation packet with 24-bit offsets, RFC 6184 §5.7.2 (interleaved mode only). */
  Mtap24: 27,
  /** Fragmentation unit without DON, RFC 6184 §5.8. */
  FuA: 28,
  /** Fragmentation unit with DON, RFC 6184 §5.8 (interleaved mode only). */
  FuB: 29,
} as const;

/** One of the named NAL unit / RTP payload types. */
export type NalType = typeof NalType[keyof typeof NalType];

/** nal_unit_type of a NAL unit: the low 5 bits of its first byte (ITU-T H.264 §7.3.1); 0 for an empty array. */
export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

/** True when the access unit holds an IDR slice, so decoding can start there (ITU-T H.264 §3.69). */
export function isKeyframe(nalUnits: readonly Uint8Array[]): boolean {
  return nalUnits.some((nal) => nalType(nal) === NalType.Idr);
}

/**
 * Decodes the SDP `sprop-parameter-sets` value: comma-separated base64 NAL units, usually SPS then PPS
 * (RFC 6184 §8.1). Throws `BadRequestError` for invalid base64 or an empty entry.
 */
export function parseSpropParameterSets(value: string): Uint8Array[] {
  const entries = value.split(",").map((entry) => entry.trim());
  return entries.map((entry) => {
    let binary: string;
    try {
      binary = atob(entry);
    } catch {
      throw new BadRequestError(`invalid sprop-parameter-sets: ${JSON.stringify(entry)} is not base64`);
    }
    if (binary.length === 0) {
      throw new BadRequestError(`invalid sprop-parameter-sets: empty entry in ${JSON.stringify(value)}`);
    }
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  });
}
