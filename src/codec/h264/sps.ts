/**
 * Parses the H.264 sequence parameter set fields a recorder needs: profile, level, display size, frame rate and
 * chroma/bit depth for the avcC record (ITU-T H.264 §7.3.2.1.1, §E.1.1). It reads as far as the VUI timing info and
 * ignores everything after it (HRD, bitstream restrictions). Truncated or out-of-range SPS throw `BadRequestError`.
 */

import { BadRequestError } from "../../shared/errors.ts";
import { BitReader, unescapeRbsp } from "../bit_reader.ts";
import { NalType, nalType } from "./nal.ts";

/** The decoded parts of a sequence parameter set; sizes are after frame cropping. */
export interface Sps {
  /** profile_idc, e.g. 66 Baseline, 77 Main, 100 High. */
  profileIdc: number;
  /** constraint_set0..5 flags and the 2 reserved bits as one byte (the "profile_compatibility" of avcC). */
  constraintFlags: number;
  /** level_idc: level × 10, e.g. 31 for level 3.1. */
  levelIdc: number;
  /** chroma_format_idc: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormatIdc: number;
  /** Luma sample bit depth (BitDepthY). */
  bitDepthLuma: number;
  /** Chroma sample bit depth (BitDepthC). */
  bitDepthChroma: number;
  /** Displayed width in pixels, after cropping. */
  widthPx: number;
  /** Displayed height in pixels (a frame, both fields when interlaced), after cropping. */
  heightPx: number;
  /** Frames per second from VUI timing info, time_scale / (2 × num_units_in_tick) (§E.2.1), when present. */
  frameRate?: number;
}

/** profile_idc values whose SPS carries chroma_format_idc, bit depths and scaling matrices (§7.3.2.1.1). */
const PROFILES_WITH_CHROMA_INFO = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses a complete SPS NAL unit, header byte included and emulation prevention still in place (§7.3.2.1.1). */
export function parseSps(sps: Uint8Array): Sps {
  if (sps.length < 4) throw new BadRequestError(`invalid SPS: ${sps.length} bytes is too short`);
  if ((sps[0]! & 0x80) !== 0 || nalType(sps) !== NalType.Sps) {
    throw new BadRequestError(`invalid SPS: NAL header 0x${hex(sps[0]!)} is not an SPS`);
  }
  const r = new BitReader(unescapeRbsp(sps.subarray(1)), "SPS");
  const profileIdc = r.bits(8, "profile_idc");
  const constraintFlags = r.bits(8, "constraint_set_flags");
  const levelIdc = r.bits(8, "level_idc");
  r.ueInRange("seq_parameter_set_id", 0, 31);

  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (PROFILES_WITH_CHROMA_INFO.has(profileIdc)) {
    chromaFormatIdc = r.ueInRange("chroma_format_idc", 0, 3);
    if (chromaFormatIdc === 3) separateColourPlane = r.flag("separate_colour_plane_flag");
    bitDepthLuma = 8 + r.ueInRange("bit_depth_luma_minus8", 0, 6);
    bitDepthChroma = 8 + r.ueInRange("bit_depth_chroma_minus8", 0, 6);
    r.flag("qpprime_y_zero_transform_bypass_flag");
    if (r.flag("seq_scaling_matrix_present_flag")) {
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) {
        if (r.flag("seq_scaling_list_present_flag")) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }

  r.ueInRange("log2_max_frame_num_minus4", 0, 12);
  const picOrderCntType = r.ueInRange("pic_order_cnt_type", 0, 2);
  if (picOrderCntType === 0) {
    r.ueInRange("log2_max_pic_order_cnt_lsb_minus4", 0, 12);
  } else if (picOrderCntType === 1) {
    r.flag("delta_pic_order_always_zero_flag");
    r.se("offset_for_non_ref_pic");
    r.se("offset_for_top_to_bottom_field");
    const cycle = r.ueInRange("num_ref_frames_in_pic_order_cnt_cycle", 0, 255);
    for (let i = 0; i < cycle; i++) r.se("offset_for_ref_frame");
  }
  r.ueInRange("max_num_ref_frames", 0, 16);
  r.flag("gaps_in_frame_num_value_allowed_flag");
  const widthMbs = r.ue("pic_width_in_mbs_minus1") + 1;
  const heightMapUnits = r.ue("pic_height_in_map_units_minus1") + 1;
  const frameMbsOnly = r.flag("frame_mbs_only_flag");
  if (!frameMbsOnly) r.flag("mb_adaptive_frame_field_flag");
  r.flag("direct_8x8_inference_flag");

  // Crop units, §7.4.2.1.1 (frame_crop_*_offset semantics) and Table 6-1 (SubWidthC, SubHeightC).
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaFormatIdc === 3 ? 1 : 2;
  const subHeightC = chromaFormatIdc === 1 ? 2 : 1;
  const fieldFactor = frameMbsOnly ? 1 : 2;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * fieldFactor;
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.flag("frame_cropping_flag")) {
    crop = {
      left: r.ue("frame_crop_left_offset"),
      right: r.ue("frame_crop_right_offset"),
      top: r.ue("frame_crop_top_offset"),
      bottom: r.ue("frame_crop_bottom_offset"),
    };
  }
  const widthPx = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
  const heightPx = fieldFactor * heightMapUnits * 16 - cropUnitY * (crop.top + crop.bottom);
  if (widthPx <= 0 || heightPx <= 0) {
    throw new BadRequestError(`invalid SPS: frame cropping leaves ${widthPx}x${heightPx} pixels`);
  }

  const result: Sps = {
    profileIdc,
    constraintFlags,
    levelIdc,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    widthPx,
    heightPx,
  };
  if (r.flag("vui_parameters_present_flag")) {
    const frameRate = readVuiFrameRate(r);
    if (frameRate !== undefined) result.frameRate = frameRate;
  }
  return result;
}

