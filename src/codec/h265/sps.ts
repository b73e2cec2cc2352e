/**
 * Parses the H.265 sequence parameter set fields a recorder needs (ITU-T H.265 §7.3.2.2.1): the general
 * profile_tier_level, chroma format, cropped picture size and bit depths, which hvcC and the codecs string are made
 * of, and the VUI frame rate (§E.2.1). The fields up to the bit depths are required and a fault there throws
 * `BadRequestError`; the frame rate is best effort: anything unreadable between the bit depths and the VUI timing
 * (reference picture sets, scaling lists) leaves it undefined instead of failing. Base-layer SPS only.
 */

import { BadRequestError } from "../../shared/errors.ts";
import { BitReader, unescapeRbsp } from "../bit_reader.ts";
import { layerId, NalType, nalType } from "./nal.ts";

/** The general profile, tier and level of a bitstream (§7.3.3, §7.4.4), as hvcC and the codecs string carry them. */
export interface ProfileTierLevel {
  /** general_profile_space, 0 in every current profile. */
  profileSpace: number;
  /** general_tier_flag: false Main tier, true High tier. */
  highTier: boolean;
  /** general_profile_idc: 1 Main, 2 Main 10, 3 Main Still Picture, 4 range extensions, ... */
  profileIdc: number;
  /** general_profile_compatibility_flag[0..31], flag 0 in the most significant bit. */
  compatibilityFlags: number;
  /** The 48 bits from general_progressive_source_flag on, as 6 bytes. */
  constraintIndicatorFlags: Uint8Array;
  /** general_level_idc: level × 30, e.g. 93 for level 3.1. */
  levelIdc: number;
}

/** The decoded parts of a sequence parameter set; sizes are after conformance window cropping. */
export interface Sps {
  profileTierLevel: ProfileTierLevel;
  /** sps_max_sub_layers_minus1 + 1: the number of temporal sub-layers, 1..7. */
  maxSubLayers: number;
  /** sps_temporal_id_nesting_flag. */
  temporalIdNesting: boolean;
  /** chroma_format_idc: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormatIdc: number;
  /** Luma sample bit depth (BitDepthY), 8..16. */
  bitDepthLuma: number;
  /** Chroma sample bit depth (BitDepthC), 8..16. */
  bitDepthChroma: number;
  /** Displayed width in pixels: pic_width_in_luma_samples minus the conformance window (§7.4.3.2.1). */
  widthPx: number;
  /** Displayed height in pixels, likewise. */
  heightPx: number;
  /**
   * Pictures per second from VUI timing, vui_time_scale / vui_num_units_in_tick (§E.3.1), when present; left out
   * for field sequences (field_seq_flag), whose pictures are fields.
   */
  frameRate?: number;
}

