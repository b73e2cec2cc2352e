/**
 * Parses an AV1 sequence header OBU payload (AV1 spec §5.5) into what a recorder needs: profile, first operating
 * point's level and tier, maximum frame size, colour configuration and timing, and writes the codecs parameter
 * string (AV1 ISOBMFF binding, Codecs Parameter String). Decoder model and frame id fields are read only to skip
 * them; coding tool flags are skipped without being kept.
 */

import { BitReader } from "../bit_reader.ts";
import { BadRequestError } from "../../shared/errors.ts";

/** The fields of a sequence header that describe a track (AV1 spec §5.5, §6.4). */
export interface SequenceHeader {
  /** seq_profile: 0 Main, 1 High, 2 Professional. */
  seqProfile: number;
  stillPicture: boolean;
  reducedStillPictureHeader: boolean;
  /** seq_level_idx[0], the level of operating point 0 (0 is level 2.0, 31 means no level constraint). */
  seqLevelIdx0: number;
  /** seq_tier[0]: 0 Main, 1 High. */
  seqTier0: number;
  /** max_frame_width_minus_1 + 1: the coded size limit, which the sample entry carries (binding §2.2.3). */
  maxFrameWidthPx: number;
  /** max_frame_height_minus_1 + 1. */
  maxFrameHeightPx: number;
  highBitdepth: boolean;
  twelveBit: boolean;
  /** BitDepth (§6.4.2): 8, 10 or 12. */
  bitDepth: number;
  monochrome: boolean;
  subsamplingX: number;
  subsamplingY: number;
  /** chroma_sample_position (§6.4.2); 0 (CSP_UNKNOWN) when not coded. */
  chromaSamplePosition: number;
  /** Whether color_description_present_flag was set; the three code points below are 2 (unspecified) if not. */
  colorDescriptionPresent: boolean;
  colorPrimaries: number;
  transferCharacteristics: number;
  matrixCoefficients: number;
  /** color_range: 1 full swing, 0 studio swing. */
  colorRange: number;
  /** time_scale / (num_units_in_display_tick * num_ticks_per_picture) when timing_info gives a fixed rate. */
  frameRate?: number;
}

const CP_BT_709 = 1;
const TC_SRGB = 13;
const MC_IDENTITY = 0;
const UNSPECIFIED = 2;

