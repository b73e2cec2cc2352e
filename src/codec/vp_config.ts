/**
 * The VP Codec ISO Media File Format Binding (webmproject vp9-dash, v1.0) as data: the `vpcC` box body, the level
 * picked from the luma picture size, and the `codecs` string. It knows no bitstream; the VP8 and VP9 rows fill the
 * record from their keyframe headers. It writes no `SmDm`/`CoLL` HDR boxes and no codec initialization data (the
 * binding requires none for VP8 and VP9). Shared by the VP8 and VP9 rows, as bit_reader.ts is by the others.
 */

import { BadRequestError } from "../shared/errors.ts";

/** The fields of a VPCodecConfigurationRecord (binding "VP Codec Configuration Box", Semantics). */
export interface VpCodecConfiguration {
  /** Codec profile: the VP8 version number or the VP9 profile, 0..3. */
  profile: number;
  /** Level × 10 from the binding's level table (10 = level 1 ... 62 = level 6.2); 0 when none fits. */
  level: number;
  /** Bits per luma and chroma sample: 8, 10 or 12. */
  bitDepth: number;
  /** 0 4:2:0 vertical, 1 4:2:0 colocated with luma (0,0), 2 4:2:2, 3 4:4:4. */
  chromaSubsampling: number;
  /** 1 when samples use the full range (0-255 at 8 bits), 0 for the legal (video) range. */
  videoFullRangeFlag: number;
  /** ISO/IEC 23091-2 ColourPrimaries; 2 = unspecified. */
  colourPrimaries: number;
  /** ISO/IEC 23091-2 TransferCharacteristics; 2 = unspecified. */
  transferCharacteristics: number;
  /** ISO/IEC 23091-2 MatrixCoefficients; 0 = RGB (identity), 2 = unspecified. */
  matrixCoefficients: number;
}

/** One row of the VP9 level table (webmproject "VP9 Levels and Decoder Testing"), used for VP8 too. */
interface LevelLimits {
  level: number;
  /** Max luma picture size in samples. */
  maxPictureSamples: number;
  /** Max luma picture width or height in samples. */
  maxBreadthSamples: number;
}

const LEVELS: readonly LevelLimits[] = [
  { level: 10, maxPictureSamples: 36_864, maxBreadthSamples: 512 },
  { level: 11, maxPictureSamples: 73_728, maxBreadthSamples: 768 },
  { level: 20, maxPictureSamples: 122_880, maxBreadthSamples: 960 },
  { level: 21, maxPictureSamples: 245_760, maxBreadthSamples: 1344 },
  { level: 30, maxPictureSamples: 552_960, maxBreadthSamples: 2048 },
  { level: 31, maxPictureSamples: 983_040, maxBreadthSamples: 2752 },
  { level: 40, maxPictureSamples: 2_228_224, maxBreadthSamples: 4160 },
  { level: 41, maxPictureSamples: 2_228_224, maxBreadthSamples: 4160 },
  { level: 50, maxPictureSamples: 8_912_896, maxBreadthSamples: 8384 },
  { level: 51, maxPictureSamples: 8_912_896, maxBreadthSamples: 8384 },
  { level: 52, maxPictureSamples: 8_912_896, maxBreadthSamples: 8384 },
  { level: 60, maxPictureSamples: 35_651_584, maxBreadthSamples: 16_832 },
  { level: 61, maxPictureSamples: 35_651_584, maxBreadthSamples: 16_832 },
  { level: 62, maxPictureSamples: 35_651_584, maxBreadthSamples: 16_832 },
];

/**
 * The lowest level whose picture size and breadth limits hold `widthPx` × `heightPx`; 0 when none does. The frame
 * rate is unknown to a receiver, so the luma sample rate limit is not applied: a high frame rate can need a higher
 * level than this (1080p60 is level 4.1, this says 4). ffmpeg's mp4 muxer does the same from the size alone when
 * it has no frame rate, but ignores the breadth limit (it calls 1920×100 level 2.1, this says 3).
 */
export function vpLevelForSize(widthPx: number, heightPx: number): number {
  const samples = widthPx * heightPx;
  const breadth = Math.max(widthPx, heightPx);
  const fit = LEVELS.find((row) => samples <= row.maxPictureSamples && breadth <= row.maxBreadthSamples);
  return fit?.level ?? 0;
}

/** The vpcC body: FullBox version 1 and flags 0, then the VPCodecConfigurationRecord with no initialization data. */
export function vpcCBody(config: VpCodecConfiguration): Uint8Array {
  checkField("profile", config.profile, 0, 3);
  checkField("level", config.level, 0, 255);
  if (![8, 10, 12].includes(config.bitDepth)) {
    throw new BadRequestError(`invalid vpcC: bitDepth must be 8, 10 or 12, got ${config.bitDepth}`);
  }
  checkField("chromaSubsampling", config.chromaSubsampling, 0, 3);
  checkField("videoFullRangeFlag", config.videoFullRangeFlag, 0, 1);
  checkField("colourPrimaries", config.colourPrimaries, 0, 255);
  checkField("transferCharacteristics", config.transferCharacteristics, 0, 255);
  checkField("matrixCoefficients", config.matrixCoefficients, 0, 255);
  return Uint8Array.of(
    1, // FullBox version
    0,
    0,
    0, // flags
    config.profile,
    config.level,
    (config.bitDepth << 4) | (config.chromaSubsampling << 1) | config.videoFullRangeFlag,
    config.colourPrimaries,
    config.transferCharacteristics,
    config.matrixCoefficients,
    0,
    0, // codecIntializationDataSize: 0 for VP8 and VP9
  );
}

/**
 * The short `codecs` string `<4CC>.PP.LL.DD` (binding "Codecs Parameter String"), as ffmpeg's DASH muxer writes
 * it. The optional fields are left out, so a reader assumes 4:2:0, BT.709 and legal range whatever the stream has.
 */
export function vpCodecString(fourcc: "vp08" | "vp09", config: VpCodecConfiguration): string {
  const twoDigits = (value: number) => String(value).padStart(2, "0");
  return `${fourcc}.${twoDigits(config.profile)}.${twoDigits(config.level)}.${twoDigits(config.bitDepth)}`;
}

function checkField(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadRequestError(`invalid vpcC: ${name} must be between ${min} and ${max}, got ${value}`);
  }
}
