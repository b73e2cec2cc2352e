/**
 * The VP8 row of the codec table: RFC 7741 over RTP, one VP8 frame per sample, `vp08` with `vpcC` (VP Codec ISO
 * Media File Format Binding). The format comes from the key frame's header alone; VP8 has no out-of-band
 * configuration. Hidden frames (show_frame = 0, e.g. altref updates) are recorded as samples of their own, which
 * the binding does not provide for (it has no superframes for VP8); real-time encoders do not make them.
 */

import type { FmtpVerdict, Frame, VideoCodec, VideoFormat } from "../codec.ts";
import { BadRequestError } from "../../shared/errors.ts";
import { Vp8Depacketizer } from "./depacketizer.ts";
import { parseVp8FrameHeader } from "./frame_header.ts";
import { vpcCBody, type VpCodecConfiguration, vpCodecString, vpLevelForSize } from "../vp_config.ts";

/** VP8 as liverec records it. */
export const vp8: VideoCodec = {
  kind: "video",
  name: "vp8",
  sdpName: "vp8",
  clockRate: 90_000,
  // max-fr and max-fs (RFC 7741 §6.1) bound what the sender may send; any VP8 stream is recordable.
  readFmtp: (): FmtpVerdict => ({ rank: 0, parameterSets: [] }),
  createDepacketizer: () => new Vp8Depacketizer(),
  format,
};

/** A VP8 key frame's vpcC fields and display size. */
export interface Vp8Configuration extends VpCodecConfiguration {
  widthPx: number;
  heightPx: number;
}

/** Reads the vpcC fields from a key frame's header (RFC 6386 §9.1); throws `BadRequestError` for anything else. */
export function vp8Configuration(keyframe: Uint8Array): Vp8Configuration {
  const { keyframe: isKey, version, widthPx, heightPx } = parseVp8FrameHeader(keyframe);
  if (!isKey || widthPx === undefined || heightPx === undefined) {
    throw new BadRequestError("invalid VP8 configuration: the frame is not a key frame");
  }
  return {
    profile: version,
    level: vpLevelForSize(widthPx, heightPx),
    bitDepth: 8,
    // VP8 is 4:2:0 with no stated chroma siting; 1 is the binding's default and what ffmpeg writes for it.
    chromaSubsampling: 1,
    videoFullRangeFlag: 0,
    // RFC 6386 §9.2 defines only BT.601 YUV, but its flag is inside the boolean-coded partition; ffmpeg leaves all
    // three unspecified too.
    colourPrimaries: 2,
    transferCharacteristics: 2,
    matrixCoefficients: 2,
    widthPx,
    heightPx,
  };
}

/** The sample entry, size and codecs string of a key frame; undefined when it is not an intact key frame. */
function format(keyframe: Frame): VideoFormat | undefined {
  try {
    const config = vp8Configuration(keyframe.data);
    return {
      sampleEntry: { fourcc: "vp08", config: { fourcc: "vpcC", body: vpcCBody(config) } },
      widthPx: config.widthPx,
      heightPx: config.heightPx,
      codecs: vpCodecString("vp08", config),
    };
  } catch {
    return undefined;
  }
}
