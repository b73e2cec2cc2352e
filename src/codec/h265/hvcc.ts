/**
 * Builds the HEVCDecoderConfigurationRecord, the payload of the `hvcC` box (ISO/IEC 14496-15 §8.3.3.1). It writes
 * the record only, not the box header, always declares 4-byte NAL unit lengths, and fills the fields that would need
 * the VUI bitstream restrictions or the PPS (min_spatial_segmentation_idc, parallelismType) or the whole stream
 * (avgFrameRate, constantFrameRate) with their "unknown" value 0. SEI arrays are not written.
 */

import { BadRequestError } from "../../shared/errors.ts";
import { NalType, nalType } from "./nal.ts";
import { parseSps } from "./sps.ts";

/** The parameter sets of one hvcC, each list in the order they should be given to a decoder. */
export interface HevcParameterSets {
  vps: readonly Uint8Array[];
  sps: readonly Uint8Array[];
  pps: readonly Uint8Array[];
}

/**
 * HEVCDecoderConfigurationRecord bytes (ISO/IEC 14496-15 §8.3.3.1.2) with complete VPS, SPS and PPS arrays, as the
 * `hvc1` sample entry requires (§8.4.1); profile, tier, level, chroma and bit depths come from `sps[0]`.
 */
export function hevcDecoderConfigurationRecord({ vps, sps, pps }: HevcParameterSets): Uint8Array {
  const arrays = [
    { type: NalType.Vps, name: "VPS", nalUnits: vps },
    { type: NalType.Sps, name: "SPS", nalUnits: sps },
    { type: NalType.Pps, name: "PPS", nalUnits: pps },
  ];
  for (const { type, name, nalUnits } of arrays) {
    if (nalUnits.length === 0 || nalUnits.length > 0xffff) {
      throw new BadRequestError(`hvcC needs 1 to 65535 ${name} NAL units, got ${nalUnits.length}`);
    }
    for (const nal of nalUnits) {
      if (nalType(nal) !== type) {
        throw new BadRequestError(`hvcC ${name} array holds a NAL unit of type ${nalType(nal)}`);
      }
      if (nal.length > 0xffff) throw new BadRequestError(`hvcC ${name} of ${nal.length} bytes exceeds 65535`);
    }
  }
  const first = parseSps(sps[0]!);
  const ptl = first.profileTierLevel;
  if (first.bitDepthLuma > 15 || first.bitDepthChroma > 15) {
    throw new BadRequestError(`hvcC cannot express bit depth ${first.bitDepthLuma}/${first.bitDepthChroma}`);
  }

  const nalBytes = arrays.reduce(
    (total, { nalUnits }) => total + nalUnits.reduce((n, nal) => n + 2 + nal.length, 0),
    0,
  );
  const out = new Uint8Array(23 + 3 * arrays.length + nalBytes);
  const view = new DataView(out.buffer);
  let offset = 0;
  const u8 = (value: number) => view.setUint8(offset++, value);
  const u16 = (value: number) => {
    view.setUint16(offset, value);
    offset += 2;
  };

  u8(1); // configurationVersion
  u8((ptl.profileSpace << 6) | (ptl.highTier ? 0x20 : 0) | ptl.profileIdc); // general_profile_space, tier, idc
  view.setUint32(offset, ptl.compatibilityFlags); // general_profile_compatibility_flags
  offset += 4;
  out.set(ptl.constraintIndicatorFlags, offset); // general_constraint_indicator_flags (48 bits)
  offset += 6;
  u8(ptl.levelIdc); // general_level_idc
  u16(0xf000 | 0); // reserved '1111'b, min_spatial_segmentation_idc = 0 (no guarantee)
  u8(0xfc | 0); // reserved '111111'b, parallelismType = 0 (unknown or mixed)
  u8(0xfc | first.chromaFormatIdc); // reserved '111111'b, chromaFormat
  u8(0xf8 | (first.bitDepthLuma - 8)); // reserved '11111'b, bitDepthLumaMinus8
  u8(0xf8 | (first.bitDepthChroma - 8)); // reserved '11111'b, bitDepthChromaMinus8
  u16(0); // avgFrameRate = 0 (unspecified)
  // constantFrameRate = 0 (unknown), numTemporalLayers, temporalIdNested, lengthSizeMinusOne = 3
  u8((first.maxSubLayers << 3) | (first.temporalIdNesting ? 0x04 : 0) | 3);
  u8(arrays.length); // numOfArrays
  for (const { type, nalUnits } of arrays) {
    u8(0x80 | type); // array_completeness = 1, reserved 0, NAL_unit_type
    u16(nalUnits.length); // numNalus
    for (const nal of nalUnits) {
      u16(nal.length); // nalUnitLength
      out.set(nal, offset); // nalUnit
      offset += nal.length;
    }
  }
  return out;
}
