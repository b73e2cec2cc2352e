/**
 * Readers of the decoder configuration records that carry parameter sets: what RTMP sends as a sequence header and
 * what an MP4 sample entry holds (avcC, hvcC, av1C). They take out the NAL unit length size and the parameter sets,
 * nothing else, and never throw: a broken record is answered with a reason.
 */

import { NalType as H265NalType } from "./h265/nal.ts";

/** A big-endian cursor that reports running off the end instead of throwing. */
class RecordReader {
  offset = 0;
  truncated = false;
  constructor(private readonly bytes: Uint8Array) {}

  u8(): number {
    return this.take(1)[0] ?? 0;
  }

  u16(): number {
    const bytes = this.take(2);
    return ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
  }

  take(count: number): Uint8Array {
    if (this.offset + count > this.bytes.length) {
      this.truncated = true;
      this.offset = this.bytes.length;
      return new Uint8Array(0);
    }
    this.offset += count;
    return this.bytes.subarray(this.offset - count, this.offset);
  }
}

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1.2): lengthSizeMinusOne, SPS and PPS. */
export function readAvcDecoderConfigurationRecord(
  record: Uint8Array,
): { lengthSizeBytes: number; parameterSets: Uint8Array[] } | string {
  const r = new RecordReader(record);
  const version = r.u8(); // configurationVersion
  r.take(3); // AVCProfileIndication, profile_compatibility, AVCLevelIndication
  const lengthSizeBytes = (r.u8() & 0x03) + 1; // reserved, lengthSizeMinusOne
  const parameterSets: Uint8Array[] = [];
  const spsCount = r.u8() & 0x1f; // reserved, numOfSequenceParameterSets
  for (let i = 0; i < spsCount; i++) parameterSets.push(r.take(r.u16()));
  const ppsCount = r.u8(); // numOfPictureParameterSets
  for (let i = 0; i < ppsCount; i++) parameterSets.push(r.take(r.u16()));
  if (r.truncated) return `truncated at byte ${record.length}`;
  if (version !== 1) return `configurationVersion ${version}`;
  if (lengthSizeBytes === 3) return "lengthSizeMinusOne 2 is not allowed";
  if (spsCount === 0 || ppsCount === 0) return `${spsCount} SPS and ${ppsCount} PPS`;
  return { lengthSizeBytes, parameterSets };
}

/** HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1.2): lengthSizeMinusOne and the VPS, SPS, PPS arrays. */
export function readHevcDecoderConfigurationRecord(
  record: Uint8Array,
): { lengthSizeBytes: number; parameterSets: Uint8Array[] } | string {
  const r = new RecordReader(record);
  const version = r.u8(); // configurationVersion
  r.take(20); // profile, tier, level, constraint flags ... avgFrameRate
  const lengthSizeBytes = (r.u8() & 0x03) + 1; // constantFrameRate, numTemporalLayers, temporalIdNested, length size
  const byType = new Map<number, Uint8Array[]>();
  const arrayCount = r.u8(); // numOfArrays
  for (let i = 0; i < arrayCount && !r.truncated; i++) {
    const type = r.u8() & 0x3f; // array_completeness, reserved, NAL_unit_type
    const count = r.u16(); // numNalus
    for (let j = 0; j < count && !r.truncated; j++) {
      const nal = r.take(r.u16()); // nalUnitLength, nalUnit
      byType.set(type, [...byType.get(type) ?? [], nal]);
    }
  }
  if (r.truncated) return `truncated at byte ${record.length}`;
  if (version !== 1) return `configurationVersion ${version}`;
  if (lengthSizeBytes === 3) return "lengthSizeMinusOne 2 is not allowed";
  const sets = [H265NalType.Vps, H265NalType.Sps, H265NalType.Pps].map((type) => byType.get(type) ?? []);
  if (sets.some((list) => list.length === 0)) return `${sets.map((list) => list.length).join("/")} VPS/SPS/PPS`;
  return { lengthSizeBytes, parameterSets: sets.flat() };
}

/**
 * AV1CodecConfigurationRecord (AV1 ISOBMFF binding §2.3): the configuration OBUs after its 4 fixed bytes (a sequence
 * header, when the encoder put one there).
 */
export function readAv1CodecConfigurationRecord(record: Uint8Array): { parameterSets: Uint8Array[] } | string {
  if (record.length < 4) return `truncated at byte ${record.length}`;
  if (record[0] !== 0x81) return `marker and version byte 0x${record[0]!.toString(16)}`;
  return { parameterSets: record.length > 4 ? [record.subarray(4)] : [] };
}
