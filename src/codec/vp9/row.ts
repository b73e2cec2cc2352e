/**
 * The VP9 row of the codec table: RFC 9628 over RTP, one frame or superframe per sample (a picture's spatial layers
 * joined into one superframe), `vp09` with `vpcC` (VP Codec ISO Media File Format Binding). The format comes from
 * the key frame's uncompressed header; VP9 has no out-of-band configuration. Profiles 0-3 are all recorded;
 * 4:4:0 streams are not, because vpcC has no value for that subsampling.
 */

import type { FmtpVerdict, Frame, VideoCodec, VideoFormat } from "../codec.ts";
import { BadRequestError } from "../../shared/errors.ts";
import { Vp9Depacketizer } from "./depacketizer.ts";
import { type Vp9ColorConfig, Vp9ColorSpace, vp9SampleInfo } from "./frame_header.ts";
import { vpcCBody, type VpCodecConfiguration, vpCodecString, vpLevelForSize } from "../vp_config.ts";

/** VP9 as liverec records it. */
export const vp9: VideoCodec = {
  kind: "video",
  name: "vp9",
  sdpName: "vp9",
  clockRate: 90_000,
  readFmtp,
  createDepacketizer: () => new Vp9Depacketizer(),
  format,
};

/**
 * profile-id (RFC 9628 §6, default 0) must be 0-3. Profile 0 ranks first: every VP9 decoder plays it, while
 * profile 2 (10/12-bit) is what browsers offer second and fewer players decode.
 */
function readFmtp(fmtp: ReadonlyMap<string, string>): FmtpVerdict {
  const profileId = fmtp.get("profile-id") ?? "0";
  if (!/^[0-3]$/.test(profileId)) return { refused: `VP9 profile-id must be 0, 1, 2 or 3, got "${profileId}"` };
  return { rank: profileId === "0" ? 1 : 0, parameterSets: [] };
}

/** A VP9 key picture's vpcC fields and display size. */
export interface Vp9Configuration extends VpCodecConfiguration {
  widthPx: number;
  heightPx: number;
}

/**
 * Reads the vpcC fields from a key sample: profile and colour from its key frame, the size from the last frame it
 * shows (the top spatial layer of a superframe). Throws `BadRequestError` for a sample that is not a key frame.
 */
export function vp9Configuration(sample: Uint8Array): Vp9Configuration {
  const info = vp9SampleInfo(sample);
  const { color, profile } = info.first;
  if (!info.keyframe || color === undefined || info.widthPx === undefined || info.heightPx === undefined) {
    throw new BadRequestError("invalid VP9 configuration: the sample does not start with a key frame");
  }
  const rgb = color.colorSpace === Vp9ColorSpace.Rgb;
  return {
    profile,
    level: vpLevelForSize(info.widthPx, info.heightPx),
    bitDepth: color.bitDepth,
    chromaSubsampling: chromaSubsampling(color),
    videoFullRangeFlag: color.fullRange ? 1 : 0,
    // The bitstream states the matrix only; primaries and transfer stay unspecified (ffmpeg writes the same).
    colourPrimaries: 2,
    transferCharacteristics: 2,
    matrixCoefficients: rgb ? 0 : MATRIX_OF_COLOR_SPACE[color.colorSpace] ?? 2,
    widthPx: info.widthPx,
    heightPx: info.heightPx,
  };
}

/**
 * ISO/IEC 23091-2 MatrixCoefficients for color_space 0-6, as ffmpeg's VP9 decoder maps them: BT.601 is 5 (BT.470BG,
 * the same matrix as 6), unknown and reserved are 2 (unspecified).
 */
const MATRIX_OF_COLOR_SPACE = [2, 5, 1, 6, 7, 9, 2];

/** The binding's chromaSubsampling; 4:2:0 is "colocated with luma" (1), its default and ffmpeg's choice. */
function chromaSubsampling({ subsamplingX, subsamplingY }: Vp9ColorConfig): number {
  if (subsamplingX && subsamplingY) return 1;
  if (subsamplingX) return 2;
  if (!subsamplingY) return 3;
  throw new BadRequestError("unsupported VP9 stream: 4:4:0 subsampling has no vpcC chromaSubsampling value");
}

/** The sample entry, size and codecs string of a key sample; undefined when it is not an intact key frame. */
function format(keyframe: Frame): VideoFormat | undefined {
  try {
    const config = vp9Configuration(keyframe.data);
    return {
      sampleEntry: { fourcc: "vp09", config: { fourcc: "vpcC", body: vpcCBody(config) } },
      widthPx: config.widthPx,
      heightPx: config.heightPx,
      codecs: vpCodecString("vp09", config),
    };
  } catch {
    return undefined;
  }
}
