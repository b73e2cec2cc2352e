/**
 * Splits one H.264 access unit into RTP payloads (RFC 6184), for the test publisher and round-trip tests.
 * Mode 1 aggregates consecutive small NAL units into STAP-A and fragments large ones into FU-A; mode 0 sends
 * single NAL unit packets only. It writes payloads, not RTP headers: the caller sets the marker on the last one.
 */

import { NalType } from "./nal.ts";
import { BadRequestError } from "../../shared/errors.ts";

/** How to packetize; `mtu` bounds each payload in bytes (the RTP header is not included). */
export interface H264PacketizerOptions {
  /** Largest payload in bytes; default 1200. */
  mtu?: number;
  /** RFC 6184 packetization-mode: 0 single NAL unit, 1 non-interleaved (§6.2, §6.3). */
  mode: 0 | 1;
}

/** RTP payloads for the NAL units of one access unit, in order (RFC 6184 §5.6, §5.7.1, §5.8). */
export function packetizeH264(
  nalUnits: readonly Uint8Array[],
  { mtu = 1200, mode }: H264PacketizerOptions,
): Uint8Array[] {
  if (!Number.isInteger(mtu) || mtu < 3 || mtu > 0xffff) {
    throw new BadRequestError(`H.264 packetizer: mtu must be between 3 and 65535, got ${mtu}`);
  }
  for (const nal of nalUnits) {
    if (nal.length === 0) throw new BadRequestError("H.264 packetizer: empty NAL unit");
    if (mode === 0 && nal.length > mtu) {
      throw new BadRequestError(`H.264 packetizer: a ${nal.length}-byte NAL unit exceeds mtu ${mtu} in mode 0`);
    }
  }
  if (mode === 0) return [...nalUnits];

  const payloads: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let groupBytes = 1; // STAP-A NAL header
  const closeGroup = () => {
    if (group.length === 1) payloads.push(group[0]!);
    if (group.length > 1) payloads.push(stapA(group, groupBytes));
    group = [];
    groupBytes = 1;
  };
  for (const nal of nalUnits) {
    if (nal.length > mtu) {
      closeGroup();
      payloads.push(...fuA(nal, mtu));
      continue;
    }
    if (groupBytes + 2 + nal.length > mtu) closeGroup();
    group.push(nal);
    groupBytes += 2 + nal.length;
  }
  closeGroup();
  return payloads;
}

/** STAP-A (§5.7.1): F = OR of the F bits, NRI = maximum NRI, then 16-bit size + NAL unit for each. */
function stapA(nalUnits: Uint8Array[], sizeBytes: number): Uint8Array {
  const out = new Uint8Array(sizeBytes);
  let forbidden = 0;
  let nri = 0;
  let offset = 1;
  for (const nal of nalUnits) {
    forbidden |= nal[0]! & 0x80;
    nri = Math.max(nri, nal[0]! & 0x60);
    out[offset] = nal.length >> 8;
    out[offset + 1] = nal.length & 0xff;
    out.set(nal, offset + 2);
    offset += 2 + nal.length;
  }
  out[0] = forbidden | nri | NalType.StapA;
  return out;
}

/** FU-A (§5.8): FU indicator (F, NRI, 28), FU header (S, E, R=0, type), then a slice of the NAL unit body. */
function fuA(nal: Uint8Array, mtu: number): Uint8Array[] {
  const indicator = (nal[0]! & 0xe0) | NalType.FuA;
  const type = nal[0]! & 0x1f;
  const body = nal.subarray(1);
  const chunkBytes = mtu - 2;
  const payloads: Uint8Array[] = [];
  for (let offset = 0; offset < body.length; offset += chunkBytes) {
    const chunk = body.subarray(offset, offset + chunkBytes);
    const start = offset === 0 ? 0x80 : 0;
    const end = offset + chunkBytes >= body.length ? 0x40 : 0;
    const payload = new Uint8Array(2 + chunk.length);
    payload[0] = indicator;
    payload[1] = start | end | type;
    payload.set(chunk, 2);
    payloads.push(payload);
  }
  return payloads;
}