/** Parses a complete SPS NAL unit, 2-byte header included and emulation prevention still in place (§7.3.2.2.1). */
export function parseSps(sps: Uint8Array): Sps {
  if (sps.length < 4) throw new BadRequestError(`invalid SPS: ${sps.length} bytes is too short`);
  if ((sps[0]! & 0x80) !== 0 || nalType(sps) !== NalType.Sps) {
    throw new BadRequestError(`invalid SPS: NAL unit header 0x${hex(sps[0]!)}${hex(sps[1]!)} is not an SPS`);
  }
  if (layerId(sps) !== 0) {
    throw new BadRequestError(`unsupported SPS: nuh_layer_id ${layerId(sps)} is not the base layer`);
  }
  const r = new BitReader(unescapeRbsp(sps.subarray(2)), "SPS");
  r.bits(4, "sps_video_parameter_set_id");
  const maxSubLayersMinus1 = r.bits(3, "sps_max_sub_layers_minus1");
  if (maxSubLayersMinus1 > 6) throw new BadRequestError(`invalid SPS: sps_max_sub_layers_minus1 is 7 (reserved)`);
  const temporalIdNesting = r.flag("sps_temporal_id_nesting_flag");
  const profileTierLevel = readProfileTierLevel(r, maxSubLayersMinus1);
  r.ueInRange("sps_seq_parameter_set_id", 0, 15);
  const chromaFormatIdc = r.ueInRange("chroma_format_idc", 0, 3);
  if (chromaFormatIdc === 3) r.flag("separate_colour_plane_flag");
  const codedWidth = r.ue("pic_width_in_luma_samples");
  const codedHeight = r.ue("pic_height_in_luma_samples");

  // Conformance window offsets are in chroma sample units (§7.4.3.2.1, Table 6-1). With separate colour planes
  // (4:4:4) or monochrome, SubWidthC and SubHeightC are 1.
  const subWidthC = chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1;
  const subHeightC = chromaFormatIdc === 1 ? 2 : 1;
  let cropX = 0;
  let cropY = 0;
  if (r.flag("conformance_window_flag")) {
    cropX = subWidthC * (r.ue("conf_win_left_offset") + r.ue("conf_win_right_offset"));
    cropY = subHeightC * (r.ue("conf_win_top_offset") + r.ue("conf_win_bottom_offset"));
  }
  const widthPx = codedWidth - cropX;
  const heightPx = codedHeight - cropY;
  if (widthPx <= 0 || heightPx <= 0 || widthPx > 0xffff || heightPx > 0xffff) {
    throw new BadRequestError(
      `invalid SPS: ${codedWidth}x${codedHeight} luma samples with the conformance window leave ${widthPx}x${heightPx}`,
    );
  }
  const bitDepthLuma = 8 + r.ueInRange("bit_depth_luma_minus8", 0, 8);
  const bitDepthChroma = 8 + r.ueInRange("bit_depth_chroma_minus8", 0, 8);

  const result: Sps = {
    profileTierLevel,
    maxSubLayers: maxSubLayersMinus1 + 1,
    temporalIdNesting,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    widthPx,
    heightPx,
  };
  try {
    const frameRate = readFrameRate(r, maxSubLayersMinus1);
    if (frameRate !== undefined) result.frameRate = frameRate;
  } catch (error) {
    if (!(error instanceof BadRequestError)) throw error;
    // The frame rate is optional: an SPS whose tail we cannot read still gives size, profile and hvcC.
  }
  return result;
}

/**
 * RFC 6381 codecs parameter for hvc1 (ISO/IEC 14496-15 Annex E.3): profile space letter and profile_idc, the
 * compatibility flags bit-reversed in hex, tier letter and level_idc, then the constraint bytes in hex with trailing
 * zero bytes dropped, e.g. "hvc1.1.6.L93.B0".
 */
export function hevcCodecString(ptl: ProfileTierLevel): string {
  const space = ["", "A", "B", "C"][ptl.profileSpace] ?? "";
  let reversed = 0;
  for (let bit = 0; bit < 32; bit++) reversed = (reversed << 1) | ((ptl.compatibilityFlags >>> bit) & 1);
  const constraints = [...ptl.constraintIndicatorFlags];
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  return [
    "hvc1",
    `${space}${ptl.profileIdc}`,
    (reversed >>> 0).toString(16).toUpperCase(),
    `${ptl.highTier ? "H" : "L"}${ptl.levelIdc}`,
    ...constraints.map((byte) => byte.toString(16).toUpperCase()),
  ].join(".");
}

/** profile_tier_level(1, maxNumSubLayersMinus1) (§7.3.3): the general part, with the sub-layer parts skipped. */
function readProfileTierLevel(r: BitReader, maxSubLayersMinus1: number): ProfileTierLevel {
  const profileSpace = r.bits(2, "general_profile_space");
  const highTier = r.flag("general_tier_flag");
  const profileIdc = r.bits(5, "general_profile_idc");
  const compatibilityFlags = r.bits(32, "general_profile_compatibility_flags");
  const constraintIndicatorFlags = new Uint8Array(6);
  for (let i = 0; i < 6; i++) constraintIndicatorFlags[i] = r.bits(8, "general_constraint_indicator_flags");
  const levelIdc = r.bits(8, "general_level_idc");
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.flag("sub_layer_profile_present_flag"));
    levelPresent.push(r.flag("sub_layer_level_present_flag"));
  }
  if (maxSubLayersMinus1 > 0) skip(r, 2 * (8 - maxSubLayersMinus1), "reserved_zero_2bits");
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) skip(r, 88, "sub_layer profile"); // space 2, tier 1, idc 5, flags 32, constraints 48
    if (levelPresent[i]) skip(r, 8, "sub_layer_level_idc");
  }
  return { profileSpace, highTier, profileIdc, compatibilityFlags, constraintIndicatorFlags, levelIdc };
}

