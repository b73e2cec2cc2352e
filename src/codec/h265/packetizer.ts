/**
 * Splits one H.265 access unit into RTP payloads (RFC 7798, single RTP stream, sprop-max-don-diff 0, so no DONL),
 * for the test publisher, round-trip tests and the benchmark. Consecutive small NAL units go into aggregation
 * packets, large ones into fragmentation units, the rest into single NAL unit packets. It sends what it is given:
 * no parameter sets are added, no PACI is written.
 */

import type { Frame } from "../codec.ts";
import type { RtpPacket } from "../../rtp/mod.ts";
import { BadRequestError } from "../../shared/errors.ts";
import { splitLengthPrefixed } from "../nal_units.ts";
import { layerId, NalType, temporalIdPlus1 } from "./nal.ts";

/** How to packetize. */
export interface H265PacketizerOptions {
  /** Largest payload in bytes (the RTP header is not included); default 1200. */
  maxPayloadBytes?: number;
}

/** The RTP header fields of a frame's packets. */
export interface H265FramePacketOptions extends H265PacketizerOptions {
  /** Sequence number of the first packet; the following ones count up, modulo 2^16. */
  sequenceNumber: number;
  /** Default 96. */
  payloadType?: number;
  /** Default 1. */
  ssrc?: number;
}

/** RTP payloads for the NAL units of one access unit, in order (RFC 7798 §4.4.1-§4.4.3). */
export function packetizeH265(
  nalUnits: readonly Uint8Array[],
  { maxPayloadBytes = 1200 }: H265PacketizerOptions = {},
): Uint8Array[] {
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 4 || maxPayloadBytes > 0xffff) {
    throw new BadRequestError(`H.265 packetizer: maxPayloadBytes must be between 4 and 65535, got ${maxPayloadBytes}`);
  }
  for (const nal of nalUnits) {
    if (nal.length < 2) throw new BadRequestError(`H.265 packetizer: a NAL unit of ${nal.length} bytes has no header`);
  }

  const payloads: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let groupBytes = 2; // AP payload header
  const closeGroup = () => {
    if (group.length === 1) payloads.push(group[0]!);
    if (group.length > 1) payloads.push(aggregationPacket(group, groupBytes));
    group = [];
    groupBytes = 2;
  };
  for (const nal of nalUnits) {
    if (nal.length > maxPayloadBytes) {
      closeGroup();
      payloads.push(...fragmentationUnits(nal, maxPayloadBytes));
      continue;
    }
    if (groupBytes + 2 + nal.length > maxPayloadBytes) closeGroup();
    group.push(nal);
    groupBytes += 2 + nal.length;
  }
  closeGroup();
  return payloads;
}

/** The RTP packets of one frame (4-byte length-prefixed NAL units); the marker is set on the last (RFC 7798 §4.1). */
export function packetizeH265Frame(
  frame: Pick<Frame, "timestamp" | "data">,
  { sequenceNumber, payloadType = 96, ssrc = 1, ...options }: H265FramePacketOptions,
): RtpPacket[] {
  const payloads = packetizeH265(splitLengthPrefixed(frame.data), options);
  return payloads.map((payload, i) => ({
    payloadType,
    sequenceNumber: (sequenceNumber + i) & 0xffff,
    timestamp: frame.timestamp,
    marker: i === payloads.length - 1,
    ssrc,
    payload,
  }));
}

/**
 * AP (§4.4.2): payload header with F = OR of the F bits, type 48, the lowest LayerId and the lowest TID of the
 * aggregated NAL units, then a 16-bit size and the NAL unit for each.
 */
function aggregationPacket(nalUnits: Uint8Array[], sizeBytes: number): Uint8Array {
  const out = new Uint8Array(sizeBytes);
  let forbidden = 0;
  let lowestLayerId = 63;
  let lowestTid = 7;
  let offset = 2;
  for (const nal of nalUnits) {
    forbidden |= nal[0]! & 0x80;
    lowestLayerId = Math.min(lowestLayerId, layerId(nal));
    lowestTid = Math.min(lowestTid, temporalIdPlus1(nal));
    out[offset] = nal.length >> 8;
    out[offset + 1] = nal.length & 0xff;
    out.set(nal, offset + 2);
    offset += 2 + nal.length;
  }
  out[0] = forbidden | (NalType.Ap << 1) | (lowestLayerId >> 5);
  out[1] = ((lowestLayerId & 0x1f) << 3) | lowestTid;
  return out;
}

/**
 * FU (§4.4.3): payload header (the NAL unit header with type 49), FU header (S, E, FuType), then a slice of the NAL
 * unit body after its 2-byte header.
 */
function fragmentationUnits(nal: Uint8Array, maxPayloadBytes: number): Uint8Array[] {
  const header0 = (nal[0]! & 0x81) | (NalType.Fu << 1);
  const fuType = (nal[0]! >> 1) & 0x3f;
  const body = nal.subarray(2);
  const chunkBytes = maxPayloadBytes - 3;
  const payloads: Uint8Array[] = [];
  for (let offset = 0; offset < body.length; offset += chunkBytes) {
    const chunk = body.subarray(offset, offset + chunkBytes);
    const start = offset === 0 ? 0x80 : 0;
    const end = offset + chunkBytes >= body.length ? 0x40 : 0;
    const payload = new Uint8Array(3 + chunk.length);
    payload[0] = header0;
    payload[1] = nal[1]!;
    payload[2] = start | end | fuType;
    payload.set(chunk, 3);
    payloads.push(payload);
  }
  return payloads;
}