/** Parses a sequence_header_obu() payload (AV1 spec §5.5); throws BadRequestError for reserved or truncated input. */
export function parseSequenceHeader(payload: Uint8Array): SequenceHeader {
  const r = new BitReader(payload, "AV1 sequence header");
  const seqProfile = r.bits(3, "seq_profile");
  if (seqProfile > 2) throw new BadRequestError(`invalid AV1 sequence header: seq_profile ${seqProfile} is reserved`);
  const stillPicture = r.flag("still_picture");
  const reducedStillPictureHeader = r.flag("reduced_still_picture_header");
  let seqLevelIdx0: number;
  let seqTier0 = 0;
  let frameRate: number | undefined;
  if (reducedStillPictureHeader) {
    seqLevelIdx0 = r.bits(5, "seq_level_idx[0]");
  } else {
    let decoderModelInfoPresent = false;
    let bufferDelayLength = 0;
    if (r.flag("timing_info_present_flag")) {
      frameRate = readTimingInfo(r);
      decoderModelInfoPresent = r.flag("decoder_model_info_present_flag");
      if (decoderModelInfoPresent) {
        bufferDelayLength = r.bits(5, "buffer_delay_length_minus_1") + 1;
        r.bits(32, "num_units_in_decoding_tick");
        r.bits(5, "buffer_removal_time_length_minus_1");
        r.bits(5, "frame_presentation_time_length_minus_1");
      }
    }
    const initialDisplayDelayPresent = r.flag("initial_display_delay_present_flag");
    const operatingPoints = r.bits(5, "operating_points_cnt_minus_1") + 1;
    seqLevelIdx0 = 0;
    for (let i = 0; i < operatingPoints; i++) {
      r.bits(12, "operating_point_idc");
      const seqLevelIdx = r.bits(5, "seq_level_idx");
      const seqTier = seqLevelIdx > 7 ? r.bits(1, "seq_tier") : 0;
      if (i === 0) {
        seqLevelIdx0 = seqLevelIdx;
        seqTier0 = seqTier;
      }
      if (decoderModelInfoPresent && r.flag("decoder_model_present_for_this_op")) {
        r.bits(bufferDelayLength, "decoder_buffer_delay");
        r.bits(bufferDelayLength, "encoder_buffer_delay");
        r.bits(1, "low_delay_mode_flag");
      }
      if (initialDisplayDelayPresent && r.flag("initial_display_delay_present_for_this_op")) {
        r.bits(4, "initial_display_delay_minus_1");
      }
    }
  }
  const frameWidthBits = r.bits(4, "frame_width_bits_minus_1") + 1;
  const frameHeightBits = r.bits(4, "frame_height_bits_minus_1") + 1;
  const maxFrameWidthPx = r.bits(frameWidthBits, "max_frame_width_minus_1") + 1;
  const maxFrameHeightPx = r.bits(frameHeightBits, "max_frame_height_minus_1") + 1;
  if (!reducedStillPictureHeader && r.flag("frame_id_numbers_present_flag")) {
    r.bits(4, "delta_frame_id_length_minus_2");
    r.bits(3, "additional_frame_id_length_minus_1");
  }
  r.bits(3, "use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter");
  if (!reducedStillPictureHeader) {
    r.bits(4, "enable_interintra_compound, enable_masked_compound, enable_warped_motion, enable_dual_filter");
    const enableOrderHint = r.flag("enable_order_hint");
    if (enableOrderHint) r.bits(2, "enable_jnt_comp, enable_ref_frame_mvs");
    const forceScreenContentTools = r.flag("seq_choose_screen_content_tools")
      ? true // SELECT_SCREEN_CONTENT_TOOLS (2) > 0
      : r.flag("seq_force_screen_content_tools");
    if (forceScreenContentTools && !r.flag("seq_choose_integer_mv")) r.bits(1, "seq_force_integer_mv");
    if (enableOrderHint) r.bits(3, "order_hint_bits_minus_1");
  }
  r.bits(3, "enable_superres, enable_cdef, enable_restoration");
  const color = readColorConfig(r, seqProfile);
  r.bits(1, "film_grain_params_present");
  return {
    seqProfile,
    stillPicture,
    reducedStillPictureHeader,
    seqLevelIdx0,
    seqTier0,
    maxFrameWidthPx,
    maxFrameHeightPx,
    ...color,
    ...(frameRate !== undefined ? { frameRate } : {}),
  };
}

/** timing_info() (§5.5.3); the frame rate when equal_picture_interval fixes one. */
function readTimingInfo(r: BitReader): number | undefined {
  const numUnitsInDisplayTick = r.bits(32, "num_units_in_display_tick");
  const timeScale = r.bits(32, "time_scale");
  if (!r.flag("equal_picture_interval")) return undefined;
  const ticksPerPicture = readUvlc(r, "num_ticks_per_picture_minus_1") + 1;
  if (numUnitsInDisplayTick === 0 || timeScale === 0) return undefined;
  return timeScale / (numUnitsInDisplayTick * ticksPerPicture);
}

/** uvlc() (§4.10.3): leading zeros, a 1, then as many value bits; 32 or more zeros mean 2^32 - 1. */
function readUvlc(r: BitReader, field: string): number {
  let leadingZeros = 0;
  while (!r.flag(field)) leadingZeros++;
  if (leadingZeros >= 32) return 2 ** 32 - 1;
  return r.bits(leadingZeros, field) + 2 ** leadingZeros - 1;
}

type ColorConfig = Pick<
  SequenceHeader,
  | "highBitdepth"
  | "twelveBit"
  | "bitDepth"
  | "monochrome"
  | "subsamplingX"
  | "subsamplingY"
  | "chromaSamplePosition"
  | "colorDescriptionPresent"
  | "colorPrimaries"
  | "transferCharacteristics"
  | "matrixCoefficients"
  | "colorRange"