/** RFC 6381 §3.3 `avc1.PPCCLL` codecs parameter: profile, constraint byte and level as lowercase hex. */
export function avcCodecString(sps: Pick<Sps, "profileIdc" | "constraintFlags" | "levelIdc">): string {
  return `avc1.${hex(sps.profileIdc)}${hex(sps.constraintFlags)}${hex(sps.levelIdc)}`;
}

/** Skips scaling_list() (§7.3.2.1.1.1): delta_scale values are coded until the list ends or nextScale hits 0. */
function skipScalingList(r: BitReader, size: number): void {
  let scale = 8;
  for (let j = 0; j < size; j++) {
    const deltaScale = r.se("delta_scale");
    if (deltaScale < -128 || deltaScale > 127) {
      throw new BadRequestError(`invalid SPS: delta_scale must be between -128 and 127, got ${deltaScale}`);
    }
    scale = (scale + deltaScale + 256) % 256;
    if (scale === 0) return; // the rest of the list repeats the last scale, or uses the default: nothing coded
  }
}

/** Reads vui_parameters() (§E.1.1) up to timing info; returns frames per second when timing info is present. */
function readVuiFrameRate(r: BitReader): number | undefined {
  if (r.flag("aspect_ratio_info_present_flag")) {
    const extendedSar = 255;
    if (r.bits(8, "aspect_ratio_idc") === extendedSar) {
      r.bits(16, "sar_width");
      r.bits(16, "sar_height");
    }
  }
  if (r.flag("overscan_info_present_flag")) r.flag("overscan_appropriate_flag");
  if (r.flag("video_signal_type_present_flag")) {
    r.bits(3, "video_format");
    r.flag("video_full_range_flag");
    if (r.flag("colour_description_present_flag")) r.bits(24, "colour_description");
  }
  if (r.flag("chroma_loc_info_present_flag")) {
    r.ue("chroma_sample_loc_type_top_field");
    r.ue("chroma_sample_loc_type_bottom_field");
  }
  if (!r.flag("timing_info_present_flag")) return undefined;
  const numUnitsInTick = r.bits(32, "num_units_in_tick");
  const timeScale = r.bits(32, "time_scale");
  if (numUnitsInTick === 0 || timeScale === 0) return undefined;
  return timeScale / (2 * numUnitsInTick);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
