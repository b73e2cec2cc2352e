/**
 * The H.264 row of the codec table: RFC 6184 over RTP (packetization modes 0 and 1), samples of 4-byte
 * length-prefixed NAL units with the parameter sets kept in band, `avc1` with `avcC`. Interleaved mode (2) is
 * refused at the offer.
 */

import type { Depacketizer, DepacketizerStats, FmtpVerdict, Frame, VideoCodec, VideoFormat } from "../codec.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import { avcDecoderConfigurationRecord } from "./avc_config.ts";
import { H264Depacketizer } from "./depacketizer.ts";
import { splitLengthPrefixed, toLengthPrefixed } from "../nal_units.ts";
import { NalType, nalType, parseSpropParameterSets } from "./nal.ts";
import { avcCodecString, parseSps, type Sps } from "./sps.ts";

/** H.264 as liverec records it. */
export const h264: VideoCodec = {
  kind: "video",
  name: "h264",
  sdpName: "h264",
  clockRate: 90_000,
  readFmtp,
  createDepacketizer: () => new H264FrameDepacketizer(),
  format,
};

/** packetization-mode 1 is preferred over 0 (RFC 6184 §6.2); sprop-parameter-sets are used until in-band ones come. */
function readFmtp(fmtp: ReadonlyMap<string, string>): FmtpVerdict {
  const mode = Number(fmtp.get("packetization-mode") ?? "0");
  if (mode !== 0 && mode !== 1) return { refused: `H264 packetization-mode ${fmtp.get("packetization-mode")}` };
  const sprop = fmtp.get("sprop-parameter-sets");
  let parameterSets: Uint8Array[] = [];
  try {
    if (sprop !== undefined) parameterSets = parseSpropParameterSets(sprop);
  } catch {
    // Unusable out-of-band parameter sets: the in-band ones will do.
  }
  return { rank: mode, parameterSets };
}

/** The keyframe's SPS and PPS (in band first, then the SDP's), as avcC and the display size. */
function format(keyframe: Frame, parameterSets: readonly Uint8Array[]): VideoFormat | undefined {
  let parsed: Sps;
  let avcC: Uint8Array;
  try {
    const all = [...splitLengthPrefixed(keyframe.data), ...parameterSets];
    const sps = all.find((nal) => nalType(nal) === NalType.Sps);
    const pps = all.find((nal) => nalType(nal) === NalType.Pps);
    if (sps === undefined || pps === undefined) return undefined;
    parsed = parseSps(sps);
    avcC = avcDecoderConfigurationRecord([sps], [pps]);
  } catch {
    return undefined;
  }
  return {
    sampleEntry: { fourcc: "avc1", config: { fourcc: "avcC", body: avcC } },
    widthPx: parsed.widthPx,
    heightPx: parsed.heightPx,
    codecs: avcCodecString(parsed),
    ...(parsed.frameRate !== undefined ? { frameRate: parsed.frameRate } : {}),
  };
}

/** H264Depacketizer's access units as MP4 samples. */
class H264FrameDepacketizer implements Depacketizer {
  readonly #inner = new H264Depacketizer();

  get stats(): DepacketizerStats {
    const { accessUnits, droppedAccessUnits, malformedPackets, lostPackets } = this.#inner.stats;
    return { frames: accessUnits, droppedFrames: droppedAccessUnits, malformedPackets, lostPackets };
  }

  get waitingForKeyframe(): boolean {
    return this.#inner.waitingForKeyframe;
  }

  push(input: ReorderOutput): Frame[] {
    return this.#inner.push(input).map(toFrame);
  }

  flush(): Frame[] {
    return this.#inner.flush().map(toFrame);
  }
}

/** An access unit as a sample, leaving out access unit delimiters and filler data. */
function toFrame(au: { timestamp: number; nalUnits: Uint8Array[]; keyframe: boolean }): Frame {
  const kept = au.nalUnits.filter((nal) => nalType(nal) !== NalType.Aud && nalType(nal) !== NalType.Filler);
  return { timestamp: au.timestamp, keyframe: au.keyframe, data: toLengthPrefixed(kept) };
}