>;

/** color_config() (§5.5.2) with the inferred values of §6.4.2. */
function readColorConfig(r: BitReader, seqProfile: number): ColorConfig {
  const highBitdepth = r.flag("high_bitdepth");
  const twelveBit = seqProfile === 2 && highBitdepth ? r.flag("twelve_bit") : false;
  const bitDepth = twelveBit ? 12 : highBitdepth ? 10 : 8;
  const monochrome = seqProfile === 1 ? false : r.flag("mono_chrome");
  const colorDescriptionPresent = r.flag("color_description_present_flag");
  let colorPrimaries = UNSPECIFIED;
  let transferCharacteristics = UNSPECIFIED;
  let matrixCoefficients = UNSPECIFIED;
  if (colorDescriptionPresent) {
    colorPrimaries = r.bits(8, "color_primaries");
    transferCharacteristics = r.bits(8, "transfer_characteristics");
    matrixCoefficients = r.bits(8, "matrix_coefficients");
  }
  const common = {
    highBitdepth,
    twelveBit,
    bitDepth,
    monochrome,
    colorDescriptionPresent,
    colorPrimaries,
    transferCharacteristics,
    matrixCoefficients,
  };
  if (monochrome) {
    const colorRange = r.bits(1, "color_range");
    return { ...common, colorRange, subsamplingX: 1, subsamplingY: 1, chromaSamplePosition: 0 };
  }
  if (colorPrimaries === CP_BT_709 && transferCharacteristics === TC_SRGB && matrixCoefficients === MC_IDENTITY) {
    r.bits(1, "separate_uv_delta_q");
    return { ...common, colorRange: 1, subsamplingX: 0, subsamplingY: 0, chromaSamplePosition: 0 };
  }
  const colorRange = r.bits(1, "color_range");
  let subsamplingX = 1;
  let subsamplingY = 1;
  if (seqProfile === 1) {
    subsamplingX = 0;
    subsamplingY = 0;
  } else if (seqProfile === 2) {
    if (bitDepth === 12) {
      subsamplingX = r.bits(1, "subsampling_x");
      subsamplingY = subsamplingX === 1 ? r.bits(1, "subsampling_y") : 0;
    } else {
      subsamplingY = 0;
    }
  }
  const chromaSamplePosition = subsamplingX === 1 && subsamplingY === 1 ? r.bits(2, "chroma_sample_position") : 0;
  r.bits(1, "separate_uv_delta_q");
  return { ...common, colorRange, subsamplingX, subsamplingY, chromaSamplePosition };
}

/**
 * The codecs parameter (AV1 ISOBMFF binding, Codecs Parameter String): `av01.P.LLT.DD`, followed by
 * `.M.CCC.cp.tc.mc.F` only when those differ from the defaults `.0.110.01.01.01.0`, as the binding recommends.
 * The colour fields come from the sequence header (code points 1, BT.709, when it has no colour description).
 */
export function av1CodecString(header: SequenceHeader): string {
  const two = (value: number) => String(value).padStart(2, "0");
  const tier = header.seqTier0 === 1 ? "H" : "M";
  const short = `av01.${header.seqProfile}.${two(header.seqLevelIdx0)}${tier}.${two(header.bitDepth)}`;
  const chromaPosition = header.subsamplingX === 1 && header.subsamplingY === 1 ? header.chromaSamplePosition : 0;
  const [primaries, transfer, matrix] = header.colorDescriptionPresent
    ? [header.colorPrimaries, header.transferCharacteristics, header.matrixCoefficients]
    : [1, 1, 1];
  const optional = `.${header.monochrome ? 1 : 0}.${header.subsamplingX}${header.subsamplingY}${chromaPosition}` +
    `.${two(primaries)}.${two(transfer)}.${two(matrix)}.${header.colorRange}`;
  return optional === ".0.110.01.01.01.0" ? short : short + optional;
}