/** Reads on from log2_max_pic_order_cnt_lsb_minus4 to the VUI timing info (§7.3.2.2.1, §E.2.1). */
function readFrameRate(r: BitReader, maxSubLayersMinus1: number): number | undefined {
  const log2MaxPocLsb = 4 + r.ueInRange("log2_max_pic_order_cnt_lsb_minus4", 0, 12);
  const orderingInfoForAll = r.flag("sps_sub_layer_ordering_info_present_flag");
  for (let i = orderingInfoForAll ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    r.ueInRange("sps_max_dec_pic_buffering_minus1", 0, 15);
    r.ueInRange("sps_max_num_reorder_pics", 0, 15);
    r.ue("sps_max_latency_increase_plus1");
  }
  r.ueInRange("log2_min_luma_coding_block_size_minus3", 0, 3);
  r.ueInRange("log2_diff_max_min_luma_coding_block_size", 0, 3);
  r.ueInRange("log2_min_luma_transform_block_size_minus2", 0, 3);
  r.ueInRange("log2_diff_max_min_luma_transform_block_size", 0, 3);
  r.ueInRange("max_transform_hierarchy_depth_inter", 0, 4);
  r.ueInRange("max_transform_hierarchy_depth_intra", 0, 4);
  if (r.flag("scaling_list_enabled_flag") && r.flag("sps_scaling_list_data_present_flag")) skipScalingListData(r);
  r.flag("amp_enabled_flag");
  r.flag("sample_adaptive_offset_enabled_flag");
  if (r.flag("pcm_enabled_flag")) {
    r.bits(4, "pcm_sample_bit_depth_luma_minus1");
    r.bits(4, "pcm_sample_bit_depth_chroma_minus1");
    r.ue("log2_min_pcm_luma_coding_block_size_minus3");
    r.ue("log2_diff_max_min_pcm_luma_coding_block_size");
    r.flag("pcm_loop_filter_disabled_flag");
  }
  skipShortTermRefPicSets(r, r.ueInRange("num_short_term_ref_pic_sets", 0, 64));
  if (r.flag("long_term_ref_pics_present_flag")) {
    const count = r.ueInRange("num_long_term_ref_pics_sps", 0, 32);
    for (let i = 0; i < count; i++) {
      r.bits(log2MaxPocLsb, "lt_ref_pic_poc_lsb_sps");
      r.flag("used_by_curr_pic_lt_sps_flag");
    }
  }
  r.flag("sps_temporal_mvp_enabled_flag");
  r.flag("strong_intra_smoothing_enabled_flag");
  if (!r.flag("vui_parameters_present_flag")) return undefined;

  // vui_parameters() up to the timing info (§E.2.1).
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
  r.flag("neutral_chroma_indication_flag");
  const fieldSeq = r.flag("field_seq_flag");
  r.flag("frame_field_info_present_flag");
  if (r.flag("default_display_window_flag")) {
    for (let i = 0; i < 4; i++) r.ue("def_disp_win_offset");
  }
  if (!r.flag("vui_timing_info_present_flag")) return undefined;
  const numUnitsInTick = r.bits(32, "vui_num_units_in_tick");
  const timeScale = r.bits(32, "vui_time_scale");
  // With field_seq_flag each picture is a field, and a frame rate would need the pairing: say nothing.
  if (fieldSeq || numUnitsInTick === 0 || timeScale === 0) return undefined;
  return timeScale / numUnitsInTick;
}

