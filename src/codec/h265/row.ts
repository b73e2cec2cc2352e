/**
 * The H.265 row of the codec table: RFC 7798 over RTP (one RTP stream, no decoding order numbers), samples of
 * 4-byte length-prefixed NAL units with VPS/SPS/PPS kept in band, `hvc1` with `hvcC`. Offers that need DONL
 * (sprop-max-don-diff > 0) or several RTP streams (tx-mode MRST/MSST) are refused.
 */

import type { FmtpVerdict, Frame, VideoCodec, VideoFormat } from "../codec.ts";
import { H265Depacketizer } from "./depacketizer.ts";
import { hevcDecoderConfigurationRecord } from "./hvcc.ts";
import { splitLengthPrefixed } from "../nal_units.ts";
import { layerId, NalType, nalType, parseSpropNalUnits } from "./nal.ts";
import { hevcCodecString, parseSps, type Sps } from "./sps.ts";

/** H.265 as liverec records it. */
export const h265: VideoCodec = {
  kind: "video",
  name: "h265",
  sdpName: "h265",
  clockRate: 90_000,
  readFmtp,
  createDepacketizer: () => new H265Depacketizer(),
  format,
};

/**
 * Reads RFC 7798 §7.1 parameters: refuses DONL and multi-stream transmission, returns sprop-vps/-sps/-pps as the
 * out-of-band parameter sets (an unreadable one is left out: the in-band ones will do). Every recordable payload
 * type ranks the same.
 */
function readFmtp(fmtp: ReadonlyMap<string, string>): FmtpVerdict {
  const maxDonDiff = fmtp.get("sprop-max-don-diff")?.trim() ?? "0";
  if (!/^\d+$/.test(maxDonDiff)) return { refused: `H265 sprop-max-don-diff=${maxDonDiff} is not an integer` };
  if (Number(maxDonDiff) > 0) {
    return {
      refused: `H265 sprop-max-don-diff=${maxDonDiff}: NAL units may come out of decoding order with DONL fields, ` +
        `which liverec does not reorder`,
    };
  }
  const txMode = fmtp.get("tx-mode");
  if (txMode !== undefined && txMode.trim().toUpperCase() !== "SRST") {
    return { refused: `H265 tx-mode=${txMode}: liverec records a single RTP stream (SRST) only` };
  }
  const parameterSets: Uint8Array[] = [];
  for (const name of ["sprop-vps", "sprop-sps", "sprop-pps"]) {
    const value = fmtp.get(name);
    if (value === undefined) continue;
    try {
      parameterSets.push(...parseSpropNalUnits(name, value));
    } catch {
      // Unusable out-of-band parameter sets: the in-band ones will do.
    }
  }
  return { rank: 0, parameterSets };
}

/**
 * The format at a keyframe: per parameter set type, the keyframe's own base-layer VPS/SPS/PPS, or else those from
 * the SDP; hvcC holds them all, size and codecs string come from the first SPS.
 */
function format(keyframe: Frame, parameterSets: readonly Uint8Array[]): VideoFormat | undefined {
  let parsed: Sps;
  let hvcC: Uint8Array;
  try {
    const inBand = splitLengthPrefixed(keyframe.data);
    const pick = (type: number) => {
      const own = distinct(inBand, type);
      return own.length > 0 ? own : distinct(parameterSets, type);
    };
    const sps = pick(NalType.Sps);
    hvcC = hevcDecoderConfigurationRecord({ vps: pick(NalType.Vps), sps, pps: pick(NalType.Pps) });
    parsed = parseSps(sps[0]!);
  } catch {
    return undefined;
  }
  return {
    sampleEntry: { fourcc: "hvc1", config: { fourcc: "hvcC", body: hvcC } },
    widthPx: parsed.widthPx,
    heightPx: parsed.heightPx,
    codecs: hevcCodecString(parsed.profileTierLevel),
    ...(parsed.frameRate !== undefined ? { frameRate: parsed.frameRate } : {}),
  };
}

/** The base-layer NAL units of one type, first occurrence of each distinct byte string only. */
function distinct(nalUnits: readonly Uint8Array[], type: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const nal of nalUnits) {
    if (nalType(nal) !== type || layerId(nal) !== 0) continue;
    if (!out.some((seen) => equalBytes(seen, nal))) out.push(nal);
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
