/**
 * The AV1 row of the codec table: the AOM RTP payload format for AV1, samples of low-overhead OBUs without
 * temporal delimiters (AV1 ISOBMFF binding §2.4), `av01` with `av1C`. The format comes from the keyframe's own
 * sequence header: AV1 has no out-of-band parameter sets in SDP. Scalable streams are recorded whole, unfiltered.
 */

import type { FmtpVerdict, Frame, VideoCodec, VideoFormat } from "../codec.ts";
import { av1CodecConfigurationRecord } from "./av1_config.ts";
import { Av1Depacketizer } from "./depacketizer.ts";
import { ObuType, splitObus } from "./obu.ts";
import { av1CodecString } from "./sequence_header.ts";

/** AV1 as liverec records it. */
export const av1: VideoCodec = {
  kind: "video",
  name: "av1",
  sdpName: "av1",
  clockRate: 90_000,
  readFmtp,
  createDepacketizer: () => new Av1Depacketizer(),
  format,
};

/**
 * `profile` (default 0) must be a defined seq_profile, 0 to 2 (AV1 RTP spec §7.1); Main is ranked above High above
 * Professional, as the most widely playable. `level-idx` and `tier` only bound what the sender may send.
 */
function readFmtp(fmtp: ReadonlyMap<string, string>): FmtpVerdict {
  const profile = fmtp.get("profile") ?? "0";
  if (!/^[0-2]$/.test(profile.trim())) return { refused: `AV1 profile ${profile}` };
  return { rank: 2 - Number(profile), parameterSets: [] };
}

/**
 * The keyframe's first sequence header as av1C, with the sample entry size from max_frame_width/height_minus_1
 * (binding §2.2.3: the coded size limit; frames and their render size may be smaller).
 */
function format(keyframe: Frame): VideoFormat | undefined {
  try {
    const sequenceHeader = splitObus(keyframe.data).find((obu) => obu.type === ObuType.SequenceHeader);
    if (sequenceHeader === undefined) return undefined;
    const { record, header } = av1CodecConfigurationRecord(sequenceHeader);
    return {
      sampleEntry: { fourcc: "av01", config: { fourcc: "av1C", body: record } },
      widthPx: header.maxFrameWidthPx,
      heightPx: header.maxFrameHeightPx,
      codecs: av1CodecString(header),
      ...(header.frameRate !== undefined ? { frameRate: header.frameRate } : {}),
    };
  } catch {
    return undefined;
  }
}
