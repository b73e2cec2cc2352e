/**
 * Builds the AVCDecoderConfigurationRecord, the payload of the `avcC` box (ISO/IEC 14496-15 §5.3.3.1).
 * It writes the record only, not the box header, and always declares 4-byte NAL unit lengths.
 */

import { BadRequestError } from "../../shared/errors.ts";
import { NalType, nalType } from "./nal.ts";
import { parseSps } from "./sps.ts";

/** Profiles whose record carries chroma format and bit depths (ISO/IEC 14496-15 §5.3.3.1.2). */
const PROFILES_WITH_EXTENSION = new Set([100, 110, 122, 144]);

/** AVCDecoderConfigurationRecord bytes (ISO/IEC 14496-15 §5.3.3.1.2); profile and level come from `sps[0]`. */
export function avcDecoderConfigurationRecord(sps: readonly Uint8Array[], pps: readonly Uint8Array[]): Uint8Array {
  checkParameterSets("SPS", sps, NalType.Sps, 1, 31);
  checkParameterSets("PPS", pps, NalType.Pps, 1, 255);
  const first = parseSps(sps[0]!);
  const hasExtension = PROFILES_WITH_EXTENSION.has(first.profileIdc);

  const size = 7 + sum(sps) + sum(pps) + (hasExtension ? 4 : 0);
  const out = new Uint8Array(size);
  let offset = 0;
  const u8 = (value: number) => {
    out[offset++] = value;
  };
  const nalUnit = (nal: Uint8Array) => {
    u8(nal.length >> 8);
    u8(nal.length & 0xff);
    out.set(nal, offset);
    offset += nal.length;
  };

  u8(1); // configurationVersion
  u8(first.profileIdc); // AVCProfileIndication
  u8(first.constraintFlags); // profile_compatibility
  u8(first.levelIdc); // AVCLevelIndication
  u8(0xfc | 3); // reserved '111111'b, lengthSizeMinusOne = 3
  u8(0xe0 | sps.length); // reserved '111'b, numOfSequenceParameterSets
  sps.forEach(nalUnit); // sequenceParameterSetLength, sequenceParameterSetNALUnit
  u8(pps.length); // numOfPictureParameterSets
  pps.forEach(nalUnit); // pictureParameterSetLength, pictureParameterSetNALUnit
  if (hasExtension) {
    u8(0xfc | first.chromaFormatIdc); // reserved '111111'b, chroma_format
    u8(0xf8 | (first.bitDepthLuma - 8)); // reserved '11111'b, bit_depth_luma_minus8
    u8(0xf8 | (first.bitDepthChroma - 8)); // reserved '11111'b, bit_depth_chroma_minus8
    u8(0); // numOfSequenceParameterSetExt
  }
  return out;
}

function checkParameterSets(
  name: string,
  nalUnits: readonly Uint8Array[],
  type: number,
  minCount: number,
  maxCount: number,
): void {
  if (nalUnits.length < minCount || nalUnits.length > maxCount) {
    throw new BadRequestError(`avcC needs ${minCount} to ${maxCount} ${name} NAL units, got ${nalUnits.length}`);
  }
  for (const nal of nalUnits) {
    if (nalType(nal) !== type) throw new BadRequestError(`avcC ${name} list holds a NAL unit of type ${nalType(nal)}`);
    if (nal.length > 0xffff) throw new BadRequestError(`avcC ${name} of ${nal.length} bytes exceeds 65535`);
  }
}

function sum(nalUnits: readonly Uint8Array[]): number {
  return nalUnits.reduce((total, nal) => total + 2 + nal.length, 0);
}