/** Skips scaling_list_data() (§7.3.4). */
function skipScalingListData(r: BitReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (!r.flag("scaling_list_pred_mode_flag")) {
        r.ue("scaling_list_pred_matrix_id_delta");
        continue;
      }
      const coefficients = Math.min(64, 1 << (4 + (sizeId << 1)));
      if (sizeId > 1) r.se("scaling_list_dc_coef_minus8");
      for (let i = 0; i < coefficients; i++) r.se("scaling_list_delta_coef");
    }
  }
}

/**
 * Skips the SPS's st_ref_pic_set(i) structures (§7.3.7). A set predicted from the previous one codes flags for each
 * picture of that set plus one, so every set's DeltaPocS0/S1 lists are derived as in (7-61) and (7-62).
 */
function skipShortTermRefPicSets(r: BitReader, count: number): void {
  let previous: ShortTermRefPicSet = { s0: [], s1: [] };
  for (let index = 0; index < count; index++) {
    const set: ShortTermRefPicSet = { s0: [], s1: [] };
    if (index > 0 && r.flag("inter_ref_pic_set_prediction_flag")) {
      // In the SPS delta_idx_minus1 is absent (inferred 0): the reference set is the previous one.
      const sign = r.flag("delta_rps_sign") ? -1 : 1;
      const deltaRps = sign * (r.ueInRange("abs_delta_rps_minus1", 0, 0x7fff) + 1);
      const { s0, s1 } = previous;
      const useDelta: boolean[] = []; // indexed like the reference set: s0, then s1, then deltaRps itself
      for (let j = 0; j <= s0.length + s1.length; j++) {
        useDelta.push(r.flag("used_by_curr_pic_flag") || r.flag("use_delta_flag")); // use_delta_flag inferred 1
      }
      const keep = (list: number[], deltaPoc: number, j: number) => {
        if (useDelta[j]) list.push(deltaPoc);
      };
      for (let j = s1.length - 1; j >= 0; j--) {
        if (s1[j]! + deltaRps < 0) keep(set.s0, s1[j]! + deltaRps, s0.length + j);
      }
      if (deltaRps < 0) keep(set.s0, deltaRps, s0.length + s1.length);
      for (let j = 0; j < s0.length; j++) if (s0[j]! + deltaRps < 0) keep(set.s0, s0[j]! + deltaRps, j);
      for (let j = s0.length - 1; j >= 0; j--) if (s0[j]! + deltaRps > 0) keep(set.s1, s0[j]! + deltaRps, j);
      if (deltaRps > 0) keep(set.s1, deltaRps, s0.length + s1.length);
      for (let j = 0; j < s1.length; j++) if (s1[j]! + deltaRps > 0) keep(set.s1, s1[j]! + deltaRps, s0.length + j);
    } else {
      const negative = r.ueInRange("num_negative_pics", 0, 16);
      const positive = r.ueInRange("num_positive_pics", 0, 16);
      let deltaPoc = 0;
      for (let i = 0; i < negative; i++) {
        deltaPoc -= r.ueInRange("delta_poc_s0_minus1", 0, 0x7fff) + 1;
        r.flag("used_by_curr_pic_s0_flag");
        set.s0.push(deltaPoc);
      }
      deltaPoc = 0;
      for (let i = 0; i < positive; i++) {
        deltaPoc += r.ueInRange("delta_poc_s1_minus1", 0, 0x7fff) + 1;
        r.flag("used_by_curr_pic_s1_flag");
        set.s1.push(deltaPoc);
      }
    }
    if (set.s0.length + set.s1.length > 16) {
      throw new BadRequestError(`invalid SPS: short-term RPS ${index} holds ${set.s0.length + set.s1.length} pictures`);
    }
    previous = set;
  }
}

/** DeltaPocS0 (negative, nearest first) and DeltaPocS1 (positive, nearest first) of one short-term RPS (§7.4.8). */
interface ShortTermRefPicSet {
  s0: number[];
  s1: number[];
}

function skip(r: BitReader, n: number, field: string): void {
  for (; n > 32; n -= 32) r.bits(32, field);
  r.bits(n, field);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
